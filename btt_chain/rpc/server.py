"""The RPC server: JSON-RPC 2.0 over HTTP POST and WebSocket on one port and one path ('/').

Authoring and import never wait on RPC, by construction: every piece of RPC work (parsing a message, each call
of a batch, rendering a block for subscribers) runs in one lane (`scheduler.CallLane`), one unit at a time with
the loop handed back after each, fair between client addresses and their connections, under a share of the
loop's time; every method has a cost bound, so a slot waits for at most one short unit. A connection reads its
next message only after answering the last, and a unit whose client has gone away is never run.

HTTP bodies and WebSocket messages are capped (8 MiB), batches too (100 calls) and every reply (4 MiB).
Connections are admitted by `admission.ConnectionTable` (per-address cap, a share reserved for loopback
callers, the busiest address gives up its longest-idle socket when all are taken). A WebSocket with no request
for `idle_timeout` seconds and no subscription is closed; one whose unsent notifications pass its outbox's byte
bound, or that leaves a message unsent for `stall_timeout` seconds, is closed with a reason that says so.
A browser page's `Origin` must be allowed by `--rpc-cors` (default: pages served from localhost or
127.0.0.1); requests without an Origin (wallets, scripts) are served. A plain GET of '/' (no WebSocket upgrade)
serves the explorer's page, and '/explorer/*' its static files (both off with `explorer=False`). The page this
server shipped may call it from its own origin whatever `--rpc-cors` says (it is served on the RPC's own
address).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from aiohttp import WSCloseCode, WSMsgType, web

import btt_chain.rpc.methods  # noqa: F401  (registers the methods)
import btt_chain.rpc.methods_assets  # noqa: F401  (registers btt_assets, btt_asset, btt_assetHoldings)
import btt_chain.rpc.methods_author_keys  # noqa: F401  (registers author_rotateKeys, author_insertKey, author_has*)
import btt_chain.rpc.methods_bonds  # noqa: F401  (registers btt_bonds, btt_multisig)
import btt_chain.rpc.methods_checkpoint  # noqa: F401  (registers btt_checkpoint)
import btt_chain.rpc.methods_child_state  # noqa: F401  (registers the childstate_ methods)
import btt_chain.rpc.methods_compute  # noqa: F401  (registers the compute and power-table methods)
import btt_chain.rpc.methods_explorer  # noqa: F401  (registers the btt_explorer* methods)
import btt_chain.rpc.methods_finality  # noqa: F401  (registers btt_finality)
import btt_chain.rpc.methods_governance  # noqa: F401  (registers btt_referenda, btt_referendum, btt_voter)
import btt_chain.rpc.methods_incentives  # noqa: F401  (registers btt_points, btt_oracles)
import btt_chain.rpc.methods_node  # noqa: F401  (registers system_nodeRoles, system_syncState, system_reservedPeers)
import btt_chain.rpc.methods_outputs  # noqa: F401  (registers btt_submitOutputs, btt_jobOutputs, btt_jobOutput)
import btt_chain.rpc.methods_payments  # noqa: F401  (registers btt_invoices, btt_invoice, btt_payments, btt_payment)
import btt_chain.rpc.methods_staking  # noqa: F401  (registers the staking methods)
import btt_chain.rpc.methods_state  # noqa: F401  (registers state_getKeysPaged, state_queryStorageAt, state_call, ...)
import btt_chain.rpc.methods_upgrade  # noqa: F401  (registers btt_upgrade)
import btt_chain.rpc.methods_vesting  # noqa: F401  (registers the vesting method)
import btt_chain.rpc.methods_weights  # noqa: F401  (registers btt_modelWeights, btt_weightsStatus, btt_putModelWeights)
from btt_chain.explorer import static_file
from btt_chain.node.health import get_health
from btt_chain.rpc.admission import ConnectionTable, is_loopback
from btt_chain.rpc.cors import CorsPolicy
from btt_chain.rpc.errors import SERVER_BUSY, RpcError, invalid_request
from btt_chain.rpc.outbox import MAX_NOTIFICATION_BYTES, Outbox
from btt_chain.rpc.protocol import MAX_BATCH, Dispatcher, error_response
from btt_chain.rpc.registry import RpcContext
from btt_chain.rpc.scheduler import DEFAULT_SHARE, CallLane, ClientGone, LaneBusy
from btt_chain.rpc.subscriptions import HeadFeed, HeadSubscriptions
from btt_chain.rpc.watch import ExtrinsicWatches

if TYPE_CHECKING:
    from btt_chain.node.service import Node

log = logging.getLogger("btt.rpc")
T = TypeVar("T")

MAX_BODY = 8 * 1024 * 1024
"""Largest HTTP body or WebSocket message accepted."""
MAX_CONNECTIONS = 100
"""Open WebSocket connections at once."""
MAX_PER_IP = 32
"""Connections (HTTP requests in flight and WebSockets) one client address may hold at once."""
RESERVED_LOCAL = 20
"""WebSocket slots only loopback callers may take."""
IDLE_TIMEOUT_S = 120.0
"""A WebSocket that sends no request for this long and holds no subscription is closed."""
STALL_TIMEOUT_S = 30.0
"""A WebSocket that leaves a message unsent for this long (it stopped reading) is closed."""
INTERNAL = "(node)"
"""The lane's client address for the node's own RPC work (rendering blocks for subscribers)."""
GONE = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)
"""What a client that disconnects mid-request raises: a debug line, not a traceback."""
HEARTBEAT_S = 30.0
JSON_TYPE = "application/json"


@dataclass(eq=False)
class _Socket:
    """One open WebSocket as admission sees it."""

    ws: web.WebSocketResponse
    ip: str
    local: bool
    last_active: float
    close_reason: str = ""


class RpcServer:
    """Serves `node` over JSON-RPC on host:port. `unsafe` enables unsafe methods for loopback callers."""

    def __init__(
        self, node: Node, host: str, port: int, unsafe: bool = False, max_body: int = MAX_BODY,
        max_batch: int = MAX_BATCH, max_connections: int = MAX_CONNECTIONS, cors: CorsPolicy | None = None,
        max_per_ip: int = MAX_PER_IP, explorer: bool = True, reserved_local: int | None = None,
        idle_timeout: float = IDLE_TIMEOUT_S, stall_timeout: float = STALL_TIMEOUT_S, lane_share: float = DEFAULT_SHARE,
        outbox_bytes: int = MAX_NOTIFICATION_BYTES,
    ) -> None:
        self.node = node
        btt_chain.rpc.methods_node.note_start(node)  # system_syncState's startingBlock: the best block now
        self.host = host
        self.port = port
        self.unsafe = unsafe
        self.max_body = max_body
        self.max_connections = max_connections
        self.max_per_ip = max_per_ip
        reserved = min(RESERVED_LOCAL, max_connections // 5) if reserved_local is None else reserved_local
        self.admission = ConnectionTable(max_connections, max_per_ip, reserved)
        self.idle_timeout = idle_timeout
        self.stall_timeout = stall_timeout
        self.outbox_bytes = outbox_bytes
        self.cors = cors or CorsPolicy.default()
        self.explorer = explorer
        self._per_ip: dict[str, int] = {}
        self.dispatcher = Dispatcher(max_batch=max_batch)
        self.metrics = getattr(node, "metrics", None)
        """The node's Prometheus metrics (calls and WebSocket sessions are counted there), or None."""
        if self.metrics is not None:
            self.dispatcher.observer = self.metrics
        self.lane = CallLane(share=lane_share)
        self.feed = HeadFeed(node, self._internal_run)
        self._runner: web.AppRunner | None = None
        self._sockets: dict[web.WebSocketResponse, _Socket] = {}
        self.evicted = 0
        self.url = ""

    async def _internal_run(self, fn: Callable[[], T]) -> T:
        return await self.lane.run(INTERNAL, self.feed, fn)

    # lifecycle ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        if getattr(self.node, "extrinsic_watches", None) is None:
            self.node.extrinsic_watches = ExtrinsicWatches(self.node)
        self.lane.start()
        app = web.Application(client_max_size=self.max_body)
        app.router.add_post("/", self._http)
        app.router.add_get("/", self._websocket)
        app.router.add_route("OPTIONS", "/", self._preflight)
        app.router.add_get("/health", self._health)
        if self.explorer:
            app.router.add_get("/explorer/{name}", self._explorer_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        port = self._runner.addresses[0][1] if self._runner.addresses else self.port
        self.port = port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{port}"
        log.info("JSON-RPC on %s (HTTP and WebSocket)%s", self.url, ", unsafe methods on" if self.unsafe else "")
        if self.explorer:
            log.info("explorer on %s/", self.url)

    @property
    def websockets(self) -> int:
        return len(self._sockets)

    @property
    def explorer_url(self) -> str | None:
        """Where the explorer page is served, or None with the explorer off."""
        return f"{self.url}/" if self.explorer and self.url else None

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"node shutting down")
        self.feed.close()
        await self.lane.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, request: web.Request) -> web.Response:
        healthy, body = get_health(self.node)
        return web.json_response(body, status=200 if healthy else 503)

    def _context(self, request: web.Request, subscriber: HeadSubscriptions | None = None) -> RpcContext:
        return RpcContext(self.node, subscriber, self.unsafe and is_loopback(request.remote))

    # explorer --------------------------------------------------------------------------------------
    def _explorer_response(self, name: str) -> web.Response:
        found = static_file(name)
        if found is None:
            return web.Response(status=404, text=f"no explorer file {name}\n")
        body, content_type = found
        return web.Response(body=body, content_type=content_type, headers={"Cache-Control": "no-cache"})

    def _is_own_page(self, request: web.Request, origin: str | None) -> bool:
        """The explorer this server shipped calls it from its own origin (also on --rpc-external addresses).

        Only when that origin names the node by an IP address or `localhost`: a page under a domain name could
        be an attacker's site whose name was re-pointed at this node (DNS rebinding), and must be allowed by
        --rpc-cors like any other origin."""
        if not self.explorer or origin is None or origin != f"{request.scheme}://{request.host}":
            return False
        hostname = (request.url.host or "").strip("[]")
        if hostname == "localhost":
            return True
        try:
            ipaddress.ip_address(hostname)
        except ValueError:
            return False
        return True

    async def _explorer_file(self, request: web.Request) -> web.Response:
        return self._explorer_response(request.match_info["name"])

    # admission ---------------------------------------------------------------------------------------
    def _refuse(self, request: web.Request) -> web.Response | None:
        """A response that refuses the request (origin not allowed, too many connections), or None."""
        origin = request.headers.get("Origin")
        if not self.cors.allows(origin) and not self._is_own_page(request, origin):
            log.debug("refused RPC from origin %s (allowed: %s)", origin, self.cors)
            return web.Response(status=403, text=f"origin {origin} is not allowed (node option --rpc-cors)\n")
        if self._per_ip.get(request.remote or "", 0) >= self.max_per_ip:
            return web.Response(status=429, text=f"too many connections from {request.remote} "
                                                 f"(limit {self.max_per_ip})\n")
        return None

    def _enter(self, request: web.Request) -> str:
        ip = request.remote or ""
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
        return ip

    def _leave(self, ip: str) -> None:
        left = self._per_ip.get(ip, 1) - 1
        if left > 0:
            self._per_ip[ip] = left
        else:
            self._per_ip.pop(ip, None)

    def _cors_headers(self, request: web.Request) -> dict[str, str]:
        origin = request.headers.get("Origin")
        if origin is None:
            return {}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    async def _preflight(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        return web.Response(status=204, headers={
            **self._cors_headers(request), "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "600",
        })

    # HTTP --------------------------------------------------------------------------------------------
    async def _http(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        ip = self._enter(request)
        headers = self._cors_headers(request)
        try:
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                error = invalid_request(f"body is over the limit of {self.max_body} bytes")
                return web.Response(status=413, text=error_response(None, error), content_type=JSON_TYPE,
                                    headers=headers)
            transport = request.transport

            def alive() -> bool:
                return transport is not None and not transport.is_closing()

            async def run(fn: Callable[[], T]) -> T:
                return await self.lane.run(ip, transport, fn, alive)

            try:
                reply = await self.dispatcher.handle_async(body, self._context(request), run)
            except ClientGone:
                return web.Response(status=499)
            except LaneBusy as exc:
                return web.Response(status=503, text=error_response(None, RpcError(SERVER_BUSY, str(exc))),
                                    content_type=JSON_TYPE, headers=headers)
            if reply is None:
                return web.Response(status=204, headers=headers)
            return web.Response(text=reply, content_type=JSON_TYPE, headers=headers)
        except GONE as exc:
            log.debug("RPC client %s went away: %s", request.remote, exc)
            return web.Response(status=499)
        finally:
            self._leave(ip)

    # WebSocket ---------------------------------------------------------------------------------------
    def _admit(self, request: web.Request) -> web.Response | None:
        """None when a WebSocket from this client may open (evicting another if the rule says so)."""
        ip = request.remote or ""
        verdict = self.admission.consider(ip, is_loopback(ip), self._sockets.values(), self._per_ip.get(ip, 0))
        if not verdict.admitted:
            status = 429 if self._per_ip.get(ip, 0) >= self.max_per_ip else 503
            return web.Response(status=status, text=verdict.reason + "\n")
        victim = verdict.evict
        if isinstance(victim, _Socket):
            self.evicted += 1
            log.info("closing the longest-idle WebSocket of %s (it holds the most) to admit %s", victim.ip, ip)
            victim.close_reason = "evicted: the node's connections are full and your address holds the most"
            message = victim.close_reason.encode()
            asyncio.ensure_future(victim.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=message))
            self._sockets.pop(victim.ws, None)
        return None

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=self.max_body, heartbeat=HEARTBEAT_S)
        if not ws.can_prepare(request).ok:
            if self.explorer:
                return self._explorer_response("index.html")
            return web.Response(
                status=405, text="send JSON-RPC with POST, or open a WebSocket on this path\n",
                headers={"Allow": "POST"},
            )
        refused = self._refuse(request) or self._admit(request)
        if refused is not None:
            return refused
        ip = self._enter(request)
        try:
            await ws.prepare(request)
        except GONE as exc:
            self._leave(ip)
            log.debug("RPC client %s went away: %s", request.remote, exc)
            return ws
        loop = asyncio.get_running_loop()
        opened = loop.time()
        if self.metrics is not None:
            self.metrics.session_opened()
        outbox = Outbox(max_notification_bytes=self.outbox_bytes)
        subscriptions = HeadSubscriptions(self.node, outbox, self.feed)
        sock = _Socket(ws, ip, is_loopback(ip), loop.time())
        self._sockets[ws] = sock
        ctx = self._context(request, subscriptions)
        writer = asyncio.create_task(self._write(ws, outbox), name="rpc-ws-writer")

        def alive() -> bool:  # the transport goes as soon as the client does, even while nobody reads the socket
            transport = request.transport
            return not ws.closed and not outbox.closed and transport is not None and not transport.is_closing()

        async def run(fn: Callable[[], T]) -> T:
            return await self.lane.run(ip, ws, fn, alive)

        try:
            while True:
                try:
                    msg = await ws.receive(timeout=self.idle_timeout)
                except TimeoutError:
                    if len(subscriptions) or subscriptions.on_close:
                        continue  # a subscriber waits for notifications: not idle
                    await ws.close(code=WSCloseCode.OK, message=f"idle for {self.idle_timeout:g} s".encode())
                    break
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                sock.last_active = loop.time()
                try:
                    reply = await self.dispatcher.handle_async(msg.data, ctx, run)
                except LaneBusy as exc:
                    reply = error_response(None, RpcError(SERVER_BUSY, str(exc)))
                if reply is not None:
                    outbox.put_response(reply)
                await subscriptions.flush_pending()
                await outbox.wait_for_room()
                if outbox.closed:
                    break
        except ClientGone:
            log.debug("RPC client %s went away mid-message", request.remote)
        except GONE as exc:
            log.debug("RPC client %s went away: %s", request.remote, exc)
        finally:
            self._leave(ip)
            if self.metrics is not None:
                self.metrics.session_closed(loop.time() - opened)
            subscriptions.close()
            outbox.close()
            await asyncio.gather(writer, return_exceptions=True)
            self._sockets.pop(ws, None)
            if not ws.closed:
                try:
                    await ws.close()
                except GONE:
                    pass
        return ws

    async def _write(self, ws: web.WebSocketResponse, outbox: Outbox) -> None:
        """Drain the outbox into the socket, one message per loop turn; close with the reason when the client
        is too slow (the outbox overflowed, or a message could not be sent for `stall_timeout` seconds)."""
        reason: str | None = None
        try:
            while True:
                try:
                    text = await outbox.get()
                except ConnectionResetError:
                    reason = outbox.overflow
                    break
                try:
                    await asyncio.wait_for(ws.send_str(text), self.stall_timeout)
                except TimeoutError:
                    reason = f"too slow: a message waited {self.stall_timeout:g} s to be sent"
                    break
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the peer went away
            log.debug("WebSocket send failed: %s", exc)
        outbox.close()
        if reason is not None:
            log.info("closing a WebSocket: %s", reason)
            code = WSCloseCode.POLICY_VIOLATION
        else:
            code = WSCloseCode.GOING_AWAY
        if not ws.closed:
            try:
                await ws.close(code=code, message=(reason or "").encode()[:120])
            except GONE:
                pass
