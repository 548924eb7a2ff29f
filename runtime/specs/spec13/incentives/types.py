"""Types of the incentives module: an attestation as stored under its evidence hash, the open epoch's redemption
round and its oracle groups, what a patient's latest request was paid, and the outcome of the latest settled round."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, U64, Struct, Text

from ..roles.types import ACTIVITIES, MAX_ACTIVITY_NAME

__all__ = [
    "ACTIVITIES", "MAX_ACTIVITY_NAME", "MAX_REQUESTS_PER_EPOCH", "NO_HOME", "POOL", "Attestation", "OracleGroup",
    "Payout", "RedeemRound", "RoundResult",
]

POOL = "community_incentives"
"""The module account redemptions are paid from (TOKENOMICS.md: the Community Incentives pool). Nothing mints."""

MAX_REQUESTS_PER_EPOCH = 1024
"""Storage bound: the most patients whose redemption requests one epoch holds. The epoch's requests are all paid
in the first block of the next epoch, so this bounds that block's work (one read, one payout and one event per
request); a patient already in the table may still add to its request when the table is full. A full table admits
a new patient only in place of another oracle's patient, by the fair share rule of `redemption.py`."""

NO_HOME = bytes(32)
"""The oracle group of a patient with no home oracle recorded (one attested before home oracles were kept): all such
patients share this one group."""


@dataclass(frozen=True)
class Attestation(Struct):
    """One rewarded activity, kept for good under its evidence hash so the evidence can never pay twice."""

    patient: bytes
    """The account credited."""
    activity: str
    """One of ACTIVITIES."""
    oracle: bytes
    """The oracle of that activity who attested it."""
    points: int
    """Points credited: `incentives.points.<activity>` at attestation time."""
    block: int
    """Number of the block that included the attestation."""

    WIRE = (
        ("patient", ACCOUNT),
        ("activity", Text(MAX_ACTIVITY_NAME)),
        ("oracle", ACCOUNT),
        ("points", U64),
        ("block", U64),
    )


@dataclass(frozen=True)
class RedeemRound(Struct):
    """The redemption requests of `epoch`, not yet paid (there is at most one open round: it is settled in the
    first block of any later epoch, before that block's extrinsics)."""

    epoch: int
    rate: int
    """Base units per point every request of the epoch is paid at: `incentives.redeem_rate` when the epoch's first
    request was filed (so the per-patient cap a request was checked against still holds when it is paid)."""
    points: int
    """Points requested in the epoch, over all patients."""
    requests: int
    """Patients with a request in the epoch (at most MAX_REQUESTS_PER_EPOCH)."""
    groups: int
    """Oracle groups with a request in the epoch: home oracles whose patients hold rows of the table."""
    largest: int
    """Rows the largest oracle group holds (0 with no request): a full table admits a new patient whose home
    oracle's patients hold fewer than `largest - 1` rows, in place of a row of a group this large."""

    WIRE = (("epoch", U64), ("rate", AMOUNT), ("points", U64), ("requests", U64), ("groups", U64),
            ("largest", U64))

    @property
    def asked(self) -> int:
        """Base units the epoch's requests ask for together (every request paid in full)."""
        return self.points * self.rate


@dataclass(frozen=True)
class OracleGroup(Struct):
    """The requests of the open round whose patients have one home oracle (the oracle of their first attestation)."""

    rows: int
    """Rows of the table its patients hold (at least 1: a group without rows is not stored)."""
    slot: int
    """Its place among the groups holding as many rows (`storage.groups_by_rows`), so that it can leave that list
    in one step."""

    WIRE = (("rows", U64), ("slot", U64))


@dataclass(frozen=True)
class Payout(Struct):
    """What a patient's latest settled request asked and was paid (kept until its next request is settled)."""

    epoch: int
    """The epoch the request was filed in (it was paid in the first block of a later epoch)."""
    requested: int
    """Points the request held."""
    paid: int
    """Points paid: all of them, or the epoch's pro rata share rounded down; the rest went back to the patient."""
    amount: int
    """Base units paid: `paid` x the epoch's rate."""

    WIRE = (("epoch", U64), ("requested", U64), ("paid", U64), ("amount", AMOUNT))

    @property
    def returned(self) -> int:
        """Points that went back to the patient unpaid."""
        return self.requested - self.paid


@dataclass(frozen=True)
class RoundResult(Struct):
    """How the latest settled epoch's requests were paid."""

    epoch: int
    requests: int
    """Patients who had a request."""
    rate: int
    """Base units per point the epoch's requests were paid at."""
    asked: int
    """Base units asked for together (every request in full)."""
    budget: int
    """Base units the epoch could pay: `asked` when it fitted the global cap and the pool, else the most the cap
    allows and the pool can pay while keeping the existential deposit (zero when redemption was disabled)."""
    paid: int
    """Base units paid (at most `budget`; below it by the rounding of each share down to whole points)."""

    WIRE = (("epoch", U64), ("requests", U64), ("rate", AMOUNT), ("asked", AMOUNT), ("budget", AMOUNT),
            ("paid", AMOUNT))
