"""The `weights/get` protocol: its messages decode strictly (hostile bytes raise DecodeError and nothing else),
serving answers only from held blobs and throttles, and fetching between in-process exchanges checks the manifest and
every chunk, bans a peer at its first provable lie (wrong bytes for what it was asked) without storing a byte of it,
asks the next peer at once and any peer that connects later, charges a little to a peer that claimed a blob and
withheld it, blames nobody who lacks a blob or does not answer, resumes from the chunks held with the next peer,
dedupes, bounds its fetches and never asks one peer for one hash again at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.node import weights_exchange as wx
from btt_chain.node.weights_exchange import (
    MAX_CHUNK_RESPONSE,
    MAX_MANIFEST_RESPONSE,
    PROTOCOL,
    WITHHELD_PENALTY,
    WRONG_CONTENT_BAN_S,
    ServeRefused,
    WeightsExchange,
    decode_chunk_response,
    decode_manifest_response,
    decode_request,
    encode_chunk_response,
    encode_manifest_response,
    encode_request,
)
from btt_chain.primitives.codec import pack
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.weights_chunks import MAX_WEIGHTS_BYTES, WEIGHTS_CHUNK, chunk_hashes, weights_hash
from p2p.peerbook import PeerBook, ban_kind
from storage.content import MAX_CHUNKS, PARTIAL, PARTIAL_DIR, ContentStore, Manifest
from tests.storage.test_content_store import THREE, Clock, blob_of, chunk
from tests.support.fake_peers import Handler

H = weights_hash(THREE)


# messages -------------------------------------------------------------------------------------------------


def test_messages_round_trip() -> None:
    assert decode_request(encode_request(H)) == (H, None)
    assert decode_request(encode_request(H, MAX_CHUNKS - 1)) == (H, MAX_CHUNKS - 1)
    assert decode_manifest_response(encode_manifest_response(None)) is None
    manifest = Manifest(len(THREE), tuple(chunk_hashes(THREE)))
    assert decode_manifest_response(encode_manifest_response(manifest)) == (len(THREE), manifest.chunk_hashes)
    largest = Manifest(MAX_WEIGHTS_BYTES, tuple(b"\xff" * 32 for _ in range(MAX_CHUNKS)))
    assert len(encode_manifest_response(largest)) <= MAX_MANIFEST_RESPONSE
    assert decode_chunk_response(encode_chunk_response(3, None)) is None
    full = encode_chunk_response(MAX_CHUNKS - 1, b"\xff" * WEIGHTS_CHUNK)
    assert len(full) <= MAX_CHUNK_RESPONSE
    assert decode_chunk_response(full) == (MAX_CHUNKS - 1, b"\xff" * WEIGHTS_CHUNK)


HASHES = chunk_hashes(THREE)


@pytest.mark.parametrize("decode, raw", [
    (decode_request, pack([])),
    (decode_request, pack([H[:31]])),
    (decode_request, pack([H, MAX_CHUNKS])),
    (decode_request, pack([H, True])),
    (decode_request, pack([H, "1"])),
    (decode_request, pack([H, 1, 2])),
    (decode_request, pack(H)),
    (decode_request, pack([H]) + b"\x00"),
    (decode_request, b"\xc0"),  # nil
    (decode_request, pack([H + b"\x00" * 40, 1])),  # over the request size
    (decode_manifest_response, pack([len(THREE)])),
    (decode_manifest_response, pack([0, []])),
    (decode_manifest_response, pack([MAX_WEIGHTS_BYTES + 1, HASHES])),
    (decode_manifest_response, pack([len(THREE), HASHES[:2]])),  # 2 hashes for 3 chunks
    (decode_manifest_response, pack([len(THREE), [*HASHES, HASHES[0]]])),
    (decode_manifest_response, pack([len(THREE), [HASHES[0], HASHES[1], HASHES[2][:31]]])),
    (decode_manifest_response, pack([len(THREE), [HASHES[0], HASHES[1], "x" * 32]])),
    (decode_manifest_response, pack([True, HASHES])),
    (decode_manifest_response, b"\x90" + b"\x00" * MAX_MANIFEST_RESPONSE),
    (decode_chunk_response, pack([0])),
    (decode_chunk_response, pack([0, b""])),
    (decode_chunk_response, pack([MAX_CHUNKS, b"\x00"])),
    (decode_chunk_response, pack([0, b"\x00" * (WEIGHTS_CHUNK + 1)])),
    (decode_chunk_response, pack([0, "text"])),
    (decode_chunk_response, pack([0, b"\x00", 1])),
    (decode_chunk_response, pack({"index": 0})),
])
def test_malformed_messages_are_rejected(decode: Any, raw: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_decode_error(raw: bytes) -> None:
    for decode in (decode_request, decode_manifest_response, decode_chunk_response):
        try:
            decode(raw)
        except DecodeError:
            pass


# an in-process network --------------------------------------------------------------------------------------


class Unreachable(Exception):
    pass


@dataclass
class Info:
    peer_id: str


@dataclass
class Net:
    """Peers by id, each a handler of `weights/get`; requests are routed to them and recorded."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    requests: list[tuple[str, str, bytes, int | None]] = field(default_factory=list)
    """(from, to, weights hash, chunk index or None for the manifest)."""
    penalties: list[tuple[str, str, str]] = field(default_factory=list)
    """(by, whom, reason)."""
    amounts: list[int] = field(default_factory=list)
    """The points of each penalty, in order."""
    bans: list[tuple[str, str, str]] = field(default_factory=list)
    """(by, whom, reason); a banned peer is no longer among its banner's peers nor reachable from it."""
    requests_at_ban: list[int] = field(default_factory=list)
    """How many requests had been made when each ban was imposed."""

    def banned_by(self, me: str) -> set[str]:
        return {whom for by, whom, _ in self.bans if by == me}

    def port(self, me: str, connected: list[str] | None = None) -> Port:
        return Port(self, me, connected)


@dataclass
class Port:
    net: Net
    me: str
    connected: list[str] | None = None

    def peers(self) -> list[Info]:
        names = self.connected if self.connected is not None else [p for p in self.net.handlers if p != self.me]
        return [Info(p) for p in names if p not in self.net.banned_by(self.me)]

    async def request(self, peer_id: str, protocol: str, data: bytes, timeout: float = 10.0) -> bytes:
        assert protocol == PROTOCOL
        self.net.requests.append((self.me, peer_id, *decode_request(data)))
        handler = self.net.handlers.get(peer_id)
        if handler is None or peer_id in self.net.banned_by(self.me):
            raise Unreachable(peer_id)
        return await handler(self.me, data)

    def penalise(self, peer_id: str, amount: int, reason: str) -> None:
        self.net.penalties.append((self.me, peer_id, reason))
        self.net.amounts.append(amount)

    def ban(self, peer_id: str, seconds: float, reason: str) -> None:
        assert seconds == WRONG_CONTENT_BAN_S
        self.net.bans.append((self.me, peer_id, reason))
        self.net.requests_at_ban.append(len(self.net.requests))

    def set_request_handler(self, protocol: str, handler: Handler) -> None:
        assert protocol == PROTOCOL
        self.net.handlers[self.me] = handler


def node(net: Net, name: str, root: Path, blobs: tuple[bytes, ...] = (), connected: list[str] | None = None,
         **store_kwargs: Any) -> WeightsExchange:
    store = ContentStore(root / name, **store_kwargs)
    for blob in blobs:
        store.put(blob)
    exchange = WeightsExchange(store, net.port(name, connected))
    exchange.start()
    return exchange


def liar(honest: Handler, bad_chunk: int | None = None, bad_manifest: bool = False) -> Handler:
    """A peer that answers as `honest` does except for one tampered chunk, or a manifest of another blob."""
    async def serve(peer: str, data: bytes) -> bytes:
        h, index = decode_request(data)
        if bad_manifest and index is None:
            other = blob_of(len(THREE), seed=9)
            return encode_manifest_response(Manifest(len(other), tuple(chunk_hashes(other))))
        raw = await honest(peer, data)
        if index is not None and index == bad_chunk:
            i, chunk_data = decode_chunk_response(raw) or (index, b"")
            return encode_chunk_response(i, bytes([chunk_data[0] ^ 1]) + chunk_data[1:])
        return raw

    return serve


def asked(net: Net, to: str) -> list[int | None]:
    return [index for _, peer, _, index in net.requests if peer == to]


# serving ------------------------------------------------------------------------------------------------------


def test_serving_answers_from_held_blobs_only(tmp_path: Path) -> None:
    net = Net()
    server = node(net, "server", tmp_path, (THREE,))
    serve = net.handlers["server"]

    async def scenario() -> None:
        manifest = decode_manifest_response(await serve("peer", encode_request(H)))
        assert manifest == (len(THREE), tuple(chunk_hashes(THREE)))
        for i in range(3):
            assert decode_chunk_response(await serve("peer", encode_request(H, i))) == (i, chunk(THREE, i))
        assert decode_chunk_response(await serve("peer", encode_request(H, 3))) is None
        missing = b"\x01" * 32
        assert decode_manifest_response(await serve("peer", encode_request(missing))) is None
        assert decode_chunk_response(await serve("peer", encode_request(missing, 0))) is None
        server.store.begin(weights_hash(blob_of(100, 3)), 100, chunk_hashes(blob_of(100, 3)))
        assert decode_manifest_response(await serve("peer", encode_request(weights_hash(blob_of(100, 3))))) is None
        with pytest.raises(DecodeError):
            await serve("rude", b"\xc1")

    asyncio.run(scenario())
    assert [(whom, reason[:25]) for _, whom, reason in net.penalties] == [("rude", "malformed weights request")]


def test_serving_is_throttled_per_peer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wx, "SERVE_BURST", 3.0)
    monkeypatch.setattr(wx, "SERVE_RATE", 2.0)
    monkeypatch.setattr(wx, "SERVE_MAX_WAIT_S", 1.0)
    clock = Clock()
    net = Net()
    store = ContentStore(tmp_path / "server")
    store.put(THREE)
    exchange = WeightsExchange(store, net.port("server"), clock=clock)
    waited: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(wx.asyncio, "sleep", no_sleep)

    async def scenario() -> None:
        for _ in range(3):  # the burst
            await exchange.serve("greedy", encode_request(H, 0))
        await exchange.serve("greedy", encode_request(H, 0))  # waits half a second for its token
        await exchange.serve("greedy", encode_request(H, 0))  # a whole second
        with pytest.raises(ServeRefused):
            await exchange.serve("greedy", encode_request(H, 0))  # would wait 1.5 s
        await exchange.serve("polite", encode_request(H, 0))  # another peer has its own bucket
        clock.now += 10
        await exchange.serve("greedy", encode_request(H, 0))  # refilled

    asyncio.run(scenario())
    assert waited == [0.5, 1.0]


# fetching -----------------------------------------------------------------------------------------------------


def test_a_three_chunk_blob_is_fetched_past_a_lying_peer(tmp_path: Path) -> None:
    net = Net()
    node(net, "honest", tmp_path, (THREE,))
    node(net, "liar", tmp_path, (THREE,))
    net.handlers["liar"] = liar(net.handlers["liar"], bad_chunk=1)
    fetcher = node(net, "fetcher", tmp_path)
    fetched: list[bytes] = []
    fetcher.on_fetched.append(fetched.append)

    async def scenario() -> None:
        assert fetcher.want(H, prefer="liar")  # it sent us the block that needs the blob: asked first
        assert fetcher.want(H)  # the same fetch
        assert fetcher.fetching == 1
        await asyncio.gather(*fetcher._tasks.values())

    asyncio.run(scenario())
    assert fetcher.store.get_weights(H) == THREE and fetched == [H]
    assert asked(net, "liar") == [None, 0, 1]
    assert asked(net, "honest") == [1, 2]  # resumed from the chunks held: no manifest, no chunk 0 again
    assert [(by, whom) for by, whom, _ in net.bans] == [("fetcher", "liar")] and net.penalties == []
    assert "chunk 1 does not match its chunk hash" in net.bans[0][2]
    assert (fetcher.started, fetcher.completed, fetcher.failed, fetcher.bad_data) == (1, 1, 0, 1)


def test_a_wrong_manifest_is_blamed_and_the_next_peer_serves(tmp_path: Path) -> None:
    net = Net()
    node(net, "forger", tmp_path, (THREE,))
    net.handlers["forger"] = liar(net.handlers["forger"], bad_manifest=True)
    node(net, "honest", tmp_path, (THREE,))
    fetcher = node(net, "fetcher", tmp_path)
    assert asyncio.run(fetcher.fetch(H)) is True
    assert asked(net, "forger") == [None] and asked(net, "honest") == [None, 0, 1, 2]
    assert [whom for _, whom, _ in net.bans] == ["forger"] and net.penalties == []
    assert "does not hash to the weights hash" in net.bans[0][2]


LIES = ("another blob's manifest", "a flipped byte", "a short chunk", "another chunk")


def lying(honest: Handler, lie: str) -> Handler:
    """A peer that answers as `honest` does (it may relay another peer's answers) but for one lie, one of LIES: the
    manifest, or chunk 0, is not what it was asked for."""
    async def serve(peer: str, data: bytes) -> bytes:
        h, index = decode_request(data)
        if index is None and lie == "another blob's manifest":
            other = blob_of(len(THREE), seed=9)
            return encode_manifest_response(Manifest(len(other), tuple(chunk_hashes(other))))
        raw = await honest(peer, data)
        if index == 0 and lie != "another blob's manifest":
            first = decode_chunk_response(raw)
            assert first is not None
            if lie == "a flipped byte":
                return encode_chunk_response(0, bytes([first[1][0] ^ 1]) + first[1][1:])
            if lie == "a short chunk":
                return encode_chunk_response(0, first[1][:-1])
            return await honest(peer, encode_request(h, 1))  # "another chunk": chunk 1, whole and true
        return raw

    return serve


def chunk_files(store: ContentStore) -> list[str]:
    """Chunk files of partial fetches on disk (a chunk is written only once it checked out)."""
    return sorted(f.name for f in (store.root / PARTIAL_DIR).rglob("*") if f.is_file() and f.name != "manifest")


@pytest.mark.parametrize("lie", LIES)
def test_a_peer_that_lies_about_a_blob_it_claims_is_banned_at_its_first_lie_and_an_honest_peer_serves_at_once(
    tmp_path: Path, lie: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="btt.net")
    net = Net()
    node(net, "liar", tmp_path, (THREE,))
    net.handlers["liar"] = lying(net.handlers["liar"], lie)
    node(net, "honest", tmp_path, (THREE,))
    clock = Clock()  # frozen: anything that happens below happens without waiting for a retry pause
    fetcher = WeightsExchange(ContentStore(tmp_path / "fetcher"), net.port("fetcher", ["liar"]), clock=clock)
    fetcher.start()
    fetched: list[bytes] = []
    fetcher.on_fetched.append(fetched.append)
    port = fetcher.p2p
    assert isinstance(port, Port)

    async def scenario() -> None:
        assert fetcher.want(H, prefer="liar")  # it sent us the block that needs the blob: it claims to hold it
        await asyncio.gather(*fetcher._tasks.values())
        # the node's only peer lied once, and was banned for it, right then: nothing was asked after the lie
        assert [(by, whom) for by, whom, _ in net.bans] == [("fetcher", "liar")]
        assert net.requests_at_ban == [len(net.requests)]
        assert asked(net, "liar") == ([None] if lie == "another blob's manifest" else [None, 0])
        assert ban_kind(net.bans[0][2]) == "wrong_content" and net.penalties == []
        assert not fetcher.store.has(H) and chunk_files(fetcher.store) == []  # not a byte of the lie was kept
        # ... and the node says where it stands
        [line] = [r.getMessage() for r in caplog.records if "could not fetch" in r.getMessage()]
        held = "0 of ?" if lie == "another blob's manifest" else "0 of 3"
        assert (f"({held} chunks held; asked 1 peer: 1 sent wrong bytes (banned)): no peer left to ask: asking "
                f"again when one connects") in line, line
        # an honest peer connects: the fetch starts again at once, not after the retry pause
        port.connected = ["liar", "honest"]
        assert not fetcher.want(H)  # the last fetch ended moments ago (the clock has not moved)
        fetcher.peer_connected("honest")
        assert fetcher.want(H)
        await asyncio.gather(*fetcher._tasks.values())

    asyncio.run(scenario())
    assert fetcher.store.get_weights(H) == THREE and fetched == [H]
    assert asked(net, "honest") == ([None, 0, 1, 2] if lie == "another blob's manifest" else [0, 1, 2])
    assert [whom for _, whom, _ in net.bans] == ["liar"] and net.penalties == []  # the honest peer is not blamed
    assert (fetcher.started, fetcher.completed, fetcher.failed, fetcher.bad_data) == (2, 1, 1, 1)


def test_a_relay_that_tampers_with_an_honest_peers_answers_is_banned_and_the_honest_peer_is_not(
    tmp_path: Path
) -> None:
    net = Net()
    node(net, "honest", tmp_path, (THREE,))
    net.handlers["relay"] = lying(net.handlers["honest"], "a flipped byte")  # passes the honest peer's answers on
    fetcher = node(net, "fetcher", tmp_path, connected=["relay", "honest"])

    async def scenario() -> None:
        assert fetcher.want(H, prefer="relay")
        await asyncio.gather(*fetcher._tasks.values())

    asyncio.run(scenario())
    assert fetcher.store.get_weights(H) == THREE
    assert asked(net, "relay") == [None, 0] and asked(net, "honest") == [0, 1, 2]  # its manifest was the honest one
    assert [whom for _, whom, _ in net.bans] == ["relay"] and net.penalties == []


def test_peers_that_lack_a_blob_or_do_not_answer_are_neither_banned_nor_penalised(tmp_path: Path) -> None:
    net = Net()
    node(net, "empty", tmp_path)

    async def times_out(peer: str, data: bytes) -> bytes:
        raise TimeoutError("weights/get request timed out after 10 s")

    async def busy(peer: str, data: bytes) -> bytes:
        raise ServeRefused("weights requests are throttled: ask again later")

    net.handlers["slow"] = times_out
    net.handlers["busy"] = busy
    node(net, "honest", tmp_path, (THREE,))
    fetcher = node(net, "fetcher", tmp_path, connected=["slow", "busy", "gone", "empty", "honest"])

    async def scenario() -> None:
        assert fetcher.want(H, prefer="empty")  # it sent a block that needs the blob, yet lacks it: no lie
        await asyncio.gather(*fetcher._tasks.values())

    asyncio.run(scenario())
    assert fetcher.store.get_weights(H) == THREE
    assert [(to, index) for _, to, _, index in net.requests] == [
        ("empty", None), ("slow", None), ("busy", None), ("gone", None), ("honest", None), ("honest", 0),
        ("honest", 1), ("honest", 2)]
    assert net.bans == [] and net.penalties == []


def test_a_peer_that_claims_a_blob_then_withholds_it_pays_a_little_and_is_not_asked_again_at_once(
    tmp_path: Path
) -> None:
    net = Net()
    node(net, "withholder", tmp_path, (THREE,))
    honest = net.handlers["withholder"]

    async def withholds(peer: str, data: bytes) -> bytes:
        _, index = decode_request(data)
        return await honest(peer, data) if index is None else encode_chunk_response(0, None)

    net.handlers["withholder"] = withholds
    node(net, "empty", tmp_path)
    fetcher = node(net, "fetcher", tmp_path, connected=["withholder", "empty"])

    async def fetch_twice() -> None:
        for _ in range(2):
            fetcher._ended.clear()  # as if RETRY_AFTER_S had passed
            assert fetcher.want(H)
            await asyncio.gather(*fetcher._tasks.values())

    asyncio.run(fetch_twice())
    # it claimed the blob (its manifest is true) and sent no chunk: a small penalty, and it waits PEER_RETRY_S; the
    # peer asked only for a chunk never claimed the blob: lacking it costs nothing, and it is asked again
    assert asked(net, "withholder") == [None, 0] and asked(net, "empty") == [0, 0]
    assert [(whom, reason) for _, whom, reason in net.penalties] == [
        ("withholder", f"sent the manifest of the weights 0x{H.hex()[:16]}, then no chunk 0")]
    assert net.amounts == [WITHHELD_PENALTY] and net.bans == []
    status = fetcher.store.status(H)
    assert (status.state, status.have, status.total) == (PARTIAL, 0, 3)
    # asked at most every PEER_RETRY_S, it would take the score recovery's own pace to ban it: no ban loop
    t = [0.0]
    book = PeerBook(-100, clock=lambda: t[0])
    for _ in range(int(600 / wx.PEER_RETRY_S)):  # ten minutes of it
        assert not book.penalise("withholder", WITHHELD_PENALTY)
        t[0] += wx.PEER_RETRY_S


def test_peers_that_lack_it_or_fail_are_not_blamed_nor_asked_again_at_once(tmp_path: Path) -> None:
    net = Net()
    empty = node(net, "empty", tmp_path)
    fetcher = node(net, "fetcher", tmp_path, connected=["gone", "empty"])

    async def garbage(peer: str, data: bytes) -> bytes:
        return b"\xc1"

    async def fetch_again() -> None:
        fetcher._ended.clear()  # as if RETRY_AFTER_S had passed
        assert fetcher.want(H)
        await asyncio.gather(*fetcher._tasks.values())

    async def scenario() -> tuple[bool, bool, bool]:
        assert fetcher.want(H)
        await asyncio.gather(*fetcher._tasks.values())
        again = fetcher.want(H)  # the fetch failed moments ago: not again
        busy = fetcher.is_busy(H)
        fetcher.p2p.connected = ["gone", "empty", "junk"]  # type: ignore[attr-defined]
        net.handlers["junk"] = garbage
        await fetch_again()  # "gone" failed: it waits PEER_RETRY_S; "empty" only lacked the blob: asked again
        lacked = fetcher.store.has(H)
        empty.store.put(THREE)  # it has it now (an owner's node, just after the registration)
        await fetch_again()
        return again, busy, lacked

    assert asyncio.run(scenario()) == (False, True, False)
    assert fetcher.store.get_weights(H) == THREE
    assert [(to, index) for _, to, _, index in net.requests] == [
        ("gone", None), ("empty", None), ("empty", None), ("junk", None), ("empty", None), ("empty", 0),
        ("empty", 1), ("empty", 2)]
    assert [whom for _, whom, _ in net.penalties] == ["junk"]
    assert (fetcher.started, fetcher.failed, fetcher.completed) == (3, 2, 1)


def test_fetches_are_bounded_and_queued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wx, "MAX_FETCHES", 2)
    monkeypatch.setattr(wx, "MAX_QUEUED", 1)
    blobs = [blob_of(1000, seed) for seed in range(4)]
    net = Net()
    node(net, "server", tmp_path, tuple(blobs))
    fetcher = node(net, "fetcher", tmp_path)
    hashes = [weights_hash(b) for b in blobs]

    async def scenario() -> list[bool]:
        started = [fetcher.want(h) for h in hashes]
        assert (len(fetcher._tasks), len(fetcher._queue)) == (2, 1)
        while fetcher.fetching:
            await asyncio.sleep(0)
        return started

    assert asyncio.run(scenario()) == [True, True, True, False]
    assert [fetcher.store.has(h) for h in hashes] == [True, True, True, False]
    assert not fetcher.want(hashes[0])  # held: nothing to do


def test_a_fetch_the_store_has_no_room_for_stops_without_blame(tmp_path: Path) -> None:
    net = Net()
    node(net, "server", tmp_path, (THREE,))
    fetcher = node(net, "fetcher", tmp_path, max_unneeded_bytes=len(THREE) - 1)
    assert asyncio.run(fetcher.fetch(H)) is False
    assert asked(net, "server") == [None] and net.penalties == []
    assert fetcher.store.status(H).state != PARTIAL


def test_stop_cancels_running_fetches(tmp_path: Path) -> None:
    net = Net()

    async def hang(peer: str, data: bytes) -> bytes:
        await asyncio.sleep(3600)
        return b""

    net.handlers["slow"] = hang
    fetcher = node(net, "fetcher", tmp_path)

    async def scenario() -> bool:
        assert fetcher.want(H)
        await asyncio.sleep(0.01)
        await fetcher.stop()
        return fetcher.fetching == 0

    assert asyncio.run(scenario())
