"""Events of the params module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import AMOUNT, ListOf, Text
from runtime.events import Event


@dataclass(frozen=True)
class ParameterChanged(Event):
    """Governance changed a parameter's value inside its range."""

    MODULE: ClassVar[str] = "params"
    parameter: str
    old: int
    new: int
    WIRE = (("parameter", Text(64)), ("old", AMOUNT), ("new", AMOUNT))


@dataclass(frozen=True)
class BoundsChanged(Event):
    """An emergency referendum changed a parameter's range from [old_min, old_max] to [new_min, new_max]."""

    MODULE: ClassVar[str] = "params"
    parameter: str
    old_min: int
    old_max: int
    new_min: int
    new_max: int
    WIRE = (
        ("parameter", Text(64)),
        ("old_min", AMOUNT),
        ("old_max", AMOUNT),
        ("new_min", AMOUNT),
        ("new_max", AMOUNT),
    )


@dataclass(frozen=True)
class SharesChanged(Event):
    """An emergency referendum changed a whole share group (values in the group's order)."""

    MODULE: ClassVar[str] = "params"
    group: str
    values: tuple[int, ...]
    WIRE = (("group", Text(64)), ("values", ListOf(AMOUNT, 16)))


EVENTS = (
    ParameterChanged,
    BoundsChanged,
    SharesChanged,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
