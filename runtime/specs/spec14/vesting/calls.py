"""Dispatchable calls of the vesting module."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, U8, U64
from runtime.context import CallContext, Origin, ensure_governance, ensure_signed
from runtime.dispatch import CallDef, ModuleDef

from ..balances.locks import refresh_frozen
from ..vesting import errors, events, logic, storage
from ..vesting.types import LINEAR, MILESTONE, VestingSchedule, compute_locked


def vest(ctx: CallContext, origin: Origin) -> None:
    """Bring the caller's lock up to date with its schedules at this block's time."""
    logic.process_vest(ctx, ensure_signed(origin))


def vest_other(ctx: CallContext, origin: Origin, target: bytes) -> None:
    """Bring another account's lock up to date (anyone may pay for it)."""
    ensure_signed(origin)
    logic.process_vest(ctx, target)


def vested_transfer(ctx: CallContext, origin: Origin, dest: bytes, amount: int, cliff_ms: int, end_ms: int) -> None:
    """Send `amount` to `dest` locked under a new linear schedule: nothing before `cliff_ms`, all at `end_ms`."""
    source = ensure_signed(origin)
    now = ctx.env.timestamp_ms
    if amount < ctx.param(logic.MIN_TRANSFER_PARAM):
        raise errors.AmountLow(f"{amount} is below the minimum vested transfer {ctx.param(logic.MIN_TRANSFER_PARAM)}")
    if not now <= cliff_ms <= end_ms or end_ms <= now:
        raise errors.InvalidSchedule(f"need now ({now}) <= cliff ({cliff_ms}) <= end ({end_ms}) and end after now")
    if len(logic.get_schedules(ctx, dest)) >= ctx.param(logic.MAX_SCHEDULES_PARAM):
        raise errors.TooManySchedules()
    logic.move_locked(ctx, source, dest, amount)
    logic.add_schedule(ctx, dest, VestingSchedule(amount, now, cliff_ms, end_ms, LINEAR))
    ctx.emit(events.VestedTransfer(source, dest, amount, cliff_ms, end_ms))


def merge_schedules(ctx: CallContext, origin: Origin, index1: int, index2: int) -> None:
    """Merge two of the caller's linear schedules into one that never unlocks earlier than the two did.

    The rule: the merged schedule starts now and locks what the two still lock now (the sum of their locked
    amounts); its cliff is the later of the two cliffs (and not before now) and its end the later end. Each
    old schedule's remaining lock is itself a linear curve from max(cliff, now) to its end, and a curve that
    starts no earlier and ends no later unlocks no faster, so the merged lock is at every time at least the
    sum of the two locks (up to one base unit of integer rounding). Already unlocked parts are dropped, so
    the lock never exceeds the balance that was left after spending them."""
    who = ensure_signed(origin)
    schedules = logic.get_schedules(ctx, who)
    if not schedules:
        raise errors.NotVesting()
    if max(index1, index2) >= len(schedules):
        raise errors.ScheduleIndexOutOfBounds(f"the account has {len(schedules)} schedules")
    a, b = schedules[index1], schedules[index2]
    if index1 == index2 or a.kind != LINEAR or b.kind != LINEAR:
        raise errors.CannotMerge()
    now = ctx.env.timestamp_ms
    merged = VestingSchedule(
        total=compute_locked(a, now) + compute_locked(b, now),
        start_ms=now,
        cliff_ms=max(a.cliff_ms, b.cliff_ms, now),
        end_ms=max(a.end_ms, b.end_ms, now),
        kind=LINEAR,
    )
    rest = tuple(s for i, s in enumerate(schedules) if i not in (index1, index2))
    storage.schedules.put(ctx.state, who, (*rest, merged))
    refresh_frozen(ctx, who)
    ctx.emit(events.SchedulesMerged(who, merged.total, merged.cliff_ms, merged.end_ms))


def approve_tranche(ctx: CallContext, origin: Origin, account: bytes, amount: int) -> None:
    """Governance approves a milestone tranche of `account`'s milestone schedule; it unlocks no faster than
    the schedule's linear cap."""
    ensure_governance(origin)
    if amount == 0:
        raise errors.ZeroAmount()
    schedules = logic.get_schedules(ctx, account)
    index = next((i for i, s in enumerate(schedules) if s.kind == MILESTONE), None)
    if index is None:
        raise errors.NoMilestoneSchedule()
    schedule = schedules[index]
    approved = schedule.approved + amount
    if approved > schedule.total:
        raise errors.TrancheExceedsTotal(f"approved would be {approved}, total is {schedule.total}")
    updated = (*schedules[:index], schedule.replace(approved=approved), *schedules[index + 1 :])
    storage.schedules.put(ctx.state, account, updated)
    refresh_frozen(ctx, account)
    ctx.emit(events.TrancheApproved(account, amount, approved))


_AMOUNT = ("amount", AMOUNT)

MODULE = ModuleDef(
    index=5,
    name="vesting",
    calls=(
        CallDef(0, "vest", (), 60, vest, vest.__doc__ or ""),
        CallDef(1, "vest_other", (("target", ACCOUNT),), 60, vest_other, vest_other.__doc__ or ""),
        CallDef(
            2,
            "vested_transfer",
            (("dest", ACCOUNT), _AMOUNT, ("cliff_ms", U64), ("end_ms", U64)),
            150,
            vested_transfer,
            vested_transfer.__doc__ or "",
        ),
        CallDef(3, "merge_schedules", (("index1", U8), ("index2", U8)), 80, merge_schedules,
                merge_schedules.__doc__ or ""),
        CallDef(4, "approve_tranche", (("account", ACCOUNT), _AMOUNT), 60, approve_tranche,
                approve_tranche.__doc__ or ""),
    ),
)
