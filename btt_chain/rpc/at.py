"""The state an RPC call reads: at the head, or at an earlier canonical block given by its `at` hash (served
within the node's `--state-pruning` window through `btt_chain.node.pruning`)."""

from __future__ import annotations

from btt_chain.node.pruning import StateUnavailable, state_at
from btt_chain.primitives.block import Header
from btt_chain.rpc.errors import invalid_params, unknown_block
from btt_chain.rpc.registry import RpcContext
from runtime.overlay import Overlay, StateReader


def reader_at(ctx: RpcContext, at: bytes | None) -> tuple[bytes, Header, StateReader]:
    """(block hash, header, state reader) of the block `at` (None: the head); a clear -32602 if not served (for a
    block this node does not know, `errors.unknown_block`)."""
    chain = ctx.node.chain
    if at is None or at == chain.head_hash:
        return chain.head_hash, chain.head, chain.db.state
    if chain.db.get_header(at) is None:
        raise unknown_block(at, chain.db.warp_base())
    try:
        header, reader = state_at(chain.db, chain.head, at, ctx.node.config.state_pruning)
    except StateUnavailable as exc:
        raise invalid_params(str(exc)) from None
    return at, header, reader


def state_view(ctx: RpcContext, at: bytes | None) -> Overlay:
    """An Overlay over the state at `at` (None: the head), so the runtime's storage items read it as usual."""
    return Overlay(reader_at(ctx, at)[2])
