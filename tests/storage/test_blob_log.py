"""Large values in the block files: what LevelDB holds is a reference, callers see the value (read, scanned, or
still landing), values an earlier version stored inline read as they are, segments roll over, bytes a crash left
unreferenced are never read, and a reference past what is on disk is damage, said so."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from btt_chain.primitives.errors import StorageError
from storage import blob_log, schema
from storage.blob_log import REF_LEN, is_ref
from storage.leveldb import BLOB_DIR, LevelDBStore
from storage.leveldb_build import plyvel

BODY = schema.block_key(b"\x01" * 32)
UNDO = schema.undo_key(b"\x02" * 32)


def raw(path: Path, key: bytes) -> bytes | None:
    db = plyvel.DB(str(path))
    try:
        value: bytes | None = db.get(key)
        return value
    finally:
        db.close()


def test_large_values_live_in_the_block_files_and_read_back(tmp_path: Path) -> None:
    big = os.urandom(100_000)
    with LevelDBStore(tmp_path / "db") as kv:
        kv.write({BODY: big, UNDO: b"\x90", schema.STATE + b"k": b"v"}, sync=True)
        assert kv.get(BODY) == big and kv.get(UNDO) == b"\x90"
        assert dict(kv.iterate(schema.BLOCK)) == {BODY: big}
        assert dict(kv.iterate(b""))[BODY] == big
        assert kv.contains(BODY) and not kv.contains(schema.block_key(b"\x03" * 32))
    stored = raw(tmp_path / "db", BODY)
    assert stored is not None and is_ref(stored) and len(stored) == REF_LEN
    assert raw(tmp_path / "db", schema.STATE + b"k") == b"v"  # everything else stays in LevelDB
    assert sum(p.stat().st_size for p in (tmp_path / "db" / BLOB_DIR).iterdir()) >= len(big)
    with LevelDBStore(tmp_path / "db") as kv:
        assert kv.get(BODY) == big


def test_values_stored_inline_by_an_earlier_version_read_as_they_are(tmp_path: Path) -> None:
    db = plyvel.DB(str(tmp_path / "db"), create_if_missing=True)
    db.put(BODY, b"a block written before the block files" * 3)
    db.put(UNDO, b"\x91\x93\xc4\x01k\xc3\xc4\x01v")
    db.close()
    with LevelDBStore(tmp_path / "db") as kv:
        assert kv.get(BODY) == b"a block written before the block files" * 3
        assert kv.get(UNDO) == b"\x91\x93\xc4\x01k\xc3\xc4\x01v"
        kv.write({BODY: b"rewritten"})
        assert kv.get(BODY) == b"rewritten"


def test_a_batch_still_landing_is_read_as_written(tmp_path: Path) -> None:
    with LevelDBStore(tmp_path / "db") as kv:
        for i in range(20):
            body = os.urandom(50_000 + i)
            kv.write_behind({BODY: body, schema.META_HEAD: bytes([i])})
            assert kv.get(BODY) == body and kv.contains(BODY)
            assert dict(kv.iterate(schema.BLOCK)) == {BODY: body}
        kv.flush()
        assert kv.get(BODY) == body


def test_segments_roll_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blob_log, "SEGMENT_BYTES", 10_000)
    values = {schema.block_key(bytes([i]) * 32): os.urandom(3_000) for i in range(12)}
    with LevelDBStore(tmp_path / "db") as kv:
        for key, value in values.items():
            kv.write({key: value}, sync=True)
        assert len(list((tmp_path / "db" / BLOB_DIR).glob("*.blob"))) >= 4
        assert {k: kv.get(k) for k in values} == values
    with LevelDBStore(tmp_path / "db") as kv:
        assert {k: kv.get(k) for k in values} == values


def test_bytes_a_crash_left_behind_are_never_read(tmp_path: Path) -> None:
    with LevelDBStore(tmp_path / "db") as kv:
        kv.write({BODY: b"kept" * 100}, sync=True)
    segment = next((tmp_path / "db" / BLOB_DIR).glob("*.blob"))
    with segment.open("ab") as f:
        f.write(b"half of a value whose batch never landed")
    with LevelDBStore(tmp_path / "db") as kv:
        assert kv.get(BODY) == b"kept" * 100
        kv.write({UNDO: b"\x90after"}, sync=True)
        assert kv.get(UNDO) == b"\x90after" and kv.get(BODY) == b"kept" * 100


def test_a_reference_past_the_files_is_damage(tmp_path: Path) -> None:
    with LevelDBStore(tmp_path / "db") as kv:
        kv.write({BODY: os.urandom(5_000)}, sync=True)
    segment = next((tmp_path / "db" / BLOB_DIR).glob("*.blob"))
    segment.write_bytes(segment.read_bytes()[:100])
    with LevelDBStore(tmp_path / "db") as kv:
        assert kv.contains(BODY)  # answered from LevelDB alone
        with pytest.raises(StorageError, match="database damaged"):
            kv.get(BODY)
    segment.unlink()
    with LevelDBStore(tmp_path / "db") as kv, pytest.raises(StorageError, match="database damaged"):
        kv.get(BODY)
