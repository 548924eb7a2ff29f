"""Large values kept out of LevelDB: append-only segment files beside the database, LevelDB holding a 16-byte
reference to each (segment, offset, length).

Why: a block's body, its events and its undo journal are written once, read rarely and never changed, yet they are
most of a block's bytes (~4 MB of ~6 for 5,000 transfers). Inside LevelDB every byte is rewritten at each level its
compactions move it down; here it is written once. This is the layout Bitcoin Core keeps its blocks and undo data
in, and the key-value separation of WiscKey and RocksDB's BlobDB.

Reading: a value under those keys is a reference when it has the reference's shape (`is_ref`), else the value
itself (a database written before the block files), so such a database needs no conversion.

Durability: a value is appended (to the page cache) before the batch holding its reference is built, and `sync`
(fdatasync) runs before that batch is written, so a stored reference never points past what is on disk. A crash
between the two leaves unreferenced bytes at a segment's end: wasted, never read. A deleted reference frees nothing
(reverted blocks are rare); the space is reused only by purging the chain.
"""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

from btt_chain.primitives.errors import StorageError

SEGMENT_BYTES = 256 * 1024 * 1024
"""A segment is closed for appends once it holds this many bytes."""
REF_TAG = 0xB7
REF = struct.Struct(">BIQI")
"""REF_TAG, segment number, offset, length: 17 bytes. No value kept under `schema.BLOB_PREFIXES` inline (by versions
before the block files) has that shape: blocks are longer, and events and journals are msgpack arrays, whose first
byte is never 0xB7 (a msgpack string's), so a stored value is a reference exactly when `is_ref` says so."""
REF_LEN = REF.size


def is_ref(stored: bytes) -> bool:
    return len(stored) == REF_LEN and stored[0] == REF_TAG


def _segment_name(number: int) -> str:
    return f"{number:06d}.blob"


class BlobLog:
    """The segments of one database directory. Appends come from one thread; `sync` may run on another."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            directory.mkdir(parents=True, exist_ok=True)
            numbers = sorted(int(p.stem) for p in directory.glob("*.blob") if p.stem.isdigit())
        except OSError as exc:
            raise StorageError(f"cannot open the block files in {directory}: {exc.strerror or exc}") from exc
        self._readers: dict[int, int] = {}
        self._lock = threading.Lock()
        self._unsynced: list[int] = []
        """File descriptors written to since the last sync (the current segment, and one just closed)."""
        self._number = numbers[-1] if numbers else 1
        self._fd = self._open_for_append(self._number)
        self._size = os.fstat(self._fd).st_size

    def _open_for_append(self, number: int) -> int:
        try:
            return os.open(self.directory / _segment_name(number), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot open block file {number} in {self.directory}: {exc.strerror or exc}") from exc

    def append(self, data: bytes) -> bytes:
        """Write `data` at the end of the current segment; its reference."""
        if self._size and self._size + len(data) > SEGMENT_BYTES:
            with self._lock:
                self._unsynced.append(self._fd)  # synced (and then closed) by the next sync
                self._number += 1
                self._fd = self._open_for_append(self._number)
                self._size = 0
        offset = self._size
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            raise StorageError(f"cannot write block file {self._number}: {exc.strerror or exc}") from exc
        self._size += len(data)
        return REF.pack(REF_TAG, self._number, offset, len(data))

    def sync(self) -> None:
        """Put every byte appended so far on stable storage."""
        with self._lock:
            closed, self._unsynced = self._unsynced, []
            current = self._fd
        try:
            for fd in closed:
                os.fdatasync(fd)
                os.close(fd)
            os.fdatasync(current)
        except OSError as exc:
            raise StorageError(f"cannot sync the block files in {self.directory}: {exc.strerror or exc}") from exc

    def read(self, ref: bytes) -> bytes:
        """The value a reference points at; StorageError if it is not there."""
        if not is_ref(ref):
            raise StorageError("a block-file reference is malformed: database damaged")
        _, number, offset, length = REF.unpack(ref)
        fd = self._readers.get(number)
        try:
            if fd is None:
                fd = os.open(self.directory / _segment_name(number), os.O_RDONLY)
                self._readers[number] = fd
            data = os.pread(fd, length, offset)
        except OSError as exc:
            raise StorageError(f"cannot read block file {number}: {exc.strerror or exc}") from exc
        if len(data) != length:
            raise StorageError(f"block file {number} ends before a value it holds: database damaged")
        return data

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.directory.glob("*.blob"))

    def close(self) -> None:
        with self._lock:
            fds = [*self._unsynced, self._fd, *self._readers.values()]
            self._unsynced, self._readers = [], {}
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
