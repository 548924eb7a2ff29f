"""WebSocket connections held against the node: idle sockets time out (pings do not count), a subscriber is not
idle, and when every slot is taken the busiest address gives one up rather than locking a newcomer out."""

from __future__ import annotations

import json

import aiohttp
import pytest

from .harness import RpcHarness


@pytest.mark.asyncio
async def test_an_idle_socket_is_closed_even_if_it_answers_pings(rpc: RpcHarness) -> None:
    rpc.server.idle_timeout = 0.5
    async with rpc.session.ws_connect(rpc.url, autoping=True) as ws:
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert msg.data == aiohttp.WSCloseCode.OK and "idle" in msg.extra


@pytest.mark.asyncio
async def test_a_subscriber_is_not_idle(rpc: RpcHarness) -> None:
    rpc.server.idle_timeout = 0.3
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "chain_subscribeNewHeads"})
        assert "result" in json.loads((await ws.receive(timeout=5)).data)
        await ws.receive(timeout=5)  # the current head
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=1.0)  # three idle timeouts pass: still open
        await ws.send_json({"jsonrpc": "2.0", "id": 2, "method": "system_name"})
        assert json.loads((await ws.receive(timeout=5)).data)["result"] == "btt-chain"


@pytest.mark.asyncio
async def test_the_busiest_address_gives_up_its_longest_idle_socket(rpc: RpcHarness) -> None:
    from btt_chain.rpc.admission import ConnectionTable

    rpc.server.admission = ConnectionTable(max_connections=6, max_per_ip=32, reserved_local=0)
    hogs = []
    for _ in range(6):
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0)))
        hogs.append((session, await session.ws_connect(rpc.url)))
    try:
        newcomer = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.3", 0)))
        async with newcomer, newcomer.ws_connect(rpc.url) as ws:
            await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "system_name"})
            assert json.loads((await ws.receive(timeout=5)).data)["result"] == "btt-chain"
            first = hogs[0][1]
            msg = await first.receive(timeout=5)  # the oldest of the busiest address went
            assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == aiohttp.WSCloseCode.TRY_AGAIN_LATER
            assert "evicted" in msg.extra
            assert rpc.server.evicted == 1
            # the hogging address cannot take the slot back: it is no less busy than the busiest
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0)))
            async with session:
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(rpc.url)
                assert refused.value.status == 503
    finally:
        for session, ws in hogs:
            await ws.close()
            await session.close()
