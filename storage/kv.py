"""The key-value interface every database backend implements: point reads, atomic batch writes, ordered scans."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Self


class KeyValueStore(abc.ABC):
    """Bytes to bytes, ordered by key. Writes go through `write` only, so every change is an atomic batch."""

    @abc.abstractmethod
    def get(self, key: bytes) -> bytes | None:
        """The value stored under `key`, or None."""

    def contains(self, key: bytes) -> bool:
        """Whether `key` holds a value (a store may answer without reading a large one)."""
        return self.get(key) is not None

    @abc.abstractmethod
    def write(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes] = (), sync: bool = False) -> None:
        """Apply `puts` and `deletes` atomically: all of them or, if anything fails, none.

        Deletes are applied after puts, so a key in both ends up deleted. `sync=True` returns only once
        the batch is on stable storage (fsync); otherwise a crash may lose the most recent writes but
        never half a batch.
        """

    def write_behind(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes] = ()) -> None:
        """Like `write(..., sync=True)`, but it may return before the batch is on stable storage: reads see it at
        once, every later call waits for it, and a crash before it lands loses the whole batch, never half.
        For a block import's commit, which the next block's execution can overlap. Here: a plain synced write."""
        self.write(puts, deletes, sync=True)

    def flush(self) -> None:
        """Return once every write made so far is on stable storage (a `write_behind` batch included)."""
        self.write({}, sync=True)

    @abc.abstractmethod
    def iterate(
        self, prefix: bytes = b"", reverse: bool = False, start: bytes | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs whose key starts with `prefix`, in ascending key order (descending if `reverse`);
        with `start`, from that key on (keys >= start ascending, <= start descending), found by a seek, not by
        reading the keys before it."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store; further calls raise StorageError. Closing twice is harmless."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def checked_batch(
    puts: Mapping[bytes, bytes], deletes: Iterable[bytes]
) -> tuple[list[tuple[bytes, bytes]], list[bytes]]:
    """Validate a batch before any of it is applied, so a bad entry cannot leave half a batch behind.

    Returns the puts as a list and the deletes materialised (they may be a one-shot iterator).
    Raises TypeError naming the first key or value that is not `bytes`.
    """
    put_items = list(puts.items())
    for key, value in put_items:
        if type(key) is not bytes:
            raise TypeError(f"store keys must be bytes, got {type(key).__name__}")
        if type(value) is not bytes:
            raise TypeError(f"store values must be bytes, got {type(value).__name__} under key {key.hex()}")
    delete_keys = list(deletes)
    for key in delete_keys:
        if type(key) is not bytes:
            raise TypeError(f"store keys must be bytes, got {type(key).__name__}")
    return put_items, delete_keys


def in_range(key: bytes, reverse: bool, start: bytes | None) -> bool:
    """Whether `key` is at or after `start` in the direction of a scan (always, without a start)."""
    return start is None or (key <= start if reverse else key >= start)


def prefix_end(prefix: bytes) -> bytes | None:
    """The least key above every key that starts with `prefix` (None: there is none, the prefix is empty or all
    0xff)."""
    trimmed = prefix.rstrip(b"\xff")
    return trimmed[:-1] + bytes([trimmed[-1] + 1]) if trimmed else None


def check_key(key: bytes) -> None:
    """Reject a key that is not `bytes` the same way in every backend."""
    if type(key) is not bytes:
        raise TypeError(f"store keys must be bytes, got {type(key).__name__}")
