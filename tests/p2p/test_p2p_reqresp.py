"""Request/response between two services: round trip, 1 MB responses, errors, limits and timeouts."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import pytest

from p2p import P2PError, P2PService
from p2p.peerbook import PENALTY_OVERSIZE_REQUEST
from tests.p2p.harness import Net, bootnode, peer_ids, wait_until

log = logging.getLogger("test.p2p")


async def pair(net: Net, server_options: dict[str, Any] | None = None,
               client_options: dict[str, Any] | None = None) -> tuple[P2PService, P2PService]:
    server = net.service("server", **(server_options or {}))
    client = net.service("client", (bootnode(server),), **(client_options or {}))
    return server, client


async def start(server: P2PService, client: P2PService) -> None:
    await asyncio.gather(server.start(), client.start())
    await wait_until(lambda: server.local_peer_id in peer_ids(client) and client.local_peer_id in peer_ids(server))


async def test_round_trip_and_one_megabyte_response(net: Net) -> None:
    server, client = await pair(net)
    blob = os.urandom(1_000_000)
    seen: list[tuple[str, bytes]] = []

    async def echo(peer_id: str, data: bytes) -> bytes:
        seen.append((peer_id, data))
        return b"echo:" + data

    async def blocks(peer_id: str, data: bytes) -> bytes:
        return blob

    server.set_request_handler("sync/echo", echo)
    server.set_request_handler("sync/blocks", blocks)
    await start(server, client)

    began = time.perf_counter()
    assert await client.request(server.local_peer_id, "sync/echo", b"ping") == b"echo:ping"
    log.info("request round trip %.1f ms", (time.perf_counter() - began) * 1000)
    assert seen == [(client.local_peer_id, b"ping")]

    began = time.perf_counter()
    assert await client.request(server.local_peer_id, "sync/blocks", b"") == blob
    log.info("1 MB response %.1f ms", (time.perf_counter() - began) * 1000)

    # many at once, within the per-peer limit
    answers = await asyncio.gather(*(client.request(server.local_peer_id, "sync/echo", b"%d" % i) for i in range(4)))
    assert answers == [b"echo:%d" % i for i in range(4)]


async def test_handler_error_unknown_protocol_and_unknown_peer_raise_p2p_error(net: Net) -> None:
    server, client = await pair(net)

    async def broken(peer_id: str, data: bytes) -> bytes:
        raise ValueError("no such block")

    server.set_request_handler("sync/broken", broken)
    await start(server, client)

    with pytest.raises(P2PError, match="no such block"):
        await client.request(server.local_peer_id, "sync/broken", b"")
    with pytest.raises(P2PError, match="does not speak"):
        await client.request(server.local_peer_id, "sync/nothing", b"")
    with pytest.raises(P2PError, match="not connected"):
        await client.request("12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo", "sync/broken", b"")
    assert server.local_peer_id in peer_ids(client), "failed requests do not cost the connection"


async def test_late_handler_registration(net: Net) -> None:
    server, client = await pair(net)
    await start(server, client)

    async def late(peer_id: str, data: bytes) -> bytes:
        return b"late"

    server.set_request_handler("sync/late", late)
    assert await wait_until(lambda: _try(client.request(server.local_peer_id, "sync/late", b""))) == b"late"


async def _try(request: object) -> bytes | None:
    try:
        return await request  # type: ignore[misc,no-any-return]
    except P2PError:
        return None


async def test_size_limits(net: Net) -> None:
    server, client = await pair(net, server_options={"max_request_bytes": 100},
                                client_options={"max_response_bytes": 1_000})

    async def sized(peer_id: str, data: bytes) -> bytes:
        return b"z" * int(data)

    server.set_request_handler("sync/sized", sized)
    await start(server, client)

    assert await client.request(server.local_peer_id, "sync/sized", b"1000") == b"z" * 1000
    with pytest.raises(P2PError, match="larger than 1000 bytes"):
        await client.request(server.local_peer_id, "sync/sized", b"1001")
    with pytest.raises(P2PError, match="request too large"):
        await client.request(server.local_peer_id, "sync/sized", b"0" * 101)
    assert server.peer_score(client.local_peer_id) <= -PENALTY_OVERSIZE_REQUEST
    with pytest.raises(P2PError, match="exceeds max_request_bytes"):
        await client.request(server.local_peer_id, "sync/sized", b"0" * (1024 * 1024 + 1))


async def test_timeout_and_per_peer_concurrency_limit(net: Net) -> None:
    server, client = await pair(net, server_options={"max_inbound_requests_per_peer": 1})
    release = asyncio.Event()
    started: list[bytes] = []

    async def waits(peer_id: str, data: bytes) -> bytes:
        started.append(data)
        await release.wait()
        return b"done"

    server.set_request_handler("sync/wait", waits)
    await start(server, client)

    first = asyncio.ensure_future(client.request(server.local_peer_id, "sync/wait", b"1"))
    await wait_until(lambda: started == [b"1"], what="first request being served")
    with pytest.raises(P2PError, match="busy"):
        await client.request(server.local_peer_id, "sync/wait", b"2")
    release.set()
    assert await first == b"done"

    release.clear()
    with pytest.raises(P2PError, match="timed out"):
        await client.request(server.local_peer_id, "sync/wait", b"3", timeout=0.3)
    release.set()
