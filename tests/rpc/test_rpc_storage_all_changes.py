"""`state_subscribeStorage` with no keys (null, left out, or []) is Substrate's subscription to every change (issue
53: it was refused): no first notification, then for each new block every key it changed with its new value (null:
removed), in key order, System.Digest and System.Events included, at most `CHANGES_PER_NOTIFICATION` changes a
notification (a block with more comes as several notifications of the same block, nothing lost, nothing twice).
Through the WebSocket of an in-process dev node."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from btt_chain.node.chain import ImportedBlock
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc import subscriptions, virtual_storage
from btt_chain.rpc.subscriptions import block_changes
from runtime.system import storage as system

from .harness import UNIT, RpcHarness

BOB = dev_keypair("bob")


def hx(data: bytes) -> str:
    return "0x" + data.hex()


async def recv(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=30)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


def expected(rpc: RpcHarness, imported: ImportedBlock) -> list[list[str | None]]:
    """Every key the block's execution changed, with the head state's value, then the block's Digest and Events."""
    assert imported.result is not None
    state = rpc.node.chain.db.state
    out: list[list[str | None]] = []
    for key in sorted(imported.result.changes):
        value = state.get(key)
        out.append([hx(key), None if value is None else hx(value)])
    extra = virtual_storage.virtual_storage(rpc.node.chain)
    for key in (virtual_storage.DIGEST_KEY, virtual_storage.EVENTS_KEY):
        out.append([hx(key), hx(extra.get(key, imported.hash))])  # type: ignore[arg-type]
    return out


async def transfer_block(rpc: RpcHarness) -> ImportedBlock:
    xt = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, UNIT)
    await rpc.call("author_submitExtrinsic", hx(xt.encode()))
    return rpc.author_block()


async def subscribe(ws: aiohttp.ClientWebSocketResponse, params: list[Any] | None, request_id: int = 1) -> str:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": "state_subscribeStorage"}
    if params is not None:
        message["params"] = params
    await ws.send_json(message)
    reply = await recv(ws)
    assert reply["id"] == request_id and "result" in reply, reply
    return str(reply["result"])


@pytest.mark.asyncio
@pytest.mark.parametrize("params", [[None], [[]], [], None], ids=["null", "empty list", "no params", "params left out"])
async def test_no_keys_means_every_change_of_each_new_block(rpc: RpcHarness, params: list[Any] | None) -> None:
    async with rpc.session.ws_connect(rpc.url) as ws:
        sub = await subscribe(ws, params)
        imported = await transfer_block(rpc)  # no first notification: the first one is this block's
        note = await recv(ws)
        assert note["method"] == "state_storage" and note["params"]["subscription"] == sub
        result = note["params"]["result"]
        assert result["block"] == hx(imported.hash)
        assert result["changes"] == expected(rpc, imported)
        keys = [k for k, _ in result["changes"]]
        assert hx(system.account.key(BOB.public)) in keys and hx(system.account.key(rpc.alice.public)) in keys
        empty = rpc.author_block()  # a block with no extrinsic still changes keys (its number, digest, ...)
        assert (await recv(ws))["params"]["result"] == {"block": hx(empty.hash), "changes": expected(rpc, empty)}


@pytest.mark.asyncio
async def test_a_block_with_more_changes_comes_in_several_notifications(
    rpc: RpcHarness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(subscriptions, "CHANGES_PER_NOTIFICATION", 4)
    async with rpc.session.ws_connect(rpc.url) as ws:
        sub = await subscribe(ws, [None])
        imported = await transfer_block(rpc)
        whole = expected(rpc, imported)
        assert len(whole) > 8
        parts = [await recv(ws) for _ in range((len(whole) + 3) // 4)]
        assert {p["params"]["subscription"] for p in parts} == {sub}
        assert {p["params"]["result"]["block"] for p in parts} == {hx(imported.hash)}
        assert all(1 <= len(p["params"]["result"]["changes"]) <= 4 for p in parts)
        assert [c for p in parts for c in p["params"]["result"]["changes"]] == whole  # all, once, in key order
        await ws.send_json({"jsonrpc": "2.0", "id": 9, "method": "system_health", "params": []})
        assert (await recv(ws))["id"] == 9  # nothing more of that block came before the answer


@pytest.mark.asyncio
async def test_every_change_subscriptions_beside_keyed_ones_and_unsubscribed(rpc: RpcHarness) -> None:
    bob_key = system.account.key(BOB.public)
    async with rpc.session.ws_connect(rpc.url) as ws:
        everything = await subscribe(ws, [None], 1)
        keyed = await subscribe(ws, [[hx(bob_key)]], 2)
        first = await recv(ws)  # the keyed one's first notification: bob's value now
        assert first["params"]["subscription"] == keyed
        imported = await transfer_block(rpc)
        notes = {n["params"]["subscription"]: n["params"]["result"] for n in [await recv(ws), await recv(ws)]}
        assert notes[everything]["changes"] == expected(rpc, imported)
        assert notes[keyed]["changes"] == [[hx(bob_key), hx(rpc.node.chain.db.state.get(bob_key))]]  # type: ignore
        for request_id, (method, params, answer) in enumerate([
            ("state_unsubscribeStorage", [everything], True),
            ("state_unsubscribeStorage", [everything], False),  # once only
            ("chain_unsubscribeNewHeads", [keyed], False),  # a storage subscription is not a head one
        ], start=10):
            await ws.send_json({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
            assert (await recv(ws))["result"] is answer
        await transfer_block(rpc)
        note = await recv(ws)
        assert note["params"]["subscription"] == keyed  # the keyed one goes on; the other sends nothing more
        await ws.send_json({"jsonrpc": "2.0", "id": 20, "method": "system_health", "params": []})
        assert (await recv(ws))["id"] == 20


@pytest.mark.asyncio
async def test_the_changes_read_back_from_the_journals_are_those_of_the_execution(rpc: RpcHarness) -> None:
    imported = await transfer_block(rpc)
    assert imported.result is not None
    node = rpc.node
    from_execution = block_changes(node, imported.hash, imported.result.changes)
    assert block_changes(node, imported.hash, None) == from_execution  # the head: its undo journal's keys, read
    later = rpc.author_block()
    assert block_changes(node, imported.hash, None) == []  # no longer the head, never retracted: not known here
    assert [k for k, _ in block_changes(node, later.hash, None)] == [bytes.fromhex(k[2:])
                                                                       for k, _ in expected(rpc, later)]
