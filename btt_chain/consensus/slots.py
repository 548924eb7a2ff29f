"""Slot arithmetic: slot 0 is genesis; slot s starts at genesis_time + s * slot_ms, which is the block's timestamp."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SlotClock:
    genesis_time_ms: int
    slot_ms: int
    epoch_slots: int
    max_drift_ms: int

    def slot_at(self, now_ms: int) -> int:
        return max(0, (now_ms - self.genesis_time_ms) // self.slot_ms)

    def slot_start_ms(self, slot: int) -> int:
        return self.genesis_time_ms + slot * self.slot_ms

    def epoch_of(self, slot: int) -> int:
        return slot // self.epoch_slots

    def is_too_far_ahead(self, slot: int, now_ms: int) -> bool:
        """A block may not claim a slot that starts later than now plus the allowed drift."""
        return self.slot_start_ms(slot) > now_ms + self.max_drift_ms
