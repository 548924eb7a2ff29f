"""The on-disk KeyValueStore: LevelDB through plyvel, every plyvel failure turned into one readable StorageError.

Values under `schema.BLOB_PREFIXES` (block bodies, block events, undo and redo journals) are written to the
database's block files (`storage.blob_log`) and LevelDB holds a reference to each: callers see the values either
way, and values an earlier version stored inline are read as they are.

`read_ahead` reads a list of keys on a thread of LevelDB's own without the GIL (storage/read_ahead.py) for the
`get`s that follow; a write, a reopen and closing end it first, so no value it read can be older than the store."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading
import weakref
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from operator import methodcaller
from pathlib import Path
from typing import Any

from btt_chain.primitives.errors import ConfigError, StorageError
from storage import leveldb_build, schema, table_reads
from storage import read_ahead as ahead_reads
from storage.blob_log import BlobLog, is_ref
from storage.kv import KeyValueStore, check_key, checked_batch, in_range, prefix_end
from storage.leveldb_build import plyvel
from storage.leveldb_stats import LevelStats, parse_level_stats

LRU_CACHE_BYTES = 32 * 1024 * 1024
"""Block cache for uncompressed data blocks, filled only as blocks are read. Small: a block's reads are of hashed keys
spread over the whole flat state, so few land in a block read before, and the ones that miss are served by the page
cache (tables are read by pread, `storage/table_reads.py`) at the same cost to the import. Measured with
`btt-chain bench import` (2026-11-29): at 10,000,000 accounts 0.842-0.852 of verify with 32 MiB against 0.835-0.853
with 256 MiB, the node at 1,201-1,205 MiB against 1,459-1,463; at 1,000,000 the same rate with 16 MiB, ~170 MiB less.
The flat-state reads the blocks repeat are cached above LevelDB (`storage.chaindb.STATE_CACHE_ENTRIES`)."""
WRITE_BUFFER_BYTES = 8 * 1024 * 1024
"""Memtable size: ~3 blocks of 5,000 transfers (their state, leaves and transaction index; bodies, events and journals
go to the block files). Smaller than the 32 MB it was: a reopen (`release_mapped_pages`) replays and flushes at most
this much, which at 10,000,000 accounts cut a release's block from ~470 to ~350 ms (`bench import`, 0.673 -> 0.742
of verify), and inserts into a smaller memtable cost the writer thread ~12 ms a block against ~25; the 1,000,000-account
import was the same either way (20,172-20,180 against 19,782 tx/s, flatness 1.13-1.15 both)."""
VALUES_BESIDE = 64
"""`get_values` reads at least this many keys with a thread beside the caller (fewer: one by one, as `get`)."""
LANDING_GROUP = 2
"""A scan over a batch still being written sorts only the batch's keys that share the scan prefix's first this many
bytes (the chain's schema prefixes differ within two bytes), once `LANDING_NARROW_SCANS` prefixes have been scanned."""
LANDING_NARROW_SCANS = 3
"""The first scans over a batch still being written sort only the batch's keys under their own prefix. A block's
batch holds ~10,000 state keys, all under the schema's two-byte state prefix: the block after it scans one runtime
item while it lands (the compute module's deadlines), and sorting every state key for it cost 4.6-11.4 ms of the
importing thread (`bench import`, 1 M accounts, 2026-11-29) where its own keys (none, most blocks) cost a pass over
the batch, ~1.8 ms. Past this many prefixes, a scan sorts its whole group once and every later scan bisects it."""
BLOOM_FILTER_BITS = 10
"""Bits per key (~1% false positives): most state-tree lookups are for keys in exactly one table."""
LEVEL0_COMPACTION_TRIGGER = 4
"""LevelDB's kL0_CompactionTrigger: with this many level-0 tables a compaction is due (or under way)."""


_UNREAD = object()


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


COMPACTION_NICE_DEFAULT = 0
"""The scheduling priority (nice value) of LevelDB's own background thread, which flushes memtables and compacts, with
btt-chain's LevelDB build (storage/leveldb_build.py): the node's own. Without seek compaction, what it compacts is
what the levels' sizes call for, a burst every few blocks; at the node's priority it keeps level 0 at a table or two,
so that reads do not look through a growing pile of level-0 tables: a fresh 1,000,000-account import's last four of
30 blocks were within 5% of blocks 3-6 in 14 runs of 23, against 1 of 10 with plyvel's LevelDB at nice 19 (two cores
full; docs/benchmarks.md, issue 54's eleventh round). The environment's BTT_COMPACTION_NICE (-20 to 19) sets another."""
COMPACTION_NICE_SEEKING = 19
"""The default with plyvel's own LevelDB, which compacts on reads as well (seek compaction) and so finds work without
end: at the node's priority it took 52-118 ms of CPU a block from the import (1,000,000 accounts), niced it runs in
the gaps between and within blocks (LevelDB holds writes back only if it falls 8 tables behind)."""


def default_compaction_nice() -> int:
    """The nice value LevelDB's thread gets unless BTT_COMPACTION_NICE says otherwise, by the LevelDB in use."""
    return COMPACTION_NICE_SEEKING if leveldb_build.build().seek_compaction else COMPACTION_NICE_DEFAULT


def compaction_nice() -> int:
    """BTT_COMPACTION_NICE, or the default for the LevelDB in use; a value that is not a nice value is refused with
    what to give."""
    default = default_compaction_nice()
    raw = os.environ.get("BTT_COMPACTION_NICE")
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not -20 <= value <= 19:
        raise ConfigError(f"BTT_COMPACTION_NICE={raw!r}: give a nice value from -20 to 19 (default {default} "
                          f"with {leveldb_build.build().describe()})")
    return value


def check_environment() -> None:
    """What the environment sets for LevelDB (BTT_LEVELDB, BTT_COMPACTION_NICE, BTT_LEVELDB_TABLE_READS), checked
    without opening anything: a command that also probes ports calls it first, so that a taken port does not hide a
    bad setting."""
    leveldb_build.requested()
    compaction_nice()
    table_reads.requested_mode()


BLOB_DIR = "blobs"
"""The block files' directory inside the database's."""


class LevelDBStore(KeyValueStore):
    """A LevelDB database in directory `path`, open (and locked) for the lifetime of this object."""

    def __init__(
        self, path: str | Path, create_if_missing: bool = True, blob_prefixes: tuple[bytes, ...] = schema.BLOB_PREFIXES
    ) -> None:
        self.path = Path(path)
        leveldb_build.requested()  # a bad setting is refused before anything is opened
        self._nice = compaction_nice()
        table_reads.configure()  # before the process's first open: LevelDB's Env reads it then
        try:
            if create_if_missing:
                # LevelDB creates only the last directory of the path; a fresh data dir may need its parents.
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db: plyvel.DB | None = _open(self.path, create_if_missing)
        except plyvel.Error as exc:
            raise _open_error(self.path, exc) from exc
        except OSError as exc:
            raise StorageError(f"cannot open database at {self.path}: {exc.strerror or exc}") from exc
        # the batch being written in the background (write_behind): what it puts and deletes, for reads meanwhile
        self._writer: concurrent.futures.ThreadPoolExecutor | None = None
        self._landing: concurrent.futures.Future[None] | None = None
        self._landing_puts: Mapping[bytes, bytes] = {}
        self._landing_deletes: frozenset[bytes] = frozenset()
        self._landing_sorted: dict[bytes, list[bytes]] = {}
        """The landing batch's keys in order, under a scanned prefix or by their first LANDING_GROUP bytes, sorted when
        a scan first needs them (`_landing_keys`)."""
        self._failed: str | None = None
        self._scans: weakref.WeakSet[Iterator[tuple[bytes, bytes]]] = weakref.WeakSet()
        """Every scan handed out (`iterate`): one not yet finished holds a LevelDB iterator, which reopening the
        database would cut off (`release_mapped_pages_over` waits for none)."""
        self._blob_prefixes = blob_prefixes
        self._ahead: ahead_reads.Reads | None = None
        """The read-ahead under way (`read_ahead`), if any."""
        self._ahead_lock = threading.Lock()
        """Held while a read-ahead starts and while the store writes, reopens or closes: none starts meanwhile, and
        none runs on a database being closed or read past a write it did not see."""
        try:
            self._blobs = BlobLog(self.path / BLOB_DIR)
        except BaseException:
            self._db.close()
            self._db = None
            raise

    def _is_blob(self, key: bytes) -> bool:
        return key.startswith(self._blob_prefixes) if self._blob_prefixes else False

    def _value(self, key: bytes, stored: bytes) -> bytes:
        """What a stored value stands for: a block-file reference read, anything else itself (a database written
        before the block files holds its large values inline)."""
        if is_ref(stored) and self._is_blob(key):
            return self._blobs.read(stored)
        return stored

    def _fill(self, batch: plyvel.WriteBatch, puts: Mapping[bytes, bytes], deletes: list[bytes]) -> bool:
        """Put the batch's entries in `batch`, each large value appended to the block files and put as its reference;
        True if any was (the block files must be synced before the batch is written)."""
        put = batch.put
        prefixes = self._blob_prefixes
        appended = False
        for key, value in puts.items():
            if prefixes and key.startswith(prefixes):
                value = self._blobs.append(value)
                appended = True
            put(key, value)
        for key in deletes:
            batch.delete(key)
        return appended

    def _handle(self) -> plyvel.DB:
        if self._db is None:
            raise StorageError(f"database at {self.path} is closed")
        if self._failed is not None:
            raise StorageError(f"database at {self.path}: a background write failed, restart the node ({self._failed})")
        return self._db

    def _settle(self) -> None:
        """Wait for the background write, if any; a failed one fails this call and every later one."""
        landing = self._landing
        if landing is None:
            return
        try:
            landing.result()
        except (plyvel.Error, RuntimeError, StorageError) as exc:
            self._failed = _message(exc)
        finally:
            self._landing = None
            self._landing_puts, self._landing_deletes, self._landing_sorted = {}, frozenset(), {}
        self._handle()

    def get(self, key: bytes) -> bytes | None:
        db = self._handle()
        check_key(key)
        return self._read(db, key, self._ahead)

    def get_values(self, keys: Sequence[bytes]) -> list[bytes | None]:
        """Each key's value as `get` gives it, in order. Where the keys are many (`VALUES_BESIDE`) and the compiled
        read-ahead is available, a thread of its own reads them beside the calling thread (each key read once, by
        whichever reaches it first: two cores on random reads that mostly miss the block cache), and writes, reopens
        and closes wait until it is done (a few milliseconds for a thousand keys). The warp server's chunks read
        thousands of keys scattered over the whole state."""
        wanted = list(keys)
        if len(wanted) < VALUES_BESIDE or not ahead_reads.AVAILABLE:
            return [self.get(k) for k in wanted]
        with self._ahead_lock:
            db = self._handle()
            if set(map(type, wanted)) - {bytes}:
                for key in wanted:
                    check_key(key)
            listed = wanted
            if self._landing is not None:  # answered from the batch, which may land meanwhile
                puts, deletes = self._landing_puts, self._landing_deletes
                listed = [k for k in wanted if k not in puts and k not in deletes]
            reads = ahead_reads.start(db, list(dict.fromkeys(listed))) if listed else None
            try:
                return [self._read(db, key, reads) for key in wanted]
            finally:
                if reads is not None:
                    reads.close()

    def _read(self, db: plyvel.DB, key: bytes, ahead: ahead_reads.Reads | None) -> bytes | None:
        """`key`'s value: the batch still landing's, else `ahead`'s (a read-ahead's answer, if it has one), else
        LevelDB's; a block-file reference resolved."""
        if self._landing is not None:
            if key in self._landing_deletes:
                return None
            landed = self._landing_puts.get(key)
            if landed is not None:
                return landed
        if ahead is not None:
            early = ahead.get(key, _UNREAD)
            if early is not _UNREAD:
                if early is not None and is_ref(early) and self._is_blob(key):
                    return self._blobs.read(early)
                return early  # type: ignore[no-any-return]
        try:
            value: bytes | None = db.get(key)
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot read database at {self.path}: {_message(exc)}") from exc
        if value is not None and is_ref(value) and self._is_blob(key):
            return self._blobs.read(value)
        return value

    def read_ahead(self, keys: Iterable[bytes]) -> int:
        """Begin reading `keys` on a thread of their own, without the GIL, for the `get`s that follow; how many it
        reads (0: none, where the compiled part is unavailable or refuses plyvel's object). It ends at the next
        write, reopen or close, or the next `read_ahead` or `end_read_ahead`. Keys the batch still landing puts or
        deletes are left out (`get` answers them from the batch, and they may land while the read-ahead runs)."""
        wanted = list(dict.fromkeys(keys))
        if set(map(type, wanted)) - {bytes}:
            for key in wanted:
                check_key(key)
        with self._ahead_lock:
            self._end_read_ahead()
            db = self._db
            if db is None or self._failed is not None or not ahead_reads.AVAILABLE:
                return 0
            if self._landing is not None:
                puts, deletes = self._landing_puts, self._landing_deletes
                wanted = [k for k in wanted if k not in puts and k not in deletes]
            if not wanted:
                return 0
            self._ahead = ahead_reads.start(db, wanted)
            return 0 if self._ahead is None else len(wanted)

    def reads_ahead(self, prefix: bytes) -> tuple[ahead_reads.Reads, Any] | None:
        """The read-ahead under way and the capsule of its compiled lookup (storage/read_ahead_api.h), for a compiled
        reader of keys under `prefix` that asks it before `get` (the transfers' runs, runtime/_transfer_native.c):
        None if none runs, or if a key under `prefix` may be a block-file reference, which only `get` resolves. What
        it answers is what `get` would: it holds no key of the batch still landing, and it ends at the next write,
        reopen or close. Valid until then; the caller holds the GIL throughout and calls nothing of this store's
        meanwhile that writes."""
        ahead = self._ahead
        if ahead is None or self._failed is not None or ahead_reads.C_API is None:
            return None
        if self._blob_prefixes and any(p.startswith(prefix) or prefix.startswith(p) for p in self._blob_prefixes):
            return None
        return ahead, ahead_reads.C_API

    def end_read_ahead(self) -> None:
        """Stop the read-ahead, if one runs, after the read under way; later `get`s read for themselves."""
        with self._ahead_lock:
            self._end_read_ahead()

    def _end_read_ahead(self) -> None:
        ahead = self._ahead
        if ahead is not None:
            self._ahead = None
            ahead.close()

    @contextlib.contextmanager
    def _no_read_ahead(self) -> Iterator[None]:
        """No read-ahead runs, and none starts, inside: around writes, reopens and closing."""
        with self._ahead_lock:
            self._end_read_ahead()
            yield

    def contains(self, key: bytes) -> bool:
        db = self._handle()
        check_key(key)
        if self._landing is not None:
            if key in self._landing_deletes:
                return False
            if key in self._landing_puts:
                return True
        try:
            return db.get(key) is not None
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot read database at {self.path}: {_message(exc)}") from exc

    @staticmethod
    def _checked_deletes(puts: Mapping[bytes, bytes], deletes: Iterable[bytes]) -> list[bytes]:
        """Check a batch's types in bulk (C loops: a block's commit holds ~60,000 entries) and, only when one is
        wrong, again entry by entry for the TypeError that names it; return the deletes as a list."""
        delete_keys = list(deletes)
        kinds = set(map(type, puts))
        kinds.update(map(type, puts.values()))
        kinds.update(map(type, delete_keys))
        if kinds and kinds != {bytes}:
            checked_batch(puts, delete_keys)
        return delete_keys

    def write(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes] = (), sync: bool = False) -> None:
        with self._no_read_ahead():
            self._write(puts, deletes, sync)

    def _write(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes], sync: bool) -> None:
        self._settle()
        db = self._handle()
        delete_keys = self._checked_deletes(puts, deletes)
        try:
            # transaction=True: if anything raises inside the block the batch is dropped, never half-written.
            with db.write_batch(transaction=True, sync=sync) as batch:
                if self._fill(batch, puts, delete_keys):
                    self._blobs.sync()  # the references go to disk only after what they point at
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot write database at {self.path}: {_message(exc)}") from exc

    def write_behind(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes] = ()) -> None:
        """The batch is built here and written (fsync included) by a writer thread, which LevelDB runs without
        the GIL: the caller goes on meanwhile, reads see the batch at once, and every other call waits for it."""
        with self._no_read_ahead():
            self._write_behind(puts, deletes)

    def _write_behind(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes]) -> None:
        self._settle()
        db = self._handle()
        delete_keys = self._checked_deletes(puts, deletes)
        try:
            batch = db.write_batch(sync=True)
            appended = self._fill(batch, puts, delete_keys)
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot write database at {self.path}: {_message(exc)}") from exc
        if self._writer is None:
            self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="leveldb-writer")
        # reads meanwhile see `puts` itself (values, not references)
        self._landing_puts, self._landing_deletes, self._landing_sorted = puts, frozenset(delete_keys), {}
        self._landing = self._writer.submit(self._land, batch, appended)
        _nice_background_threads(self._nice)

    def _land(self, batch: plyvel.WriteBatch, appended: bool) -> None:
        """The writer thread: the block files first, then the batch that refers to them."""
        if appended:
            self._blobs.sync()
        batch.write()

    def flush(self) -> None:
        self._settle()
        self._handle()

    def iterate(
        self, prefix: bytes = b"", reverse: bool = False, start: bytes | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        if self._landing is not None and self._landing.done():
            self._settle()
        db = self._handle()
        check_key(prefix)
        if start is not None:
            check_key(start)
        # The batch landing now, read before the snapshot is taken (another thread may finish it meanwhile): a batch
        # landed by then is in the snapshot, one still landing is laid over it, so neither is missed.
        landing, puts, deletes, sorted_keys = (self._landing, self._landing_puts, self._landing_deletes,
                                               self._landing_sorted)
        try:
            # Created here, not lazily, so a closed store fails at the call like MemoryStore does.
            # The iterator reads from an implicit snapshot: writes made during the scan are not seen.
            if start is not None:
                it = _seek(db, prefix, reverse, start)
            elif prefix and reverse:
                # not plyvel's prefix= here: descending, it misses a key equal to the prefix when nothing follows it
                end = prefix_end(prefix)
                it = _within(db.iterator(reverse=True) if end is None else db.iterator(stop=end, reverse=True), prefix)
            elif prefix:
                it = db.iterator(prefix=prefix)
            else:
                it = db.iterator(reverse=reverse)
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot read database at {self.path}: {_message(exc)}") from exc
        if self._blob_prefixes and any(p.startswith(prefix) or prefix.startswith(p) for p in self._blob_prefixes):
            it = self._resolved(it)
        if landing is None:
            return self._drain(it)
        # A batch is still landing: lay it over the snapshot, which may or may not hold it yet; a batch applied twice
        # is the same as once, so either way the scan sees the state after it, without waiting for the write.
        entries = _landing_entries(puts, deletes, sorted_keys, prefix, reverse, start)
        return _merged(self._drain(it), entries, reverse)

    def _resolved(self, it: Iterator[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:
        """Stored pairs with each large value read from the block files."""
        closing: Any = it if hasattr(it, "__enter__") else contextlib.nullcontext()
        with closing:
            for key, value in it:
                yield key, self._value(key, value)

    def _drain(self, it: plyvel.Iterator | Iterator[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:
        scan = self._drain_now(it)
        self._scans.add(scan)
        return scan

    def _drain_now(self, it: plyvel.Iterator | Iterator[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:
        try:
            # a plyvel iterator, or a generator that closes its own
            closing: Any = it if hasattr(it, "__enter__") else contextlib.nullcontext()
            with closing:
                yield from it
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot read database at {self.path}: {_message(exc)}") from exc

    def compact(self) -> None:
        """Compact the whole key range: after a very large write (a big genesis), so that reopening the database
        does not replay that write from the log into memory."""
        self._settle()
        try:
            self._handle().compact_range()
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot compact database at {self.path}: {_message(exc)}") from exc

    def level_stats(self) -> tuple[LevelStats, ...]:
        """LevelDB's compaction table (its `leveldb.stats` property): one row per level that holds a table or was
        compacted into, with what compactions read and wrote for it since the database was opened. A batch still
        being written by the writer thread is not waited for (LevelDB answers under its own lock), so that reading
        the table between blocks does not change how they overlap."""
        try:
            raw = self._handle().get_property(b"leveldb.stats")
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot read database at {self.path}: {_message(exc)}") from exc
        return parse_level_stats((raw or b"").decode("ascii", "replace"))

    def release_mapped_pages(self) -> None:
        """Close and open the database again, so that LevelDB unmaps its table files: what a scan of the whole state
        (the state tree's leaves read at open) left resident in the mapped tables (~1 GB at 10 million accounts)
        stops counting in the node's memory. Clean file pages: the page cache keeps them, and a later read maps
        again the page it needs. Waits for a background write first; an iterator open now would be cut off, so call
        it when none is (start-up)."""
        with self._no_read_ahead():
            self._reopen()

    def _reopen(self) -> None:
        self._settle()
        db = self._handle()
        try:
            db.close()
        except (plyvel.Error, RuntimeError) as exc:
            raise StorageError(f"cannot reopen database at {self.path}: {_message(exc)}") from exc
        self._db = None
        try:
            self._db = _open(self.path, False)
        except plyvel.Error as exc:
            raise _open_error(self.path, exc) from exc
        except OSError as exc:
            raise StorageError(f"cannot reopen database at {self.path}: {exc.strerror or exc}") from exc

    def scanning(self) -> bool:
        """Whether a scan handed out by `iterate` is not finished (started or not): it holds a LevelDB iterator."""
        return any(scan.gi_frame is not None for scan in list(self._scans))  # type: ignore[attr-defined]

    def release_mapped_pages_over(self, budget_bytes: int) -> bool:
        """`release_mapped_pages` when the process's mapped file pages (RssFile: LevelDB's tables, nearly all of
        them) exceed `budget_bytes` and no scan is open; True if it released. Random reads of a large state map
        its tables page by page, and the kernel maps up to 16 pages around each one it faults in, so without
        this the mapped part grows to the whole flat state (~1.4 GB at 10 million accounts after 8 blocks)."""
        mapped = mapped_file_bytes()
        if mapped <= budget_bytes or self.scanning():
            return False
        # closing the database stops a compaction under way and throws its work away: while level 0 holds enough
        # tables for one to be due, wait (up to twice the budget) so that compactions keep up
        if mapped <= 2 * budget_bytes and self._level0_tables() >= LEVEL0_COMPACTION_TRIGGER:
            return False
        self.release_mapped_pages()
        return True

    def _level0_tables(self) -> int:
        db = self._handle()
        try:
            raw = db.get_property(b"leveldb.num-files-at-level0")
        except (plyvel.Error, RuntimeError):
            return 0
        return int(raw) if raw else 0

    def memory_bytes(self) -> int:
        """LevelDB's own count of the memory it holds (memtables and the block cache in use); 0 once closed. Cheap:
        Prometheus reads it on every scrape."""
        db = self._db
        if db is None:
            return 0
        try:
            raw = db.get_property(b"leveldb.approximate-memory-usage")
        except (plyvel.Error, RuntimeError):
            return 0
        return int(raw) if raw else 0

    def close(self) -> None:
        """Close the database once any background write has landed (a failed one is not raised here)."""
        if self._landing is not None:
            try:
                self._settle()
            except StorageError:
                pass
        if self._writer is not None:
            self._writer.shutdown()
            self._writer = None
        with self._no_read_ahead():
            if self._db is not None:
                self._db.close()
                self._db = None
                self._blobs.close()


def mapped_file_bytes() -> int:
    """This process's resident pages of mapped files (RssFile of /proc/self/status), 0 where it is not known."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssFile:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _open(path: Path, create_if_missing: bool) -> plyvel.DB:
    return plyvel.DB(
        str(path),
        create_if_missing=create_if_missing,
        lru_cache_size=LRU_CACHE_BYTES,
        write_buffer_size=WRITE_BUFFER_BYTES,
        bloom_filter_bits=BLOOM_FILTER_BITS,
        compression=None,
    )


_niced: set[int] = set()
_tasks_seen = -1
"""The link count of /proc/self/task (2 + the process's threads) when it was last listed."""


def _nice_background_threads(nice: int) -> None:
    """Lower the priority of this process's threads that Python did not start: LevelDB's background thread (started by
    LevelDB the first time it flushes; one for the process, every database shares it). Each thread once. The threads
    are listed only when their number changed since the last look (a stat, against a listing and a set of every
    thread's id on each write: 0.57 ms in a process of many threads)."""
    global _tasks_seen
    try:
        count = os.stat("/proc/self/task").st_nlink
        if count == _tasks_seen:
            return
        tids = {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:  # not Linux
        return
    _tasks_seen = count
    ours = {t.native_id for t in threading.enumerate()} | {os.getpid()}
    for tid in tids - ours - _niced:
        _niced.add(tid)
        try:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        except OSError:
            pass


def _landing_entries(
    puts: Mapping[bytes, bytes], deletes: frozenset[bytes], sorted_keys: dict[bytes, list[bytes]], prefix: bytes,
    reverse: bool, start: bytes | None = None,
) -> list[tuple[bytes, bytes | None]]:
    """A landing batch's entries under `prefix` (from `start` on) in key order (None: deleted); `sorted_keys` holds
    its keys sorted as scans first need them (`_landing_keys`)."""
    keys = _landing_keys(puts, deletes, sorted_keys, prefix)
    out: list[tuple[bytes, bytes | None]] = []
    for i in range(bisect_left(keys, prefix), len(keys)):
        key = keys[i]
        if not key.startswith(prefix):
            break
        if in_range(key, reverse, start):
            out.append((key, None if key in deletes else puts[key]))
    if reverse:
        out.reverse()
    return out


def _landing_keys(
    puts: Mapping[bytes, bytes], deletes: frozenset[bytes], sorted_keys: dict[bytes, list[bytes]], prefix: bytes,
) -> list[bytes]:
    """Sorted keys of a landing batch among which are all those under `prefix`: those of its group (its first
    LANDING_GROUP bytes) once sorted, else those under the prefix alone while fewer than LANDING_NARROW_SCANS lists
    are kept, else the group's, sorted now. Only keys sharing the scan's first bytes are ever sorted: a block's batch
    holds tens of thousands of entries (sorting all of them cost ~80 ms a block)."""
    group = prefix[:LANDING_GROUP]
    keys = sorted_keys.get(group)
    if keys is not None:
        return keys
    if len(prefix) > len(group):
        keys = sorted_keys.get(prefix)
        if keys is not None:
            return keys
        if len(sorted_keys) < LANDING_NARROW_SCANS:
            group = prefix
    wanted = methodcaller("startswith", group)
    keys = sorted(set(filter(wanted, puts)).union(filter(wanted, deletes)))
    sorted_keys[group] = keys
    return keys


def _seek(db: plyvel.DB, prefix: bytes, reverse: bool, start: bytes) -> plyvel.Iterator:
    """An iterator over the keys under `prefix` from `start` on, in the scan's direction (a descending one ends at
    the first key outside the prefix: plyvel misses a one-key range when it is given both ends)."""
    end = prefix_end(prefix)
    if reverse:
        above = start + b"\x00"  # the least key above `start`: stops are exclusive
        return _within(db.iterator(stop=above if end is None else min(above, end), reverse=True), prefix)
    return db.iterator(start=max(start, prefix), stop=end)


def _within(it: plyvel.Iterator, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
    with it:
        for key, value in it:
            if not key.startswith(prefix):
                return
            yield key, value


def _merged(
    stored: Iterator[tuple[bytes, bytes]], pending: list[tuple[bytes, bytes | None]], reverse: bool
) -> Iterator[tuple[bytes, bytes]]:
    """Key-ordered `stored` pairs with `pending` (same order; None = deleted) laid over them."""
    i, n = 0, len(pending)
    for key, value in stored:
        while i < n and (pending[i][0] > key if reverse else pending[i][0] < key):
            if pending[i][1] is not None:
                yield pending[i]  # type: ignore[misc]
            i += 1
        if i < n and pending[i][0] == key:
            if pending[i][1] is not None:
                yield pending[i]  # type: ignore[misc]
            i += 1
            continue
        yield key, value
    for entry in pending[i:]:
        if entry[1] is not None:
            yield entry  # type: ignore[misc]
