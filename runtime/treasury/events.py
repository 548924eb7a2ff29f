"""Events of the treasury module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, Text
from runtime.events import Event


@dataclass(frozen=True)
class Spent(Event):
    """Governance paid a grant from a module fund."""

    MODULE: ClassVar[str] = "treasury"
    source: str
    dest: bytes
    amount: int
    WIRE = (("source", Text(32)), ("dest", ACCOUNT), ("amount", AMOUNT))


@dataclass(frozen=True)
class StrategicReserveReleased(Event):
    """Governance unfroze part of the Strategic Reserve and paid it out."""

    MODULE: ClassVar[str] = "treasury"
    dest: bytes
    amount: int
    remaining: int
    WIRE = (("dest", ACCOUNT), ("amount", AMOUNT), ("remaining", AMOUNT))


@dataclass(frozen=True)
class MilestoneBurned(Event):
    """Governance executed a milestone burn: `amount` of the Foundation allocation is gone for good."""

    MODULE: ClassVar[str] = "treasury"
    milestone: str
    """The milestone's name (a field called `name` would hide the event's own name)."""
    amount: int
    WIRE = (("milestone", Text(64)), ("amount", AMOUNT))


EVENTS = (
    Spent,
    StrategicReserveReleased,
    MilestoneBurned,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
