"""A storage overlay over a read-only state backend, with nested snapshots (begin/commit/rollback)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping
from itertools import islice
from typing import Any, Protocol, TypeVar

_MISSING = object()
V = TypeVar("V")
D = TypeVar("D")

INDEX_PREFIX_BYTES = 32
"""Block-level writes are indexed by their keys' first 32 bytes (a storage item's `twox128 ++ twox128` prefix):
`iterate` under a prefix at least that long looks at the writes of that item only, however many the overlay holds
(an import of several blocks, or a long-lived view, keeps tens of thousands)."""

PARAMS_PREFIX = bytes.fromhex("9a6912ecfeb5c6102fecac8201de0a8f6b2f21989c43cc4e06ac1ad3e2027000")
"""Where the params module keeps parameter values, `twox128("Params") ++ twox128("Value")` (runtime/params/storage.py
checks it): a write under it empties `Overlay.params_memo`."""


class StateReader(Protocol):
    """What the runtime reads state through: the flat state at the parent block."""

    def get(self, key: bytes) -> bytes | None: ...

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]: ...


class DictState:
    """A StateReader over a plain dict (genesis building and tests)."""

    def __init__(self, data: dict[bytes, bytes] | None = None) -> None:
        self.data: dict[bytes, bytes] = dict(data or {})

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for k in sorted(self.data):
            if k.startswith(prefix):
                yield k, self.data[k]

    def apply(self, changes: dict[bytes, bytes | None]) -> None:
        for k, v in changes.items():
            if v is None:
                self.data.pop(k, None)
            else:
                self.data[k] = v


class SortedState(DictState):
    """A DictState that keeps its keys in order, so that a prefix read costs what the node's store's does (a seek,
    then the keys under the prefix) where DictState sorts every key of the state on each one: for a tool or a test
    whose blocks read by prefix over a large state. Each new key costs an insertion into the order, so a genesis of
    millions of keys is built into a DictState first."""

    def __init__(self, data: dict[bytes, bytes] | None = None) -> None:
        super().__init__(data)
        self.keys = sorted(self.data)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        keys, i = self.keys, bisect.bisect_left(self.keys, prefix)
        while i < len(keys) and keys[i].startswith(prefix):
            yield keys[i], self.data[keys[i]]
            i += 1

    def apply(self, changes: dict[bytes, bytes | None]) -> None:
        for k, v in changes.items():
            if v is None:
                if self.data.pop(k, None) is not None:
                    del self.keys[bisect.bisect_left(self.keys, k)]
            else:
                if k not in self.data:
                    bisect.insort(self.keys, k)
                self.data[k] = v


class Overlay:
    """Block-level pending writes over a backend, with a stack of extrinsic-level snapshot layers."""

    def __init__(self, backend: StateReader) -> None:
        self._backend = backend
        self._cache: dict[bytes, bytes | None] = {}
        self._changes: dict[bytes, bytes | None] = {}
        self._layers: list[dict[bytes, bytes | None]] = []
        self.writes = 0
        """Counts set, delete and rollback calls: equal counts mean nothing visible changed in between."""
        self.params_memo: dict[str | tuple[str, ...], Any] = {}
        """Parameter values read through this overlay (runtime/params/storage.py: `get_param` by name, `get_params`
        a tuple of them by the tuple of names): a block reads the same few parameters for every extrinsic. Emptied
        by every write under PARAMS_PREFIX and every rollback, so a parameter changed mid-block is seen by the very
        next read."""
        self._index: dict[bytes, list[bytes]] = {}
        """Keys of `_changes` by their first INDEX_PREFIX_BYTES bytes, for `iterate`: brought up to date when it is
        used, from the keys added since (`_changes` only ever gains keys, a delete is a None, and a dict keeps
        insertion order, so those are the last `len(_changes) - _indexed`)."""
        self._indexed = 0
        self.decoded: dict[bytes, tuple[bytes, object]] = {}
        """key -> (encoding, decoded value): typed items (runtime/items.py) decode a value once per block. An
        entry counts only while `get(key)` returns that very encoding object, so writes, snapshots and
        rollbacks never serve a stale value; stored values are immutable, so sharing them is safe."""

    def get(self, key: bytes) -> bytes | None:
        if self._layers:
            for layer in reversed(self._layers):  # the newest snapshot first
                v = layer.get(key, _MISSING)
                if v is not _MISSING:
                    return v  # type: ignore[return-value]
        v = self._changes.get(key, _MISSING)
        if v is not _MISSING:
            return v  # type: ignore[return-value]
        v = self._cache.get(key, _MISSING)
        if v is _MISSING:
            v = self._backend.get(key)
            self._cache[key] = v  # type: ignore[assignment]
        return v  # type: ignore[return-value]

    def get_decoded(self, key: bytes, decode: Callable[[bytes], V], default: D) -> V | D:
        """The value at `key` decoded by `decode` (`default` when there is none), each encoding decoded once: the
        typed storage items' read (runtime/items.py). See `decoded` for why a cached value is never stale."""
        raw: bytes | None | object = _MISSING  # `get` inlined: one call less on the runtime's hottest read
        if self._layers:
            for layer in reversed(self._layers):
                raw = layer.get(key, _MISSING)
                if raw is not _MISSING:
                    break
        if raw is _MISSING:
            raw = self._changes.get(key, _MISSING)
            if raw is _MISSING:
                raw = self._cache.get(key, _MISSING)
                if raw is _MISSING:
                    raw = self._cache[key] = self._backend.get(key)
        if raw is None:
            return default
        hit = self.decoded.get(key)
        if hit is not None and hit[0] is raw:
            return hit[1]  # type: ignore[return-value]
        value = decode(raw)  # type: ignore[arg-type]
        self.decoded[key] = (raw, value)  # type: ignore[assignment]
        return value

    def set_decoded(self, key: bytes, raw: bytes, value: object) -> None:
        """`set(key, raw)`, where `raw` encodes `value`: a later `get_decoded` returns `value` without decoding."""
        self.writes += 1  # `set` inlined (the typed items' write)
        if key.startswith(PARAMS_PREFIX):
            self.params_memo.clear()
        (self._layers[-1] if self._layers else self._changes)[key] = raw
        self.decoded[key] = (raw, value)

    def set(self, key: bytes, value: bytes) -> None:
        self.writes += 1
        if key.startswith(PARAMS_PREFIX):
            self.params_memo.clear()
        (self._layers[-1] if self._layers else self._changes)[key] = value

    def delete(self, key: bytes) -> None:
        self.writes += 1
        if key.startswith(PARAMS_PREFIX):
            self.params_memo.clear()
        (self._layers[-1] if self._layers else self._changes)[key] = None

    def apply(self, changes: Mapping[bytes, bytes | None]) -> None:
        """`set` each entry of `changes`, `delete` each None, in their order, in one call (a block's net writes laid
        on a view of its parent: ~10,000 entries a block of transfers)."""
        if not changes:
            return
        self.writes += len(changes)
        self.params_memo.clear()  # a memo only: emptied whether or not a parameter is among the keys
        (self._layers[-1] if self._layers else self._changes).update(changes)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Key-ordered (key, value) pairs under `prefix`, pending writes included."""
        merged: dict[bytes, bytes | None] = dict(self._backend.iterate(prefix))
        changes = self._changes
        for k in self._changed_keys(prefix):
            merged[k] = changes[k]
        for layer in self._layers:
            for k, v in layer.items():
                if k.startswith(prefix):
                    merged[k] = v
        for k in sorted(merged):
            v = merged[k]
            if v is not None:
                yield k, v

    def _changed_keys(self, prefix: bytes) -> Iterator[bytes]:
        """The keys of `_changes` under `prefix`, through the index when the prefix is long enough."""
        changes = self._changes
        if len(prefix) < INDEX_PREFIX_BYTES:
            return (k for k in changes if k.startswith(prefix))
        index = self._index
        added = len(changes) - self._indexed
        if added:
            for k in islice(reversed(changes), added):
                bucket = index.get(k[:INDEX_PREFIX_BYTES])
                if bucket is None:
                    index[k[:INDEX_PREFIX_BYTES]] = [k]
                else:
                    bucket.append(k)
            self._indexed = len(changes)
        return (k for k in index.get(prefix[:INDEX_PREFIX_BYTES], ()) if k.startswith(prefix))

    def reader(self) -> StateReader:
        """What reads through this overlay see, by the shortest path: its backend while it holds no write and no
        snapshot (every read would return the backend's value), else the overlay itself. A block executed on a fresh
        view reads its parent state one layer nearer: the view would only keep a second copy of each read."""
        return self._backend if not self._changes and not self._layers else self

    # snapshots ---------------------------------------------------------------------------------
    def begin(self) -> None:
        self._layers.append({})

    def commit(self) -> None:
        top = self._layers.pop()
        (self._layers[-1] if self._layers else self._changes).update(top)

    def rollback(self) -> None:
        self.writes += 1
        self.params_memo.clear()
        self._layers.pop()

    @property
    def depth(self) -> int:
        return len(self._layers)

    def changes(self) -> dict[bytes, bytes | None]:
        """The block's net writes (None = deleted). All snapshots must be closed."""
        if self._layers:
            raise RuntimeError("open storage snapshots at the end of a block")
        return dict(self._changes)

    def run_in_snapshot(self, fn: Callable[[], None]) -> None:
        """Run `fn`: keep its writes if it returns, discard them if it raises (and re-raise)."""
        self.begin()
        try:
            fn()
        except BaseException:
            self.rollback()
            raise
        self.commit()
