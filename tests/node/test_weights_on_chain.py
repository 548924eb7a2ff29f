"""A node that lacks a model's weights blob: authoring leaves the extrinsic that needs it (and its sender's later
ones) in the pool, fetches the blob and includes it once held; import stops at the block that needs it without
judging it (nothing changed, nothing remembered) and takes it once the blob is held; a syncing node pauses there,
fetches the blob from the peer that sent the block, resumes and blames nobody; a registration starts a background
fetch; a block sender that lies about the blob's bytes is banned at its first lie, and a peer that connects then is
asked at once. The node, chain, pool and network code are the real ones; peers are in-process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from btt_chain.miner.engine import JobSpec, MinerEngine
from btt_chain.node.chain import Chain
from btt_chain.node.network import NetworkBridge
from btt_chain.node.service import SPEC_FILE, Node, NodeConfig, now_ms, set_clock_skew_ms
from btt_chain.node.weights_exchange import (
    PROTOCOL,
    decode_chunk_response,
    decode_request,
    encode_chunk_response,
    encode_manifest_response,
)
from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.keys import Keypair, dev_keypair
from genesis.build import build_genesis
from runtime.compute import storage as compute
from runtime.compute import weights_source
from runtime.compute.model import model_hash
from runtime.compute.types import VERIFIED
from runtime.compute.verify import sample_of
from runtime.compute.weights_source import WeightsUnavailable
from runtime.modules import RUNTIME
from storage.content import PARTIAL, ContentStore
from storage.memory import MemoryStore
from tests.functional.framework import free_port
from tests.support.long_range import FakeP2P, RemotePeer, block_gossip
from tests.support.models import dense_blob

UNIT = 10**18
ALICE, BOB, FERDIE = dev_keypair("alice"), dev_keypair("bob"), dev_keypair("ferdie")
SPEC, BLOB = dense_blob("tiny-triage-v1", (16, 8, 3), seed=7)
WEIGHTS = SPEC.weights_hash
AUTHOR_PEER, OTHER_PEER = "12D3KooWAuthor", "12D3KooWOther"


def sign(node: Node, who: Keypair, call: str, *args: object) -> Extrinsic:
    return sign_extrinsic(who, RUNTIME.call(call, *args), node.next_account_index(who.public),
                          node.chain.genesis_hash, RUNTIME.spec_version)


def submit(node: Node, who: Keypair, call: str, *args: object) -> Extrinsic:
    xt = sign(node, who, call, *args)
    node.pool.submit(xt.encode())
    return xt


def author(node: Node, blocks: int = 1) -> list[Extrinsic]:
    """Author `blocks` blocks as alice the way the node does; the extrinsics of the last."""
    chain, pool = node.chain, node.pool
    included: list[Extrinsic] = []
    for _ in range(blocks):
        imported, dropped = chain.author_block(chain.head.slot + 1, ALICE, [(t.xt, len(t.encoded))
                                                                            for t in pool.ready()])
        assert not dropped, dropped
        included = list(imported.block.transactions)
        pool.prune([x.hash() for x in included], [])
    return included


@dataclass
class History:
    """The author node's chain: a model registered with its blob, one job on it revealed in block `reveal_at`."""

    node: Node
    registered_at: int
    reveal_at: int
    job_id: int
    without_blob: list[Extrinsic]
    """The block authored while the node lacked the blob."""
    pooled: list[bytes]
    """The pool's extrinsics right after that block."""
    missing: dict[bytes, int]
    """`weights_source.take_missing()` right after that block."""
    reveal: Extrinsic
    remark: Extrinsic
    transfer: Extrinsic


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    node = Node(NodeConfig(chain="dev", base_path=tmp_path_factory.mktemp("author"), tmp=False, validator_key=ALICE,
                           rpc_port=free_port()))
    try:
        assert node.content.put(BLOB) == WEIGHTS  # the owner uploads, then registers
        submit(node, ALICE, "compute.register_provider", 8, 0, 2)
        submit(node, FERDIE, "compute.register_model", SPEC)
        author(node)
        submit(node, ALICE, "compute.serve_model", model_hash(SPEC), True)  # alice holds the weights: takes its jobs
        author(node)
        registered_at = node.chain.head.number
        assert compute.models.get(node.chain.state(), model_hash(SPEC)) is not None
        job_id = compute.next_job_id.get(node.chain.state())
        seed, items = b"\x21" * 32, 16
        submit(node, FERDIE, "compute.post_job", model_hash(SPEC), ZERO_HASH, seed, items, UNIT, 1, 120_000)
        author(node, 2)
        job = compute.jobs.get(node.chain.state(), job_id)
        result = MinerEngine().prepare(JobSpec(job_id, SPEC, seed, job.input_root, items))
        submit(node, ALICE, "compute.commit_result", job_id, result.commitment)
        author(node)
        start = compute.jobs.get(node.chain.state(), job_id).assignments[0].sample_from_slot
        author(node, max(1, start - node.chain.head.slot))
        job = compute.jobs.get(node.chain.state(), job_id)
        openings = result.openings(sample_of(job, job.assignments[0], 8))

        # the node loses the blob: the reveal is still pooled (its checks need no blob), but not included
        node.content.drop(WEIGHTS)
        weights_source.take_missing()
        reveal = submit(node, ALICE, "compute.reveal_result", job_id, result.output_root, result.salt, openings)
        remark = submit(node, ALICE, "system.remark", b"after the reveal")
        transfer = submit(node, BOB, "balances.transfer_allow_death", FERDIE.public, UNIT)
        without_blob = author(node)
        pooled = [t.hash for t in node.pool.pending()]
        missing = weights_source.take_missing()

        node.content.put(BLOB)  # fetched
        author(node)
        reveal_at = node.chain.head.number
        assert compute.jobs.get(node.chain.state(), job_id).assignments[0].state == VERIFIED
        yield History(node, registered_at, reveal_at, job_id, without_blob, pooled, missing, reveal, remark, transfer)
    finally:
        node.close()


def test_authoring_leaves_what_needs_a_missing_blob_in_the_pool(history: History) -> None:
    assert [x.hash() for x in history.without_blob] == [history.transfer.hash()]  # the other sender goes on
    assert history.pooled == [history.reveal.hash(), history.remark.hash()]  # alice waits, nothing dropped
    assert history.missing == {WEIGHTS: len(BLOB)}  # what the node then fetches
    block = history.node.chain.db.get_block(history.node.chain.db.canonical_hash(history.reveal_at))  # type: ignore[arg-type]
    assert block is not None
    assert [x.hash() for x in block.transactions] == [history.reveal.hash(), history.remark.hash()]


def block_bytes(node: Node, number: int) -> bytes:
    db = node.chain.db
    h = db.canonical_hash(number)
    raw = None if h is None else db.get_block_bytes(h)
    assert raw is not None
    return raw


def blocks_of(node: Node) -> list[bytes]:
    return [block_bytes(node, n) for n in range(1, node.chain.head.number + 1)]


def test_import_without_the_blob_waits_without_judging_then_takes_the_block(history: History, tmp_path: Path) -> None:
    importer = Chain(MemoryStore(), build_genesis(history.node.spec))
    store = ContentStore(tmp_path / "weights")
    weights_source.install(store)
    try:
        later = now_ms() + 10**9
        blocks = blocks_of(history.node)
        for raw in blocks[:history.reveal_at - 1]:
            assert importer.import_block(raw, later).status == "best"
        head = importer.head_hash
        weights_source.take_missing()
        for _ in range(2):  # again: still not judged, not remembered
            with pytest.raises(WeightsUnavailable) as exc:
                importer.import_block(blocks[history.reveal_at - 1], later)
            assert (exc.value.weights_hash, exc.value.size) == (WEIGHTS, len(BLOB))
            assert importer.head_hash == head and importer.head.number == history.reveal_at - 1
            reveal_hash = history.node.chain.db.canonical_hash(history.reveal_at)
            assert reveal_hash is not None and not importer.knows(reveal_hash)
        assert weights_source.take_missing() == {WEIGHTS: len(BLOB)}
        store.put(BLOB)
        for raw in blocks[history.reveal_at - 1:]:
            assert importer.import_block(raw, later).status == "best"
        assert importer.head_hash == history.node.chain.head_hash
    finally:
        weights_source.install(history.node.content)


class ServingPeer(RemotePeer):
    """A peer that serves its chain and the blobs of `store` (`weights/get`, without throttling)."""

    store: ContentStore | None = None

    def handle(self, protocol: str, data: bytes) -> bytes:
        if protocol != PROTOCOL:
            return super().handle(protocol, data)
        self.requests.append((protocol, data))
        assert self.store is not None
        h, index = decode_request(data)
        if index is None:
            return encode_manifest_response(self.store.manifest(h))
        return encode_chunk_response(index, self.store.get_chunk(h, index))


@pytest.fixture
def fresh(history: History, tmp_path: Path) -> Iterator[Node]:
    """A node of the same chain that never had the blob (its store is this process's weights source now)."""
    set_clock_skew_ms(3_600_000)  # the author ran ahead of the clock
    node = Node(NodeConfig(chain=str(history.node.data_dir / SPEC_FILE), base_path=tmp_path / "fresh", tmp=False,
                           validator_key=None, p2p_port=None))
    try:
        yield node
    finally:
        node.close()
        set_clock_skew_ms(0)
        weights_source.install(history.node.content)


def serving(history: History) -> ServingPeer:
    peer = ServingPeer(history.node.chain)
    peer.store = history.node.content
    return peer


def protocols(peer: RemotePeer) -> list[str]:
    return [p for p, _ in peer.requests]


async def settle(bridge: NetworkBridge) -> None:
    while bridge.weights.fetching:
        await asyncio.sleep(0)


async def test_sync_pauses_at_the_block_fetches_from_its_sender_and_resumes(
    history: History, fresh: Node, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    author_peer, other = serving(history), RemotePeer(history.node.chain, upto=1)
    p2p = FakeP2P({OTHER_PEER: other, AUTHOR_PEER: author_peer})
    bridge = NetworkBridge(fresh, p2p, now_ms)  # type: ignore[arg-type]
    await bridge.sync_once()
    assert fresh.chain.head.number == history.reveal_at - 1 and bridge.waits_for_weights()
    assert any("paused" in r.getMessage() for r in caplog.records)
    asked_blocks = protocols(author_peer).count("sync/blocks")
    await bridge.sync_once()  # paused: the blocks are not fetched again while the blob is on its way
    assert protocols(author_peer).count("sync/blocks") == asked_blocks
    await settle(bridge)
    assert fresh.content.get_weights(WEIGHTS) == BLOB
    assert protocols(author_peer).count(PROTOCOL) == 2 and PROTOCOL not in protocols(other)  # the sender first
    await bridge.tend_weights()  # the waiting block is imported, then catch-up goes on
    assert fresh.chain.head.number == history.reveal_at
    await bridge.sync_once()
    assert fresh.chain.head_hash == history.node.chain.head_hash
    assert not p2p.banned and not p2p.penalised
    assert not bridge.waits_for_weights()


async def test_a_gossiped_block_waits_for_its_blob_and_a_registration_starts_a_fetch(
    history: History, fresh: Node
) -> None:
    author_peer = serving(history)
    p2p = FakeP2P({AUTHOR_PEER: author_peer})
    bridge = NetworkBridge(fresh, p2p, now_ms)  # type: ignore[arg-type]
    db = history.node.chain.db
    for n in range(1, history.registered_at + 1):
        fresh.import_block(block_bytes(history.node, n))
    assert fresh.model_weights.missing() == [WEIGHTS]  # registered: needed, not held yet
    await bridge.tend_weights()
    assert bridge.weights.is_fetching(WEIGHTS)
    await settle(bridge)
    assert fresh.content.has(WEIGHTS) and fresh.model_weights.missing() == []
    # a blob the node lost comes back the same way when a gossiped block needs it
    fresh.content.drop(WEIGHTS)
    for n in range(history.registered_at + 1, history.reveal_at):
        fresh.import_block(block_bytes(history.node, n))
    block = db.get_block(db.canonical_hash(history.reveal_at))  # type: ignore[arg-type]
    assert block is not None
    assert await bridge._on_block_gossip(AUTHOR_PEER, block_gossip(block)) is None  # not forwarded, not blamed
    assert fresh.chain.head.number == history.reveal_at - 1 and bridge.weights.is_fetching(WEIGHTS)
    await settle(bridge)
    await bridge.tend_weights()
    assert fresh.chain.head_hash == block.hash()
    assert not p2p.banned and not p2p.penalised


class LyingPeer(ServingPeer):
    """A peer that serves its chain and its blob's true manifest, but the blob's chunk 0 with a byte flipped."""

    def handle(self, protocol: str, data: bytes) -> bytes:
        answer = super().handle(protocol, data)
        if protocol == PROTOCOL and decode_request(data)[1] == 0:
            chunk = decode_chunk_response(answer)
            assert chunk is not None
            return encode_chunk_response(0, bytes([chunk[1][0] ^ 1]) + chunk[1][1:])
        return answer


async def test_a_block_senders_weights_lie_bans_it_at_once_and_a_peer_that_connects_serves_the_blob(
    history: History, fresh: Node
) -> None:
    liar = LyingPeer(history.node.chain)
    liar.store = history.node.content
    p2p = FakeP2P({AUTHOR_PEER: liar})
    bridge = NetworkBridge(fresh, p2p, now_ms)  # type: ignore[arg-type]
    db = history.node.chain.db
    for n in range(1, history.reveal_at):
        fresh.import_block(block_bytes(history.node, n))
    block = db.get_block(db.canonical_hash(history.reveal_at))  # type: ignore[arg-type]
    assert block is not None
    assert await bridge._on_block_gossip(AUTHOR_PEER, block_gossip(block)) is None  # the block is not blamed
    await settle(bridge)
    # its first chunk was a lie about a blob it claimed to hold (it sent the block, then the true manifest): banned
    assert protocols(liar).count(PROTOCOL) == 2 and p2p.banned[AUTHOR_PEER].startswith("wrong content: ")
    assert not p2p.penalised
    status = fresh.content.status(WEIGHTS)
    assert (status.state, status.have) == (PARTIAL, 0) and fresh.chain.head.number == history.reveal_at - 1
    # an honest peer connects: the weights loop is woken, and the fetch starts again without its retry pause
    p2p.remote[OTHER_PEER] = serving(history)
    await bridge._on_peer_connected(OTHER_PEER)
    assert bridge._tend_weights_now.is_set()
    await bridge.tend_weights()
    assert bridge.weights.is_fetching(WEIGHTS)
    await settle(bridge)
    await bridge.tend_weights()  # the waiting block is imported
    assert fresh.chain.head_hash == block.hash()
    while bridge._sync_lock.locked():  # the catch-up the connection started
        await asyncio.sleep(0)
    assert list(p2p.banned) == [AUTHOR_PEER] and not p2p.penalised
