"""A watched mortal transaction that no block takes before its era ends is reported `invalid` as soon as the next
block can no longer include it, through the node's own pool wiring (`Node.pool`, told the next block number): a wallet
watching it learns to sign again, instead of waiting on "ready" for ever (the `upgrade` testnet's transfer to a
still-syncing node)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from btt_chain.primitives.extrinsic import Era, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from runtime.modules import RUNTIME

from .harness import UNIT, RpcHarness


async def _update(ws: Any, sub: str) -> Any:
    while True:
        msg = await asyncio.wait_for(ws.receive_json(), 10)
        if msg.get("method") == "author_extrinsicUpdate" and msg["params"]["subscription"] == sub:
            return msg["params"]["result"]


@pytest.mark.asyncio
async def test_a_watched_transaction_whose_era_ends_is_reported_invalid_at_that_block(rpc: RpcHarness) -> None:
    chain = rpc.node.chain
    rpc.author_block()
    bob = dev_keypair("bob")
    head = chain.head.number
    era = Era.mortal(4, head)
    # a nonce two ahead: future, so no block takes it while it lives
    xt = sign_extrinsic(bob, RUNTIME.call("balances.transfer_allow_death", dev_keypair("dave").public, UNIT),
                        rpc.node.next_account_index(bob.public) + 2, chain.genesis_hash, RUNTIME.spec_version,
                        era=era, birth_hash=chain.head_hash)
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "author_submitAndWatchExtrinsic",
                            "params": ["0x" + xt.encode().hex()]})
        sub = (await ws.receive_json())["result"]
        assert await _update(ws, sub) == "future"
        last = era.birth(head) + era.period - 1  # the last block its era covers
        while True:
            rpc.author_block()  # nothing for it: its nonce is still ahead
            if chain.head.number + 1 > last:
                break  # the next block cannot include it
            assert xt.hash() in rpc.node.pool, chain.head.number  # alive while the next block still could
        assert await _update(ws, sub) == "invalid"
        assert chain.head.number == last  # told as soon as the head reached its era's last block, not later
        assert xt.hash() not in rpc.node.pool
        pending = await rpc.call("author_pendingExtrinsics")
        assert "0x" + xt.encode().hex() not in pending
