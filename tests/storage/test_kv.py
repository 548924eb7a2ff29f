"""One suite for every KeyValueStore backend (memory and LevelDB alike), plus what only LevelDB can do."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from btt_chain.primitives.errors import StorageError
from storage.kv import KeyValueStore
from storage.leveldb import LevelDBStore
from storage.memory import MemoryStore

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["memory", "leveldb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyValueStore]:
    kv: KeyValueStore = MemoryStore() if request.param == "memory" else LevelDBStore(tmp_path / "db")
    with kv:
        yield kv


def snapshot(kv: KeyValueStore) -> list[tuple[bytes, bytes]]:
    return list(kv.iterate())


def test_get_put_delete(store: KeyValueStore) -> None:
    assert store.get(b"a") is None
    store.write({b"a": b"1", b"b": b""})
    assert store.get(b"a") == b"1"
    assert store.get(b"b") == b"", "an empty value is a value, not absence"
    store.write({b"a": b"2"})
    assert store.get(b"a") == b"2"
    store.write({}, deletes=[b"a", b"never-there"])
    assert store.get(b"a") is None
    assert store.get(b"b") == b""


def test_write_applies_puts_and_deletes_together(store: KeyValueStore) -> None:
    store.write({b"k1": b"v1", b"k2": b"v2", b"k3": b"v3"})
    store.write({b"k4": b"v4", b"k1": b"new"}, deletes=iter([b"k2", b"k3"]))
    assert snapshot(store) == [(b"k1", b"new"), (b"k4", b"v4")]


def test_key_in_puts_and_deletes_ends_deleted(store: KeyValueStore) -> None:
    store.write({b"k": b"v"}, deletes=[b"k"])
    assert store.get(b"k") is None


def test_sync_write(store: KeyValueStore) -> None:
    store.write({b"durable": b"yes"}, sync=True)
    assert store.get(b"durable") == b"yes"


def test_iterate_in_key_order_with_prefix_and_reverse(store: KeyValueStore) -> None:
    store.write({b"b:2": b"x", b"a:1": b"y", b"b:1": b"z", b"b;": b"after-prefix", b"b": b"bare", b"c": b"w"})
    assert [k for k, _ in store.iterate()] == [b"a:1", b"b", b"b:1", b"b:2", b"b;", b"c"]
    assert list(store.iterate(b"b:")) == [(b"b:1", b"z"), (b"b:2", b"x")]
    assert list(store.iterate(b"b:", reverse=True)) == [(b"b:2", b"x"), (b"b:1", b"z")]
    assert [k for k, _ in store.iterate(reverse=True)] == [b"c", b"b;", b"b:2", b"b:1", b"b", b"a:1"]
    assert list(store.iterate(b"zz")) == []


def test_iterate_sees_a_snapshot(store: KeyValueStore) -> None:
    store.write({b"p:1": b"1", b"p:2": b"2"})
    it = store.iterate(b"p:")
    assert next(it) == (b"p:1", b"1")
    store.write({b"p:3": b"3"}, deletes=[b"p:2"])
    assert list(it) == [(b"p:2", b"2")]


@pytest.mark.parametrize(
    ("puts", "deletes"),
    [
        ({b"ok": b"1", "text-key": b"2"}, []),
        ({b"ok": b"1", b"bad-value": "text"}, []),
        ({b"ok": b"1"}, [b"keep", 7]),
    ],
)
def test_failed_write_changes_nothing(store: KeyValueStore, puts: dict[bytes, bytes], deletes: list[bytes]) -> None:
    store.write({b"keep": b"me"})
    before = snapshot(store)
    with pytest.raises(TypeError):
        store.write(puts, deletes)
    assert snapshot(store) == before


def test_non_bytes_key_on_read_is_rejected(store: KeyValueStore) -> None:
    with pytest.raises(TypeError):
        store.get("text")  # type: ignore[arg-type]


def test_closed_store_raises_storage_error(store: KeyValueStore) -> None:
    store.write({b"a": b"1"})
    store.close()
    store.close()
    with pytest.raises(StorageError, match="closed"):
        store.get(b"a")
    with pytest.raises(StorageError, match="closed"):
        store.write({b"a": b"2"})
    with pytest.raises(StorageError, match="closed"):
        store.iterate()


def test_leveldb_reopen_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "db"
    with LevelDBStore(path) as db:
        db.write({b"a": b"1", b"b": b"2"}, deletes=[b"b"], sync=True)
    with LevelDBStore(path, create_if_missing=False) as db:
        assert list(db.iterate()) == [(b"a", b"1")]


def test_leveldb_open_twice_in_one_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with LevelDBStore(path):
        with pytest.raises(StorageError) as info:
            LevelDBStore(path)
    message = str(info.value)
    assert message.startswith(f"database at {path} is in use by another process")
    assert "\n" not in message


def test_leveldb_locked_by_another_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db"
    holder = textwrap.dedent(
        f"""
        import sys
        from storage.leveldb import LevelDBStore
        db = LevelDBStore({str(path)!r})
        print("open", flush=True)
        sys.stdin.readline()
        db.close()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", holder], cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "open"
        with pytest.raises(StorageError, match=f"^database at {re.escape(str(path))} is in use by another process"):
            LevelDBStore(path)
    finally:
        proc.communicate("\n", timeout=10)
    with LevelDBStore(path) as db:  # released once the holder exits
        assert db.get(b"x") is None


def test_leveldb_corrupt_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with LevelDBStore(path) as db:
        db.write({b"a": b"1"})
    (path / "CURRENT").write_bytes(b"garbage")
    with pytest.raises(StorageError, match=f"^database at {re.escape(str(path))} is corrupt"):
        LevelDBStore(path)


def test_leveldb_missing_database_without_create(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="^no database at"):
        LevelDBStore(tmp_path / "absent", create_if_missing=False)
