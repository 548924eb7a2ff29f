"""Substrate telemetry (`btt-chain node --telemetry-url 'wss://HOST/submit/ 0'`): the node's JSON messages over a
WebSocket to each endpoint, as a Substrate node sends them (substrate-telemetry's `NodeMessage` V2: `{"id", "ts",
"payload": {"msg", ...}}`), so a telemetry server and its web page list the node: `system.connected` once per
connection (chain, name, implementation, version, genesis hash, peer id, start time, whether it validates), then
`system.interval` every 5 s (peers, transactions in the pool, best and finalized block), `block.import` for each new
head and `notify.finalized` for each newly finalized block.

Every message here is of Substrate's verbosity 0, so an endpoint's verbosity (the number after its URL) filters
nothing. A refused connection, a WebSocket handshake with no answer within `HANDSHAKE_TIMEOUT_S`, and a connection
the server closes before it lived a minute are failures, retried after a growing pause (2 s doubling to 60 s) and
warned about once per outage, then in a summary line every 10 minutes (`telemetry_retry`); telemetry never stops or
slows the node: messages are built from what the node holds, no state is read."""

from __future__ import annotations

import asyncio
import json
import logging
import platform
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from btt_chain.node.telemetry_retry import LIVED_S, Outage
from btt_chain.primitives.address import encode_address

if TYPE_CHECKING:
    from btt_chain.node.service import Node

log = logging.getLogger("btt.telemetry")
INTERVAL_S = 5.0
"""Seconds between `system.interval` messages (Substrate's)."""
TICK_S = 0.5
"""How often a connection looks for a new head or finalized block."""
HANDSHAKE_TIMEOUT_S = 10.0
"""How long a connection attempt waits for the server's answer to the WebSocket handshake."""
IMPLEMENTATION = "btt-chain"


@dataclass(frozen=True)
class TelemetryEndpoint:
    url: str
    verbosity: int
    """0 to 9: the most verbose message level the endpoint takes (every message here is level 0)."""

    @classmethod
    def parse(cls, text: str) -> TelemetryEndpoint:
        """`URL VERBOSITY` as Substrate's `--telemetry-url` takes it (the verbosity may be left out: 0); ValueError
        with a one-line reason otherwise."""
        parts = text.split()
        if not 1 <= len(parts) <= 2:
            raise ValueError(f"{text!r} is not 'URL VERBOSITY' (e.g. 'wss://telemetry.example/submit/ 0')")
        url = parts[0]
        if not url.startswith(("ws://", "wss://")) or len(url.split("://", 1)[1].split("/", 1)[0]) == 0:
            raise ValueError(f"{url!r} is not a WebSocket URL (ws://HOST/... or wss://HOST/...)")
        level = parts[1] if len(parts) == 2 else "0"
        if not (level.isascii() and level.isdigit() and int(level) <= 9):
            raise ValueError(f"verbosity {level!r} is not a number from 0 to 9")
        return cls(url, int(level))


def node_version() -> str:
    try:
        return version("btt-chain")
    except PackageNotFoundError:
        return "unknown"


class Telemetry:
    """Sends the node's telemetry to its endpoints until cancelled. `clock` (monotonic seconds) and `sleep` time the
    retries, `handshake_wait` is what a connection attempt waits for before it gives up on the handshake (tests give
    their own: no real waits)."""

    def __init__(self, node: Node, endpoints: tuple[TelemetryEndpoint, ...], *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 handshake_wait: Callable[[], Awaitable[None]] | None = None) -> None:
        self.node = node
        self.endpoints = endpoints
        self.clock = clock
        self.sleep = sleep
        self.handshake_wait = handshake_wait or (lambda: asyncio.sleep(HANDSHAKE_TIMEOUT_S))

    def connected(self) -> dict[str, Any]:
        node = self.node
        peer_id = str(node.p2p.local_peer_id) if node.p2p is not None else ""
        key = node.config.validator_key
        return {
            "msg": "system.connected",
            "chain": node.spec.name,
            "genesis_hash": "0x" + node.chain.genesis_hash.hex(),
            "name": node.config.name,
            "implementation": IMPLEMENTATION,
            "version": node_version(),
            "validator": None if key is None else encode_address(key.public, node.spec.ss58_prefix),
            "authority": bool(node.authority),
            "network_id": peer_id,
            "startup_time": str(node.started_ms),
            "config": "",
            "target_os": platform.system().lower(),
            "target_arch": platform.machine(),
            "target_env": "",
        }

    def interval(self) -> dict[str, Any]:
        chain = self.node.chain
        return {
            "msg": "system.interval",
            "peers": self.node.peer_count(),
            "txcount": len(self.node.pool),
            "best": "0x" + chain.head_hash.hex(),
            "height": chain.head.number,
            "finalized_hash": "0x" + chain.finalized_hash.hex(),
            "finalized_height": chain.finalized.number,
        }

    async def run(self) -> None:
        await asyncio.gather(*(self._endpoint(e) for e in self.endpoints))

    async def _endpoint(self, endpoint: TelemetryEndpoint) -> None:
        import aiohttp

        outage = Outage(endpoint.url)
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    ws = await self._connect(session, endpoint.url)
                except asyncio.CancelledError:
                    raise
                except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                    await self._retry(outage, str(exc) or type(exc).__name__)
                    continue
                opened = self.clock()
                log.log(logging.INFO if outage.failures == 0 else logging.DEBUG, "telemetry: connected to %s",
                        endpoint.url)
                try:
                    async with ws:
                        await self._send_all(ws, opened, outage)
                except asyncio.CancelledError:
                    raise
                except (aiohttp.ClientError, OSError) as exc:
                    age = self.clock() - opened
                    reason = str(exc) or type(exc).__name__
                    if age < LIVED_S:
                        reason = f"the server accepted the connection, then closed it after {age:.1f} s ({reason})"
                    await self._retry(outage, reason)

    async def _connect(self, session: Any, url: str) -> Any:
        """The WebSocket to `url`, or TimeoutError when its handshake gets no answer in time (`handshake_wait`)."""
        connect = asyncio.ensure_future(session.ws_connect(url, heartbeat=30))
        timer = asyncio.ensure_future(self.handshake_wait())
        try:
            await asyncio.wait({connect, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not connect.done():
                connect.cancel()
            await asyncio.gather(timer, connect, return_exceptions=True)
        if connect.cancelled():
            raise TimeoutError(f"no answer to the WebSocket handshake within {HANDSHAKE_TIMEOUT_S:.0f} s")
        return connect.result()

    async def _retry(self, outage: Outage, reason: str) -> None:
        retry = outage.failed(self.clock(), reason)
        if retry.warning is not None:
            log.warning("%s", retry.warning)
        else:
            log.debug("telemetry: %s: %s; retrying in %.0f s", outage.url, reason, retry.pause_s)
        await self.sleep(retry.pause_s)

    async def _send_all(self, ws: Any, opened: float, outage: Outage) -> None:
        """Send until the server closes the connection (then ConnectionError); once it has lived `LIVED_S`, the
        endpoint's outage is over."""
        loop = asyncio.get_running_loop()
        reader = asyncio.create_task(self._drain(ws))  # answers the server's close (and pings) at once
        try:
            await self._send(ws, self.connected())
            head, final, due, old = None, None, 0.0, False
            while not reader.done():
                chain = self.node.chain
                if chain.head_hash != head:
                    head = chain.head_hash
                    await self._send(ws, {"msg": "block.import", "best": "0x" + head.hex(),
                                          "height": chain.head.number})
                if chain.finalized_hash != final:
                    final = chain.finalized_hash
                    await self._send(ws, {"msg": "notify.finalized", "best": "0x" + final.hex(),
                                          "height": str(chain.finalized.number)})
                if loop.time() >= due:
                    due = loop.time() + INTERVAL_S
                    await self._send(ws, self.interval())
                if not old and self.clock() - opened >= LIVED_S:
                    old = True
                    line = outage.lived(opened)
                    if line is not None:
                        log.info("%s", line)
                await asyncio.wait({reader}, timeout=TICK_S)  # at once when the server closes
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        raise ConnectionError("the server closed the connection")

    @staticmethod
    async def _drain(ws: Any) -> None:
        """Read (and drop) what the server sends, until it closes the connection."""
        async for _ in ws:
            pass

    async def _send(self, ws: Any, payload: dict[str, Any]) -> None:
        ts = datetime.now(UTC).isoformat()
        await ws.send_str(json.dumps({"id": 1, "ts": ts, "payload": payload}, separators=(",", ":")))


async def run_with_telemetry(node: Node, endpoints: tuple[TelemetryEndpoint, ...]) -> None:
    """`node.run()`, with telemetry sent to `endpoints` (none: the node alone) once its network and RPC are up."""
    if not endpoints:
        await node.run()
        return

    async def telemetry() -> None:
        while node.rpc_server is None:  # run() sets it once the network and the RPC server are up
            await asyncio.sleep(TICK_S)
        await Telemetry(node, endpoints).run()

    task = asyncio.create_task(telemetry(), name="telemetry")
    try:
        await node.run()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
