"""Long-range attack tests: a fresh node is offered a fake, "finalized" history signed by validators that have
left (their keys hold no stake on the real chain). With a trusted checkpoint on the real chain it refuses the
fake, bans whoever offered it and syncs the real chain; without one it says it has no such protection.

The node, its finality service and its sync code are the real ones; peers are in-process (`FakeP2P`)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from btt_chain.node import sync
from btt_chain.node.chain import Chain, ConflictsWithFinality
from btt_chain.node.checkpoint import CheckpointConflict, CheckpointGuard
from btt_chain.node.network import NetworkBridge
from btt_chain.node.service import Node, NodeConfig, now_ms
from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint, Justification, sign_vote
from genesis.spec import TrustedCheckpoint
from runtime.bonds import logic as bonds
from storage.memory import MemoryStore
from tests.support.long_range import GENESIS_VALIDATORS, FakeP2P, LongRange, RemotePeer, block_gossip, build_long_range

ATTACKER, HONEST = "12D3KooWAttacker", "12D3KooWHonest"
CONFLICT = "checkpoint conflict: peer"
NO_PROTECTION = "syncing without weak-subjectivity protection"


@pytest.fixture(scope="module")
def lr() -> LongRange:
    scenario = build_long_range()
    # the attack as described: the genesis validators hold nothing on the real chain, yet sign the fake one
    for name in GENESIS_VALIDATORS:
        assert bonds.bonded(scenario.real.state(), dev_keypair(name).public) == 0
    assert [v.session_key for v in scenario.real.validators()] == [dev_keypair("charlie").public]
    assert scenario.fake.head.number > scenario.real.head.number
    assert scenario.fake.finalized.number > 0 and scenario.fake_justifications
    return scenario


def start_node(lr: LongRange, tmp_path: Path, checkpoint: TrustedCheckpoint | None) -> Node:
    spec = lr.write_spec(tmp_path)
    return Node(NodeConfig(chain=str(spec), base_path=tmp_path / "node", tmp=False, validator_key=None,
                           p2p_port=None, checkpoint=checkpoint))


async def sync_rounds(node: Node, p2p: FakeP2P, rounds: int = 3) -> NetworkBridge:
    bridge = NetworkBridge(node, p2p, now_ms)  # type: ignore[arg-type]
    for _ in range(rounds):
        await bridge.sync_once()
    return bridge


def messages(caplog: pytest.LogCaptureFixture, needle: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if needle in r.getMessage()]


def assert_on_real_chain(node: Node, lr: LongRange) -> None:
    chain = node.chain
    assert chain.head_hash == lr.real.head_hash
    assert chain.finalized_hash == lr.checkpoint.hash and chain.finalized.number == lr.checkpoint.number
    assert node.checkpoint.reached
    # nothing the genesis keys signed on the fake chain was taken as justified or final
    for target in lr.fake_justifications:
        assert chain.db.justification(target) is None
    assert node.finality.tracker.finalized.block_hash not in lr.fake_justifications


# ------------------------------------------------------------------------------------------ the attack


async def test_fresh_node_with_checkpoint_refuses_the_fake_history_bans_its_peer_and_syncs_the_real_one(
    lr: LongRange, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    node = start_node(lr, tmp_path, lr.checkpoint)
    try:
        # the attacker is asked first, and its fake chain is the longer one
        p2p = FakeP2P({ATTACKER: RemotePeer(lr.fake, lr.fake_justifications), HONEST: RemotePeer(lr.real)})
        await sync_rounds(node, p2p)
        assert set(p2p.banned) == {ATTACKER}
        assert str(lr.checkpoint) in p2p.banned[ATTACKER]
        fake_at_cp = lr.fake_block(lr.checkpoint.number).hash()
        [line] = messages(caplog, CONFLICT)
        assert ATTACKER in line and f"block #{lr.checkpoint.number} 0x{fake_at_cp.hex()}" in line
        assert str(lr.checkpoint) in line and "from --checkpoint" in line and "banning it" in line
        # refused on its probe: not one of its blocks was downloaded
        assert not any(node.chain.knows(lr.fake_block(n).hash()) for n in range(1, lr.fake.head.number + 1))
        assert_on_real_chain(node, lr)
        assert not messages(caplog, NO_PROTECTION)
    finally:
        node.close()


async def test_a_peer_that_lies_to_the_probe_is_caught_at_the_checkpoint_block_and_the_node_recovers(
    lr: LongRange, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    node = start_node(lr, tmp_path, lr.checkpoint)
    real_cp = lr.real.db.get_block_bytes(lr.checkpoint.hash)
    assert real_cp is not None
    try:
        liar = RemotePeer(lr.fake, lr.fake_justifications, probe_answers={lr.checkpoint.number: real_cp})
        p2p = FakeP2P({ATTACKER: liar})
        await sync_rounds(node, p2p, rounds=1)
        # it fed us its blocks below the checkpoint (we cannot tell them apart yet), but not the one at it
        assert set(p2p.banned) == {ATTACKER}
        assert node.chain.head_hash == lr.fake_block(lr.checkpoint.number - 1).hash()
        assert node.chain.finalized.number == 0, "nothing may be finalized before the checkpoint is in"
        [line] = messages(caplog, CONFLICT)
        assert f"{ATTACKER} offered block #{lr.checkpoint.number} " in line and "by sync" in line

        p2p.remote[HONEST] = RemotePeer(lr.real)
        bridge = await sync_rounds(node, p2p, rounds=2)
        assert messages(caplog, "is not on the chain of"), "the fake blocks were not rewound"
        assert_on_real_chain(node, lr)
        assert set(p2p.banned) == {ATTACKER}

        # a descendant of the fake block at the checkpoint, gossiped by another peer, is refused too
        p2p.remote["12D3KooWOther"] = RemotePeer(lr.fake)
        child = lr.fake_block(lr.checkpoint.number + 1)
        assert await bridge._on_block_gossip("12D3KooWOther", block_gossip(child)) is False
        assert "12D3KooWOther" in p2p.banned
    finally:
        node.close()


async def test_blocks_from_a_peer_that_claims_to_be_below_the_checkpoint_are_rewound_once_it_arrives(
    lr: LongRange, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    node = start_node(lr, tmp_path, lr.checkpoint)
    try:
        below = lr.checkpoint.number - 1
        p2p = FakeP2P({ATTACKER: RemotePeer(lr.fake, lr.fake_justifications, upto=below)})
        await sync_rounds(node, p2p, rounds=1)
        assert node.chain.head_hash == lr.fake_block(below).hash() and node.chain.finalized.number == 0
        p2p.remote[HONEST] = RemotePeer(lr.real)
        await sync_rounds(node, p2p, rounds=2)
        assert messages(caplog, f"is not on the chain of {HONEST}")
        assert_on_real_chain(node, lr)
        assert not p2p.banned  # nothing it sent could be proven wrong; it just was not the checkpoint's chain
    finally:
        node.close()


async def test_a_gossiped_block_that_conflicts_with_the_checkpoint_bans_its_sender(
    lr: LongRange, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    node = start_node(lr, tmp_path, lr.checkpoint)
    try:
        p2p = FakeP2P({HONEST: RemotePeer(lr.real), ATTACKER: RemotePeer(lr.fake)})
        bridge = NetworkBridge(node, p2p, now_ms)  # type: ignore[arg-type]
        fake = lr.fake_block(lr.checkpoint.number)
        assert await bridge._on_block_gossip(ATTACKER, block_gossip(fake)) is False
        assert set(p2p.banned) == {ATTACKER}
        [line] = messages(caplog, CONFLICT)
        assert f"{ATTACKER} offered block #{lr.checkpoint.number} 0x{fake.hash().hex()}" in line
        assert "by gossip" in line
        await bridge.sync_once()
        assert_on_real_chain(node, lr)
    finally:
        node.close()


async def test_without_a_checkpoint_the_node_warns_once_that_it_has_no_protection(
    lr: LongRange, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    node = start_node(lr, tmp_path, None)
    try:
        p2p = FakeP2P({ATTACKER: RemotePeer(lr.fake, lr.fake_justifications), HONEST: RemotePeer(lr.real)})
        await sync_rounds(node, p2p)
        [warning] = messages(caplog, NO_PROTECTION)
        assert "--checkpoint HASH@NUMBER" in warning and "unbonding period (28.0 days)" in warning
        # which is why it matters: this node now follows the fake history the former validators signed
        assert node.chain.head_hash == lr.fake.head_hash
        assert node.checkpoint.describe() is None
    finally:
        node.close()


# ------------------------------------------------------------------------------------------ the rules


def guarded_chain(lr: LongRange, checkpoint: TrustedCheckpoint, kv: MemoryStore | None = None) -> Chain:
    chain = Chain(kv or MemoryStore(), lr.genesis)
    guard = CheckpointGuard(chain, checkpoint, "--checkpoint", 28 * 86_400_000, now_ms)
    guard.install()
    guard.connect(lambda raw, peer: True, lambda header, h: None)
    return chain


def import_canonical(dst: Chain, src: Chain, upto: int | None = None) -> None:
    for n in range(1, (upto if upto is not None else src.head.number) + 1):
        raw = src.db.get_block_bytes(src.db.canonical_hash(n))  # type: ignore[arg-type]
        assert raw is not None
        dst.import_block(raw, now_ms())


def test_chain_refuses_the_checkpoint_number_and_everything_above_it_on_another_chain(lr: LongRange) -> None:
    cp = lr.checkpoint
    chain = guarded_chain(lr, cp)
    import_canonical(chain, lr.fake, cp.number - 1)  # below the checkpoint nothing can be told apart
    with pytest.raises(ConflictsWithFinality, match="waits until the trusted checkpoint"):
        chain.finalize(chain.head_hash)
    for n in (cp.number, cp.number + 1, cp.number + 2):
        with pytest.raises(CheckpointConflict, match=str(cp)):
            chain.import_block(lr.fake_block(n).encode(), now_ms())
    assert chain.head.number == cp.number - 1 and chain.finalized.number == 0
    chain.rewind_to_finalized()
    import_canonical(chain, lr.real)
    assert chain.head_hash == lr.real.head_hash and chain.finalized_hash == cp.hash


def test_a_justification_of_a_refused_block_bans_the_peer(lr: LongRange) -> None:
    cp = lr.checkpoint
    chain = guarded_chain(lr, cp)
    guard = chain.guard
    assert isinstance(guard, CheckpointGuard)
    p2p = FakeP2P({ATTACKER: RemotePeer(lr.fake)})
    guard.attach(p2p)  # type: ignore[arg-type]
    fake = lr.fake_block(cp.number)
    with pytest.raises(CheckpointConflict):
        chain.import_block(fake.encode(), now_ms())
    source, target = Checkpoint(0, lr.genesis.hash), Checkpoint(fake.header.slot // 5 + 1, fake.hash())
    votes = tuple(sign_vote(dev_keypair(n), lr.genesis.hash, source, target) for n in GENESIS_VALIDATORS)
    assert guard.import_justification(Justification(target, source, votes).encode(), ATTACKER) is False
    assert ATTACKER in p2p.banned


async def test_syncing_past_a_checkpoint_older_than_the_unbonding_period_warns_once(
    lr: LongRange, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    chain = guarded_chain(lr, lr.checkpoint)
    import_canonical(chain, lr.real, lr.checkpoint.number)
    guard = chain.guard
    assert isinstance(guard, CheckpointGuard) and guard.reached
    p2p = FakeP2P({HONEST: RemotePeer(lr.real)})
    status = sync.PeerStatus.decode(p2p.remote[HONEST].handle("sync/status", b""))
    for _ in range(2):
        assert await guard.vet_peer(p2p, HONEST, status) is True  # type: ignore[arg-type]
    [warning] = messages(caplog, "syncing with a stale checkpoint")
    assert f"#{lr.checkpoint.number} is 3" in warning and "Pass a more recent --checkpoint" in warning


def test_a_database_that_conflicts_with_the_checkpoint_refuses_to_start(lr: LongRange) -> None:
    kv = MemoryStore()
    chain = Chain(kv, lr.genesis)
    import_canonical(chain, lr.fake, lr.checkpoint.number + 1)
    with pytest.raises(StorageError, match=f"conflicts with the trusted checkpoint {lr.checkpoint}"):
        CheckpointGuard(chain, lr.checkpoint, "--checkpoint", 1, now_ms).install()

    # a database that holds the checkpoint starts with it final, however far finality had got
    kv2 = MemoryStore()
    import_canonical(Chain(kv2, lr.genesis), lr.real)
    restarted = guarded_chain(lr, lr.checkpoint, kv2)
    assert restarted.finalized_hash == lr.checkpoint.hash
    assert restarted.guard is not None and restarted.guard.reached  # type: ignore[attr-defined]
