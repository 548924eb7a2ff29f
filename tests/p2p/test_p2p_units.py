"""Pure parts of p2p: wire names, config checks, the status and response layouts, scores and bans."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from p2p import P2PConfig, P2PError, wire, wire_protocol, wire_topic
from p2p.config import STATUS_PROTOCOL_ID, parse_bootnode
from p2p.peerbook import RECOVERY_PER_SECOND, PeerBook
from tests.p2p.harness import GENESIS

KEY = Path("/nonexistent/node.key")
PEER = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"


def test_wire_names_are_namespaced_by_genesis() -> None:
    config = P2PConfig(30333, KEY, GENESIS)
    prefix = GENESIS.hex()[:16]
    assert wire_topic(config, "blocks") == f"/btt/{prefix}/blocks/1"
    assert wire_protocol(config, "sync/headers") == f"/btt/{prefix}/sync/headers/1"
    assert STATUS_PROTOCOL_ID == "/btt/status/1"
    for bad in ("", "Blocks", "a b", "/x", "x/", "blocks\n"):
        with pytest.raises(P2PError):
            wire_topic(config, bad)


def test_config_is_checked() -> None:
    with pytest.raises(P2PError, match="32 bytes"):
        P2PConfig(1, KEY, b"short")
    with pytest.raises(P2PError, match="64 KiB"):
        P2PConfig(1, KEY, GENESIS, max_message_bytes=64 * 1024)
    with pytest.raises(P2PError, match="bootnode"):
        P2PConfig(1, KEY, GENESIS, bootnodes=("/ip4/127.0.0.1/tcp/1",))
    assert parse_bootnode(f"/ip4/127.0.0.1/tcp/30333/p2p/{PEER}") == (PEER, "/ip4/127.0.0.1/tcp/30333")


@given(st.binary(max_size=200))
def test_status_round_trip(status: bytes) -> None:
    decoded = wire.decode_status(wire.encode_status(GENESIS, status))
    assert decoded == wire.Status(GENESIS, status)


def test_malformed_status_and_failure_responses() -> None:
    with pytest.raises(P2PError, match="malformed"):
        wire.decode_status(b"\x01" + GENESIS[:10])
    with pytest.raises(P2PError, match="malformed"):
        wire.decode_status(b"\x02" + GENESIS)
    assert wire.decode_response(wire.encode_response(wire.RESPONSE_OK, b"abc")) == b"abc"
    with pytest.raises(P2PError, match=r"\(busy\): too many"):
        wire.decode_response(wire.encode_failure(wire.RESPONSE_BUSY, "too many"))
    with pytest.raises(P2PError, match="code 9"):
        wire.decode_response(b"\x09")
    assert len(wire.encode_failure(wire.RESPONSE_ERROR, "x" * 1000)) == 1 + wire.MAX_REASON_BYTES


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_scores_fall_with_penalties_recover_slowly_and_ban_at_the_threshold() -> None:
    clock = Clock()
    book = PeerBook(ban_threshold=-100, clock=clock)
    assert book.score(PEER) == 0
    assert book.penalise(PEER, 60) is False
    assert book.score(PEER) == -60
    clock.now += 100
    assert book.score(PEER) == -60 + int(100 * RECOVERY_PER_SECOND)
    assert book.penalise(PEER, 50) is True  # -50 - 50 = -100: at the threshold
    clock.now += 10_000
    assert book.score(PEER) == 0, "recovery stops at zero"
    with pytest.raises(ValueError):
        book.penalise(PEER, -5)


def test_bans_hide_peers_and_end_in_one_sweep() -> None:
    clock = Clock()
    book = PeerBook(ban_threshold=-100, clock=clock)
    book.set_connected(PEER, "/ip4/127.0.0.1/tcp/1", b"s", 1.0)
    assert [p.peer_id for p in book.connected_peers()] == [PEER]
    book.ban(PEER, 5, "test")
    assert book.is_banned(PEER) and not book.is_connected(PEER) and book.connected_peers() == []
    book.ban(PEER, 1, "shorter ban does not shorten")
    clock.now += 4
    assert book.sweep_expired_bans() == []
    clock.now += 1
    assert book.sweep_expired_bans() == [PEER]
    assert not book.is_banned(PEER)
    assert book.set_disconnected(PEER) is True
    assert book.set_disconnected(PEER) is False


def test_libp2p_errors_about_peers_that_left_are_demoted_and_others_stay_errors() -> None:
    """libp2p logs a peer that reset its connection (it stopped) at ERROR; the node handles that as a disconnect,
    so it reaches our log as DEBUG. Any other libp2p ERROR is forwarded as ERROR."""
    import logging

    from p2p.node import install_libp2p_log_forwarding

    install_libp2p_log_forwarding()
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    target = logging.getLogger("btt.p2p.libp2p")
    keep, level = Keep(), target.level
    target.addHandler(keep)
    target.setLevel(logging.DEBUG)
    try:
        yamux = logging.getLogger("libp2p.stream_muxer.yamux.yamux")
        yamux.error(f"Error in handle_incoming for peer {PEER}: ConnectionClosedError: TCP connection reset by "
                    "remote peer: socket connection broken: [Errno 32] Broken pipe")
        yamux.error(f"Error in handle_incoming for peer {PEER}: ValueError: frame of unknown type 9")
    finally:
        target.removeHandler(keep)
        target.setLevel(level)
    assert [(r.levelname, r.getMessage().split(": ")[1]) for r in seen] == [
        ("DEBUG", "ConnectionClosedError"), ("ERROR", "ValueError")]


def test_dial_state_is_forgotten_for_peers_no_longer_dialed(tmp_path: Path) -> None:
    """Every peer ever dialed left four entries behind (when, where, next redial, delay): a peer exchange handing
    out fresh fake ids grew them without bound. Kept: bootnodes, peers connected, being dialed or handshaken, and
    a dial that began within a dial's time (its connection event may still come)."""
    from p2p.handlers import Handlers
    from p2p.node import TrioNode
    from p2p.node_key import load_or_create_node_key

    boot = "12D3KooWLaATEL2KhLXD37rVKWqvbMQAszSEMP4RpC2o7N78ghBX"
    config = P2PConfig(listen_port=1, node_key_path=tmp_path / "k", genesis_hash=GENESIS,
                       bootnodes=(f"/ip4/127.0.0.1/tcp/2/p2p/{boot}",), dial_timeout=5.0)
    node = TrioNode(config, load_or_create_node_key(config.node_key_path), PeerBook(-100), Handlers(),
                    None, lambda kind, peer: None)  # type: ignore[arg-type]  # no thread: nothing runs
    now = 1000.0
    gone = [f"fake{i}" for i in range(500)]
    for peer in [*gone, boot, "connected", "dialing", "handshaking", "just-dialed"]:
        began = now - 3.0 if peer == "just-dialed" else now - 60.0
        node._dial_began[peer], node._dial_addr[peer] = began, "/ip4/127.0.0.1/tcp/9"
        node._next_dial[peer], node._dial_delay[peer] = began + 1, 2.0
    node._conns["connected"] = set()
    node._dialing.add("dialing")
    node._handshaking.add("handshaking")
    before = {name: dict(getattr(node, name)) for name in ("_dial_began", "_dial_addr", "_next_dial", "_dial_delay")}

    assert node.forget_dial_state(now) == 500
    kept = {boot, "connected", "dialing", "handshaking", "just-dialed"}
    for name, entries in before.items():
        assert getattr(node, name) == {p: v for p, v in entries.items() if p in kept}, name
    assert node.forget_dial_state(now) == 0
    assert node.forget_dial_state(now + 10.0) == 1  # the recent dial's time is over, and nothing came of it
    assert "just-dialed" not in node._dial_began


def test_inbound_upgrade_slots_bound_all_and_each_address_and_come_back_once() -> None:
    from p2p.inbound_slots import InboundUpgrades

    slots = InboundUpgrades(cap=4, per_address=2)
    first = [slots.take("10.0.0.1"), slots.take("10.0.0.1")]
    assert all(first) and slots.take("10.0.0.1") is None  # that address's share is taken
    others = [slots.take("10.0.0.2"), slots.take("10.0.0.3")]
    assert all(others) and slots.take("10.0.0.4") is None  # all are taken
    release = first[0]
    assert release is not None
    release()
    release()  # given back once, however often called
    assert slots.in_flight == 3 and slots.by_address == {"10.0.0.1": 1, "10.0.0.2": 1, "10.0.0.3": 1}
    for r in [first[1], *others]:
        assert r is not None
        r()
    assert slots.in_flight == 0 and slots.by_address == {}  # nothing kept for addresses gone
