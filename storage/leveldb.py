"""The on-disk KeyValueStore: LevelDB through plyvel, every plyvel failure turned into one readable StorageError."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import plyvel

from btt_chain.primitives.errors import StorageError
from storage.kv import KeyValueStore, check_key, checked_batch

LRU_CACHE_BYTES = 256 * 1024 * 1024
"""Block cache for uncompressed data blocks, filled only as blocks are read: room for the flat state of about a
million accounts, whose reads during execution are random (the state tree itself is cached by the chain)."""
WRITE_BUFFER_BYTES = 32 * 1024 * 1024
"""Memtable size: one block's worth of state-tree nodes fits before LevelDB has to flush and compact."""
BLOOM_FILTER_BITS = 10
"""Bits per key (~1% false positives): most state-tree lookups are for keys in exactly one table."""


def _message(exc: BaseException) -> str:
    # plyvel carries LevelDB's status string as bytes in args[0].
    arg = exc.args[0] if exc.args else ""
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    return text or type(exc).__name__


def _open_error(path: Path, exc: BaseException) -> StorageError:
    """Translate a failure to open into the one line a node operator needs to read."""
    text = _message(exc)
    if isinstance(exc, plyvel.IOError) and "lock" in text.lower():
        return StorageError(f"database at {path} is in use by another process (LevelDB: {text})")
    if isinstance(exc, plyvel.CorruptionError):
        return StorageError(f"database at {path} is corrupt (LevelDB: {text})")
    if "does not exist" in text:
        return StorageError(f"no database at {path}")
    return StorageError(f"cannot open database at {path}: {text}")


class LevelDBStore(KeyValueStore):
    """A LevelDB database in directory `path`, open (and locked) for the lifetime of this object."""

    def __init__(self, path: str | Path, create_if_missing: bool = True) -> None:
        self.path = Path(path)
        try:
            if create_if_missing:
                # LevelDB creates only the last directory of the path; a fresh data dir may need its parents.
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db: plyvel.DB | None = plyvel.DB(
                str(self.path),
                create_if_missing=create_if_missing,
                lru_cache_size=LRU_CACHE_BYTES,
                write_buffer_size=WRITE_BUFFER_BYTES,
                bloom_filter_bits=BLOOM_FILTER_BITS,
            )
        except plyvel.Error as exc:
            raise _open_error(self.path, exc) from exc
        except OSError as exc:
            raise StorageError(f"cannot open database at {self.path}: {exc.strerror or exc}") from exc

    def _handle(self) -> plyvel.DB:
        if self._db is None:
            raise StorageError(f"database at {self.path} is closed")
        return self._db

    def get(self, key: bytes) -> bytes | None:
        db = self._handle()
        check_key(key)
        try:
            value: bytes | None = db.get(key)
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot read database at {self.path}: {_message(exc)}") from exc
        return value

    def write(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes] = (), sync: bool = False) -> None:
        db = self._handle()
        put_items, delete_keys = checked_batch(puts, deletes)
        try:
            # transaction=True: if anything raises inside the block the batch is dropped, never half-written.
            with db.write_batch(transaction=True, sync=sync) as batch:
                for key, value in put_items:
                    batch.put(key, value)
                for key in delete_keys:
                    batch.delete(key)
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot write database at {self.path}: {_message(exc)}") from exc

    def iterate(self, prefix: bytes = b"", reverse: bool = False) -> Iterator[tuple[bytes, bytes]]:
        db = self._handle()
        check_key(prefix)
        try:
            # Created here, not lazily, so a closed store fails at the call like MemoryStore does.
            # The iterator reads from an implicit snapshot: writes made during the scan are not seen.
            it = db.iterator(prefix=prefix, reverse=reverse) if prefix else db.iterator(reverse=reverse)
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot read database at {self.path}: {_message(exc)}") from exc
        return self._drain(it)

    def _drain(self, it: plyvel.Iterator) -> Iterator[tuple[bytes, bytes]]:
        try:
            with it:
                yield from it
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot read database at {self.path}: {_message(exc)}") from exc

    def compact(self) -> None:
        """Compact the whole key range: after a very large write (a big genesis), so that reopening the database
        does not replay that write from the log into memory."""
        try:
            self._handle().compact_range()
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot compact database at {self.path}: {_message(exc)}") from exc

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
