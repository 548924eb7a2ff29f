"""Gossiping a waiting transaction again has to reach somebody: gossip message ids are content hashes that every node
remembers for 120 s, its own publishes included, so a batch gossiped again must never be a payload seen before.

The real-service test shows the failure the salt removes (the `ci` testnet's transfer stuck in one full node's pool);
the rest pin the salt, the batching and the receiving side."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from btt_chain.node import network, rebroadcast, sync
from btt_chain.node.network import NetworkBridge, tx_batches
from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.keys import dev_keypair
from p2p import P2PService
from p2p.config import wire_topic
from tests.p2p.harness import TOPIC, Inbox, Net, bootnode, wait_until
from tests.support.long_range import FakeP2P
from tests.support.node_builder import UNIT, new_chain, transfer


async def _nothing_to_replay(service: P2PService) -> bool:
    """True once `service`'s gossip router holds no TOPIC message it would replay to a peer that joins."""
    thread, node = service._running()

    async def window() -> int:
        assert node._gossip is not None
        return len(node._gossip.router.mcache.window(wire_topic(node.config, TOPIC)))

    return await thread.run_in_trio(window) == 0


@pytest.fixture
async def net(tmp_path: Path) -> AsyncIterator[Net]:
    network = Net(tmp_path)
    yield network
    await network.stop_all()


async def test_a_payload_first_published_alone_never_reaches_a_later_peer_unless_salted(net: Net) -> None:
    alone = net.service("alone")
    alone.subscribe(TOPIC, Inbox())
    await alone.start()
    batch = [b"an encoded transfer, gossiped while this node had no peers"]
    first = sync.encode_bytes_list(batch)
    await alone.publish(TOPIC, first)  # nobody hears it, yet its id is now in the sender's seen cache
    # py-libp2p replays its message cache (the last 3 heartbeats, 1 s each here) to a peer that joins: past it, a
    # message nobody heard is gone for good, as for a transaction gossiped by a node whose peers were all away
    await wait_until(lambda: _nothing_to_replay(alone), timeout=60, what="the message left the replayed cache")

    inbox = Inbox()
    later = net.service("later", (bootnode(alone),))
    later.subscribe(TOPIC, inbox)
    await later.start()
    await wait_until(lambda: alone.local_peer_id in {p.peer_id for p in later.peers()}, what="connected")
    await wait_until(lambda: _in_mesh(alone, later), what="gossip mesh")

    await alone.publish(TOPIC, first)  # the same bytes again: dropped by the sender itself
    salted = sync.encode_bytes_list(rebroadcast.salted(batch))
    await alone.publish(TOPIC, salted)
    await wait_until(lambda: salted in inbox.data, what="the salted batch arrives")
    await asyncio.sleep(0.5)  # anything sent before it on the same stream has arrived too by now
    assert first not in inbox.data, "an unsalted repeat within the seen window goes nowhere"
    assert rebroadcast.without_salt(sync.decode_bytes_list(inbox.data[0])) == batch


async def _in_mesh(service, other) -> bool:  # type: ignore[no-untyped-def]
    return other.local_peer_id in await service.gossip_peers(TOPIC)


def test_every_salted_batch_is_new_and_gives_back_its_transactions() -> None:
    chain = new_chain()
    tx = transfer(chain, "alice", "bob", UNIT).encode()
    assert len(tx) > rebroadcast.SALT_BYTES, "no extrinsic is as short as a salt"
    payloads = {sync.encode_bytes_list(rebroadcast.salted([tx])) for _ in range(50)}
    payloads.add(sync.encode_bytes_list([tx]))
    assert len(payloads) == 51
    for payload in payloads:
        assert rebroadcast.without_salt(sync.decode_bytes_list(payload)) == [tx]


def test_batches_keep_order_and_limits_with_room_for_the_salt() -> None:
    small = [bytes([i % 251]) * 100 for i in range(1500)]
    for room in (False, True):
        queue = list(small)
        batches = tx_batches(queue, room_for_salt=room)
        assert queue == [] and [x for b in batches for x in b] == small
        for batch in batches:
            items = len(batch) + (1 if room else 0)
            size = 16 + sum(len(x) + 8 for x in batch) + ((rebroadcast.SALT_BYTES + 8) if room else 0)
            assert items <= sync.MAX_TXS_PER_BATCH and size <= sync.GOSSIP_WHOLE_BLOCK_LIMIT
            payload = sync.encode_bytes_list(rebroadcast.salted(batch) if room else batch)
            assert sync.decode_bytes_list(payload)  # the receiver's limits hold
    big = bytes(sync.GOSSIP_WHOLE_BLOCK_LIMIT + 10)
    assert tx_batches([b"a" * 20, big, b"b" * 20]) == [[b"a" * 20], [big], [b"b" * 20]]
    assert tx_batches([]) == []


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return Node(NodeConfig(chain="dev", base_path=None, tmp=True, validator_key=dev_keypair("alice"), p2p_port=None))


async def test_a_salted_batch_admits_its_transaction_and_blames_nobody(node: Node) -> None:
    p2p = FakeP2P({})
    bridge = NetworkBridge(node, p2p, lambda: 0)  # type: ignore[arg-type]
    xt = transfer(node.chain, "alice", "bob", UNIT)
    payload = sync.encode_bytes_list(rebroadcast.salted([xt.encode()]))
    assert await bridge._on_tx_gossip("12D3KooWPeer", payload) is True  # new here: forwarded
    assert xt.hash() in {t.hash for t in node.pool.ready()}
    again = sync.encode_bytes_list(rebroadcast.salted([xt.encode()]))
    assert await bridge._on_tx_gossip("12D3KooWPeer", again) is None  # nothing new: not forwarded, nobody blamed
    assert p2p.penalised == []


class Recording(FakeP2P):
    def __init__(self) -> None:
        super().__init__({})
        self.published: list[tuple[str, bytes]] = []

    async def publish(self, topic: str, data: bytes) -> None:
        self.published.append((topic, data))


async def test_the_batch_loop_gossips_a_waiting_transaction_again_as_a_new_payload_each_time(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(network, "REBROADCAST_CHECK_S", 0.0)
    p2p = Recording()
    bridge = NetworkBridge(node, p2p, lambda: 0)  # type: ignore[arg-type]
    bridge._rebroadcast = rebroadcast.Rebroadcaster(min_age_s=0.0, every_s=0.0)
    xt = transfer(node.chain, "alice", "bob", UNIT)
    node.pool.submit(xt.encode())
    bridge.queue_transaction(xt.encode())  # what submission does: gossip it once at once
    loop = asyncio.create_task(bridge._tx_batch_loop())
    try:
        await wait_until(lambda: len(p2p.published) >= 3, what="gossip, then gossip again twice")
    finally:
        loop.cancel()
    payloads = [data for topic, data in p2p.published if topic == "txs"]
    assert payloads[0] == sync.encode_bytes_list([xt.encode()]), "the first gossip is the plain batch"
    assert len(set(payloads)) == len(payloads), "every gossip again is a payload never sent before"
    for data in payloads:
        assert rebroadcast.without_salt(sync.decode_bytes_list(data)) == [xt.encode()]
