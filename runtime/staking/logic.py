"""Staking rules: term deposits, their yield from the Community Incentives pool, tier benefits, and the stakers'
share of transaction fees.

Every figure is a parameter (`staking.<tier>.lock_days|yield_bps|min`, `staking.fee_discount_bps`,
`staking.governance_multiplier_bps`, `staking.burn_365d_bps|burn_1095d_bps`). Which benefit a tier brings is
fixed by tier order: 90d and longer give compute priority, 180d and longer the fee discount, 365d and longer
the governance multiplier, 1095d the special service access flag. Benefits last while a deposit's lock runs.

Yield is simple interest: principal * yield_bps * elapsed / (year * 10,000), elapsed capped at the lock,
rounded down. A year is 365 days of month_seconds / 30. The pool pays what it has; nothing is minted.

Fee share: every fee's stakers' part waits in module account `staker_rewards`. A reward-per-staked-unit
accumulator absorbs the pot's growth whenever a stake changes or a share is claimed (lazily: between two
such moments every stake is constant, so the split is exact up to rounding down). Growth while nothing is
staked, and rounding dust, stay in the pot unclaimed.
"""

from __future__ import annotations

from btt_chain.primitives.accounts import module_account
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..balances import events as balances_events
from ..balances import logic as balances
from ..balances.errors import InsufficientBalance, ZeroAmount
from ..params.storage import get_param
from ..staking import errors, events, storage
from ..staking.types import Benefits, Deposit, StakerInfo, Tier
from ..system import storage as system
from ..system import time

BPS = 10_000
NO_BENEFITS = Benefits()
"""What an account without a running deposit gets (a frozen value: shared)."""
TIERS = ("30d", "90d", "180d", "365d", "1095d")
"""Tier names in order; a deposit stores its tier's index. Order decides the benefits (see the module doc)."""
COMPUTE_PRIORITY_FROM = 1
FEE_DISCOUNT_FROM = 2
GOVERNANCE_MULTIPLIER_FROM = 3
SPECIAL_ACCESS_FROM = 4
BURN_PARAMS = {"365d": "staking.burn_365d_bps", "1095d": "staking.burn_1095d_bps"}
"""Share of paid yield burned, by tier; tiers not listed burn nothing."""
FEE_DISCOUNT_PARAM = "staking.fee_discount_bps"
GOVERNANCE_MULTIPLIER_PARAM = "staking.governance_multiplier_bps"
REWARD_SCALE = 10**36
"""Fixed-point scale of the fee-share accumulator (stored as u256)."""

POOL = "community_incentives"
POT = "staker_rewards"


# --- tiers and queries ---------------------------------------------------------------------------


def tier_index(name: str) -> int:
    if name not in TIERS:
        raise errors.UnknownTier(f"no tier {name!r}; tiers: {', '.join(TIERS)}")
    return TIERS.index(name)


def get_tier(state: Overlay, index: int) -> Tier:
    name = TIERS[index]
    burn = BURN_PARAMS.get(name)
    return Tier(
        index=index,
        name=name,
        lock_ms=get_param(state, f"staking.{name}.lock_days") * time.day_ms(state),
        yield_bps=get_param(state, f"staking.{name}.yield_bps"),
        minimum=get_param(state, f"staking.{name}.min"),
        burn_bps=get_param(state, burn) if burn is not None else 0,
    )


def now_ms(state: Overlay) -> int:
    return system.timestamp_ms.get(state)


def is_unlocked(deposit: Deposit, at_ms: int) -> bool:
    return at_ms >= deposit.unlock_ms


def accrued_yield(state: Overlay, deposit: Deposit, at_ms: int) -> int:
    """Yield earned by `at_ms` (capped at the lock's end), rounded down to the base unit."""
    tier = get_tier(state, deposit.tier)
    elapsed = min(max(0, at_ms - deposit.start_ms), deposit.unlock_ms - deposit.start_ms)
    return deposit.amount * tier.yield_bps * elapsed // (time.year_ms(state) * BPS)


def staked_total(state: Overlay, who: bytes) -> int:
    """Principal of every deposit of `who` not yet withdrawn."""
    return storage.stakers.get(state, who).staked


def best_running_tier(state: Overlay, who: bytes) -> int | None:
    """The highest tier among `who`'s deposits whose lock is still running, or None."""
    # every fee calculation asks: one point read answers it for the many accounts that never staked
    if storage.stakers.get(state, who).staked == 0:
        return None
    at = now_ms(state)
    running = [d.tier for d in storage.deposits_of(state, who) if not is_unlocked(d, at)]
    return max(running) if running else None


def benefits(state: Overlay, who: bytes) -> Benefits:
    """What `who`'s running deposits give it (used by fees, governance and compute)."""
    return _benefits_of_tier(state, best_running_tier(state, who))


def _benefits_of_tier(state: Overlay, best: int | None) -> Benefits:
    """What a best running tier of `best` (None: no running deposit) gives."""
    if best is None:
        return NO_BENEFITS
    return Benefits(
        fee_discount_bps=get_param(state, FEE_DISCOUNT_PARAM) if best >= FEE_DISCOUNT_FROM else 0,
        compute_priority=best >= COMPUTE_PRIORITY_FROM,
        governance_multiplier_bps=(
            get_param(state, GOVERNANCE_MULTIPLIER_PARAM) if best >= GOVERNANCE_MULTIPLIER_FROM else BPS
        ),
        special_access=best >= SPECIAL_ACCESS_FROM,
    )


def fee_discount_bps(state: Overlay, who: bytes) -> int:
    """The fee discount registered with the fee calculation: `benefits(state, who).fee_discount_bps`, without
    building the Benefits of the many payers that hold no running deposit (asked for every extrinsic)."""
    if storage.stakers.get(state, who).staked == 0:  # `best_running_tier`'s first answer, one call nearer
        return 0
    best = best_running_tier(state, who)
    return 0 if best is None else _benefits_of_tier(state, best).fee_discount_bps


# --- fee share -----------------------------------------------------------------------------------


def _accumulated(state: Overlay) -> int:
    """The accumulator with the pot's growth since the last sync absorbed (not written)."""
    acc = storage.reward_per_token.get(state)
    growth = system.account.get(state, module_account(POT)).free - storage.pot_accounted.get(state)
    total = storage.total_staked.get(state)
    if growth > 0 and total > 0:
        acc += growth * REWARD_SCALE // total
    return acc


def _sync_pot(ctx: CallContext) -> int:
    acc = _accumulated(ctx.state)
    storage.reward_per_token.put(ctx.state, acc)
    storage.pot_accounted.put(ctx.state, system.account.get(ctx.state, module_account(POT)).free)
    return acc


def _settled(info: StakerInfo, acc: int) -> StakerInfo:
    earned = info.staked * (acc - info.reward_snapshot) // REWARD_SCALE
    return info.replace(pending=info.pending + earned, reward_snapshot=acc)


def claimable_fee_share(state: Overlay, who: bytes) -> int:
    return _settled(storage.stakers.get(state, who), _accumulated(state)).pending


def _put_staker(ctx: CallContext, who: bytes, info: StakerInfo) -> None:
    if info.staked == 0 and info.pending == 0:
        storage.stakers.remove(ctx.state, who)
    else:
        storage.stakers.put(ctx.state, who, info)


def _pay(ctx: CallContext, source: bytes, dest: bytes, amount: int) -> None:
    """Move `amount` of a module account's spendable balance to `dest` (a staker, so no existential-deposit
    question arises; the module account may fall to zero)."""
    if amount == 0:
        return
    src = system.account.get(ctx.state, source)
    if src.spendable < amount:
        raise InsufficientBalance(f"spendable {src.spendable}, needed {amount}")
    system.account.put(ctx.state, source, src.replace(free=src.free - amount))
    balances.deposit(ctx, dest, amount)
    ctx.emit(balances_events.Transfer(source, dest, amount))


# --- calls ---------------------------------------------------------------------------------------


def stake(ctx: CallContext, who: bytes, tier_name: str, amount: int) -> Deposit:
    index = tier_index(tier_name)
    tier = get_tier(ctx.state, index)
    if amount == 0:
        raise ZeroAmount()
    if amount < tier.minimum:
        raise errors.BelowMinimum(f"tier {tier.name} needs at least {tier.minimum}, got {amount}")
    if balances.account(ctx, who).spendable < amount:
        raise InsufficientBalance(f"spendable {balances.account(ctx, who).spendable}, needed {amount}")
    acc = _sync_pot(ctx)
    info = _settled(storage.stakers.get(ctx.state, who), acc)
    balances.reserve(ctx, who, amount)
    deposit_id = storage.next_deposit_id.get(ctx.state)
    start = now_ms(ctx.state)
    deposit = Deposit(deposit_id, who, index, amount, start, start + tier.lock_ms)
    storage.next_deposit_id.put(ctx.state, deposit_id + 1)
    storage.deposits.put(ctx.state, (who, deposit_id), deposit)
    storage.deposit_owner.put(ctx.state, deposit_id, who)
    storage.total_staked.put(ctx.state, storage.total_staked.get(ctx.state) + amount)
    _put_staker(ctx, who, info.replace(staked=info.staked + amount))
    ctx.emit(events.Staked(who, deposit_id, tier.name, amount, deposit.unlock_ms))
    return deposit


def unstake(ctx: CallContext, who: bytes, deposit_id: int) -> None:
    """Return principal and pay the yield (less the tier's burn); the pool pays what it has."""
    owner = storage.deposit_owner.get(ctx.state, deposit_id)
    if owner is None:
        raise errors.UnknownDeposit(f"no open deposit {deposit_id}")
    if owner != who:
        raise errors.NotOwner(f"deposit {deposit_id} belongs to another account")
    deposit = storage.deposits.get(ctx.state, (who, deposit_id))
    at = now_ms(ctx.state)
    if not is_unlocked(deposit, at):
        raise errors.StillLocked(f"deposit {deposit_id} unlocks at {deposit.unlock_ms} ms, now {at} ms")
    tier = get_tier(ctx.state, deposit.tier)
    owed = accrued_yield(ctx.state, deposit, at)
    pool = module_account(POOL)
    paid = min(owed, system.account.get(ctx.state, pool).spendable)
    burned = paid * tier.burn_bps // BPS
    acc = _sync_pot(ctx)
    info = _settled(storage.stakers.get(ctx.state, who), acc)
    storage.deposits.remove(ctx.state, (who, deposit_id))
    storage.deposit_owner.remove(ctx.state, deposit_id)
    storage.total_staked.put(ctx.state, storage.total_staked.get(ctx.state) - deposit.amount)
    _put_staker(ctx, who, info.replace(staked=info.staked - deposit.amount))
    balances.unreserve(ctx, who, deposit.amount)
    _pay(ctx, pool, who, paid - burned)
    if burned:
        balances.burn(ctx, pool, burned, keep_alive=False)
    if paid < owed:
        ctx.emit(events.YieldShortfall(deposit_id, owed, paid))
    ctx.emit(events.Unstaked(who, deposit_id, deposit.amount, paid - burned, burned))


def claim_fee_share(ctx: CallContext, who: bytes) -> int:
    """Pay `who` its settled share of the staker_rewards pot."""
    acc = _sync_pot(ctx)
    info = _settled(storage.stakers.get(ctx.state, who), acc)
    if info.pending == 0:
        raise errors.NothingToClaim()
    amount = info.pending
    _pay(ctx, module_account(POT), who, amount)
    storage.pot_accounted.put(ctx.state, storage.pot_accounted.get(ctx.state) - amount)
    _put_staker(ctx, who, info.replace(pending=0))
    ctx.emit(events.FeeShareClaimed(who, amount))
    return amount
