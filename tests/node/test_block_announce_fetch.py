"""A block announced by its header is fetched from the peer that announced it. A fetch that fails because the
announcer cannot be reached (its link is down, it is paused or busy) is no fault of the announcer: it costs it no
score, however often it happens (in the `ci` testnet a node whose link went down banned the announcer after three
failed fetches), and the block still arrives by sync. Malformed gossip is still blamed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from btt_chain.node.network import NetworkBridge
from btt_chain.node.sync import encode_block_announce
from p2p.errors import P2PError
from tests.node.test_future_blocks import ALICE, HOSTILE, ScoringP2P, dev_pair  # noqa: F401 - the fixture

ANNOUNCER = "12D3KooWAnnouncer"


class UnreachableAnnouncer(ScoringP2P):
    """Every request to the announcer fails as libp2p fails when the connection is gone."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[str] = []

    async def request(self, peer: str, protocol: str, data: bytes, timeout: float = 10.0) -> bytes:
        self.requests.append(protocol)
        raise P2PError(f"sync/block request to {peer} failed: SwarmException('Failed to create stream to peer')")


@pytest.mark.asyncio
async def test_an_announcer_that_cannot_be_reached_is_not_blamed(dev_pair, tmp_path: Path) -> None:  # noqa: F811
    author, node = dev_pair
    p2p = UnreachableAnnouncer()
    bridge = NetworkBridge(node, p2p, lambda: node.chain.clock.slot_start_ms(10**6))  # type: ignore[arg-type]
    bridge.sync_once = _no_sync  # type: ignore[method-assign]  # no peers to sync from here
    slot = node.chain.clock.slot_at(node.chain.head.timestamp_ms) + 1
    block = author.author_block(slot, ALICE, [])[0].block
    head = node.chain.head_hash
    for _ in range(10):  # ten times the failures that banned the announcer before
        assert await bridge._on_block_gossip(ANNOUNCER, encode_block_announce(block.header.encode())) is None
    await asyncio.sleep(0)
    assert p2p.requests == ["sync/block"] * 10
    assert p2p.penalties == [] and not p2p.is_banned(ANNOUNCER)
    assert node.chain.head_hash == head  # nothing imported, nothing changed

    # gossip that does not decode is still the sender's fault
    assert await bridge._on_block_gossip(HOSTILE, b"\x01\xff\xff") is False
    assert [peer for peer, _, _ in p2p.penalties] == [HOSTILE]


async def _no_sync() -> None:
    return None
