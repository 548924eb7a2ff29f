"""Redemption of points for BTT: requests filed during an epoch, paid together, pro rata, once it has ended; and who
gets a row of the epoch's request table when it is full.

The rule (issue 24, finding 8: paying first come, first served let three early redeemers take an epoch's whole
budget):

1. `redeem(points)` files a request in the current epoch; nothing is paid then. The points leave the patient's
   balance for the request. A request is worth at most `incentives.redeem_cap_per_epoch` at the epoch's rate; the
   patient may add to it up to that cap. At most MAX_REQUESTS_PER_EPOCH patients file in one epoch (5 and 6 say
   which when more ask).
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

Admission to a full table: a fair share per oracle (issue 42, finding 3: first come, first served let one oracle's
1,024 Sybil patients fill the table for 2.29 BTT of fees and refuse every other patient):

5. A patient belongs to the group of its home oracle, the oracle of its first attestation (`home_oracle`, set then
   and never changed). The table counts its rows per group.
6. While the table has room, every patient is admitted. Once it is full, a new patient is admitted only if its
   group holds at least two rows fewer than the largest group: it takes the place of that group's newest request
   (of several groups that large, the one listed last in `groups_by_rows`), which is evicted: it leaves the table
   and its points go back to its patient at once, in full (`RedeemEvicted`); the patient loses the inclusion fee
   it paid and nothing else, and may ask again whenever its group is again two rows short of the largest.
   Otherwise the request is refused (`RequestTableFull`) and nothing changes. A patient already in the table may
   always add to its request.

Why a share per oracle, and not admission by points held or evicting the smallest request: an oracle mints points
for the fee of an attestation, and unpaid points come back after each settlement, so a contest of size is won,
epoch after epoch, by whoever has a corrupt oracle. What cannot be minted is an oracle: governance appoints them.
So a patient is refused only when its oracle's patients hold as many rows as any other oracle's, or one fewer:
with k oracles' patients wanting rows, each oracle's keep at least 1,024/k - 1 of them, however many Sybils, big or
small, the others bring. One corrupt oracle holds half the table against one honest oracle's patients and a third
against two; two colluding oracles hold two shares, never more. Within a group, rows are first come, first served:
the chain cannot tell an oracle's honest patients from its Sybils, and a contest of size there would again be won by
points the same oracle mints.

Two rows, not one: a swap must leave the evicted group no smaller than the evicting one, else the evicted patient
could at once take its row back, and so on. Each eviction lowers the sum of the squares of the groups' sizes by at
least 2, so evictions within an epoch end, and a group that lost a row cannot win it back in the same epoch unless
another group grows two past it. Every eviction is paid by the evicting request's fee; it is a fixed number of reads
and writes: the largest group and its newest row are read from stacks (`groups_by_rows`, `group_rows`), never
searched for. The settlement clears those indexes with the rows, a bounded pass as before.

Nothing mints: BTT moves from the pool to patients and the pool is never left holding dust (which would be
burned), so total issuance is unchanged. Points are conserved: `outstanding_points` is what `points` and
`requests` hold together and falls by exactly the points paid (an eviction moves points from `requests` back to
`points`).
"""

from __future__ import annotations

from btt_chain.primitives.amounts import format_btt
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..balances import events as balances_events
from ..balances import logic as balances
from ..balances.locks import refresh_frozen
from ..consensus import logic as consensus
from ..incentives import errors, events, params, storage
from ..incentives.logic import pool_account
from ..incentives.types import MAX_REQUESTS_PER_EPOCH, NO_HOME, OracleGroup, Payout, RedeemRound, RoundResult
from ..system import storage as system

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


def get_home_oracle(state: Overlay, patient: bytes) -> bytes:
    """The oracle whose group `patient`'s requests belong to: the oracle of its first attestation (NO_HOME for a
    patient attested before home oracles were kept)."""
    home = storage.home_oracle.get(state, patient)
    return NO_HOME if home is None else home


def get_group_rows(state: Overlay, epoch: int, oracle: bytes) -> int:
    """Rows of `epoch`'s table that patients of home oracle `oracle` hold."""
    group = storage.oracle_groups.get(state, (epoch, oracle))
    return 0 if group is None else group.rows


def get_largest_group(state: Overlay, epoch: int, largest: int) -> bytes:
    """An oracle whose group holds `largest` rows of `epoch`'s table, the largest any holds: of several, the one
    listed last among them (`groups_by_rows`)."""
    n = storage.groups_with_rows.get(state, (epoch, largest))
    return storage.groups_by_rows.get(state, (epoch, largest, n - 1))


def is_admitted(requests: int, largest: int, rows: int) -> bool:
    """Whether a new patient whose home oracle's group holds `rows` rows gets a row of a table holding `requests`
    rows, `largest` of them the largest group's: while there is room, yes; when it is full, only in place of a
    row of the largest group, and only if that group is at least two rows larger (after the swap it is still no
    smaller than the new patient's, so the row cannot move back)."""
    return requests < MAX_REQUESTS_PER_EPOCH or rows + 2 <= largest


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


# the oracle groups of the open round ---------------------------------------------------------------------


def _regroup(state: Overlay, epoch: int, oracle: bytes, group: OracleGroup | None, rows: int) -> None:
    """`oracle`'s group, now `group` (None: no row), holds `rows` rows from now on (0: none): it leaves the list of
    groups of its old size (the last of that list takes its slot) and goes last in the list of its new size."""
    if group is not None:
        last = storage.groups_with_rows.get(state, (epoch, group.rows)) - 1
        if group.slot != last:
            moved = storage.groups_by_rows.get(state, (epoch, group.rows, last))
            storage.groups_by_rows.put(state, (epoch, group.rows, group.slot), moved)
            other = storage.oracle_groups.get(state, (epoch, moved))
            storage.oracle_groups.put(state, (epoch, moved), other.replace(slot=group.slot))
        storage.groups_by_rows.remove(state, (epoch, group.rows, last))
        if last:
            storage.groups_with_rows.put(state, (epoch, group.rows), last)
        else:
            storage.groups_with_rows.remove(state, (epoch, group.rows))
    if rows == 0:
        storage.oracle_groups.remove(state, (epoch, oracle))
        return
    slot = storage.groups_with_rows.get(state, (epoch, rows))
    storage.groups_by_rows.put(state, (epoch, rows, slot), oracle)
    storage.groups_with_rows.put(state, (epoch, rows), slot + 1)
    storage.oracle_groups.put(state, (epoch, oracle), OracleGroup(rows, slot))


def _push_row(state: Overlay, rnd: RedeemRound, oracle: bytes, patient: bytes) -> RedeemRound:
    """`patient` takes a new row, the newest of `oracle`'s group; the round with it counted."""
    group = storage.oracle_groups.get(state, (rnd.epoch, oracle))
    rows = 0 if group is None else group.rows
    storage.group_rows.put(state, (rnd.epoch, oracle, rows), patient)
    _regroup(state, rnd.epoch, oracle, group, rows + 1)
    return rnd.replace(requests=rnd.requests + 1, groups=rnd.groups + int(group is None),
                       largest=max(rnd.largest, rows + 1))


def _evict(ctx: CallContext, rnd: RedeemRound, by: bytes) -> RedeemRound:
    """Evict the newest request of the largest group (of at least two rows) for `by`'s; the round without it."""
    state, epoch = ctx.state, rnd.epoch
    oracle = get_largest_group(state, epoch, rnd.largest)
    group = storage.oracle_groups.get(state, (epoch, oracle))
    patient = storage.group_rows.get(state, (epoch, oracle, group.rows - 1))
    storage.group_rows.remove(state, (epoch, oracle, group.rows - 1))
    _regroup(state, epoch, oracle, group, group.rows - 1)
    held = storage.requests.get(state, (epoch, patient))
    storage.requests.remove(state, (epoch, patient))
    storage.points.put(state, patient, storage.points.get(state, patient) + held)
    ctx.emit(events.RedeemEvicted(patient, epoch, held, oracle, by))
    still = storage.groups_with_rows.get(state, (epoch, rnd.largest)) > 0
    return rnd.replace(points=rnd.points - held, requests=rnd.requests - 1, groups=rnd.groups - int(group.rows == 1),
                       largest=rnd.largest if still else rnd.largest - 1)


# the call ------------------------------------------------------------------------------------------------


def request(ctx: CallContext, patient: bytes, points: int) -> int:
    """File `patient`'s request to redeem `points` in this epoch, or add them to its request; return the points
    the request now holds. They are paid in the first block of the next epoch (see the module docstring).

    Refused: zero points, more points than held, a zero rate, a request that would be worth more than the
    per-patient cap at the epoch's rate (the error says what is left), a new requester when the epoch's table
    holds MAX_REQUESTS_PER_EPOCH patients and its home oracle's group is not two rows smaller than the largest.
    A new requester admitted to a full table evicts the newest request of the largest group."""
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
    base = rnd if rnd is not None else RedeemRound(epoch, rate, 0, 0, 0, 0)
    home = get_home_oracle(state, patient)
    rows = 0 if rnd is None else get_group_rows(state, epoch, home)
    if already == 0 and not is_admitted(base.requests, base.largest, rows):
        raise errors.RequestTableFull(
            f"{base.requests} patients have requested in epoch {epoch}, the most one epoch holds, and the patients "
            f"of your home oracle 0x{home.hex()} hold {rows} of the rows, the largest oracle group {base.largest}: "
            f"a full table takes a patient only in place of a group at least two rows larger than its own; "
            f"ask again in epoch {epoch + 1}"
        )
    if held == points:
        storage.points.remove(state, patient)
    else:
        storage.points.put(state, patient, held - points)
    if already == 0:
        if base.requests >= MAX_REQUESTS_PER_EPOCH:
            base = _evict(ctx, base, patient)
        base = _push_row(state, base, home, patient)
    storage.requests.put(state, (epoch, patient), requested)
    storage.open_round.put(state, base.replace(points=base.points + points))
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
    for key in storage.round_keys(state, rnd.epoch):  # the rows and their oracle groups
        state.delete(key)
    for patient, requested, paid in rows:
        amount = paid * rnd.rate
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
