"""RPC: btt_checkpoint (the node's trusted checkpoint and whether its chain has reached it; null without one)."""

from __future__ import annotations

import pytest

from btt_chain.node.checkpoint import CheckpointGuard
from genesis.spec import TrustedCheckpoint

from .harness import RpcHarness


@pytest.mark.asyncio
async def test_btt_checkpoint_is_null_without_one_and_reports_one_when_set(rpc: RpcHarness) -> None:
    assert "btt_checkpoint" in (await rpc.call("btt_rpcMethods"))["methods"]
    assert await rpc.call("btt_checkpoint") is None
    block = rpc.author_block()
    chain = rpc.node.chain
    # what `--checkpoint` installs at start; here on the running node's chain, which already holds the block
    rpc.node.checkpoint = CheckpointGuard(chain, TrustedCheckpoint(block.hash, 1), "--checkpoint", 1, rpc.node.now_ms)
    rpc.node.checkpoint.install()
    assert await rpc.call("btt_checkpoint") == {
        "hash": "0x" + block.hash.hex(), "number": 1, "source": "--checkpoint", "reached": True,
    }
    assert chain.finalized_hash == block.hash
