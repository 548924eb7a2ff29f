"""Dispatchable calls of the incentives module: oracles attest, patients redeem (signed origins)."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, HASH, U64, Text
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import CallDef, ModuleDef
from runtime.incentives import logic
from runtime.incentives.types import MAX_ACTIVITY_NAME


def attest(ctx: CallContext, origin: Origin, patient: bytes, activity: str, evidence: bytes) -> None:
    """As a health oracle of `activity` (preventive_visit, treatment_adherence, healthy_lifestyle, referral),
    credit `patient` that activity's points (`incentives.points.<activity>`) for `evidence`, a hash of the
    off-chain record. Each evidence hash is rewarded once, ever."""
    logic.attest(ctx, ensure_signed(origin), patient, activity, evidence)


def redeem(ctx: CallContext, origin: Origin, points: int) -> None:
    """Convert `points` of your points to BTT at `incentives.redeem_rate` base units per point, paid from the
    Community Incentives pool, within `incentives.redeem_cap_per_epoch` BTT per epoch."""
    logic.redeem(ctx, ensure_signed(origin), points)


MODULE = ModuleDef(
    index=16,
    name="incentives",
    calls=(
        CallDef(0, "attest", (("patient", ACCOUNT), ("activity", Text(MAX_ACTIVITY_NAME)), ("evidence", HASH)), 100,
                attest, attest.__doc__ or ""),
        CallDef(1, "redeem", (("points", U64),), 100, redeem, redeem.__doc__ or ""),
    ),
)
