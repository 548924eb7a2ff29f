"""The node's job-outputs store on every backend: round trips, bounds (an insert over one changes nothing),
reopening rebuilds the size index, and an unreadable entry is dropped instead of served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import schema
from storage.kv import KeyValueStore
from storage.leveldb import LevelDBStore
from storage.memory import MemoryStore
from storage.outputs import OutputsStore, OutputsStoreFull, StoredOutputs, encode_entry

ALICE, BOB = b"\xaa" * 32, b"\xbb" * 32
ROOT = b"\x01" * 32


@pytest.fixture(params=["memory", "leveldb"])
def kv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyValueStore]:
    store: KeyValueStore = MemoryStore() if request.param == "memory" else LevelDBStore(tmp_path / "db")
    with store:
        yield store


def test_round_trip_and_remove(kv: KeyValueStore) -> None:
    store = OutputsStore(kv)
    assert store.get(7, ALICE) is None and store.entries == 0
    store.put(7, ALICE, ROOT, [b"\x01\x02", b"\x03\x04"])
    store.put(3, BOB, ROOT, [b"\x09"])
    assert store.get(7, ALICE) == StoredOutputs(ROOT, (b"\x01\x02", b"\x03\x04"))
    assert store.get(7, BOB) is None and store.contains(3, BOB)
    assert store.keys() == [(3, BOB), (7, ALICE)]
    assert kv.get(schema.job_outputs_key(7, ALICE)) == encode_entry(ROOT, [b"\x01\x02", b"\x03\x04"])
    store.remove(7, ALICE)
    assert store.get(7, ALICE) is None and store.keys() == [(3, BOB)]


def test_bounds_refuse_without_changing_anything(kv: KeyValueStore) -> None:
    one = len(encode_entry(ROOT, [b"x" * 100]))
    store = OutputsStore(kv, max_entries=2, max_bytes=2 * one)
    store.put(1, ALICE, ROOT, [b"x" * 100])
    store.put(2, ALICE, ROOT, [b"y" * 100])
    with pytest.raises(OutputsStoreFull, match="holds 2 entries"):
        store.put(3, ALICE, ROOT, [b"z"])
    store.put(2, ALICE, ROOT, [b"w" * 100])  # replacing an entry needs no new room
    with pytest.raises(OutputsStoreFull):
        store.put(2, ALICE, ROOT, [b"w" * 101])
    assert store.get(2, ALICE) == StoredOutputs(ROOT, (b"w" * 100,))
    assert store.keys() == [(1, ALICE), (2, ALICE)] and store.bytes_used == 2 * one


def test_reopening_rebuilds_the_index(tmp_path: Path) -> None:
    with LevelDBStore(tmp_path / "db") as kv:
        OutputsStore(kv).put(5, BOB, ROOT, [b"\x00" * 6] * 3)
    with LevelDBStore(tmp_path / "db") as kv:
        store = OutputsStore(kv)
        assert store.keys() == [(5, BOB)] and store.bytes_used == len(encode_entry(ROOT, [b"\x00" * 6] * 3))


def test_an_unreadable_entry_is_dropped(kv: KeyValueStore) -> None:
    kv.write({schema.job_outputs_key(9, ALICE): b"\xc1junk"})
    store = OutputsStore(kv)
    assert store.entries == 1
    assert store.get(9, ALICE) is None
    assert store.entries == 0 and kv.get(schema.job_outputs_key(9, ALICE)) is None
