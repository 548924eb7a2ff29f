"""A cap on each peer connection's TCP retransmission backoff, so a node hears its peers again soon after an outage.

While a link is down, TCP retransmits unacknowledged data after 0.2 s, then doubling (0.4, 0.8, ... up to the kernel's
120 s). Nothing at our layer notices: the connection stays open, and when the link returns the connection waits for its
next retransmission, which may come almost as long again as the outage lasted (a 10 s cut: up to ~15 s more of
silence; a 2-minute cut: up to 2 minutes more). A validator back from an outage missed votes for that long (the `ci`
testnet's failure on 2026-11-27: bob's 10 s cut ended at 41 s, and he was still silent when eve restarted at 46 s,
leaving two of four validators: finality stood still 20 s).

Linux 6.15 lets a socket cap its retransmission timeout (`TCP_RTO_MAX_MS`, 1,000-120,000 ms). With it at 1 s, every
connection retries at least once a second during an outage and resumes within a second of the link's return; the cost
is one small retransmission a second per connection while the link is down. Nothing else changes: connections are not
closed (closing them would need every lost peer to be found and redialed after the outage, across partitions too).

On an older kernel the option is refused; the node says so once and runs as before.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

TCP_RTO_MAX_MS = 44
"""`include/uapi/linux/tcp.h` (Linux 6.15+); Python's socket module has no name for it yet."""
RTO_MAX_RANGE_MS = (1000, 120_000)
"""The values the kernel accepts."""

_LINKS = ("muxed_conn", "secured_conn", "conn", "read_writer", "read_write_closer", "stream", "socket")
"""Attributes that lead from a libp2p connection (swarm conn -> muxer -> secure session -> noise reader -> raw
connection -> trio stream -> socket) to its TCP socket; searched breadth-first, so a renamed step in a later py-libp2p
is found through any of the others or reported as `no socket`."""
_MAX_DEPTH = 10


def kernel_can_cap() -> bool:
    """Whether this kernel takes the option (Linux 6.15+), tried on a socket of our own."""
    with socket.socket() as sock:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, TCP_RTO_MAX_MS, RTO_MAX_RANGE_MS[0])
        except OSError:
            return False
    return True


def tcp_socket_of(conn: object) -> Any | None:
    """The TCP socket under a libp2p connection, or None when none is reachable (another transport, a closed one)."""
    frontier: list[object] = [conn]
    seen: set[int] = set()
    for _ in range(_MAX_DEPTH):
        following: list[object] = []
        for obj in frontier:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if _is_tcp_socket(obj):
                return obj
            following.extend(child for name in _LINKS if (child := _link(obj, name)) is not None)
        if not following:
            return None
        frontier = following
    return None


def _link(obj: object, name: str) -> object | None:
    """`obj.name`, or None: a property that raises (a closed stream's) ends that path, never the caller."""
    try:
        return getattr(obj, name, None)
    except Exception:  # noqa: BLE001 - third-party objects: any failure means no socket this way
        return None


def _is_tcp_socket(obj: object) -> bool:
    return (callable(getattr(obj, "setsockopt", None)) and getattr(obj, "type", None) == socket.SOCK_STREAM
            and getattr(obj, "family", None) in (socket.AF_INET, socket.AF_INET6))


def cap_backoff(conn: object, rto_max_ms: int) -> str:
    """Cap the retransmission timeout of `conn`'s TCP socket at `rto_max_ms`. Returns `capped`, `unsupported` (the
    kernel refuses the option) or `no socket` (none reachable, or already closed)."""
    if not RTO_MAX_RANGE_MS[0] <= rto_max_ms <= RTO_MAX_RANGE_MS[1]:
        raise ValueError(f"a retransmission cap must be {RTO_MAX_RANGE_MS[0]}-{RTO_MAX_RANGE_MS[1]} ms")
    sock = tcp_socket_of(conn)
    if sock is None:
        return "no socket"
    try:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_RTO_MAX_MS, rto_max_ms)
    except OSError as exc:
        if exc.errno in (errno.ENOPROTOOPT, errno.EINVAL, errno.EOPNOTSUPP):
            return "unsupported"
        return "no socket"  # EBADF and the like: closed under us
    return "capped"


def backoff_cap_of(conn: object) -> int | None:
    """The cap now set on `conn`'s socket in ms (the kernel's default when none was set), or None where unknown."""
    sock = tcp_socket_of(conn)
    if sock is None:
        return None
    try:
        return int(sock.getsockopt(socket.IPPROTO_TCP, TCP_RTO_MAX_MS))
    except OSError:
        return None

