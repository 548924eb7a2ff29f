"""The LevelDB read-ahead (storage/read_ahead.py, storage/_leveldb_multiget.c): every `get` gives what the plain read
gives (present, absent, in a batch still landing, deleted by it, written or deleted after the read-ahead began), a
reopen or close while it reads is safe, and the compiled part refuses any object that is not plyvel's open DB laid
out as it checks."""

from __future__ import annotations

import concurrent.futures
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from btt_chain.primitives.errors import StorageError
from storage import read_ahead, schema
from storage.chaindb import FlatState
from storage.leveldb import LevelDBStore
from storage.leveldb_build import plyvel
from storage.memory import MemoryStore
from tests.support.held_writer import hold_writer

compiled = pytest.mark.skipif(not read_ahead.AVAILABLE, reason=f"no read-ahead here: {read_ahead.WHY_NOT}")

BASE = {b"k%03d" % i: b"v%03d" % i for i in range(0, 200, 2)}
"""Even keys present; odd keys absent."""
KEYS = [b"k%03d" % i for i in range(200)]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[LevelDBStore]:
    with LevelDBStore(tmp_path / "db") as store:
        store.write(BASE, sync=True)
        yield store


def wait_reads(store: LevelDBStore) -> None:
    ahead = store._ahead  # noqa: SLF001
    assert ahead is not None
    ahead.wait()
    assert ahead.done() > 0


def plain(store: LevelDBStore, keys: list[bytes]) -> list[bytes | None]:
    """The values the store's plain path reads (no read-ahead running)."""
    store.end_read_ahead()
    return [store.get(k) for k in keys]


def test_the_compiled_part_built_beside_the_plyvel_it_checks_is_used() -> None:
    # a refusal on the very version the layout was written for would switch the read-ahead off with nobody told
    if not read_ahead.BUILT or plyvel.__version__ != read_ahead.PLYVEL_VERSION:
        pytest.skip(f"no read-ahead here: {read_ahead.WHY_NOT}")
    assert read_ahead.AVAILABLE, read_ahead.WHY_NOT


@compiled
def test_present_and_absent_keys_read_ahead_are_what_the_plain_read_gives(db: LevelDBStore) -> None:
    assert db.read_ahead(KEYS) == len(KEYS)
    wait_reads(db)
    ahead = [db.get(k) for k in KEYS]
    assert ahead == plain(db, KEYS)
    assert ahead[:4] == [b"v000", None, b"v002", None]


@compiled
def test_the_same_key_twice_is_read_once(db: LevelDBStore) -> None:
    assert db.read_ahead([b"k002", b"k003", b"k002", b"k003"]) == 2
    wait_reads(db)
    assert [db.get(b"k002"), db.get(b"k003")] == [b"v002", None]


@compiled
def test_a_batch_still_landing_wins_even_after_it_lands_while_the_read_ahead_holds_older_values(
    db: LevelDBStore,
) -> None:
    # the attack: the previous block's batch is in flight; the read-ahead must not read the keys it writes, or once
    # the batch lands (and the store stops laying it over reads) the read-ahead's older values would be served
    gate = hold_writer(db)
    db.write_behind({b"k000": b"changed", b"k001": b"born"}, [b"k002"])
    reading = db.read_ahead(KEYS)
    assert reading == len(KEYS) - 3, "the landing batch's keys are left to it"
    wait_reads(db)
    expected = dict.fromkeys(KEYS) | BASE | {b"k000": b"changed", b"k001": b"born", b"k002": None}
    assert [db.get(k) for k in KEYS] == [expected[k] for k in KEYS]
    gate.set()
    db.flush()  # lands and forgets the batch; the read-ahead still runs (a flush writes nothing)
    assert db._ahead is not None  # noqa: SLF001
    assert [db.get(k) for k in KEYS] == [expected[k] for k in KEYS]
    assert [db.get(k) for k in KEYS] == plain(db, KEYS)


@compiled
@pytest.mark.parametrize("behind", [False, True])
def test_a_write_after_the_read_ahead_began_ends_it_and_is_read(db: LevelDBStore, behind: bool) -> None:
    db.read_ahead(KEYS)
    wait_reads(db)
    assert db.get(b"k004") == b"v004"
    puts, deletes = {b"k004": b"new", b"k005": b"born"}, [b"k006"]
    if behind:
        db.write_behind(puts, deletes)
    else:
        db.write(puts, deletes)
    assert db._ahead is None  # noqa: SLF001
    assert [db.get(b"k004"), db.get(b"k005"), db.get(b"k006")] == [b"new", b"born", None]
    db.flush()
    assert [db.get(b"k004"), db.get(b"k005"), db.get(b"k006")] == [b"new", b"born", None]


@compiled
def test_a_value_in_the_block_files_is_read_ahead_as_its_value(db: LevelDBStore) -> None:
    key = schema.BLOCK + b"\x01" * 32
    db.write({key: b"x" * 5000})
    assert db.read_ahead([key]) == 1
    wait_reads(db)
    assert db.get(key) == b"x" * 5000


@compiled
def test_a_reopen_or_a_close_while_reading_ahead_is_safe(db: LevelDBStore) -> None:
    many = [b"m%06d" % i for i in range(20_000)]
    db.write(dict.fromkeys(many[::3], b"m"))
    for _ in range(5):
        db.read_ahead(many)
        db.release_mapped_pages()  # stops and joins the read-ahead before the database is closed
        assert db._ahead is None  # noqa: SLF001
    assert [db.get(k) for k in many[:9]] == [b"m", None, None] * 3
    db.read_ahead(many)
    db.close()
    assert db._ahead is None  # noqa: SLF001
    with pytest.raises(StorageError, match="closed"):
        db.get(b"k000")
    assert db.read_ahead(KEYS) == 0, "a closed store starts nothing"


@compiled
def test_reads_ahead_started_while_another_thread_reopens_never_run_on_a_closed_database(db: LevelDBStore) -> None:
    # the store is read by one thread at a time (a plain read during a reopen fails too); what another thread may do
    # is release the mapped pages (warp serving) while the importing thread starts a read-ahead: either waits for the
    # other, so no read-ahead reads a database being closed
    many = [b"m%06d" % i for i in range(2_000)]
    stop = threading.Event()

    def reopen() -> int:
        count = 0
        while not stop.is_set():
            db.release_mapped_pages()
            count += 1
        return count

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        reopens = pool.submit(reopen)
        try:
            started = sum(db.read_ahead(many + KEYS) for _ in range(60))
        finally:
            stop.set()
        assert reopens.result() > 0
    assert started > 0
    db.read_ahead(KEYS)
    wait_reads(db)
    assert [db.get(k) for k in KEYS] == plain(db, KEYS)


@compiled
def test_a_forked_child_ends_a_read_ahead_it_inherited_without_waiting_for_a_thread_it_lacks(db: LevelDBStore) -> None:
    db.read_ahead([b"m%06d" % i for i in range(50_000)])
    pid = os.fork()
    if pid == 0:  # the child: no reader thread here; closing must neither join nor hang
        try:
            db.end_read_ahead()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    db.end_read_ahead()
    assert db.get(b"k000") == b"v000"


@compiled
def test_a_close_returns_only_once_the_reader_is_joined_even_while_another_thread_waits_for_it(tmp_path: Path) -> None:
    db = plyvel.DB(str(tmp_path / "db"), create_if_missing=True)
    reads = read_ahead.start(db, [b"m%07d" % i for i in range(300_000)])
    assert reads is not None
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(reads.wait)
        reads.close()
        stopped_at = reads.done()
        waiting.result()
    assert reads.done() == stopped_at, "the reader went on reading after close returned"
    db.close()  # safe: no thread reads it any more


def test_without_the_compiled_part_nothing_is_read_ahead_and_every_value_is_the_same(
    db: LevelDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = plain(db, KEYS)
    monkeypatch.setattr(read_ahead, "AVAILABLE", False)
    monkeypatch.setattr(read_ahead, "_native", None)
    assert db.read_ahead(KEYS) == 0
    assert db._ahead is None  # noqa: SLF001
    assert [db.get(k) for k in KEYS] == before
    assert read_ahead.start(plyvel.DB(str(db.path.parent / "other"), create_if_missing=True), KEYS) is None


def test_keys_that_are_not_bytes_are_refused_and_start_nothing(db: LevelDBStore) -> None:
    with pytest.raises(TypeError, match="must be bytes"):
        db.read_ahead([b"k000", "k001"])  # type: ignore[list-item]
    assert db._ahead is None  # noqa: SLF001


@compiled
def test_the_layout_check_refuses_any_object_but_plyvels_open_db(tmp_path: Path) -> None:
    native = read_ahead._native  # noqa: SLF001
    for wrong in (object(), b"db", plyvel.DB(str(tmp_path / "a"), create_if_missing=True).write_batch()):
        with pytest.raises(native.LayoutError, match="not exactly the configured"):
            native.ReadAhead(wrong, [b"k"])
    closed = plyvel.DB(str(tmp_path / "b"), create_if_missing=True)
    closed.close()
    with pytest.raises(native.LayoutError, match="closed"):
        native.ReadAhead(closed, [b"k"])
    assert read_ahead.start(closed, [b"k"]) is None
    with pytest.raises(TypeError):  # plyvel's DB is final: no subclass can carry another layout
        type("Sub", (plyvel.DB,), {})
    opened = plyvel.DB(str(tmp_path / "c"), create_if_missing=True)
    with pytest.raises(ValueError, match="distinct"):
        native.ReadAhead(opened, [b"k", b"k"])
    with pytest.raises(TypeError, match="bytes"):
        native.ReadAhead(opened, [b"k", bytearray(b"j")])
    opened.close()


@compiled
def test_configure_refuses_a_wrong_type_or_library_and_keeps_what_it_had(tmp_path: Path) -> None:
    native = read_ahead._native  # noqa: SLF001
    library = read_ahead.leveldb_library()
    assert library is not None
    snappy = [p for p in os.listdir(os.path.dirname(library)) if p.startswith("libsnappy")]
    with pytest.raises(native.LayoutError, match="size"):
        native.configure(library, type(plyvel.DB(str(tmp_path / "w"), create_if_missing=True).write_batch()))
    with pytest.raises(native.LayoutError, match="not loaded"):
        native.configure(str(tmp_path / "libleveldb.so.1"), plyvel.DB)
    if snappy:  # loaded (plyvel's wheel ships it), but no LevelDB C API in it
        with pytest.raises(native.LayoutError, match="C API"):
            native.configure(os.path.join(os.path.dirname(library), snappy[0]), plyvel.DB)
    db = plyvel.DB(str(tmp_path / "db"), create_if_missing=True)
    db.put(b"a", b"1")
    reads = read_ahead.start(db, [b"a", b"b"])
    assert reads is not None
    reads.wait()
    assert [reads.get(b"a", 0), reads.get(b"b", 0), reads.get(b"c", 0)] == [b"1", None, 0]
    reads.close()
    assert reads.get(b"a", 0) == 0, "a closed read-ahead gives nothing"
    db.close()


def test_the_library_is_found_only_when_exactly_one_is_mapped(tmp_path: Path) -> None:
    line = "7f0000000000-7f0000001000 r-xp 00000000 08:01 123 {}\n"
    maps = tmp_path / "maps"
    maps.write_text(line.format("/x/libleveldb-1.so.1") * 2 + line.format("/x/libsnappy.so") + "7f-8f rw-p 0 0 0\n")
    assert read_ahead.leveldb_library(str(maps)) == "/x/libleveldb-1.so.1"
    maps.write_text(line.format("/x/libleveldb-1.so.1") + line.format("/y/libleveldb.so.1"))
    assert read_ahead.leveldb_library(str(maps)) is None
    maps.write_text(line.format("/x/libsnappy.so"))
    assert read_ahead.leveldb_library(str(maps)) is None
    assert read_ahead.leveldb_library(str(tmp_path / "absent")) is None


@compiled
def test_flat_state_reads_ahead_only_what_its_cache_lacks_and_the_cache_wins(db: LevelDBStore) -> None:
    db.write({schema.STATE + b"a": b"1", schema.STATE + b"b": b"2"})
    state = FlatState(db)
    assert state.get(b"a") == b"1"
    state.changed({b"a": b"cached"})  # a change the cache holds (its write is the caller's)
    assert state.read_ahead([b"a", b"b", b"c", b"b"]) == 2
    wait_reads(db)
    assert [state.get(b"a"), state.get(b"b"), state.get(b"c")] == [b"cached", b"2", None]
    state.end_read_ahead()
    assert db._ahead is None  # noqa: SLF001


def test_flat_state_over_a_store_without_reads_ahead_reads_nothing_ahead() -> None:
    store = MemoryStore()
    store.write({schema.STATE + b"a": b"1"})
    state = FlatState(store)
    assert state.read_ahead([b"a", b"b"]) == 0
    state.end_read_ahead()
    assert [state.get(b"a"), state.get(b"b")] == [b"1", None]


def paused(store: LevelDBStore, keys: list[bytes]) -> read_ahead.Reads:
    """A read-ahead of `keys` whose thread never starts, installed as the store's: each key is read by the first
    caller that asks for it, as one the thread has not reached yet."""
    native = read_ahead._native  # noqa: SLF001
    assert native is not None
    ahead: read_ahead.Reads = native.ReadAhead(store._db, keys, start=False)  # noqa: SLF001
    store._ahead = ahead  # noqa: SLF001
    return ahead


@compiled
def test_a_key_the_thread_has_not_reached_is_read_by_the_caller_at_once_and_only_once(db: LevelDBStore) -> None:
    want = plain(db, KEYS)
    ahead = paused(db, KEYS)
    assert ahead.done() == 0
    assert [db.get(k) for k in KEYS] == want
    assert ahead.taken() == len(KEYS) and ahead.done() == len(KEYS)
    assert [db.get(k) for k in KEYS] == want  # from the slots now: nothing is read again
    assert ahead.taken() == len(KEYS)
    assert ahead.get(b"not in the list", "default") == "default"
    assert ahead.get(1, "default") == "default"  # type: ignore[arg-type]
    ahead.close()
    assert ahead.get(KEYS[0], "default") == "default"  # closed: the plain read's


@compiled
def test_the_thread_jumps_ahead_of_a_caller_that_caught_it_up_and_leaves_the_keys_between_to_it(
    db: LevelDBStore,
) -> None:
    native = read_ahead._native  # noqa: SLF001
    assert native is not None
    want = plain(db, KEYS)
    ahead = paused(db, KEYS)
    asked = 10
    assert [ahead.get(k, "x") for k in KEYS[:asked]] == want[:asked]  # the caller is at slot 9
    ahead.start()
    ahead.wait()
    jumped_to = asked - 1 + native.LEAD
    # the thread read from slot 9 + LEAD on, never a slot the caller is about to ask for
    assert ahead.done() == asked + len(KEYS) - jumped_to
    assert ahead.taken() == asked
    assert [ahead.get(k, "x") for k in KEYS] == want  # the keys in between: read by the caller, each once
    assert ahead.taken() == asked + jumped_to - asked and ahead.done() == len(KEYS)
    ahead.start()  # once only: a second start does nothing
    ahead.close()
    ahead.start()  # closed: nothing
    assert ahead.get(KEYS[0], "x") == "x"


@compiled
def test_a_thread_well_ahead_of_the_caller_reads_every_key(db: LevelDBStore) -> None:
    want = plain(db, KEYS)
    ahead = paused(db, KEYS)
    ahead.start()
    ahead.wait()
    assert ahead.done() == len(KEYS) and ahead.taken() == 0
    assert [ahead.get(k, "x") for k in KEYS] == want and ahead.taken() == 0


@compiled
def test_the_thread_and_callers_racing_for_the_same_keys_agree_and_each_key_is_read(tmp_path: Path) -> None:
    with LevelDBStore(tmp_path / "db") as store:
        keys = [b"r%05d" % i for i in range(6000)]
        store.write({k: k * 3 for k in keys[::3]}, sync=True)
        want = plain(store, keys)
        for round_ in range(4):
            assert store.read_ahead(keys) == len(keys)
            ahead = store._ahead  # noqa: SLF001
            assert ahead is not None
            order = keys[::-1] if round_ % 2 else keys[len(keys) // 2:] + keys[: len(keys) // 2]
            other: list[bytes | None] = []

            def race(ahead: read_ahead.Reads = ahead, other: list[bytes | None] = other) -> None:
                other.extend(ahead.get(k, None) for k in keys)

            racer = threading.Thread(target=race)
            racer.start()
            mine = {k: store.get(k) for k in order}
            racer.join()
            assert [mine[k] for k in keys] == want and other == want
            ahead.wait()
            assert ahead.done() == len(keys)
            store.end_read_ahead()


# --- get_values: many keys read by a thread beside the caller (the warp server's chunks) ----------------------------


def test_get_values_gives_what_get_gives_with_a_batch_landing_repeats_and_a_block_file_value(db: LevelDBStore) -> None:
    blob = schema.BLOCK + b"\x02" * 32
    db.write({blob: b"y" * 5000})
    gate = hold_writer(db)
    db.write_behind({b"k000": b"changed", b"k001": b"born"}, [b"k002"])
    keys = KEYS + KEYS[:30] + [blob, b"never"]  # repeats, a block-file value, an absent key
    assert len(keys) >= LevelDBStore_values_beside()
    got = db.get_values(keys)
    assert got == [db.get(k) for k in keys]
    assert got[:3] == [b"changed", b"born", None] and got[-2:] == [b"y" * 5000, None]
    gate.set()
    db.flush()
    assert db.get_values(keys) == [db.get(k) for k in keys]
    assert db._ahead is None  # noqa: SLF001  (none of its own is left behind, nor installed as the store's)


def LevelDBStore_values_beside() -> int:  # noqa: N802
    from storage.leveldb import VALUES_BESIDE

    return VALUES_BESIDE


def test_get_values_of_a_few_keys_refuses_what_get_refuses_and_a_closed_store_is_an_error(tmp_path: Path) -> None:
    store = LevelDBStore(tmp_path / "db")
    store.write(BASE)
    assert store.get_values([b"k000", b"k001"]) == [b"v000", None]
    assert store.get_values([]) == []
    for keys in ([b"k000", "text"], [b"k%03d" % i for i in range(100)] + [7]):
        with pytest.raises(TypeError):
            store.get_values(keys)  # type: ignore[arg-type]
    store.close()
    for keys in ([b"k000"], KEYS):
        with pytest.raises(StorageError, match="closed"):
            store.get_values(keys)


@compiled
def test_get_values_holds_off_a_write_until_it_has_read_and_the_store_read_ahead_survives(db: LevelDBStore) -> None:
    many = [b"w%05d" % i for i in range(3000)]
    db.write({k: k * 2 for k in many[::2]})
    db.read_ahead(KEYS)  # the import's own read-ahead is not the one get_values uses
    ahead = db._ahead  # noqa: SLF001
    wrote = threading.Event()

    def writer() -> None:
        db.write({many[1]: b"late"})
        wrote.set()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        done = pool.submit(writer)  # races the read: it lands before it or waits for it, never inside it
        got = db.get_values(many)
        done.result(timeout=30)
    assert wrote.is_set()
    want = [k * 2 if i % 2 == 0 else None for i, k in enumerate(many)]
    assert got[1] in (None, b"late") and got[:1] + got[2:] == want[:1] + want[2:]
    assert db.get(many[1]) == b"late" and db.get_values(many)[1] == b"late"
    assert ahead is not None and db._ahead is None  # noqa: SLF001  (the write ended the store's read-ahead, as always)


def test_flat_state_get_values_reads_the_cache_first_and_keeps_nothing_it_reads(db: LevelDBStore) -> None:
    state = FlatState(db)
    state_keys = [b"s%04d" % i for i in range(300)]
    db.write({schema.STATE + k: b"x" + k for k in state_keys[::3]})
    assert [state.get(state_keys[0]), state.get(state_keys[1])] == [b"x" + state_keys[0], None]  # cached
    state.changed({state_keys[0]: b"cached", state_keys[1]: b"also"})  # a block's write, not landed in the store
    got = state.get_values(state_keys)
    assert got == [state.get(k) for k in state_keys]
    assert got[:2] == [b"cached", b"also"]
    fresh = FlatState(db)
    fresh.get_values(state_keys)
    assert fresh._cache == {} and fresh._old == {}  # noqa: SLF001


@compiled
def test_reads_ahead_leave_leveldbs_block_cache_as_it_was_and_plain_reads_fill_it(tmp_path: Path) -> None:
    # hashed keys: a block read for one holds nothing a later read is likelier to want, and the flat state keeps the
    # value; a block kept would cost an insert and, in a full cache, an eviction
    values = {os.urandom(32): os.urandom(100) for _ in range(3_000)}
    keys = sorted(values)
    with LevelDBStore(tmp_path / "db") as store:
        store.write(values, sync=True)
        store.compact()
        store.release_mapped_pages()  # opened again: an empty block cache, every table on disk
        empty = store.memory_bytes()
        assert store.read_ahead(keys) == len(keys)
        wait_reads(store)
        assert [store.get(k) for k in keys] == [values[k] for k in keys]
        assert store.get_values(keys) == [values[k] for k in keys]  # the warp server's bulk reads likewise
        assert store.memory_bytes() == empty
        assert plain(store, keys) == [values[k] for k in keys]
        assert store.memory_bytes() > empty + 50 * 4096  # the ~100 blocks of 4 KiB the keys lie in
