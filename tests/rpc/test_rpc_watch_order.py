"""A watched transaction's notifications never come before the response that names their subscription: a block
imported between the call and its response (the node's other tasks run while the response waits its turn) is told
after the subscription id and the first status, in order. A client that drops notifications of an id it does not
know yet (as `btt-chain`'s own did) would otherwise wait for an inclusion already announced: seen once as `btt-chain
unstake` timing out after 60 s on a busy machine. The CLI's client keeps such early notifications too."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from runtime.modules import RUNTIME

from .harness import UNIT, RpcHarness


@pytest.mark.asyncio
async def test_a_block_imported_before_the_response_is_told_after_it(rpc: RpcHarness,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    chain = rpc.node.chain
    watches = rpc.node.extrinsic_watches
    watch = watches.watch

    def watch_then_import(xt_hash: bytes, outbox: Any) -> str:
        sub = watch(xt_hash, outbox)
        rpc.author_block()  # the block that includes it, imported before the response is queued
        return sub

    monkeypatch.setattr(watches, "watch", watch_then_import)
    bob = dev_keypair("bob")
    xt = sign_extrinsic(bob, RUNTIME.call("balances.transfer_allow_death", dev_keypair("dave").public, UNIT),
                        rpc.node.next_account_index(bob.public), chain.genesis_hash, RUNTIME.spec_version)
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "author_submitAndWatchExtrinsic",
                            "params": ["0x" + xt.encode().hex()]})
        first = await asyncio.wait_for(ws.receive_json(), 10)
        assert first.get("id") == 1, first  # the response first
        sub = first["result"]
        statuses = []
        while len(statuses) < 2:
            msg = await asyncio.wait_for(ws.receive_json(), 10)
            assert msg["params"]["subscription"] == sub
            statuses.append(msg["params"]["result"])
        assert statuses == ["ready", {"inBlock": "0x" + chain.head_hash.hex()}]


def test_the_cli_client_keeps_a_notification_that_comes_before_its_subscription_id() -> None:
    from btt_chain.client import watch as client_watch

    messages = [
        {"jsonrpc": "2.0", "method": "author_extrinsicUpdate", "params": {"subscription": "ab", "result": "ready"}},
        {"jsonrpc": "2.0", "method": "author_extrinsicUpdate",
         "params": {"subscription": "ab", "result": {"inBlock": "0x01"}}},
        {"jsonrpc": "2.0", "id": 1, "result": "ab"},
    ]
    assert client_watch.first_inclusion(messages) == ("ab", "0x01")
    assert client_watch.first_inclusion(messages[:2]) is None  # not ours until the id is known
