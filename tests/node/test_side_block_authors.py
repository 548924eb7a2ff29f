"""Which side blocks a node takes by their author before it executes them: a block off the head must be sealed by a
key scheduled in the head's state or in the state where its branch leaves the canonical chain. A validator slashed
on our branch after a fork still authored soundly on the other; its blocks there import (and a peer relaying them is
not banned, as an honest node's peers were once, leaving it alone on its own fork). A stranger's block is not taken,
by a refusal that blames nobody and leaves the tree as it was."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from btt_chain.node.chain import FORK_SCHEDULES_KEPT, Chain, UnjudgedAuthor
from btt_chain.node.network import NetworkBridge
from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.block import Block, Header
from btt_chain.primitives.errors import InvalidBlock
from btt_chain.primitives.extrinsic import TRANSACTION_VERSION, sign_extrinsic
from btt_chain.primitives.hash_chain import hash_chain_for
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.key_authorization import KeyAuthorization
from btt_chain.primitives.keys import Keypair, dev_keypair
from genesis.build import build_genesis
from genesis.devnet import devnet_spec_doc
from genesis.loader import canonical_json, parse_chain_spec
from runtime.consensus import logic as consensus
from runtime.modules import RUNTIME
from runtime.session.types import SessionKeys
from runtime.system import storage as system
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
from tests.support.session_proof import possession_proof

BOB = dev_keypair("bob")
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


def rotate_on(chain: Chain, account: Keypair, key: Keypair) -> bytes:
    """Put `account`'s session.set_keys naming `key` in a block of `chain`; its claim, as a peer serves it."""
    commitment = hash_chain_for(key.seed, chain.genesis.spec.consensus.hash_chain_length).commitment
    keys = SessionKeys(key.public, commitment)
    nonce = system.account.get(chain.state(), account.public).nonce
    xt = sign_extrinsic(account, RUNTIME.call("session.set_keys", keys, possession_proof(key, account.public,
                                                                                         commitment)),
                        nonce, chain.genesis_hash, RUNTIME.spec_version)
    author_as_leader(chain, ("alice", "charlie"), [xt])
    return KeyAuthorization(xt, chain.genesis_hash, RUNTIME.spec_version, TRANSACTION_VERSION).encode()


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
    """Bob rotated his key on the peer's branch only, after it left ours, and authored there with the new key: no
    schedule here names it. The node asks the peer for the key's claim, keeps it (bob is scheduled here), and syncs
    the longer branch; a peer that serves no claim, or one by an account scheduled nowhere here, is not blamed, and
    the block stays out."""
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
    while ours.head.number < first_by_rotated:  # their branch below the new key's first block is not our best
        author_as_leader(ours, ("alice", "charlie"))
    while theirs.head.number <= ours.head.number + 1:
        author_with(theirs, rotated, ("alice", "charlie"))
    node = start_node(tmp_path, doc)
    nodes.append(node)
    for n in range(1, ours.head.number + 1):
        node.chain.import_block(block_bytes(ours, n), far_future_ms())
    fork_rows = consensus.scheduled(node.chain.state())
    assert all(key != rotated.public for _, key in fork_rows)

    mallory = Keypair(blake2b_256(b"mallory, bonded nowhere"))
    for name, answers in (("12D3KooWSilent", {}), ("12D3KooWMallory", {rotated.public: set_keys_claim(
            mallory, rotated, g.block.hash())})):
        p2p = FakeP2P({name: RemotePeer(theirs, key_authorizations=answers)})
        bridge = NetworkBridge(node, p2p, far_future_ms)  # type: ignore[arg-type]
        for _ in range(2):
            await bridge.sync_once()
        assert node.chain.head_hash != theirs.head_hash and not p2p.banned and not p2p.penalised, name
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
    clock[0] += 31.0
    # gossip first: the block is dropped unblamed at once, its sender asked for the claim beside, and then it imports
    gossiped = block_bytes(theirs, first_by_rotated)
    assert await bridge._import_from(PEER, gossiped, via="gossip") is None
    await asyncio.gather(*bridge._author_asks)
    assert node.chain.knows(Block.decode(gossiped).hash())
    assert node.finality.authorizations.owner(rotated.public) == BOB.public
    for _ in range(3):
        await bridge.sync_once()
    assert node.finality.authorizations.owner(rotated.public) == BOB.public
    assert node.chain.head_hash == theirs.head_hash and node.chain.head.state_root == theirs.head.state_root
    assert not p2p.banned and not p2p.penalised
