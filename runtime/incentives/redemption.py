"""Redemption of points for BTT: requests filed during an epoch, paid together, pro rata, once it has ended.

The rule (issue 24, finding 8: paying first come, first served let three early redeemers take an epoch's whole
budget):

1. `redeem(points)` files a request in the current epoch; nothing is paid then. The points leave the patient's
   balance for the request. A request is worth at most `incentives.redeem_cap_per_epoch` at the epoch's rate; the
   patient may add to it up to that cap. At most MAX_REQUESTS_PER_EPOCH patients file in one epoch.
2. The epoch's rate is `incentives.redeem_rate` as the epoch's first request found it: every request of the epoch
   is checked against the cap and paid at that one rate, so a rate change made mid-epoch applies from the next
   epoch (a zero rate, governance stopping redemption, applies at once: see 3).
3. In the first block of any later epoch, before its extrinsics, the requests are paid from the Community
   Incentives pool. The budget is what they ask together (`asked`) when that fits the global cap
   (`incentives.redeem_cap_global_per_epoch`) and the pool can pay it, emptying it exactly or leaving it at least
   the existential deposit. Otherwise the budget is the least of the global cap, the pool's spendable balance and
   its balance less the existential deposit, so that no payout leaves the pool holding dust; and zero when the
   rate is zero by then.
4. Every request is paid the same share of what it asked: floor(points x budget / asked) whole points (all of them
   when the budget is `asked`), each worth the epoch's rate. The points not paid go back to the patient.

So the order of requests within an epoch changes nothing: three early redeemers asking for the whole budget are
paid the same share of what they asked as a patient asking in the epoch's last block. No request is paid more
than it asked, the payouts together never exceed the budget, and the rounding leaves less than one point's worth
per request in the pool.

The unpaid points go back rather than stay pending for the next epoch: a request then never outlives its epoch,
so the table holds one epoch at a time and a settlement is one pass over at most MAX_REQUESTS_PER_EPOCH rows; a
carried request would also skip the next epoch's cap and rate checks and take a place in its table without the
patient asking. The patient decides: ask again in the next epoch, or keep the points.

Nothing mints: BTT moves from the pool to patients and the pool is never left holding dust (which would be
burned), so total issuance is unchanged. Points are conserved: `outstanding_points` is what `points` and
`requests` hold together and falls by exactly the points paid.
"""

from __future__ import annotations

from btt_chain.primitives.amounts import format_btt
from runtime.balances import events as balances_events
from runtime.balances import logic as balances
from runtime.balances.locks import refresh_frozen
from runtime.consensus import logic as consensus
from runtime.context import CallContext
from runtime.incentives import errors, events, params, storage
from runtime.incentives.logic import pool_account
from runtime.incentives.types import MAX_REQUESTS_PER_EPOCH, Payout, RedeemRound, RoundResult
from runtime.overlay import Overlay
from runtime.system import storage as system

# reads and pure rules ------------------------------------------------------------------------------------


def get_open_round(state: Overlay, epoch: int) -> RedeemRound | None:
    """The round of `epoch`, if it has requests.

    A stored round of an earlier epoch counts as none: the first block of a later epoch settles it before any
    extrinsic, so only a speculative view (pool admission, a dry run) of that block sees it unsettled."""
    rnd = storage.open_round.get(state)
    return rnd if rnd is not None and rnd.epoch == epoch else None


def get_request(state: Overlay, who: bytes, epoch: int) -> int:
    """Points `who` has asked to redeem in `epoch` and not yet been paid for."""
    return storage.requests.get(state, (epoch, who))


def get_epoch_rate(state: Overlay, epoch: int, rate_now: int) -> int:
    """The rate `epoch`'s requests are paid at: its first request's, else `rate_now` (the parameter)."""
    rnd = get_open_round(state, epoch)
    return rnd.rate if rnd is not None else rate_now


def compute_cap_left(cap: int, asked: int) -> int:
    """Base units a patient may still ask for this epoch, having asked `asked`."""
    return max(0, cap - asked)


def compute_budget(asked: int, global_cap: int, spendable: int, total: int, ed: int) -> int:
    """Base units an epoch whose requests ask `asked` together pays them, from a pool with `spendable` of its
    `total` balance, under an existential deposit `ed`: `asked` when it fits the cap and the pool (the pool may be
    emptied exactly, never left below `ed`); else the most the cap allows and the pool pays keeping `ed`, which is
    then below `asked`, so every request is scaled down."""
    if asked <= global_cap and asked <= spendable and (asked == total or total - asked >= ed):
        return asked
    return max(0, min(global_cap, spendable, total - ed))


def compute_paid_points(requested: int, asked: int, budget: int) -> int:
    """Points of a request of `requested` points paid when the epoch asks `asked` and can pay `budget` (base units):
    all of them when the budget covers everything, else the same share of each request, rounded down."""
    if budget >= asked:
        return requested
    return requested * budget // asked


# the call ------------------------------------------------------------------------------------------------


def request(ctx: CallContext, patient: bytes, points: int) -> int:
    """File `patient`'s request to redeem `points` in this epoch, or add them to its request; return the points
    the request now holds. They are paid in the first block of the next epoch (see the module docstring).

    Refused: zero points, more points than held, a zero rate, a request that would be worth more than the
    per-patient cap at the epoch's rate (the error says what is left), a new requester when the epoch's table
    holds MAX_REQUESTS_PER_EPOCH patients."""
    if points == 0:
        raise errors.ZeroPoints()
    state = ctx.state
    held = storage.points.get(state, patient)
    if held < points:
        raise errors.InsufficientPoints(f"holds {held} points, asked to redeem {points}")
    rate_now = ctx.param(params.REDEEM_RATE)
    if rate_now == 0:
        raise errors.RedeemDisabled()
    epoch = consensus.epoch_of(state, ctx.env.slot)
    rnd = get_open_round(state, epoch)
    rate = rnd.rate if rnd is not None else rate_now
    already = get_request(state, patient, epoch)
    requested = already + points
    cap = ctx.param(params.REDEEM_CAP)
    if requested * rate > cap:
        left = compute_cap_left(cap, already * rate)
        raise errors.OverEpochCap(
            f"{points} points ask {format_btt(points * rate)} BTT; {format_btt(left)} BTT ({left // rate} points) "
            f"of the {format_btt(cap)} BTT cap is left in epoch {epoch}"
        )
    if already == 0 and rnd is not None and rnd.requests >= MAX_REQUESTS_PER_EPOCH:
        raise errors.RequestTableFull(
            f"{rnd.requests} patients have requested in epoch {epoch}, the most one epoch holds; "
            f"ask again in epoch {epoch + 1}"
        )
    if held == points:
        storage.points.remove(state, patient)
    else:
        storage.points.put(state, patient, held - points)
    storage.requests.put(state, (epoch, patient), requested)
    base = rnd if rnd is not None else RedeemRound(epoch, rate, 0, 0)
    storage.open_round.put(state, base.replace(points=base.points + points,
                                               requests=base.requests + (1 if already == 0 else 0)))
    ctx.emit(events.RedeemRequested(patient, points, requested, requested * rate, epoch))
    return requested


# settlement ----------------------------------------------------------------------------------------------


def settle(ctx: CallContext, rnd: RedeemRound) -> RoundResult:
    """Pay every request of `rnd`, an epoch that has ended, its pro rata share; return what was paid.

    Never fails: the budget is at most the pool's spendable balance, and a payout is a plain credit, as mining
    rewards are, so no transfer check can refuse it in the middle of the round (`balances.transfer` would refuse a
    payout below the existential deposit to a patient that emptied its account after filing)."""
    state = ctx.state
    pool = pool_account()
    acc = refresh_frozen(ctx, pool)
    budget = 0
    if ctx.param(params.REDEEM_RATE) > 0:
        budget = compute_budget(rnd.asked, ctx.param(params.GLOBAL_REDEEM_CAP), acc.spendable, acc.total,
                                ctx.param(balances.ED_PARAM))
    rows = [(patient, requested, compute_paid_points(requested, rnd.asked, budget))
            for patient, requested in storage.requests_of_epoch(state, rnd.epoch)]
    paid_points = sum(paid for _, _, paid in rows)
    paid_total = paid_points * rnd.rate
    if paid_total:
        system.account.put(state, pool, acc.replace(free=acc.free - paid_total))
    for patient, requested, paid in rows:
        amount = paid * rnd.rate
        storage.requests.remove(state, (rnd.epoch, patient))
        if paid < requested:
            storage.points.put(state, patient, storage.points.get(state, patient) + requested - paid)
        if amount:
            balances.deposit(ctx, patient, amount)
            ctx.emit(balances_events.Transfer(pool, patient, amount))
        storage.payouts.put(state, patient, Payout(rnd.epoch, requested, paid, amount))
        ctx.emit(events.RedeemPaid(patient, rnd.epoch, requested, paid, amount))
    storage.outstanding_points.put(state, storage.outstanding_points.get(state) - paid_points)
    storage.total_paid.put(state, storage.total_paid.get(state) + paid_total)
    result = RoundResult(rnd.epoch, rnd.requests, rnd.rate, rnd.asked, budget, paid_total)
    storage.last_round.put(state, result)
    storage.open_round.kill(state)
    ctx.emit(events.RedeemRoundSettled(rnd.epoch, rnd.requests, rnd.asked, budget, paid_total))
    return result
