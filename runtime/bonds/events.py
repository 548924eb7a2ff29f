"""Events of the bonds module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, U64
from runtime.events import Event


@dataclass(frozen=True)
class Bonded(Event):
    MODULE: ClassVar[str] = "bonds"
    who: bytes
    amount: int
    WIRE = (("who", ACCOUNT), ("amount", AMOUNT))


@dataclass(frozen=True)
class Unbonded(Event):
    """`amount` started unbonding; it can be withdrawn from `unlock_at_ms`."""

    MODULE: ClassVar[str] = "bonds"
    who: bytes
    amount: int
    unlock_at_ms: int
    WIRE = (("who", ACCOUNT), ("amount", AMOUNT), ("unlock_at_ms", U64))


@dataclass(frozen=True)
class Withdrawn(Event):
    MODULE: ClassVar[str] = "bonds"
    who: bytes
    amount: int
    WIRE = (("who", ACCOUNT), ("amount", AMOUNT))


@dataclass(frozen=True)
class Rebonded(Event):
    MODULE: ClassVar[str] = "bonds"
    who: bytes
    amount: int
    WIRE = (("who", ACCOUNT), ("amount", AMOUNT))


@dataclass(frozen=True)
class ValidatorRegistered(Event):
    MODULE: ClassVar[str] = "bonds"
    who: bytes
    session_key: bytes
    WIRE = (("who", ACCOUNT), ("session_key", HASH))


@dataclass(frozen=True)
class ValidatorDeregistered(Event):
    MODULE: ClassVar[str] = "bonds"
    who: bytes
    WIRE = (("who", ACCOUNT),)


@dataclass(frozen=True)
class BondSlashed(Event):
    """`who`'s bond lost `burned + reward`: `burned` destroyed, `reward` paid to the reporter."""

    MODULE: ClassVar[str] = "bonds"
    who: bytes
    burned: int
    reward: int
    WIRE = (("who", ACCOUNT), ("burned", AMOUNT), ("reward", AMOUNT))


@dataclass(frozen=True)
class NewEpoch(Event):
    """The set queued one epoch earlier became the active validator set of `epoch`, with `validators` members."""

    MODULE: ClassVar[str] = "bonds"
    epoch: int
    validators: int
    WIRE = (("epoch", U64), ("validators", U64))


@dataclass(frozen=True)
class ValidatorsQueued(Event):
    """A new set of `validators` members was queued: it becomes the active set, and leads the slots, of `epoch`."""

    MODULE: ClassVar[str] = "bonds"
    epoch: int
    validators: int
    WIRE = (("epoch", U64), ("validators", U64))


EVENTS = (
    Bonded,
    Unbonded,
    Withdrawn,
    Rebonded,
    ValidatorRegistered,
    ValidatorDeregistered,
    BondSlashed,
    NewEpoch,
    ValidatorsQueued,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
