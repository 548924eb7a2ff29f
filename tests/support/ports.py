"""Ports for the nodes and servers a test starts: taken below the kernel's ephemeral range, from a slice of their own
for each pytest worker.

A test plans its nodes' ports before they bind (a node started later in a test binds its port only then). A port
the kernel hands out for bind(0) comes from the ephemeral range, the same range it draws every outgoing
connection's local port from: between planning and binding, another worker's bind(0) or any outgoing connection on
the machine could take it (seen in CI: a warp joiner started late found its Prometheus port taken). Below that range
the kernel never picks a port by itself, and a worker's slice is its own, so a planned port stays free unless
something else on the machine asked for that very number (the probe below then skips it)."""

from __future__ import annotations

import os
import socket
import threading

_RANGE_START = 12_000
_SLICE = 4_000
_SLICES = 5
"""12,000-31,999: five slices of 4,000 (below Linux's default ephemeral range, 32,768-60,999): one per xdist
worker gw0-gw3 and one for a run without workers (the testnet suite runs beside the workers)."""

_LOCK = threading.Lock()
_next: int | None = None


def slice_of(worker: str) -> range:
    """The ports of the pytest worker named `worker` ("gw0", ...; "" for a run without workers)."""
    index = int(worker[2:]) % (_SLICES - 1) if worker.startswith("gw") and worker[2:].isdigit() else _SLICES - 1
    low = _RANGE_START + index * _SLICE
    return range(low, low + _SLICE)


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port of this worker's slice, free now and not handed out by this process in its last 4,000 calls. It starts
    at an offset from the process id, so that two runs one after the other do not start on the same ports (a socket
    of the last run may linger)."""
    global _next
    low = slice_of(os.environ.get("PYTEST_XDIST_WORKER", "")).start
    with _LOCK:
        if _next is None:
            _next = low + (os.getpid() * 7) % _SLICE
        for _ in range(_SLICE):
            port = _next
            _next = low + (_next - low + 1) % _SLICE
            if _bindable(port):
                return port
    raise RuntimeError(f"no free port in {low}-{low + _SLICE - 1}")
