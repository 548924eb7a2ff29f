"""Events of the incentives module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, U64, Text
from runtime.events import Event
from runtime.incentives.types import MAX_ACTIVITY_NAME


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
class Redeemed(Event):
    """A patient redeemed `points` for `amount` base units of BTT from the Community Incentives pool."""

    MODULE: ClassVar[str] = "incentives"
    patient: bytes
    points: int
    amount: int
    epoch: int
    WIRE = (("patient", ACCOUNT), ("points", U64), ("amount", AMOUNT), ("epoch", U64))
