"""A restarted validator waits to sign until it has caught up with its peers (`signing_gate.catch_up_gap`), but a status
is only a claim: a peer's status counts only while sync finds it backed (`signing_gate.PeerClaim`, kept by
`btt_chain.node.network`). One peer that claims finalized #999,990 and serves nothing is refuted and penalised, beside
honest peers or alone, and the validator signs once it is caught up with the honest ones; an honest peer ahead still
holds it until it has fetched that peer's chain; a peer that shows its best block but serves no range toward it (a
pruned history) is not penalised and stops counting only after the bounded wait, with one warning naming it."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from btt_chain.consensus.signing_gate import CLAIM_STALL_ATTEMPTS, CLAIM_STALL_S
from btt_chain.node.health import get_health
from btt_chain.node.network import NetworkBridge
from btt_chain.node.service import Node, now_ms
from btt_chain.node.sync import (
    PeerStatus,
    decode_blocks_request,
    decode_hash_request,
    encode_blocks_response,
    encode_bytes_list,
)
from genesis.devnet import devnet_spec_doc
from genesis.loader import canonical_json
from p2p.service import P2PError
from tests.node.test_signing_watch import ALICE, EPOCH_SLOTS, grow_chain, slot_now, start_node, status_of
from tests.support.long_range import FakeP2P, RemotePeer
from tests.support.node_builder import author_as_leader, far_future_ms

BOOT = ("/ip4/127.0.0.1/tcp/1/p2p/x",)
LIAR, HONEST, AHEAD, PRUNED = "12D3KooWLiarLiar", "12D3KooWHonestXX", "12D3KooWAheadXXX", "12D3KooWPrunedXX"


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """A two-validator devnet (alice, bob) whose genesis was a minute ago."""
    path = tmp_path / "spec.json"
    path.write_bytes(canonical_json(devnet_spec_doc(2, (now_ms() // 1000 - 60) * 1000, EPOCH_SLOTS)))
    return path


class Liar:
    """Claims best #1,000,000 and finalized #999,990 (fresh random hashes each time) and serves nothing."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def handle(self, protocol: str, data: bytes) -> bytes:
        self.requests.append(protocol)
        if protocol == "sync/status":
            return PeerStatus(10**6, os.urandom(32), 10**6 - 10, os.urandom(32)).encode()
        if protocol == "sync/blocks":
            return encode_blocks_response([])
        if protocol == "sync/block":
            return b""
        return encode_bytes_list([])


class Fixed:
    """A peer whose status is `status` and that serves no block range; `sync/block` by hash from `shown`."""

    def __init__(self, status: PeerStatus, shown: Node | None = None) -> None:
        self.status, self.shown = status, shown

    def handle(self, protocol: str, data: bytes) -> bytes:
        if protocol == "sync/status":
            return self.status.encode()
        if protocol == "sync/blocks":
            return encode_blocks_response([])
        if protocol == "sync/block":
            return (self.shown.chain.db.get_block_bytes(decode_hash_request(data)) or b"") if self.shown else b""
        return encode_bytes_list([])


def restored_pair(spec: Path, tmp_path: Path, behind: int, ahead: int, nodes: list[Node]) -> tuple[Node, Node]:
    """A validator restored from a backup taken at #`behind`, and an honest peer whose chain went on to #`ahead`."""
    grow_chain(spec, tmp_path / "v", blocks=behind)
    shutil.copytree(tmp_path / "v", tmp_path / "h")
    honest = start_node(spec, tmp_path / "h", epochs=0)
    nodes.append(honest)
    for _ in range(ahead - behind):
        author_as_leader(honest.chain, ("alice", "bob"))
    validator = start_node(spec, tmp_path / "v", bootnodes=BOOT, epochs=0)
    nodes.append(validator)
    assert validator.chain.head.number == behind and honest.chain.head.number == ahead
    return validator, honest


def attach(node: Node, peers: dict[str, object]) -> tuple[NetworkBridge, FakeP2P]:
    p2p = FakeP2P(peers)  # type: ignore[arg-type]
    bridge = NetworkBridge(node, p2p, far_future_ms)  # type: ignore[arg-type]
    node.network, node.p2p = bridge, p2p  # type: ignore[assignment]
    return bridge, p2p


async def rounds(bridge: NetworkBridge, n: int) -> None:
    for _ in range(n):
        await bridge.sync_once()


async def test_a_liar_beside_an_honest_peer_is_refuted_and_the_validator_signs(spec: Path, tmp_path: Path,
                                                                               nodes: list[Node], caplog) -> None:
    caplog.set_level(logging.WARNING, "btt.net")
    grow_chain(spec, tmp_path / "v", blocks=4)
    node = start_node(spec, tmp_path / "v", bootnodes=BOOT, epochs=0)
    nodes.append(node)
    liar = Liar()
    bridge, p2p = attach(node, {HONEST: Fixed(status_of(node)), LIAR: liar})
    await rounds(bridge, 5)
    assert node.signing.may_sign_block(ALICE, slot_now(node)), node.signing.describe()
    assert [p for p, _ in p2p.penalised] == [LIAR], "penalised once, when its claim stopped counting"
    assert "serves no block" in p2p.penalised[0][1] and not p2p.banned
    assert LIAR not in bridge.peer_best and HONEST in bridge.peer_best, "nor is it a sync target"
    warnings = [r.getMessage() for r in caplog.records if LIAR in r.getMessage()]
    assert len(warnings) == 1 and "no longer counts" in warnings[0], warnings
    assert "sync/blocks" in liar.requests
    assert get_health(node)[1]["signing"] == {"state": "signing", "message": None}


async def test_a_liar_alone_is_refuted_and_is_not_a_peer_heard(spec: Path, tmp_path: Path, nodes: list[Node]) -> None:
    grow_chain(spec, tmp_path / "v", blocks=4)
    node = start_node(spec, tmp_path / "v", bootnodes=BOOT, epochs=0)
    nodes.append(node)
    bridge, p2p = attach(node, {LIAR: Liar()})
    await rounds(bridge, 3)
    assert [p for p, _ in p2p.penalised] == [LIAR]
    # a refuted claim is no status heard: alone, it leaves the node waiting as no peer does (not for #999,990)
    assert not node.signing.may_sign_block(ALICE, slot_now(node))
    assert node.signing.describe() == {"state": "waiting for sync",
                                       "message": "no peer has told its best and finalized blocks yet"}
    # an honest peer at its height connects: it signs, the liar still beside it
    p2p.remote[HONEST] = Fixed(status_of(node))  # type: ignore[assignment]
    await rounds(bridge, 1)
    assert node.signing.may_sign_block(ALICE, slot_now(node)), node.signing.describe()
    assert len(p2p.penalised) == 1


async def test_an_honest_peer_ahead_still_holds_a_restored_validator_until_it_has_caught_up(
        spec: Path, tmp_path: Path, nodes: list[Node]) -> None:
    node, honest = restored_pair(spec, tmp_path, behind=3, ahead=9, nodes=nodes)
    peer = RemotePeer(honest.chain)
    bridge, p2p = attach(node, {AHEAD: peer, LIAR: Liar()})
    # the statuses are heard, before anything is fetched: the honest peer ahead holds the gate
    bridge.peer_best[AHEAD] = status_of(honest)
    assert not node.signing.may_sign_block(ALICE, slot_now(node))
    assert node.signing.describe()["message"] == f"peer {AHEAD[-8:]} is at #9, this node at #3"  # type: ignore[index]
    await rounds(bridge, 2)
    assert node.chain.head_hash == honest.chain.head_hash
    assert node.signing.may_sign_block(ALICE, slot_now(node)), node.signing.describe()
    assert [p for p, _ in p2p.penalised] == [LIAR], "the honest peer that served its blocks is not blamed"
    assert bridge.peer_best[AHEAD].best_number == 9


async def test_an_honest_peer_ahead_that_served_blocks_keeps_counting_while_it_has_more(
        spec: Path, tmp_path: Path, nodes: list[Node], monkeypatch) -> None:
    node, honest = restored_pair(spec, tmp_path, behind=2, ahead=12, nodes=nodes)
    monkeypatch.setattr("btt_chain.node.network.SYNC_BATCH", 4)
    peer = RemotePeer(honest.chain)
    real = peer.handle
    gave_new = [False]

    def slow(protocol: str, data: bytes) -> bytes:
        """One answer with blocks new to the validator a round; after it, its requests time out."""
        if protocol == "sync/status":
            gave_new[0] = False
        if protocol == "sync/blocks":
            if gave_new[0]:
                raise P2PError("timed out")
            start, count = decode_blocks_request(data)
            gave_new[0] = start + count - 1 > node.chain.head.number
        return real(protocol, data)

    peer.handle = slow  # type: ignore[method-assign]
    bridge, p2p = attach(node, {AHEAD: peer})
    clock = [0.0]
    bridge.monotonic = lambda: clock[0]
    behind_rounds = 0
    for _ in range(12):
        await rounds(bridge, 1)
        clock[0] += CLAIM_STALL_S  # however slow: each round brought blocks, so the claim stands
        if node.chain.head.number < 12:
            behind_rounds += 1
            assert AHEAD in bridge.peer_best
            assert not node.signing.may_sign_block(ALICE, slot_now(node)), node.chain.head.number
    assert behind_rounds >= 2, "the peer was slow: a timeout every round"
    assert node.chain.head_hash == honest.chain.head_hash
    assert node.signing.may_sign_block(ALICE, slot_now(node))
    assert not p2p.penalised and not p2p.banned


async def test_a_peer_that_shows_its_best_but_serves_no_range_stops_counting_after_the_bounded_wait(
        spec: Path, tmp_path: Path, nodes: list[Node], caplog) -> None:
    caplog.set_level(logging.WARNING, "btt.net")
    node, honest = restored_pair(spec, tmp_path, behind=3, ahead=7, nodes=nodes)
    bridge, p2p = attach(node, {HONEST: Fixed(status_of(node)), PRUNED: Fixed(status_of(honest), shown=honest)})
    clock = [1000.0]
    bridge.monotonic = lambda: clock[0]
    await rounds(bridge, CLAIM_STALL_ATTEMPTS + 1)
    assert PRUNED in bridge.peer_best, "attempts alone do not end the wait"
    assert not node.signing.may_sign_block(ALICE, slot_now(node))
    clock[0] += CLAIM_STALL_S - 1
    await rounds(bridge, 1)
    assert not node.signing.may_sign_block(ALICE, slot_now(node)), "nor does time alone, short of the bound"
    clock[0] += 1
    await rounds(bridge, 2)
    assert PRUNED not in bridge.peer_best
    assert node.signing.may_sign_block(ALICE, slot_now(node)), node.signing.describe()
    assert not p2p.penalised and not p2p.banned, "a pruned history is no misbehaviour"
    warnings = [r.getMessage() for r in caplog.records if PRUNED in r.getMessage()]
    assert len(warnings) == 1 and f"for {CLAIM_STALL_S:.0f} s" in warnings[0], warnings


async def test_a_status_that_contradicts_itself_is_refuted_on_sight(spec: Path, tmp_path: Path,
                                                                   nodes: list[Node]) -> None:
    grow_chain(spec, tmp_path / "v", blocks=4)
    node = start_node(spec, tmp_path / "v", bootnodes=BOOT, epochs=0)
    nodes.append(node)
    c = node.chain
    above_best = PeerStatus(c.head.number, c.head_hash, c.head.number + 5, os.urandom(32))
    unheld_final = PeerStatus(c.head.number, c.head_hash, c.head.number - 1, os.urandom(32))  # we hold its best
    bridge, p2p = attach(node, {HONEST: Fixed(status_of(node)), LIAR: Fixed(above_best),
                                LIAR + "2": Fixed(unheld_final)})
    await rounds(bridge, 2)
    assert sorted(p for p, _ in p2p.penalised) == [LIAR, LIAR + "2"]
    assert "above its best" in dict(p2p.penalised)[LIAR]
    assert "not the block it calls finalized" in dict(p2p.penalised)[LIAR + "2"]
    assert node.signing.may_sign_block(ALICE, slot_now(node)), node.signing.describe()
