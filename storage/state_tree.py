"""The live state tree: the sparse Merkle tree of `storage.smt` over the head state of a chain database.

What is stored: one entry per state key, `l:` + the key's path -> its value's hash (`schema.TREE_LEAF`), written in
the same atomic batch as the flat state, so the leaves always match the head state. No internal node is stored: the
tree above the leaves lives in memory (`storage.tree_engine` describes the shape) and is computed from the leaves
when the database is opened, which reads them once in path order (about a second per million keys).

What is in memory: every position of the tree's top B levels (33 bytes each, 2**(B+1) of them, where a bucket at
depth B holds about LEAVES_PER_BUCKET leaves), and the leaves of as many buckets as `budget_leaves` allows (64 bytes
each). A bucket that is not resident is read from the database when an update or a proof touches it: one seek and a
few leaves. So an update costs, per changed key, about log2(keys) - log2(LEAVES_PER_BUCKET) hashes up the top plus the
rebuild of its bucket, and, for a bucket not held, one read: the cost grows with the log of the state, and memory
with the budget.

History: the tree is the head's. A block on a branch, a reorganisation, a check of an old block or a proof at an old
block change it inside a transaction (`transaction`, `rewound`) that is undone unless committed, so the tree at any
served block is the head's with the keys changed since set back (the undo journals give them).
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any, Protocol

from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.gc_pause import release_free_memory
from btt_chain.primitives.hashing import HASH_LEN, blake2b_256
from storage import schema
from storage.kv import KeyValueStore
from storage.smt import SmtProof
from storage.tree_engine import RECORD_LEN, PyTreeEngine

try:  # the engine compiled (storage/_tree_native.c): the same tree, a fraction of the CPU and memory
    from storage import _tree_native as _native  # type: ignore[attr-defined]
except ImportError:  # built without a C compiler: the Python engine, which defines what the compiled one does
    _native = None

log = logging.getLogger("btt.tree")

NATIVE_ENGINE = _native is not None
"""Whether the tree runs compiled (`btt-chain bench import` prints it as `state_tree_engine`)."""
LEAVES_PER_BUCKET = 1
"""The bucket depth is chosen so that a bucket holds from one to two times this many leaves on average (fewer
leaves a bucket: fewer hashes to rebuild one, more positions above them)."""
BUCKET_BITS_CAP = 21
"""The deepest buckets: 2**22 positions, 138 MB of top, from ~4 million keys on (about 5 leaves a bucket at ten
million)."""
TREE_LEAF_BUDGET = 12_000_000
"""Leaves held in memory (64 bytes each, ~0.8 GB with their buckets' bookkeeping): all of them up to twelve million
keys. Past it, the buckets an update touches are read from the database (one seek each)."""
LOAD_CHUNK = 65_536
OPEN_SECTION_CHUNKS = 16
"""Chunks of leaves (about a million leaves) an open reads from one scan before it lets memory go (`open`)."""
OPEN_MAPPED_BUDGET = 256 * 2**20
"""Mapped table pages an open lets the process hold between its sections."""
RELEASE_AFTER_LEAVES = 100_000
"""An open that read at least this many leaves asks the store to drop its mapped table pages afterwards (`open`);
a small state's reopen would cost more (a few ms) than the pages it frees."""
"""Leaf records read from the database per engine call when a tree is opened."""


class Engine(Protocol):
    """What storage.tree_engine.PyTreeEngine and storage._tree_native.TreeEngine both offer."""

    @property
    def root(self) -> bytes: ...
    @property
    def bucket_bits(self) -> int: ...
    @property
    def depth(self) -> int: ...
    def load(self, records: bytes) -> None: ...
    def finish_load(self) -> bytes: ...
    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def update(self, changes: dict[bytes, bytes | None]) -> bytes: ...
    def prove(self, key: bytes) -> tuple[list[bytes], bytes | None]: ...
    def positions(self, depth: int) -> bytes: ...
    def stats(self) -> dict[str, int]: ...


def choose_bucket_bits(leaves: int) -> int:
    """The bucket depth for a tree of `leaves` keys (see LEAVES_PER_BUCKET)."""
    bits = 0
    while bits < BUCKET_BITS_CAP and (leaves >> (bits + 1)) >= LEAVES_PER_BUCKET:
        bits += 1
    return bits


def estimate_leaves(first: bytes, complete: bool) -> int:
    """How many leaves a tree holds, from its first records in path order: exact when they are all of them, else
    from how far into the path space they reach (paths are hashes, spread evenly; the estimate only sizes the top)."""
    n = len(first) // RECORD_LEN
    if complete or n == 0:
        return n
    reach = int.from_bytes(first[(n - 1) * RECORD_LEN : (n - 1) * RECORD_LEN + HASH_LEN], "big") + 1
    return min(1 << 40, n * (1 << (8 * HASH_LEN)) // reach)


def leaf_records(state: Mapping[bytes, bytes]) -> bytes:
    """The sorted 64-byte leaf records (path, value hash) of a whole state: what a tree is loaded from."""
    if _native is not None and type(state) is dict:
        records: bytes = _native.leaf_records(state)
        return records
    pairs = []
    for key, value in state.items():
        if type(key) is not bytes or type(value) is not bytes:
            raise TypeError("state keys and values must be bytes")
        pairs.append(blake2b_256(key) + blake2b_256(value))
    pairs.sort()
    return b"".join(pairs)


def put_leaves(puts: dict[bytes, bytes], deletes: list[bytes], changes: Mapping[bytes, bytes | None]) -> None:
    """A commit's leaf entries: puts[l: + path] = value hash for every set key, l: + path into deletes for every
    deleted one."""
    if _native is not None and type(changes) is dict:
        _native.put_leaves(puts, deletes, schema.TREE_LEAF, changes)
        return
    for key, value in changes.items():
        if value is None:
            deletes.append(schema.tree_leaf_key(blake2b_256(key)))
        else:
            puts[schema.tree_leaf_key(blake2b_256(key))] = blake2b_256(value)


def tree_key_chunks(state: Mapping[bytes, object], size: int) -> Iterator[dict[bytes, bytes]]:
    """The `k:` entries of every key of `state` ({k: + path: key}, `schema.TREE_KEY`) in path order, in chunks of
    `size`: what a whole state's key index is written from."""
    if _native is not None and type(state) is dict:
        entries, keys = _native.tree_keys(schema.TREE_KEY, state)
    else:
        pairs = []
        for key in state:
            if type(key) is not bytes:
                raise TypeError("state keys must be bytes")
            pairs.append((blake2b_256(key), key))
        pairs.sort()
        entries = [schema.tree_key_key(path) for path, _ in pairs]
        keys = [key for _, key in pairs]
    for at in range(0, len(entries), size):
        yield dict(zip(entries[at : at + size], keys[at : at + size], strict=True))


def tree_root(records: bytes) -> bytes:
    """The root of the tree of a whole state's sorted leaf records (`leaf_records`)."""
    engine = make_engine(choose_bucket_bits(len(records) // RECORD_LEN), 0, _no_fetch)
    engine.load(records)
    return engine.finish_load()


def _no_fetch(bucket: int) -> bytes:
    raise StorageError(f"state tree bucket {bucket} read from a tree that has no database")


def make_engine(bits: int, budget: int, fetch: Callable[[int], bytes], native: bool | None = None) -> Engine:
    """An engine: compiled unless `native` is False (or it is not built; `native=True` then raises)."""
    if native and _native is None:
        raise StorageError("the compiled state tree is not built (reinstall with a C compiler)")
    if _native is not None and native is not False:
        engine: Engine = _native.TreeEngine(bits, budget, fetch)
        return engine
    return PyTreeEngine(bits, budget, fetch)


@dataclass
class Transaction:
    """An open change of the tree: undone when its block ends unless `commit` was called."""

    committed: bool = False

    def commit(self) -> None:
        self.committed = True


class StateTree:
    """The head state's tree over a database's `l:` leaves (see the module docstring). One thread at a time: the
    chain's."""

    def __init__(self, kv: KeyValueStore, budget_leaves: int = TREE_LEAF_BUDGET, native: bool | None = None) -> None:
        self._kv = kv
        self._budget = budget_leaves
        self._native = native
        self.last_update_s = 0.0
        """How long the last `start_update` took on the tree's thread (benchmarks: the state-root stage)."""
        self._worker: concurrent.futures.ThreadPoolExecutor | None = None
        self._running: concurrent.futures.Future[bytes] | None = None
        self._engine: Engine = make_engine(0, budget_leaves, self._fetch, native)
        self._engine.finish_load()

    # opening ----------------------------------------------------------------------------------------------
    def open(self, expected_root: bytes) -> int:
        """Compute the tree from the database's leaves; StorageError unless its root is `expected_root` (the head's
        state root), the tree then left as it was. Returns how many leaves were read."""
        self._refuse_reload()
        n = len(schema.TREE_LEAF)
        release_over = getattr(self._kv, "release_mapped_pages_over", None)

        def chunks() -> Iterator[bytes]:
            # read in sections of OPEN_SECTION_CHUNKS chunks, each from a scan of its own: between two, the store
            # may drop the table pages the last one mapped and the C heap what its short-lived objects freed, so
            # that opening ten million leaves does not hold them all at once (peak memory)
            start: bytes | None = None
            while True:
                records = self._kv.iterate(schema.TREE_LEAF, start=start)
                try:
                    for _ in range(OPEN_SECTION_CHUNKS):
                        chunk = list(islice(records, LOAD_CHUNK))
                        if not chunk:
                            return
                        for key, value in chunk:
                            if len(key) != n + HASH_LEN or len(value) != HASH_LEN:
                                raise StorageError("a state tree leaf is malformed: database damaged")
                        start = chunk[-1][0] + b"\x00"
                        yield b"".join(key[n:] + value for key, value in chunk)
                finally:
                    close = getattr(records, "close", None)
                    if close is not None:
                        close()
                if release_over is not None:
                    release_over(OPEN_MAPPED_BUDGET)
                    release_free_memory()

        it = chunks()
        first = next(it, b"")
        engine, count = self._load(first, it, estimate_leaves(first, len(first) < LOAD_CHUNK * RECORD_LEN))
        if engine.root != expected_root:  # refused: the tree stays what it was
            raise StorageError(
                f"the state tree's {count} leaves give root 0x{engine.root.hex()} but the head's state root is "
                f"0x{expected_root.hex()}: database damaged"
            )
        self._engine = engine
        # the scan mapped every leaf table's pages into the process (LevelDB reads its tables through mmap): the
        # store drops the mappings (`LevelDBStore.release_mapped_pages`), so that RSS is the node's own memory and
        # what the blocks read, not a copy of every leaf (~1 GB at 10 million accounts)
        release = getattr(self._kv, "release_mapped_pages", None)
        if release is not None and count >= RELEASE_AFTER_LEAVES:
            release()
        return count

    def load_records(self, records: bytes) -> bytes:
        """Compute the tree from a whole state's sorted leaf records (`leaf_records`); the root."""
        self._refuse_reload()
        self._engine = self._load(records, iter(()), len(records) // RECORD_LEN)[0]
        return self.root

    def _refuse_reload(self) -> None:
        """A tree is computed afresh only when nothing is changing it: no update running, no transaction open."""
        self._idle()
        if self._engine.depth:
            raise RuntimeError("the state tree cannot be reloaded inside a transaction")

    def _load(self, first: bytes, rest: Iterator[bytes], estimate: int) -> tuple[Engine, int]:
        """A new engine computed from leaf records (not installed) and how many it took."""
        engine = make_engine(choose_bucket_bits(estimate), self._budget, self._fetch, self._native)
        count = 0
        # one chunk at a time as the scan gives it (`(first, *rest)` read every chunk before loading any: at ten
        # million leaves 640 MB of records held beside the tree, and the C heap they were freed into kept)
        for chunk in chain((first,), rest) if first else ():
            engine.load(chunk)
            count += len(chunk) // RECORD_LEN
        engine.finish_load()
        return engine, count

    def _fetch(self, bucket: int) -> bytes:
        """A bucket's leaf records from the database (a bucket that is not held in memory)."""
        bits = self._engine.bucket_bits
        shift = 8 * HASH_LEN - bits
        start = (bucket << shift).to_bytes(HASH_LEN, "big")
        end = ((bucket + 1) << shift).to_bytes(HASH_LEN + 1, "big")[1:] if bucket + 1 < (1 << bits) else None
        n = len(schema.TREE_LEAF)
        out = []
        for key, value in self._kv.iterate(schema.TREE_LEAF, start=schema.TREE_LEAF + start):
            path = key[n:]
            if end is not None and path >= end:
                break
            if len(path) != HASH_LEN or len(value) != HASH_LEN:
                raise StorageError("a state tree leaf is malformed: database damaged")
            out.append(path + value)
        return b"".join(out)

    # reading ----------------------------------------------------------------------------------------------
    @property
    def root(self) -> bytes:
        self._idle()
        return self._engine.root

    @property
    def native(self) -> bool:
        return not isinstance(self._engine, PyTreeEngine)

    def stats(self) -> dict[str, Any]:
        """Sizes for benchmarks and metrics: bucket depth, buckets and leaves held, budget, bytes of the top."""
        return {**self._engine.stats(), "engine": "native" if self.native else "python"}

    def memory_bytes(self) -> int:
        """About what the tree holds in memory: its top levels and the resident leaves."""
        stats = self._engine.stats()
        return stats["top_bytes"] + stats["resident_leaves"] * RECORD_LEN

    @property
    def bucket_bits(self) -> int:
        """The depth of the tree's buckets: `positions` reads levels 0 to it."""
        self._idle()
        return self._engine.bucket_bits

    def positions(self, depth: int) -> bytes:
        """Every position of level `depth` (0 <= depth <= bucket_bits, else ValueError) of the tree as it stands (the
        head's, or an older state's inside `rewound`), left to right, 33 bytes each: the hash, then the kind (0 empty,
        1 a lone leaf, 2 internal). The siblings of a warp-sync chunk come from these (`storage.smt.prefix_siblings`).
        Reads memory only: 33 * 2**depth bytes."""
        self._idle()
        return self._engine.positions(depth)

    def prove(self, key: bytes) -> SmtProof:
        """A proof of `key`'s value (or absence) under the current root; check it with `storage.smt.verify_proof`."""
        self._idle()
        siblings, leaf = self._engine.prove(key)
        return SmtProof(tuple(siblings), None if leaf is None else (leaf[:HASH_LEN], leaf[HASH_LEN:]))

    def put_leaves(self, puts: dict[bytes, bytes], deletes: list[bytes], changes: Mapping[bytes, bytes | None]) -> None:
        """The module's `put_leaves` for a commit of `changes`: the compiled engine takes the leaf records of its last
        update where a change is the very same key and value objects (a block's changes, laid on a view in their
        order) instead of hashing them again. An update still running on the tree's thread is waited for (not its
        result: its caller takes that, and any error, from the future `start_update` gave)."""
        running = self._running
        if running is not None:
            concurrent.futures.wait([running])
        self._idle()
        engine_put = getattr(self._engine, "put_leaves", None)
        if engine_put is not None and type(changes) is dict:
            engine_put(puts, deletes, schema.TREE_LEAF, changes)
        else:
            put_leaves(puts, deletes, changes)

    # changing ---------------------------------------------------------------------------------------------
    def update(self, changes: Mapping[bytes, bytes | None]) -> bytes:
        """Apply key -> value changes (None: delete) inside a `transaction` and return the new root. A failed update
        changes nothing."""
        self._idle()
        if not self._engine.depth:
            raise RuntimeError("state tree updates run inside a transaction (commit once the block is written)")
        return self._engine.update(changes if type(changes) is dict else dict(changes))

    def start_update(self, changes: Mapping[bytes, bytes | None]) -> concurrent.futures.Future[bytes]:
        """`update` on a thread of the tree's own, for the caller to do other work meanwhile: the compiled engine
        hashes without holding the GIL, so the block's event records and journals are built beside its state root.
        Nothing else may touch the tree until `result()` has returned (it raises what `update` would)."""
        self._idle()
        if not self._engine.depth:
            raise RuntimeError("state tree updates run inside a transaction (commit once the block is written)")
        if self._worker is None:
            self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="state-tree")
        self._running = self._worker.submit(self._timed_update, changes if type(changes) is dict else dict(changes))
        return self._running

    def _timed_update(self, changes: dict[bytes, bytes | None]) -> bytes:
        started = time.perf_counter()
        try:
            return self._engine.update(changes)
        finally:
            self.last_update_s = time.perf_counter() - started

    def _idle(self) -> None:
        """Refuse to touch the engine while an update started by `start_update` has not been waited for."""
        running = self._running
        if running is not None:
            if not running.done():
                raise RuntimeError("the state tree is being updated: wait for start_update's result first")
            self._running = None

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Changes made inside are undone at the end unless `commit()` was called (nested transactions fold into
        the one around them). Commit only once what the changes stand for is written to the database: leaves of
        buckets not held in memory are read back from it."""
        self._idle()
        engine = self._engine
        engine.begin()
        tx = Transaction()
        try:
            yield tx
        except BaseException:
            self._wait_quietly()
            engine.rollback()
            raise
        if self._running is not None and not self._running.done():
            self._wait_quietly()
            engine.rollback()
            raise RuntimeError("a transaction ended while its state tree update ran: wait for the result first")
        self._idle()
        if tx.committed:
            engine.commit()
        else:
            engine.rollback()

    def _wait_quietly(self) -> None:
        """Let an update still running end before undoing (its own error, if any, is the caller's already)."""
        running, self._running = self._running, None
        if running is not None:
            concurrent.futures.wait([running])

    @contextmanager
    def rewound(self, changes: Mapping[bytes, bytes | None]) -> Iterator[bytes]:
        """The tree with `changes` applied (an older state: the head's values of the keys changed since, from the
        undo journals), for as long as the block runs; always undone. Yields the root. Costs about what applying
        a block with that many changes costs."""
        with self.transaction():
            yield self.update(changes)
