"""The shared head feed: a block's events are rendered once however many subscribe, import only notes the block,
and a connection that closes leaves the feed (and the node's listeners) as it found them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc import subscriptions

from .harness import UNIT, RpcHarness


async def _recv(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=10)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


@pytest.mark.asyncio
async def test_a_blocks_events_are_rendered_once_for_every_subscriber(rpc: RpcHarness,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[Any] = []
    real = subscriptions.render_event_record

    def counting(record: Any, render: Any) -> dict[str, Any]:
        rendered.append(record)
        return real(record, render)

    monkeypatch.setattr(subscriptions, "render_event_record", counting)
    sockets = [await rpc.session.ws_connect(rpc.url) for _ in range(3)]
    try:
        for ws in sockets:
            for i in range(5):
                await ws.send_json({"jsonrpc": "2.0", "id": i, "method": "btt_subscribeEvents"})
                assert "result" in await _recv(ws)
                assert (await _recv(ws))["method"] == "btt_newEvents"  # the head's events, first
        rendered.clear()
        for nonce in range(3):
            xt = rpc.sign(rpc.alice, "balances.transfer_allow_death", dev_keypair("bob").public, UNIT, nonce=nonce)
            rpc.node.submit_extrinsic(xt.encode())
        imported = rpc.author_block()
        assert rendered == []  # import only noted the block
        events = len(rpc.node.chain.db.block_meta(imported.hash).events)  # type: ignore[union-attr]
        for ws in sockets:
            notes = [await _recv(ws) for _ in range(5)]
            assert {n["params"]["result"]["blockHash"] for n in notes} == {"0x" + imported.hash.hex()}
            assert all(len(n["params"]["result"]["events"]) == events for n in notes)
        assert len(rendered) == events, "15 subscriptions, one rendering"
    finally:
        for ws in sockets:
            await ws.close()


@pytest.mark.asyncio
async def test_closing_subscribers_leave_no_listener_behind(rpc: RpcHarness) -> None:
    before = list(rpc.node._head_listeners)
    async with rpc.session.ws_connect(rpc.url) as ws:
        for method in ("chain_subscribeNewHeads", "btt_subscribeEvents", "chain_subscribeFinalizedHeads"):
            await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": method})
            assert "result" in await _recv(ws)
            await _recv(ws)
        assert len(rpc.node._head_listeners) == len(before) + 1  # one feed, whatever the subscriptions
    for _ in range(100):
        if rpc.node._head_listeners == before:
            break
        await asyncio.sleep(0.02)
    assert rpc.node._head_listeners == before
    rpc.author_block()


@pytest.mark.asyncio
async def test_an_events_notification_is_bounded_and_says_what_it_left_out(rpc: RpcHarness,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subscriptions, "EVENTS_PER_NOTIFICATION", 3)
    monkeypatch.setattr(subscriptions, "RENDER_SLICE", 2)
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "btt_subscribeEvents"})
        assert "result" in await _recv(ws)
        await _recv(ws)
        for nonce in range(4):
            xt = rpc.sign(rpc.alice, "balances.transfer_allow_death", dev_keypair("bob").public, UNIT, nonce=nonce)
            rpc.node.submit_extrinsic(xt.encode())
        imported = rpc.author_block()
        result = (await _recv(ws))["params"]["result"]
        total = len(rpc.node.chain.db.block_meta(imported.hash).events)  # type: ignore[union-attr]
        assert total > 3
        assert result["eventCount"] == total and result["complete"] is False and len(result["events"]) == 3
        rest = await rpc.call("btt_events", "0x" + imported.hash.hex(), None, 3, 500)
        assert len(rest) == total - 3  # the rest, a page away
