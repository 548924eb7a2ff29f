"""py-libp2p's inbound connection cap, counting connections being set up instead of every connection ever accepted.

py-libp2p 0.8.1 bounds inbound connections with a `trio.CapacityLimiter` of `max_connections - min_connections`
slots (`Swarm._handle_inbound_connection`). The handler takes a slot, upgrades the connection (security, muxer,
registration), then waits on `manager.wait_finished()`, the swarm's whole life, and only then gives the slot back.
So each inbound connection ever accepted holds a slot after it closed: once a node has accepted that many (58 with
our 25 peers), every later inbound connection is closed before its handshake, and the node takes no inbound peer
again until it restarts. A node that bans peers which keep redialing it reaches that in seconds (measured: a node
banning three redialing peers for 20 s had all 58 slots held with no connection open, and after the bans ended
accepted none of them again); a long-running node reaches it through ordinary reconnects.

`cap_inbound_upgrades(swarm)` replaces the handler on that one swarm (an instance attribute): a slot is held while
the connection is being set up and given back once the upgrade (security, muxer, registration) ends, so the cap
bounds concurrent handshakes, its purpose (a flood of handshakes must not take the event loop), and one IP address
holds at most `PER_ADDRESS_IN_FLIGHT` of them. The handler then waits for that connection to close, not for the
swarm to stop: py-libp2p's kept one task, and the closed connection's objects, per connection ever accepted, and
with the slots free a peer redialing while banned would grow that without bound. The connections that are open
are bounded by our own peer limits (`P2PConfig.max_peers`, `in_peers`) and by the swarm's `max_connections` check
before each upgrade, both unchanged. Only TCP is handled here (the transport we listen on); a connection that comes
muxed already (QUIC) takes py-libp2p's own path. The swarm's metric events for inbound connections are not sent
(nothing here reads them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from libp2p.abc import IMuxedConn
from libp2p.metrics.swarm import SwarmEvent
from libp2p.network.connection.raw_connection import RawConnection

log = logging.getLogger("btt.p2p")


PER_ADDRESS_IN_FLIGHT = 8
"""Inbound connections set up at once from one IP address: one host opening connections that never finish their
handshake (each held up to py-libp2p's 10 s upgrade timeout, then opened again) holds at most this many of the
slots, not all of them. Honest peers behind one address set up one or two at a time."""


class InboundUpgrades:
    """The number of inbound connections being set up (at most `cap`, at most `per_address` from one IP address),
    and of set-up ones whose handler waits for them to close."""

    def __init__(self, cap: int, per_address: int = PER_ADDRESS_IN_FLIGHT) -> None:
        self.cap = cap
        self.per_address = per_address
        self.in_flight = 0
        self.by_address: dict[str, int] = {}
        self.open = 0

    def take(self, address: str = "") -> Callable[[], None] | None:
        """A slot's release (callable any number of times, effective once), or None when all are taken, or all
        those one address may hold."""
        if self.in_flight >= self.cap or self.by_address.get(address, 0) >= self.per_address:
            return None
        self.in_flight += 1
        self.by_address[address] = self.by_address.get(address, 0) + 1
        given_back = False

        def release() -> None:
            nonlocal given_back
            if not given_back:
                given_back = True
                self.in_flight -= 1
                left = self.by_address[address] - 1
                if left:
                    self.by_address[address] = left
                else:
                    del self.by_address[address]
        return release


def cap_inbound_upgrades(swarm: Any) -> InboundUpgrades:
    """Install the handler on `swarm` (before it listens); returns the counter (tests read it)."""
    upgrades = InboundUpgrades(int(swarm._inbound_limiter.total_tokens))

    async def handle_inbound(read_write_closer: Any, maddr: Any) -> None:
        release = upgrades.take(_remote_host(read_write_closer))
        if release is None:
            await _close_quietly(read_write_closer)
            return
        try:
            if isinstance(read_write_closer, IMuxedConn):
                await swarm._do_handle_inbound_connection(read_write_closer, maddr, SwarmEvent())
                return
            remote = swarm._build_remote_multiaddr(read_write_closer)
            if remote is not None and not await swarm.connection_gate.is_allowed(remote):
                await _close_quietly(read_write_closer)
                return
            raw_conn = RawConnection(read_write_closer, False)
            try:
                muxed_conn = await swarm.upgrade_inbound_raw_conn(raw_conn, maddr)
            except Exception as exc:  # noqa: BLE001 - a failed handshake, a refusal: py-libp2p logged it
                log.debug("inbound connection from %s not set up: %r", remote, exc)
                await _close_quietly(raw_conn)
                return
            finally:
                release()
            closed = getattr(muxed_conn, "event_closed", None)
            upgrades.open += 1
            try:
                if closed is None:
                    await swarm.manager.wait_finished()
                else:
                    await closed.wait()
            finally:
                upgrades.open -= 1
        finally:
            release()

    swarm._handle_inbound_connection = handle_inbound
    return upgrades


def _remote_host(conn: Any) -> str:
    try:
        remote = conn.get_remote_address()
    except Exception:  # noqa: BLE001 - gone already: it is refused or fails on its own
        return ""
    return str(remote[0]) if remote else ""


async def _close_quietly(conn: Any) -> None:
    try:
        await conn.close()
    except Exception:  # noqa: BLE001 - already closed
        pass
