"""Fee rules. Every figure is a parameter; see TOKENOMICS.md (50% author, 30% stakers, 20% development fund)."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.accounts import module_account
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..balances import logic as balances
from ..fees import discounts, events
from ..params.storage import get_params

BPS = 10_000


@dataclass(frozen=True)
class FeeDetails:
    base: int
    length_fee: int
    weight_fee: int
    discount: int = 0
    """Taken off the sum (a registered fee discount, e.g. the 180-day staking tier)."""

    @property
    def inclusion_fee(self) -> int:
        return self.base + self.length_fee + self.weight_fee - self.discount


def compute_fee(state: Overlay, length: int, weight: int, who: bytes | None = None) -> FeeDetails:
    """Inclusion fee of an extrinsic of `length` encoded bytes whose call has `weight`, signed by `who`.

    With a signer, the largest registered fee discount applies; the discount rounds down, so the fee
    rounds up (e.g. 20% off a fee of 11 base units takes 2 off, leaving 9)."""
    base, length_fee, weight_fee = _fee_parts(state, length, weight)
    discount = 0 if who is None else _discount(state, base + length_fee + weight_fee, who)
    return FeeDetails(base=base, length_fee=length_fee, weight_fee=weight_fee, discount=discount)


def inclusion_fee(state: Overlay, length: int, weight: int, who: bytes) -> int:
    """`compute_fee(state, length, weight, who).inclusion_fee`, by the same rules, without the details (what every
    extrinsic's check asks)."""
    base, per_byte, per_weight = get_params(state, FEE_PARAMS)  # `_fee_parts` and `_discount` inlined (every check)
    gross = base + per_byte * length + per_weight * weight
    bps = discounts.get_fee_discount_bps(state, who)
    return gross - discounts.apply_discount(gross, bps) if bps else gross


FEE_PARAMS = ("fees.base", "fees.per_byte", "fees.per_weight")


def _fee_parts(state: Overlay, length: int, weight: int) -> tuple[int, int, int]:
    """(base, length fee, weight fee)."""
    base, per_byte, per_weight = get_params(state, FEE_PARAMS)
    return base, per_byte * length, per_weight * weight


def _discount(state: Overlay, gross: int, who: bytes) -> int:
    return discounts.apply_discount(gross, discounts.get_fee_discount_bps(state, who))


def distribute(ctx: CallContext, fees: int, tips: int, author: bytes | None) -> None:
    """Split the block's fees; tips go whole to the author. With no author account, its share goes to development."""
    if fees == 0 and tips == 0:
        return
    to_author = fees * ctx.param("fees.author_bps") // BPS
    to_stakers = fees * ctx.param("fees.stakers_bps") // BPS
    to_development = fees - to_author - to_stakers
    author_total = to_author + tips
    if author is None:
        to_development += author_total
        author_total = 0
    else:
        balances.deposit(ctx, author, author_total)
    # the stakers' 30% waits in its pot until staking pays it out pro rata
    balances.deposit(ctx, module_account("staker_rewards"), to_stakers)
    balances.deposit(ctx, module_account("development_fund"), to_development)
    ctx.emit(events.FeesDistributed(author or bytes(32), author_total, to_stakers, to_development))
