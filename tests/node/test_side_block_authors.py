"""Which side blocks a node takes by their author before it executes them: a block off the head must be sealed by a
key scheduled in the head's state, or among the validators of the block where its branch leaves the canonical chain
(the sets active and queued there), or claimed by one of them (its signed set_keys, asked of the sender). A validator
slashed on our branch after a fork still authored soundly on the other; its blocks there import (and a peer relaying
them is not banned, as an honest node's peers were once, leaving it alone on its own fork); so do a leaving
validator's in the rest of its epoch, and a key rotated on the other branch once its claim is kept. A stranger's block
is not taken, by a refusal that blames nobody and leaves the tree as it was. Randomized branches with slashes,
rotations and outages check the whole rule: a node of any branch takes every block of the others."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from pathlib import Path
from typing import Any

import pytest

from btt_chain.consensus.fork_choice import fork_choice_key
from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.node import network
from btt_chain.node.chain import FORK_SCHEDULES_KEPT, Chain, UnjudgedAuthor
from btt_chain.node.network import NetworkBridge
from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.block import Block, Header, extrinsics_root
from btt_chain.primitives.errors import InvalidBlock
from btt_chain.primitives.extrinsic import TRANSACTION_VERSION, Extrinsic, sign_extrinsic
from btt_chain.primitives.hash_chain import hash_chain_for
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.key_authorization import KeyAuthorization, decode_key_authorization
from btt_chain.primitives.keys import Keypair, dev_keypair
from genesis.build import build_genesis
from genesis.devnet import DEVNET_VALIDATORS, devnet_spec_doc
from genesis.loader import canonical_json, parse_chain_spec
from runtime.consensus import logic as consensus
from runtime.modules import RUNTIME
from runtime.session.types import SessionKeys
from runtime.system import storage as system
from storage.memory import MemoryStore
from tests.node.test_key_claims import set_keys_claim
from tests.support.long_range import FakeP2P, RemotePeer
from tests.support.node_builder import (
    GENESIS_TIME_MS,
    author_as_leader,
    block_bytes,
    devnet_genesis,
    far_future_ms,
    new_chain,
)
from tests.support.session_proof import possession_proof, registration

BOB = dev_keypair("bob")


def validator_accounts(record: bytes | None) -> set[bytes]:
    assert record is not None
    return set(ValidatorSet.decode(record).accounts.values())
PEER = "12D3KooWHonestRelay"


def equivocation_report(chain: Chain, reporter: str, offender: Keypair, slot: int):
    """`reporter`'s signed report of two different headers `offender` sealed for `slot`."""
    base = chain.head
    a, b = (dataclasses.replace(base, slot=slot, author=offender.public, state_root=blake2b_256(tag)).sealed(
        offender, chain.genesis_hash) for tag in (b"a", b"b"))
    pair = dev_keypair(reporter)
    nonce = system.account.get(chain.state(), pair.public).nonce
    call = RUNTIME.call("evidence.report_block_equivocation", a.encode(), b.encode())
    return sign_extrinsic(pair, call, nonce, chain.genesis_hash, RUNTIME.spec_version)


def slashed_branch_and_fork() -> tuple[Chain, Block]:
    """(x, a block by bob on another branch from genesis): x reported bob's equivocation and authored on until bob is
    in neither of its head's schedules."""
    g = devnet_genesis(3, epoch_slots=4)
    x, y = new_chain(genesis=g), new_chain(genesis=g)
    author_as_leader(y, ("bob",))
    bobs = y.db.get_block(y.head_hash)
    assert bobs is not None and bobs.header.author == BOB.public
    author_as_leader(x, ("alice", "charlie"), [equivocation_report(x, "charlie", BOB, 3)])
    while consensus.is_scheduled(x.state(), BOB.public):
        author_as_leader(x, ("alice", "charlie"))
    assert x.head.number >= 2 and consensus.is_scheduled(x.state(), dev_keypair("alice").public)
    return x, bobs


def test_a_block_by_a_validator_slashed_on_our_branch_after_the_fork_imports_as_a_side_block() -> None:
    x, bobs = slashed_branch_and_fork()
    head = x.head_hash
    result = x.import_block(bobs.encode(), far_future_ms())
    assert result.status == "side" and x.knows(bobs.hash()) and x.head_hash == head


def test_a_block_by_a_validator_leaving_at_the_branch_points_epoch_end_imports_as_a_side_block() -> None:
    """Bob is reported in the block both branches share: he is out of the queued set there, but still in the set of
    that epoch, and authors in it on their branch. Our branch has moved past the epoch, so no schedule of our head
    names him; the set active at the branch point (recorded beside its epoch's checkpoint) does."""
    g = devnet_genesis(3, epoch_slots=4)
    ours, theirs = new_chain(genesis=g), new_chain(genesis=g)
    epoch_slots = ours.clock.epoch_slots
    author_as_leader(ours, ("alice", "charlie"), [equivocation_report(ours, "charlie", BOB, 3)])
    shared = ours.head
    theirs.import_block(block_bytes(ours, 1), far_future_ms())
    queued = ours.db.voter_set_hash(ours.head_hash)
    assert queued is not None and BOB.public not in validator_accounts(ours.db.voter_set(queued))
    epoch = shared.slot // epoch_slots
    slot = next(s for s in range(shared.slot + 1, (epoch + 1) * epoch_slots) if theirs.leader(s) == BOB.public)
    theirs.author_block(slot, BOB, [])
    bobs = theirs.db.get_block(theirs.head_hash)
    assert bobs is not None and bobs.header.author == BOB.public
    while consensus.is_scheduled(ours.state(), BOB.public) or ours.head.slot // epoch_slots <= epoch:
        author_as_leader(ours, ("alice", "charlie"))
    assert ours.import_block(bobs.encode(), far_future_ms()).status == "side"


def test_a_block_by_a_validator_registered_before_the_branch_point_and_active_only_there_imports() -> None:
    """Erin registers in the block both branches share. Their branch crosses two epoch starts and she authors there;
    ours stays in the epoch of the shared block, so no schedule of our head names her yet, nor any set recorded at
    the branch point. Her registration, which our head holds too, places her block."""
    g = devnet_genesis(3, epoch_slots=20)
    ours, theirs = new_chain(genesis=g), new_chain(genesis=g)
    erin = Keypair(blake2b_256(b"erin, registered before the fork"))
    join_as_validator(ours, erin)
    for n in range(1, ours.head.number + 1):
        theirs.import_block(block_bytes(ours, n), far_future_ms())
    epoch = ours.head.slot // 20
    while not any(key == erin.public for _, key in consensus.scheduled(theirs.state())):
        _author_next(theirs, {dev_keypair(n).public: dev_keypair(n) for n in DEVNET_VALIDATORS}, 20, [])
    author_with(theirs, erin, ())
    erins = theirs.db.get_block(theirs.head_hash)
    assert erins is not None and erins.header.author == erin.public
    while ours.head.number <= theirs.head.number:
        author_as_leader(ours, ("alice", "bob", "charlie"))
    assert ours.head.slot // 20 == epoch and not consensus.is_scheduled(ours.state(), erin.public)
    for n in range(1, theirs.head.number):  # their blocks before hers, by the genesis validators: side blocks here
        if theirs.db.canonical_hash(n) != ours.db.canonical_hash(n):
            assert ours.import_block(block_bytes(theirs, n), far_future_ms()).status == "side"
    assert ours.import_block(erins.encode(), far_future_ms()).status == "side"


def test_a_strangers_block_off_the_head_is_refused_unjudged_and_changes_nothing() -> None:
    x, bobs = slashed_branch_and_fork()
    stranger = Keypair(blake2b_256(b"nobody's validator key"))
    forged = Block(dataclasses.replace(bobs.header, author=stranger.public).sealed(stranger, x.genesis_hash),
                   bobs.extrinsics)
    head, known = x.head_hash, len(x.leaves())
    with pytest.raises(UnjudgedAuthor) as refused:
        x.import_block(forged.encode(), far_future_ms())
    assert not isinstance(refused.value, InvalidBlock)  # the network blames nobody for it (network._import_from)
    assert not x.knows(forged.hash()) and x.head_hash == head and len(x.leaves()) == known
    # and the same block is not remembered as bad: it is refused again, for the same reason
    with pytest.raises(UnjudgedAuthor):
        x.import_block(forged.encode(), far_future_ms())


def test_a_block_on_the_head_by_someone_not_its_leader_is_still_invalid() -> None:
    x, _ = slashed_branch_and_fork()
    slot = x.head.slot + 1
    leader = x.leader(slot)
    not_leader = next(p for p in (dev_keypair(n) for n in ("alice", "charlie", "bob")) if p.public != leader)
    header: Header = dataclasses.replace(x.head, parent_hash=x.head_hash, number=x.head.number + 1, slot=slot,
                                         timestamp_ms=x.clock.slot_start_ms(slot),
                                         author=not_leader.public).sealed(not_leader, x.genesis_hash)
    with pytest.raises(InvalidBlock, match="not the leader"):
        x.import_block(Block(header, ()).encode(), far_future_ms())


def test_branch_points_remembered_are_bounded() -> None:
    """A stream of strangers' blocks from every canonical block costs one state read each and a bounded memory."""
    x, bobs = slashed_branch_and_fork()
    while x.head.number < FORK_SCHEDULES_KEPT + 4:
        author_as_leader(x, ("alice", "charlie"))
    stranger = Keypair(blake2b_256(b"a stranger on every branch point"))
    for n in range(x.head.number):
        parent = x.db.get_header(x.db.canonical_hash(n))
        assert parent is not None
        h = dataclasses.replace(bobs.header, parent_hash=parent.hash(), number=n + 1, slot=parent.slot + 1,
                                timestamp_ms=x.clock.slot_start_ms(parent.slot + 1),
                                author=stranger.public).sealed(stranger, x.genesis_hash)
        with pytest.raises(UnjudgedAuthor):
            x.import_block(Block(h, ()).encode(), far_future_ms())
    assert len(x._fork_schedules) <= FORK_SCHEDULES_KEPT


# ------------------------------------------------------------------------------------------------ over the network


def start_node(tmp_path: Path, doc: dict[str, Any]) -> Node:
    spec = tmp_path / "spec.json"
    spec.write_bytes(canonical_json(doc))
    return Node(NodeConfig(chain=str(spec), base_path=tmp_path / "node", tmp=False, validator_key=None, p2p_port=None))


async def test_a_peer_on_the_branch_where_the_slashed_validator_authored_is_synced_not_banned(
        tmp_path: Path, nodes: list[Node]) -> None:
    """The node's chain slashed bob; a peer's longer chain, from before the report, holds bob's blocks. The node
    fetches it, takes bob's blocks as side blocks, moves onto the longer chain (each block judged in full as it
    executes), and blames nobody; a stranger's block gossiped by the same peer is dropped, unblamed."""
    doc = devnet_spec_doc(3, GENESIS_TIME_MS, 4)
    g = build_genesis(parse_chain_spec(doc))
    ours, theirs = new_chain(genesis=g), new_chain(genesis=g)
    author_as_leader(ours, ("alice", "charlie"), [equivocation_report(ours, "charlie", BOB, 3)])
    while consensus.is_scheduled(ours.state(), BOB.public):
        author_as_leader(ours, ("alice", "charlie"))
    while theirs.head.number <= ours.head.number + 2 or not any(
            theirs.db.get_block(theirs.db.canonical_hash(n)).header.author == BOB.public  # type: ignore[union-attr]
            for n in range(1, theirs.head.number + 1)):
        author_as_leader(theirs, ("alice", "bob", "charlie"))
    node = start_node(tmp_path, doc)
    nodes.append(node)
    for n in range(1, ours.head.number + 1):
        node.chain.import_block(block_bytes(ours, n), far_future_ms())
    assert not consensus.is_scheduled(node.chain.state(), BOB.public)
    p2p = FakeP2P({PEER: RemotePeer(theirs)})
    bridge = NetworkBridge(node, p2p, far_future_ms)  # type: ignore[arg-type]
    for _ in range(3):
        await bridge.sync_once()
    assert node.chain.head_hash == theirs.head_hash and node.chain.head.state_root == theirs.head.state_root
    assert not p2p.banned and not p2p.penalised

    stranger = Keypair(blake2b_256(b"a stranger relayed by an honest peer"))
    parent = node.chain.db.get_header(node.chain.db.canonical_hash(1))  # type: ignore[arg-type]
    assert parent is not None
    forged = dataclasses.replace(theirs.head, parent_hash=parent.hash(), number=2, slot=parent.slot + 1,
                                 timestamp_ms=node.chain.clock.slot_start_ms(parent.slot + 1),
                                 author=stranger.public).sealed(stranger, g.block.hash())
    assert await bridge._import_from(PEER, Block(forged, ()).encode(), via="gossip") is None
    assert not p2p.banned and not p2p.penalised and not node.chain.knows(forged.hash())


def set_keys(chain: Chain, account: Keypair, key: Keypair) -> tuple[Extrinsic, bytes]:
    """`account`'s signed session.set_keys naming `key` on top of `chain`'s head, and its claim as a peer serves it."""
    commitment = hash_chain_for(key.seed, chain.genesis.spec.consensus.hash_chain_length).commitment
    keys = SessionKeys(key.public, commitment)
    nonce = system.account.get(chain.state(), account.public).nonce
    xt = sign_extrinsic(account, RUNTIME.call("session.set_keys", keys, possession_proof(key, account.public,
                                                                                         commitment)),
                        nonce, chain.genesis_hash, RUNTIME.spec_version)
    return xt, KeyAuthorization(xt, chain.genesis_hash, RUNTIME.spec_version, TRANSACTION_VERSION).encode()


def rotate_on(chain: Chain, account: Keypair, key: Keypair) -> bytes:
    """Put `account`'s session.set_keys naming `key` in a block of `chain`; its claim, as a peer serves it."""
    xt, claim = set_keys(chain, account, key)
    author_as_leader(chain, ("alice", "charlie"), [xt])
    return claim


def author_with(chain: Chain, pair: Keypair, names: tuple[str, ...]) -> None:
    """Author the next block whose leader is `pair` (or one of `names`, the dev keys) in the first slot it leads."""
    keys = {dev_keypair(n).public: dev_keypair(n) for n in names} | {pair.public: pair}
    for slot in range(chain.head.slot + 1, chain.head.slot + 60):
        leader = chain.leader(slot)
        if leader in keys:
            chain.author_block(slot, keys[leader], [])
            return
    raise AssertionError("nobody of these leads a slot soon")


async def test_a_key_rotated_on_the_peers_branch_is_placed_by_the_claim_the_peer_serves(
        tmp_path: Path, nodes: list[Node]) -> None:
    """Bob rotated his key on the peer's shorter branch only, after it left ours, and authored there with the new
    key: no schedule here names it. The node asks the peer for the key's claim, keeps it (bob is a validator here)
    and takes the block as a side block; a peer that serves no claim, or one by an account that is a validator
    nowhere here, is not blamed, and the block stays out. Once that branch is the longer, the node moves onto it."""
    doc = devnet_spec_doc(3, GENESIS_TIME_MS, 4)
    g = build_genesis(parse_chain_spec(doc))
    ours, theirs = new_chain(genesis=g), new_chain(genesis=g)
    rotated = Keypair(blake2b_256(b"bob's key on the peer's branch"))
    author_as_leader(theirs, ("charlie",))  # their branch leaves ours at genesis
    claim = rotate_on(theirs, BOB, rotated)
    while not any(key == rotated.public for _, key in consensus.scheduled(theirs.state())):
        author_as_leader(theirs, ("alice", "charlie", "bob"))
    while theirs.head.author != rotated.public:
        author_with(theirs, rotated, ("alice", "charlie"))
    first_by_rotated = theirs.head.number
    while ours.head.number <= theirs.head.number:  # their branch is the shorter: its blocks are side blocks here
        author_as_leader(ours, ("alice", "charlie"))
    node = start_node(tmp_path, doc)
    nodes.append(node)
    for n in range(1, ours.head.number + 1):
        node.chain.import_block(block_bytes(ours, n), far_future_ms())
    assert all(key != rotated.public for _, key in consensus.scheduled(node.chain.state()))
    by_rotated = theirs.head_hash

    mallory = Keypair(blake2b_256(b"mallory, bonded nowhere"))
    for name, answers in (("12D3KooWSilent", {}), ("12D3KooWMallory", {rotated.public: set_keys_claim(
            mallory, rotated, g.block.hash())})):
        p2p = FakeP2P({name: RemotePeer(theirs, key_authorizations=answers)})
        bridge = NetworkBridge(node, p2p, far_future_ms)  # type: ignore[arg-type]
        for _ in range(3):
            await bridge.sync_once()
        assert not node.chain.knows(by_rotated) and node.chain.head_hash == ours.head_hash, name
        assert not p2p.banned and not p2p.penalised, name
        assert node.finality.authorizations.owner(rotated.public) is None, name

    peer = RemotePeer(theirs)  # it learns the claim only after it was first asked (an answer lost, say)
    p2p = FakeP2P({PEER: peer})
    bridge = NetworkBridge(node, p2p, far_future_ms)  # type: ignore[arg-type]
    clock = [0.0]
    bridge.monotonic = lambda: clock[0]
    await bridge.sync_once()
    peer.key_authorizations[rotated.public] = claim
    asked = [protocol for protocol, _ in peer.requests].count("keys/auth")
    assert asked == 1
    for _ in range(2):
        await bridge.sync_once()
    assert [protocol for protocol, _ in peer.requests].count("keys/auth") == asked, "asked again at once"
    assert not node.chain.knows(by_rotated)
    clock[0] += 31.0
    # gossip first: the block is dropped unblamed at once, its sender asked for the claim beside, and then it imports
    gossiped = block_bytes(theirs, first_by_rotated)
    assert await bridge._import_from(PEER, gossiped, via="gossip") is None
    await asyncio.gather(*bridge._author_asks)
    assert node.chain.knows(Block.decode(gossiped).hash()) and node.chain.head_hash == ours.head_hash
    assert node.finality.authorizations.owner(rotated.public) == BOB.public
    for _ in range(2):
        await bridge.sync_once()
    assert node.chain.knows(by_rotated) and node.chain.head_hash == ours.head_hash  # a side block, placed

    await theirs_grows_longer_and_is_followed(node, bridge, p2p, ours, theirs, rotated)


async def theirs_grows_longer_and_is_followed(node: Node, bridge: NetworkBridge, p2p: FakeP2P, ours: Chain,
                                              theirs: Chain, key: Keypair) -> None:
    """`theirs` grows (by `key`, alice and charlie) longer than `ours`: two sync rounds put the node on it, with
    nobody blamed."""
    while theirs.head.number <= ours.head.number + 1:
        author_with(theirs, key, ("alice", "charlie"))
    for _ in range(2):
        await bridge.sync_once()
    assert node.chain.head_hash == theirs.head_hash and node.chain.head.state_root == theirs.head.state_root
    assert not p2p.banned and not p2p.penalised


async def test_a_stream_of_strangers_blocks_costs_its_sender_past_one_a_second(tmp_path: Path,
                                                                                nodes: list[Node]) -> None:
    """Blocks by keys nothing here places are not taken and not blamed one by one (an honest peer relays its branch's,
    a validator that joined there authoring some); but a peer that sends more than a minute's allowance of them is
    penalised for each one beyond, so a stream of strangers' blocks ends in a ban (network.UNPLACED_FREE_PER_MINUTE)."""
    doc = devnet_spec_doc(3, GENESIS_TIME_MS, 4)
    g = build_genesis(parse_chain_spec(doc))
    ours = new_chain(genesis=g)
    for _ in range(3):
        author_as_leader(ours, ("alice", "bob", "charlie"))
    node = start_node(tmp_path, doc)
    nodes.append(node)
    for n in range(1, ours.head.number + 1):
        node.chain.import_block(block_bytes(ours, n), far_future_ms())
    p2p = FakeP2P({PEER: RemotePeer(ours)})
    bridge = NetworkBridge(node, p2p, far_future_ms)  # type: ignore[arg-type]
    clock = [0.0]
    bridge.monotonic = lambda: clock[0]
    parent = node.chain.db.get_header(node.chain.db.canonical_hash(1))  # type: ignore[arg-type]
    assert parent is not None

    def strangers(count: int, tag: bytes) -> list[bytes]:
        made = []
        for i in range(count):
            key = Keypair(blake2b_256(tag + b"%d" % i))
            header = dataclasses.replace(parent, parent_hash=parent.hash(), number=2, slot=parent.slot + 1 + i,
                                         timestamp_ms=node.chain.clock.slot_start_ms(parent.slot + 1 + i),
                                         extrinsics_root=extrinsics_root(()), author=key.public)
            made.append(Block(header.sealed(key, g.block.hash()), ()).encode())
        return made

    free = network.UNPLACED_FREE_PER_MINUTE
    for raw in strangers(free, b"an honest minute "):
        assert await bridge._import_from(PEER, raw, via="gossip") is None
    assert not p2p.penalised and not p2p.banned
    for raw in strangers(5, b"beyond "):
        assert await bridge._import_from(PEER, raw, via="gossip") is None
    assert len(p2p.penalised) == 5 and all(who == PEER for who, _ in p2p.penalised)
    clock[0] += 61.0  # a minute on, the allowance is whole again
    for raw in strangers(free, b"the next minute "):
        assert await bridge._import_from(PEER, raw, via="gossip") is None
    assert len(p2p.penalised) == 5
    await asyncio.gather(*bridge._author_asks)

    # gone and back within its minute: the count holds (leaving does not reset the allowance) ...
    away = p2p.remote.pop(PEER)
    bridge._forget_gone_peers({p.peer_id for p in p2p.peers()})
    assert PEER in bridge._unplaced_seen
    p2p.remote[PEER] = away
    assert await bridge._import_from(PEER, strangers(1, b"back ")[0], via="gossip") is None
    assert len(p2p.penalised) == 6
    # ... and once its minute is over, nothing of it is kept: one entry per peer id ever seen would grow unbounded
    p2p.remote.pop(PEER)
    clock[0] += 61.0
    bridge._forget_gone_peers({p.peer_id for p in p2p.peers()})
    assert PEER not in bridge._unplaced_seen
    await asyncio.gather(*bridge._author_asks)
    # the other tables kept per peer: a connected peer's entries stay, a gone peer's go
    p2p.remote[PEER] = away
    for who in (PEER, "12D3KooWGone"):
        bridge._dead_ends[who], bridge._justifications_fetched[who], bridge._held_asked[who] = b"h", 0.0, 0.0
    bridge._forget_gone_peers({p.peer_id for p in p2p.peers()})
    for table in (bridge._dead_ends, bridge._justifications_fetched, bridge._held_asked):
        assert set(table) == {PEER}


def join_as_validator(chain: Chain, joiner: Keypair, pairs: dict[bytes, Keypair] | None = None) -> None:
    """`joiner`, funded by the richest dev validator, bonds and registers itself (its own key as its session key) on
    `chain`, in three blocks by the leaders whose keys are in `pairs` (the dev validators' by default)."""
    funder = max((dev_keypair(n) for n in DEVNET_VALIDATORS),
                 key=lambda p: system.account.get(chain.state(), p.public).free)
    pairs = pairs or {dev_keypair(n).public: dev_keypair(n) for n in DEVNET_VALIDATORS}
    nonce = system.account.get(chain.state(), funder.public).nonce
    spec = RUNTIME.spec_version
    _author_next(chain, pairs, 1, [sign_extrinsic(funder, RUNTIME.call(
        "balances.transfer_allow_death", joiner.public, 20_000 * UNIT), nonce, chain.genesis_hash, spec)])
    _author_next(chain, pairs, 1, [sign_extrinsic(joiner, RUNTIME.call("bonds.bond", 10_000 * UNIT), 0,
                                                  chain.genesis_hash, spec)])
    commitment = hash_chain_for(joiner.seed, chain.genesis.spec.consensus.hash_chain_length).commitment
    _author_next(chain, pairs, 1, [sign_extrinsic(joiner, RUNTIME.call(
        "bonds.register_validator", *registration(joiner, joiner.public, commitment)), 1, chain.genesis_hash, spec)])


async def test_a_branch_on_which_a_validator_joined_is_taken_only_as_the_best_executed_at_once(
        tmp_path: Path, nodes: list[Node]) -> None:
    """Erin bonded and registered on the peer's branch after it left ours, and authors there: no set here names her
    and no validator here claims her key. While that branch is the shorter the node leaves it out, blaming nobody;
    once it is the longer, sync takes it from her first block on, executed at once (each block judged by its own
    parent state), and the node follows it. A branch that would be the best but holds a block nobody could have
    sealed is refused as invalid, and nothing of it is kept."""
    doc = devnet_spec_doc(3, GENESIS_TIME_MS, 4)
    g = build_genesis(parse_chain_spec(doc))
    ours, theirs = new_chain(genesis=g), new_chain(genesis=g)
    erin = Keypair(blake2b_256(b"erin, a validator of their branch only"))
    author_as_leader(theirs, ("charlie",))
    join_as_validator(theirs, erin)
    while not any(key == erin.public for _, key in consensus.scheduled(theirs.state())):
        author_as_leader(theirs, ("alice", "charlie", "bob"))
    while theirs.head.author != erin.public:
        author_with(theirs, erin, ("alice", "charlie"))
    by_erin = theirs.head_hash
    while ours.head.number <= theirs.head.number:
        author_as_leader(ours, ("alice", "bob", "charlie"))
    node = start_node(tmp_path, doc)
    nodes.append(node)
    for n in range(1, ours.head.number + 1):
        node.chain.import_block(block_bytes(ours, n), far_future_ms())
    peer = RemotePeer(theirs)
    p2p = FakeP2P({PEER: peer})
    bridge = NetworkBridge(node, p2p, far_future_ms)  # type: ignore[arg-type]
    for _ in range(3):
        await bridge.sync_once()
    assert not node.chain.knows(by_erin) and node.chain.head_hash == ours.head_hash
    assert not p2p.banned and not p2p.penalised
    fetched = [protocol for protocol, _ in peer.requests].count("sync/blocks")
    await bridge.sync_once()
    assert [protocol for protocol, _ in peer.requests].count("sync/blocks") == fetched, (
        "not fetched again until the peer's head moves")

    while theirs.head.number < ours.head.number:  # one more block on top makes their branch the longer
        author_with(theirs, erin, ("alice", "charlie"))
    stranger, tip = Keypair(blake2b_256(b"nobody's key")), theirs.head
    forged = Block(dataclasses.replace(tip, parent_hash=tip.hash(), number=tip.number + 1, slot=tip.slot + 1,
                                       timestamp_ms=theirs.clock.slot_start_ms(tip.slot + 1),
                                       extrinsics_root=extrinsics_root(()),
                                       author=stranger.public).sealed(stranger, g.block.hash()), ())
    known = {leaf.hash for leaf in node.chain.leaves()}
    unknown = [raw for raw in (block_bytes(theirs, n) for n in range(1, theirs.head.number + 1))
               if not node.chain.knows(Block.decode(raw).hash())]
    with pytest.raises(InvalidBlock, match="leader"):  # judged as it executes, after the sound blocks below it
        node.chain.import_branch([*unknown, forged.encode()], far_future_ms())
    assert node.chain.head_hash == ours.head_hash and {leaf.hash for leaf in node.chain.leaves()} == known
    assert not node.chain.knows(theirs.head_hash)

    await theirs_grows_longer_and_is_followed(node, bridge, p2p, ours, theirs, erin)


# ------------------------------------------------------------------------------------------ randomized branches


def _random_branch(rng: random.Random, chain: Chain, pairs: dict[bytes, Keypair], claims: dict[bytes, set[bytes]],
                   accounts: dict[bytes, Keypair], steps: int, joined: set[bytes]) -> None:
    """Extend `chain` by `steps` events: blocks after outages of any length (up to a dozen epochs), a validator
    reported for equivocation (its block seals under its key of the moment), a validator rotating its key (the claim
    is recorded in `claims`, as a peer would serve it), a new account bonding and registering as a validator (its key
    added to `joined`)."""
    for _ in range(steps):
        event = rng.choice(("block", "block", "block", "outage", "slash", "rotate", "join"))
        rows = consensus.scheduled(chain.state())
        live = sorted({account for account, _ in rows})
        key_of = {account: key for account, key in rows}
        xts = []
        if event == "slash" and len(live) > 2:
            offender = rng.choice(live)
            reporter = rng.choice([n for n in DEVNET_VALIDATORS[:4] if dev_keypair(n).public != offender])
            xts = [equivocation_report(chain, reporter, pairs[key_of[offender]], chain.head.slot + 1)]
        elif event == "join":  # a new account bonds and registers: a validator on this branch only
            pair = Keypair(blake2b_256(b"joiner %d %d" % (rng.getrandbits(64), chain.head.number)))
            pairs[pair.public] = accounts[pair.public] = pair
            joined.add(pair.public)
            join_as_validator(chain, pair, pairs)
            continue
        elif event == "rotate" and live:
            account = rng.choice(live)
            new = Keypair(blake2b_256(b"rotated %d %d" % (rng.getrandbits(64), chain.head.number)))
            pairs[new.public] = new
            xt, claim = set_keys(chain, accounts[account], new)
            xts = [xt]
            claims.setdefault(new.public, set()).add(decode_key_authorization(claim).account)
            if account in joined:  # a joiner's account is its first key: its new key is a joined validator's too
                joined.add(new.public)
        _author_next(chain, pairs, rng.choice((1, 1, 2, 5, 13, 48)) if event == "outage" else 1, xts)


def _author_next(chain: Chain, pairs: dict[bytes, Keypair], gap: int, xts: list[Extrinsic]) -> None:
    """The next block, `gap` slots or more after the head, by the first leader whose key is in `pairs`, with `xts`."""
    for slot in range(chain.head.slot + gap, chain.head.slot + gap + 200):
        leader = chain.leader(slot)
        if leader in pairs:
            _, dropped = chain.author_block(slot, pairs[leader], [(x, len(x.encode())) for x in xts])
            assert not dropped, dropped
            return
    raise AssertionError("no leader we hold in 200 slots")


UNIT = 10**18


@pytest.mark.parametrize("seed", [*range(8), 144, 154])  # 144, 154: a validator that joined before the branch point
def test_random_branches_with_slashes_rotations_joins_and_outages_import_on_a_node_of_any_branch(seed: int) -> None:
    """Branches from a shared prefix, each with its own slashes, key rotations, validators joining and outages: a node
    of any one of them takes every block of the others (as a side block, or on its head once that branch is the
    best), each only by the rule above (the keys rotated elsewhere placed by their claims, as the sender would serve
    them); only a validator that joined on another branch goes unplaced, and its branch is taken from that
    validator's first block only as the best, executed at once (`import_branch`), else left out unblamed; and the
    node ends on the branch the fork choice picks, never having refused a block as invalid. The node restarts from its
    database between branches at random (what it remembered in memory is lost)."""
    rng = random.Random(seed)
    doc = devnet_spec_doc(4, GENESIS_TIME_MS, 4)
    doc["consensus"]["hash_chain_length"] = 4096  # each new key's hash chain is built in the test: short ones
    for validator in doc["validators"]:
        del validator["hash_chain_commitment"]  # the loader derives a dev key's at that length
    g = build_genesis(parse_chain_spec(doc))
    names = DEVNET_VALIDATORS[:4]
    accounts = {dev_keypair(n).public: dev_keypair(n) for n in names}
    pairs = dict(accounts)
    claims: dict[bytes, set[bytes]] = {}
    base = new_chain(genesis=g)
    branches, joined = [], set()
    _random_branch(rng, base, pairs, claims, accounts, rng.randint(0, 4), joined)
    for _ in range(rng.randint(2, 3)):
        branch = new_chain(genesis=g)
        for n in range(1, base.head.number + 1):
            branch.import_block(block_bytes(base, n), far_future_ms())
        _random_branch(rng, branch, pairs, claims, accounts, rng.randint(3, 12), joined)
        branches.append(branch)
    best = max(branches, key=lambda b: fork_choice_key(b.head.number, b.head_hash))
    for first in range(len(branches)):
        store = MemoryStore()
        node = new_chain(kv=store, genesis=g)
        node.key_claimants = lambda key: claims.get(key, ())
        for branch in branches[first:] + branches[:first]:
            if rng.random() < 0.5:  # a restart between branches: the tree and what the node remembered, from disk
                node = new_chain(kv=store, genesis=g)
                node.key_claimants = lambda key: claims.get(key, ())
            for n in range(1, branch.head.number + 1):
                try:
                    result = node.import_block(block_bytes(branch, n), far_future_ms())
                except UnjudgedAuthor as refused:
                    # only a validator that joined goes unplaced (on that branch; or before it left ours, but not yet
                    # active at the branch point and no longer registered on ours); a slashed, leaving or rotated one
                    # is placed; the rest of the branch is taken only as the best, executed at once
                    assert refused.key in joined, (seed, n)
                    rest = [block_bytes(branch, k) for k in range(n, branch.head.number + 1)]
                    better = fork_choice_key(branch.head.number, branch.head_hash) > fork_choice_key(
                        node.head.number, node.head_hash)
                    if not better:
                        with pytest.raises(UnjudgedAuthor):
                            node.import_branch(rest, far_future_ms())
                        assert not node.knows(branch.db.canonical_hash(n))  # type: ignore[arg-type]
                        break
                    assert node.import_branch(rest, far_future_ms()).hash == branch.head_hash
                    break
                assert result.status in ("best", "side", "known"), (seed, n, result.status)
        assert node.head_hash == best.head_hash and node.head.state_root == best.head.state_root, seed
