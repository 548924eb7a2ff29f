"""Calendar lengths in milliseconds. A day is a thirtieth of the genesis month (time.month_seconds), a year 365 days.

The month length is the one genesis stores for vesting (`vesting.month_seconds`); every module that counts days,
months or years reads it through here so they all agree.
"""

from __future__ import annotations

from runtime.overlay import Overlay

from ..vesting import storage as vesting

DAYS_PER_MONTH = 30
DAYS_PER_YEAR = 365


def month_ms(state: Overlay) -> int:
    return vesting.month_seconds.get(state) * 1000


def day_ms(state: Overlay) -> int:
    """One day: month_seconds / 30, in milliseconds (86,400,000 with the default 30-day month)."""
    return month_ms(state) // DAYS_PER_MONTH


def year_ms(state: Overlay) -> int:
    """One year of 365 days."""
    return DAYS_PER_YEAR * day_ms(state)
