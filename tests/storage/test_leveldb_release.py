"""`LevelDBStore.release_mapped_pages` (reopening the database so LevelDB unmaps its tables) keeps every value, a
batch still being written behind, and the store usable; a closed store refuses it; and the state tree asks for it
after an open that read many leaves, with the same root."""

from __future__ import annotations

from pathlib import Path

import pytest

from btt_chain.primitives.errors import StorageError
from storage import state_tree
from storage.leveldb import LevelDBStore
from storage.state_tree import StateTree, leaf_records


def test_release_keeps_every_value_and_a_batch_written_behind(tmp_path: Path) -> None:
    with LevelDBStore(tmp_path / "db") as kv:
        kv.write({b"a%05d" % i: b"v%d" % i for i in range(2000)}, sync=True)
        kv.write_behind({b"b1": b"x", b"a00001": b"changed"}, [b"a00002"])
        kv.release_mapped_pages()
        assert kv.get(b"b1") == b"x" and kv.get(b"a00001") == b"changed" and kv.get(b"a00002") is None
        assert len(list(kv.iterate(b"a"))) == 1999
        kv.write({b"c": b"after"})
        kv.release_mapped_pages()
        assert kv.get(b"c") == b"after"
    with LevelDBStore(tmp_path / "db") as kv:  # and it is all on disk
        assert kv.get(b"b1") == b"x" and kv.get(b"a00002") is None and kv.get(b"c") == b"after"


def test_a_closed_store_refuses_to_release(tmp_path: Path) -> None:
    kv = LevelDBStore(tmp_path / "db")
    kv.close()
    with pytest.raises(StorageError, match="closed"):
        kv.release_mapped_pages()


class CountingStore(LevelDBStore):
    releases = 0

    def release_mapped_pages(self) -> None:
        CountingStore.releases += 1
        super().release_mapped_pages()


def test_the_tree_releases_after_a_big_open_with_the_same_root(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    state = {b"key%d" % i: b"value%d" % i for i in range(300)}
    records = leaf_records(state)
    with CountingStore(tmp_path / "db") as kv:
        kv.write({b"l:" + records[i : i + 32]: records[i + 32 : i + 64] for i in range(0, len(records), 64)},
                 sync=True)
        expected = StateTree(kv).load_records(records)
        monkeypatch.setattr(state_tree, "RELEASE_AFTER_LEAVES", 1_000)
        assert StateTree(kv).open(expected) == 300 and CountingStore.releases == 0  # a small open: kept
        monkeypatch.setattr(state_tree, "RELEASE_AFTER_LEAVES", 300)
        tree = StateTree(kv)
        assert tree.open(expected) == 300 and CountingStore.releases == 1 and tree.root == expected
        assert kv.get(b"l:" + records[:32]) == records[32:64]


def test_release_over_a_budget_waits_for_every_open_scan(tmp_path: Path) -> None:
    with LevelDBStore(tmp_path / "db") as kv:
        kv.write({b"k%03d" % i: b"v" for i in range(100)}, sync=True)
        assert not kv.release_mapped_pages_over(2**62)  # under the budget: kept
        unstarted = kv.iterate(b"k")
        started = kv.iterate(b"k")
        assert next(started) == (b"k000", b"v")
        assert kv.scanning()
        assert not kv.release_mapped_pages_over(0)  # two scans hold iterators: not now
        assert len(list(started)) == 99 and len(list(unstarted)) == 100  # both read to the end, unharmed
        assert not kv.scanning()
        kv.write_behind({b"late": b"x"})
        assert kv.release_mapped_pages_over(0)  # over the budget, no scan: released
        assert kv.get(b"late") == b"x" and len(list(kv.iterate(b"k"))) == 100


def test_an_open_in_sections_lets_memory_go_between_them_and_gives_the_same_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = {b"key%d" % i: b"value%d" % i for i in range(300)}
    records = leaf_records(state)
    with CountingStore(tmp_path / "db") as kv:
        kv.write({b"l:" + records[i : i + 32]: records[i + 32 : i + 64] for i in range(0, len(records), 64)},
                 sync=True)
        kv.write({b"m:after": b"not a leaf"}, sync=True)
        expected = StateTree(kv).load_records(records)
        monkeypatch.setattr(state_tree, "LOAD_CHUNK", 7)
        monkeypatch.setattr(state_tree, "OPEN_SECTION_CHUNKS", 3)  # 21 leaves a section: 14 full, then 6
        monkeypatch.setattr(state_tree, "OPEN_MAPPED_BUDGET", 0)  # every section's pages dropped
        monkeypatch.setattr(state_tree, "RELEASE_AFTER_LEAVES", 10**9)
        before = CountingStore.releases
        tree = StateTree(kv)
        assert tree.open(expected) == 300 and tree.root == expected
        assert CountingStore.releases - before == 14 and not kv.scanning()  # between sections
        kv.write({b"l:" + records[64:96]: b"short"}, sync=True)  # a malformed leaf in a later section
        with pytest.raises(StorageError, match="malformed"):
            StateTree(kv).open(expected)
        assert not kv.scanning()


def test_release_waits_while_a_compaction_is_due_up_to_twice_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import leveldb

    with LevelDBStore(tmp_path / "db") as kv:
        kv.write({b"k": b"v"}, sync=True)
        monkeypatch.setattr(leveldb, "mapped_file_bytes", lambda: 150)
        monkeypatch.setattr(kv, "_level0_tables", lambda: leveldb.LEVEL0_COMPACTION_TRIGGER)
        assert not kv.release_mapped_pages_over(100)  # over the budget, but a compaction is due: later
        assert kv.release_mapped_pages_over(70)  # past twice the budget: now, whatever is due
        monkeypatch.setattr(kv, "_level0_tables", lambda: 0)
        assert kv.release_mapped_pages_over(100)  # nothing due: at once
        assert kv.get(b"k") == b"v"
