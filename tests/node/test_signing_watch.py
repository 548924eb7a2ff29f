"""The node's signing gates (`btt_chain.node.signing_watch`) on real `Node`s with a stand-in network: a validator signs
nothing before it has caught up with its peers, one started without records on a chain past genesis watches for a
second signer of its keys first (and refuses for good when it sees one), and one process never signs for two
validator accounts at once."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from btt_chain.consensus.checkpoints import epoch_of
from btt_chain.node.health import get_health
from btt_chain.node.service import Node, NodeConfig, now_ms, set_clock_skew_ms
from btt_chain.node.signing_records import block_record_path, vote_record_path
from btt_chain.node.sync import PeerStatus
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint, Justification, sign_vote
from genesis.devnet import devnet_spec_doc
from genesis.loader import canonical_json
from tests.support.node_builder import author_as_leader

ALICE, BOB = dev_keypair("alice"), dev_keypair("bob")
EPOCH_SLOTS = 5
PEER = "12D3KooWPeerPeerPeer"


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """A two-validator devnet (alice, bob) whose genesis was a minute ago."""
    path = tmp_path / "spec.json"
    path.write_bytes(canonical_json(devnet_spec_doc(2, (now_ms() // 1000 - 60) * 1000, EPOCH_SLOTS)))
    return path


def start_node(spec: Path, base: Path, key=ALICE, bootnodes: tuple[str, ...] = (), epochs: int = 2) -> Node:
    return Node(NodeConfig(chain=str(spec), base_path=base, tmp=False, validator_key=key, validator=True,
                           p2p_port=None if not bootnodes else 1, bootnodes=bootnodes, doppelganger_epochs=epochs))


def attach_peers(node: Node, statuses: dict[str, PeerStatus]) -> None:
    """A stand-in for the network: the peers connected now and the statuses its sync asked them for."""
    node.network = SimpleNamespace(peer_best=statuses)  # type: ignore[assignment]
    node.p2p = SimpleNamespace(peers=lambda: [SimpleNamespace(peer_id=p) for p in statuses])  # type: ignore[assignment]


def status_of(node: Node) -> PeerStatus:
    c = node.chain
    return PeerStatus(c.head.number, c.head_hash, c.finalized.number, c.finalized_hash)


def slot_now(node: Node) -> int:
    return node.chain.clock.slot_at(now_ms())


def grow_chain(spec: Path, base: Path, blocks: int) -> None:
    """A validator that authored `blocks` blocks (both keys) and stopped; its signing records are then lost."""
    node = start_node(spec, base)
    try:
        for _ in range(blocks):
            author_as_leader(node.chain, ("alice", "bob"))
    finally:
        node.close()
    genesis = node.chain.genesis_hash
    for path in (block_record_path(node.data_dir, genesis), vote_record_path(node.data_dir, genesis)):
        path.unlink(missing_ok=True)


# sync before signing -----------------------------------------------------------------------------------------------
def test_a_node_without_peers_to_expect_signs_at_once(spec: Path, tmp_path: Path, nodes: list[Node]) -> None:
    node = start_node(spec, tmp_path / "lone")
    nodes.append(node)
    assert node.signing.may_sign_block(ALICE, slot_now(node))
    assert get_health(node)[1]["signing"] == {"state": "signing", "message": None}


def test_a_validator_signs_nothing_before_it_has_caught_up_and_says_why_once(spec: Path, tmp_path: Path,
                                                                            nodes: list[Node], caplog) -> None:
    caplog.set_level(logging.INFO, "btt.node")
    node = start_node(spec, tmp_path / "v", bootnodes=("/ip4/127.0.0.1/tcp/1/p2p/x",))
    nodes.append(node)
    attach_peers(node, {})
    slot = slot_now(node)
    for _ in range(3):
        assert not node.signing.may_sign_block(ALICE, slot)
    assert node.signing.describe() == {"state": "waiting for sync", "message": "no peer has told its best and "
                                                                             "finalized blocks yet"}
    ahead = PeerStatus(40, b"\x07" * 32, 30, b"\x08" * 32)  # a chain this node does not hold
    attach_peers(node, {PEER: ahead})
    for _ in range(3):
        assert not node.signing.may_sign_block(ALICE, slot)
        assert not node.signing.may_sign_vote(ALICE, cp(1), _voters(node))
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("not signing yet")]
    assert len(waits) == 2, waits  # once for no peer, once for the peer's finality: not every slot
    assert "finalized #30" in waits[1]
    # a peer that disconnected no longer counts; one at our height (everyone at genesis) lets it sign
    attach_peers(node, {PEER + "2": status_of(node)})
    assert node.signing.may_sign_block(ALICE, slot)
    assert not node.signing.watch or node.signing.watch.epochs == 0  # at genesis: no watch


def _voters(node: Node):
    from btt_chain.consensus.validator_set import ValidatorSet

    return ValidatorSet.from_infos(node.chain.validators())


# the doppelganger watch --------------------------------------------------------------------------------------------
def test_without_records_on_a_chain_past_genesis_it_watches_then_signs(spec: Path, tmp_path: Path,
                                                                       nodes: list[Node], caplog) -> None:
    caplog.set_level(logging.INFO, "btt.node")
    grow_chain(spec, tmp_path / "v", blocks=6)
    node = start_node(spec, tmp_path / "v", bootnodes=("/ip4/127.0.0.1/tcp/1/p2p/x",))
    nodes.append(node)
    assert not node.signing.had_records and node.chain.head.number == 6
    attach_peers(node, {PEER: status_of(node)})
    watch = node.signing.watch
    assert watch is not None
    start = watch.start_slot
    assert not node.signing.may_sign_block(ALICE, start)
    assert node.signing.watch is not None and node.signing.watch.end_slot == (start // EPOCH_SLOTS + 3) * EPOCH_SLOTS
    assert node.signing.describe()["state"] == "watching"  # type: ignore[index]
    # its own old vote, gossiped (or in a justification), is folded: it will never sign below it
    old = sign_vote(ALICE, node.chain.genesis_hash, cp(2), cp(3))
    node.signing.observe_vote(old)
    guard = node.finality.guard
    assert guard is not None and (guard.max_source, guard.max_target) == (2, 3)
    assert not guard.path.exists()  # in memory until it signs: a restart watches again
    assert not guard.may_sign(1, 4)
    # a stranger's vote, and a vote under our key with a bad signature, are nothing
    node.signing.observe_vote(sign_vote(dev_keypair("charlie"), node.chain.genesis_hash, cp(5), cp(start)))
    forged = sign_vote(ALICE, b"\x00" * 32, cp(5), cp(start // EPOCH_SLOTS + 1))  # signed for another chain
    node.signing.observe_vote(forged)
    assert node.signing.watch is not None and node.signing.watch.sighting is None
    # the epochs pass clean: it signs
    end = node.signing.watch.end_slot
    set_clock_skew_ms(node.chain.clock.slot_start_ms(end) - now_ms())
    assert not node.signing.may_sign_block(ALICE, end - 1)
    assert node.signing.may_sign_block(ALICE, end)
    assert any("doppelganger watch passed clean" in r.getMessage() for r in caplog.records)


def test_its_own_new_vote_seen_while_watching_refuses_signing_for_good(spec: Path, tmp_path: Path,
                                                                       nodes: list[Node], caplog) -> None:
    grow_chain(spec, tmp_path / "v", blocks=3)
    node = start_node(spec, tmp_path / "v", bootnodes=("/ip4/127.0.0.1/tcp/1/p2p/x",))
    nodes.append(node)
    attach_peers(node, {PEER: status_of(node)})
    assert not node.signing.may_sign_block(ALICE, slot_now(node))
    watch = node.signing.watch
    assert watch is not None
    twin = sign_vote(ALICE, node.chain.genesis_hash, cp(2), cp(watch.first_epoch))  # another process's vote
    raw = Justification(cp(watch.first_epoch), cp(2), (twin,)).encode()
    node.signing.observe_justification(raw)
    assert node.signing.refused
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith("DOPPELGANGER: vote 2 -> ")
    node.network = node.p2p = None  # /health of a refused validator: 503, whatever else holds
    healthy, body = get_health(node)
    assert not healthy and body["signing"]["state"] == "refused"
    set_clock_skew_ms(node.chain.clock.slot_start_ms(watch.end_slot + 100) - now_ms())
    assert not node.signing.may_sign_block(ALICE, watch.end_slot + 100)
    target = cp(watch.first_epoch + 30)
    assert not node.signing.may_sign_vote(ALICE, target, _voters(node))
    assert node.finality.guard is not None and node.finality.guard.max_target == -1  # not taken for its own vote


def test_a_block_of_its_own_key_after_it_started_refuses_signing(spec: Path, tmp_path: Path,
                                                                 nodes: list[Node]) -> None:
    grow_chain(spec, tmp_path / "v", blocks=3)
    node = start_node(spec, tmp_path / "v", bootnodes=("/ip4/127.0.0.1/tcp/1/p2p/x",))
    nodes.append(node)
    watch = node.signing.watch
    assert watch is not None
    old = node.chain.head  # its own block from before the start: not a sighting
    node.signing.observe_block(old)
    assert not node.signing.refused
    twin = old.replace(slot=watch.start_slot + 1)
    node.signing.observe_block(twin.replace(author=BOB.public))  # bob's key is not this node's
    assert not node.signing.refused
    node.signing.observe_block(twin.replace(author=ALICE.public))
    assert node.signing.refused


def test_with_records_it_does_not_wait_but_still_refuses_a_second_signer(spec: Path, tmp_path: Path,
                                                                        nodes: list[Node]) -> None:
    grow_chain(spec, tmp_path / "v", blocks=3)
    data = tmp_path / "v" / "chains" / "devnet"
    node = start_node(spec, tmp_path / "v")
    genesis = node.chain.genesis_hash
    node.close()
    from btt_chain.consensus.vote_guard import VoteGuard

    VoteGuard(vote_record_path(data, genesis)).record(cp(1), cp(2))
    node = start_node(spec, tmp_path / "v", bootnodes=("/ip4/127.0.0.1/tcp/1/p2p/x",))
    nodes.append(node)
    attach_peers(node, {PEER: status_of(node)})
    assert node.signing.had_records and node.signing.may_sign_block(ALICE, slot_now(node))
    ours = sign_vote(ALICE, genesis, cp(1), cp(2))  # in its record: its own
    node.signing.observe_vote(ours)
    assert node.signing.may_sign_block(ALICE, slot_now(node))
    epoch = epoch_of(slot_now(node), EPOCH_SLOTS)
    twin = sign_vote(ALICE, genesis, cp(2), cp(epoch + 3))  # after either start, whatever the clock
    node.signing.observe_vote(twin)
    assert not node.signing.may_sign_block(ALICE, slot_now(node))
    # restarted without anything fixed: the second signer's vote is still not taken for its own
    nodes.remove(node)
    node.network = node.p2p = None
    node.close()
    node = start_node(spec, tmp_path / "v", bootnodes=("/ip4/127.0.0.1/tcp/1/p2p/x",))
    nodes.append(node)
    attach_peers(node, {PEER: status_of(node)})
    assert node.signing.may_sign_block(ALICE, slot_now(node))
    node.signing.observe_vote(twin)
    assert node.signing.refused and not node.signing.may_sign_block(ALICE, slot_now(node))


def test_a_zero_watch_is_off(spec: Path, tmp_path: Path, nodes: list[Node]) -> None:
    grow_chain(spec, tmp_path / "v", blocks=3)
    node = start_node(spec, tmp_path / "v", bootnodes=("/ip4/127.0.0.1/tcp/1/p2p/x",), epochs=0)
    nodes.append(node)
    attach_peers(node, {PEER: status_of(node)})
    assert node.signing.watch is None and node.signing.may_sign_block(ALICE, slot_now(node))


# one process, one validator ----------------------------------------------------------------------------------------
def test_keys_of_two_validators_in_one_node_sign_for_the_first_only(spec: Path, tmp_path: Path, nodes: list[Node],
                                                                     caplog) -> None:
    caplog.set_level(logging.INFO, "btt.node")
    node = start_node(spec, tmp_path / "v")
    nodes.append(node)
    node.keys.insert(BOB)  # bob's session key put into alice's node: set-keys pointed at the wrong node
    slot = slot_now(node)
    assert node.signing.may_sign_block(ALICE, slot)
    assert not node.signing.may_sign_block(BOB, slot)
    voters = _voters(node)
    assert node.signing.may_sign_vote(ALICE, cp(1), voters) and not node.signing.may_sign_vote(BOB, cp(1), voters)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("signing for validator" in m and m.startswith("signing") for m in messages) == 2
    errors = [m for r, m in zip(caplog.records, messages, strict=True) if r.levelno == logging.ERROR]
    assert any(m.startswith("refusing to sign for validator") for m in errors)
    # each epoch again, once
    for _ in range(EPOCH_SLOTS + 1):
        author_as_leader(node.chain, ("alice",))
    caplog.clear()
    assert not node.signing.may_sign_block(BOB, slot)
    assert node.signing.may_sign_block(ALICE, slot)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len([m for m in errors if m.startswith("refusing to sign for validator")]) == 1


def test_a_node_with_one_validators_keys_is_never_refused(spec: Path, tmp_path: Path, nodes: list[Node],
                                                          caplog) -> None:
    node = start_node(spec, tmp_path / "v")
    nodes.append(node)
    assert node.signing.may_sign_block(ALICE, slot_now(node))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def cp(epoch: int) -> Checkpoint:
    return Checkpoint(epoch, blake2b_256(b"cp/%d" % epoch))


# rebuilding a lost record --------------------------------------------------------------------------------------------
def test_without_records_it_rebuilds_what_its_database_shows_it_signed(spec: Path, tmp_path: Path,
                                                                       nodes: list[Node]) -> None:
    """Found by the finality simulation: a validator that lost its signing records (its database kept) signed a link
    from a source below one it had signed from before, a surround vote of its own. Started without records, it now
    folds in its own votes from the justifications beside its justified checkpoints, and takes the latest checkpoint
    it holds justified as the highest source it may have signed from."""
    from btt_chain.consensus.checkpoints import checkpoint_for_epoch

    base = tmp_path / "v"
    node = start_node(spec, base)
    chain = node.chain
    while chain.head.slot < 4 * EPOCH_SLOTS:
        author_as_leader(chain, ("alice", "bob"))

    def header_at(n: int):  # type: ignore[no-untyped-def]
        h = chain.db.canonical_hash(n)
        return None if h is None else chain.db.get_header(h)

    checkpoints = [checkpoint_for_epoch(e, header_at, chain.head.number, epoch_slots=EPOCH_SLOTS) for e in range(4)]
    for source, target in zip(checkpoints, checkpoints[1:], strict=False):
        for key in (ALICE, BOB):
            node.finality.on_vote_gossip(PEER, sign_vote(key, chain.genesis_hash, source, target).encode())
    assert node.finality.tracker.latest_justified.epoch == 3
    genesis = chain.genesis_hash
    node.close()
    for path in (block_record_path(node.data_dir, genesis), vote_record_path(node.data_dir, genesis)):
        path.unlink(missing_ok=True)

    again = start_node(spec, base)
    nodes.append(again)
    guard = again.finality.guard
    assert guard is not None and not again.signing.had_records
    assert (guard.max_source, guard.max_target) == (3, 3)  # its votes 2 -> 3 and the latest justified checkpoint, 3
    assert not guard.may_sign(2, 5), "a link from below a source it may have signed from would surround that vote"
    assert guard.may_sign(3, 5)
    assert not guard.path.exists()  # in memory until it signs


async def test_a_watching_validator_folds_the_votes_of_its_keys_its_peers_hold(spec: Path, tmp_path: Path,
                                                                               nodes: list[Node]) -> None:
    """While it watches, a validator without records asks its peers for the votes of its keys they hold (`votes/held`)
    and folds those signed before it started: a vote nobody stored in a justification is still in peers' memory."""
    from btt_chain.node.network import NetworkBridge
    from btt_chain.node.sync import decode_bytes_list, encode_bytes_list
    from tests.support.long_range import FakeP2P

    peer_node = start_node(spec, tmp_path / "peer", key=BOB)
    nodes.append(peer_node)
    chain = peer_node.chain
    while chain.head.slot < 3 * EPOCH_SLOTS:
        author_as_leader(chain, ("alice", "bob"))
    target = peer_node.finality._head_checkpoint(2)  # noqa: SLF001 - the checkpoint of epoch 2 on its chain
    old = sign_vote(ALICE, chain.genesis_hash, Checkpoint(0, chain.genesis_hash), target)
    assert peer_node.finality.tracker.add_vote(old).status.value == "accepted"
    served = NetworkBridge(peer_node, FakeP2P({}), now_ms)  # type: ignore[arg-type]
    answer = await served._serve_held_votes(PEER, encode_bytes_list([ALICE.public]))  # noqa: SLF001
    assert [v for v in decode_bytes_list(answer)] == [old.encode()]
    assert decode_bytes_list(await served._serve_held_votes(PEER, encode_bytes_list([b"\x09" * 32]))) == []  # noqa: SLF001

    grow_chain(spec, tmp_path / "v", blocks=3)
    node = start_node(spec, tmp_path / "v", bootnodes=("/ip4/127.0.0.1/tcp/1/p2p/x",))
    nodes.append(node)
    assert node.signing.wants_held_votes()

    class Peer:
        def handle(self, protocol: str, data: bytes) -> bytes:
            assert protocol == "votes/held" and decode_bytes_list(data) == [ALICE.public]
            return answer

    bridge = NetworkBridge(node, FakeP2P({PEER: Peer()}), now_ms)  # type: ignore[arg-type, dict-item]
    await bridge._fetch_held_votes(PEER)  # noqa: SLF001
    guard = node.finality.guard
    assert guard is not None and (guard.max_source, guard.max_target) == (0, 2)
    assert node.signing.watch is not None and node.signing.watch.sighting is None  # an old vote, not a second signer
