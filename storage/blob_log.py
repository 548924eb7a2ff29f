"""Large values kept out of LevelDB: append-only segment files beside the database, LevelDB holding a 21-byte
reference to each (segment, offset, length, CRC-32 of the value).

Why: a block's body, its events and its undo journal are written once, read rarely and never changed, yet they are
most of a block's bytes (~4 MB of ~6 for 5,000 transfers). Inside LevelDB every byte is rewritten at each level its
compactions move it down; here it is written once. This is the layout Bitcoin Core keeps its blocks and undo data
in, and the key-value separation of WiscKey and RocksDB's BlobDB.

Reading: a value under those keys is a reference when it has the reference's shape (`is_ref`), else the value
itself (a database written before the block files), so such a database needs no conversion. A value read is checked
against its reference's CRC: bytes damaged on disk, or a lost segment whose number new values took again after a
restart, are a StorageError ("database damaged"), never another value in a block's place. References of the first
block-file version (17 bytes, no CRC) still read, unchecked.

Durability: a value is appended (to the page cache) before the batch holding its reference is built, and `sync`
(fdatasync) runs before that batch is written, so a stored reference never points past what is on disk. A crash
between the two leaves unreferenced bytes at a segment's end: wasted, never read. An append that fails (a full disk)
cuts its part-written bytes off again, so the next value's reference holds the offset it was written at. A segment's
creation is made durable (the directory synced) by the same `sync`. A deleted reference frees nothing (reverted
blocks are rare); the space is reused only by purging the chain.
"""

from __future__ import annotations

import errno
import os
import struct
import threading
import zlib
from pathlib import Path

from btt_chain.primitives.errors import StorageError

SEGMENT_BYTES = 256 * 1024 * 1024
"""A segment is closed for appends once it holds this many bytes."""
REF_TAG = 0xB8
REF = struct.Struct(">BIQII")
"""REF_TAG, segment number, offset, length, CRC-32 of the value: 21 bytes. No value kept under `schema.BLOB_PREFIXES`
inline (by versions before the block files) has that shape or the first version's (UNCHECKED_REF): blocks are
longer, and events and journals are msgpack arrays, whose first byte is never 0xB7 or 0xB8 (a msgpack string's), so
a stored value is a reference exactly when `is_ref` says so."""
REF_LEN = REF.size
UNCHECKED_REF_TAG = 0xB7
UNCHECKED_REF = struct.Struct(">BIQI")
"""The first block-file version's reference (UNCHECKED_REF_TAG, segment, offset, length: 17 bytes), read unchecked."""


def is_ref(stored: bytes) -> bool:
    n = len(stored)
    return (n == REF_LEN and stored[0] == REF_TAG) or (n == UNCHECKED_REF.size and stored[0] == UNCHECKED_REF_TAG)


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
        self._new_entries = not numbers
        """A segment (or the directory itself) was created since the last sync: its directory must be synced too."""
        self._broken: str | None = None
        """Why appending is refused: a failed append whose part-written bytes could not be cut off again."""
        self._number = numbers[-1] if numbers else 1
        self._fd = self._open_for_append(self._number)
        self._size = self._end(self._fd)

    def _open_for_append(self, number: int) -> int:
        path = self.directory / _segment_name(number)
        try:
            created = not path.exists()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot open block file {number} in {self.directory}: {exc.strerror or exc}") from exc
        if created:
            with self._lock:
                self._new_entries = True
        return fd

    def _end(self, fd: int) -> int:
        try:
            return os.fstat(fd).st_size
        except OSError as exc:
            raise StorageError(f"cannot read the size of a block file in {self.directory}: {exc.strerror}") from exc

    def append(self, data: bytes) -> bytes:
        """Write `data` at the end of the current segment; its reference. On failure nothing of `data` stays
        (or, failing that, every later append is refused)."""
        if self._broken is not None:
            raise StorageError(f"cannot write the block files: {self._broken}, restart the node")
        if self._size and self._size + len(data) > SEGMENT_BYTES:
            fd = self._open_for_append(self._number + 1)  # raises with nothing changed
            try:
                size = self._end(fd)
            except StorageError:
                os.close(fd)
                raise
            with self._lock:
                self._unsynced.append(self._fd)  # synced (and then closed) by the next sync
                self._number += 1
                self._fd = fd
            self._size = size
        offset = self._size
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                if not written:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[written:]
        except OSError as exc:
            self._cut_back(offset)
            raise StorageError(f"cannot write block file {self._number}: {exc.strerror or exc}") from exc
        self._size += len(data)
        return REF.pack(REF_TAG, self._number, offset, len(data), zlib.crc32(data))

    def _cut_back(self, offset: int) -> None:
        """After a failed append: the segment ends at `offset` again, where the next value goes (O_APPEND writes at
        the file's end, and a reference holds the offset counted here)."""
        try:
            os.ftruncate(self._fd, offset)
        except OSError:
            try:
                self._size = os.fstat(self._fd).st_size  # the bytes stay, unreferenced; the next value follows them
            except OSError as exc:
                self._broken = f"block file {self._number} has part of a value at its end ({exc.strerror})"

    def sync(self) -> None:
        """Put every byte appended so far on stable storage."""
        with self._lock:
            closed, self._unsynced = self._unsynced, []
            current = self._fd
            new_entries, self._new_entries = self._new_entries, False
        try:
            for fd in closed:
                os.fdatasync(fd)
                os.close(fd)
            os.fdatasync(current)
            if new_entries:  # a new segment's name (and the directory's own, the first time) on disk too
                for directory in (self.directory, self.directory.parent):
                    dir_fd = os.open(directory, os.O_RDONLY)
                    try:
                        os.fsync(dir_fd)
                    finally:
                        os.close(dir_fd)
        except OSError as exc:
            with self._lock:
                self._new_entries |= new_entries
            raise StorageError(f"cannot sync the block files in {self.directory}: {exc.strerror or exc}") from exc

    def read(self, ref: bytes) -> bytes:
        """The value a reference points at; StorageError if it is not there."""
        if not is_ref(ref):
            raise StorageError("a block-file reference is malformed: database damaged")
        crc: int | None = None
        if len(ref) == REF_LEN:
            _, number, offset, length, crc = REF.unpack(ref)
        else:
            _, number, offset, length = UNCHECKED_REF.unpack(ref)
        fd = self._readers.get(number)
        try:
            if fd is None:
                opened = os.open(self.directory / _segment_name(number), os.O_RDONLY)
                fd = self._readers.setdefault(number, opened)  # atomic: two threads opening it keep one descriptor
                if fd != opened:
                    os.close(opened)
            data = os.pread(fd, length, offset)
        except OSError as exc:
            raise StorageError(f"cannot read block file {number}: {exc.strerror or exc}") from exc
        if len(data) != length:
            raise StorageError(f"block file {number} ends before a value it holds: database damaged")
        if crc is not None and zlib.crc32(data) != crc:
            raise StorageError(f"block file {number} holds a damaged value at offset {offset}: database damaged")
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
