"""The chain database: blocks (canonical and side), canonical index, head and finality pointers, flat
state with the state tree's leaves and the index of its keys by path beside it, per-block undo and redo journals for
reorganisations, and per executed block the validator set that votes for it as a checkpoint (content-addressed
records).

Everything one chain update changes (new head, reverted and applied blocks, state) is written in one
atomic batch by `apply_update`, so a crash at any moment leaves the database at the last committed head.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack

from btt_chain.primitives.block import Block, Header
from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.hashing import blake2b_256
from storage import schema
from storage.block_body import BlockBody
from storage.block_meta import BlockMeta, BlockSummary, MetaView, stored_event_count
from storage.kv import KeyValueStore
from storage.record_pack import pack_journal
from storage.state_tree import leaf_records, put_leaves, tree_key_chunks
from storage.tree_engine import RECORD_LEN

__all__ = ["BlockBody", "BlockMeta", "BlockSummary", "ChainDB", "ChainUpdate", "ExecutedBlock", "FlatState", "MetaView"]

Changes = Mapping[bytes, bytes | None]
_ABSENT = object()


@dataclass(frozen=True)
class ExecutedBlock:
    """A block executed for the first time in this update: its journals are stored with it."""

    block: Block
    meta: BlockMeta
    undo: Changes
    """Old values (None: absent) of every key the block changed, relative to its parent's state."""
    voter_set_hash: bytes | None = None
    """Hash of the validator set queued in the block's post-state (it votes for the block as a checkpoint)."""
    voter_set: bytes | None = None
    """That set's encoded record, when it may not be stored yet (None: an earlier block stored it)."""


@dataclass
class ChainUpdate:
    """One atomic change of the canonical chain: retract blocks down to a common ancestor, enact a branch."""

    head: Header
    head_hash: bytes
    state_changes: dict[bytes, bytes | None]
    """Net change of the flat state from the old head to the new head."""
    enacted: list[Block] = field(default_factory=list)
    """New canonical blocks, ancestor first."""
    retracted: list[Block] = field(default_factory=list)
    """Blocks that leave the canonical chain, old head first."""
    executed: list[ExecutedBlock] = field(default_factory=list)
    retracted_redo: Mapping[bytes, Changes] = field(default_factory=dict)
    """By block hash, the redo journal (new values of every key it changed) of each retracted block: written as the
    block leaves the canonical chain, so that it can be enacted again without executing it (a canonical block's
    changes are in the flat state and the undo journals above it; no redo is written while it is canonical)."""


@dataclass(frozen=True)
class PreparedUpdate:
    """A chain update's batch, built and not yet written (`ChainDB.prepare_update`)."""

    update: ChainUpdate
    puts: dict[bytes, bytes]
    deletes: list[bytes]


def encode_journal(changes: Changes) -> bytes:
    """[[key, present, value or b""], ...] as msgpack (compiled where built: storage/record_pack.py)."""
    return pack_journal(changes)


def decode_journal(raw: bytes) -> dict[bytes, bytes | None]:
    return {k: (v if present else None) for k, present, v in msgpack.unpackb(raw, raw=False)}


try:  # the commit's loops compiled (storage/_commit_native.c): the same results, tests/storage/test_commit_native.py
    from storage import _commit_native  # type: ignore[attr-defined]
except ImportError:  # not built: the loops below
    _commit_native = None

STATE_CACHE_ENTRIES = 250_000
"""Flat-state reads the node remembers, absences included (~50 MB at most): a block's senders and receivers and
the lock and stake records they do not have are read again by the next blocks, and a read from memory costs
~0.05 us against ~2-4 us from LevelDB (more while it compacts)."""


class FlatState:
    """The runtime's StateReader over the flat state at the head block, with a read cache that every state change
    goes through (ChainDB.apply_update is the only writer of state keys after genesis).

    The cache is two generations of at most half the entries each: reads go into the young one, and when it is
    full it becomes the old one and the one before is dropped; a read found in the old generation moves back to
    the young one. What the blocks keep reading (the active accounts) stays, with no bookkeeping per hit and no
    block that finds the whole cache emptied at once."""

    def __init__(self, kv: KeyValueStore, cache_entries: int = STATE_CACHE_ENTRIES) -> None:
        self._kv = kv
        self._cache: dict[bytes, bytes | None] = {}
        self._old: dict[bytes, bytes | None] = {}
        self._half = max(1, cache_entries // 2)
        self._read_ahead: Callable[[Iterable[bytes]], int] | None = getattr(kv, "read_ahead", None)
        """The store's read-ahead (LevelDBStore.read_ahead), where it has one."""

    def read_ahead(self, keys: Iterable[bytes]) -> int:
        """Begin reading, on a thread of the store's, the state keys among `keys` that the cache lacks, in their
        order (a block's, before it executes: its signers' and recipients' accounts); how many (0 where the store
        reads none ahead). `get` takes a value read ahead only after the cache and the store's batch still landing,
        and the store ends the read-ahead at its next write, so every value is what `get` would read itself."""
        start = self._read_ahead
        if start is None:
            return 0
        cache, old, prefix = self._cache, self._old, schema.STATE
        return start([prefix + k for k in keys if k not in cache and k not in old])  # the store drops repeats

    def end_read_ahead(self) -> None:
        """Stop the store's read-ahead, if one runs (after a block's execution: it would read nothing more of use)."""
        end = getattr(self._kv, "end_read_ahead", None)
        if end is not None:
            end()

    def get(self, key: bytes) -> bytes | None:
        value = self._cache.get(key, _ABSENT)
        if value is _ABSENT:
            value = self._old.pop(key, _ABSENT)
            if value is _ABSENT:
                value = self._kv.get(schema.STATE + key)
            cache = self._cache
            if len(cache) >= self._half:
                self._old = cache
                self._cache = cache = {}
            cache[key] = value  # type: ignore[assignment]
        return value  # type: ignore[return-value]

    def get_values(self, keys: Sequence[bytes]) -> list[bytes | None]:
        """Each key's value as `get` gives it, in order, without keeping what it reads in the cache: a bulk read of
        keys the blocks are not likely to read (the warp server's chunks, scattered over the whole state), through the
        store's `get_values` where it has one (LevelDB: two threads reading)."""
        cache, old = self._cache, self._old
        out: list[Any] = [cache.get(k, _ABSENT) for k in keys]
        out = [old.get(k, _ABSENT) if v is _ABSENT else v for k, v in zip(keys, out, strict=True)]
        missing = [i for i, v in enumerate(out) if v is _ABSENT]
        bulk = getattr(self._kv, "get_values", None)
        full = [schema.STATE + keys[i] for i in missing]
        read = bulk(full) if bulk is not None else [self._kv.get(k) for k in full]
        for i, value in zip(missing, read, strict=True):
            out[i] = value
        return out

    def get_many(self, keys: Iterable[bytes]) -> dict[bytes, bytes | None]:
        """{key: get(key)} for each of `keys`, in their order (a block's undo journal: its keys were mostly read by
        the block, so they are mostly in the cache, looked up here without a call each)."""
        if _commit_native is not None:
            return _commit_native.get_many(self, keys, self.get)  # type: ignore[no-any-return]
        cache = self._cache
        out: dict[bytes, bytes | None] = {}
        for key in keys:
            value = cache.get(key, _ABSENT)
            if value is _ABSENT:
                value = self.get(key)
                cache = self._cache  # `get` may have begun a new generation
            out[key] = value  # type: ignore[assignment]
        return out

    def ahead_reads(self) -> tuple[Any, Any, bytes, dict[bytes, bytes | None], int] | None:
        """For a compiled reader that looks a key up in `read_cache` first: (the store's read-ahead under way, the
        capsule of its compiled lookup, the store's prefix of a state key, the older cache generation, a generation's
        size), or None if no read-ahead runs. What `get` does for a key in neither generation while the young one
        (`read_cache`) has fewer than the size: the read-ahead's answer for prefix ++ key (it reads a key it has not
        reached at once), kept in the young generation. Any other key, or one the read-ahead cannot answer, goes to
        `get` itself. Valid until the next `changed`, `read_ahead` or write; with no `get` of a full young generation
        meanwhile (it rotates them)."""
        reads_ahead = getattr(self._kv, "reads_ahead", None)
        found = None if reads_ahead is None else reads_ahead(schema.STATE)
        if found is None:
            return None
        ahead, api = found
        return ahead, api, schema.STATE, self._old, self._half

    def read_cache(self) -> dict[bytes, bytes | None]:
        """Values `get` has cached, as it would return them (None: no value), until the next `changed` or `forget`:
        a reader that looks a key up here first and calls `get` for the rest reads what `get` alone would (the
        compiled transfer runs, runtime/transfer_native.py). A key missing here may still be cached elsewhere."""
        return self._cache

    def changed(self, changes: Mapping[bytes, bytes | None]) -> None:
        """Keep the cache true to a state change being written (None: deleted)."""
        cache = self._cache
        old = self._old
        for key, value in changes.items():
            if key in cache:
                cache[key] = value
            elif key in old:
                old[key] = value

    def appearing(self, changes: Mapping[bytes, bytes | None]) -> tuple[list[bytes], list[bytes]]:
        """The keys a state change not yet written adds to the state, and those it takes away (None: deleted); a key
        whose value changes is in neither. Read through the cache: one dict lookup a key the blocks have read."""
        if _commit_native is not None and type(changes) is dict:
            return _commit_native.appearing(self, changes, self.get)  # type: ignore[no-any-return]
        cache, old = self._cache, self._old
        added: list[bytes] = []
        removed: list[bytes] = []
        for key, value in changes.items():
            before = cache.get(key, _ABSENT)
            if before is _ABSENT:
                before = old.get(key, _ABSENT)
                if before is _ABSENT:
                    before = self.get(key)
            if value is None:
                if before is not None:
                    removed.append(key)
            elif before is None:
                added.append(key)
        return added, removed

    def cached(self) -> int:
        return len(self._cache) + len(self._old)

    def is_cached(self, key: bytes) -> bool:
        return key in self._cache or key in self._old

    def forget(self) -> None:
        self._cache.clear()
        self._old.clear()

    def iterate(
        self, prefix: bytes, reverse: bool = False, start: bytes | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        """Key-ordered (key, value) pairs under `prefix` (descending if `reverse`; from `start` on, by a seek)."""
        n = len(schema.STATE)
        seek = None if start is None else schema.STATE + start
        for k, v in self._kv.iterate(schema.STATE + prefix, reverse, seek):
            yield k[n:], v


COMPACT_AFTER_ENTRIES = 100_000
"""A genesis write larger than this is compacted at once, so that a restart does not replay it from the log."""
GENESIS_BATCH_ENTRIES = 100_000
"""A genesis with more state entries, tree leaves and key-index entries than this is written in batches of this
many."""


def _key_ordered(entries: Mapping[bytes, bytes], prefix: bytes, size: int) -> Iterator[dict[bytes, bytes]]:
    """{prefix + key: value} in chunks of about `size`, each chunk's keys above the last one's."""
    keys = sorted(entries)
    for at in range(0, len(keys), size):
        part = keys[at : at + size]
        yield dict(zip(map(prefix.__add__, part), map(entries.__getitem__, part), strict=True))


def _leaf_chunks(records: bytes, size: int) -> Iterator[dict[bytes, bytes]]:
    """Sorted leaf records as {l: + path: value hash} in chunks of `size`, in key order."""
    prefix = schema.TREE_LEAF
    for at in range(0, len(records), size * RECORD_LEN):
        part = records[at : at + size * RECORD_LEN]
        yield {prefix + part[i : i + 32]: part[i + 32 : i + RECORD_LEN] for i in range(0, len(part), RECORD_LEN)}


META_CACHE_ENTRIES = 32
META_CACHE_BYTES = 64 * 1024 * 1024
"""Decoded block metas (`MetaView`s) the database keeps, most recently read first, at most this many and this many
bytes together: paging through one full block (2.4 MB of events) reads it from the store once, and a meta written
before the indexes existed is indexed once."""


class ChainDB:
    """Typed access to the chain database. The only writer of block data."""

    def __init__(self, kv: KeyValueStore) -> None:
        self.kv = kv
        self.state = FlatState(kv)
        self._metas: OrderedDict[bytes, MetaView] = OrderedDict()
        self._metas_bytes = 0

    # metadata --------------------------------------------------------------------------------------
    def genesis_hash(self) -> bytes | None:
        return self.kv.get(schema.META_GENESIS_HASH)

    def chain_spec_json(self) -> bytes | None:
        return self.kv.get(schema.META_CHAIN_SPEC)

    def head_hash(self) -> bytes:
        h = self.kv.get(schema.META_HEAD)
        if h is None:
            raise StorageError("database has no head block: it was never initialised")
        return h

    def finalized_hash(self) -> bytes:
        return self.kv.get(schema.META_FINALIZED) or self.head_hash()

    def meta(self, key: bytes) -> bytes | None:
        return self.kv.get(key)

    # blocks ----------------------------------------------------------------------------------------
    def has_block(self, block_hash: bytes) -> bool:
        return self.kv.get(schema.header_key(block_hash)) is not None

    def get_block_bytes(self, block_hash: bytes) -> bytes | None:
        return self.kv.get(schema.block_key(block_hash))

    def get_block(self, block_hash: bytes) -> Block | None:
        raw = self.get_block_bytes(block_hash)
        return None if raw is None else Block.decode(raw)

    def get_header(self, block_hash: bytes) -> Header | None:
        raw = self.kv.get(schema.header_key(block_hash))
        return None if raw is None else Header.decode(raw)

    def canonical_hash(self, number: int) -> bytes | None:
        return self.kv.get(schema.canonical_key(number))

    def block_meta(self, block_hash: bytes) -> BlockMeta | None:
        """Every event and outcome of the block decoded (tens of milliseconds for a full block: readers of a part
        use `block_meta_view`)."""
        raw = self.kv.get(schema.block_meta_key(block_hash))
        return None if raw is None else BlockMeta.decode(raw)

    def block_meta_view(self, block_hash: bytes, cache: bool = True) -> MetaView | None:
        """The block's meta read by part (an extrinsic's events and outcome by index), through a small cache
        (`cache=False`: a scan over many blocks, which would only push out the blocks being paged through)."""
        view = self._metas.get(block_hash)
        if view is not None:
            self._metas.move_to_end(block_hash)
            return view
        raw = self.kv.get(schema.block_meta_key(block_hash))
        if raw is None:
            return None
        view = MetaView.decode(raw)
        indexed_here = raw[:1] == b"\x92"  # a format-1 meta [events, outcomes]: costly to index, so kept
        if (cache or indexed_here) and view.size <= META_CACHE_BYTES:
            self._metas[block_hash] = view
            self._metas_bytes += view.size
            while len(self._metas) > META_CACHE_ENTRIES or self._metas_bytes > META_CACHE_BYTES:
                _, old = self._metas.popitem(last=False)
                self._metas_bytes -= old.size
        return view

    def forget_block_metas(self) -> None:
        """Empty the cache of metas (blocks were deleted)."""
        self._metas.clear()
        self._metas_bytes = 0

    def block_summary(self, block_hash: bytes) -> BlockSummary | None:
        """Extrinsic and event counts and encoded size of a stored, executed block, decoding none of its parts;
        None if the block or its meta is not stored."""
        raw = self.kv.get(schema.block_summary_key(block_hash))
        if raw is not None:
            return BlockSummary.decode(raw)
        # a block stored before summaries were written: count from the encodings without decoding them
        block = self.get_block_bytes(block_hash)
        meta = self.kv.get(schema.block_meta_key(block_hash))
        if block is None or meta is None:
            return None
        return BlockSummary(BlockBody(block).count, stored_event_count(meta), len(block))

    def block_body(self, block_hash: bytes) -> BlockBody | None:
        """The block's extrinsics by index, decoding only those read (`get_block` decodes them all)."""
        raw = self.get_block_bytes(block_hash)
        return None if raw is None else BlockBody(raw)

    def is_executed(self, block_hash: bytes) -> bool:
        """Whether the block was executed here (it has an undo journal; a retracted one also its redo journal)."""
        return self.kv.contains(schema.undo_key(block_hash))

    def undo(self, block_hash: bytes) -> dict[bytes, bytes | None]:
        raw = self.kv.get(schema.undo_key(block_hash))
        if raw is None:
            raise StorageError(f"undo journal of block 0x{block_hash.hex()} missing: database damaged")
        return decode_journal(raw)

    def redo(self, block_hash: bytes) -> dict[bytes, bytes | None]:
        raw = self.kv.get(schema.redo_key(block_hash))
        if raw is None:
            raise StorageError(f"redo journal of block 0x{block_hash.hex()} missing: database damaged")
        return decode_journal(raw)

    def tx_location(self, xt_hash: bytes) -> tuple[bytes, int] | None:
        raw = self.kv.get(schema.tx_index_key(xt_hash))
        if raw is None:
            return None
        block_hash, index = msgpack.unpackb(raw)
        return block_hash, index

    def blocks_above(self, number: int) -> Iterator[tuple[int, bytes]]:
        """(number, hash) of every stored block with a number above `number`, in number order."""
        n = len(schema.BLOCKS_BY_NUMBER)
        found: list[tuple[int, bytes]] = []
        # newest first, stopping at `number`: the cost follows the unfinalized part of the chain only
        for key, _ in self.kv.iterate(schema.BLOCKS_BY_NUMBER, reverse=True):
            block_number = int.from_bytes(key[n : n + 8], "big")
            if block_number <= number:
                break
            found.append((block_number, key[n + 8 :]))
        yield from reversed(found)

    def justification(self, block_hash: bytes) -> bytes | None:
        """The justification of the block's latest epoch as a checkpoint, or None."""
        found = self.justifications(block_hash)
        return found[-1] if found else None

    def justifications(self, block_hash: bytes) -> list[bytes]:
        """Every justification stored beside the block, one per epoch it is the checkpoint of, oldest epoch first."""
        return [value for _key, value in self.kv.iterate(schema.justification_key(block_hash))]

    def justification_keys(self, block_hash: bytes) -> list[bytes]:
        return [key for key, _value in self.kv.iterate(schema.justification_key(block_hash))]

    def block_hashes_at(self, number: int) -> list[bytes]:
        """Hashes of every stored block (canonical or not) with this number."""
        prefix = schema.blocks_by_number_key(number, b"")
        return [key[len(prefix):] for key, _ in self.kv.iterate(prefix)]

    def voter_set_hash(self, block_hash: bytes) -> bytes | None:
        """The hash of the validator set queued in the block's post-state; None if it was never executed here."""
        return self.kv.get(schema.block_voter_set_key(block_hash))

    def voter_set(self, set_hash: bytes) -> bytes | None:
        """An encoded validator set record by its hash."""
        return self.kv.get(schema.voter_set_key(set_hash))

    def keys_by_path(self, lo_path: bytes, hi_path: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """(path, key) of every key of the head's flat state whose path in the state tree is in [lo_path, hi_path)
        (None: to the end), in path order, from one seek: the keys under a prefix of the tree
        (`storage.smt.prefix_bounds`), which a warp-sync server serves as a chunk."""
        if type(lo_path) is not bytes or (hi_path is not None and type(hi_path) is not bytes):
            raise TypeError("paths must be bytes (hi_path: bytes or None)")
        return self._keys_by_path(lo_path, hi_path)

    def _keys_by_path(self, lo_path: bytes, hi_path: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        n = len(schema.TREE_KEY)
        for entry, key in self.kv.iterate(schema.TREE_KEY, start=schema.tree_key_key(lo_path)):
            path = entry[n:]
            if hi_path is not None and path >= hi_path:
                return
            yield path, key

    # writes ----------------------------------------------------------------------------------------
    def initialise(
        self,
        genesis: Block,
        state: Mapping[bytes, bytes],
        leaves: bytes,
        spec_json: bytes,
        voter_set: bytes | None = None,
    ) -> None:
        """Write the genesis block and state, the state tree's leaves (`leaf_records(state)`) and the encoded
        validator set its post-state queues into an empty database, all or nothing.

        A small genesis is one batch. A large one (a benchmark's million accounts) goes in batches of
        GENESIS_BATCH_ENTRIES, which LevelDB takes several times faster than one huge batch: a marker is written
        first and the head last, so a database cut off mid-way holds no head (it reads as not initialised) and the
        next initialise wipes the partial state before writing again."""
        if self.kv.get(schema.META_HEAD) is not None:
            raise StorageError("database is already initialised")
        self.state.forget()
        if self.kv.get(schema.META_INITIALISING) is not None:
            self._wipe()
        h = genesis.hash()
        if len(leaves) != len(state) * RECORD_LEN:
            raise StorageError("genesis leaves do not match its state: one 64-byte record per key")
        puts: dict[bytes, bytes] = {}
        # in key order (k: sorts before l:, l: before s:), each batch built while the one before is written: LevelDB
        # then flushes tables whose key ranges do not overlap, and moves them down its levels without rewriting them
        # (a million accounts in random order cost it ~3 s more of compaction on both cores)
        chunks = itertools.chain(
            tree_key_chunks(state, GENESIS_BATCH_ENTRIES),
            _leaf_chunks(leaves, GENESIS_BATCH_ENTRIES),
            _key_ordered(state, schema.STATE, GENESIS_BATCH_ENTRIES),
        )
        if 3 * len(state) > GENESIS_BATCH_ENTRIES:
            self.kv.write({schema.META_INITIALISING: h}, sync=True)
            for chunk in chunks:
                self.kv.write_behind(chunk)
        else:
            for chunk in chunks:
                puts.update(chunk)
        puts.update(self._block_puts(genesis))
        puts[schema.block_meta_key(h)] = BlockMeta([], []).encode()
        puts[schema.block_summary_key(h)] = BlockSummary(len(genesis.extrinsics), 0, len(genesis.encode())).encode()
        puts[schema.redo_key(h)] = encode_journal({})
        puts[schema.undo_key(h)] = encode_journal({})
        puts[schema.canonical_key(0)] = h
        puts[schema.META_GENESIS_HASH] = h
        puts[schema.META_CHAIN_SPEC] = spec_json
        puts[schema.META_HEAD] = h
        puts[schema.META_FINALIZED] = h
        puts[schema.META_TREE_LEAVES] = b"1"
        puts[schema.META_TREE_KEYS] = b"1"
        if voter_set is not None:
            set_hash = blake2b_256(voter_set)
            puts[schema.voter_set_key(set_hash)] = voter_set
            puts[schema.block_voter_set_key(h)] = set_hash
        self.kv.write(puts, [schema.META_INITIALISING], sync=True)
        compact = getattr(self.kv, "compact", None)
        if compact is not None and 3 * len(state) > COMPACT_AFTER_ENTRIES:
            compact()

    def _wipe(self) -> None:
        """Delete every key: what an initialise that was cut off mid-way left behind."""
        doomed: list[bytes] = []
        for key, _ in self.kv.iterate():
            doomed.append(key)
            if len(doomed) >= GENESIS_BATCH_ENTRIES:
                self.kv.write({}, doomed)
                doomed = []
        self.kv.write({}, doomed, sync=True)

    def ensure_tree_leaves(self, progress: Callable[[str], None] | None = None) -> bool:
        """Give a database written by a version that stored the whole state tree (`t:` nodes) the leaves this one
        keeps instead, computed from its flat state, and delete the old nodes; True if it did. Safe to cut off: the
        marker goes in last, with the last leaves, and a new attempt starts over. Then gives it the index of its keys
        by path if it has none (`ensure_tree_keys`): what opening a database from an earlier version needs."""
        done = self._ensure_leaves(progress)
        self.ensure_tree_keys(progress)
        return done

    def _ensure_leaves(self, progress: Callable[[str], None] | None) -> bool:
        if self.kv.get(schema.META_TREE_LEAVES) is not None or self.kv.get(schema.META_HEAD) is None:
            return False
        say = progress or (lambda _msg: None)
        say("this database is from an earlier version: computing the state tree's leaves from the flat state")
        n = len(schema.STATE)
        stale = [key for key, _ in self.kv.iterate(schema.TREE_LEAF)]
        for at in range(0, len(stale), GENESIS_BATCH_ENTRIES):
            self.kv.write({}, stale[at : at + GENESIS_BATCH_ENTRIES])
        state = {key[n:]: value for key, value in self.kv.iterate(schema.STATE)}
        records = leaf_records(state)
        del state
        for chunk in _leaf_chunks(records, GENESIS_BATCH_ENTRIES):
            self.kv.write(chunk)
        say(f"wrote {len(records) // RECORD_LEN} leaves; deleting the old tree nodes")
        doomed: list[bytes] = []
        for key, _ in self.kv.iterate(schema.TRIE_NODE):
            doomed.append(key)
            if len(doomed) >= GENESIS_BATCH_ENTRIES:
                self.kv.write({}, doomed)
                doomed = []
        self.kv.write({schema.META_TREE_LEAVES: b"1"}, doomed, sync=True)
        return True

    def ensure_tree_keys(self, progress: Callable[[str], None] | None = None) -> bool:
        """Give a database written by a version without the index of the state's keys by path (`k:`) its entries,
        computed from the flat state; True if it did. Safe to cut off: the marker goes in last, with the last
        entries, and a new attempt first deletes what one cut off wrote."""
        if self.kv.get(schema.META_TREE_KEYS) is not None or self.kv.get(schema.META_HEAD) is None:
            return False
        say = progress or (lambda _msg: None)
        say("this database is from an earlier version: indexing the flat state's keys by their path in the state tree")
        stale: list[bytes] = []
        for key, _ in self.kv.iterate(schema.TREE_KEY):
            stale.append(key)
            if len(stale) >= GENESIS_BATCH_ENTRIES:
                self.kv.write({}, stale)
                stale = []
        if stale:
            self.kv.write({}, stale)
        n = len(schema.STATE)
        batch: dict[bytes, bytes] = {}
        count = 0
        for key, _ in self.kv.iterate(schema.STATE):
            batch[key[n:]] = b""
            if len(batch) >= GENESIS_BATCH_ENTRIES:
                for chunk in tree_key_chunks(batch, GENESIS_BATCH_ENTRIES):
                    self.kv.write(chunk)
                count += len(batch)
                batch = {}
                if count % (10 * GENESIS_BATCH_ENTRIES) == 0:
                    say(f"indexed {count} keys ...")
        last: dict[bytes, bytes] = {}
        for chunk in tree_key_chunks(batch, GENESIS_BATCH_ENTRIES):
            last.update(chunk)
        count += len(batch)
        last[schema.META_TREE_KEYS] = b"1"
        self.kv.write(last, sync=True)
        say(f"indexed {count} keys by path")
        return True

    @staticmethod
    def _block_puts(block: Block) -> dict[bytes, bytes]:
        h = block.hash()
        return {
            schema.block_key(h): block.encode(),
            schema.header_key(h): block.header.encode(),
            schema.blocks_by_number_key(block.header.number, h): b"",
        }

    def _executed_puts(self, ex: ExecutedBlock) -> dict[bytes, bytes]:
        """A block executed here: the block, its events and outcomes, its undo journal and its validator set."""
        h = ex.block.hash()
        puts = self._block_puts(ex.block)
        puts[schema.block_meta_key(h)] = ex.meta.encode()
        puts[schema.block_summary_key(h)] = BlockSummary(
            len(ex.block.extrinsics), len(ex.meta.events), len(ex.block.encode())
        ).encode()
        puts[schema.undo_key(h)] = encode_journal(ex.undo)
        if ex.voter_set_hash is not None:
            puts[schema.block_voter_set_key(h)] = ex.voter_set_hash
            if ex.voter_set is not None:
                puts[schema.voter_set_key(ex.voter_set_hash)] = ex.voter_set
        return puts

    def store_side_execution(self, executed: list[ExecutedBlock], redo: Mapping[bytes, Changes]) -> None:
        """Keep what executing side blocks found (their journals and validator sets) without making them canonical: a
        side block executed so finality can weigh votes for it is enacted later from its redo journal, as a retracted
        block is."""
        puts: dict[bytes, bytes] = {}
        for ex in executed:
            puts.update(self._executed_puts(ex))
        for h, changes in redo.items():
            puts[schema.redo_key(h)] = encode_journal(changes)
        self.kv.write(puts, sync=False)

    def finality_conflict(self) -> bytes | None:
        return self.kv.get(schema.META_FINALITY_CONFLICT)

    def store_finality_conflict(self, encoded: bytes) -> None:
        self.kv.write({schema.META_FINALITY_CONFLICT: encoded}, sync=True)

    def store_side_block(self, block: Block) -> None:
        """Keep a checked but not executed block that is not on the best chain (yet)."""
        self.kv.write(self._block_puts(block), sync=False)

    def apply_update(self, update: ChainUpdate, sync: bool = True, behind: bool = False) -> None:
        """Make `update.head` the head: blocks, journals, canonical index, tx index and flat state, atomically.

        `behind`: return before the batch is on disk (the store's write_behind): reads see it at once, and a crash
        before it lands loses this update whole, so the node restarts at the previous head."""
        self.write_update(self.prepare_update(update), sync, behind)

    def write_update(self, prepared: PreparedUpdate, sync: bool = True, behind: bool = False) -> None:
        """Write what `prepare_update` built (see `apply_update`)."""
        if behind:
            self.kv.write_behind(prepared.puts, prepared.deletes)
        else:
            self.kv.write(prepared.puts, prepared.deletes, sync=sync)
        self.state.changed(prepared.update.state_changes)

    def prepare_update(
        self, update: ChainUpdate, leaves: Callable[[dict[bytes, bytes], list[bytes], Changes], None] = put_leaves,
    ) -> PreparedUpdate:
        """The batch that makes `update` the head, not written yet: built while a block's last checks finish (the
        import discards it if they fail)."""
        puts: dict[bytes, bytes] = {}
        deletes: list[bytes] = []
        for ex in update.executed:
            puts.update(self._executed_puts(ex))
        for h, redo in update.retracted_redo.items():
            puts[schema.redo_key(h)] = encode_journal(redo)
        enacted_numbers = {b.header.number for b in update.enacted}
        for block in update.retracted:
            if block.header.number not in enacted_numbers:
                deletes.append(schema.canonical_key(block.header.number))
            for xt in block.extrinsics:
                deletes.append(schema.tx_index_key(xt.hash()))
        # one packer for the block's tx index entries: `pack` (msgpack.packb) makes a packer per call, ten times
        # the cost of packing a [hash, index] pair (6.6 against 0.65 ms for 5,000); the bytes are the same
        pack_entry = msgpack.Packer(use_bin_type=True).pack
        for block in update.enacted:
            h = block.hash()
            puts[schema.canonical_key(block.header.number)] = h
            for i, xt in enumerate(block.extrinsics):
                puts[schema.tx_index_key(xt.hash())] = pack_entry([h, i])
        schema.put_state(puts, deletes, update.state_changes)
        leaves(puts, deletes, update.state_changes)  # the tree's own (StateTree.put_leaves) reuses its hashes
        # the key index changes only where a key appears or disappears, which the flat state before the update says
        # (from its cache, which holds what the blocks read): a changed value costs no hash and no write
        added, removed = self.state.appearing(update.state_changes)
        for key in added:
            puts[schema.tree_key_key(blake2b_256(key))] = key
        for key in removed:
            deletes.append(schema.tree_key_key(blake2b_256(key)))
        puts[schema.META_HEAD] = update.head_hash
        # a key both put and deleted ends deleted: keep enacted tx-index entries that a retracted block shared
        return PreparedUpdate(update, puts, [d for d in deletes if d not in puts])

    def set_finalized(self, block_hash: bytes, justified: bytes | None = None) -> None:
        puts = {schema.META_FINALIZED: block_hash}
        if justified is not None:
            puts[schema.META_JUSTIFIED] = justified
        self.kv.write(puts, sync=True)

    def store_justified(self, record: bytes) -> None:
        self.kv.write({schema.META_JUSTIFIED: record}, sync=True)

    def store_justification(self, block_hash: bytes, epoch: int, encoded: bytes) -> None:
        """Keep the justification of `block_hash` as the checkpoint of `epoch` (beside any of its other epochs)."""
        self.kv.write({schema.justification_key(block_hash, epoch): encoded}, sync=False)

    # warp sync -------------------------------------------------------------------------------------
    def checkpoint_set(self, block_hash: bytes) -> bytes | None:
        """The encoded validator set (with its state proof) of a checkpoint block, if kept."""
        return self.kv.get(schema.checkpoint_set_key(block_hash))

    def store_checkpoint_set(self, block_hash: bytes, encoded: bytes) -> None:
        self.kv.write({schema.checkpoint_set_key(block_hash): encoded}, sync=False)

    def key_authorization(self, session_key: bytes) -> bytes | None:
        """The encoded authorization kept for a session key, if any."""
        return self.kv.get(schema.key_authorization_key(session_key))

    def store_key_authorization(self, session_key: bytes, encoded: bytes) -> None:
        self.kv.write({schema.key_authorization_key(session_key): encoded}, sync=False)

    def warp_base(self) -> tuple[int, bytes] | None:
        """(number, hash) of the block a warp-synced database started from; None for one synced from genesis."""
        raw = self.kv.get(schema.META_WARP_BASE)
        if raw is None:
            return None
        number, block_hash = unpack(raw)[:2]
        return int(number), bytes(block_hash)

    def warp_trust(self) -> tuple[int, bytes] | None:
        """(number, hash) of the block a warp-synced database's proof started from: genesis, or the trusted checkpoint
        it was given; None for a database synced from genesis block by block."""
        raw = self.kv.get(schema.META_WARP_BASE)
        if raw is None:
            return None
        value = unpack(raw)
        return int(value[2]), bytes(value[3])

    def initialise_warp(self, genesis: Block, spec_json: bytes, target: Block, voter_set: bytes,
                        justifications: list[tuple[int, bytes]], finality_record: bytes,
                        trusted: tuple[int, bytes] | None = None) -> None:
        """Make a database whose state warp sync wrote (flat state, tree leaves and the key index, nothing else) a
        chain at `target`: the genesis and target blocks, the target as head and finalized, its validator set and
        justifications, the finality record, and where its warp proof started (`trusted`: a checkpoint's number and
        hash; genesis when None). One batch, the head last in it: before it the database has no head,
        and its next initialise (or warp) wipes what was written."""
        g, h = genesis.hash(), target.hash()
        puts: dict[bytes, bytes] = {}
        for block in (genesis, target):
            puts.update(self._block_puts(block))
            bh = block.hash()
            puts[schema.block_meta_key(bh)] = BlockMeta([], []).encode()
            puts[schema.block_summary_key(bh)] = BlockSummary(len(block.extrinsics), 0, len(block.encode())).encode()
            puts[schema.canonical_key(block.header.number)] = bh
        puts[schema.undo_key(h)] = encode_journal({})
        set_hash = blake2b_256(voter_set)
        puts[schema.voter_set_key(set_hash)] = voter_set
        puts[schema.block_voter_set_key(h)] = set_hash
        for epoch, raw in justifications:
            puts[schema.justification_key(h, epoch)] = raw
        puts[schema.META_JUSTIFIED] = finality_record
        puts[schema.META_GENESIS_HASH] = g
        puts[schema.META_CHAIN_SPEC] = spec_json
        puts[schema.META_TREE_LEAVES] = b"1"
        puts[schema.META_TREE_KEYS] = b"1"
        start = trusted or (0, g)
        puts[schema.META_WARP_BASE] = pack([target.header.number, h, start[0], start[1]])
        puts[schema.META_FINALIZED] = h
        puts[schema.META_HEAD] = h
        self.kv.write(puts, [schema.META_INITIALISING], sync=True)
