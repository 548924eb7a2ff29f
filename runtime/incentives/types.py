"""Types of the incentives module: an attestation as stored under its evidence hash, and what a patient has
redeemed in its latest epoch."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, U64, Struct, Text
from runtime.roles.types import ACTIVITIES, MAX_ACTIVITY_NAME

__all__ = ["ACTIVITIES", "MAX_ACTIVITY_NAME", "POOL", "Attestation", "EpochRedemption"]

POOL = "community_incentives"
"""The module account redemptions are paid from (TOKENOMICS.md: the Community Incentives pool). Nothing mints."""


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
class EpochRedemption(Struct):
    """What a patient redeemed in `epoch`, its latest epoch with a redemption (an older epoch counts as zero)."""

    epoch: int
    amount: int
    """Base units of BTT paid to the patient in that epoch (checked against `incentives.redeem_cap_per_epoch`)."""

    WIRE = (("epoch", U64), ("amount", AMOUNT))
