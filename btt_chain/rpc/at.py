"""The state an RPC call reads: at the head, or at an earlier canonical block given by its `at` hash (served
within the node's `--state-pruning` window through `btt_chain.node.pruning`).

The window counts back from the finalized head, as Substrate's `--state-pruning N` does (the last N finalized blocks,
and every block after the finalized head): Substrate API Sidecar and the indexers read at the finalized head by
default, which on btt-21m (600-slot epochs of 6 s, final one to two epochs behind) is 600 to 1,200 blocks back,
beyond a window counted from the head. The work of one read stays bounded by `pruning.VIEW_KEYS`."""

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
        header, reader = state_at(chain.db, chain.head, at, window(ctx))
    except StateUnavailable as exc:
        raise invalid_params(str(exc)) from None
    return at, header, reader


def window(ctx: RpcContext) -> int | None:
    """Blocks back from the head whose state is served: `--state-pruning N` below the finalized head, every block
    above it (None: every block, an archive node)."""
    keep = ctx.node.config.state_pruning
    if keep is None:
        return None
    chain = ctx.node.chain
    return keep + max(0, chain.head.number - chain.finalized.number)


def state_view(ctx: RpcContext, at: bytes | None) -> Overlay:
    """An Overlay over the state at `at` (None: the head), so the runtime's storage items read it as usual."""
    return Overlay(reader_at(ctx, at)[2])
