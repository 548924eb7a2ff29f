"""Events of the incentives module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, U64, Text
from runtime.events import Event

from ..incentives.types import MAX_ACTIVITY_NAME


@dataclass(frozen=True)
class Attested(Event):
    """An oracle attested an activity of a patient; the patient was credited `points`."""

    MODULE: ClassVar[str] = "incentives"
    oracle: bytes
    patient: bytes
    activity: str
    evidence: bytes
    points: int
    WIRE = (("oracle", ACCOUNT), ("patient", ACCOUNT), ("activity", Text(MAX_ACTIVITY_NAME)), ("evidence", HASH),
            ("points", U64))


@dataclass(frozen=True)
class RedeemRequested(Event):
    """A patient asked to redeem `points` more in `epoch`: its request now holds `requested` points, worth
    `amount` base units at the epoch's rate if paid in full. It is paid in the first block of the next epoch."""

    MODULE: ClassVar[str] = "incentives"
    patient: bytes
    points: int
    requested: int
    amount: int
    epoch: int
    WIRE = (("patient", ACCOUNT), ("points", U64), ("requested", U64), ("amount", AMOUNT), ("epoch", U64))


@dataclass(frozen=True)
class RedeemPaid(Event):
    """A patient's request of `epoch` was settled: of `requested` points, `paid` were paid with `amount` base units
    from the Community Incentives pool and the rest went back to the patient's points."""

    MODULE: ClassVar[str] = "incentives"
    patient: bytes
    epoch: int
    requested: int
    paid: int
    amount: int
    WIRE = (("patient", ACCOUNT), ("epoch", U64), ("requested", U64), ("paid", U64), ("amount", AMOUNT))


@dataclass(frozen=True)
class RedeemRoundSettled(Event):
    """The requests of `epoch` were settled: `requests` patients asked for `asked` base units together, the epoch
    could pay `budget` (the global cap and the pool allowing), and `paid` was paid, each request its pro rata share
    in whole points."""

    MODULE: ClassVar[str] = "incentives"
    epoch: int
    requests: int
    asked: int
    budget: int
    paid: int
    WIRE = (("epoch", U64), ("requests", U64), ("asked", AMOUNT), ("budget", AMOUNT), ("paid", AMOUNT))


@dataclass(frozen=True)
class RedeemEvicted(Event):
    """The request table of `epoch` was full and `by`, a patient of a smaller oracle group, took a row: `patient`'s
    request, the newest of the largest group (home oracle `oracle`), left the table and its `points` went back to
    the patient, in full. It may ask again once its group is two rows short of the largest."""

    MODULE: ClassVar[str] = "incentives"
    patient: bytes
    epoch: int
    points: int
    oracle: bytes
    by: bytes
    WIRE = (("patient", ACCOUNT), ("epoch", U64), ("points", U64), ("oracle", ACCOUNT), ("by", ACCOUNT))


EVENTS = (
    Attested,
    RedeemRequested,
    RedeemPaid,
    RedeemRoundSettled,
    RedeemEvicted,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
