"""Substrate's `system_` methods about the node rather than the chain: `system_nodeRoles`, `system_syncState` and
`system_reservedPeers`, in the shapes of polkadot-sdk `substrate/client/rpc-api/src/system/` (`NodeRole`,
`SyncState {startingBlock, currentBlock, highestBlock}`). Each reads a few fields of the node: no storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from btt_chain.rpc.registry import REGISTRY, RpcContext

if TYPE_CHECKING:
    from btt_chain.node.service import Node

method = REGISTRY.method

_STARTING_BLOCK: WeakKeyDictionary[Node, int] = WeakKeyDictionary()


def note_start(node: Node) -> int:
    """The node's best block number when its RPC server started (Substrate's `startingBlock`: where this run's sync
    started); recorded the first time it is asked for, which the RPC server does when it starts."""
    known = _STARTING_BLOCK.get(node)
    if known is None:
        known = _STARTING_BLOCK[node] = node.chain.head.number
    return known


@method("system_nodeRoles")
def system_node_roles(ctx: RpcContext) -> list[str]:
    """`["Authority"]` for a node that authors blocks (it runs with a validator key), else `["Full"]`: every btt node
    keeps the full chain."""
    return ["Authority"] if ctx.node.authority else ["Full"]


@method("system_syncState")
def system_sync_state(ctx: RpcContext) -> dict[str, int]:
    """`startingBlock` (the best block when this run started), `currentBlock` (the best block now) and `highestBlock`
    (the highest best block a connected peer announced, or ours if higher)."""
    node = ctx.node
    current = node.chain.head.number
    network = node.network
    peers = network.peer_best.values() if network is not None else ()
    highest = max((status.best_number for status in peers), default=current)
    return {"startingBlock": note_start(node), "currentBlock": current, "highestBlock": max(highest, current)}


@method("system_reservedPeers")
def system_reserved_peers(ctx: RpcContext) -> list[str]:
    """The reserved peers' ids: none. btt has no reserved peers (its bootnodes are dialled, then treated as any
    other peer), so the answer is always empty."""
    return []
