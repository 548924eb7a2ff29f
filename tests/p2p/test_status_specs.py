"""The handshake status carries the spec fields without changing the p2p layer's format (issue 50): a node's opaque
status is its `sync.PeerStatus` with the spec of its head and the specs it runs; an older node (empty status) and a
newer one connect both ways, nobody is banned for it, and each reads what the other said."""

from __future__ import annotations

import asyncio

from btt_chain.node import sync
from p2p import wire
from tests.p2p.harness import GENESIS, Net, bootnode, wait_until

H = b"\x05" * 32


def test_the_wire_status_carries_the_node_status_with_its_specs_unchanged() -> None:
    ours = sync.PeerStatus(9, H, 4, H, 12, (11, 12)).encode()
    decoded = wire.decode_status(wire.encode_status(GENESIS, ours))  # the decoder every release has
    assert decoded.genesis_hash == GENESIS and sync.PeerStatus.decode(decoded.status).specs == (11, 12)


async def test_an_older_node_and_a_newer_one_connect_and_read_each_others_status(net: Net) -> None:
    new = net.service("new")
    old = net.service("old", (bootnode(new),))
    new.set_status_provider(lambda: sync.PeerStatus(9, H, 4, H, 12, (11, 12)).encode())
    await asyncio.gather(new.start(), old.start())  # the older node sets no status provider: an empty status
    await wait_until(lambda: len(new.peers()) == 1 and len(old.peers()) == 1, what="both connected")
    [seen_by_old] = old.peers()
    assert sync.PeerStatus.decode(seen_by_old.status).spec == 12
    assert new.peers()[0].status == b""
    assert not new.is_banned(old.local_peer_id) and not old.is_banned(new.local_peer_id)
