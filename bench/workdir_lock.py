"""One benchmark run at a time in a work dir. `bench sync` and `bench genesis-fetch` keep their chains, genesis files
and node databases in a work dir shared between runs (a 10,000,000-account chain takes minutes to build), and each run
wipes and copies its nodes' databases there: a second run started on the same dir while one runs pulled the tables
out from under the first one's nodes (seen: "NotFound: .../003114.ldb", both runs failed). `held` takes an exclusive
`flock` on the dir's `.lock` for the run, and a run that finds it taken stops in one line before touching anything."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from bench.errors import BenchFailed

LOCK_NAME = ".lock"


@contextlib.contextmanager
def held(workdir: Path, what: str) -> Iterator[None]:
    """Hold `workdir`'s lock for a `btt-chain bench <what>` run; BenchFailed naming the holder if another run holds it.
    The kernel drops the lock when the holding process ends, however it ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise BenchFailed(f"the work dir {workdir} is in use by another benchmark run ({holder}): wait for it to "
                              "end, or give another --workdir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"btt-chain bench {what}, pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
