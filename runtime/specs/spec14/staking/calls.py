"""Dispatchable calls of the staking module."""

from __future__ import annotations

from btt_chain.primitives.codec import AMOUNT, U64, Text
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import CallDef, ModuleDef

from ..fees.discounts import register_fee_discount
from ..staking import logic


def stake(ctx: CallContext, origin: Origin, tier: str, amount: int) -> None:
    """Lock `amount` in a term deposit of `tier` (30d, 90d, 180d, 365d, 1095d); at least the tier's minimum."""
    logic.stake(ctx, ensure_signed(origin), tier, amount)


def unstake(ctx: CallContext, origin: Origin, deposit_id: int) -> None:
    """After the lock ends: principal back, yield paid from Community Incentives (less the tier's burn)."""
    logic.unstake(ctx, ensure_signed(origin), deposit_id)


def claim_fee_share(ctx: CallContext, origin: Origin) -> None:
    """Claim the caller's pro-rata share of the stakers' part of transaction fees."""
    logic.claim_fee_share(ctx, ensure_signed(origin))


register_fee_discount(logic.fee_discount_bps, "staking")

MODULE = ModuleDef(
    index=6,
    name="staking",
    calls=(
        CallDef(0, "stake", (("tier", Text(8)), ("amount", AMOUNT)), 150, stake, stake.__doc__ or ""),
        CallDef(1, "unstake", (("deposit_id", U64),), 200, unstake, unstake.__doc__ or ""),
        CallDef(2, "claim_fee_share", (), 120, claim_fee_share, claim_fee_share.__doc__ or ""),
    ),
)
