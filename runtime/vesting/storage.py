"""Storage of the vesting module: each account's schedules, and the genesis month/year lengths."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, U64, ListOf, Nested

from ..items import StorageMap, StorageValue
from ..vesting.types import VestingSchedule

M = "vesting"

MAX_SCHEDULES_STORED = 32
"""Hard ceiling of the list codec; the `vesting.max_schedules` parameter stays inside it."""

schedules: StorageMap[tuple[VestingSchedule, ...]] = StorageMap(
    M, "schedules", ListOf(Nested(VestingSchedule), MAX_SCHEDULES_STORED), default=(), key_types=(ACCOUNT,)
)
"""Account -> its schedules, oldest first. An account without an entry is not vesting."""
month_seconds: StorageValue[int] = StorageValue(M, "month_seconds", U64, default=2_592_000)
"""Length of a month in seconds as the genesis defines it (a devnet may shorten it)."""
year_seconds: StorageValue[int] = StorageValue(M, "year_seconds", U64, default=31_536_000)
