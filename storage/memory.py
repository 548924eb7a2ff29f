"""The in-memory twin of the LevelDB store: same interface and semantics, held in a dict. For tests and tools."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping

from btt_chain.primitives.errors import StorageError
from storage.kv import KeyValueStore, check_key, checked_batch, prefix_end


class MemoryStore(KeyValueStore):
    """A dict-backed KeyValueStore. A scan finds its range by bisection in the keys kept sorted, which are sorted again
    (once, at the next scan) only after a write that adds or removes a key: a scan costs what it returns, not the
    store's size."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}
        self._sorted: list[bytes] | None = []
        """The keys in order, or None once a write added or removed one."""
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
        if self._sorted is not None and (any(key not in data for key, _ in put_items)
                                         or any(key in data for key in delete_keys)):
            self._sorted = None
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
        keys = self._sorted
        if keys is None:
            keys = self._sorted = sorted(self._data)
        lo = bisect_left(keys, prefix)
        end = prefix_end(prefix)
        hi = len(keys) if end is None else bisect_left(keys, end)
        if start is not None:
            if reverse:
                hi = min(hi, bisect_right(keys, start))
            else:
                lo = max(lo, bisect_left(keys, start))
        # A snapshot, like a LevelDB iterator: writes made during the scan are not seen.
        data = self._data
        items = [(key, data[key]) for key in keys[lo:hi]]
        if reverse:
            items.reverse()
        return iter(items)

    def close(self) -> None:
        self._closed = True
        self._data = {}
        self._sorted = []

    def __len__(self) -> int:
        return len(self._data)

