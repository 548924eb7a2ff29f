"""Whether a TCP port can be bound, as the node's servers bind it: used before they start, so a port another process
holds is one clear error (py-libp2p listens with SO_REUSEPORT and would otherwise share it silently)."""

from __future__ import annotations

import socket


def bind_error(host: str, port: int) -> OSError | None:
    """Why a TCP socket cannot bind (host, port), or None if it can. SO_REUSEADDR, as the servers bind: a socket of
    a previous run in TIME_WAIT does not count, a listening one does."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc
    return None
