"""Peer management: handshake and status, genesis refusal, bans and redial, penalties, peer limit, lifecycle."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from p2p import P2PError
from p2p.inbound_slots import PER_ADDRESS_IN_FLIGHT
from tests.p2p.harness import OTHER_GENESIS, Net, assert_stays, bootnode, peer_ids, wait_until


async def test_handshake_exchanges_status_and_announces_peers(net: Net) -> None:
    a = net.service("a")
    b = net.service("b", (bootnode(a),))
    a.set_status_provider(lambda: b"best=7")
    connected_on_b: list[str] = []
    disconnected_on_b: list[str] = []
    connected_on_a: list[str] = []

    async def on_b(peer_id: str) -> None:
        connected_on_b.append(peer_id)

    b.on_peer_connected(on_b)
    b.on_peer_disconnected(disconnected_on_b.append)
    a.on_peer_connected(connected_on_a.append)
    await asyncio.gather(a.start(), b.start())

    await wait_until(lambda: connected_on_b == [a.local_peer_id] and connected_on_a == [b.local_peer_id])
    [info] = b.peers()
    assert info.peer_id == a.local_peer_id
    assert info.status == b"best=7"
    assert info.address == f"/ip4/127.0.0.1/tcp/{a.config.listen_port}"
    assert info.score == 0
    assert a.peers()[0].status == b""
    assert a.listen_addrs == [f"{bootnode(a)}"]

    await a.stop()
    await wait_until(lambda: disconnected_on_b == [a.local_peer_id], what="B notices A is gone")
    assert b.peers() == []


async def test_peer_on_another_genesis_is_refused_and_banned(net: Net) -> None:
    a = net.service("a")
    x = net.service("x", (bootnode(a),), genesis=OTHER_GENESIS)
    connected: list[str] = []
    a.on_peer_connected(connected.append)
    x.on_peer_connected(connected.append)
    await asyncio.gather(a.start(), x.start())

    await wait_until(lambda: a.is_banned(x.local_peer_id) and x.is_banned(a.local_peer_id), what="both ban")
    await assert_stays(lambda: not a.peers() and not x.peers() and not connected, 1.0, "no connection")


class BanClock:
    """The clock A's peer book reads ban ends from, moved on by the test: the ban ends when the test says so, after
    the refusals it waits for, however long a busy machine takes to produce them."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


async def test_ban_disconnects_and_refuses_redial_until_it_ends(net: Net, caplog: pytest.LogCaptureFixture) -> None:
    a = net.service("a")
    b = net.service("b", (bootnode(a),), redial_max_interval=0.5)  # B keeps redialing A
    clock = BanClock()
    a._book._clock = clock  # the test reaches inside to own the ban's clock
    await asyncio.gather(a.start(), b.start())
    await wait_until(lambda: b.local_peer_id in peer_ids(a) and a.local_peer_id in peer_ids(b))
    refusal = f"refusing banned peer {b.local_peer_id}"
    seen_while_banned: list[tuple[list[str], list[str]]] = []

    def refusals() -> int:
        return sum(1 for r in caplog.records if r.getMessage() == refusal)

    def refused_many() -> bool:
        # is_banned is read after the peers: if it still holds, the peers were seen while the ban held
        peers = ([p.peer_id for p in a.peers()], [p.peer_id for p in b.peers()])
        if (peers[0] or peers[1]) and a.is_banned(b.local_peer_id):
            seen_while_banned.append(peers)
        return refusals() >= 12  # more than py-libp2p's 8 connections a peer: refused ones must not count on

    with caplog.at_level(logging.DEBUG, "btt.p2p"):
        a.ban(b.local_peer_id, 60.0, "test ban")
        assert a.peers() == [], "a banned peer is no longer listed"
        await wait_until(lambda: not b.peers(), what="B sees the disconnect")
        await wait_until(refused_many, what="12 of B's redials refused while banned")
        assert not seen_while_banned, f"connected while banned: {seen_while_banned}"
        assert a.is_banned(b.local_peer_id)

        clock.offset = 61.0  # the ban's 60 s are over
        await wait_until(lambda: not a.is_banned(b.local_peer_id), what="ban ends (swept by housekeeping)")
        await wait_until(lambda: b.local_peer_id in peer_ids(a) and a.local_peer_id in peer_ids(b),
                         what="B reconnects through its redial loop")


async def test_refused_redials_leave_the_inbound_slots_free(net: Net, caplog: pytest.LogCaptureFixture) -> None:
    """py-libp2p 0.8.1 keeps an inbound slot for the swarm's life after each connection it accepted, so a node that
    refused a redialing banned peer more times than it has slots took no inbound peer again (p2p/inbound_slots.py).
    A has 10 slots (max_peers 1) and dials nobody; B redials 60 times while banned, then leaves; a newcomer must
    still get in."""
    a = net.service("a", max_peers=1, discovery=False)
    b = net.service("b", (bootnode(a),), redial_min_interval=0.05, redial_max_interval=0.05)
    await asyncio.gather(a.start(), b.start())
    await wait_until(lambda: b.local_peer_id in peer_ids(a) and a.local_peer_id in peer_ids(b))
    upgrades = a._node.inbound_upgrades if a._node is not None else None
    assert upgrades is not None and upgrades.cap == 10
    refusal = f"refusing banned peer {b.local_peer_id}"

    def refusals() -> int:
        return sum(1 for r in caplog.records if r.getMessage() == refusal)

    with caplog.at_level(logging.DEBUG, "btt.p2p"):
        a.ban(b.local_peer_id, 600.0, "test ban")
        await wait_until(lambda: refusals() >= 60, what="60 of B's redials accepted, then refused")
    await b.stop()
    newcomer = net.service("c", (bootnode(a),))
    await newcomer.start()
    await wait_until(lambda: newcomer.local_peer_id in peer_ids(a) and a.local_peer_id in peer_ids(newcomer),
                     what="a newcomer gets in: the refused connections hold no inbound slot")
    assert upgrades.in_flight == 0
    # and hold no task either: the handlers of closed connections ended (py-libp2p's waited for the swarm to stop)
    await wait_until(lambda: 1 <= upgrades.open <= 2, what="only the newcomer's connections have a handler waiting")


async def test_one_address_holds_few_inbound_slots_with_handshakes_it_never_finishes(net: Net) -> None:
    """A host opening connections that never finish their handshake held every inbound slot (each until py-libp2p's
    10 s upgrade timeout): it may hold PER_ADDRESS_IN_FLIGHT of them, the rest are closed at once, and a peer from
    another address still gets in while they are held. A has 10 slots (max_peers 1); the stalls come from
    127.0.0.2."""
    a = net.service("a", max_peers=1, discovery=False)
    await a.start()
    upgrades = a._node.inbound_upgrades if a._node is not None else None
    assert upgrades is not None and upgrades.cap == 10 and upgrades.per_address == PER_ADDRESS_IN_FLIGHT < 10
    stalls = [await asyncio.open_connection("127.0.0.1", a.config.listen_port, local_addr=("127.0.0.2", 0))
              for _ in range(12)]
    closed: list[int] = []

    async def until_closed(index: int, reader: asyncio.StreamReader) -> None:
        while await reader.read(4096):
            pass
        closed.append(index)

    watchers = [asyncio.ensure_future(until_closed(i, reader)) for i, (reader, _) in enumerate(stalls)]
    try:
        await wait_until(lambda: len(closed) >= 12 - PER_ADDRESS_IN_FLIGHT, what="the stalls past the bound closed")
        assert upgrades.by_address.get("127.0.0.2") == PER_ADDRESS_IN_FLIGHT and len(closed) == 4
        b = net.service("b", (bootnode(a),))
        await b.start()
        await wait_until(lambda: b.local_peer_id in peer_ids(a), what="a peer from another address gets in")
    finally:
        for watcher in watchers:
            watcher.cancel()
        for _, writer in stalls:
            writer.close()


async def test_penalties_below_threshold_ban(net: Net) -> None:
    a = net.service("a", ban_threshold=-50)
    b = net.service("b", (bootnode(a),))
    await asyncio.gather(a.start(), b.start())
    await wait_until(lambda: b.local_peer_id in peer_ids(a))

    a.penalise(b.local_peer_id, 30, "malformed block")
    assert a.peers()[0].score == -30
    assert not a.is_banned(b.local_peer_id)
    a.penalise(b.local_peer_id, 30, "malformed block")
    assert a.is_banned(b.local_peer_id)
    await wait_until(lambda: not b.peers(), what="B disconnected")


async def test_max_peers_is_enforced(net: Net) -> None:
    a = net.service("a", max_peers=1, discovery=False)  # A dials nobody: B must come in
    others = [net.service(f"o{i}", (bootnode(a),)) for i in range(2)]
    await asyncio.gather(a.start(), *(o.start() for o in others))
    await wait_until(lambda: len(a.peers()) == 1, what="A has one peer")
    await assert_stays(lambda: len(a.peers()) <= 1, 1.0, "A never exceeds max_peers")


async def test_lifecycle_errors(net: Net) -> None:
    a = net.service("a")
    with pytest.raises(P2PError, match="new"):
        await a.publish("blocks", b"before start")
    await a.start()
    with pytest.raises(P2PError, match="cannot start"):
        await a.start()
    await a.stop()
    await a.stop()
    with pytest.raises(P2PError, match="stopped"):
        await a.publish("blocks", b"after stop")
    with pytest.raises(P2PError, match="stopped"):
        await a.request(a.local_peer_id, "sync/x", b"")


async def test_stop_while_starting_and_handlers_registered_during_start(net: Net) -> None:
    a = net.service("a")
    starting = asyncio.ensure_future(a.start())
    await asyncio.sleep(0)  # start() is now waiting for the p2p thread
    await a.stop()
    with pytest.raises(P2PError, match="stopped while starting"):
        await starting
    assert not a.is_running

    b = net.service("b")
    c = net.service("c", (bootnode(b),))
    await c.start()
    starting = asyncio.ensure_future(b.start())
    await asyncio.sleep(0)

    async def late(peer_id: str, data: bytes) -> bytes:
        return b"registered while starting"

    b.set_request_handler("sync/late", late)
    await starting
    await wait_until(lambda: b.local_peer_id in peer_ids(c))
    assert await c.request(b.local_peer_id, "sync/late", b"") == b"registered while starting"


async def test_port_in_use_fails_start(net: Net) -> None:
    a = net.service("a")
    await a.start()
    clash = net.service("clash")
    object.__setattr__(clash.config, "listen_port", a.config.listen_port)
    with pytest.raises(P2PError, match="cannot listen"):
        await clash.start()  # libp2p itself would share the port (SO_REUSEPORT)
