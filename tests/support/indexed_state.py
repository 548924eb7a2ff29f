"""The test chains' state backend: `DictState` with its keys kept in order between changes, so that iterating under a
prefix costs the keys under it rather than a sort and a scan of the whole state.

The invariant checks the test chains run after every block iterate every module's items; over `DictState`, whose
`iterate` sorts and scans every key, that was most of the CPU of the tests that build large states (an
admission flood of 4,000 requests: 27 of 39 s in `DictState.iterate`). The node never iterates a `DictState` in a
block's work (its state is the database's), so the production class keeps its plain dict, which a bench genesis of
ten million accounts fills without the per-write bookkeeping here.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Mapping
from typing import Any

from runtime.overlay import DictState


class KeyCountingDict(dict):  # type: ignore[type-arg]
    """A dict that counts the changes to its set of keys (`changed`): a sorted copy of its keys made at one count is
    its keys in order while the count stays the same. Every way to add or remove a key goes through here (tests also
    write the state's dict directly: `chain.backend.data[key] = ...`, `.pop(key)`)."""

    __slots__ = ("changed",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.changed = 0

    def __setitem__(self, key: Any, value: Any) -> None:
        if key not in self:
            self.changed += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self.changed += 1

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            self.changed += 1
        return super().pop(key, *default)

    def popitem(self) -> tuple[Any, Any]:
        item = super().popitem()
        self.changed += 1
        return item

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self.changed += 1
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.changed += 1
        super().update(*args, **kwargs)

    def __ior__(self, other: Any) -> KeyCountingDict:
        self.update(other)
        return self

    def clear(self) -> None:
        self.changed += 1
        super().clear()


class IndexedDictState(DictState):
    """`DictState` whose `iterate` finds a prefix's keys by bisection in a sorted copy of the keys, made again only
    after the key set changed; the same pairs in the same order as `DictState.iterate`."""

    def __init__(self, data: Mapping[bytes, bytes] | None = None) -> None:
        self._data = KeyCountingDict(data or {})
        self._sorted: list[bytes] = []
        self._sorted_at: tuple[int, int] | None = None

    @property  # type: ignore[override]
    def data(self) -> KeyCountingDict:
        return self._data

    @data.setter
    def data(self, value: Mapping[bytes, bytes]) -> None:
        self._data = value if isinstance(value, KeyCountingDict) else KeyCountingDict(value)
        self._sorted_at = None

    def _keys_in_order(self) -> list[bytes]:
        data = self._data
        at = (id(data), data.changed)
        if self._sorted_at != at:
            self._sorted = sorted(data)
            self._sorted_at = at
        return self._sorted

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        keys = self._keys_in_order()  # the keys as they were at the first step, as `DictState.iterate` has them
        data = self._data
        for i in range(bisect_left(keys, prefix), len(keys)):
            k = keys[i]
            if not k.startswith(prefix):
                return
            yield k, data[k]
