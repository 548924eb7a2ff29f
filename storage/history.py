"""Read-only state at a recent canonical block: the flat head state seen through the undo journals of the blocks
above it (issue 15). Nothing is written; the cost of opening a view grows with the distance from the head (one
journal per block), never with the size of the state.

The undo journal of block X holds, for every key X changed, its value in X's parent state (None: absent). So the
state after block B is the head state with the journals of head, head-1, ..., B+1 laid over it, the older journal
winning where two name the same key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from btt_chain.primitives.errors import StorageError
from storage.chaindb import ChainDB
from storage.kv import in_range


class HistoryTooFar(StorageError):
    """A view would gather more changed keys than its bound: what it read before it stopped."""

    def __init__(self, number: int, blocks_read: int, keys: int, bound: int) -> None:
        super().__init__(f"the state of block #{number} is more than {bound:,} changed keys back from the head "
                         f"({keys:,} in the {blocks_read} newest blocks already)")
        self.keys = keys
        self.bound = bound
        self.blocks_read = blocks_read


class HistoricalState:
    """A StateReader of the state after canonical block `number`, given the head's number; valid as long as the
    head does not move (RPC reads it on the thread that owns the chain, within one call)."""

    def __init__(self, db: ChainDB, head_number: int, number: int, max_keys: int | None = None) -> None:
        """`max_keys`: refuse (HistoryTooFar) as soon as the keys changed since pass it, having read no further."""
        if not 0 <= number <= head_number:
            raise ValueError(f"block #{number} is not at or below the head #{head_number}")
        self._db = db
        self._older: dict[bytes, bytes | None] = {}
        for n in range(head_number, number, -1):
            h = db.canonical_hash(n)
            if h is None:
                raise StorageError(f"canonical block #{n} missing from the database")
            self._older.update(db.undo(h))
            if max_keys is not None and len(self._older) > max_keys:
                raise HistoryTooFar(number, head_number - n + 1, len(self._older), max_keys)

    @property
    def changes_from_head(self) -> dict[bytes, bytes | None]:
        """What turns the head state into this one: every key changed since, with its value here (None: absent).
        The state tree rewinds by it (`StateTree.rewound`)."""
        return self._older

    def get(self, key: bytes) -> bytes | None:
        if key in self._older:
            return self._older[key]
        return self._db.state.get(key)

    def get_values(self, keys: Sequence[bytes]) -> list[bytes | None]:
        """Each key's value as `get` gives it, in order: the head's read in bulk (`FlatState.get_values`) for the keys
        not changed since."""
        older = self._older
        rest = [k for k in keys if k not in older]
        found = dict(zip(rest, self._db.state.get_values(rest), strict=True))
        return [older[k] if k in older else found[k] for k in keys]

    def iterate(
        self, prefix: bytes, reverse: bool = False, start: bytes | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        """Key-ordered (key, value) pairs under `prefix` at the block (descending if `reverse`; from `start` on):
        keys created since are left out, keys deleted since come back."""
        changed = sorted(
            ((k, v) for k, v in self._older.items() if k.startswith(prefix) and in_range(k, reverse, start)),
            reverse=reverse,
        )
        i = 0
        for k, v in self._db.state.iterate(prefix, reverse, start):
            while i < len(changed) and (changed[i][0] > k if reverse else changed[i][0] < k):
                old_k, old_v = changed[i]
                i += 1
                if old_v is not None:
                    yield old_k, old_v
            if i < len(changed) and changed[i][0] == k:
                old_v = changed[i][1]
                i += 1
                if old_v is not None:
                    yield k, old_v
                continue
            yield k, v
        for old_k, old_v in changed[i:]:
            if old_v is not None:
                yield old_k, old_v
