"""Errors of the vesting module."""

from __future__ import annotations

from runtime.errors import ModuleError


class VestingError(ModuleError):
    MODULE = "vesting"


class NotVesting(VestingError):
    """The account has no vesting schedule."""


class AmountLow(VestingError):
    """The vested transfer is below the minimum (parameter vesting.min_transfer)."""


class TooManySchedules(VestingError):
    """The account already has the most schedules allowed (parameter vesting.max_schedules)."""


class InvalidSchedule(VestingError):
    """The schedule's times are out of order or already over: need cliff <= end and end after now."""


class ScheduleIndexOutOfBounds(VestingError):
    """No schedule at that index for this account."""


class CannotMerge(VestingError):
    """Only two different linear schedules can be merged."""


class NoMilestoneSchedule(VestingError):
    """The account has no milestone schedule to approve a tranche of."""


class TrancheExceedsTotal(VestingError):
    """Approving this tranche would approve more than the schedule's total."""


class ZeroAmount(VestingError):
    """The amount must be above zero."""


class CannotShrink(VestingError):
    """The schedule cannot give up that much: it would fall below what is unlocked or approved already."""


ERRORS = (
    NotVesting,
    AmountLow,
    TooManySchedules,
    InvalidSchedule,
    ScheduleIndexOutOfBounds,
    CannotMerge,
    NoMilestoneSchedule,
    TrancheExceedsTotal,
    ZeroAmount,
    CannotShrink,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
