"""LevelDB's write-behind commit: a batch still being written is seen by every read, lands whole, and a failed one
fails the store instead of being forgotten."""

from __future__ import annotations

import concurrent.futures
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from btt_chain.primitives.errors import StorageError
from storage.leveldb import LANDING_NARROW_SCANS, LevelDBStore
from storage.leveldb_build import plyvel
from storage.memory import MemoryStore
from tests.support.held_writer import hold_writer


@pytest.fixture
def db(tmp_path: Path) -> Iterator[LevelDBStore]:
    with LevelDBStore(tmp_path / "db") as store:
        yield store


def views(kv: LevelDBStore | MemoryStore, keys: list[bytes]) -> tuple[object, ...]:
    return (
        [kv.get(k) for k in keys],
        list(kv.iterate()),
        list(kv.iterate(reverse=True)),
        list(kv.iterate(b"a")),
        list(kv.iterate(b"a", reverse=True)),
        list(kv.iterate(b"b1")),
    )


def test_reads_see_a_batch_that_has_not_landed(db: LevelDBStore, tmp_path: Path) -> None:
    reference = MemoryStore()
    base = {b"a1": b"1", b"a2": b"2", b"a3": b"3", b"b1": b"x", b"c": b"y"}
    db.write(base, sync=True)
    reference.write(base)
    gate = hold_writer(db)
    puts, deletes = {b"a0": b"new", b"a2": b"changed", b"b10": b"", b"z": b"z"}, [b"a3", b"c", b"absent"]
    db.write_behind(puts, deletes)
    reference.write(puts, deletes)
    keys = sorted({*base, *puts, *deletes})
    assert db._landing is not None and not db._landing.done(), "the batch must still be in flight"  # noqa: SLF001
    assert views(db, keys) == views(reference, keys)
    gate.set()
    db.flush()
    assert views(db, keys) == views(reference, keys)
    db.close()
    with LevelDBStore(tmp_path / "db") as reopened:
        assert views(reopened, keys) == views(reference, keys), "what was written behind is on disk after flush"


def test_write_behind_matches_plain_writes_over_random_batches(db: LevelDBStore) -> None:
    rng = random.Random(7)
    reference = MemoryStore()
    keys = [bytes([rng.choice(b"ab"), rng.randrange(6)]) for _ in range(40)]
    for round_ in range(60):
        gate = hold_writer(db) if round_ % 3 == 0 else None
        puts = {rng.choice(keys): rng.randbytes(rng.randrange(3)) for _ in range(rng.randrange(6))}
        deletes = [rng.choice(keys) for _ in range(rng.randrange(4))]
        if rng.random() < 0.5:
            db.write_behind(puts, deletes)
        else:
            db.write(puts, deletes)
        reference.write(puts, deletes)
        assert views(db, keys) == views(reference, keys), f"round {round_}"
        if gate is not None:
            gate.set()


def test_a_plain_write_waits_for_the_batch_ahead_of_it(db: LevelDBStore, tmp_path: Path) -> None:
    gate = hold_writer(db)
    db.write_behind({b"k": b"behind"})
    threading.Timer(0.2, gate.set).start()
    db.write({b"k": b"after"}, sync=True)  # must land after the earlier batch, never under it
    db.close()
    with LevelDBStore(tmp_path / "db") as reopened:
        assert reopened.get(b"k") == b"after"


def test_a_bad_batch_is_refused_before_anything_is_in_flight(db: LevelDBStore) -> None:
    db.write({b"keep": b"me"})
    with pytest.raises(TypeError):
        db.write_behind({b"ok": b"1", b"bad": "text"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        db.write_behind({b"ok": b"1"}, [7])  # type: ignore[list-item]
    assert list(db.iterate()) == [(b"keep", b"me")]


def test_a_failed_background_write_fails_every_later_call(db: LevelDBStore) -> None:
    failed: concurrent.futures.Future[None] = concurrent.futures.Future()
    failed.set_exception(plyvel.IOError(b"IO error: No space left on device"))
    db._landing = failed  # noqa: SLF001 - a write the disk refused
    with pytest.raises(StorageError, match="background write failed.*No space left"):
        db.write({b"a": b"1"})
    for call in (lambda: db.get(b"a"), lambda: list(db.iterate()), db.flush, lambda: db.write_behind({})):
        with pytest.raises(StorageError, match="background write failed"):
            call()
    db.close()  # closing a failed store still releases it


def test_scans_of_many_prefixes_over_one_landing_batch_see_only_their_keys(db: LevelDBStore) -> None:
    """Scans sort the landing batch by the first bytes of their prefix and keep what they sorted for the next scan:
    a scan of another prefix, a shorter or longer one, or one sharing only the first byte must still see exactly
    its own keys, in order, from a seek point too."""
    rng = random.Random(11)
    reference = MemoryStore()
    alphabet = b"ab:\x00\xff"
    keys = sorted({bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 5))) for _ in range(300)})
    base = {k: b"old" for k in keys[::2]}
    db.write(base, sync=True)
    reference.write(base)
    prefixes = sorted({k[: rng.randrange(0, 4)] for k in keys})
    for round_ in range(12):
        gate = hold_writer(db)
        puts = {rng.choice(keys): rng.randbytes(2) for _ in range(40)}
        deletes = [rng.choice(keys) for _ in range(20)]
        db.write_behind(puts, deletes)
        reference.write(puts, deletes)
        for prefix in rng.sample(prefixes, len(prefixes)):
            start = rng.choice(keys)
            for reverse in (False, True):
                assert list(db.iterate(prefix, reverse)) == list(reference.iterate(prefix, reverse)), (round_, prefix)
                assert list(db.iterate(prefix, reverse, start)) == list(reference.iterate(prefix, reverse, start))
        gate.set()
        db.flush()


def test_the_first_scans_over_a_landing_batch_sort_only_their_own_keys(db: LevelDBStore) -> None:
    """A block's batch holds thousands of keys under the state's two-byte prefix, and the next block scans one item
    while it lands: that scan sorts the batch's keys under its own prefix only (a pass over the batch), not every
    key of the group. Past LANDING_NARROW_SCANS prefixes the group is sorted once and serves the later scans; every
    scan sees exactly its keys, in order, either way."""
    reference = MemoryStore()
    base = {b"s:" + bytes([i % 5]) + i.to_bytes(4, "big"): b"old" for i in range(0, 4_000, 3)}
    db.write(base, sync=True)
    reference.write(base)
    gate = hold_writer(db)
    puts = {b"s:" + bytes([i % 7]) + i.to_bytes(4, "big"): b"new" for i in range(4_000)}
    deletes = [b"s:\x04" + i.to_bytes(4, "big") for i in range(4, 4_000, 35)]
    db.write_behind(puts, deletes)
    reference.write(puts, deletes)
    try:
        first = b"s:\x03"
        assert list(db.iterate(first)) == list(reference.iterate(first))
        assert db._landing_sorted == {first: sorted(k for k in puts if k.startswith(first))}  # not the 4,000 of b"s:"
        for i in range(7):
            prefix = b"s:" + bytes([i])
            for reverse in (False, True):
                assert list(db.iterate(prefix, reverse)) == list(reference.iterate(prefix, reverse)), prefix
                start = prefix + (1_000).to_bytes(4, "big")
                assert list(db.iterate(prefix, reverse, start)) == list(reference.iterate(prefix, reverse, start))
        assert len(db._landing_sorted) == LANDING_NARROW_SCANS + 1  # the narrow lists, then the group's
        assert len(db._landing_sorted[b"s:"]) == len(set(puts) | set(deletes))
        assert list(db.iterate(b"s:")) == list(reference.iterate(b"s:"))
    finally:
        gate.set()
        db.flush()
    assert list(db.iterate(b"s:")) == list(reference.iterate(b"s:"))


class _SnapshotThenLand:
    """Stands in for the plyvel handle: an iterator is created (its snapshot taken) while a batch is still in
    flight, and that batch then lands and is settled by another thread before the scan goes on, the moment a scan
    on the state tree's thread can meet while the chain's thread finishes a write."""

    def __init__(self, store: LevelDBStore, real: plyvel.DB, gate: threading.Event) -> None:
        self._store, self._real, self._gate = store, real, gate

    def iterator(self, *args: object, **kwargs: object) -> object:
        it = self._real.iterator(*args, **kwargs)  # the snapshot: before the batch lands
        self._gate.set()
        settler = threading.Thread(target=self._store.flush)  # the other thread: the batch lands and is settled
        settler.start()
        settler.join()
        return it

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


def test_a_scan_whose_batch_lands_between_its_snapshot_and_its_check_still_sees_the_batch(db: LevelDBStore) -> None:
    db.write({b"a1": b"old", b"a2": b"gone"})
    gate = hold_writer(db)
    db.write_behind({b"a1": b"new", b"a3": b"added"}, [b"a2"])
    real = db._db  # noqa: SLF001
    db._db = _SnapshotThenLand(db, real, gate)  # type: ignore[assignment]  # noqa: SLF001
    try:
        assert list(db.iterate(b"a")) == [(b"a1", b"new"), (b"a3", b"added")]
    finally:
        db._db = real  # noqa: SLF001
    assert list(db.iterate(b"a")) == [(b"a1", b"new"), (b"a3", b"added")]
