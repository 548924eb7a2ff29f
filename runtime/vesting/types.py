"""Types of the vesting module: a schedule is data, and its curve is a pure function of time."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import AMOUNT, U64, Struct, Text

LINEAR = "linear"
MILESTONE = "milestone"
SCHEDULE_KINDS = (LINEAR, MILESTONE)


@dataclass(frozen=True)
class VestingSchedule(Struct):
    """One release schedule over `total` base units. Times are absolute milliseconds since the Unix epoch."""

    total: int
    """Base units this schedule locks at its start."""
    start_ms: int
    """When the schedule was created (genesis time for allocations)."""
    cliff_ms: int
    """Nothing unlocks before this time; the linear curve starts here."""
    end_ms: int
    """Everything the curve allows is unlocked at and after this time."""
    kind: str = LINEAR
    """'linear', or 'milestone': unlocked only up to `approved`, and never above the linear curve."""
    approved: int = 0
    """Milestone schedules: base units governance has approved so far (unused for linear)."""

    WIRE = (
        ("total", AMOUNT),
        ("start_ms", U64),
        ("cliff_ms", U64),
        ("end_ms", U64),
        ("kind", Text(16)),
        ("approved", AMOUNT),
    )


def compute_linear_cap(schedule: VestingSchedule, now_ms: int) -> int:
    """0 before the cliff; total * (t - cliff) // (end - cliff) between; total at and after the end."""
    if now_ms >= schedule.end_ms:
        return schedule.total
    if now_ms < schedule.cliff_ms:
        return 0
    return schedule.total * (now_ms - schedule.cliff_ms) // (schedule.end_ms - schedule.cliff_ms)


def compute_unlocked(schedule: VestingSchedule, now_ms: int) -> int:
    """Base units of the schedule that are free to move at `now_ms`."""
    cap = compute_linear_cap(schedule, now_ms)
    if schedule.kind == MILESTONE:
        return min(schedule.approved, cap)
    return cap


def compute_locked(schedule: VestingSchedule, now_ms: int) -> int:
    return schedule.total - compute_unlocked(schedule, now_ms)


def is_valid_schedule(schedule: VestingSchedule) -> bool:
    return (
        schedule.kind in SCHEDULE_KINDS
        and schedule.start_ms <= schedule.cliff_ms <= schedule.end_ms
        and schedule.approved <= schedule.total
        and (schedule.kind == MILESTONE or schedule.approved == 0)
    )
