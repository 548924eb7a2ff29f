"""The genesis state snapshot file: a whole genesis state as key/value records, what a chain spec names by file, hash
and state root instead of listing every account (`genesis_state` in the spec; Substrate's raw chain spec carries the
same state as `genesis.raw.top` pairs inside the JSON).

Format (all integers big-endian):

    MAGIC (8 bytes)  records (u64)
    records times:   key length (u32)  key  value length (u32)  value

The records are in strictly ascending order of their state tree path (`blake2b_256(key)`): the order the state tree
is computed in, so a reader computes the state root as it streams the file (memory: one chunk of records and the
tree's top, never the state), and a duplicate key is an order error. The file's hash is blake2b-256 of all its bytes.

Writing (`SnapshotWriter`): records come in any order and go to 256 bucket files by their path's first byte; each
bucket is then sorted on its own (about 40,000 records at ten million) and appended, so the writer never holds more
than one bucket either.

Reading (`read_snapshot`): every check is made while streaming, and `SnapshotError` says the first thing wrong in one
line: the magic, a length past the limits or the end of the file, the order, the record count, trailing bytes; the
file's hash and its state root against what the spec says (`SnapshotRef`) are checked at the end, so a caller that
writes records as they come must not trust them until the iterator has ended (`genesis.snapshot_load` writes the
database's head only after).
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from btt_chain.primitives.errors import GenesisError, StorageError
from genesis.spec import GenesisStateRef as SnapshotRef
from storage.state_tree import choose_bucket_bits, leaf_records, make_engine, tree_key_chunks
from storage.tree_engine import RECORD_LEN

MAGIC = b"BTTGS01\n"
HEADER = struct.Struct(">8sQ")
LENGTH = struct.Struct(">I")
MAX_KEY_BYTES = 4096
MAX_VALUE_BYTES = 64 * 1024 * 1024
"""Bounds of one record: state keys are hashed prefixes (under 200 bytes); the largest values are model specs."""
CHUNK_RECORDS = 65_536
"""Records per chunk a reader yields (and the tree is fed)."""
READ_BYTES = 1 << 22
BUCKETS = 256


class SnapshotError(GenesisError):
    """A genesis state snapshot file is not the one its chain spec names, or is malformed."""


@dataclass(frozen=True)
class SnapshotInfo:
    """What a snapshot file holds, as read or written."""

    hash: bytes
    state_root: bytes
    records: int
    size: int


def _hash() -> hashlib.blake2b:
    return hashlib.blake2b(digest_size=32)


def _no_fetch(bucket: int) -> bytes:
    raise StorageError(f"state tree bucket {bucket} read from a tree that has no database")


class _Root:
    """The state root computed from leaf records fed in path order."""

    def __init__(self, records: int) -> None:
        self.engine = make_engine(choose_bucket_bits(records), 0, _no_fetch)
        self.last = b""

    def feed(self, chunk: dict[bytes, bytes]) -> bytes:
        """Feed one chunk of records whose iteration order must be path order; its leaf records."""
        leaves = leaf_records(chunk)
        keys = next(tree_key_chunks(chunk, len(chunk)), {})
        if list(keys.values()) != list(chunk):
            raise SnapshotError("its records are not in ascending order of their state tree paths (or a key repeats)")
        if leaves[:32] <= self.last:
            raise SnapshotError("its records are not in ascending order of their state tree paths (or a key repeats)")
        self.last = leaves[-RECORD_LEN:-32]
        self.engine.load(leaves)
        return leaves

    def root(self) -> bytes:
        return self.engine.finish_load()


# ------------------------------------------------------------------------------------------------------- writing
class SnapshotWriter:
    """Write a snapshot of records added in any order: `add` each, then `finish` (or `abort`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._dir = tempfile.TemporaryDirectory(prefix=".genesis-state-", dir=self.path.parent)
        self._files = [open(Path(self._dir.name) / f"{b:02x}", "wb") for b in range(BUCKETS)]  # noqa: SIM115
        self._buffers = [bytearray() for _ in range(BUCKETS)]
        self.added = 0

    def add(self, key: bytes, value: bytes) -> None:
        if not 0 < len(key) <= MAX_KEY_BYTES or len(value) > MAX_VALUE_BYTES:
            raise SnapshotError(f"a state record of {len(key)} key and {len(value)} value bytes is past the limits")
        b = hashlib.blake2b(key, digest_size=32).digest()[0]
        buf = self._buffers[b]
        buf += LENGTH.pack(len(key)) + key + LENGTH.pack(len(value)) + value
        if len(buf) > 1 << 20:
            self._files[b].write(buf)
            buf.clear()
        self.added += 1

    def add_all(self, state: dict[bytes, bytes]) -> None:
        for key, value in state.items():
            self.add(key, value)

    def finish(self) -> SnapshotInfo:
        """Sort each bucket, write the file (to a temporary name, renamed when whole) and say what it holds."""
        try:
            for f, buf in zip(self._files, self._buffers, strict=True):
                f.write(buf)
                f.close()
            self._buffers = []
            tmp = self.path.with_name(self.path.name + ".part")
            digest = _hash()
            root = _Root(self.added)
            written = 0
            with open(tmp, "wb") as out:
                head = HEADER.pack(MAGIC, self.added)
                out.write(head)
                digest.update(head)
                size = len(head)
                for b in range(BUCKETS):
                    bucket = _read_bucket(Path(self._dir.name) / f"{b:02x}")
                    keys = next(tree_key_chunks(bucket, len(bucket)), {}) if bucket else {}
                    ordered = {key: bucket[key] for key in keys.values()}
                    del bucket
                    data = b"".join(LENGTH.pack(len(k)) + k + LENGTH.pack(len(v)) + v for k, v in ordered.items())
                    if ordered:
                        root.feed(ordered)
                    written += len(ordered)
                    out.write(data)
                    digest.update(data)
                    size += len(data)
                out.flush()
                os.fsync(out.fileno())
            if written != self.added:
                tmp.unlink()
                raise SnapshotError(f"{self.added - written} of the {self.added:,} state records added repeat a key")
            os.replace(tmp, self.path)
            return SnapshotInfo(digest.digest(), root.root(), written, size)
        finally:
            self.abort()

    def abort(self) -> None:
        for f in self._files:
            f.close()
        self._dir.cleanup()


def _read_bucket(path: Path) -> dict[bytes, bytes]:
    data = path.read_bytes()
    out: dict[bytes, bytes] = {}
    at = 0
    n = len(data)
    while at < n:
        (klen,) = LENGTH.unpack_from(data, at)
        key = data[at + 4 : at + 4 + klen]
        at += 4 + klen
        (vlen,) = LENGTH.unpack_from(data, at)
        out[key] = data[at + 4 : at + 4 + vlen]
        at += 4 + vlen
    return out


def write_snapshot(path: Path, state: dict[bytes, bytes]) -> SnapshotInfo:
    """A snapshot of a whole state held in memory (build-spec from a spec that lists its accounts)."""
    writer = SnapshotWriter(path)
    try:
        writer.add_all(state)
    except BaseException:
        writer.abort()
        raise
    return writer.finish()


# ------------------------------------------------------------------------------------------------------- reading
def read_snapshot(ref: SnapshotRef, on_leaves: Callable[[bytes], None] | None = None,
                  stream: BinaryIO | None = None) -> Iterator[dict[bytes, bytes]]:
    """The file's records in chunks of up to CHUNK_RECORDS, in path order, each chunk checked as it is read (then
    `on_leaves(its leaf records)`); at the end the record count, the file's size, hash and state root are checked
    against `ref`. SnapshotError (one line, naming the file) for the first thing wrong; OSError if it cannot be read."""
    label = f"genesis state file {ref.path}"
    try:
        f = stream or open(ref.path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise SnapshotError(f"{label} (hash 0x{ref.hash.hex()}) is missing") from None
    try:
        yield from _records(f, ref, label, on_leaves)
    except SnapshotError as exc:
        raise SnapshotError(f"{label}: {exc}") from None
    finally:
        if stream is None:
            f.close()


def _records(f: BinaryIO, ref: SnapshotRef, label: str,
             on_leaves: Callable[[bytes], None] | None) -> Iterator[dict[bytes, bytes]]:
    digest = _hash()
    buf = b""
    at = 0
    eof = False
    size = 0

    def need(n: int) -> bool:
        """At least n bytes past `at` in buf (reading more); False at the end of the file."""
        nonlocal buf, at, eof, size
        while len(buf) - at < n and not eof:
            more = f.read(max(READ_BYTES, n))
            if not more:
                eof = True
                break
            digest.update(more)
            size += len(more)
            if size > ref.size:
                raise SnapshotError(f"it is longer than the {ref.size:,} bytes the chain spec says")
            buf = buf[at:] + more
            at = 0
        return len(buf) - at >= n

    if not need(HEADER.size):
        raise SnapshotError("it is shorter than its header")
    magic, count = HEADER.unpack_from(buf, at)
    at += HEADER.size
    if magic != MAGIC:
        raise SnapshotError("it is not a btt-chain genesis state file (wrong magic)")
    if count != ref.records:
        raise SnapshotError(f"it holds {count:,} records, the chain spec says {ref.records:,}")
    root = _Root(count)
    seen = 0
    while seen < count:
        chunk: dict[bytes, bytes] = {}
        while len(chunk) < CHUNK_RECORDS and seen + len(chunk) < count:
            if not need(4):
                raise SnapshotError(f"it ends after {seen + len(chunk):,} of its {count:,} records")
            (klen,) = LENGTH.unpack_from(buf, at)
            if not 0 < klen <= MAX_KEY_BYTES:
                raise SnapshotError(f"record {seen + len(chunk):,} has a key of {klen:,} bytes (at most "
                                    f"{MAX_KEY_BYTES:,})")
            if not need(4 + klen + 4):
                raise SnapshotError(f"it ends inside record {seen + len(chunk):,}")
            key = buf[at + 4 : at + 4 + klen]
            (vlen,) = LENGTH.unpack_from(buf, at + 4 + klen)
            if vlen > MAX_VALUE_BYTES:
                raise SnapshotError(f"record {seen + len(chunk):,} has a value of {vlen:,} bytes (at most "
                                    f"{MAX_VALUE_BYTES:,})")
            at += 8 + klen
            if not need(vlen):
                raise SnapshotError(f"it ends inside record {seen + len(chunk):,}")
            if key in chunk:
                raise SnapshotError("its records are not in ascending order of their state tree paths (or a key "
                                    "repeats)")
            chunk[key] = buf[at : at + vlen]
            at += vlen
        leaves = root.feed(chunk)
        if on_leaves is not None:
            on_leaves(leaves)
        seen += len(chunk)
        yield chunk
    if need(1):
        raise SnapshotError(f"it has bytes after its {count:,} records")
    if size != ref.size:
        raise SnapshotError(f"it is {size:,} bytes, the chain spec says {ref.size:,}")
    if digest.digest() != ref.hash:
        raise SnapshotError(f"its hash is 0x{digest.hexdigest()}, the chain spec says 0x{ref.hash.hex()}")
    got = root.root()
    if got != ref.state_root:
        raise SnapshotError(f"its records give state root 0x{got.hex()}, the chain spec says 0x{ref.state_root.hex()}")


def verify_snapshot(ref: SnapshotRef) -> None:
    """Read the whole file and check it against `ref` (SnapshotError if it is not the one named)."""
    for _ in read_snapshot(ref):
        pass

