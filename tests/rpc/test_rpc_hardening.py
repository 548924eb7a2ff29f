"""RPC under attack (issue 13), each attack asserting that it fails: pages from other origins, reply
amplification, connection floods from one address, clients that vanish mid-request, and silent loss of a
submitted transaction (author_submitAndWatchExtrinsic reports every status)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any

import aiohttp
import pytest

from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc.cors import CorsPolicy
from btt_chain.rpc.protocol import Dispatcher

from .harness import UNIT, RpcHarness


def transfer_hex(rpc: RpcHarness, nonce: int, tip: int = 0, amount: int = UNIT) -> str:
    xt = rpc.sign(rpc.alice, "balances.transfer_allow_death", dev_keypair("bob").public, amount, nonce=nonce, tip=tip)
    return "0x" + xt.encode().hex()


# --- origins -------------------------------------------------------------------------------------------------


def test_the_cors_policy() -> None:
    default = CorsPolicy.default()
    assert default.allows(None)  # wallets and scripts send no Origin
    for ok in ("http://localhost:3000", "http://127.0.0.1", "https://localhost:8443"):
        assert default.allows(ok), ok
    for bad in ("http://evil.example", "http://localhost.evil.example", "null", "file://", "http://127.0.0.2"):
        assert not default.allows(bad), bad
    listed = CorsPolicy.parse("https://explorer.example, http://dash.example:8080")
    assert listed.allows("https://explorer.example") and listed.allows("http://dash.example:8080")
    assert not listed.allows("http://localhost:3000") and not listed.allows("https://explorer.example:444")
    assert CorsPolicy.parse("all").allows("http://evil.example")
    for bad in ("evil.example", "ftp://x", "https://x/path"):
        with pytest.raises(ConfigError, match="--rpc-cors"):
            CorsPolicy.parse(bad)


@pytest.mark.asyncio
async def test_a_page_from_another_origin_cannot_drive_the_node(rpc: RpcHarness) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "system_health"}
    async with rpc.session.post(rpc.url, json=body, headers={"Origin": "http://evil.example"}) as resp:
        assert resp.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with rpc.session.ws_connect(rpc.url, headers={"Origin": "http://evil.example"}):
            pass
    assert refused.value.status == 403
    async with rpc.session.post(rpc.url, json=body, headers={"Origin": "http://localhost:3000"}) as resp:
        assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    async with rpc.session.ws_connect(rpc.url, headers={"Origin": "http://127.0.0.1:8080"}) as ws:
        await ws.send_json(body)
        assert (await ws.receive_json())["result"]["isSyncing"] is False


# --- amplification and floods --------------------------------------------------------------------------------


def test_a_batch_reply_is_bounded_whatever_the_calls() -> None:
    from btt_chain.rpc.registry import Registry, RpcContext

    registry = Registry()

    @registry.method("big")
    def big(ctx: RpcContext) -> str:
        return "x" * 3000

    dispatcher = Dispatcher(registry, max_response=10_000)
    ctx = RpcContext(node=None)  # type: ignore[arg-type]
    batch = json.dumps([{"jsonrpc": "2.0", "id": i, "method": "big"} for i in range(100)])
    reply = asyncio.run(dispatcher.handle_async(batch, ctx))
    assert reply is not None and len(reply) < 10_000 + 3_200 + 100 * 200  # errors for the rest are small
    answers = json.loads(reply)
    assert len(answers) == 100
    assert sum("result" in a for a in answers) == 3
    assert all(a["error"]["code"] == -32000 and "limit" in a["error"]["message"] for a in answers[3:])
    single = Dispatcher(registry, max_response=1_000)
    one = json.loads(asyncio.run(single.handle_async(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "big"}), ctx)))
    assert one["id"] == 7 and "ask for less" in one["error"]["message"]


@pytest.mark.asyncio
async def test_pending_extrinsics_come_in_pages(rpc: RpcHarness) -> None:
    for nonce in range(5):
        await rpc.call("author_submitExtrinsic", transfer_hex(rpc, nonce))
    assert len(await rpc.call("author_pendingExtrinsics")) == 5
    page = await rpc.call("author_pendingExtrinsics", 1, 2)
    assert page == (await rpc.call("author_pendingExtrinsics"))[1:3]
    await rpc.assert_raises_rpc_error(-32602, "limit", "author_pendingExtrinsics", 0, 100_000)


@pytest.mark.asyncio
async def test_one_address_cannot_hold_every_connection(rpc: RpcHarness) -> None:
    rpc.server.max_per_ip = 4
    sockets = [await rpc.session.ws_connect(rpc.url) for _ in range(4)]
    try:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await rpc.session.ws_connect(rpc.url)
        assert refused.value.status == 429
        async with rpc.session.post(rpc.url, json={"jsonrpc": "2.0", "id": 1, "method": "system_health"}) as resp:
            assert resp.status == 429
    finally:
        for ws in sockets:
            await ws.close()
    await asyncio.sleep(0.05)
    assert (await rpc.call("system_health"))["isSyncing"] is False


@pytest.mark.asyncio
async def test_a_client_that_vanishes_mid_request_is_one_debug_line(rpc: RpcHarness, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    host, port = "127.0.0.1", rpc.server.port
    for _ in range(5):
        reader, writer = await asyncio.open_connection(host, port)
        body = b'[' + b",".join(b'{"jsonrpc":"2.0","id":1,"method":"state_getMetadata"}' for _ in range(50)) + b"]"
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        await writer.drain()
        writer.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        writer.close()
    await asyncio.sleep(0.5)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert (await rpc.call("system_health"))["isSyncing"] is False


# --- a submitted transaction is never lost silently ------------------------------------------------------------


async def _updates(ws: aiohttp.ClientWebSocketResponse, sub: str, until: set[str], timeout: float = 10) -> list[Any]:
    seen: list[Any] = []
    while True:
        msg = await asyncio.wait_for(ws.receive_json(), timeout)
        if msg.get("method") == "author_extrinsicUpdate" and msg["params"]["subscription"] == sub:
            result = msg["params"]["result"]
            seen.append(result)
            key = result if isinstance(result, str) else next(iter(result))
            if key in until:
                return seen


@pytest.mark.asyncio
async def test_submit_and_watch_reports_ready_then_in_block(rpc: RpcHarness) -> None:
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "author_submitAndWatchExtrinsic",
                            "params": [transfer_hex(rpc, 0)]})
        reply = await ws.receive_json()
        sub = reply["result"]
        assert await _updates(ws, sub, {"ready"}) == ["ready"]
        imported = rpc.author_block()
        updates = await _updates(ws, sub, {"inBlock"})
        assert updates == [{"inBlock": "0x" + imported.hash.hex()}]


@pytest.mark.asyncio
async def test_a_watched_transaction_that_is_replaced_or_evicted_is_told_so(rpc: RpcHarness) -> None:
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "author_submitAndWatchExtrinsic",
                            "params": [transfer_hex(rpc, 0, tip=1)]})
        sub = (await ws.receive_json())["result"]
        assert await _updates(ws, sub, {"ready"}) == ["ready"]
        await rpc.call("author_submitExtrinsic", transfer_hex(rpc, 0, tip=50))  # same nonce, higher tip
        assert await _updates(ws, sub, {"usurped"}) == ["usurped"]
        await ws.send_json({"jsonrpc": "2.0", "id": 2, "method": "author_submitAndWatchExtrinsic",
                            "params": [transfer_hex(rpc, 5)]})  # a nonce gap: future
        sub2 = (await ws.receive_json())["result"]
        assert await _updates(ws, sub2, {"future"}) == ["future"]


@pytest.mark.asyncio
async def test_submit_and_watch_needs_a_websocket_and_a_valid_transaction(rpc: RpcHarness) -> None:
    await rpc.assert_raises_rpc_error(-32601, "WebSocket", "author_submitAndWatchExtrinsic", transfer_hex(rpc, 0))
    async with rpc.session.ws_connect(rpc.url) as ws:
        bad = rpc.sign(rpc.alice, "balances.transfer_allow_death",
                       dev_keypair("bob").public, UNIT).replace(signature=bytes(64))
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "author_submitAndWatchExtrinsic",
                            "params": ["0x" + bad.encode().hex()]})
        reply = await ws.receive_json()
        assert reply["error"]["code"] == 1010 and "bad signature" in reply["error"]["data"]


@pytest.mark.asyncio
async def test_the_wallet_reports_a_dropped_transaction_instead_of_waiting_in_silence(rpc: RpcHarness) -> None:
    from btt_chain.client.watch import TransactionDropped, submit_and_watch

    loop = asyncio.get_running_loop()
    watched = loop.run_in_executor(None, submit_and_watch, rpc.url, transfer_hex(rpc, 0, tip=1), 20)
    for _ in range(100):
        if len(rpc.node.pool):
            break
        await asyncio.sleep(0.05)
    await rpc.call("author_submitExtrinsic", transfer_hex(rpc, 0, tip=99))  # usurps it
    with pytest.raises(TransactionDropped, match="usurped"):
        await watched
    included = loop.run_in_executor(None, submit_and_watch, rpc.url, transfer_hex(rpc, 1), 20)
    for _ in range(100):
        if len(rpc.node.pool) == 2:
            break
        await asyncio.sleep(0.05)
    block = rpc.author_block()
    assert await included == "0x" + block.hash.hex()


def test_a_stepwise_answer_is_encoded_inside_a_unit_of_the_lane() -> None:
    """Each step of a method worked out in steps is a unit of the runner (the server's lane), and so is the encoding of
    its answer (500 rendered events are ~100 KB of JSON): nothing of the call runs on the event loop between units."""
    from collections.abc import Generator

    from btt_chain.rpc import protocol
    from btt_chain.rpc.registry import Registry, RpcContext, Stepwise

    registry = Registry()
    stepped: list[int] = []

    def steps() -> Generator[None, None, list[int]]:
        for i in range(3):
            stepped.append(i)
            yield
        return list(range(1000))

    @registry.method("stepped")
    def stepped_method(ctx: RpcContext) -> Stepwise:
        return Stepwise(steps())

    units: list[str] = []
    encoded: list[int] = []
    real_result = protocol._result

    def counted_result(request_id: Any, result: Any) -> str:
        encoded.append(len(units))
        return real_result(request_id, result)

    async def run(fn: Any) -> Any:
        units.append(getattr(fn, "__name__", type(fn).__name__))
        before = len(encoded)
        out = fn()
        if len(encoded) > before:
            units[-1] = "encode"
        return out

    protocol._result = counted_result  # type: ignore[assignment]
    try:
        reply = asyncio.run(Dispatcher(registry).handle_async(
            json.dumps({"jsonrpc": "2.0", "id": 1, "method": "stepped"}), RpcContext(node=None), run))  # type: ignore[arg-type]
    finally:
        protocol._result = real_result  # type: ignore[assignment]
    assert reply is not None and json.loads(reply)["result"] == list(range(1000))
    assert stepped == [0, 1, 2]
    assert units[-1] == "encode" and encoded == [len(units)]  # the answer encoded inside the last unit
