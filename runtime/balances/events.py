"""Events of the balances module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT
from btt_chain.primitives.frozen import fast_init
from runtime.events import Event


@fast_init
@dataclass(frozen=True)
class Transfer(Event):
    MODULE: ClassVar[str] = "balances"
    source: bytes
    dest: bytes
    amount: int
    WIRE = (("source", ACCOUNT), ("dest", ACCOUNT), ("amount", AMOUNT))


@dataclass(frozen=True)
class Burned(Event):
    MODULE: ClassVar[str] = "balances"
    who: bytes
    amount: int
    WIRE = (("who", ACCOUNT), ("amount", AMOUNT))


@fast_init
@dataclass(frozen=True)
class DustLost(Event):
    MODULE: ClassVar[str] = "balances"
    who: bytes
    amount: int
    WIRE = (("who", ACCOUNT), ("amount", AMOUNT))


@dataclass(frozen=True)
class Reserved(Event):
    MODULE: ClassVar[str] = "balances"
    who: bytes
    amount: int
    WIRE = (("who", ACCOUNT), ("amount", AMOUNT))


@dataclass(frozen=True)
class Unreserved(Event):
    MODULE: ClassVar[str] = "balances"
    who: bytes
    amount: int
    WIRE = (("who", ACCOUNT), ("amount", AMOUNT))


@dataclass(frozen=True)
class Endowed(Event):
    MODULE: ClassVar[str] = "balances"
    who: bytes
    amount: int
    WIRE = (("who", ACCOUNT), ("amount", AMOUNT))


EVENTS = (
    Transfer,
    Burned,
    DustLost,
    Reserved,
    Unreserved,
    Endowed,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
