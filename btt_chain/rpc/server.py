"""The RPC server: JSON-RPC 2.0 over HTTP POST and WebSocket on one port and one path ('/').

HTTP bodies and WebSocket messages are capped (8 MiB), batches too (100). Each WebSocket has a writer task
draining its outbox; head notifications are put there by the node's synchronous head listener and are
dropped oldest-first for a client that reads too slowly, so a subscriber never holds up the node.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import TYPE_CHECKING

from aiohttp import WSCloseCode, WSMsgType, web

import btt_chain.rpc.methods  # noqa: F401  (registers the methods)
import btt_chain.rpc.methods_assets  # noqa: F401  (registers btt_assets, btt_asset, btt_assetHoldings)
import btt_chain.rpc.methods_bonds  # noqa: F401  (registers btt_bonds, btt_multisig)
import btt_chain.rpc.methods_compute  # noqa: F401  (registers the compute and power-table methods)
import btt_chain.rpc.methods_governance  # noqa: F401  (registers btt_referenda, btt_referendum, btt_voter)
import btt_chain.rpc.methods_incentives  # noqa: F401  (registers btt_points, btt_oracles)
import btt_chain.rpc.methods_payments  # noqa: F401  (registers btt_invoices, btt_invoice, btt_payments, btt_payment)
import btt_chain.rpc.methods_staking  # noqa: F401  (registers the staking methods)
import btt_chain.rpc.methods_vesting  # noqa: F401  (registers the vesting method)
from btt_chain.rpc.errors import invalid_request
from btt_chain.rpc.outbox import Outbox
from btt_chain.rpc.protocol import MAX_BATCH, Dispatcher, error_response
from btt_chain.rpc.registry import RpcContext
from btt_chain.rpc.subscriptions import HeadSubscriptions

if TYPE_CHECKING:
    from btt_chain.node.service import Node

log = logging.getLogger("btt.rpc")

MAX_BODY = 8 * 1024 * 1024
"""Largest HTTP body or WebSocket message accepted."""
MAX_CONNECTIONS = 100
"""Open WebSocket connections at once."""
HEARTBEAT_S = 30.0
JSON_TYPE = "application/json"


def is_loopback(remote: str | None) -> bool:
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class RpcServer:
    """Serves `node` over JSON-RPC on host:port. `unsafe` enables unsafe methods for loopback callers."""

    def __init__(
        self, node: Node, host: str, port: int, unsafe: bool = False, max_body: int = MAX_BODY,
        max_batch: int = MAX_BATCH, max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.node = node
        self.host = host
        self.port = port
        self.unsafe = unsafe
        self.max_body = max_body
        self.max_connections = max_connections
        self.dispatcher = Dispatcher(max_batch=max_batch)
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.url = ""

    # lifecycle ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=self.max_body)
        app.router.add_post("/", self._http)
        app.router.add_get("/", self._websocket)
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

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"node shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _context(self, request: web.Request, subscriber: HeadSubscriptions | None = None) -> RpcContext:
        return RpcContext(self.node, subscriber, self.unsafe and is_loopback(request.remote))

    # HTTP --------------------------------------------------------------------------------------------
    async def _http(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            error = invalid_request(f"body is over the limit of {self.max_body} bytes")
            return web.Response(status=413, text=error_response(None, error), content_type=JSON_TYPE)
        reply = self.dispatcher.handle(body, self._context(request))
        if reply is None:
            return web.Response(status=204)
        return web.Response(text=reply, content_type=JSON_TYPE)

    # WebSocket ---------------------------------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=self.max_body, heartbeat=HEARTBEAT_S)
        if not ws.can_prepare(request).ok:
            return web.Response(
                status=405, text="send JSON-RPC with POST, or open a WebSocket on this path\n",
                headers={"Allow": "POST"},
            )
        if len(self._sockets) >= self.max_connections:
            return web.Response(status=503, text=f"too many WebSocket connections (limit {self.max_connections})\n")
        await ws.prepare(request)
        self._sockets.add(ws)
        outbox = Outbox()
        subscriptions = HeadSubscriptions(self.node, outbox)
        ctx = self._context(request, subscriptions)
        writer = asyncio.create_task(self._write(ws, outbox), name="rpc-ws-writer")
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                reply = self.dispatcher.handle(msg.data, ctx)
                if reply is not None:
                    outbox.put_response(reply)
                subscriptions.flush_pending()
                await outbox.wait_for_room()
        finally:
            subscriptions.close()
            outbox.close()
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            self._sockets.discard(ws)
            if not ws.closed:
                await ws.close()
        return ws

    @staticmethod
    async def _write(ws: web.WebSocketResponse, outbox: Outbox) -> None:
        try:
            while True:
                await ws.send_str(await outbox.get())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the peer went away: stop reading it too
            log.debug("WebSocket send failed: %s", exc)
            outbox.close()
            await ws.close(code=WSCloseCode.GOING_AWAY)

