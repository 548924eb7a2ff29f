"""A crash on the p2p thread is logged and every later call (and any call in flight) fails with P2PError."""

from __future__ import annotations

import asyncio
import logging

import pytest

from p2p import P2PError
from tests.p2p.harness import TOPIC, Net, bootnode, limit, peer_ids, wait_until


async def test_crash_in_the_trio_thread_surfaces_as_p2p_error(net: Net, caplog: pytest.LogCaptureFixture) -> None:
    server = net.service("server")
    client = net.service("client", (bootnode(server),))
    never = asyncio.Event()
    started: list[bytes] = []

    async def hangs(peer_id: str, data: bytes) -> bytes:
        started.append(data)
        await never.wait()
        return b""

    server.set_request_handler("sync/hang", hangs)
    await asyncio.gather(server.start(), client.start())
    await wait_until(lambda: server.local_peer_id in peer_ids(client))
    in_flight = asyncio.ensure_future(client.request(server.local_peer_id, "sync/hang", b"x", timeout=30))
    await wait_until(lambda: started, what="request in flight")

    async def boom() -> None:
        raise RuntimeError("simulated libp2p crash")

    thread, node = client._running()  # the test reaches inside to inject the failure
    thread.call_soon_in_trio(lambda: node._nursery.start_soon(boom))  # type: ignore[union-attr]

    with pytest.raises(P2PError):
        await asyncio.wait_for(in_flight, limit(30))
    await wait_until(lambda: not client.is_running, what="client marked failed")
    with pytest.raises(P2PError, match="simulated libp2p crash"):
        await client.publish(TOPIC, b"after crash")
    assert any("simulated libp2p crash" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    await client.stop()  # still safe
    never.set()
