"""Upgrade RPC method: `btt_upgrade`, where the chain's spec stands at a block (issue 50: the explorer, RPC and CLI
show a scheduled upgrade).

    {"blockNumber", "blockHash",
     "specVersion":   the spec that ran the block (`runtime.specs.running_spec`),
     "nextBlockSpec": the spec that runs its child (the runtime *at* the block, `runtime_info`),
     "scheduled":     {"spec", "at", "blocksToGo" (from this block), "supported" (can this node run it)} or null,
     "migration":     {"spec", "index", "items", "since"} while an upgrade's migrations span blocks, or null,
     "supported":     the specs this node runs (`runtime.specs.supported`)}

Three reads of the block's state, whatever the chain: `system.spec_version`, `system.scheduled_spec` and
`system.migration`, beside its number.
"""

from __future__ import annotations

from typing import Any

from btt_chain.rpc import params as p
from btt_chain.rpc.at import reader_at
from btt_chain.rpc.registry import REGISTRY, RpcContext, optional
from btt_chain.rpc.render import hex0x
from runtime.overlay import Overlay
from runtime.specs import running_spec, scheduled_spec, spec_for_block, supported
from runtime.system import storage as system

method = REGISTRY.method


@method("btt_upgrade", optional("at", p.block_hash))
def btt_upgrade(ctx: RpcContext, at: bytes | None) -> dict[str, Any]:
    """The spec at the block `at` (default the head), the one its child runs, the upgrade scheduled and not yet in
    effect (null if none), the migrations under way (null if none) and the specs this node runs (module docstring)."""
    block_hash, header, reader = reader_at(ctx, at)
    state = Overlay(reader)
    runs = supported()
    scheduled = scheduled_spec(state)
    migration = system.migration.get(state)
    return {
        "blockNumber": header.number,
        "blockHash": hex0x(block_hash),
        "specVersion": running_spec(state),
        "nextBlockSpec": spec_for_block(state, header.number + 1),
        "scheduled": None if scheduled is None else {
            "spec": scheduled.spec, "at": scheduled.at, "blocksToGo": max(scheduled.at - header.number, 0),
            "supported": scheduled.spec in runs,
        },
        "migration": None if migration is None else {
            "spec": migration.spec, "index": migration.index, "items": migration.items, "since": migration.since,
        },
        "supported": list(runs),
    }
