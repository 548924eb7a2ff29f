"""Dispatchable calls of the incentives module: oracles attest, patients request redemption (signed origins); and
the block-start hook that pays an ended epoch's requests."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, HASH, U64, Text
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import CallDef, ModuleDef
from runtime.incentives import hooks, logic, redemption
from runtime.incentives.types import MAX_ACTIVITY_NAME


def attest(ctx: CallContext, origin: Origin, patient: bytes, activity: str, evidence: bytes) -> None:
    """As a health oracle of `activity` (preventive_visit, treatment_adherence, healthy_lifestyle, referral),
    credit `patient` that activity's points (`incentives.points.<activity>`) for `evidence`, a hash of the
    off-chain record. Each evidence hash is rewarded once, ever."""
    logic.attest(ctx, ensure_signed(origin), patient, activity, evidence)


def redeem(ctx: CallContext, origin: Origin, points: int) -> None:
    """Ask to convert `points` of your points to BTT at `incentives.redeem_rate` base units per point (the rate of
    the epoch's first request), from the Community Incentives pool: your request of this epoch may ask at most
    `incentives.redeem_cap_per_epoch` BTT. The epoch's requests are paid in the first block of the next epoch,
    all in full if they fit `incentives.redeem_cap_global_per_epoch` and the pool, else each the same share in
    whole points (pro rata); unpaid points come back to you."""
    redemption.request(ctx, ensure_signed(origin), points)


MODULE = ModuleDef(
    index=16,
    name="incentives",
    calls=(
        CallDef(0, "attest", (("patient", ACCOUNT), ("activity", Text(MAX_ACTIVITY_NAME)), ("evidence", HASH)), 100,
                attest, attest.__doc__ or ""),
        CallDef(1, "redeem", (("points", U64),), 100, redeem, redeem.__doc__ or ""),
    ),
    on_initialize=hooks.on_initialize,
)
