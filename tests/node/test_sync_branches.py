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


def block_requests(peer: RemotePeer) -> int:
    return sum(1 for protocol, _ in peer.requests if protocol == "sync/blocks")


async def sync_rounds(bridge: NetworkBridge, rounds: int) -> None:
    for _ in range(rounds):
        await bridge.sync_once()


async def test_a_shorter_branch_is_fetched_once_and_kept_as_a_side_branch(tmp_path: Path) -> None:
    node = start_node(tmp_path)
    try:
        ours, theirs = chain_of(6, ("alice",)), chain_of(3, ("bob",))
        for n in range(1, ours.head.number + 1):
            h = ours.db.canonical_hash(n)
            assert h is not None
            node.chain.import_block(ours.db.get_block_bytes(h) or b"", far_future_ms())
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
        for n in range(1, ours.head.number + 1):
            h = ours.db.canonical_hash(n)
            assert h is not None
            node.chain.import_block(ours.db.get_block_bytes(h) or b"", far_future_ms())
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
