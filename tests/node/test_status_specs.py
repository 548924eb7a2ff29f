"""The status a node serves carries the spec of its head and the specs it can run (issue 50), and older nodes still
read it: a `sync/status` request without a version (an older node's) gets the four fields the older decoder takes;
a node that asks with [1] gets the spec fields after them and still reads an older node's four. Hostile statuses and
requests raise DecodeError only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.node import sync
from btt_chain.node.network import NetworkBridge, node_status
from btt_chain.node.service import Node, NodeConfig, now_ms
from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import DecodeError
from genesis.loader import load_chain_spec, materialise
from p2p.peerbook import PeerInfo
from runtime import specs
from tests.node.test_future_blocks import recent_genesis_ms, write_spec
from tests.support.long_range import FakeP2P

H1, H2 = b"\x01" * 32, b"\x02" * 32


def decode_before_specs(raw: bytes) -> sync.PeerStatus:
    """The release before this one's `PeerStatus.decode`, as it was: exactly four fields."""
    value = unpack(raw, max_size=256)
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(value[i], int) and not isinstance(value[i], bool) for i in (0, 2))
        or not all(isinstance(value[i], bytes) and len(value[i]) == 32 for i in (1, 3))
    ):
        raise DecodeError("status must be [number, hash32, number, hash32]")
    return sync.PeerStatus(value[0], value[1], value[2], value[3])


def test_an_older_nodes_status_decodes_without_specs_and_ours_round_trips() -> None:
    old = pack([7, H1, 3, H2])
    assert sync.PeerStatus.decode(old) == sync.PeerStatus(7, H1, 3, H2, None, ())
    ours = sync.PeerStatus(7, H1, 3, H2, 12, (11, 12))
    assert sync.PeerStatus.decode(ours.encode()) == ours
    assert ours.without_specs().encode() == old
    assert decode_before_specs(ours.without_specs().encode()) == ours.without_specs()
    with pytest.raises(DecodeError):  # why the spec fields go only to a node that asks for them
        decode_before_specs(ours.encode())
    widest = sync.PeerStatus(2**63, H1, 2**63, H2, 2**32 - 1, tuple(range(2**32 - sync.MAX_SPECS, 2**32)))
    assert sync.PeerStatus.decode(widest.encode()) == widest  # within the size bound


@pytest.mark.parametrize("raw", [
    pack([7, H1, 3, H2, 12]),  # five fields
    pack([7, H1, 3, H2, 12, [11, 12], 0]),  # seven
    pack([7, H1, 3, H2, 12, []]),  # no spec it can run
    pack([7, H1, 3, H2, 12, [12, 11]]),  # not ascending
    pack([7, H1, 3, H2, 12, [11, 11]]),  # repeated
    pack([7, H1, 3, H2, 2**32, [11]]),  # not a u32
    pack([7, H1, 3, H2, 12, [2**32]]),
    pack([7, H1, 3, H2, True, [11]]),  # a bool is not a spec
    pack([7, H1, 3, H2, 12, [False]]),
    pack([7, H1, 3, H2, b"12", [11]]),
    pack([7, H1, 3, H2, 12, 11]),  # specs not a list
    pack([7, H1, 3, H2, 12, [b"\x0b"]]),
    pack([7, H1, 3, H2, 12, list(range(sync.MAX_SPECS + 1))]),  # too many
    pack([7, H1[:31], 3, H2, 12, [11]]),  # the old fields are checked as before
    pack([True, H1, 3, H2, 12, [11]]),
    pack([7, H1, 3, H2, 12, [11]]) + b"\x00",  # trailing bytes
    pack([7, H1, 3, H2, 12, list(range(1, 200))]),  # over the size bound
])
def test_a_garbage_status_is_refused_with_decode_error(raw: bytes) -> None:
    with pytest.raises(DecodeError):
        sync.PeerStatus.decode(raw)


def test_the_status_request_says_whether_the_asker_reads_the_specs() -> None:
    assert sync.decode_status_request(b"") is False  # an older node's
    assert sync.decode_status_request(sync.encode_status_request()) is True
    assert sync.encode_status_request(with_specs=False) == b""
    assert sync.decode_status_request(pack([2])) is True  # a later version gets what this one knows
    for raw in (pack([0]), pack([]), pack([1, 1]), pack(["1"]), pack(1), b"\xc1", pack([True]), b"x" * 40):
        with pytest.raises(DecodeError):
            sync.decode_status_request(raw)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=600), st.builds(pack, st.lists(st.one_of(
    st.integers(0, 2**40), st.binary(max_size=40), st.lists(st.integers(0, 2**33), max_size=20)), max_size=8))))
def test_random_statuses_and_requests_only_raise_decode_error(raw: bytes) -> None:
    for decode in (sync.PeerStatus.decode, sync.decode_status_request):
        try:
            decode(raw)
        except DecodeError:
            pass


# ------------------------------------------------------------------------------------------ the node's side


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    spec = write_spec(tmp_path / "spec.json", materialise(load_chain_spec("dev").raw, recent_genesis_ms()))
    n = Node(NodeConfig(chain=str(spec), base_path=tmp_path / "b", tmp=False, validator_key=None, p2p_port=None))
    try:
        yield n
    finally:
        n.close()
        specs.limit(None)


async def test_a_node_answers_an_older_node_in_its_format_and_a_newer_one_with_its_specs(node: Node) -> None:
    bridge = NetworkBridge(node, FakeP2P({}), now_ms)  # type: ignore[arg-type]
    chain = node.chain
    plain = sync.PeerStatus(0, chain.head_hash, 0, chain.finalized_hash)
    assert decode_before_specs(await bridge._serve_status("12D3KooWOld", b"")) == plain
    full = sync.PeerStatus.decode(await bridge._serve_status("12D3KooWNew", sync.encode_status_request()))
    assert full == sync.PeerStatus(0, chain.head_hash, 0, chain.finalized_hash, specs.NEWEST, specs.supported())
    with pytest.raises(DecodeError):  # a hostile request: the peer gets an error answer, nothing else happens
        await bridge._serve_status("12D3KooWBad", b"\xc1")
    specs.limit(specs.OLDEST)  # `--max-spec`: the specs it says it runs follow
    assert node_status(node).specs == (specs.OLDEST,)


async def test_the_handshake_status_is_read_for_the_spec_and_an_unreadable_one_is_ignored(
        node: Node, caplog: pytest.LogCaptureFixture) -> None:
    specs.limit(specs.OLDEST)
    h = node.chain.head_hash
    statuses = {"12D3KooWOld": b"", "12D3KooWJunk": b"\xc1junk",
                "12D3KooWNew": sync.PeerStatus(5, h, 0, h, specs.NEWEST, (specs.NEWEST,)).encode()}

    class HandshakeP2P(FakeP2P):
        def peers(self) -> list[PeerInfo]:
            return [PeerInfo(p, "/ip4/127.0.0.1/tcp/1", 0, 0.0, raw) for p, raw in statuses.items()]

    p2p = HandshakeP2P({})
    bridge = NetworkBridge(node, p2p, now_ms)  # type: ignore[arg-type]
    caplog.clear()
    for peer in statuses:
        bridge._observe_handshake(peer)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and f"runs spec {specs.NEWEST}, which this node cannot run" in warnings[0]
    assert p2p.banned == {} and p2p.penalised == []
