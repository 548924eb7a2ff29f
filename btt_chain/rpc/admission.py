"""Who may hold the node's WebSocket connections, and who gives one up when they are all taken.

A few addresses must never lock everyone else out, and local wallets must always get in:
- each client address holds at most `max_per_ip` connections (HTTP requests in flight and WebSockets);
- `reserved_local` of the `max_connections` WebSocket slots are kept for loopback callers (a wallet or the CLI on
  the node's own machine); other addresses share the rest;
- when the slots a newcomer may use are all taken, the address holding the most of them gives up its longest-idle
  connection, provided it holds more than the newcomer's address would after admission; otherwise the newcomer
  is refused (HTTP 503). So an address can always reach the share of the busiest one, and holding many idle
  sockets only makes an address the first to lose one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


def is_loopback(remote: str | None) -> bool:
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class Held(Protocol):
    """A WebSocket connection as the table sees it."""

    ip: str
    local: bool
    last_active: float


@dataclass(frozen=True)
class Verdict:
    """The answer to a newcomer: admitted (perhaps by evicting `evict`), or refused with `reason`."""

    admitted: bool
    evict: Held | None = None
    reason: str = ""


class ConnectionTable:
    """The admission rule over the open WebSocket connections (the server keeps the set, the table decides)."""

    def __init__(self, max_connections: int, max_per_ip: int, reserved_local: int) -> None:
        if not 0 <= reserved_local < max_connections:
            raise ValueError("reserved_local must be from 0 to max_connections - 1")
        self.max_connections = max_connections
        self.max_per_ip = max_per_ip
        self.reserved_local = reserved_local

    def consider(self, ip: str, local: bool, held: Iterable[Held], in_flight: int) -> Verdict:
        """Whether a WebSocket from `ip` may open, given the connections `held` and `in_flight` HTTP requests and
        WebSockets that `ip` already holds."""
        if in_flight >= self.max_per_ip:
            return Verdict(False, reason=f"too many connections from {ip} (limit {self.max_per_ip})")
        conns = list(held)
        pool = conns if local else [c for c in conns if not c.local]
        limit = self.max_connections if local else self.max_connections - self.reserved_local
        if len(conns) < self.max_connections and len(pool) < limit:
            return Verdict(True)
        counts: dict[str, int] = {}
        for c in pool:
            counts[c.ip] = counts.get(c.ip, 0) + 1
        if not counts:
            return Verdict(False, reason=f"too many WebSocket connections (limit {self.max_connections})")
        top = max(counts, key=lambda a: counts[a])
        if counts[top] <= counts.get(ip, 0) + 1:
            return Verdict(False, reason=f"too many WebSocket connections (limit {self.max_connections}); "
                                         f"your address already holds its share")
        victim = min((c for c in pool if c.ip == top), key=lambda c: c.last_active)
        return Verdict(True, evict=victim)
