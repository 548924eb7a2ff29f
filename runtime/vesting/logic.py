"""Vesting rules: the lock source, bringing a lock up to date, and adding schedules.

The lock is lazy: nothing runs per block. `vesting_lock` answers what an account's schedules lock at the
block's time, and balances calls `refresh_frozen` before every spendable check, so a holder can always
spend exactly what has unlocked without calling `vest` first.
"""

from __future__ import annotations

from runtime.balances import logic as balances
from runtime.balances.locks import refresh_frozen
from runtime.context import CallContext
from runtime.system.types import AccountInfo
from runtime.vesting import errors, events, storage
from runtime.vesting.types import VestingSchedule, compute_locked, compute_unlocked

MIN_TRANSFER_PARAM = "vesting.min_transfer"
MAX_SCHEDULES_PARAM = "vesting.max_schedules"


def get_schedules(ctx: CallContext, who: bytes) -> tuple[VestingSchedule, ...]:
    return storage.schedules.get(ctx.state, who)


def compute_total_locked(schedules: tuple[VestingSchedule, ...], now_ms: int) -> int:
    return sum(compute_locked(s, now_ms) for s in schedules)


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
