"""Credit maturity and the mining pool's per-epoch distribution.

At the first block of each epoch: credit whose challenge window has passed matures (it counts for the
power table and is claimable once); then the pool's emission for the epochs that ended, plus what earlier
caps held back, goes to providers by matured credit x on-time ratio x region factor x energy factor, each
capped at `compute.reward_cap_bps` of the fees burned for its credit. The rest rolls forward. Nothing is
paid beyond the emission schedule, and the schedule sums to the pool.
"""

from __future__ import annotations

from btt_chain.primitives.accounts import module_account
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..balances import logic as balances
from ..compute import credit, events, hook_budget, params, storage
from ..compute.emission import EmissionPeriod, cumulative_emission
from ..compute.hook_budget import HookBudget
from ..compute.rewards import RewardClaim, distribute
from ..compute.types import PendingCredit, Provider
from ..consensus import storage as consensus
from ..system import storage as system

POOL = "mining_pool"


def periods(state: Overlay) -> list[EmissionPeriod]:
    return [EmissionPeriod(p.duration_ms, p.amount) for p in storage.emission_periods.get(state)]


def emitted_through(state: Overlay, epochs: int) -> int:
    """What the schedule has emitted over the first `epochs` epochs (0 on a chain without a schedule)."""
    ps = periods(state)
    epoch_ms = consensus.epoch_ms(state)
    if not ps or epoch_ms <= 0:
        return 0
    return cumulative_emission(ps, epoch_ms, epochs)


def mature_credits(ctx: CallContext, epoch: int, budget: HookBudget) -> bool:
    """Move credit whose window has passed into this distribution and into the history and total of epoch - 1, the
    earliest first, as far as `budget` goes (spec 19); whether all of it moved. First the floor below which no credit
    counts rises to `epoch - window` (spec 20: `credit.raise_floor`)."""
    state = ctx.state
    now = ctx.env.timestamp_ms
    window = ctx.param(params.WORK_WINDOW)
    budget.charge(hook_budget.HISTORY_BUCKET * credit.raise_floor(state, epoch, window))  # once an epoch
    matured: list[tuple[bytes, PendingCredit]] = []
    touched: set[bytes] = set()  # providers whose history this block has read already (kept decoded in the block)
    for key, pc in storage.pending_credit.items(state):
        if int.from_bytes(key[:8], "big") > now:
            break
        provider = key[16:]
        cost = hook_budget.MATURE_CREDIT
        if provider not in touched:
            cost += hook_budget.HISTORY_BUCKET * len(storage.credit_history.get(state, provider) or ())
        if not budget.take(cost):
            break
        touched.add(provider)
        matured.append((key, pc))
    by_provider: dict[bytes, int] = {}
    for key, pc in matured:
        provider = key[16:]
        storage.pending_credit.remove(state, key)
        acc = storage.epoch_credit.get(state, provider) or PendingCredit(0, 0)
        storage.epoch_credit.put(state, provider, PendingCredit(acc.credit + pc.credit, acc.burned + pc.burned))
        by_provider[provider] = by_provider.get(provider, 0) + pc.credit
    # a provider's history is rewritten once a block, as it is charged (`HISTORY_BUCKET` an epoch of it, once), not
    # once per credit (spec 20; `bench hooks`: 1,000 credits of one provider with 720 epochs of history, 10.2 ms ->
    # 5.0 ms)
    for provider, matured_credit in by_provider.items():
        credit.add_matured(state, provider, epoch - 1, matured_credit, window)
    return not budget.short


def distribute_rewards(ctx: CallContext, epoch: int, weight: HookBudget) -> None:
    """Pay the emission of epochs [rewarded_epochs, epoch) plus the held-back rest to matured credit, charging the
    start of block's `weight` for each provider paid whatever it has left (the split needs every claim at once; spec
    19)."""
    state = ctx.state
    done = storage.rewarded_epochs.get(state)
    if epoch <= done:
        return
    emission = emitted_through(state, epoch) - emitted_through(state, done)
    pool = module_account(POOL)
    budget = min(storage.held_back.get(state) + emission, system.account.get(state, pool).free)
    claims = []
    credits = list(storage.epoch_credit.items(state))
    weight.charge(len(credits) * hook_budget.REWARD_CLAIM)
    for provider, pc in credits:
        p = storage.providers.get(state, provider) or Provider(0, 0, 0)
        claims.append(
            RewardClaim(
                provider=provider,
                credit=pc.credit,
                on_time_bps=p.on_time_bps(),
                region_bps=ctx.param(params.region_factor(p.region)),
                energy_bps=ctx.param(params.energy_factor(p.energy)),
                burned=pc.burned,
            )
        )
        storage.epoch_credit.remove(state, provider)
    result = distribute(budget, claims, ctx.param(params.REWARD_CAP))
    by_provider = {pc_provider: pc for pc_provider, pc in credits}
    if result.paid:
        acc = system.account.get(state, pool)
        system.account.put(state, pool, acc.replace(free=acc.free - result.paid))
        for provider, amount in result.payouts:
            balances.deposit(ctx, provider, amount)
            ctx.emit(events.MiningRewarded(provider, amount, by_provider[provider].credit))
    storage.held_back.put(state, result.held_back)
    storage.rewarded_epochs.put(state, epoch)
    storage.total_rewarded.put(state, storage.total_rewarded.get(state) + result.paid)
    ctx.emit(events.MiningEpoch(epoch, budget, result.paid, result.held_back))
