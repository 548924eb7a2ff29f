"""Blocks from before their slot (issue 30): a clock a second off must not cut a validator off.

A sound block whose slot this node's clock does not reach yet is held and imported when its slot is due, and nobody
is blamed; a block far beyond any plausible drift costs its sender score, never a ban by itself; held blocks are
bounded per peer and in all; a node whose clock disagrees with most block authors' says so once, on /health too; a
vote for an epoch far ahead of our clock is dropped without blame. The node, chain and network code are the real
ones; the peer is in-process, and the node's clock is moved with the test helper `set_clock_skew_ms`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from btt_chain.consensus.slots import HOLD_AHEAD_MS, BlockFromFuture, SlotClock
from btt_chain.node import clock_watch as cw
from btt_chain.node.chain import Chain
from btt_chain.node.future_blocks import FutureBlocks, HeldBlock, HoldLimits
from btt_chain.node.health import get_health
from btt_chain.node.network import FAR_FUTURE_PENALTY, NetworkBridge
from btt_chain.node.service import Node, NodeConfig, now_ms, set_clock_skew_ms
from btt_chain.node.sync import encode_block_announce
from btt_chain.primitives.block import Block
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint, sign_vote
from genesis.build import build_genesis
from genesis.devnet import devnet_spec_doc
from genesis.loader import canonical_json, load_chain_spec, materialise, parse_chain_spec
from p2p.peerbook import PeerBook
from runtime.modules import RUNTIME
from storage.memory import MemoryStore
from tests.support.long_range import FakeP2P, block_gossip
from tests.support.node_builder import new_chain

ALICE = dev_keypair("alice")
HONEST, HOSTILE = "12D3KooWHonest", "12D3KooWHostile"
WAIT_LIMIT_S = 120.0
"""Generous: the held block is due in about a second; a busy machine may take much longer to get there."""


class ScoringP2P(FakeP2P):
    """FakeP2P with a real peer book behind `penalise` (a fixed clock: no recovery during the test) and a record of
    what was published."""

    def __init__(self) -> None:
        super().__init__({})
        self.book = PeerBook(-100, clock=lambda: 1000.0)
        self.published: list[tuple[str, bytes]] = []
        self.penalties: list[tuple[str, int, str]] = []

    def penalise(self, peer: str, amount: int, reason: str) -> None:
        self.penalties.append((peer, amount, reason))
        if self.book.penalise(peer, amount):
            self.ban(peer, 600, f"score at or below -100 ({reason})")

    def ban(self, peer: str, seconds: float, reason: str) -> None:
        super().ban(peer, seconds, reason)
        self.book.ban(peer, seconds, reason)

    async def publish(self, topic: str, data: bytes) -> None:
        self.published.append((topic, data))


def write_spec(path: Path, doc: dict[str, Any]) -> Path:
    path.write_bytes(canonical_json(doc) + b"\n")
    return path


def recent_genesis_ms() -> int:
    return (now_ms() // 1000 - 60) * 1000


@pytest.fixture
def dev_pair(tmp_path: Path) -> Iterator[tuple[Chain, Node]]:
    """An authoring chain (alice, the dev validator) and a receiving node on the same genesis, a minute old."""
    doc = materialise(load_chain_spec("dev").raw, recent_genesis_ms())
    spec = write_spec(tmp_path / "spec.json", doc)
    author = Chain(MemoryStore(), build_genesis(parse_chain_spec(doc)))
    node = Node(NodeConfig(chain=str(spec), base_path=tmp_path / "b", tmp=False, validator_key=None, p2p_port=None))
    try:
        yield author, node
    finally:
        set_clock_skew_ms(0)
        node.close()


def set_clock_to(target_ms: int) -> None:
    """Make the node's clock (every clock read of this process) read `target_ms` now."""
    set_clock_skew_ms(0)
    set_clock_skew_ms(target_ms - now_ms())


def set_clock_at(node: Node, slot: int) -> None:
    """Set the node's clock to the start of `slot` (however long building the blocks took)."""
    set_clock_to(node.chain.clock.slot_start_ms(slot))


def block_at(author: Chain, slot: int, commit: bool = True) -> Block:
    if commit:
        return author.author_block(slot, ALICE, [])[0].block
    return author.build_block(slot, ALICE, [])


async def wait_for(predicate: Any, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_LIMIT_S
    while not predicate():
        assert loop.time() < deadline, f"{what}: not within {WAIT_LIMIT_S:g} s"
        await asyncio.sleep(0.02)


# ------------------------------------------------------------------------------------------ the slot rules


def test_a_block_is_early_up_to_the_hold_horizon_and_far_beyond_it() -> None:
    clock = SlotClock(genesis_time_ms=0, slot_ms=1000, epoch_slots=5, max_drift_ms=500)
    assert clock.due_ms(10) == 9_500
    assert clock.early_by_ms(10, 9_500) == 0 and not clock.is_too_far_ahead(10, 9_500)
    assert clock.early_by_ms(10, 9_499) == 1 and clock.is_too_far_ahead(10, 9_499)
    header = new_chain().head  # any header: the verdict depends only on how early it is
    assert not BlockFromFuture(header, HOLD_AHEAD_MS).is_far
    assert BlockFromFuture(header, HOLD_AHEAD_MS + 1).is_far


# ------------------------------------------------------------------------------------------ held, then imported


async def test_an_early_block_is_held_and_imported_when_its_slot_arrives(dev_pair: tuple[Chain, Node]) -> None:
    author, node = dev_pair
    p2p = ScoringP2P()
    bridge = NetworkBridge(node, p2p, now_ms)  # type: ignore[arg-type]
    imported_at: list[int] = []
    node.add_head_listener(lambda _imp: imported_at.append(now_ms()))
    slot = node.chain.clock.slot_at(now_ms()) + 2
    block = block_at(author, slot)
    due = node.chain.clock.due_ms(slot)
    genesis_head = node.chain.head_hash
    set_clock_to(due - 1_000)  # however long authoring took, it arrives a second before it is due

    assert await bridge._on_block_gossip(HONEST, block_gossip(block)) is None  # not forwarded yet, nobody blamed
    assert bridge.future.holds(block.hash()) and len(bridge.future) == 1
    assert node.chain.head_hash == genesis_head and not node.chain.knows(block.hash())
    # the same block again (another relay, or its header announced) is neither held twice nor fetched
    assert await bridge._on_block_gossip(HOSTILE, block_gossip(block)) is None
    assert await bridge._on_block_gossip(HOSTILE, encode_block_announce(block.header.encode())) is None
    assert len(bridge.future) == 1
    assert await bridge.release_held() == 0 or now_ms() >= due  # nothing is released before it is due

    task = asyncio.create_task(bridge._held_loop())
    try:
        await wait_for(lambda: node.chain.head_hash == block.hash(), "the held block imported")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert imported_at and imported_at[0] >= due, "imported before its slot was due"
    assert len(bridge.future) == 0
    assert ("blocks", encode_block_announce(block.header.encode())) in p2p.published  # peers that dropped it fetch it
    assert not p2p.banned and not p2p.penalties


async def test_a_child_of_a_held_block_waits_with_it_and_follows_it_in(dev_pair: tuple[Chain, Node]) -> None:
    author, node = dev_pair
    p2p = ScoringP2P()
    bridge = NetworkBridge(node, p2p, now_ms)  # type: ignore[arg-type]
    slot = node.chain.clock.slot_at(now_ms()) + 5
    parent, child = block_at(author, slot), block_at(author, slot + 1)
    set_clock_at(node, slot - 5)
    assert await bridge._on_block_gossip(HONEST, block_gossip(parent)) is None
    assert await bridge._on_block_gossip(HONEST, block_gossip(child)) is None
    assert bridge.future.holds(parent.hash()) and bridge.future.holds(child.hash())
    assert node.chain.head.number == 0
    set_clock_to(node.chain.clock.due_ms(slot + 1) + 1_000)  # our clock reaches both slots
    assert await bridge.release_held() == 2
    assert node.chain.head_hash == child.hash() and len(bridge.future) == 0
    assert not p2p.banned and not p2p.penalties


async def test_a_held_block_that_turns_out_invalid_still_bans_its_sender(dev_pair: tuple[Chain, Node]) -> None:
    author, node = dev_pair
    p2p = ScoringP2P()
    bridge = NetworkBridge(node, p2p, now_ms)  # type: ignore[arg-type]
    slot = node.chain.clock.slot_at(now_ms()) + 5
    good = block_at(author, slot)
    remark = sign_extrinsic(ALICE, RUNTIME.call("system.remark", b"not in the header's root"), 0,
                            node.chain.genesis_hash, RUNTIME.spec_version)
    forged = Block(good.header, (*good.extrinsics, remark))  # the genuine header (so the same hash), another body
    assert forged.hash() == good.hash()
    set_clock_at(node, slot - 5)
    assert await bridge._on_block_gossip(HOSTILE, block_gossip(forged)) is None
    assert await bridge._on_block_gossip(HONEST, block_gossip(good)) is None
    assert len(bridge.future) == 2, "a copy with another body must not displace the genuine block"
    set_clock_to(node.chain.clock.due_ms(slot) + 1_000)
    await bridge.release_held()
    assert node.chain.head_hash == good.hash()
    assert set(p2p.banned) == {HOSTILE} and "extrinsics root" in p2p.banned[HOSTILE]
    assert p2p.book.ban_totals()["invalid_block"] == 1


# ------------------------------------------------------------------------------------------ far ahead


async def test_a_far_future_block_costs_score_but_the_first_one_does_not_ban(dev_pair: tuple[Chain, Node]) -> None:
    author, node = dev_pair
    p2p = ScoringP2P()
    bridge = NetworkBridge(node, p2p, now_ms)  # type: ignore[arg-type]
    far = node.chain.clock.slot_at(now_ms()) + HOLD_AHEAD_MS // node.chain.clock.slot_ms + 10
    before = dict(node.kv.iterate())
    first = block_at(author, far, commit=False)
    assert await bridge._on_block_gossip(HOSTILE, block_gossip(first)) is None  # dropped: None, not False (no +20)
    assert p2p.book.score(HOSTILE) == -FAR_FUTURE_PENALTY
    assert not p2p.banned and not p2p.book.is_banned(HOSTILE)
    assert len(bridge.future) == 0 and node.chain.head.number == 0 and dict(node.kv.iterate()) == before
    [(peer, amount, reason)] = p2p.penalties
    assert peer == HOSTILE and amount == FAR_FUTURE_PENALTY and f"claims slot {far}" in reason
    # in proportion: only a stream of them runs the score down to a ban (ten in a row with no time to recover)
    sent = 1
    while not p2p.banned:
        assert sent < 100 // FAR_FUTURE_PENALTY, "banned too early"
        assert await bridge._on_block_gossip(HOSTILE, block_gossip(block_at(author, far + sent, False))) is None
        sent += 1
    assert sent == 100 // FAR_FUTURE_PENALTY
    assert p2p.book.ban_totals()["score"] == 1 and "ahead of our clock" in p2p.banned[HOSTILE]
    assert node.chain.head.number == 0 and dict(node.kv.iterate()) == before


# ------------------------------------------------------------------------------------------ bounds


def held(n: int, peer: str, due: int, size: int = 100) -> HeldBlock:
    encoded = n.to_bytes(4, "big") + peer.encode() + bytes(size)
    return HeldBlock(encoded, n.to_bytes(32, "big"), n, n, due, peer, "gossip")


def test_held_blocks_are_bounded_per_peer_by_count_and_bytes_keeping_the_soonest_due() -> None:
    fb = FutureBlocks(HoldLimits(per_peer=3, bytes_per_peer=10_000, total=100, total_bytes=10**6))
    for n in range(10):
        fb.hold(held(n, HOSTILE, due=1000 - n))  # each newcomer due sooner than the last
    assert len(fb) == 3 and sorted(b.due_ms for b in fb.of_peer(HOSTILE)) == [991, 992, 993]
    assert not fb.hold(held(20, HOSTILE, due=5000))  # due later than all it holds: refused
    assert fb.evicted == 8
    fb2 = FutureBlocks(HoldLimits(per_peer=100, bytes_per_peer=1_000, total=100, total_bytes=10**6))
    for n in range(10):
        fb2.hold(held(n, HOSTILE, due=n, size=300))
    assert sum(len(b.encoded) for b in fb2.of_peer(HOSTILE)) <= 1_000  # 319 bytes each: three fit
    assert sorted(b.due_ms for b in fb2.of_peer(HOSTILE)) == [0, 1, 2]
    assert fb2.bytes == sum(len(b.encoded) for b in fb2.of_peer(HOSTILE))


def test_a_flood_from_one_peer_never_displaces_another_peers_blocks() -> None:
    fb = FutureBlocks(HoldLimits(per_peer=10, bytes_per_peer=10**6, total=12, total_bytes=5_000))
    honest = [held(n, HONEST, due=10_000 + n) for n in range(3)]  # due later than the flood: still kept
    for b in honest:
        assert fb.hold(b)
    for n in range(100, 200):
        fb.hold(held(n, HOSTILE, due=n))
    assert len(fb) <= 12 and fb.bytes <= 5_000
    assert all(fb.holds(b.block_hash) for b in honest)
    for i, peer in enumerate(("p1", "p2", "p3")):  # by bytes too: many peers each take their share
        for n in range(5):
            fb.hold(held(1_000 + 10 * i + n, peer, due=n, size=400))
    assert fb.bytes <= 5_000 and all(fb.holds(b.block_hash) for b in honest)


def test_copies_are_told_apart_by_bytes_and_released_parents_first() -> None:
    fb = FutureBlocks()
    a = held(1, HONEST, due=500)
    assert fb.hold(a) and not fb.hold(a)  # the same bytes twice: held once
    other = HeldBlock(a.encoded + b"!", a.block_hash, 1, 1, 500, HOSTILE, "gossip")
    assert fb.hold(other) and len(fb) == 2 and fb.holds(a.block_hash)
    child = held(2, HONEST, due=500)
    assert fb.hold(child)
    assert fb.take_due(499) == []
    assert [b.number for b in fb.take_due(500)] == [1, 1, 2] and len(fb) == 0 and fb.bytes == 0
    assert not fb.holds(a.block_hash) and fb.next_due_ms() is None


async def test_a_hostile_peer_cannot_fill_the_node_with_early_blocks(dev_pair: tuple[Chain, Node]) -> None:
    author, node = dev_pair
    p2p = ScoringP2P()
    bridge = NetworkBridge(node, p2p, now_ms)  # type: ignore[arg-type]
    now_slot = node.chain.clock.slot_at(now_ms())
    honest = block_at(author, now_slot + 3, commit=False)
    flood = [block_at(author, now_slot + k, False) for k in range(4, 28)]  # every one sound, each another slot
    set_clock_at(node, now_slot)
    assert await bridge._on_block_gossip(HONEST, block_gossip(honest)) is None
    for block in flood:
        assert await bridge._on_block_gossip(HOSTILE, block_gossip(block)) is None
    limits = bridge.future.limits
    assert len(bridge.future.of_peer(HOSTILE)) == limits.per_peer and bridge.future.holds(honest.hash())
    assert bridge.future.bytes <= limits.total_bytes and len(bridge.future) <= limits.total
    assert not p2p.banned and not p2p.penalties  # early is no offence, however many


# ------------------------------------------------------------------------------------------ our own clock


def test_the_clock_verdict_needs_most_sources_and_takes_each_sources_least_delayed_sample() -> None:
    t = [0.0]
    watch = cw.ClockWatch(500, clock=lambda: t[0])
    assert watch.estimate() == cw.ClockEstimate(cw.UNKNOWN, None, 0, 500)
    watch.observe(b"a", 750)
    assert watch.estimate().status == cw.UNKNOWN  # one clock cannot outvote ours
    for delay in (900, 1400, 720):  # delays on top: the least delayed sample counts
        watch.observe(b"b", delay)
    watch.observe(b"c", 40)
    est = watch.estimate()
    assert (est.status, est.offset_ms, est.sources, est.beyond) == (cw.AHEAD, 720, 3, 2)
    watch.observe(b"d", -30)
    assert watch.estimate().status == cw.OK  # two of four: not most
    t[0] += cw.SOURCE_TTL_S + 1
    watch.observe(b"e", -800)
    watch.observe(b"f", -650)
    est = watch.estimate()
    assert (est.status, est.sources, est.offset_ms) == (cw.BEHIND, 2, -725)  # the silent sources have expired


def test_the_clock_verdict_is_logged_once_per_change(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="btt.net")
    watch = cw.ClockWatch(500)
    for _ in range(5):
        watch.observe(b"a", 10)
        watch.observe(b"b", 20)
        watch.check()
    assert not caplog.records  # fine from the start: nothing said
    for _ in range(5):
        watch.observe(b"a", -900)
        watch.observe(b"b", -700)
        watch.check()
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "0.8 s behind its peers' (the blocks of 2 of 2 validators" in warning.getMessage()
    assert "NTP" in warning.getMessage()
    caplog.clear()
    for src in (b"c", b"d", b"e"):
        watch.observe(src, 30)
        watch.check()
    [line] = [r.getMessage() for r in caplog.records]
    assert "agrees with its peers' again" in line


@pytest.fixture
def devnet_pair(tmp_path: Path) -> Iterator[tuple[Chain, Node]]:
    """A three-validator chain authored in-process and a receiving node on the same genesis."""
    doc = devnet_spec_doc(3, recent_genesis_ms(), epoch_slots=5)
    spec = write_spec(tmp_path / "devnet.json", doc)
    author = Chain(MemoryStore(), build_genesis(parse_chain_spec(doc)))
    node = Node(NodeConfig(chain=str(spec), base_path=tmp_path / "b", tmp=False, validator_key=None, p2p_port=None))
    try:
        yield author, node
    finally:
        set_clock_skew_ms(0)
        node.network = None
        node.close()


async def test_a_node_700_ms_behind_holds_its_peers_blocks_says_so_once_and_blames_nobody(
    devnet_pair: tuple[Chain, Node], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="btt.net")
    author, node = devnet_pair
    p2p = ScoringP2P()
    bridge = NetworkBridge(node, p2p, now_ms)  # type: ignore[arg-type]
    node.network = bridge
    clock = node.chain.clock
    keys = {dev_keypair(n).public: dev_keypair(n) for n in ("alice", "bob", "charlie")}
    authors: set[bytes] = set()
    slot = clock.slot_at(now_ms()) + 1
    while len(authors) < 3 or node.chain.head.number < 6:
        leader = author.leader(slot)
        assert leader in keys
        block = author.author_block(slot, keys[leader], [])[0].block
        authors.add(leader)
        # the block arrives 40 ms into its slot by the author's clock; ours reads 700 ms less
        set_clock_to(clock.slot_start_ms(slot) + 40 - 700)
        assert await bridge._on_block_gossip(HONEST, block_gossip(block)) is None  # early by ~160 ms: held
        assert bridge.future.holds(block.hash())
        set_clock_to(clock.due_ms(slot))
        assert await bridge.release_held() == 1 and node.chain.head_hash == block.hash()
        slot += 1
    healthy, body = get_health(node)
    assert body["clock"] == "behind" and body["clockSources"] == 3 and body["heldBlocks"] == 0
    assert -700 <= body["clockOffsetMs"] <= -500, body
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "behind" in warnings[0]
    assert not p2p.banned and not p2p.penalties


async def test_a_vote_for_an_epoch_far_ahead_of_our_clock_is_dropped_without_blame(
    dev_pair: tuple[Chain, Node]
) -> None:
    _author, node = dev_pair
    clock = node.chain.clock
    epoch = clock.epoch_of(clock.slot_at(now_ms()))
    ahead = epoch + node.finality.tracker.max_future_epochs + 1
    vote = sign_vote(ALICE, node.chain.genesis_hash, Checkpoint(0, node.chain.genesis_hash),
                     Checkpoint(ahead, b"\x07" * 32))
    assert node.finality.on_vote_gossip(HONEST, vote.encode()) is None  # not False: the gossip layer would blame
    assert node.finality.on_vote_gossip(HONEST, b"\x00garbage") is False  # malformed still costs score
