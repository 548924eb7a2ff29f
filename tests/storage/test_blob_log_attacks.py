"""The block files under attack: a process killed while it appends, between the block files' sync and the batch
that refers to them, or while a batch is written behind; short and failed writes; a segment that cannot be created
at rollover; damaged, truncated and lost segment files; rollover under load with readers beside the writer; and an
earlier version's inline values mixed with references. After each, the database reads back whole what its head
refers to, or says it is damaged (StorageError): never another value in a block's place."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from btt_chain.primitives.errors import StorageError
from storage import blob_log, schema
from storage.blob_log import BlobLog
from storage.leveldb import BLOB_DIR, LevelDBStore
from storage.leveldb_build import plyvel

ROOT = Path(__file__).resolve().parents[2]
SMALL_SEGMENT = 64 * 1024


# a synthetic chain: block i has a body, events and an undo journal (all in the block files) and its canonical entry
def block_hash(i: int) -> bytes:
    return hashlib.sha256(b"block %d" % i).digest()


def block_values(i: int) -> dict[bytes, bytes]:
    rng = random.Random(i)
    h = block_hash(i)
    return {
        schema.block_key(h): rng.randbytes(1_000 + (i * 7_919) % 20_000),
        schema.block_meta_key(h): b"\x92" + rng.randbytes(200 + (i * 131) % 3_000),
        schema.undo_key(h): b"\x91" + rng.randbytes(100 + (i * 977) % 9_000),
    }


def block_batch(i: int) -> dict[bytes, bytes]:
    return {**block_values(i), schema.canonical_key(i): block_hash(i), schema.META_HEAD: i.to_bytes(8, "big")}


def blob_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path / BLOB_DIR).glob("*.blob"))


def check_chain(kv: LevelDBStore, beyond: int = 3) -> int:
    """The head's number, once every block up to it reads back whole and nothing of the blocks above it is there."""
    raw = kv.get(schema.META_HEAD)
    head = 0 if raw is None else int.from_bytes(raw, "big")
    for i in range(1, head + 1):
        assert kv.get(schema.canonical_key(i)) == block_hash(i), f"block {i}"
        for key, value in block_values(i).items():
            assert kv.get(key) == value, f"block {i}, key {key[:3]!r}"
    for i in range(head + 1, head + 1 + beyond):
        assert kv.get(schema.canonical_key(i)) is None, f"block {i} above the head {head}"
        assert not any(kv.contains(key) for key in block_values(i)), f"part of block {i} above the head {head}"
    return head


def referenced_bytes(head: int) -> int:
    return sum(len(v) for i in range(1, head + 1) for v in block_values(i).values())


# the child process: writes blocks and is killed (by itself at a chosen point, or by the test at a random moment)
def _child_main(argv: list[str]) -> None:
    path, mode, start, crash_at = Path(argv[0]), argv[1], int(argv[2]), int(argv[3])
    blob_log.SEGMENT_BYTES = SMALL_SEGMENT
    current = [0]

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    if mode == "mid-append":
        original_append = BlobLog.append

        def append(self: BlobLog, data: bytes) -> bytes:
            if current[0] == crash_at and data[:1] == b"\x91":  # the undo journal: its body is appended already
                os.write(self._fd, data[: len(data) // 2])  # noqa: SLF001
                die()
            return original_append(self, data)

        BlobLog.append = append  # type: ignore[method-assign]
    elif mode in ("synced-behind", "synced-write"):
        original_append, original_sync = BlobLog.append, BlobLog.sync
        appended = [0]

        def counting_append(self: BlobLog, data: bytes) -> bytes:
            appended[0] += current[0] == crash_at
            return original_append(self, data)

        def sync(self: BlobLog) -> None:
            original_sync(self)
            if appended[0] == len(block_values(crash_at)):
                die()  # every value of the block on disk, the batch that refers to them not written

        BlobLog.append = counting_append  # type: ignore[method-assign]
        BlobLog.sync = sync  # type: ignore[method-assign]
    kv = LevelDBStore(path)
    i = start
    while True:
        current[0] = i
        if mode == "synced-write" or (mode == "loop" and i % 4 == 0):
            kv.write(block_batch(i), sync=True)
        else:
            kv.write_behind(block_batch(i))
        if mode == "loop" and i == start:
            print("writing", flush=True)
        i += 1
        if mode != "loop" and i > crash_at:
            raise SystemExit("the crash point was never reached")


def run_child(path: Path, mode: str, start: int, crash_at: int = 0) -> subprocess.Popen[str]:
    code = "import sys; from tests.storage.test_blob_log_attacks import _child_main; _child_main(sys.argv[1:])"
    return subprocess.Popen(
        [sys.executable, "-c", code, str(path), mode, str(start), str(crash_at)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def killed(child: subprocess.Popen[str]) -> None:
    _, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err


def continue_after_restart(path: Path, head: int, blocks: int = 12) -> None:
    """Blocks written after the restart land beside whatever the crash left, and everything reads back."""
    with LevelDBStore(path) as kv:
        for i in range(head + 1, head + 1 + blocks):
            if i % 3:
                kv.write_behind(block_batch(i))
            else:
                kv.write(block_batch(i), sync=True)
        assert check_chain(kv) == head + blocks
    with LevelDBStore(path) as kv:
        assert check_chain(kv) == head + blocks


@pytest.fixture
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blob_log, "SEGMENT_BYTES", SMALL_SEGMENT)


@pytest.mark.parametrize("mode", ["mid-append", "synced-behind", "synced-write"])
def test_a_process_killed_while_it_writes_a_block_restarts_at_the_block_before(
    tmp_path: Path, small_segments: None, mode: str
) -> None:
    path = tmp_path / "db"
    crash_at = 30  # several segments in
    killed(run_child(path, mode, 1, crash_at))
    assert len(list((path / BLOB_DIR).glob("*.blob"))) >= 3
    # what the killed block appended is on disk, unreferenced
    assert blob_bytes(path) > referenced_bytes(crash_at - 1)
    with LevelDBStore(path) as kv:
        assert check_chain(kv) == crash_at - 1
    continue_after_restart(path, crash_at - 1)


def test_a_process_killed_at_random_moments_of_writing_behind_loses_at_most_its_last_blocks(
    tmp_path: Path, small_segments: None
) -> None:
    path = tmp_path / "db"
    rng = random.Random(5)
    head = 0
    for _ in range(6):
        child = run_child(path, "loop", head + 1)
        assert child.stdout is not None and child.stdout.readline() == "writing\n"
        time.sleep(rng.uniform(0.02, 0.4))
        child.send_signal(signal.SIGKILL)
        killed(child)
        with LevelDBStore(path) as kv:
            now = check_chain(kv)
        assert now >= head, "a block whose write returned before the last one was lost"
        head = now
    assert head > 20, "the child wrote too little to have been killed mid-write"
    continue_after_restart(path, head)


@pytest.mark.parametrize("behind", [False, True])
def test_a_short_write_that_fails_refers_to_nothing_and_later_values_land_where_referenced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, behind: bool
) -> None:
    """The disk fills up in the middle of a block's body: half of it is in the file when the write fails."""
    path = tmp_path / "db"
    real_write = os.write
    failing = [False]

    def write(fd: int, data: bytes | memoryview) -> int:
        if failing[0] and len(data) > 1_000:
            failing[0] = False
            real_write(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(blob_log.os, "write", write)
    with LevelDBStore(path) as kv:
        kv.write(block_batch(1), sync=True)
        failing[0] = True
        with pytest.raises(StorageError, match="cannot write block file"):
            (kv.write_behind if behind else kv.write)(block_batch(2))
        assert check_chain(kv) == 1, "nothing of the failed block is referenced"
        # the disk has room again: the node goes on with the next block
        kv.write(block_batch(2), sync=True)
        kv.write_behind(block_batch(3))
        assert check_chain(kv) == 3
    with LevelDBStore(path) as kv:
        assert check_chain(kv) == 3


def test_a_segment_that_cannot_be_created_at_rollover_leaves_the_log_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_segments: None
) -> None:
    path = tmp_path / "db"
    real_open = BlobLog._open_for_append  # noqa: SLF001
    failing = [False]

    def open_for_append(self: BlobLog, number: int) -> int:
        if failing[0]:
            failing[0] = False
            raise StorageError(f"cannot open block file {number}: Too many open files")
        return real_open(self, number)

    monkeypatch.setattr(BlobLog, "_open_for_append", open_for_append)
    with LevelDBStore(path) as kv:
        i = 1
        while blob_bytes(path) < SMALL_SEGMENT - 12_000:
            kv.write(block_batch(i), sync=True)
            i += 1
        failing[0] = True
        with pytest.raises(StorageError, match="Too many open files"):
            # a body too large for the segment's rest (rollover), then small values that would fit it
            kv.write({schema.block_key(b"x" * 32): os.urandom(20_000)}, sync=True)
        assert check_chain(kv) == i - 1
        for j in range(i, i + 8):
            kv.write(block_batch(j), sync=True)
        assert check_chain(kv) == i + 7
    with LevelDBStore(path) as kv:
        assert check_chain(kv) == i + 7


def test_a_background_write_whose_sync_fails_stops_the_store_and_loses_only_its_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "db"
    real_sync = BlobLog.sync
    failing = [False]

    def sync(self: BlobLog) -> None:
        if failing[0]:
            raise StorageError("cannot sync the block files: Input/output error")
        real_sync(self)

    monkeypatch.setattr(BlobLog, "sync", sync)
    with LevelDBStore(path) as kv:
        for i in range(1, 4):
            kv.write_behind(block_batch(i))
        kv.flush()
        failing[0] = True
        kv.write_behind(block_batch(4))
        assert kv.get(schema.block_key(block_hash(4))) == block_values(4)[schema.block_key(block_hash(4))]
        with pytest.raises(StorageError, match="a background write failed, restart the node"):
            kv.write_behind(block_batch(5))
        with pytest.raises(StorageError, match="restart the node"):
            kv.get(schema.META_HEAD)
    failing[0] = False
    with LevelDBStore(path) as kv:
        assert check_chain(kv) == 3


def flip(segment: Path, offset: int) -> None:
    with segment.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x10]))


def test_a_byte_flipped_inside_a_stored_value_is_damage_not_data(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with LevelDBStore(path) as kv:
        kv.write(block_batch(1), sync=True)
    body_key = schema.block_key(block_hash(1))
    flip(next((path / BLOB_DIR).glob("*.blob")), 500)  # inside the body, the first value appended
    with LevelDBStore(path) as kv:
        with pytest.raises(StorageError, match="database damaged"):
            kv.get(body_key)
        with pytest.raises(StorageError, match="database damaged"):
            dict(kv.iterate(schema.BLOCK))
        # the block's other values are untouched and read
        assert kv.get(schema.undo_key(block_hash(1))) == block_values(1)[schema.undo_key(block_hash(1))]


@pytest.mark.parametrize("lost", ["directory", "last segment"])
def test_values_in_a_lost_segment_never_read_as_the_values_written_after_it(
    tmp_path: Path, small_segments: None, lost: str
) -> None:
    """A segment file gone (a crash that lost its directory entry, a careless copy): its number is given to new
    values after the restart, and the old references to it must not read them."""
    path = tmp_path / "db"
    with LevelDBStore(path) as kv:
        for i in range(1, 30):
            kv.write(block_batch(i), sync=True)
    segments = sorted((path / BLOB_DIR).glob("*.blob"))
    assert len(segments) >= 3
    if lost == "directory":
        for segment in segments:
            segment.unlink()
    else:
        segments[-1].unlink()
    with LevelDBStore(path) as kv:
        gone = [i for i in range(1, 30) if _unreadable(kv, i)]
        assert gone, "some block must have lost its values"
        # the node goes on: its new values fill the lost segment's number again
        for i in range(100, 140):
            kv.write(block_batch(i), sync=True)
        assert len(list((path / BLOB_DIR).glob("*.blob"))) >= len(segments)
        for i in gone:
            for key, value in block_values(i).items():
                try:
                    read = kv.get(key)
                except StorageError as exc:
                    assert "damaged" in str(exc) or "cannot read" in str(exc)
                    continue
                assert read == value, f"block {i} read another value in its place"
        for i in range(100, 140):
            assert all(kv.get(k) == v for k, v in block_values(i).items())


def _unreadable(kv: LevelDBStore, i: int) -> bool:
    try:
        return any(kv.get(k) != v for k, v in block_values(i).items())
    except StorageError:
        return True


def test_rollover_under_load_with_readers_beside_the_writer(tmp_path: Path, small_segments: None) -> None:
    path = tmp_path / "db"
    landed = [0]
    errors: list[str] = []
    stop = threading.Event()
    with LevelDBStore(path) as kv:

        def reader(seed: int) -> None:
            rng = random.Random(seed)
            while not stop.is_set():
                top = landed[0]
                if not top:
                    time.sleep(0.001)
                    continue
                i = rng.randint(1, top)
                for key, value in block_values(i).items():
                    try:
                        read = kv.get(key)
                    except StorageError as exc:  # pragma: no cover - reported below
                        errors.append(f"block {i}: {exc}")
                        return
                    if read != value:
                        errors.append(f"block {i}: wrong value")
                        return

        readers = [threading.Thread(target=reader, args=(s,)) for s in range(3)]
        for t in readers:
            t.start()
        try:
            for i in range(1, 121):
                kv.write_behind(block_batch(i))
                landed[0] = i - 1  # the one before has landed (this write waited for it)
        finally:
            stop.set()
            for t in readers:
                t.join()
        assert errors == []
        assert check_chain(kv) == 120
    assert len(list((path / BLOB_DIR).glob("*.blob"))) > 20
    with LevelDBStore(path) as kv:
        assert check_chain(kv) == 120


def test_an_earlier_versions_inline_values_mixed_with_references(tmp_path: Path) -> None:
    path = tmp_path / "db"
    db = plyvel.DB(str(path), create_if_missing=True)
    old = {i: {k: b"\x92inline " + v[:300] for k, v in block_values(i).items()} for i in range(1, 6)}
    for i, values in old.items():
        for key, value in values.items():
            db.put(key, value)
        db.put(schema.canonical_key(i), block_hash(i))
    # values outside the block files that have a reference's shape stay what they are
    lookalikes = {schema.state_key(b"a"): bytes([0xB7]) + bytes(16), schema.state_key(b"b"): bytes([0xB8]) + bytes(20)}
    for key, value in lookalikes.items():
        db.put(key, value)
    db.close()

    def expected() -> Iterator[tuple[bytes, bytes | None]]:
        for i in range(1, 6):
            for key, value in old[i].items():
                yield key, None if i == 2 else value  # block 2 deleted
        for i in range(6, 12):
            yield from block_values(i).items()

    with LevelDBStore(path) as kv:
        for i in range(6, 12):
            (kv.write if i % 2 else kv.write_behind)(block_batch(i))
        kv.write({}, deletes=list(old[2]))
        old[3] = {k: b"\x92rewritten" for k in old[3]}
        kv.write_behind(old[3])
        assert all(kv.get(k) == v for k, v in expected())
        assert {k: kv.get(k) for k in lookalikes} == lookalikes
    with LevelDBStore(path) as kv:
        assert all(kv.get(k) == v for k, v in expected())
        scanned: dict[bytes, bytes] = {}
        for prefix in schema.BLOB_PREFIXES:
            scanned.update(kv.iterate(prefix))
        assert scanned == {k: v for k, v in expected() if v is not None}
        assert dict(kv.iterate(schema.STATE)) == lookalikes


def test_references_of_the_first_block_file_version_still_read(tmp_path: Path) -> None:
    """A database written by the first block-file version holds 17-byte references without a CRC."""
    path = tmp_path / "db"
    with LevelDBStore(path) as kv:
        for i in range(1, 4):
            kv.write(block_batch(i), sync=True)
    db = plyvel.DB(str(path))
    for i in range(1, 4):
        for key in block_values(i):
            _, number, offset, length, _crc = blob_log.REF.unpack(db.get(key))
            db.put(key, blob_log.UNCHECKED_REF.pack(blob_log.UNCHECKED_REF_TAG, number, offset, length))
    db.close()
    with LevelDBStore(path) as kv:
        assert check_chain(kv) == 3
        kv.write(block_batch(4), sync=True)
        assert check_chain(kv) == 4


def test_a_new_segment_is_on_disk_by_name_before_a_reference_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_segments: None
) -> None:
    """A power cut may lose a new file's directory entry even after its data was synced: the directory is synced
    too before the batch that refers to the new segment is written."""
    path = tmp_path / "db"
    events: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        events.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    real_sync = BlobLog.sync

    def sync(self: BlobLog) -> None:
        real_sync(self)
        events.append("synced")  # then the batch is written

    monkeypatch.setattr(blob_log.os, "fsync", fsync)
    monkeypatch.setattr(BlobLog, "sync", sync)
    with LevelDBStore(path) as kv:
        kv.write(block_batch(1), sync=True)
        assert events == [str(path / BLOB_DIR), str(path), "synced"]
        segments = 1
        for i in range(2, 40):
            events.clear()
            kv.write(block_batch(i), sync=True)
            now = len(list((path / BLOB_DIR).glob("*.blob")))
            if now > segments:
                assert events == [str(path / BLOB_DIR), str(path), "synced"], f"block {i}"
                segments = now
            else:
                assert events == ["synced"], f"block {i}"
        assert segments >= 3


def test_readers_racing_to_open_a_segment_keep_one_descriptor(tmp_path: Path) -> None:
    """Threads that read from a segment no one has opened yet, all at once, share one descriptor: none leaks."""
    import threading

    from storage.blob_log import BlobLog

    log = BlobLog(tmp_path / "blobs")
    refs = [log.append(bytes([i]) * 1000) for i in range(8)]
    log.sync()
    fd_dir = Path("/proc/self/fd")
    for _ in range(20):
        log.close()
        log = BlobLog(tmp_path / "blobs")
        before = len(list(fd_dir.iterdir()))
        start = threading.Barrier(8)
        seen: list[bytes] = []

        def read(i: int, log: BlobLog, start: threading.Barrier, seen: list[bytes]) -> None:
            start.wait()
            seen.append(log.read(refs[i]))

        threads = [threading.Thread(target=read, args=(i, log, start, seen)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(seen) == sorted(bytes([i]) * 1000 for i in range(8))
        assert len(list(fd_dir.iterdir())) == before + 1  # the one segment's reader, nothing more
    log.close()
