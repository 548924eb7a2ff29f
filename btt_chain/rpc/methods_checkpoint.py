"""Checkpoint RPC method: `btt_checkpoint` (the node's trusted checkpoint, where it came from, and whether the
chain has reached it; null when the node has none). See `btt_chain.node.checkpoint`."""

from __future__ import annotations

from typing import Any

from btt_chain.rpc.registry import REGISTRY, RpcContext

method = REGISTRY.method


@method("btt_checkpoint")
def btt_checkpoint(ctx: RpcContext) -> dict[str, Any] | None:
    """{hash, number, source ('--checkpoint' or 'the chain spec'), reached} or null."""
    return ctx.node.checkpoint.describe()
