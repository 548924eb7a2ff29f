"""Slot arithmetic: slot 0 is genesis; slot s starts at genesis_time + s * slot_ms, which is the block's timestamp.

And when a block may be imported by this node's clock. A block may not claim a slot that starts later than the local
clock plus the chain spec's `max_drift_ms`. One that does is not judged for it: two honest clocks can disagree by more
than that (a machine without NTP drifts by a second in days). Such a block is *early* when it is at most
`HOLD_AHEAD_MS` beyond the allowance: the node holds it and imports it when its slot is due by the local clock. One
further ahead is *far*: dropped, and its sender loses a little score (nobody's clock is that far off by accident).

Substrate's Aura and BABE accept a header one slot ahead ("to allow for some small drift") and refuse later ones
without holding them (their FIXME #1019 asks for deferral, which is what we do); `pallet_timestamp` accepts a block
timestamp up to 30 s (`MAX_TIMESTAMP_DRIFT_MILLIS`) ahead of the importer's clock, and its older Aura import queue
slept until such a block's time came. `HOLD_AHEAD_MS` is that 30 s.
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.block import Header
from btt_chain.primitives.errors import BttError

HOLD_AHEAD_MS = 30_000
"""How far beyond the drift allowance a block may claim its slot and still be held (node policy, not a consensus
rule: it decides only whether an early block waits here or is dropped)."""


class BlockFromFuture(BttError):
    """The block's slot is not due yet by this node's clock; it was not judged (it may be held until its slot)."""

    def __init__(self, header: Header, early_ms: int) -> None:
        self.header = header
        self.early_ms = early_ms
        """How long until the block may be imported by the local clock (slot start - drift allowance - now), > 0."""
        super().__init__(f"block #{header.number} claims slot {header.slot}, due in {early_ms} ms by our clock")

    @property
    def is_far(self) -> bool:
        """Beyond any plausible clock drift: not worth holding."""
        return self.early_ms > HOLD_AHEAD_MS


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

    def due_ms(self, slot: int) -> int:
        """The local time from which a block of `slot` may be imported: its start less the drift allowance."""
        return self.slot_start_ms(slot) - self.max_drift_ms

    def early_by_ms(self, slot: int, now_ms: int) -> int:
        """How long before a block of `slot` is due at `now_ms` (0: due now)."""
        return max(0, self.due_ms(slot) - now_ms)

    def is_too_far_ahead(self, slot: int, now_ms: int) -> bool:
        """A block may not claim a slot that starts later than now plus the allowed drift."""
        return self.slot_start_ms(slot) > now_ms + self.max_drift_ms
