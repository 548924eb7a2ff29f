"""A throw-away copy of a node's LevelDB database, for commands that must never write the original
(`btt-chain try-upgrade`).

Opening a LevelDB database writes to it (its lock, its info log, the log replayed into a new table), and a running
node holds its lock, so such a command opens a copy of the files instead. Only LevelDB's own files are copied: the
block files beside them (`blobs/`: block bodies, events, journals) are not read by anything that works on the head
state, and are most of a database's bytes.

A running node's files can be copied too. LevelDB appends each write to its log and only ever adds tables and
deletes them whole, listing the live ones in its manifest: a copy during which the manifest and the set of files did
not change holds every table the manifest names and a prefix of the log, which LevelDB replays up to its last whole
write (a node writes each block in one batch, so the copy holds whole blocks: the head at some moment of the copy).
A copy during which a flush or a compaction changed them is taken again (`COPY_ATTEMPTS`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from btt_chain.primitives.errors import ConfigError, StorageError

COPY_ATTEMPTS = 3
"""Copies of a running node's database tried before giving up (a compaction can delete a table under the copy)."""
LEVELDB_MARKERS = ("CURRENT",)
"""A directory is a LevelDB database when it holds these."""


@dataclass(frozen=True)
class DatabaseCopy:
    """Where the copy is, whether the original was in use (a node running on it), and what was copied."""

    path: Path
    in_use: bool
    files: int
    bytes: int


def in_use(db: Path) -> bool:
    """True when another process holds LevelDB's lock on `db` (a node running on it). Tested with a shared lock on
    the lock file, opened read-only: nothing is written, and the lock is let go at once."""
    lock = db / "LOCK"
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return True
        raise
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def check_database(db: Path) -> None:
    """ConfigError unless `db` is a LevelDB database directory."""
    if not db.exists():
        raise ConfigError(f"no database at {db}: is --base-path (and --chain) the node's?")
    if not db.is_dir() or not all((db / marker).is_file() for marker in LEVELDB_MARKERS):
        raise ConfigError(f"{db} is not a LevelDB database (no CURRENT file): is --base-path (and --chain) the node's?")


def _version(db: Path) -> tuple[bytes, tuple[tuple[str, int], ...], tuple[str, ...]]:
    """What a flush or a compaction changes: CURRENT, the manifest's size, the tables; the logs' names (a log grows
    with every write, which a copy may cut anywhere)."""
    names = sorted(os.listdir(db))
    current = (db / "CURRENT").read_bytes() if (db / "CURRENT").is_file() else b""
    fixed = tuple((n, (db / n).stat().st_size) for n in names
                  if n.startswith("MANIFEST") or n.endswith((".ldb", ".sst")))
    return current, fixed, tuple(n for n in names if n.endswith(".log"))


def copy_database(db: Path, into: Path) -> DatabaseCopy:
    """Copy LevelDB's files of `db` into the new directory `into` (not the block files, not the lock, not the info
    log); StorageError when a running node's database changed under every attempt."""
    check_database(db)
    busy = in_use(db)
    for _ in range(COPY_ATTEMPTS):
        remove_copy(into)
        into.mkdir(parents=True)
        try:
            before = _version(db)
            files, size = _copy_files(db, into)
            if _version(db) == before:
                return DatabaseCopy(into, busy, files, size)
        except FileNotFoundError:  # a flush or a compaction deleted a file under the copy
            pass
        if not busy:
            raise StorageError(f"the database at {db} changed while it was copied, yet no process holds it")
    raise StorageError(f"the database at {db} changed under each of {COPY_ATTEMPTS} copies (the node running on it "
                       "flushes or compacts): try again, or stop the node")


def _copy_files(db: Path, into: Path) -> tuple[int, int]:
    files = size = 0
    for name in sorted(os.listdir(db)):
        source = db / name
        if name in ("LOCK", "LOG", "LOG.old") or not source.is_file():
            continue
        shutil.copyfile(source, into / name)
        files += 1
        size += (into / name).stat().st_size
    return files, size


def remove_copy(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path)
