"""Genesis of the vesting module: allocation schedules, and the genesis month and year lengths."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.overlay import Overlay

from ..system import storage as system
from ..vesting import storage
from ..vesting.types import VestingSchedule, compute_locked, is_valid_schedule


@dataclass(frozen=True)
class GenesisVesting:
    account: bytes
    schedule: VestingSchedule


def build_vesting_genesis(
    state: Overlay, entries: tuple[GenesisVesting, ...], genesis_time_ms: int, month_seconds: int, year_seconds: int
) -> None:
    """Store every schedule and set each holder's frozen balance to what its schedules lock at genesis.

    Raises ValueError for a schedule out of order, an unknown holder, or a lock above the holder's balance."""
    storage.month_seconds.put(state, month_seconds)
    storage.year_seconds.put(state, year_seconds)
    by_account: dict[bytes, list[VestingSchedule]] = {}
    for e in entries:
        if not is_valid_schedule(e.schedule):
            raise ValueError(f"vesting schedule of {e.account.hex()} is invalid: {e.schedule}")
        by_account.setdefault(e.account, []).append(e.schedule)
    for who, schedules in by_account.items():
        if len(schedules) > storage.MAX_SCHEDULES_STORED:
            raise ValueError(f"account {who.hex()} has more than {storage.MAX_SCHEDULES_STORED} vesting schedules")
        if not system.account.contains(state, who):
            raise ValueError(f"vesting schedule for {who.hex()}, which has no genesis balance")
        acc = system.account.get(state, who)
        locked = sum(compute_locked(s, genesis_time_ms) for s in schedules)
        if locked > acc.free:
            raise ValueError(f"vesting schedules of {who.hex()} lock {locked}, more than its balance {acc.free}")
        storage.schedules.put(state, who, tuple(schedules))
        system.account.put(state, who, acc.replace(frozen=locked))
