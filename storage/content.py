"""The node's content store: model weights blobs, which live outside the state and travel between nodes by hash.

Layout under `<chain dir>/weights/`:
  <weights hash, 64 hex>                 a complete blob, named by its weights hash (runtime/compute/model.py)
  manifests/<weights hash>               u64le size || chunk hashes of a complete blob (what peers ask for first:
                                         served without reading the blob)
  partial/<weights hash>/manifest        the same for a blob being fetched or uploaded (only the size while an owner
                                         uploads it without its chunk hashes)
  partial/<weights hash>/<i>             its chunk i (decimal), checked against its chunk hash on arrival
  .tmp-*                                 a write under way

Every file is written to a temp file and renamed. A complete blob is fsynced before its rename (and the directory
after it), so a crash never leaves a half blob under a real name. A manifest or chunk is renamed without fsync: after
a crash it may be short or garbage, so it is checked again when read (a manifest on opening, every chunk before its
blob is assembled) and dropped if bad. Temp files a crash left behind are removed on opening. A complete blob is
checked against its hash whenever it is read whole, and every served chunk against its chunk hash: a blob damaged on
disk is dropped (and fetched again), never served.

Bounds: blobs the chain needs (registered models: `mark_needed`, `retain`) are never dropped: a syncing node
replays history and must be able to fetch them. Everything else (a blob an owner uploaded before registering it, a
partial fetch, a blob fetched for a block not yet imported) counts against `max_unneeded_bytes`, a partial at its
declared size; room is made by dropping the oldest first, and `retain` drops them once older than `grace_s`.

Every call that fails raises ContentRejected (or ContentFull) and leaves the store as it was, but for one: the last
chunk of an upload staged without its chunk hashes (`begin_upload`), whose whole then fails its weights hash, drops
the upload (no chunk could be checked before). Knows the blob format's hashes and nothing of the chain.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from btt_chain.primitives.errors import BttError
from btt_chain.primitives.hashing import HASH_LEN, blake2b_256
from btt_chain.primitives.weights_chunks import (
    MAX_WEIGHTS_BYTES,
    WEIGHTS_CHUNK,
    chunk_hashes,
    weights_hash,
    weights_hash_of_chunks,
)

log = logging.getLogger("btt.content")

WEIGHTS_DIR = "weights"
"""The store's directory under the chain's data directory."""
PARTIAL_DIR = "partial"
MANIFESTS_DIR = "manifests"
MANIFEST_FILE = "manifest"
TMP_PREFIX = ".tmp-"
MAX_CHUNKS = MAX_WEIGHTS_BYTES // WEIGHTS_CHUNK
"""Chunks of the largest blob (128)."""
DEFAULT_MAX_UNNEEDED_BYTES = 64 * 1024 * 1024
"""Blobs and partial fetches no registered model names: room for eight of the largest blobs at once."""
DEFAULT_GRACE_S = 3600.0
"""How long `retain` keeps a blob no registered model names (an owner uploads, then registers within the hour)."""
MAX_MANIFESTS_CACHED = 256

HELD, PARTIAL, MISSING = "held", "partial", "missing"


class ContentRejected(BttError):
    """The blob, manifest or chunk is not what its hash says, or does not fit (nothing was kept)."""


class ContentFull(ContentRejected):
    """The store holds as many bytes of blobs no registered model needs as it may, none old enough to drop."""


@dataclass(frozen=True)
class Manifest:
    """A blob's size and chunk hashes: what its weights hash commits to."""

    size: int
    chunk_hashes: tuple[bytes, ...]

    @property
    def chunks(self) -> int:
        return len(self.chunk_hashes)

    @property
    def weights_hash(self) -> bytes:
        return weights_hash_of_chunks(self.size, list(self.chunk_hashes))

    def chunk_size(self, index: int) -> int:
        """The length chunk `index` must have (the last one may be short)."""
        return min(WEIGHTS_CHUNK, self.size - index * WEIGHTS_CHUNK)

    def chunk_fault(self, index: int, data: bytes) -> str | None:
        """Why `data` is not chunk `index` of this blob (its length, then its chunk hash), or None when it is."""
        if len(data) != self.chunk_size(index):
            return f"chunk {index} is {self.chunk_size(index)} bytes, not {len(data)}"
        if blake2b_256(data) != self.chunk_hashes[index]:
            return f"chunk {index} does not match its chunk hash"
        return None

    def encode(self) -> bytes:
        return self.size.to_bytes(8, "little") + b"".join(self.chunk_hashes)


def chunk_count(size: int) -> int:
    return (size + WEIGHTS_CHUNK - 1) // WEIGHTS_CHUNK


def check_manifest(expected: bytes, size: int, hashes: Iterable[bytes]) -> Manifest:
    """The manifest of the blob `expected` if `size` and `hashes` are it; ContentRejected otherwise."""
    hashes = tuple(hashes)
    if type(size) is not int or not 1 <= size <= MAX_WEIGHTS_BYTES:
        raise ContentRejected(f"a weights blob is 1 to {MAX_WEIGHTS_BYTES} bytes, not {size!r}")
    if len(hashes) != chunk_count(size):
        raise ContentRejected(f"a blob of {size} bytes has {chunk_count(size)} chunks, not {len(hashes)}")
    if not all(type(h) is bytes and len(h) == HASH_LEN for h in hashes):
        raise ContentRejected(f"chunk hashes are {HASH_LEN} bytes each")
    manifest = Manifest(size, hashes)
    if manifest.weights_hash != expected:
        raise ContentRejected(f"the manifest does not hash to the weights hash 0x{expected.hex()}")
    return manifest


def decode_manifest(expected: bytes, raw: bytes) -> Manifest:
    if len(raw) < 8 or (len(raw) - 8) % HASH_LEN:
        raise ContentRejected("a stored manifest is u64le size and whole chunk hashes")
    body = raw[8:]
    hashes = [body[i:i + HASH_LEN] for i in range(0, len(body), HASH_LEN)]
    return check_manifest(expected, int.from_bytes(raw[:8], "little"), hashes)


@dataclass(frozen=True)
class WeightsStatus:
    state: str
    """HELD, PARTIAL (chunks arriving) or MISSING."""
    size: int
    """0 while MISSING."""
    have: int
    """Chunks held."""
    total: int
    """Chunks of the blob (0 while MISSING)."""


@dataclass
class _Blob:
    size: int
    since: float


@dataclass
class _Partial:
    size: int
    manifest: Manifest | None
    """None for an upload staged without its chunk hashes: its chunks are checked as a whole only."""
    since: float
    have: set[int] = field(default_factory=set)

    @property
    def chunks(self) -> int:
        return chunk_count(self.size)

    def chunk_size(self, index: int) -> int:
        return min(WEIGHTS_CHUNK, self.size - index * WEIGHTS_CHUNK)

    def checks(self, index: int, data: bytes) -> bool:
        """Whether `data` may be chunk `index` (its length, and its hash when the manifest is known)."""
        if self.manifest is not None:
            return self.manifest.chunk_fault(index, data) is None
        return len(data) == self.chunk_size(index)

    @property
    def complete(self) -> bool:
        return len(self.have) == self.chunks


def _is_hash_name(name: str) -> bool:
    return len(name) == 2 * HASH_LEN and all(c in "0123456789abcdef" for c in name)


def _none_shipped(h: bytes) -> bytes | None:
    return None


class ContentStore:
    """Weights blobs by weights hash under `root` (see the module docstring); a `weights_source.WeightsSource`."""

    def __init__(
        self, root: Path, max_unneeded_bytes: int = DEFAULT_MAX_UNNEEDED_BYTES, grace_s: float = DEFAULT_GRACE_S,
        clock: Callable[[], float] = time.time, shipped: Callable[[bytes], bytes | None] = _none_shipped,
    ) -> None:
        self.root = Path(root)
        self.max_unneeded_bytes = max_unneeded_bytes
        self.grace_s = grace_s
        self.clock = clock
        self._shipped = shipped
        self._lock = threading.RLock()
        self._blobs: dict[bytes, _Blob] = {}
        self._partials: dict[bytes, _Partial] = {}
        self._needed: set[bytes] = set()
        self._manifests: dict[bytes, Manifest] = {}
        self.on_dropped: Callable[[bytes], None] = lambda _h: None
        """Called with each blob dropped (the runtime forgets its parsed model)."""
        self._open()

    # reading -----------------------------------------------------------------------------------------
    def has(self, h: bytes) -> bool:
        """Whether the whole blob `h` is here (stored or shipped)."""
        with self._lock:
            return h in self._blobs or self._shipped(h) is not None

    def get_weights(self, h: bytes) -> bytes | None:
        """The blob whose weights hash is `h` (checked against it), or None."""
        with self._lock:
            entry = self._blobs.get(h)
            if entry is None:
                return self._shipped(h)
            try:
                blob = self._blob_path(h).read_bytes()
            except OSError as exc:
                log.warning("cannot read the weights 0x%s: %s", h.hex()[:16], exc)
                blob = b""
            if len(blob) != entry.size or weights_hash(blob) != h:
                self._drop_damaged(h)
                return self._shipped(h)
            return blob

    def manifest(self, h: bytes) -> Manifest | None:
        """Size and chunk hashes of a held blob, or None: from memory, else from its manifest file (checked against
        `h`: a few KiB read whichever blob a peer asks for), else computed once from the checked blob."""
        with self._lock:
            if not self.has(h):
                return None
            known = self._manifests.get(h)
            if known is None and h in self._blobs:
                known = self._read_manifest(h)
            if known is None:
                blob = self.get_weights(h)
                if blob is None:
                    return None
                known = Manifest(len(blob), tuple(chunk_hashes(blob)))
                if h in self._blobs:
                    with contextlib.suppress(OSError):  # serving goes on; the next reader computes it again
                        self._write(self._manifest_path(h), known.encode(), durable=False)
            if len(self._manifests) >= MAX_MANIFESTS_CACHED:
                self._manifests.pop(next(iter(self._manifests)))
            self._manifests[h] = known
            return known

    def _read_manifest(self, h: bytes) -> Manifest | None:
        try:
            manifest = decode_manifest(h, self._manifest_path(h).read_bytes())
        except (OSError, ContentRejected):
            return None
        return manifest if manifest.size == self._blobs[h].size else None

    def get_chunk(self, h: bytes, index: int) -> bytes | None:
        """Chunk `index` of a held blob (checked against its chunk hash), or None."""
        with self._lock:
            manifest = self.manifest(h)
            if manifest is None or not 0 <= index < manifest.chunks:
                return None
            start = index * WEIGHTS_CHUNK
            if h not in self._blobs:
                shipped = self._shipped(h)
                return None if shipped is None else shipped[start:start + WEIGHTS_CHUNK]
            try:
                with open(self._blob_path(h), "rb") as f:
                    f.seek(start)
                    data = f.read(manifest.chunk_size(index))
            except OSError:
                data = b""
            if blake2b_256(data) != manifest.chunk_hashes[index]:
                self._drop_damaged(h)
                return None
            return data

    def status(self, h: bytes) -> WeightsStatus:
        with self._lock:
            if self.has(h):
                manifest = self._manifests.get(h)
                size = self._blobs[h].size if h in self._blobs else len(self._shipped(h) or b"")
                n = manifest.chunks if manifest is not None else chunk_count(size)
                return WeightsStatus(HELD, size, n, n)
            partial = self._partials.get(h)
            if partial is not None:
                return WeightsStatus(PARTIAL, partial.size, len(partial.have), partial.chunks)
            return WeightsStatus(MISSING, 0, 0, 0)

    def partial_manifest(self, h: bytes) -> Manifest | None:
        """The manifest of a partial fetch or upload of `h`, or None (nothing staged, or an upload without it)."""
        with self._lock:
            partial = self._partials.get(h)
            return None if partial is None else partial.manifest

    def missing_chunks(self, h: bytes) -> list[int]:
        """The chunks of a partial `h` still to come, in order ([] when held or nothing is staged)."""
        with self._lock:
            partial = self._partials.get(h)
            if partial is None:
                return []
            return [i for i in range(partial.chunks) if i not in partial.have]

    def staged_size(self, h: bytes) -> int | None:
        """The size of a partial `h` (with or without its manifest), or None."""
        with self._lock:
            partial = self._partials.get(h)
            return None if partial is None else partial.size

    def held(self) -> list[bytes]:
        """The stored blobs (not the shipped ones)."""
        with self._lock:
            return list(self._blobs)

    @property
    def held_bytes(self) -> int:
        with self._lock:
            return sum(b.size for b in self._blobs.values())

    @property
    def unneeded_bytes(self) -> int:
        """Bytes counted against `max_unneeded_bytes`: blobs and partials no registered model names."""
        with self._lock:
            return sum(size for _, size, _ in self._unneeded())

    # writing -----------------------------------------------------------------------------------------
    def put(self, blob: bytes) -> bytes:
        """Keep a whole blob; its weights hash (computed here). ContentRejected (nothing kept) if it cannot be."""
        if not 1 <= len(blob) <= MAX_WEIGHTS_BYTES:
            raise ContentRejected(f"a weights blob is 1 to {MAX_WEIGHTS_BYTES} bytes, not {len(blob)}")
        h = weights_hash(blob)
        with self._lock:
            if self.has(h):
                return h
            self._make_room(h, len(blob))
            self._store_blob(h, bytes(blob))
            return h

    def begin(self, h: bytes, size: int, hashes: Iterable[bytes]) -> Manifest:
        """Stage blob `h` to arrive chunk by chunk, after checking that `size` and `hashes` hash to `h`. A partial
        already staged is kept with its chunks (an upload staged without chunk hashes gets them now, and its chunks
        that do not match are dropped; one that claimed another size is dropped whole); a blob already held needs
        nothing."""
        manifest = check_manifest(h, size, hashes)
        with self._lock:
            if self.has(h):
                return manifest
            partial = self._partials.get(h)
            if partial is not None and partial.manifest is None and partial.size != size:
                self._remove_partial(h)  # an upload that claimed another size: the manifest, which hashes to h, wins
                partial = None
            if partial is None:
                self._make_room(h, size)
                self._partial_dir(h).mkdir(parents=True, exist_ok=True)
                self._write(self._partial_dir(h) / MANIFEST_FILE, manifest.encode(), durable=False)
                self._partials[h] = _Partial(size, manifest, self.clock())
            elif partial.manifest is None:
                self._write(self._partial_dir(h) / MANIFEST_FILE, manifest.encode(), durable=False)
                partial.manifest = manifest
                self._check_chunks(h, partial)
            return manifest

    def begin_upload(self, h: bytes, size: int) -> None:
        """Stage blob `h` of `size` bytes from its owner without its chunk hashes: chunks are checked for length as
        they come and as a whole against `h` at the end (`begin` is better: every chunk checked on arrival)."""
        if type(size) is not int or not 1 <= size <= MAX_WEIGHTS_BYTES:
            raise ContentRejected(f"a weights blob is 1 to {MAX_WEIGHTS_BYTES} bytes, not {size!r}")
        with self._lock:
            if self.has(h):
                return
            partial = self._partials.get(h)
            if partial is not None:
                if partial.size != size:
                    raise ContentRejected(f"0x{h.hex()[:16]} is being received with another size ({partial.size})")
                return
            self._make_room(h, size)
            self._partial_dir(h).mkdir(parents=True, exist_ok=True)
            self._write(self._partial_dir(h) / MANIFEST_FILE, size.to_bytes(8, "little"), durable=False)
            self._partials[h] = _Partial(size, None, self.clock())

    def add_chunk(self, h: bytes, index: int, data: bytes) -> bool:
        """Keep chunk `index` of the staged blob `h` if it matches its chunk hash (in any order; a chunk held
        already changes nothing). Whether the whole blob is now held (checked again as a whole)."""
        with self._lock:
            if self.has(h):
                return True
            partial = self._partials.get(h)
            if partial is None:
                raise ContentRejected(f"no manifest is staged for the weights 0x{h.hex()[:16]}")
            if type(index) is not int or not 0 <= index < partial.chunks:
                raise ContentRejected(f"the weights 0x{h.hex()[:16]} have chunks 0 to {partial.chunks - 1}, "
                                      f"not {index!r}")
            if len(data) != partial.chunk_size(index):
                raise ContentRejected(f"chunk {index} is {partial.chunk_size(index)} bytes, not {len(data)}")
            if not partial.checks(index, data):
                raise ContentRejected(f"chunk {index} does not match its hash")
            if index not in partial.have:
                self._write(self._partial_dir(h) / str(index), bytes(data), durable=False)
                partial.have.add(index)
            partial.since = self.clock()
            return self._assemble(h, partial) if partial.complete else False

    def mark_needed(self, hashes: Iterable[bytes]) -> None:
        """The chain needs these blobs (registered models): never drop them."""
        with self._lock:
            self._needed.update(hashes)

    def retain(self, needed: Iterable[bytes]) -> list[bytes]:
        """`needed` is every blob the chain needs: drop what it does not name once older than the grace period.
        The hashes dropped."""
        with self._lock:
            self._needed = set(needed)
            cutoff = self.clock() - self.grace_s
            doomed = [h for h, _, since in self._unneeded() if since < cutoff]
            for h in doomed:
                self._drop(h)
            return doomed

    def drop(self, h: bytes) -> None:
        """Remove blob `h` and any partial of it."""
        with self._lock:
            self._drop(h)

    # internals -----------------------------------------------------------------------------------------
    def _blob_path(self, h: bytes) -> Path:
        return self.root / h.hex()

    def _partial_dir(self, h: bytes) -> Path:
        return self.root / PARTIAL_DIR / h.hex()

    def _manifest_path(self, h: bytes) -> Path:
        return self.root / MANIFESTS_DIR / h.hex()

    def _unneeded(self) -> list[tuple[bytes, int, float]]:
        """(hash, bytes, since) of every blob and partial the chain does not need, oldest first."""
        rows = [(h, b.size, b.since) for h, b in self._blobs.items() if h not in self._needed]
        rows += [(h, p.size, p.since) for h, p in self._partials.items() if h not in self._needed]
        return sorted(rows, key=lambda r: r[2])

    def _make_room(self, h: bytes, size: int) -> None:
        """Drop the oldest unneeded content until `size` more bytes for `h` fit; ContentFull (nothing dropped) if
        they cannot."""
        if h in self._needed:
            return
        rows = [r for r in self._unneeded() if r[0] != h]
        used = sum(r[1] for r in rows)
        doomed: list[bytes] = []
        for other, other_size, _ in rows:
            if used + size <= self.max_unneeded_bytes:
                break
            doomed.append(other)
            used -= other_size
        if used + size > self.max_unneeded_bytes:
            raise ContentFull(f"{size} more bytes of weights no registered model names would be over the "
                              f"{self.max_unneeded_bytes} bytes this node keeps")
        for other in doomed:
            log.info("dropped the weights 0x%s to make room (no registered model names them)", other.hex()[:16])
            self._drop(other)

    def _check_chunks(self, h: bytes, partial: _Partial) -> list[bytes]:
        """The held chunks of a partial, in order, each checked again (one damaged on disk, or not the manifest's,
        is dropped and must come again)."""
        parts: list[bytes] = []
        for i in sorted(partial.have):
            path = self._partial_dir(h) / str(i)
            try:
                data = path.read_bytes()
            except OSError:
                data = b""
            if not partial.checks(i, data):
                log.warning("chunk %d of the weights 0x%s does not check out: it must come again", i, h.hex()[:16])
                with contextlib.suppress(OSError):
                    path.unlink()
                partial.have.discard(i)
                continue
            parts.append(data)
        return parts

    def _assemble(self, h: bytes, partial: _Partial) -> bool:
        """Join a complete partial's chunks into its blob, checked again; whether the blob is now held."""
        parts = self._check_chunks(h, partial)
        if not partial.complete:
            return False
        blob = b"".join(parts)
        if weights_hash(blob) != h:  # only an upload without chunk hashes can get here: the manifest hashes to h
            self._remove_partial(h)
            raise ContentRejected(f"the chunks uploaded do not make the weights 0x{h.hex()}: the upload is dropped")
        self._store_blob(h, blob)
        return True

    def _store_blob(self, h: bytes, blob: bytes) -> None:
        manifest = Manifest(len(blob), tuple(chunk_hashes(blob)))
        self._write(self._manifest_path(h), manifest.encode(), durable=False)
        self._write(self._blob_path(h), blob, durable=True)
        self._blobs[h] = _Blob(len(blob), self.clock())
        self._manifests.pop(h, None)
        self._remove_partial(h)

    def _write(self, path: Path, data: bytes, durable: bool) -> None:
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=self.root)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if durable:
            _fsync_dir(path.parent)

    def _remove_partial(self, h: bytes) -> None:
        self._partials.pop(h, None)
        directory = self._partial_dir(h)
        if directory.exists():
            for p in directory.iterdir():
                with contextlib.suppress(OSError):
                    p.unlink()
            with contextlib.suppress(OSError):
                directory.rmdir()

    def _drop(self, h: bytes) -> None:
        if self._blobs.pop(h, None) is not None:
            with contextlib.suppress(OSError):
                self._blob_path(h).unlink()
            self.on_dropped(h)
        with contextlib.suppress(OSError):
            self._manifest_path(h).unlink()
        self._manifests.pop(h, None)
        self._remove_partial(h)

    def _drop_damaged(self, h: bytes) -> None:
        log.warning("the stored weights 0x%s are damaged: dropped (they are fetched again)", h.hex()[:16])
        self._drop(h)

    # opening -------------------------------------------------------------------------------------------
    def _open(self) -> None:
        (self.root / PARTIAL_DIR).mkdir(parents=True, exist_ok=True)
        (self.root / MANIFESTS_DIR).mkdir(parents=True, exist_ok=True)
        for p in self.root.iterdir():
            if p.name.startswith(TMP_PREFIX):
                with contextlib.suppress(OSError):
                    p.unlink()  # a write a crash interrupted
            elif p.is_file() and _is_hash_name(p.name):
                st = p.stat()
                if 1 <= st.st_size <= MAX_WEIGHTS_BYTES:
                    self._blobs[bytes.fromhex(p.name)] = _Blob(st.st_size, st.st_mtime)
                else:
                    with contextlib.suppress(OSError):
                        p.unlink()
        for p in (self.root / MANIFESTS_DIR).iterdir():
            if not (_is_hash_name(p.name) and bytes.fromhex(p.name) in self._blobs):
                with contextlib.suppress(OSError):
                    p.unlink()  # its blob was dropped (or never made it): a crash between the two
        for d in (self.root / PARTIAL_DIR).iterdir():
            if d.is_dir() and _is_hash_name(d.name):
                self._open_partial(bytes.fromhex(d.name), d)

    def _open_partial(self, h: bytes, directory: Path) -> None:
        partial: _Partial | None = None
        try:
            raw = (directory / MANIFEST_FILE).read_bytes()
            since = directory.stat().st_mtime
            if len(raw) == 8 and 1 <= int.from_bytes(raw, "little") <= MAX_WEIGHTS_BYTES:
                partial = _Partial(int.from_bytes(raw, "little"), None, since)  # an upload without chunk hashes
            else:
                manifest = decode_manifest(h, raw)
                partial = _Partial(manifest.size, manifest, since)
        except (OSError, ContentRejected):
            pass
        if partial is None or h in self._blobs:
            self._remove_partial(h)
            return
        for p in directory.iterdir():
            if p.name == MANIFEST_FILE:
                continue
            index = int(p.name) if p.name.isascii() and p.name.isdigit() and len(p.name) <= 3 else -1
            if 0 <= index < partial.chunks and p.stat().st_size == partial.chunk_size(index):
                partial.have.add(index)
                partial.since = max(partial.since, p.stat().st_mtime)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()
        self._partials[h] = partial
        if partial.complete:
            with contextlib.suppress(ContentRejected):
                self._assemble(h, partial)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
