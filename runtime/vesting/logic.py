"""Vesting rules: the lock source, bringing a lock up to date, adding schedules, and shrinking a schedule
when part of what it locks is burned.

The lock is lazy: nothing runs per block. `vesting_lock` answers what an account's schedules lock at the
block's time, and balances calls `refresh_frozen` before every spendable check, so a holder can always
spend exactly what has unlocked without calling `vest` first.
"""

from __future__ import annotations

from runtime.context import CallContext

from ..balances import logic as balances
from ..balances.locks import lock_identifier, refresh_frozen
from ..system.types import AccountInfo
from ..vesting import errors, events, storage
from ..vesting.types import MILESTONE, VestingSchedule, compute_locked, compute_unlocked

MIN_TRANSFER_PARAM = "vesting.min_transfer"
MAX_SCHEDULES_PARAM = "vesting.max_schedules"


def get_schedules(ctx: CallContext, who: bytes) -> tuple[VestingSchedule, ...]:
    return storage.schedules.get(ctx.state, who)


def compute_total_locked(schedules: tuple[VestingSchedule, ...], now_ms: int) -> int:
    return sum(compute_locked(s, now_ms) for s in schedules)


@lock_identifier(b"vesting ")  # FRAME's pallet_vesting VESTING_ID (@polkadot/api-derive sums these as vesting)
def vesting_lock(ctx: CallContext, who: bytes) -> int | None:
    """Lock source: what `who`'s schedules still lock at the block's time; None when it has none."""
    if not storage.schedules.contains(ctx.state, who):
        return None
    return compute_total_locked(storage.schedules.get(ctx.state, who), ctx.env.timestamp_ms)


def process_vest(ctx: CallContext, who: bytes) -> None:
    """Update `who`'s frozen balance, then drop schedules that have unlocked completely."""
    schedules = get_schedules(ctx, who)
    if not schedules:
        raise errors.NotVesting()
    now = ctx.env.timestamp_ms
    refresh_frozen(ctx, who)
    remaining = tuple(s for s in schedules if compute_unlocked(s, now) < s.total)
    if remaining:
        storage.schedules.put(ctx.state, who, remaining)
    else:
        storage.schedules.remove(ctx.state, who)
    ctx.emit(events.Vested(who, compute_total_locked(remaining, now)))
    if not remaining:
        ctx.emit(events.VestingCompleted(who))


def add_schedule(ctx: CallContext, who: bytes, schedule: VestingSchedule) -> AccountInfo:
    """Append a schedule (the caller checked the count) and lock it at once."""
    storage.schedules.put(ctx.state, who, (*get_schedules(ctx, who), schedule))
    return refresh_frozen(ctx, who)


def move_locked(ctx: CallContext, source: bytes, dest: bytes, amount: int) -> None:
    """Move `amount` of `source`'s spendable balance to `dest` (which keeps it locked by a new schedule)."""
    balances.transfer(ctx, source, dest, amount, keep_alive=True)


def get_milestone_schedule(ctx: CallContext, who: bytes) -> tuple[int, VestingSchedule] | None:
    """(index, schedule) of `who`'s first milestone schedule, or None when it has none."""
    for i, s in enumerate(get_schedules(ctx, who)):
        if s.kind == MILESTONE:
            return i, s
    return None


def compute_shrinkable(schedule: VestingSchedule, now_ms: int) -> int:
    """How much a schedule can give up at `now_ms`: what it locks and governance has not approved."""
    return schedule.total - max(schedule.approved, compute_unlocked(schedule, now_ms))


def compute_shrunk_schedule(schedule: VestingSchedule, amount: int, now_ms: int) -> VestingSchedule:
    """`schedule` with `amount` taken off its tail: the total falls by `amount`, the linear cap keeps its pace
    (base units per millisecond) and so ends earlier, and approvals stay as they are.

    Keeping the pace is what makes the lock shrink by `amount` now and later (until nothing is locked): the
    unlocked curve is unchanged, so nothing already unlocked (and perhaps spent) is locked again. Scaling the
    cap down with the total instead would lower the unlocked amount once approvals run ahead of the cap, and
    freeze more than the holder may still have. The new end rounds down, so rounding can only unlock a base
    unit sooner, never later.

    Raises ZeroAmount, or CannotShrink when `amount` is more than `compute_shrinkable`."""
    if amount == 0:
        raise errors.ZeroAmount()
    available = compute_shrinkable(schedule, now_ms)
    if amount > available:
        raise errors.CannotShrink(f"the schedule can give up {available}, asked {amount}")
    total = schedule.total - amount
    span = schedule.end_ms - schedule.cliff_ms
    end = schedule.cliff_ms + span * total // schedule.total
    return schedule.replace(total=total, end_ms=end)


def shrink_milestone_schedule(ctx: CallContext, who: bytes, amount: int) -> VestingSchedule:
    """Take `amount` off `who`'s milestone schedule (see `compute_shrunk_schedule`), store it and bring `who`'s
    frozen balance down with it; the caller then moves or burns the amount. Returns the new schedule.

    Raises NoMilestoneSchedule, ZeroAmount or CannotShrink, having changed nothing."""
    found = get_milestone_schedule(ctx, who)
    if found is None:
        raise errors.NoMilestoneSchedule()
    index, schedule = found
    shrunk = compute_shrunk_schedule(schedule, amount, ctx.env.timestamp_ms)
    schedules = get_schedules(ctx, who)
    storage.schedules.put(ctx.state, who, (*schedules[:index], shrunk, *schedules[index + 1 :]))
    refresh_frozen(ctx, who)
    return shrunk
