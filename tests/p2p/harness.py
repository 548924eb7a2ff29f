"""Shared helpers for the p2p tests: services on loopback with free ports, wait-until polling, inboxes.

Tests wait on events, never on the clock: a wait's limit is a safety net against a hang, scaled by
`BTT_TEST_TIMEOUT_SCALE` (tests/support/wait_limits.py); `limit(seconds)` scales any other bound a test sets."""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from btt_chain.primitives.hashing import blake2b_256
from p2p import P2PConfig, P2PService
from tests.support.ports import free_port  # noqa: F401  (re-exported for the tests that import it from here)
from tests.support.wait_limits import record, scaled, timed_out

GENESIS = blake2b_256(b"btt p2p tests genesis")
OTHER_GENESIS = blake2b_256(b"another chain")
TOPIC = "blocks"


def limit(seconds: float) -> float:
    """A safety-net bound of `seconds` (a `wait_for`, a thread join) on this machine: times BTT_TEST_TIMEOUT_SCALE."""
    return scaled(seconds)


async def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll `predicate` (sync or async) until it returns something truthy and return that; fail once `timeout`
    seconds (times BTT_TEST_TIMEOUT_SCALE) have passed; the last poll begins after the limit."""
    bound = scaled(timeout)
    began = time.monotonic()
    while True:
        asked = time.monotonic() - began
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        waited = time.monotonic() - began
        if value:
            record(what or repr(predicate), bound, waited, True)
            return value
        if asked >= bound:  # this poll began after the limit: the last one
            record(what or repr(predicate), bound, waited, False)
            raise AssertionError(timed_out(what or repr(predicate), bound, waited))
        await asyncio.sleep(0.02)


async def assert_stays(predicate: Callable[[], bool], duration: float, what: str) -> None:
    """Check `predicate` holds on every poll for `duration` seconds (a window to watch in, not a limit: on a busy
    machine it only gets fewer polls; the thing watched must not depend on the window ending in time)."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        assert predicate(), f"no longer true: {what}"
        await asyncio.sleep(0.05)


def bootnode(service: P2PService) -> str:
    """The multiaddr other services use to dial `service` (known before it starts)."""
    return f"/ip4/127.0.0.1/tcp/{service.config.listen_port}/p2p/{service.local_peer_id}"


def peer_ids(service: P2PService) -> set[str]:
    return {peer.peer_id for peer in service.peers()}


class Inbox:
    """A gossip handler that records what it is given; `verdict(data)` decides valid (True) or invalid."""

    def __init__(self, verdict: Callable[[bytes], bool | None] = lambda data: True) -> None:
        self.verdict = verdict
        self.messages: list[tuple[str, bytes]] = []
        self.arrival: dict[bytes, float] = {}

    async def __call__(self, peer_id: str, data: bytes) -> bool | None:
        self.messages.append((peer_id, data))
        self.arrival.setdefault(data, time.perf_counter())
        return self.verdict(data)

    @property
    def data(self) -> list[bytes]:
        return [data for _, data in self.messages]


def _verdict(data: bytes) -> bool | None:
    """The line's handlers: b"bad..." is invalid, b"ignore..." is ignored, anything else valid."""
    if data.startswith(b"bad"):
        return False
    if data.startswith(b"ignore"):
        return None
    return True


class Net:
    """Builds P2P services on loopback in this process and stops them all at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.services: list[P2PService] = []

    def service(
        self, name: str, bootnodes: tuple[str, ...] = (), genesis: bytes = GENESIS, **options: Any
    ) -> P2PService:
        config = P2PConfig(
            listen_port=free_port(),
            node_key_path=self.directory / f"{name}.key",
            genesis_hash=genesis,
            bootnodes=bootnodes,
            **options,
        )
        service = P2PService(config)
        self.services.append(service)
        return service

    async def line(self, count: int = 3, **options: Any) -> tuple[list[P2PService], list[Inbox]]:
        """`count` services in a line, each knowing only the previous one, subscribed to TOPIC, meshes formed. Peer
        exchange is off unless asked for: with it the last service may learn the first's address from the middle one
        and dial it, and a message then reaches it around the line (a busy machine made that happen)."""
        options.setdefault("discovery", False)
        services: list[P2PService] = []
        inboxes: list[Inbox] = []
        for i in range(count):
            service = self.service(f"n{i}", (bootnode(services[-1]),) if services else (), **options)
            inbox = Inbox(_verdict)
            service.subscribe(TOPIC, inbox)
            services.append(service)
            inboxes.append(inbox)
        await asyncio.gather(*(service.start() for service in services))
        for left, right in zip(services, services[1:], strict=False):
            await wait_until(functools.partial(_linked, left, right), what="line connected")
        for left, right in zip(services, services[1:], strict=False):
            await wait_until(functools.partial(_in_mesh, left, right), what="gossip mesh")
            await wait_until(functools.partial(_in_mesh, right, left), what="gossip mesh")
        return services, inboxes

    async def stop_all(self) -> None:
        await asyncio.gather(*(service.stop() for service in self.services), return_exceptions=True)


def _linked(one: P2PService, other: P2PService) -> bool:
    return other.local_peer_id in peer_ids(one) and one.local_peer_id in peer_ids(other)


async def _in_mesh(service: P2PService, other: P2PService) -> bool:
    return other.local_peer_id in await service.gossip_peers(TOPIC)
