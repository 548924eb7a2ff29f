"""Gossip through a line A-B-C: forwarding, validation in the middle, penalties, size limits, own messages."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from p2p import P2PError
from p2p.peerbook import PENALTY_INVALID_GOSSIP, PENALTY_OVERSIZE_GOSSIP
from tests.p2p.harness import TOPIC, Inbox, Net, bootnode, peer_ids, wait_until

log = logging.getLogger("test.p2p")


async def test_gossip_travels_a_to_c_through_b_and_not_back_to_the_sender(net: Net) -> None:
    (a, b, c), (inbox_a, inbox_b, inbox_c) = await net.line(3)
    assert peer_ids(c) == {b.local_peer_id}, "C knows only B"
    assert a.local_peer_id not in peer_ids(c)

    sent = time.perf_counter()
    await a.publish(TOPIC, b"block 1")
    await wait_until(lambda: b"block 1" in inbox_c.data, what="C receives A's message")
    log.info("gossip A->B->C took %.1f ms", (inbox_c.arrival[b"block 1"] - sent) * 1000)

    assert inbox_b.messages == [(a.local_peer_id, b"block 1")], "B's handler ran once, told the sender"
    assert inbox_c.messages == [(b.local_peer_id, b"block 1")], "C heard it from B, once"

    near_cap = b"big" + bytes(a.config.max_message_bytes - 3)  # the largest allowed: 60,000 bytes
    await a.publish(TOPIC, near_cap)
    await wait_until(lambda: near_cap in inbox_c.data, what="C receives a message at the size cap")
    inbox_c.messages.remove((b.local_peer_id, near_cap))

    await c.publish(TOPIC, b"block 2")
    await wait_until(lambda: b"block 2" in inbox_a.data, what="A receives C's message")
    assert inbox_a.data == [b"block 2"], "own publish never reaches the own handler"
    assert inbox_c.data == [b"block 1"]


async def test_invalid_message_is_not_forwarded_and_sender_loses_score(net: Net) -> None:
    (a, b, c), (_, inbox_b, inbox_c) = await net.line(3)

    await a.publish(TOPIC, b"bad block")
    await wait_until(lambda: b.peer_score(a.local_peer_id) < 0, what="B penalises A")
    # B's verdict is in, so the message was either forwarded by now or never will be; a later good
    # message on the same path shows the path works.
    await a.publish(TOPIC, b"good block")
    await wait_until(lambda: b"good block" in inbox_c.data, what="C receives the good message")

    assert b"bad block" in inbox_b.data
    assert b"bad block" not in inbox_c.data
    score = {peer.peer_id: peer.score for peer in b.peers()}[a.local_peer_id]
    assert score <= -PENALTY_INVALID_GOSSIP + 1
    assert c.peer_score(b.local_peer_id) == 0, "the forwarder of valid messages keeps its score"
    assert not b.is_banned(a.local_peer_id)


async def test_ignored_message_is_not_forwarded_and_nobody_is_blamed(net: Net) -> None:
    (a, b, c), (_, inbox_b, inbox_c) = await net.line(3)

    await a.publish(TOPIC, b"ignore me")
    await wait_until(lambda: b"ignore me" in inbox_b.data, what="B's handler sees it")
    await a.publish(TOPIC, b"good block")
    await wait_until(lambda: b"good block" in inbox_c.data, what="C receives the next message")
    assert b"ignore me" not in inbox_c.data
    assert b.peer_score(a.local_peer_id) == 0


async def test_oversize_publish_is_refused_locally(net: Net) -> None:
    a = net.service("a", max_message_bytes=1_000)
    await a.start()
    with pytest.raises(P2PError, match="exceeds max_message_bytes"):
        await a.publish(TOPIC, b"x" * 1_001)
    await a.publish(TOPIC, b"x" * 1_000)  # at the limit is fine (nobody listening is fine too)


async def test_oversize_message_from_a_peer_is_rejected_and_penalised(net: Net) -> None:
    a = net.service("a", max_message_bytes=60_000)
    b = net.service("b", (bootnode(a),), max_message_bytes=1_000)
    inbox_a, inbox_b = Inbox(), Inbox()
    a.subscribe(TOPIC, inbox_a)
    b.subscribe(TOPIC, inbox_b)
    await asyncio.gather(a.start(), b.start())
    await wait_until(lambda: b.local_peer_id in peer_ids(a) and a.local_peer_id in peer_ids(b))
    await wait_until(lambda: _mesh_has(a, b), what="mesh")

    await a.publish(TOPIC, b"y" * 5_000)
    await wait_until(lambda: b.peer_score(a.local_peer_id) <= -PENALTY_OVERSIZE_GOSSIP, what="B penalises A")
    assert inbox_b.data == [], "B's handler never saw the oversize message"


async def test_slow_handler_is_cancelled_and_the_message_rejected_without_penalty(net: Net) -> None:
    a = net.service("a")
    b = net.service("b", (bootnode(a),), gossip_validation_timeout=0.3)
    cancelled: list[bytes] = []

    async def slow(peer_id: str, data: bytes) -> bool:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(data)
            raise
        return True

    a.subscribe(TOPIC, Inbox())
    b.subscribe(TOPIC, slow)
    await asyncio.gather(a.start(), b.start())
    await wait_until(lambda: _mesh_has(a, b), what="mesh")
    await a.publish(TOPIC, b"slow")
    await wait_until(lambda: cancelled == [b"slow"], what="handler cancelled at the validation timeout")
    assert b.peer_score(a.local_peer_id) == 0, "a slow handler is our problem, not the sender's"
    assert a.local_peer_id in peer_ids(b)


async def test_sync_handler_and_subscribe_after_start(net: Net) -> None:
    a = net.service("a")
    b = net.service("b", (bootnode(a),))
    a.subscribe(TOPIC, Inbox())
    await asyncio.gather(a.start(), b.start())
    got: list[bytes] = []

    def sync_handler(peer_id: str, data: bytes) -> bool:
        got.append(data)
        return True

    b.subscribe(TOPIC, sync_handler)
    with pytest.raises(P2PError, match="already subscribed"):
        b.subscribe(TOPIC, sync_handler)
    await wait_until(lambda: _mesh_has(a, b), what="mesh after late subscribe")
    await a.publish(TOPIC, b"late")
    await wait_until(lambda: got == [b"late"], what="late subscriber receives")


async def _mesh_has(service, other) -> bool:  # type: ignore[no-untyped-def]
    return other.local_peer_id in await service.gossip_peers(TOPIC)
