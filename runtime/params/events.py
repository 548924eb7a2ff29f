"""Events of the params module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import AMOUNT, Text
from runtime.events import Event


@dataclass(frozen=True)
class ParameterChanged(Event):
    MODULE: ClassVar[str] = "params"
    parameter: str
    old: int
    new: int
    WIRE = (("parameter", Text(64)), ("old", AMOUNT), ("new", AMOUNT))
