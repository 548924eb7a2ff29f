"""A node joining by full sync whose chain spec names a genesis state file (`genesis_state`) it does not have fetches
it from peers by its hash (`genesis/state`, `genesis_state_serve`) before its database is initialised: in a child
process with a libp2p host of its own on the node's port and identity (py-libp2p does not restart a host inside one
process: P2P-NOTES), as a warp does (`warp_start`); the node then starts and reads the file as if it had been there.

What is trusted: nothing a peer says until the whole file has been checked against the chain spec. Peers are asked one
at a time (the oldest connection first) for the manifest (the file's size and the blake2b-256 of each 4 MiB chunk; its
size and chunk count must be the spec's `bytes`), then for the chunks in order, each checked against the manifest's
hash as it comes and appended to a temporary file beside the spec. The bytes are checked as they stream by the loader's
own reader (`genesis.snapshot.read_snapshot`, in a thread: magic, record count against the spec, record bounds and
order as it reads; at the end the size, the whole file's hash and the state root its records give), and only a stream
that passed every check is renamed to the spec's path; the loader then checks it again as it writes the database
(`genesis.snapshot_load`: also the total issuance and the validator set). A peer whose chunk is not its manifest's, or
whose manifest is malformed, is banned at once; when the stream fails a check, every peer whose manifest names the
chunks it was made of is banned (an honest peer's manifest is the named file's, which passes), the temporary file is
deleted and the fetch starts again from the next peer. A banned peer is not asked again in this run. A peer that does
not answer, lacks the file, or stops is asked again after RETRY_S, and so is one that took over SLOW_CHUNK_S for a
chunk while another peer could be asked; a later peer whose manifest agrees with the chunks held continues from them.

Bounds: each response (a manifest for the spec's `bytes`, one chunk) is decoded against a size known before asking;
the chunk count is the spec's `bytes` over 4 MiB; each request has REQUEST_TIMEOUT_S; the fetch fails when STALL_S pass
without a chunk arriving, with one line saying what each peer asked answered and the two ways out (put the file beside
the spec, or --sync warp). What a hostile peer can cost: the spec's `bytes` of download and check each time it is
banned (once per identity), and up to STALL_S of stalling at a time (a peer answering just inside REQUEST_TIMEOUT_S
slows the fetch only while no other peer can be asked).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from btt_chain.node.genesis_state_serve import (
    CHUNK_BYTES,
    PROTOCOL,
    chunk_count,
    chunk_hash,
    decode_chunk,
    decode_manifest,
    encode_request,
)
from btt_chain.node.peer_requests import Peers
from btt_chain.primitives.errors import BttError, DecodeError
from btt_chain.process_supervision import die_with, run_in_spawned_child
from genesis.snapshot import SnapshotError, read_snapshot
from genesis.spec import ChainSpec, GenesisStateRef
from p2p.errors import P2PError

if TYPE_CHECKING:
    from btt_chain.node.service import NodeConfig

log = logging.getLogger("btt.genesis")

STALL_S = 60.0
"""The fetch fails when this long passes without a chunk (or with no peer to ask)."""
REQUEST_TIMEOUT_S = 30.0
"""One request's limit (a 4 MiB chunk at 140 kB/s)."""
SLOW_CHUNK_S = 10.0
"""A chunk that took longer than this (400 kB/s) moves the fetch on to another peer, when there is one: a peer that
answers just inside the request limit cannot keep the fetch to its pace while others could serve it faster."""
RETRY_S = 5.0
"""A peer that did not answer, lacks the file or stopped is asked again after this."""
RUN_BAN_S = 24 * 3600.0
"""A lying peer's ban: for the run (the fetch's host ends with the fetch)."""
QUEUED_CHUNKS = 4
"""Chunks waiting for the check thread at most (memory: about 5 chunks)."""
PROGRESS_S = 10.0
WAYS_OUT = ("put the file the chain spec names beside it, or join the network with --sync warp (which needs no "
            "genesis state)")


class GenesisFetchFailed(SnapshotError):
    """No peer gave the genesis state file the chain spec names within the bound: the reason says what each answered."""


class _Aborted(Exception):
    pass


class _StreamCheck:
    """Fetched bytes written, in order, to a temporary file beside the spec's path and checked as they come by
    `read_snapshot` in a thread; the file is renamed into place only by `keep`, after the whole stream passed."""

    def __init__(self, ref: GenesisStateRef) -> None:
        fd, name = tempfile.mkstemp(prefix=f".{ref.path.name}.", suffix=".part", dir=ref.path.parent)
        self.part = Path(name)
        self.file = os.fdopen(fd, "wb")
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self._aborted = threading.Event()
        self._buf = b""
        self.task = asyncio.ensure_future(asyncio.to_thread(self._check, ref))

    # the check thread's side
    def read(self, n: int) -> bytes:
        if not self._buf:
            while True:
                if self._aborted.is_set():
                    raise _Aborted
                try:
                    item = self._queue.get(timeout=0.2)
                except queue.Empty:
                    continue
                if item is None:
                    return b""
                self._buf = item
                break
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _check(self, ref: GenesisStateRef) -> SnapshotError | None:
        try:
            for _ in read_snapshot(ref, stream=cast(BinaryIO, self)):
                pass
        except SnapshotError as exc:
            return exc
        except _Aborted:
            return None
        return None

    # the fetch's side
    async def feed(self, data: bytes) -> None:
        self.file.write(data)
        while self._queue.qsize() >= QUEUED_CHUNKS and not self.task.done():
            await asyncio.sleep(0.01)
        self._queue.put(data)

    def failed(self) -> SnapshotError | None:
        return self.task.result() if self.task.done() else None

    async def finish(self) -> SnapshotError | None:
        """Once every chunk is fed: the check's verdict (None: it passed), the file written and synced."""
        self._queue.put(None)
        error = await self.task
        if error is None:
            self.file.flush()
            await asyncio.to_thread(os.fsync, self.file.fileno())
        return error

    def keep(self, path: Path) -> None:
        self.file.close()
        os.replace(self.part, path)

    def abort(self) -> None:
        self._aborted.set()
        self.file.close()
        self.part.unlink(missing_ok=True)


@dataclass
class _Peer:
    outcome: str = "not asked"
    retry_at: float = 0.0
    banned: bool = False
    manifest: tuple[bytes, ...] | None = None
    chunks: int = 0


class GenesisStateFetch:
    """Fetch the genesis state file `ref` names from the peers of `p2p`, into `ref.path` (see the module)."""

    def __init__(self, p2p: Peers, ref: GenesisStateRef, chunk_bytes: int = CHUNK_BYTES, stall_s: float = STALL_S,
                 request_timeout_s: float = REQUEST_TIMEOUT_S, retry_s: float = RETRY_S, no_peer_hint: str = "",
                 slow_chunk_s: float = SLOW_CHUNK_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.p2p = p2p
        self.ref = ref
        self.chunk_bytes = chunk_bytes
        self.count = chunk_count(ref.size, chunk_bytes)
        self.stall_s, self.request_timeout_s, self.retry_s = stall_s, request_timeout_s, retry_s
        self.slow_chunk_s = slow_chunk_s
        self.no_peer_hint = no_peer_hint
        self.clock = clock
        self.peers: dict[str, _Peer] = {}
        """What each peer asked answered (its outcome, whether it is banned)."""
        self.held: list[bytes] = []
        """The hashes of the chunks fed to the check so far, in order."""
        self._check: _StreamCheck | None = None
        self._done = False
        self._next_log = 0.0
        self.requests = 0

    async def run(self) -> Path:
        """The file at `ref.path`, fetched and checked; GenesisFetchFailed after STALL_S without progress."""
        last = self.clock()
        self._next_log = last + PROGRESS_S
        try:
            while not self._done:
                if self.clock() - last > self.stall_s:
                    raise GenesisFetchFailed(self.failure_line())
                now = self.clock()
                ready = [p.peer_id for p in self.p2p.peers()
                         if not self._peer(p.peer_id).banned and self._peer(p.peer_id).retry_at <= now]
                if not ready:
                    await asyncio.sleep(0.2)
                    continue
                if await self._from(ready[0]):
                    last = self.clock()
            return self.ref.path
        finally:
            if self._check is not None:
                self._check.abort()
                self._check = None

    def _peer(self, peer: str) -> _Peer:
        return self.peers.setdefault(peer, _Peer())

    async def _ask(self, peer: str, index: int | None) -> bytes:
        self.requests += 1
        return await self.p2p.request(peer, PROTOCOL, encode_request(self.ref.hash, index), self.request_timeout_s)

    async def _from(self, peer: str) -> bool:
        """Ask `peer` for the manifest and then every chunk not held; whether a chunk came (or the file is done)."""
        state = self._peer(peer)
        try:
            manifest = decode_manifest(await self._ask(peer, None), self.ref.size, self.chunk_bytes)
        except P2PError as exc:
            return self._later(peer, f"did not answer ({exc})")
        except DecodeError as exc:
            return self._ban(peer, f"sent a malformed manifest ({exc})")
        if manifest is None:
            return self._later(peer, "lacks it")
        hashes = manifest.chunk_hashes
        state.manifest = hashes
        if list(hashes[: len(self.held)]) != self.held:  # the chunks held are not its: one of two manifests lies
            self._restart()
        if self._check is None:
            self._check = _StreamCheck(self.ref)
        check = self._check
        came = False
        for index in range(len(self.held), self.count):
            length = min(self.chunk_bytes, self.ref.size - index * self.chunk_bytes)
            asked = self.clock()
            try:
                data = decode_chunk(await self._ask(peer, index), index, length)
            except P2PError as exc:
                return self._later(peer, f"stopped after {state.chunks} chunks ({exc})") or came
            except DecodeError as exc:
                return self._ban(peer, f"sent a malformed chunk {index} ({exc})") or came
            if data is None:
                return self._later(peer, f"sent its manifest, then lacked chunk {index}") or came
            if chunk_hash(data) != hashes[index]:
                return self._ban(peer, f"sent a chunk {index} that is not its manifest's") or came
            await check.feed(data)
            self.held.append(hashes[index])
            state.chunks += 1
            came = True
            self._progress(peer)
            error = check.failed()
            if error is not None:
                self._refuted(error)
                return came
            took = self.clock() - asked
            if took > self.slow_chunk_s and index + 1 < self.count and self._others(peer):
                return self._later(peer, f"slow ({took:.1f} s for chunk {index}; {state.chunks} chunks given)") or came
        error = await check.finish()
        if error is not None:
            self._refuted(error)
            return came
        check.keep(self.ref.path)
        self._check = None
        state.outcome = f"gave it ({state.chunks} of {self.count} chunks)"
        self._done = True
        log.info("genesis state file %s fetched from peers and checked (%s bytes, hash 0x%s)", self.ref.path,
                 f"{self.ref.size:,}", self.ref.hash.hex())
        return True

    def _others(self, peer: str) -> bool:
        """Another peer could be asked now."""
        now = self.clock()
        return any(p.peer_id != peer and not self._peer(p.peer_id).banned and self._peer(p.peer_id).retry_at <= now
                   for p in self.p2p.peers())

    def _progress(self, peer: str) -> None:
        if self.clock() >= self._next_log:
            self._next_log = self.clock() + PROGRESS_S
            log.info("genesis state: %s of %s chunks of %s fetched (from %s)", len(self.held), self.count,
                     self.ref.path.name, peer)

    def _later(self, peer: str, outcome: str) -> bool:
        state = self._peer(peer)
        state.outcome, state.retry_at = outcome, self.clock() + self.retry_s
        return False

    def _ban(self, peer: str, why: str) -> bool:
        state = self._peer(peer)
        state.banned, state.outcome = True, f"{why}: banned"
        self.p2p.ban(peer, RUN_BAN_S, f"genesis state file: {why}")
        return False

    def _refuted(self, error: SnapshotError) -> None:
        """The stream failed a check: every peer whose manifest names the chunks it was made of lied."""
        why = str(error).removeprefix(f"genesis state file {self.ref.path}: ")
        for peer, state in self.peers.items():
            if not state.banned and state.manifest is not None and list(state.manifest[: len(self.held)]) == self.held:
                self._ban(peer, f"sent a file that is not the one named ({why})")
        self._restart()

    def _restart(self) -> None:
        if self._check is not None:
            self._check.abort()
            self._check = None
        self.held = []

    def failure_line(self) -> str:
        ref = self.ref
        head = (f"genesis state file {ref.path} (hash 0x{ref.hash.hex()}, {ref.size:,} bytes) is missing and no peer "
                f"gave it ({self.stall_s:.0f} s without progress)")
        if not self.peers:
            tried = "no peer to ask" + (f" ({self.no_peer_hint})" if self.no_peer_hint else "")
        else:
            listed = [f"{peer}: {state.outcome}" for peer, state in list(self.peers.items())[:8]]
            more = len(self.peers) - len(listed)
            tried = "asked " + "; ".join(listed) + (f"; and {more} more" if more > 0 else "")
        return f"{head}: {tried}: {WAYS_OUT}"


# the node's start ----------------------------------------------------------------------------------------------------
def fetch_needed(config: NodeConfig, spec: ChainSpec) -> bool:
    """Whether the node must fetch its spec's genesis state file before it starts: the spec names one, it is not at
    its path, the node has p2p, and the node's database holds no genesis yet (a database that does never reads it)."""
    ref = spec.genesis_state
    if ref is None or ref.path.is_file() or config.p2p_port is None or spec.genesis_time_ms == 0:
        return False
    if config.base_path is None or config.tmp:
        return True
    db = Path(config.base_path) / "chains" / spec.id / "db"
    if not db.exists():
        return True
    from storage import schema
    from storage.leveldb import LevelDBStore

    kv = LevelDBStore(db)
    try:
        return kv.get(schema.META_HEAD) is None
    finally:
        kv.close()


async def fetch_for_node(config: NodeConfig, stall_s: float = STALL_S) -> Path:
    """Fetch the file the node's spec names with a libp2p host of the node's own (its port, identity and bootnodes),
    stopped after."""
    from btt_chain.node.service import p2p_config
    from genesis.build import build_genesis
    from genesis.loader import load_chain_spec
    from p2p.service import P2PService

    spec = load_chain_spec(config.chain)
    ref = spec.genesis_state
    assert ref is not None
    genesis = build_genesis(spec)  # a spec naming its state file builds no state: its block from the spec's root
    with tempfile.TemporaryDirectory(prefix="btt-genesis-fetch-") as scratch:
        data_dir = (Path(scratch) if config.base_path is None or config.tmp
                    else Path(config.base_path) / "chains" / spec.id)
        p2p = P2PService(p2p_config(config, data_dir, genesis.hash))
        hint = (f"{len(config.bootnodes)} bootnodes dialed" if config.bootnodes
                else "no --bootnodes: it waited for peers to dial it")
        fetch = GenesisStateFetch(p2p, ref, stall_s=stall_s, no_peer_hint=hint)
        await p2p.start()
        try:
            log.info("genesis state file %s is missing: fetching it from peers by its hash 0x%s (%s bytes)",
                     ref.path, ref.hash.hex(), f"{ref.size:,}")
            return await fetch.run()
        finally:
            await p2p.stop()


def fetch_in_child(config: NodeConfig, log_settings: tuple[str, str, str]) -> None:
    """Run `fetch_for_node` in a fresh interpreter; returns only when the file is in place (else SystemExit with the
    child's exit code, its one error line said by it)."""
    run_in_spawned_child(_child, (config, log_settings), "genesis-fetch")


def _child(config: NodeConfig, log_settings: tuple[str, str, str], parent: int) -> None:
    from btt_chain.log_config import setup_logging

    die_with(parent)
    setup_logging(*log_settings)
    sys.exit(fetch_exit_code(config))


def fetch_exit_code(config: NodeConfig) -> int:
    """Run the fetch: 0 when the file is in place; its failure said in one `error:` line, never a traceback."""
    try:
        asyncio.run(fetch_for_node(config))
    except BttError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    except OSError as exc:  # the spec's directory not writable, a port taken since the start-up check
        print(f"error: fetching the genesis state file: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
