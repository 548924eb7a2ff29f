"""The state tree's engine in plain Python: the tree of `storage.smt` held as its top levels and its leaf buckets.

This module defines what the compiled engine (`storage/_tree_native.c`) does, call for call; it runs where no C
compiler is, and tests hold the two to each other and to the tree's definition.

Shape. The tree is cut at depth B (`bucket_bits`): the 2**B subtrees there are *buckets*, each the sorted list of
its leaves (a leaf is a 64-byte record: the key's path, then its value's hash). Above them every position
(depth d < B, or a bucket at depth B) holds its subtree's hash and *kind*: EMPTY (no leaf: ZERO_HASH), LEAF (one
leaf, which the compact tree lifts to the shallowest position where it is alone: its leaf hash) or INTERNAL (two or
more leaves: an internal node, even when one side is empty). A position follows from its two children alone
(`join`), so the root is position 0 and no internal node is stored anywhere: a bucket's nodes are recomputed from
its leaves whenever an update or a proof needs them.

Memory. The top takes 33 bytes a position, 2**(B+1) - 1 of them. A bucket's leaves are *resident* (held here)
while the resident leaves fit the budget; otherwise the bucket is known only by its hash and its leaves are read
through `fetch(bucket_index)` when an update or a proof touches it. Residency is decided when the tree is loaded
(buckets in path order until the budget is full) and kept to the budget after each outermost commit by a clock
sweep that evicts buckets not touched since the hand last passed (an active account's bucket stays).

Transactions. `update` changes the tree in place and records what it replaced in an undo log; `begin` opens a
(nested) transaction, `rollback` undoes everything since the matching `begin`, `commit` keeps it (the outermost
commit forgets the log and evicts). An update outside any transaction is kept at once (evicting nothing). So a block
that turns out invalid, or a rewind to serve an old state, leaves the tree as it was.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Mapping

from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.hashing import HASH_LEN, ZERO_HASH

EMPTY = 0
LEAF = 1
INTERNAL = 2
RECORD_LEN = 2 * HASH_LEN
"""A leaf record: path (32 bytes) then value hash (32 bytes); records sort by path."""
POSITION_LEN = HASH_LEN + 1
"""A position as `positions` gives it: its hash, then its kind."""
MAX_BUCKET_BITS = 24
PATH_BITS = 8 * HASH_LEN

_H32 = hashlib.blake2b(digest_size=HASH_LEN)


def _hash(data: bytes) -> bytes:
    hasher = _H32.copy()
    hasher.update(data)
    return hasher.digest()


def leaf_record_hash(record: bytes) -> bytes:
    """The hash of a leaf record's node: blake2b_256(0x00 ++ path ++ value hash)."""
    return _hash(b"\x00" + record)


def join(left: bytes, left_kind: int, right: bytes, right_kind: int) -> tuple[bytes, int]:
    """A position's (hash, kind) from its children's: fewer than two leaves below is never an internal node."""
    if left_kind == EMPTY:
        if right_kind == EMPTY:
            return ZERO_HASH, EMPTY
        if right_kind == LEAF:
            return right, LEAF
    elif right_kind == EMPTY and left_kind == LEAF:
        return left, LEAF
    return _hash(b"\x01" + left + right), INTERNAL


def check_depth(depth: int, bits: int) -> None:
    """Refuse a level the engine does not hold: `positions` gives depths 0 to the bucket depth."""
    if type(depth) is not int:
        raise TypeError(f"depth must be an int, got {type(depth).__name__}")
    if not 0 <= depth <= bits:
        raise ValueError(f"the tree holds positions at depths 0-{bits} (its bucket_bits), not at depth {depth}")


def bit_at(path: bytes, depth: int) -> int:
    return (path[depth >> 3] >> (7 - (depth & 7))) & 1


def _split(records: list[bytes], depth: int, lo: int, hi: int) -> int:
    """The first record in [lo, hi) whose path has bit `depth` set (records share the bits above it)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if bit_at(records[mid], depth):
            hi = mid
        else:
            lo = mid + 1
    return lo


def subtree(records: list[bytes], depth: int, lo: int, hi: int) -> tuple[bytes, int]:
    """(hash, kind) of the subtree at `depth` holding the sorted records [lo, hi), which share its prefix."""
    n = hi - lo
    if n == 0:
        return ZERO_HASH, EMPTY
    if n == 1:
        return leaf_record_hash(records[lo]), LEAF
    mid = _split(records, depth, lo, hi)
    left = subtree(records, depth + 1, lo, mid)[0]
    right = subtree(records, depth + 1, mid, hi)[0]
    return _hash(b"\x01" + left + right), INTERNAL


def bucket_of(path: bytes, bits: int) -> int:
    """The bucket (the subtree at depth `bits`) a path falls in."""
    return int.from_bytes(path[:4], "big") >> (32 - bits) if bits else 0


class PyTreeEngine:
    """The tree as top levels plus leaf buckets (see the module docstring). One thread at a time."""

    def __init__(self, bucket_bits: int, budget_leaves: int, fetch: Callable[[int], bytes]) -> None:
        if not 0 <= bucket_bits <= MAX_BUCKET_BITS:
            raise ValueError(f"bucket_bits must be 0-{MAX_BUCKET_BITS}, got {bucket_bits}")
        self._bits = bucket_bits
        self._budget = max(0, budget_leaves)
        self._fetch = fetch
        positions = (2 << bucket_bits) - 1
        self._hashes = bytearray(HASH_LEN * positions)
        self._kinds = bytearray(positions)
        self._base = (1 << bucket_bits) - 1
        """Flat index of the first bucket position (depth B)."""
        self._buckets: list[list[bytes] | None] = [[] for _ in range(1 << bucket_bits)]
        """Each bucket's sorted records, or None: not resident (read through `fetch`)."""
        self._refs = bytearray(1 << bucket_bits)
        self._hand = 0
        self._resident = 0
        self._undo: list[tuple[int, bytes, int] | tuple[int, list[bytes] | None]] = []
        """What updates replaced, oldest first: (position, old hash, old kind) or (bucket, old records or None)."""
        self._marks: list[int] = []
        self._loading: tuple[int, list[bytes]] | None = None
        self._loaded_last = b""

    # reading --------------------------------------------------------------------------------------------
    @property
    def bucket_bits(self) -> int:
        return self._bits

    @property
    def root(self) -> bytes:
        return bytes(self._hashes[:HASH_LEN])

    @property
    def depth(self) -> int:
        """Open transactions."""
        return len(self._marks)

    def stats(self) -> dict[str, int]:
        resident = sum(1 for b in self._buckets if b is not None)
        return {
            "bucket_bits": self._bits,
            "buckets": len(self._buckets),
            "resident_buckets": resident,
            "resident_leaves": self._resident,
            "budget_leaves": self._budget,
            "top_bytes": len(self._hashes) + len(self._kinds),
        }

    def positions(self, depth: int) -> bytes:
        """Every position of level `depth` (0 <= depth <= bucket_bits), left to right, each as 33 bytes: its hash,
        then its kind (EMPTY, LEAF, INTERNAL) as held: what a warp-sync server gives as siblings
        (`storage.smt.prefix_siblings`)."""
        check_depth(depth, self._bits)
        count = 1 << depth
        start = count - 1
        out = bytearray(POSITION_LEN * count)
        hashes = self._hashes
        for byte in range(HASH_LEN):  # the 32-byte hashes interleaved with the kind bytes, one column at a time
            out[byte::POSITION_LEN] = hashes[start * HASH_LEN + byte : (start + count) * HASH_LEN : HASH_LEN]
        out[HASH_LEN::POSITION_LEN] = self._kinds[start : start + count]
        return bytes(out)

    def _position(self, flat: int) -> tuple[bytes, int]:
        at = flat * HASH_LEN
        return bytes(self._hashes[at : at + HASH_LEN]), self._kinds[flat]

    def _records(self, bucket: int) -> list[bytes]:
        """A bucket's records, read through `fetch` when not resident (and then not kept: see `update`)."""
        self._refs[bucket] = 1
        records = self._buckets[bucket]
        if records is not None:
            return records
        return self._fetched(bucket)

    def _fetched(self, bucket: int) -> list[bytes]:
        raw = self._fetch(bucket)
        if type(raw) is not bytes or len(raw) % RECORD_LEN:
            raise StorageError(f"state tree bucket {bucket}: leaves are not whole records (database damaged)")
        records = [raw[i : i + RECORD_LEN] for i in range(0, len(raw), RECORD_LEN)]
        for i, rec in enumerate(records):
            if bucket_of(rec, self._bits) != bucket or (i and records[i - 1] >= rec):
                raise StorageError(f"state tree bucket {bucket}: leaves out of place or order (database damaged)")
        return records

    def prove(self, key: bytes) -> tuple[list[bytes], bytes | None]:
        """(siblings from the leaf level up, the leaf record found or None): the path of `key` (see
        `storage.smt.SmtProof`)."""
        if type(key) is not bytes:
            raise TypeError(f"state keys must be bytes, got {type(key).__name__}")
        path = _hash(key)
        siblings: list[bytes] = []
        flat, depth = 0, 0
        while depth < self._bits:
            kind = self._kinds[flat]
            if kind == EMPTY:
                return siblings[::-1], None
            if kind == LEAF:
                return siblings[::-1], self._lone_leaf(flat, depth)
            bit = bit_at(path, depth)
            child = 2 * flat + 1
            siblings.append(self._position(child + 1 - bit)[0])
            flat = child + bit
            depth += 1
        records = self._records(flat - self._base)
        lo, hi = 0, len(records)
        while hi - lo > 1:
            mid = _split(records, depth, lo, hi)
            if bit_at(path, depth):
                siblings.append(subtree(records, depth + 1, lo, mid)[0])
                lo = mid
            else:
                siblings.append(subtree(records, depth + 1, mid, hi)[0])
                hi = mid
            depth += 1
        return siblings[::-1], (records[lo] if hi > lo else None)

    def _lone_leaf(self, flat: int, depth: int) -> bytes:
        """The one leaf under a LEAF position: follow the side that holds it down to its bucket."""
        while depth < self._bits:
            child = 2 * flat + 1
            flat = child if self._kinds[child] == LEAF else child + 1
            depth += 1
        records = self._records(flat - self._base)
        if len(records) != 1:
            raise StorageError("state tree bucket disagrees with the tree above it (database damaged)")
        return records[0]

    # loading --------------------------------------------------------------------------------------------
    def load(self, records: bytes) -> None:
        """Take the next run of leaf records of a whole tree, in ascending path order (before `finish_load`)."""
        if type(records) is not bytes or len(records) % RECORD_LEN:
            raise StorageError("state tree leaves are not whole 64-byte records (database damaged)")
        for at in range(0, len(records), RECORD_LEN):
            rec = records[at : at + RECORD_LEN]
            if rec <= self._loaded_last:
                raise StorageError("state tree leaves out of order (database damaged)")
            self._loaded_last = rec
            bucket = bucket_of(rec, self._bits)
            if self._loading is None or self._loading[0] != bucket:
                self._close_loading()
                self._loading = (bucket, [])
            self._loading[1].append(rec)

    def _close_loading(self) -> None:
        if self._loading is None:
            return
        bucket, records = self._loading
        self._loading = None
        h, kind = subtree(records, self._bits, 0, len(records))
        at = self._base + bucket
        self._hashes[at * HASH_LEN : (at + 1) * HASH_LEN] = h
        self._kinds[at] = kind
        if self._resident + len(records) <= self._budget:
            self._buckets[bucket] = records
            self._resident += len(records)
        else:
            self._buckets[bucket] = None

    def finish_load(self) -> bytes:
        """Compute every position above the buckets; the root."""
        self._close_loading()
        for depth in range(self._bits - 1, -1, -1):
            for flat in range((1 << depth) - 1, (2 << depth) - 1):
                self._recompute(flat)
        return self.root

    def _recompute(self, flat: int) -> bool:
        """Recompute a position from its children; False if it did not change."""
        child = 2 * flat + 1
        h, kind = join(*self._position(child), *self._position(child + 1))
        if kind == self._kinds[flat] and (kind == EMPTY or h == self._position(flat)[0]):
            return False
        self._set_position(flat, h, kind)
        return True

    def _set_position(self, flat: int, h: bytes, kind: int) -> None:
        if self._marks:  # loading is not logged
            self._undo.append((flat, *self._position(flat)))
        self._hashes[flat * HASH_LEN : (flat + 1) * HASH_LEN] = h
        self._kinds[flat] = kind

    # updating -------------------------------------------------------------------------------------------
    def begin(self) -> None:
        self._marks.append(len(self._undo))

    def commit(self) -> None:
        """Keep the innermost transaction's changes; the outermost commit also puts the held leaves back within the
        budget, so call it only once the store holds every change made so far (evicted buckets are read back)."""
        if not self._marks:
            raise RuntimeError("commit without a transaction")
        self._release()
        if not self._marks:
            self._evict()

    def _release(self) -> None:
        self._marks.pop()
        if not self._marks:
            self._undo.clear()

    def rollback(self) -> None:
        if not self._marks:
            raise RuntimeError("rollback without a transaction")
        mark = self._marks.pop()
        undo = self._undo
        while len(undo) > mark:
            entry = undo.pop()
            if len(entry) == 3:
                flat, old_hash, old_kind = entry
                self._hashes[flat * HASH_LEN : (flat + 1) * HASH_LEN] = old_hash
                self._kinds[flat] = old_kind
            else:
                bucket, old = entry
                current = self._buckets[bucket]
                self._resident += (len(old) if old is not None else 0) - (len(current) if current is not None else 0)
                self._buckets[bucket] = old

    def update(self, changes: Mapping[bytes, bytes | None]) -> bytes:
        """Apply key -> value changes (None: delete); the new root. Deleting an absent key or setting a key to its
        value changes nothing. A bucket read through `fetch` is resident from then on (the clock sweep at the
        outermost commit puts the leaves back within the budget)."""
        entries: list[tuple[bytes, bytes | None]] = []
        for key, value in changes.items():
            if type(key) is not bytes:
                raise TypeError(f"state keys must be bytes, got {type(key).__name__}")
            if value is not None and type(value) is not bytes:
                raise TypeError(f"state values must be bytes or None, got {type(value).__name__}")
            entries.append((_hash(key), None if value is None else _hash(value)))
        if not entries:
            return self.root
        entries.sort(key=_path_of)
        self.begin()  # a failed update changes nothing, inside a transaction or not
        try:
            changed: list[int] = []
            i = 0
            while i < len(entries):
                bucket = bucket_of(entries[i][0], self._bits)
                j = i + 1
                while j < len(entries) and bucket_of(entries[j][0], self._bits) == bucket:
                    j += 1
                if self._update_bucket(bucket, entries[i:j]):
                    changed.append(self._base + bucket)
                i = j
            for _ in range(self._bits):
                parents: list[int] = []
                for flat in changed:
                    parent = (flat - 1) >> 1
                    if (not parents or parents[-1] != parent) and self._recompute(parent):
                        parents.append(parent)
                changed = parents
        except BaseException:
            self.rollback()
            raise
        self._release()  # evicts nothing: the store may not hold these changes yet
        return self.root

    def _update_bucket(self, bucket: int, entries: list[tuple[bytes, bytes | None]]) -> bool:
        """Merge sorted changes into a bucket; True if its position changed."""
        old = self._records(bucket)
        records = list(old)
        for path, value_hash in entries:
            at = bisect_left(records, path)
            present = at < len(records) and records[at][:HASH_LEN] == path
            if value_hash is None:
                if present:
                    del records[at]
            elif present:
                records[at] = path + value_hash
            else:
                records.insert(at, path + value_hash)
        if records == old:
            return False
        self._undo.append((bucket, self._buckets[bucket]))
        self._resident += len(records) - (len(old) if self._buckets[bucket] is not None else 0)
        self._buckets[bucket] = records
        h, kind = subtree(records, self._bits, 0, len(records))
        flat = self._base + bucket
        if kind == self._kinds[flat] and (kind == EMPTY or h == self._position(flat)[0]):
            return False
        self._set_position(flat, h, kind)
        return True

    def _evict(self) -> None:
        """Clock sweep: evict resident buckets not touched since the hand last passed until the budget holds."""
        n = len(self._buckets)
        passes = 0
        while self._resident > self._budget and passes < 2 * n:
            bucket = self._hand
            self._hand = (bucket + 1) % n
            passes += 1
            records = self._buckets[bucket]
            if not records:
                continue
            if self._refs[bucket]:
                self._refs[bucket] = 0
                continue
            self._resident -= len(records)
            self._buckets[bucket] = None


def _path_of(entry: tuple[bytes, bytes | None]) -> bytes:
    return entry[0]
