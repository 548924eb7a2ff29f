"""System-module rules: block initialisation and the recent-hash window."""

from __future__ import annotations

from runtime.context import CallContext

from ..system import storage

BLOCK_HASH_COUNT = 2400
"""How many recent block hashes are kept: the longest mortality period an extrinsic may use."""


def on_initialize(ctx: CallContext) -> None:
    env = ctx.env
    storage.number.put(ctx.state, env.number)
    storage.slot.put(ctx.state, env.slot)
    storage.timestamp_ms.put(ctx.state, env.timestamp_ms)
    storage.block_hash.put(ctx.state, env.number - 1, env.parent_hash)
    stale = env.number - 1 - BLOCK_HASH_COUNT
    # block 0 (genesis) stays: immortal extrinsics sign over it
    if stale > 0:
        storage.block_hash.remove(ctx.state, stale)
