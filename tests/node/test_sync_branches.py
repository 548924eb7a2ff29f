"""Sync under the fork choice from the latest justified checkpoint: a peer whose head this node lacks is synced even
when its chain is shorter (it may hold the justified checkpoint); a peer behind on a branch our finality has left is
fetched once, not blamed, and not fetched again until its head moves; a peer that claims a finalized block that
conflicts with ours is penalised."""

from __future__ import annotations

from pathlib import Path

from btt_chain.node.chain import Chain
from btt_chain.node.network import NetworkBridge
from btt_chain.node.service import Node, NodeConfig
from genesis.build import build_genesis
from genesis.devnet import devnet_spec_doc
from genesis.loader import canonical_json, parse_chain_spec
from tests.support.long_range import FakeP2P, RemotePeer
from tests.support.node_builder import GENESIS_TIME_MS, author_as_leader, far_future_ms, new_chain

DOC = devnet_spec_doc(2, GENESIS_TIME_MS, 5)


def start_node(tmp_path: Path) -> Node:
    spec = tmp_path / "spec.json"
    spec.write_bytes(canonical_json(DOC))
    return Node(NodeConfig(chain=str(spec), base_path=tmp_path / "node", tmp=False, validator_key=None, p2p_port=None))


def chain_of(blocks: int, names: tuple[str, ...]) -> Chain:
    chain = new_chain(genesis=build_genesis(parse_chain_spec(DOC)))
    for _ in range(blocks):
        author_as_leader(chain, names)
    return chain


def import_chain(node: Node, src: Chain) -> None:
    for n in range(1, src.head.number + 1):
        h = src.db.canonical_hash(n)
        assert h is not None
        node.chain.import_block(src.db.get_block_bytes(h) or b"", far_future_ms())


def block_requests(peer: RemotePeer) -> int:
    return sum(1 for protocol, _ in peer.requests if protocol == "sync/blocks")


async def sync_rounds(bridge: NetworkBridge, rounds: int) -> None:
    for _ in range(rounds):
        await bridge.sync_once()


async def test_a_shorter_branch_is_fetched_once_and_kept_as_a_side_branch(tmp_path: Path) -> None:
    node = start_node(tmp_path)
    try:
        ours, theirs = chain_of(6, ("alice",)), chain_of(3, ("bob",))
        import_chain(node, ours)
        peer = RemotePeer(theirs)
        p2p = FakeP2P({"12D3KooWShort": peer})
        bridge = NetworkBridge(node, p2p, far_future_ms)  # type: ignore[arg-type]
        await sync_rounds(bridge, 3)
        assert node.chain.knows(theirs.head_hash), "a shorter branch may hold the justified checkpoint: fetched"
        assert node.chain.head_hash == ours.head_hash, "and kept beside: the anchor is genesis, ours is longer"
        assert not p2p.penalised and not p2p.banned
    finally:
        node.close()


async def test_a_peer_behind_on_a_branch_our_finality_left_is_not_blamed_nor_fetched_again(tmp_path: Path) -> None:
    node = start_node(tmp_path)
    try:
        ours, theirs = chain_of(6, ("alice",)), chain_of(4, ("bob",))
        import_chain(node, ours)
        finalized = node.chain.db.canonical_hash(2)
        assert finalized is not None
        node.chain.finalize(finalized)
        behind = RemotePeer(theirs)  # finalized at genesis, on a branch below our finalized block #2
        p2p = FakeP2P({"12D3KooWBehind": behind})
        bridge = NetworkBridge(node, p2p, far_future_ms)  # type: ignore[arg-type]
        await sync_rounds(bridge, 1)
        fetched = block_requests(behind)
        assert fetched >= 1 and not p2p.penalised and not p2p.banned
        await sync_rounds(bridge, 4)
        assert block_requests(behind) == fetched, "a dead end is not fetched again while the peer's head stays"
        author_as_leader(theirs, ("bob",))  # its head moves: fetched again, still no blame
        await sync_rounds(bridge, 1)
        assert block_requests(behind) > fetched and not p2p.penalised

        # a peer that claims to have finalized a block of that branch at our finalized height is penalised
        lying = chain_of(4, ("bob",))
        lying.finalize(lying.db.canonical_hash(2) or b"")
        p2p.remote["12D3KooWLiar"] = RemotePeer(lying)
        await sync_rounds(bridge, 1)
        assert [peer for peer, _ in p2p.penalised] == ["12D3KooWLiar"]
        assert node.chain.finalized_hash == finalized and node.chain.head_hash == ours.head_hash
    finally:
        node.close()


def author_from(chain: Chain, first_slot: int) -> None:
    """Author a block at the first slot from `first_slot` on that alice or bob leads."""
    from btt_chain.primitives.keys import dev_keypair

    pairs = {dev_keypair(n).public: dev_keypair(n) for n in ("alice", "bob")}
    for slot in range(max(first_slot, chain.head.slot + 1), first_slot + 50):
        if chain.leader(slot) in pairs:
            chain.author_block(slot, pairs[chain.leader(slot)], [])  # type: ignore[index]
            return
    raise AssertionError("no leader soon")


async def test_both_justifications_of_a_checkpoint_of_two_epochs_reach_a_syncing_node(tmp_path: Path) -> None:
    """Block B is the checkpoint of epochs 2 and 3 (epoch 2 has no block). G -> (2, B) and (2, B) -> (3, B) are both
    justified, and both are kept beside B and served (the second used to overwrite the first: a node that missed the
    first waited for it for ever, found by the finality simulation). A fresh node finalizes (2, B) by sync."""
    from btt_chain.primitives.keys import dev_keypair
    from btt_chain.primitives.vote import Checkpoint, sign_vote

    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    x, y = start_node(tmp_path / "x"), start_node(tmp_path / "y")
    try:
        chain = x.chain
        author_from(chain, 1)
        while chain.head.slot < 5:
            author_from(chain, chain.head.slot + 1)
        b = chain.head_hash
        assert chain.head.slot < 10
        author_from(chain, 15)  # epoch 2 has no block: B is the checkpoint of epochs 2 and 3
        author_from(chain, 20)
        g, b2, b3 = Checkpoint(0, chain.genesis_hash), Checkpoint(2, b), Checkpoint(3, b)
        for source, target in ((g, b2), (b2, b3)):
            for name in ("alice", "bob"):
                x.finality.on_vote_gossip("peer", sign_vote(dev_keypair(name), chain.genesis_hash, source,
                                                            target).encode())
        assert x.finality.tracker.finalized == b2 and chain.finalized_hash == b
        assert len(chain.db.justifications(b)) == 2

        p2p = FakeP2P({"12D3KooWX": RemotePeer(chain)})
        await sync_rounds(NetworkBridge(y, p2p, far_future_ms), 2)  # type: ignore[arg-type]
        assert y.chain.head_hash == chain.head_hash
        assert y.finality.tracker.finalized == b2 and y.finality.tracker.state.is_justified(b3)
        assert y.chain.finalized_hash == b and not p2p.penalised
    finally:
        x.close()
        y.close()
