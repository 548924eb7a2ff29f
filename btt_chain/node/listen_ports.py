"""The start-up check of the ports a node listens on (RPC, libp2p, Prometheus): a port that another process holds,
or that two of the node's own servers would share, is one error line before the node opens its database or logs
anything. The servers bind later and still report a clash that appears in between."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.errors import ConfigError
from p2p.ports import bind_error


@dataclass(frozen=True)
class ListenPort:
    """One server's address, as its options give it."""

    use: str
    """What listens there, as the error says it: "serve RPC", "listen for peers"."""
    host: str
    port: int | None
    """None: the server is off; 0: any free port (never checked)."""
    hint: str
    """How to choose another: "choose another with --rpc-port"."""


def check_listen_ports(ports: list[ListenPort]) -> None:
    """ConfigError naming the first port that two servers share or that cannot be bound, with how to choose
    another."""
    seen: dict[int, ListenPort] = {}
    for p in ports:
        if not p.port:
            continue
        if p.port in seen:
            raise ConfigError(f"port {p.port} is given both to {seen[p.port].use} and to {p.use}: give each its own")
        seen[p.port] = p
    for p in ports:
        if not p.port:
            continue
        exc = bind_error(p.host, p.port)
        if exc is not None:
            raise ConfigError(f"cannot {p.use} on {p.host}:{p.port}: {exc.strerror or exc} ({p.hint})")
