"""The `genesis/state` request/response protocol: a chain spec's genesis state file (`genesis.snapshot`), by its hash,
in chunks, from a node that holds it to one joining by full sync without it (`genesis_fetch`). The wire and the
server are here.

Request:  [file hash]          -> the manifest: [size, [chunk hash, ...]], or [] when the peer lacks the file
          [file hash, index]   -> chunk `index`: [index, bytes], or [] when the peer lacks the file
A chunk is CHUNK_BYTES (4 MiB) of the file, the last one what is left; a chunk hash is blake2b-256 of its bytes. The
manifest's size and chunk count are fixed by the spec's `bytes`, so a client decodes every answer against bounds it
knew before asking (the manifest of a 1.7 GB file is ~14 kB). The spec's `hash` keeps its meaning (blake2b-256 of the
whole file): the manifest lets a client check each chunk as it comes; what a manifest is worth is known only when the
whole stream has been checked against the spec (`genesis_fetch`).

Serving: only the exact file the node's chain spec names, found at the spec's path: the first request has it read once
(in a thread) and checked against the spec's size and hash, and its chunk hashes kept; a file missing or not the one
named is logged once and every request answered [] (the check is made again after CHECK_AGAIN_S, an operator may put
the file there). Each chunk read is hashed again before it is sent, so a file changed since its check is never served
(answers [] from then on). A request for another hash is refused; a malformed request or one for a chunk past the
file's end is refused and its sender penalised (MALFORMED_PENALTY); requests are throttled per peer and for all peers
together (token buckets: 4 chunks a second to one peer, 8 to all, 16 and 32 MiB/s); the p2p layer bounds how many a
peer has in flight (4) and the response's size (16 MiB).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from btt_chain.node import hash_request
from btt_chain.node.peer_requests import Peers
from btt_chain.node.serve_throttle import ServeRefused, ServeThrottle
from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import BttError, DecodeError
from btt_chain.primitives.hashing import HASH_LEN
from genesis.spec import GenesisStateRef

log = logging.getLogger("btt.net")

PROTOCOL = "genesis/state"
"""On the wire /btt/<genesis16>/genesis/state/1 (namespaced by the genesis hash, like every request protocol)."""
CHUNK_BYTES = 4 * 1024 * 1024
MAX_CHUNKS = 1 << 16
"""The most chunks a file may have (256 GiB): bounds a request's index before the file is known."""
MAX_REQUEST_BYTES = hash_request.MAX_REQUEST_BYTES
MALFORMED_PENALTY = 20
SERVE_RATE, SERVE_BURST, SERVE_RATE_ALL, SERVE_MAX_WAIT_S = 4.0, 4.0, 8.0, 2.0
"""Requests a second served to one peer (bursts of 4) and to all together; a request that would wait longer than
SERVE_MAX_WAIT_S for its turn is refused."""
CHECK_WAIT_S = 20.0
"""How long a request waits for the file's first check (hashing a 1.7 GB file takes a few seconds) before it is
answered busy."""
CHECK_AGAIN_S = 60.0


class GenesisStateRefused(BttError):
    """A request this node does not serve: another hash than its spec's genesis state file."""


@dataclass(frozen=True)
class Manifest:
    size: int
    chunk_hashes: tuple[bytes, ...]


def chunk_count(size: int, chunk_bytes: int = CHUNK_BYTES) -> int:
    return max(1, -(-size // chunk_bytes))


def chunk_hash(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=HASH_LEN).digest()


_is_hash = hash_request.is_hash
encode_request = hash_request.encode_request


def decode_request(raw: bytes) -> tuple[bytes, int | None]:
    """(file hash, chunk index or None for the manifest); DecodeError for anything else."""
    return hash_request.decode_request(raw, MAX_CHUNKS, "a genesis state request")


def encode_manifest(manifest: Manifest | None) -> bytes:
    return pack([] if manifest is None else [manifest.size, list(manifest.chunk_hashes)])


def max_manifest_bytes(size: int, chunk_bytes: int = CHUNK_BYTES) -> int:
    return 16 + chunk_count(size, chunk_bytes) * (HASH_LEN + 2)


def decode_manifest(raw: bytes, size: int, chunk_bytes: int = CHUNK_BYTES) -> Manifest | None:
    """A manifest of the file of `size` bytes the spec names, or None ([]: the peer lacks it); DecodeError for anything
    else (another size, another chunk count, a malformed answer)."""
    value = unpack(raw, max_size=max_manifest_bytes(size, chunk_bytes))
    if value == []:
        return None
    count = chunk_count(size, chunk_bytes)
    if not (isinstance(value, list) and len(value) == 2 and type(value[0]) is int and value[0] == size
            and isinstance(value[1], list) and len(value[1]) == count and all(_is_hash(h) for h in value[1])):
        raise DecodeError(f"a genesis state manifest must be [] or [{size:,}, {count:,} chunk hashes] (the chain "
                          "spec's size)")
    return Manifest(size, tuple(value[1]))


def encode_chunk(index: int, data: bytes | None) -> bytes:
    return pack([] if data is None else [index, data])


def decode_chunk(raw: bytes, index: int, length: int) -> bytes | None:
    """Chunk `index` of `length` bytes, or None ([]: the peer lacks the file); DecodeError for anything else."""
    value = unpack(raw, max_size=length + 32)
    if value == []:
        return None
    if not (isinstance(value, list) and len(value) == 2 and type(value[0]) is int and value[0] == index
            and isinstance(value[1], bytes) and len(value[1]) == length):
        raise DecodeError(f"genesis state chunk {index} must be [] or [{index}, its {length:,} bytes]")
    return value[1]


def read_manifest(ref: GenesisStateRef, chunk_bytes: int = CHUNK_BYTES) -> Manifest | str:
    """The manifest of the file at `ref.path` if it is the one `ref` names (its size and whole hash), else why not.
    Reads the whole file (blocking: run it in a thread)."""
    try:
        with open(ref.path, "rb") as f:
            whole = hashlib.blake2b(digest_size=HASH_LEN)
            hashes: list[bytes] = []
            size = 0
            while data := f.read(chunk_bytes):
                whole.update(data)
                hashes.append(chunk_hash(data))
                size += len(data)
                if size > ref.size:
                    return f"it is longer than the {ref.size:,} bytes the chain spec says"
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable: {exc}"
    if size != ref.size:
        return f"it is {size:,} bytes, the chain spec says {ref.size:,}"
    if whole.digest() != ref.hash:
        return f"its hash is 0x{whole.hexdigest()}, the chain spec says 0x{ref.hash.hex()}"
    return Manifest(size, tuple(hashes))


# serving -------------------------------------------------------------------------------------------------------------
class GenesisStateServer:
    """Serves `genesis/state` from the genesis state file the node's chain spec names (`ref`), if it holds it."""

    def __init__(self, ref: GenesisStateRef, p2p: Peers | None = None, chunk_bytes: int = CHUNK_BYTES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ref = ref
        self.p2p = p2p
        self.chunk_bytes = chunk_bytes
        self.count = chunk_count(ref.size, chunk_bytes)
        self.clock = clock
        self.throttle = ServeThrottle("genesis state", SERVE_RATE, SERVE_BURST, SERVE_RATE_ALL, SERVE_MAX_WAIT_S,
                                      clock)
        self._check: asyncio.Future[Manifest | str] | None = None
        self._checked_at = 0.0
        self._said: str | None = None
        self.served = {"manifests": 0, "chunks": 0, "bytes": 0}

    def start(self) -> None:
        assert self.p2p is not None
        self.p2p.set_request_handler(PROTOCOL, self.serve)

    async def serve(self, peer: str, data: bytes) -> bytes:
        try:
            file_hash, index = decode_request(data)
        except DecodeError as exc:
            self._penalise(peer, f"malformed genesis state request: {exc}")
            raise
        if file_hash != self.ref.hash:
            raise GenesisStateRefused("this node serves only its chain spec's genesis state file "
                                      f"0x{self.ref.hash.hex()}")
        if index is not None and index >= self.count:
            self._penalise(peer, f"genesis state chunk {index} asked for, past the file's {self.count}")
            raise DecodeError(f"the genesis state file has {self.count} chunks")
        await self.throttle.acquire(peer)
        manifest = await self.manifest()
        if manifest is None:
            return encode_manifest(None) if index is None else encode_chunk(index, None)
        if index is None:
            self.served["manifests"] += 1
            return encode_manifest(manifest)
        chunk = await asyncio.to_thread(self._read, index, manifest.chunk_hashes[index])
        if chunk is None:
            self._lost(f"chunk {index} is not what it was when the file was checked")
            return encode_chunk(index, None)
        self.served["chunks"] += 1
        self.served["bytes"] += len(chunk)
        return encode_chunk(index, chunk)

    async def manifest(self) -> Manifest | None:
        """The file's manifest once it has been checked; None while this node lacks the file (missing, or not the one
        the spec names: said once). ServeRefused while the first check takes longer than CHECK_WAIT_S."""
        task = self._check
        if task is None or (task.done() and not isinstance(task.result(), Manifest)
                            and self.clock() - self._checked_at > CHECK_AGAIN_S):
            self._checked_at = self.clock()
            task = self._check = asyncio.ensure_future(asyncio.to_thread(read_manifest, self.ref, self.chunk_bytes))
        try:
            found = await asyncio.wait_for(asyncio.shield(task), CHECK_WAIT_S)
        except TimeoutError:
            raise ServeRefused("the genesis state file is being checked: ask again in a moment") from None
        if isinstance(found, Manifest):
            return found
        self._say(f"genesis state file {self.ref.path} is not served: {found}")
        return None

    def _read(self, index: int, expected: bytes) -> bytes | None:
        """Chunk `index` if it still hashes to `expected` (read and hashed in a thread, off the event loop)."""
        try:
            with open(self.ref.path, "rb") as f:
                f.seek(index * self.chunk_bytes)
                data = f.read(min(self.chunk_bytes, self.ref.size - index * self.chunk_bytes))
        except OSError:
            return None
        return data if chunk_hash(data) == expected else None

    def _lost(self, why: str) -> None:
        """The file changed after its check: not served again until checked again."""
        self._checked_at = self.clock()
        done: asyncio.Future[Manifest | str] = asyncio.get_running_loop().create_future()
        done.set_result(f"it changed since it was checked ({why})")
        self._check = done

    def _say(self, line: str) -> None:
        if line != self._said:
            self._said = line
            log.warning(line)

    def _penalise(self, peer: str, reason: str) -> None:
        if self.p2p is not None:
            self.p2p.penalise(peer, MALFORMED_PENALTY, reason)
