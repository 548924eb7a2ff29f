"""Storage of the timestamp module."""

from __future__ import annotations

from btt_chain.primitives.codec import BOOL, U64

from ..items import StorageValue

M = "timestamp"

now: StorageValue[int] = StorageValue(
    M, "now", U64, default=0, doc="The time of the current block in ms since the Unix epoch: the start of its slot."
)
"""Set by each block's `timestamp.set` inherent (FRAME's `Timestamp::Now`; indexers read block times from it). The
same value as `System.TimestampMs`, which block initialisation sets for the hooks that run before any extrinsic."""

did_update: StorageValue[bool] = StorageValue(
    M, "did_update", BOOL, default=False, doc="Whether the timestamp was set in this block (cleared at block end)."
)
"""True between the block's `timestamp.set` and its end: one and only one per block."""
