"""The in-memory twin of the LevelDB store: same interface and semantics, held in a dict. For tests and tools."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from btt_chain.primitives.errors import StorageError
from storage.kv import KeyValueStore, check_key, checked_batch, in_range


class MemoryStore(KeyValueStore):
    """A dict-backed KeyValueStore. Iteration sorts on demand, so scans are O(n log n), not LevelDB-fast."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}
        self._closed = False

    def get(self, key: bytes) -> bytes | None:
        if self._closed:
            raise StorageError("store is closed")
        if type(key) is not bytes:  # inline, not check_key: this is the state tree's hot read path
            check_key(key)
        return self._data.get(key)

    def write(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes] = (), sync: bool = False) -> None:
        if self._closed:
            raise StorageError("store is closed")
        # Validate first: after this point nothing can fail, which is what makes the batch atomic.
        put_items, delete_keys = checked_batch(puts, deletes)
        data = self._data
        data.update(put_items)
        for key in delete_keys:
            data.pop(key, None)

    def iterate(
        self, prefix: bytes = b"", reverse: bool = False, start: bytes | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        if self._closed:
            raise StorageError("store is closed")
        check_key(prefix)
        if start is not None:
            check_key(start)
        # A sorted snapshot, like a LevelDB iterator: writes made during the scan are not seen.
        items = sorted(item for item in self._data.items()
                       if item[0].startswith(prefix) and in_range(item[0], reverse, start))
        if reverse:
            items.reverse()
        return iter(items)

    def close(self) -> None:
        self._closed = True
        self._data = {}

    def __len__(self) -> int:
        return len(self._data)
