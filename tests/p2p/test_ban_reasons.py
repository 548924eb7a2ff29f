"""Every ban has a kind and a reason (issue 30): counted by kind from zero, listed while in force with its reason and
time left, on the p2p service, on RPC (`btt_peerBans`) and on /metrics (`btt_peer_bans_total{reason}`). A ban is
counted once however often it is extended; a clock disagreement is no kind of ban."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from btt_chain.node.metrics import NodeMetrics
from btt_chain.node.service import Node, NodeConfig
from btt_chain.rpc.registry import REGISTRY, RpcContext
from p2p.config import P2PConfig
from p2p.peerbook import BAN_KINDS, PeerBook, ban_kind
from p2p.service import P2PService

A, B, C, D = "12D3KooWA", "12D3KooWB", "12D3KooWC", "12D3KooWD"


def test_the_reasons_this_code_base_writes_have_their_kinds() -> None:
    assert ban_kind("invalid block via gossip: state root mismatch") == "invalid_block"
    assert ban_kind("invalid block in sync: bad author signature") == "invalid_block"
    assert ban_kind("its chain conflicts with the trusted checkpoint #40 0xabc") == "checkpoint_conflict"
    assert ban_kind("genesis mismatch: peer is on 0x1234, we are on 0x5678") == "genesis_mismatch"
    assert ban_kind("score at or below -100 (bad block gossip: not msgpack)") == "score"
    assert ban_kind("equivocation: two blocks for slot 7") == "equivocation"
    assert ban_kind("wrong content: the weights 0x0123: chunk 1 does not match its chunk hash") == "wrong_content"
    assert ban_kind("something new") == "other"
    assert set(BAN_KINDS) >= {"invalid_block", "equivocation", "score", "other"}
    assert not any("clock" in k or "future" in k or "time" in k for k in BAN_KINDS)


def test_bans_are_counted_once_by_kind_and_listed_with_their_reason_while_in_force() -> None:
    t = [100.0]
    book = PeerBook(-100, clock=lambda: t[0])
    assert book.ban_totals() == dict.fromkeys(BAN_KINDS, 0) and book.active_bans() == []
    assert book.ban(A, 300, "invalid block via gossip: state root mismatch")
    assert not book.ban(A, 600, "invalid block via sync: state root mismatch")  # extended, not counted again
    assert book.ban(B, 60, "genesis mismatch: peer is on 0x12")
    assert book.ban(C, 30, "a reason of its own", kind="equivocation")
    with pytest.raises(ValueError, match="unknown ban kind"):
        book.ban(D, 30, "late block", kind="clock")
    assert not book.is_banned(D)
    totals = book.ban_totals()
    assert (totals["invalid_block"], totals["genesis_mismatch"], totals["equivocation"]) == (1, 1, 1)
    assert sum(totals.values()) == 3
    listed = book.active_bans()
    assert [(b.peer_id, b.kind, b.seconds_left) for b in listed] == [
        (A, "invalid_block", 600.0), (B, "genesis_mismatch", 60.0), (C, "equivocation", 30.0)]
    assert listed[0].reason == "invalid block via sync: state root mismatch"
    t[0] += 61
    assert [b.peer_id for b in book.active_bans()] == [A]  # ended bans are not listed, even before the sweep
    assert sorted(book.sweep_expired_bans()) == [B, C]
    assert book.ban_totals() == totals  # totals are since start: an ended ban still counts
    assert book.ban(B, 60, "genesis mismatch: again")  # banned again after it ended: counted again
    assert book.ban_totals()["genesis_mismatch"] == 2


def test_a_score_ban_is_labelled_score_with_the_penalty_that_ended_it() -> None:
    book = PeerBook(-100, clock=lambda: 5.0)
    for _ in range(4):
        assert not book.penalise(A, 20)
    assert book.penalise(A, 20)
    book.ban(A, 600, "score at or below -100 (invalid blocks message)")
    [ban] = book.active_bans()
    assert ban.kind == "score" and "invalid blocks message" in ban.reason


@pytest.fixture
def node_with_p2p(tmp_path: Path) -> Iterator[Node]:
    """A dev node with a p2p service that is never started (bans are book-keeping)."""
    node = Node(NodeConfig(chain="dev", base_path=tmp_path / "n", tmp=False, validator_key=None, p2p_port=None))
    config = P2PConfig(listen_port=0, node_key_path=tmp_path / "key", genesis_hash=node.chain.genesis_hash)
    node.p2p = P2PService(config)
    try:
        yield node
    finally:
        node.p2p = None
        node.close()


def test_the_service_rpc_and_metrics_show_each_ban_with_its_kind(node_with_p2p: Node) -> None:
    import btt_chain.rpc.server  # noqa: F401  (every method module)

    node = node_with_p2p
    p2p = node.p2p
    assert p2p is not None
    p2p.ban(A, 300, "invalid block via gossip: bad author signature")
    p2p.penalise(B, 60, "bad block gossip: not msgpack")
    p2p.penalise(B, 60, "bad block gossip: not msgpack")  # past -100: a score ban
    assert p2p.ban_totals()["invalid_block"] == 1 and p2p.ban_totals()["score"] == 1
    method = REGISTRY.get("btt_peerBans")
    assert method is not None
    answer = method.handler(RpcContext(node))
    assert answer["totals"]["invalid_block"] == 1 and answer["totals"]["score"] == 1
    by_peer = {b["peerId"]: b for b in answer["active"]}
    assert by_peer[A]["kind"] == "invalid_block" and "bad author signature" in by_peer[A]["reason"]
    assert by_peer[B]["kind"] == "score" and "not msgpack" in by_peer[B]["reason"]
    assert 0 < by_peer[A]["secondsLeft"] <= 300
    metrics = NodeMetrics()
    metrics.attach(node)
    text = metrics.render().decode()
    samples = [line for line in text.splitlines() if line.startswith("btt_peer_bans_total{")]
    assert any('reason="invalid_block"' in line and line.endswith(" 1.0") for line in samples), samples
    assert any('reason="score"' in line and line.endswith(" 1.0") for line in samples), samples
    assert any('reason="equivocation"' in line and line.endswith(" 0.0") for line in samples), samples
    assert any(line.startswith("btt_clock_offset_ms") and line.endswith(" NaN") for line in text.splitlines())
