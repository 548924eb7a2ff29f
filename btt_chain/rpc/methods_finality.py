"""Finality RPC method: `btt_finality`, what the finality rules hold at this node now: the finalized checkpoint, the
justified ones the fork choice starts from, the votes waiting for their blocks, and the finality alarm. See
`btt_chain.consensus.finality` and `btt_chain.node.finality_service`."""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.vote import Checkpoint
from btt_chain.rpc.registry import REGISTRY, RpcContext

method = REGISTRY.method

MAX_JUSTIFIED_SHOWN = 64
"""The latest justified checkpoints listed (there is one per epoch since the finalized one)."""


def _checkpoint(ctx: RpcContext, cp: Checkpoint) -> dict[str, Any]:
    header = ctx.node.chain.db.get_header(cp.block_hash)
    return {"epoch": cp.epoch, "hash": "0x" + cp.block_hash.hex(), "number": None if header is None else header.number}


@method("btt_finality")
def btt_finality(ctx: RpcContext) -> dict[str, Any]:
    """{finalized, justified (oldest first, the latest 64), anchor (the checkpoint the fork choice starts from),
    heldVotes, heldJustifications, conflict (null, or the finality alarm: both checkpoints, the offenders' session
    keys, a message)}."""
    finality = ctx.node.finality
    tracker = finality.tracker
    chain = ctx.node.chain
    justified = [tracker.state.justified[e] for e in sorted(tracker.state.justified)][-MAX_JUSTIFIED_SHOWN:]
    conflict = finality.conflict
    return {
        "finalized": _checkpoint(ctx, tracker.finalized),
        "justified": [_checkpoint(ctx, cp) for cp in justified],
        "anchor": _checkpoint(ctx, chain.anchor),
        "heldVotes": tracker.unresolved_votes,
        "heldJustifications": tracker.unresolved_justifications,
        "conflict": None if conflict is None else {
            "finalized": _checkpoint(ctx, conflict.finalized),
            "conflicting": _checkpoint(ctx, conflict.conflicting),
            "offenders": ["0x" + key.hex() for key in sorted(conflict.offenders())],
            "message": conflict.describe(),
        },
    }
