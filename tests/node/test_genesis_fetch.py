"""A node joining by full sync whose chain spec names a genesis state file it lacks fetches it from peers by its hash
(`genesis/state`, issue 54): the server (`genesis_state_serve`) and the fetch (`genesis_fetch`) over a stand-in for
the p2p host, with small chunks so a file of a devnet's state (58 kB) is 29 of them.

The joiner gets the file from a peer that has it, reaches the same genesis hash and state, and imports the chain after
it. Each attack is a peer that lies one way: a file with one byte changed (found at the end, by the whole file's hash:
the liar banned, nothing kept, the honest second peer gives it), a file whose bytes break the format early (found in
the first chunks), a chunk that is not its manifest's, a malformed manifest; alone, a liar leaves no file and the
fetch ends with one line naming it. The server refuses another hash, a chunk past the end and a malformed request,
serves no byte of a file that is not the one its spec names (or changed since its check), and throttles a peer that
asks too often. A node fetches only when its spec names a file it lacks and its database holds no genesis.
"""

from __future__ import annotations

import asyncio
import dataclasses
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from btt_chain.node.chain import Chain
from btt_chain.node.genesis_fetch import GenesisFetchFailed, GenesisStateFetch, fetch_needed
from btt_chain.node.genesis_state_serve import (
    PROTOCOL,
    GenesisStateRefused,
    GenesisStateServer,
    Manifest,
    chunk_hash,
    decode_chunk,
    decode_manifest,
    encode_request,
)
from btt_chain.node.serve_throttle import ServeRefused, ServeThrottle
from btt_chain.primitives.codec import pack
from btt_chain.primitives.errors import DecodeError
from genesis.build import Genesis, build_genesis
from genesis.loader import canonical_json, load_chain_spec
from genesis.snapshot import HEADER
from genesis.snapshot_build import snapshot_from_listing
from genesis.spec import GenesisStateRef
from p2p import P2PError
from storage.memory import MemoryStore
from tests.support.fake_peers import Handler, PeerInfo
from tests.support.node_builder import author_as_leader, devnet_genesis, far_future_ms, transfer

CHUNK = 2048
VALIDATORS = ("alice", "bob", "charlie")


@dataclass
class Served:
    genesis: Genesis
    """The listing spec's genesis (its state in memory)."""
    chain: Chain
    """A chain of a few blocks on it."""
    server_spec: Path
    """The spec naming its state file, beside the file."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    genesis = devnet_genesis(3)
    where = tmp_path_factory.mktemp("server")
    doc = snapshot_from_listing(genesis.spec, genesis, where / "spec.state", "spec.state")
    (where / "spec.json").write_bytes(canonical_json(doc))
    chain = Chain(MemoryStore(), genesis)
    for n in range(4):
        author_as_leader(chain, VALIDATORS, [transfer(chain, "alice", f"acct{n}", 10**18 + n)])
    return Served(genesis, chain, where / "spec.json")


def ref_of(spec: Path) -> GenesisStateRef:
    ref = load_chain_spec(str(spec)).genesis_state
    assert ref is not None
    return ref


def joiner_spec(served: Served, where: Path) -> Path:
    """The server's spec in a directory of its own, without the file."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "spec.json").write_bytes(served.server_spec.read_bytes())
    return where / "spec.json"


def unthrottled(server: GenesisStateServer) -> GenesisStateServer:
    """A server whose throttle lets the fetch tests' 29 chunks through at once (the throttle's own test is
    `test_a_peer_asking_too_often_is_refused`)."""
    server.throttle = ServeThrottle("genesis state", 1e6, 1e6, 1e6, 2.0)
    return server


def server_of(spec: Path) -> GenesisStateServer:
    return unthrottled(GenesisStateServer(ref_of(spec), chunk_bytes=CHUNK))


class Liar(GenesisStateServer):
    """Serves a file that is not the one named as if it were: its own check passes whatever the file's hash."""

    def __init__(self, ref: GenesisStateRef, path: Path) -> None:
        super().__init__(dataclasses.replace(ref, path=path), chunk_bytes=CHUNK)
        self.ref = dataclasses.replace(self.ref, hash=ref.hash)
        unthrottled(self)

    async def manifest(self) -> Manifest | None:
        data = self.ref.path.read_bytes()
        return Manifest(len(data), tuple(chunk_hash(data[i : i + CHUNK]) for i in range(0, len(data), CHUNK)))


def tampered(served: Served, where: Path, change: Callable[[bytearray], None]) -> Path:
    data = bytearray((served.server_spec.parent / "spec.state").read_bytes())
    change(data)
    where.mkdir(parents=True, exist_ok=True)
    (where / "liar.state").write_bytes(bytes(data))
    return where / "liar.state"


@dataclass
class Net:
    """Peers as the fetch sees them: each answers `genesis/state` with its handler; bans are recorded."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    banned: dict[str, str] = field(default_factory=dict)
    asked: dict[str, int] = field(default_factory=dict)

    def peers(self) -> list[PeerInfo]:
        return [PeerInfo(p) for p in self.handlers if p not in self.banned]

    async def request(self, peer: str, protocol: str, data: bytes, timeout: float = 10.0) -> bytes:
        assert protocol == PROTOCOL
        self.asked[peer] = self.asked.get(peer, 0) + 1
        try:
            return await asyncio.wait_for(self.handlers[peer]("joiner", data), timeout)
        except TimeoutError:
            raise P2PError(f"{protocol} to {peer} timed out") from None
        except Exception as exc:  # noqa: BLE001 - what the p2p layer turns a handler's failure into
            raise P2PError(f"peer refused the request (error): {exc}") from None

    def ban(self, peer: str, seconds: float, reason: str) -> None:
        self.banned[peer] = reason

    def penalise(self, peer: str, amount: int, reason: str) -> None:
        pass


def fetch(net: Net, spec: Path, stall_s: float = 5.0) -> GenesisStateFetch:
    return GenesisStateFetch(net, ref_of(spec), chunk_bytes=CHUNK, stall_s=stall_s,  # type: ignore[arg-type]
                             request_timeout_s=2.0, retry_s=0.1)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != "spec.json")


# the joiner ----------------------------------------------------------------------------------------------------------
def test_a_full_sync_joiner_without_the_file_gets_it_reaches_the_same_genesis_and_syncs(
        served: Served, tmp_path: Path) -> None:
    spec = joiner_spec(served, tmp_path / "joiner")
    genesis = build_genesis(load_chain_spec(str(spec)))
    kv = MemoryStore()
    with pytest.raises(Exception, match="is missing: put the file"):
        Chain(kv, genesis)  # without it the node stops, and writes nothing
    assert len(kv) == 0
    net = Net({"holder": server_of(served.server_spec).serve})
    run = fetch(net, spec)
    assert asyncio.run(run.run()) == ref_of(spec).path
    assert leftovers(spec.parent) == ["spec.state"] and not net.banned
    assert run.peers["holder"].outcome == "gave it (29 of 29 chunks)"
    joined = Chain(MemoryStore(), genesis)
    assert joined.genesis_hash == served.genesis.hash
    assert joined.tree.root == served.genesis.block.header.state_root
    assert dict(joined.db.state.iterate(b"")) == served.genesis.state
    for n in range(1, served.chain.head.number + 1):  # then it syncs the chain as any full node does
        h = served.chain.db.canonical_hash(n)
        raw = served.chain.db.get_block_bytes(h) if h is not None else None
        assert raw is not None
        assert joined.import_block(raw, far_future_ms()).status == "best"
    assert joined.head_hash == served.chain.head_hash and joined.tree.root == served.chain.head.state_root


def test_a_file_with_one_byte_changed_is_refused_nothing_kept_and_the_honest_peer_gives_it(
        served: Served, tmp_path: Path) -> None:
    def last_value_byte(data: bytearray) -> None:
        data[-1] ^= 1  # inside the last record's value: only the whole file's hash (or the root) tells

    liar = Liar(ref_of(served.server_spec), tampered(served, tmp_path / "liar", last_value_byte))
    spec = joiner_spec(served, tmp_path / "joiner")
    net = Net({"liar": liar.serve, "honest": server_of(served.server_spec).serve})
    run = fetch(net, spec)
    asyncio.run(run.run())
    assert set(net.banned) == {"liar"} and "its hash is 0x" in net.banned["liar"]
    assert run.peers["liar"].chunks == 29  # it was found only at the end: the damage is the spec's `bytes`
    assert leftovers(spec.parent) == ["spec.state"]
    assert (spec.parent / "spec.state").read_bytes() == (served.server_spec.parent / "spec.state").read_bytes()
    assert Chain(MemoryStore(), build_genesis(load_chain_spec(str(spec)))).genesis_hash == served.genesis.hash


def test_a_liar_alone_leaves_no_file_and_the_fetch_ends_with_one_line_naming_it(served: Served, tmp_path: Path) -> None:
    liar = Liar(ref_of(served.server_spec), tampered(served, tmp_path / "liar", lambda d: d.__setitem__(-1, d[-1] ^ 1)))
    spec = joiner_spec(served, tmp_path / "joiner")
    net = Net({"liar": liar.serve, "lacking": server_of(spec).serve})  # the second has no file: answers []
    with pytest.raises(GenesisFetchFailed) as failed:
        asyncio.run(fetch(net, spec, stall_s=0.5).run())
    line = str(failed.value)
    assert "\n" not in line and "is missing and no peer gave it" in line
    assert "liar: sent a file that is not the one named" in line and "banned" in line
    assert "lacking: lacks it" in line and "put the file" in line and "--sync warp" in line
    assert leftovers(spec.parent) == []  # nothing half-written kept, nothing taken for the file


def test_bytes_that_break_the_format_are_found_in_the_first_chunks(served: Served, tmp_path: Path) -> None:
    def key_length(data: bytearray) -> None:
        data[HEADER.size : HEADER.size + 4] = struct.pack(">I", 1 << 20)  # the first record's key: past the limit

    liar = Liar(ref_of(served.server_spec), tampered(served, tmp_path / "liar", key_length))
    spec = joiner_spec(served, tmp_path / "joiner")
    net = Net({"liar": liar.serve, "honest": server_of(served.server_spec).serve})
    run = fetch(net, spec)
    asyncio.run(run.run())
    assert "has a key of 1,048,576 bytes" in net.banned["liar"] and "honest" not in net.banned
    assert run.peers["liar"].chunks < 29
    assert leftovers(spec.parent) == ["spec.state"]


def test_a_chunk_that_is_not_its_manifests_bans_its_sender_at_once(served: Served, tmp_path: Path) -> None:
    honest = server_of(served.server_spec)

    async def wrong_chunk(peer: str, data: bytes) -> bytes:
        answer = await honest.serve(peer, data)
        if data == encode_request(honest.ref.hash, 2):  # its third chunk changed
            value = decode_chunk(answer, 2, CHUNK)
            assert value is not None
            return pack([2, bytes([value[0] ^ 1]) + value[1:]])
        return answer

    async def bad_manifest(peer: str, data: bytes) -> bytes:
        return pack([honest.ref.size + 1, []])

    spec = joiner_spec(served, tmp_path / "joiner")
    net = Net({"bad-manifest": bad_manifest, "wrong-chunk": wrong_chunk, "honest": honest.serve})
    run = fetch(net, spec)
    asyncio.run(run.run())
    assert "sent a chunk 2 that is not its manifest's" in net.banned["wrong-chunk"]
    assert "malformed manifest" in net.banned["bad-manifest"] and "honest" not in net.banned
    assert run.peers["wrong-chunk"].chunks == 2 and run.peers["honest"].chunks == 27  # it went on from chunk 2
    assert leftovers(spec.parent) == ["spec.state"]


def test_no_peer_ends_the_fetch_with_one_line(served: Served, tmp_path: Path) -> None:
    spec = joiner_spec(served, tmp_path / "joiner")
    run = GenesisStateFetch(Net(), ref_of(spec), stall_s=0.3, no_peer_hint="2 bootnodes dialed")  # type: ignore[arg-type]
    with pytest.raises(GenesisFetchFailed, match=r"no peer to ask \(2 bootnodes dialed\): put the file"):
        asyncio.run(run.run())
    assert leftovers(spec.parent) == []


# the server ----------------------------------------------------------------------------------------------------------
def test_the_server_refuses_another_hash_a_chunk_past_the_end_and_a_malformed_request(served: Served) -> None:
    penalties: list[str] = []
    net = Net()
    net.penalise = lambda peer, amount, reason: penalties.append(reason)  # type: ignore[method-assign]
    server = GenesisStateServer(ref_of(served.server_spec), net, chunk_bytes=CHUNK)  # type: ignore[arg-type]
    h = server.ref.hash

    async def go() -> None:
        manifest = decode_manifest(await server.serve("p", encode_request(h)), server.ref.size, CHUNK)
        assert manifest is not None and len(manifest.chunk_hashes) == 29
        last = decode_chunk(await server.serve("p", encode_request(h, 28)), 28, server.ref.size - 28 * CHUNK)
        assert last is not None and chunk_hash(last) == manifest.chunk_hashes[28]
        with pytest.raises(GenesisStateRefused, match="serves only"):
            await server.serve("p", encode_request(bytes(32)))
        with pytest.raises(DecodeError, match="29 chunks"):
            await server.serve("p", encode_request(h, 29))
        for bad in (pack([h, -1]), pack([h[:31]]), pack([h, 0, 0]), b"\xff" * 65, pack([h, 1 << 16])):
            with pytest.raises(DecodeError):
                await server.serve("p", bad)

    asyncio.run(go())
    assert len(penalties) == 6 and server.served["chunks"] == 1


def test_the_server_serves_no_byte_of_a_file_that_is_not_the_named_one(served: Served, tmp_path: Path) -> None:
    ref = ref_of(served.server_spec)
    other = tmp_path / "spec.state"
    other.write_bytes(ref.path.read_bytes()[:-1] + bytes([ref.path.read_bytes()[-1] ^ 1]))
    missing = GenesisStateServer(dataclasses.replace(ref, path=tmp_path / "none"), chunk_bytes=CHUNK)
    wrong = GenesisStateServer(dataclasses.replace(ref, path=other), chunk_bytes=CHUNK)

    async def go() -> None:
        for server in (missing, wrong):
            assert await server.serve("p", encode_request(ref.hash)) == pack([])
            assert await server.serve("p", encode_request(ref.hash, 0)) == pack([])
        # a file that was the named one when checked, changed since: the changed chunk is not served
        copy = tmp_path / "copy.state"
        copy.write_bytes(ref.path.read_bytes())
        changing = GenesisStateServer(dataclasses.replace(ref, path=copy), chunk_bytes=CHUNK)
        assert await changing.serve("p", encode_request(ref.hash)) != pack([])
        copy.write_bytes(other.read_bytes())
        assert await changing.serve("p", encode_request(ref.hash, 28)) == pack([])
        assert await changing.serve("p", encode_request(ref.hash, 0)) == pack([])  # nothing served from then on
        assert await changing.serve("p", encode_request(ref.hash)) == pack([])

    asyncio.run(go())
    assert missing.served == wrong.served == {"manifests": 0, "chunks": 0, "bytes": 0}


def test_a_peer_asking_too_often_is_refused(served: Served) -> None:
    server = GenesisStateServer(ref_of(served.server_spec), chunk_bytes=CHUNK, clock=lambda: 0.0)  # time stands still
    h = server.ref.hash

    async def go() -> None:
        for _ in range(4):  # its burst is answered at once
            await server.serve("greedy", encode_request(h, 0))
        waiting = [asyncio.ensure_future(server.serve("greedy", encode_request(h, 0))) for _ in range(8)]
        await asyncio.sleep(0)  # each of those waits its turn (up to 2 s), the next one would wait longer
        with pytest.raises(ServeRefused, match="throttled"):
            await server.serve("greedy", encode_request(h, 0))
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)

    asyncio.run(go())
    assert server.served["chunks"] == 4


# the node's start ----------------------------------------------------------------------------------------------------
def test_a_node_fetches_only_when_its_spec_names_a_file_it_lacks_and_its_database_has_no_genesis(
        served: Served, tmp_path: Path) -> None:
    from btt_chain.node.service import NodeConfig
    from storage import schema
    from storage.leveldb import LevelDBStore

    spec_path = joiner_spec(served, tmp_path / "joiner")
    spec = load_chain_spec(str(spec_path))
    config = NodeConfig(chain=str(spec_path), base_path=tmp_path / "node", tmp=False, validator_key=None, p2p_port=1)
    assert fetch_needed(config, spec)  # no database yet
    assert fetch_needed(dataclasses.replace(config, base_path=None, tmp=True), spec)
    assert not fetch_needed(dataclasses.replace(config, p2p_port=None), spec)  # --no-p2p: the loader's line says it
    assert not fetch_needed(config, load_chain_spec(str(served.server_spec)))  # the file is beside the spec
    listing = tmp_path / "listing.json"
    listing.write_bytes(canonical_json(served.genesis.spec.raw))
    assert not fetch_needed(config, load_chain_spec(str(listing)))  # a spec that lists its holders
    db = tmp_path / "node" / "chains" / spec.id / "db"
    db.parent.mkdir(parents=True)
    LevelDBStore(db).close()
    assert fetch_needed(config, spec)  # a database without a head: an initialise never finished
    kv = LevelDBStore(db)
    kv.write({schema.META_HEAD: b"\x01" * 32}, sync=True)
    kv.close()
    assert not fetch_needed(config, spec)  # it holds its genesis: the file is never read again


def test_a_slow_peer_is_left_for_a_faster_one_which_goes_on_from_its_chunks(served: Served, tmp_path: Path) -> None:
    honest = server_of(served.server_spec)

    async def slow(peer: str, data: bytes) -> bytes:
        await asyncio.sleep(0.2)
        return await honest.serve(peer, data)

    spec = joiner_spec(served, tmp_path / "joiner")
    net = Net({"slow": slow, "fast": honest.serve})
    run = GenesisStateFetch(net, ref_of(spec), chunk_bytes=CHUNK, stall_s=5.0,  # type: ignore[arg-type]
                            request_timeout_s=2.0, retry_s=60.0, slow_chunk_s=0.1)
    asyncio.run(run.run())
    assert run.peers["slow"].chunks == 1 and run.peers["fast"].chunks == 28 and not net.banned
    assert run.peers["slow"].outcome.startswith("slow (") and leftovers(spec.parent) == ["spec.state"]
