"""Scans that start at a key (`iterate(prefix, reverse, start)`): every backend, a write-behind batch still in
flight, the flat state and a past block's state, all against the same scan filtered by hand."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.chaindb import FlatState
from storage.history import HistoricalState
from storage.kv import KeyValueStore
from storage.leveldb import LevelDBStore
from storage.memory import MemoryStore

from .test_history import PREFIXES, build
from .test_write_behind import hold_writer

KEYS = [b"a", b"a\x00", b"a\x01", b"a\xff", b"a\xff\xff", b"ab", b"ab\x00", b"b", b"b\xff", b"\xff", b"\xff\xff\x01"]
STARTS = [b"", b"a", b"a\x00", b"a\x02", b"a\xff", b"a\xff\xff\xff", b"ab", b"b", b"c", b"\xff", b"\xff\xff\xff"]
SCAN_PREFIXES = [b"", b"a", b"a\xff", b"ab", b"b", b"\xff", b"\xff\xff", b"z"]


def by_hand(items: dict[bytes, bytes], prefix: bytes, reverse: bool, start: bytes | None) -> list[tuple[bytes, bytes]]:
    out = sorted((k, v) for k, v in items.items() if k.startswith(prefix))
    if start is not None:
        out = [(k, v) for k, v in out if (k <= start if reverse else k >= start)]
    return out[::-1] if reverse else out


@pytest.fixture(params=["memory", "leveldb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyValueStore]:
    kv: KeyValueStore = MemoryStore() if request.param == "memory" else LevelDBStore(tmp_path / "db")
    with kv:
        yield kv


def test_a_scan_from_a_key_is_the_scan_without_the_keys_before_it(store: KeyValueStore) -> None:
    items = {k: bytes([i]) for i, k in enumerate(KEYS)}
    store.write(items)
    for prefix in SCAN_PREFIXES:
        for reverse in (False, True):
            assert list(store.iterate(prefix, reverse)) == by_hand(items, prefix, reverse, None)
            for start in STARTS:
                assert list(store.iterate(prefix, reverse, start)) == by_hand(items, prefix, reverse, start), (
                    prefix, reverse, start)


@pytest.mark.parametrize("seed", [3, 4])
def test_scans_between_writes_that_add_change_and_remove_keys_see_each_write(store: KeyValueStore,
                                                                              seed: int) -> None:
    """The memory store keeps its keys sorted between writes: a write that only changes values keeps the order, one
    that adds or removes a key (in the same batch as a change, a delete of a missing key) must not leave it stale."""
    rng = random.Random(seed)
    pool = KEYS + [bytes([rng.choice(b"ab\xff"), rng.randrange(256)]) for _ in range(20)]
    items: dict[bytes, bytes] = {}
    for step in range(60):
        puts = {k: bytes([step]) for k in rng.sample(pool, rng.randrange(4))}
        deletes = [k for k in rng.sample(pool, rng.randrange(3)) if k not in puts]
        store.write(puts, deletes)
        items.update(puts)
        for key in deletes:
            items.pop(key, None)
        prefix, start = rng.choice(SCAN_PREFIXES), rng.choice([None, *STARTS])
        for reverse in (False, True):
            assert list(store.iterate(prefix, reverse, start)) == by_hand(items, prefix, reverse, start), step


def test_a_seek_sees_a_batch_still_landing(tmp_path: Path) -> None:
    with LevelDBStore(tmp_path / "db") as db:
        items = {k: b"old" for k in KEYS}
        db.write(items, sync=True)
        gate = hold_writer(db)
        puts, deletes = {b"a\x00": b"new", b"a\x02": b"added", b"b\x00": b"added"}, [b"ab", b"\xff"]
        db.write_behind(puts, deletes)
        items.update(puts)
        for key in deletes:
            items.pop(key)
        assert db._landing is not None and not db._landing.done()  # noqa: SLF001
        for prefix in SCAN_PREFIXES:
            for reverse in (False, True):
                for start in STARTS:
                    assert list(db.iterate(prefix, reverse, start)) == by_hand(items, prefix, reverse, start)
        gate.set()
        db.flush()


@pytest.mark.parametrize("seed", [1, 2])
def test_the_head_and_past_states_seek_like_a_filtered_scan(seed: int) -> None:
    heights = 12
    db, truth = build(seed, heights)
    rng = random.Random(seed)
    starts = [b"", b"a", b"ab\x05", b"b\x03", b"c\x00\x07", b"zz"] + [bytes([rng.choice(b"abc"), rng.randrange(12)])
                                                                       for _ in range(6)]
    flat = FlatState(db.kv)
    for prefix in PREFIXES:
        for reverse in (False, True):
            for start in starts:
                assert list(flat.iterate(prefix, reverse, start)) == by_hand(truth[heights], prefix, reverse, start)
    for height in range(heights + 1):
        view = HistoricalState(db, heights, height)
        for prefix in PREFIXES:
            for reverse in (False, True):
                assert list(view.iterate(prefix, reverse)) == by_hand(truth[height], prefix, reverse, None)
                for start in starts:
                    assert list(view.iterate(prefix, reverse, start)) == by_hand(truth[height], prefix, reverse,
                                                                                 start), (height, prefix, start)


def test_a_descending_scan_finds_a_key_equal_to_its_prefix(tmp_path: Path) -> None:
    """plyvel's `iterator(prefix=p, reverse=True)` misses the key `p` itself when no longer key under `p` follows it
    (found by the write-behind scan test); the store's descending scans must not."""
    items = {b"b\x00\x00b": b"1", b"b\x00b": b"2", b"b\x01": b"3", b"\xff": b"4"}
    with LevelDBStore(tmp_path / "db") as db:
        db.write(items, sync=True)
        for prefix in (b"b\x00b", b"b\x01", b"\xff", b"b\x00", b"b"):
            assert list(db.iterate(prefix, reverse=True)) == by_hand(items, prefix, True, None), prefix
            assert list(db.iterate(prefix)) == by_hand(items, prefix, False, None), prefix
