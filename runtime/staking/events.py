"""Events of the staking module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, U64, Text
from runtime.events import Event


@dataclass(frozen=True)
class Staked(Event):
    MODULE: ClassVar[str] = "staking"
    who: bytes
    deposit_id: int
    tier: str
    amount: int
    unlock_ms: int
    WIRE = (("who", ACCOUNT), ("deposit_id", U64), ("tier", Text(8)), ("amount", AMOUNT), ("unlock_ms", U64))


@dataclass(frozen=True)
class Unstaked(Event):
    """Principal returned; `yield_paid` reached the staker and `burned` of the yield was destroyed."""

    MODULE: ClassVar[str] = "staking"
    who: bytes
    deposit_id: int
    principal: int
    yield_paid: int
    burned: int
    WIRE = (("who", ACCOUNT), ("deposit_id", U64), ("principal", AMOUNT), ("yield_paid", AMOUNT),
            ("burned", AMOUNT))


@dataclass(frozen=True)
class YieldShortfall(Event):
    """The Community Incentives pool held less than the yield owed: it paid what it had; nothing was minted."""

    MODULE: ClassVar[str] = "staking"
    deposit_id: int
    owed: int
    paid: int
    WIRE = (("deposit_id", U64), ("owed", AMOUNT), ("paid", AMOUNT))


@dataclass(frozen=True)
class FeeShareClaimed(Event):
    MODULE: ClassVar[str] = "staking"
    who: bytes
    amount: int
    WIRE = (("who", ACCOUNT), ("amount", AMOUNT))


EVENTS = (
    Staked,
    Unstaked,
    YieldShortfall,
    FeeShareClaimed,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
