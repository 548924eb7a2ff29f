"""Ports for the nodes and servers a test starts: taken below the kernel's ephemeral range, from a slice that the
test process has claimed for itself.

A test plans its nodes' ports before they bind (a node started later in a test binds its port only then). A port
the kernel hands out for bind(0) comes from the ephemeral range, the same range it draws every outgoing
connection's local port from: between planning and binding, another process's bind(0) or any outgoing connection on
the machine could take it (seen in CI: a warp joiner started late found its Prometheus port taken). Below that range
the kernel never picks a port by itself.

Each test process claims a slice of that range by holding an exclusive lock on the slice's lock file, and holds it
until it exits (the kernel releases the lock then, however the process ends). A slice named after the xdist worker
("gw0" had the first) was not enough: `./scripts/test` runs three pytest lanes at once, each with its own "gw0", and
in CI two lanes' nodes planned the same ports (a node of one failed to bind, a bench of the other found no node). A
lock is a claim no other pytest run on the machine can share, whatever its lane, worker name or command line. A
planned port then stays free unless something other than a test asked for that very number (the probe below then
skips it)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

RANGE = range(12_000, 32_000)
"""Below Linux's default ephemeral range (32,768-60,999)."""
SLICES = 8
"""Test processes that can hold a slice at once: `./scripts/test` runs 2 + 3 workers and the testnet runner."""
SLICE_SIZE = len(RANGE) // SLICES
LOCK_DIR = Path(tempfile.gettempdir()) / "btt-test-port-slices"


class NoPortSlice(RuntimeError):
    """Every slice is held by another live test process."""


@dataclass(frozen=True)
class ClaimedSlice:
    ports: range
    lock_fd: int
    """Open for as long as the claim holds; closing it (or the process's end) releases the slice."""


def slice_ports(index: int) -> range:
    low = RANGE.start + index * SLICE_SIZE
    return range(low, low + SLICE_SIZE)


def _hint() -> int:
    """The slice to try first: the xdist worker's number, so that the usual run's claims do not contend."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def claim_slice(lock_dir: Path = LOCK_DIR, first: int = 0) -> ClaimedSlice:
    """Claim the first slice from `first` on (wrapping) that no live process holds."""
    if not lock_dir.is_dir():
        lock_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # one directory for every user's tests (ports are the machine's), as /tmp
            lock_dir.chmod(0o1777)
    for step in range(SLICES):
        index = (first + step) % SLICES
        fd = os.open(lock_dir / f"slice-{index}.lock", os.O_RDONLY | os.O_CREAT, 0o666)  # flock needs no write access
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                continue
            raise
        return ClaimedSlice(slice_ports(index), fd)
    raise NoPortSlice(f"all {SLICES} test port slices of {RANGE.start}-{RANGE.stop - 1} are held by other test "
                      f"processes (their lock files are in {lock_dir})")


_LOCK = threading.Lock()
_claimed: ClaimedSlice | None = None
_next: int | None = None


def my_slice() -> range:
    """The ports this process has claimed (claimed on first use)."""
    global _claimed
    with _LOCK:
        if _claimed is None:
            _claimed = claim_slice(LOCK_DIR, first=_hint())
        return _claimed.ports


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port of this process's slice, free now and not handed out by this process in its last SLICE_SIZE calls. It
    starts at an offset from the process id, so that two runs one after the other do not start on the same ports (a
    socket of the last run may linger)."""
    global _next
    ports = my_slice()
    low = ports.start
    with _LOCK:
        if _next is None:
            _next = low + (os.getpid() * 7) % SLICE_SIZE
        for _ in range(SLICE_SIZE):
            port = _next
            _next = low + (_next - low + 1) % SLICE_SIZE
            if _bindable(port):
                return port
    raise RuntimeError(f"no free port in {low}-{low + SLICE_SIZE - 1}")
