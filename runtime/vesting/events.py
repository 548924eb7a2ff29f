"""Events of the vesting module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, U64
from runtime.events import Event


@dataclass(frozen=True)
class Vested(Event):
    """The account's lock was brought up to date; `locked` is what its schedules still lock."""

    MODULE: ClassVar[str] = "vesting"
    who: bytes
    locked: int
    WIRE = (("who", ACCOUNT), ("locked", AMOUNT))


@dataclass(frozen=True)
class VestingCompleted(Event):
    """Every schedule of the account is fully unlocked; its schedules were removed."""

    MODULE: ClassVar[str] = "vesting"
    who: bytes
    WIRE = (("who", ACCOUNT),)


@dataclass(frozen=True)
class VestedTransfer(Event):
    MODULE: ClassVar[str] = "vesting"
    source: bytes
    dest: bytes
    amount: int
    cliff_ms: int
    end_ms: int
    WIRE = (("source", ACCOUNT), ("dest", ACCOUNT), ("amount", AMOUNT), ("cliff_ms", U64), ("end_ms", U64))


@dataclass(frozen=True)
class SchedulesMerged(Event):
    MODULE: ClassVar[str] = "vesting"
    who: bytes
    total: int
    cliff_ms: int
    end_ms: int
    WIRE = (("who", ACCOUNT), ("total", AMOUNT), ("cliff_ms", U64), ("end_ms", U64))


@dataclass(frozen=True)
class TrancheApproved(Event):
    MODULE: ClassVar[str] = "vesting"
    who: bytes
    amount: int
    approved: int
    WIRE = (("who", ACCOUNT), ("amount", AMOUNT), ("approved", AMOUNT))


EVENTS = (
    Vested,
    VestingCompleted,
    VestedTransfer,
    SchedulesMerged,
    TrancheApproved,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
