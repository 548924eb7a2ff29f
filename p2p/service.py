"""P2PService: the asyncio-side interface of the p2p layer. The node never sees trio or libp2p.

libp2p (trio-only) runs in a dedicated thread started by `start()`; every method here is called from the
node's asyncio loop, and every handler the node registers is called on that loop. See p2p/__init__.py.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from typing import TYPE_CHECKING, Any

from p2p.bridge import TrioThread
from p2p.config import P2PConfig, check_name
from p2p.errors import P2PError
from p2p.handlers import GossipHandler, Handlers, PeerCallback, RequestHandler, StatusProvider
from p2p.node_key import NodeKey, load_or_create_node_key
from p2p.peerbook import BanInfo, PeerBook, PeerInfo
from p2p.ports import bind_error

if TYPE_CHECKING:
    from p2p.node import TrioNode

__all__ = ["P2PConfig", "P2PError", "P2PService", "PeerInfo"]

log = logging.getLogger("btt.p2p")

START_TIMEOUT = 60.0
"""Includes importing libp2p (0.7-1.9 s here) on the p2p thread."""
STOP_TIMEOUT = 15.0
REQUEST_GRACE = 2.0
"""Extra seconds the asyncio side waits beyond a request's own timeout before giving up on the p2p thread."""


def check_port_free(host: str, port: int) -> None:
    """P2PError if something already listens on (host, port).

    py-libp2p listens with SO_REUSEPORT, so a second node on the same port would start "successfully" and the
    kernel would split incoming connections between the two. A plain bind (SO_REUSEADDR only, so TIME_WAIT
    sockets of a previous run do not count) detects the clash before we start.
    """
    if port == 0:
        return
    exc = bind_error(host, port)
    if exc is not None:
        raise P2PError(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


class P2PService:
    """Gossip, request/response and peer management over libp2p, for an asyncio node."""

    def __init__(self, config: P2PConfig) -> None:
        self.config = config
        self._key: NodeKey = load_or_create_node_key(config.node_key_path)
        self._book = PeerBook(config.ban_threshold)
        self._handlers = Handlers()
        self._thread: TrioThread | None = None
        self._node: TrioNode | None = None
        self._listen_addrs: list[str] = []
        self._state = "new"
        self._stop_requested = threading.Event()
        self._callback_tasks: set[asyncio.Task[Any]] = set()

    # identity
    @property
    def local_peer_id(self) -> str:
        return self._key.peer_id

    @property
    def listen_addrs(self) -> list[str]:
        """Full multiaddrs including /p2p/<peer id>; empty until started."""
        return list(self._listen_addrs)

    @property
    def is_running(self) -> bool:
        return self._state == "running" and self._thread is not None and self._thread.failure is None

    # lifecycle
    async def start(self) -> None:
        """Start the p2p thread, host and pubsub; returns once listening (P2PError if that fails)."""
        if self._state != "new":
            raise P2PError(f"p2p service cannot start: it is {self._state}")
        check_port_free(self.config.listen_host, self.config.listen_port)
        self._state = "starting"
        loop = asyncio.get_running_loop()
        thread = self._thread = TrioThread(loop, f"p2p-{self._key.peer_id[-6:]}")
        ready: asyncio.Future[list[str]] = loop.create_future()

        def on_ready(addrs: list[str]) -> None:
            def settle() -> None:
                if not ready.done():
                    ready.set_result(addrs)

            thread.call_soon_in_asyncio(settle)

        async def trio_main() -> None:
            from p2p.node import TrioNode  # imports libp2p on the p2p thread, not blocking the asyncio loop

            node = TrioNode(self.config, self._key, self._book, self._handlers, thread, self._notify)
            self._node = node
            await node.run(on_ready, self._stop_requested.is_set)

        thread.start(trio_main)
        waiting: set[asyncio.Future[Any]] = {ready, thread.finished}
        try:
            await asyncio.wait(waiting, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self._request_stop()
            self._state = "stopped"
            raise
        if not ready.done() or self._stop_requested.is_set():
            ready.cancel()
            self._request_stop()
            self._state = "stopped"
            if thread.failure is not None:
                raise P2PError(f"p2p failed to start: {thread.failure!r}")
            if self._stop_requested.is_set():
                raise P2PError("p2p was stopped while starting")
            raise P2PError(f"p2p did not start within {START_TIMEOUT:g} s")
        self._listen_addrs = ready.result()
        self._state = "running"
        thread.finished.add_done_callback(self._on_thread_finished)
        thread.call_soon_in_trio(self._node_or_fail().sync_registrations)  # handlers added while starting
        log.info("p2p listening on %s", ", ".join(self._listen_addrs))

    def _node_or_fail(self) -> TrioNode:
        if self._node is None:
            raise P2PError("p2p node is missing")
        return self._node

    def _on_thread_finished(self, _: object) -> None:
        if self._state == "running":
            failure = self._thread.failure if self._thread else None
            log.error("p2p thread stopped unexpectedly: %r", failure)
            self._state = "failed"

    def _request_stop(self) -> None:
        self._stop_requested.set()  # seen by the p2p thread even before its node exists
        if self._thread is None or self._node is None:
            return
        try:
            self._thread.call_soon_in_trio(self._node.request_stop)
        except P2PError:
            pass

    async def stop(self) -> None:
        """Stop the host and join the p2p thread. Safe to call twice, and while `start` is still running."""
        if self._state == "stopping":
            return
        if self._state in ("new", "stopped"):
            self._state = "stopped"
            return
        self._state = "stopping"
        thread = self._thread
        assert thread is not None
        self._request_stop()
        try:
            await asyncio.wait_for(asyncio.shield(thread.finished), timeout=STOP_TIMEOUT)
        except TimeoutError:
            log.error("p2p thread did not stop within %g s; abandoning it (daemon thread)", STOP_TIMEOUT)
        thread.join(1.0)
        tasks = list(self._callback_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._state = "stopped"
        log.info("p2p stopped")

    def _running(self) -> tuple[TrioThread, TrioNode]:
        if self._state != "running" or self._thread is None or self._node is None:
            if self._thread is not None and self._thread.failure is not None:
                raise P2PError(f"p2p layer failed: {self._thread.failure!r}")
            raise P2PError(f"p2p service is {self._state}")
        return self._thread, self._node

    # gossip
    def subscribe(self, topic: str, handler: GossipHandler) -> None:
        """Receive `topic` messages: handler(peer_id, data) -> True (deliver, forward) / False (drop, penalise)."""
        check_name(topic)
        if topic in self._handlers.topics:
            raise P2PError(f"already subscribed to {topic!r}")
        self._handlers.topics[topic] = handler
        if self._state == "running":
            thread, node = self._running()
            thread.call_soon_in_trio(node.subscribe_soon, topic)

    async def publish(self, topic: str, data: bytes) -> None:
        """Gossip `data` on `topic` (not delivered to our own handler). Identical payloads within 2 min dedupe."""
        check_name(topic)
        if len(data) > self.config.max_message_bytes:
            raise P2PError(
                f"gossip message of {len(data)} bytes exceeds max_message_bytes ({self.config.max_message_bytes})"
            )
        thread, node = self._running()
        await thread.run_in_trio(node.publish, topic, bytes(data))

    async def gossip_peers(self, topic: str) -> list[str]:
        """Peers our `topic` messages currently go to (gossipsub mesh or fanout)."""
        check_name(topic)
        thread, node = self._running()
        return await thread.run_in_trio(node.mesh_peers, topic)

    async def connection_backoff_caps(self) -> dict[str, list[int | None]]:
        """Each peer's connections' TCP retransmission caps in ms (`P2PConfig.tcp_rto_max_ms`; the kernel's default,
        120,000, where the cap could not be set; None where the socket cannot be read)."""
        thread, node = self._running()
        return await thread.run_in_trio(node.backoff_caps)

    # request/response
    def set_request_handler(self, protocol: str, handler: RequestHandler) -> None:
        """Serve `protocol`: handler(peer_id, request) -> response bytes (raise to fail the request)."""
        check_name(protocol)
        if protocol in self._handlers.protocols:
            raise P2PError(f"a handler for {protocol!r} is already set")
        self._handlers.protocols[protocol] = handler
        if self._state == "running":
            thread, node = self._running()
            thread.call_soon_in_trio(node.register_protocol, protocol)

    async def request(self, peer_id: str, protocol: str, data: bytes, timeout: float = 10.0) -> bytes:
        """Send one request to a connected peer and return its response; P2PError on any failure."""
        check_name(protocol)
        if len(data) > self.config.max_request_bytes:
            raise P2PError(f"request of {len(data)} bytes exceeds max_request_bytes ({self.config.max_request_bytes})")
        thread, node = self._running()
        try:
            return await asyncio.wait_for(
                thread.run_in_trio(node.request, peer_id, protocol, bytes(data), timeout), timeout + REQUEST_GRACE
            )
        except TimeoutError:
            raise P2PError(f"{protocol} request to {peer_id} timed out after {timeout:g} s") from None

    def set_status_provider(self, provider: StatusProvider) -> None:
        """`provider()` returns the opaque status bytes (e.g. best block) sent in every handshake."""
        self._handlers.status_provider = provider

    # peers
    def peers(self) -> list[PeerInfo]:
        """Connected peers (handshake done, same genesis, not banned), oldest first."""
        return self._book.connected_peers()

    def peer_score(self, peer_id: str) -> int:
        return self._book.score(peer_id)

    def is_banned(self, peer_id: str) -> bool:
        return self._book.is_banned(peer_id)

    def ban(self, peer_id: str, seconds: float, reason: str) -> None:
        """Disconnect `peer_id` and refuse it (inbound and redial) for `seconds`."""
        log.warning("banned %s for %g s: %s", peer_id, seconds, reason)
        self._book.ban(peer_id, seconds, reason)
        if self._state == "running" and self._thread is not None and self._node is not None:
            try:
                self._thread.call_soon_in_trio(self._node.enforce_ban, peer_id)
            except P2PError:
                pass

    def ban_totals(self) -> dict[str, int]:
        """Bans imposed since start, by kind (`p2p.peerbook.BAN_KINDS`)."""
        return self._book.ban_totals()

    def active_bans(self) -> list[BanInfo]:
        """Bans in force, each with its kind, reason and seconds left."""
        return self._book.active_bans()

    def penalise(self, peer_id: str, amount: int, reason: str) -> None:
        """Lower a peer's score by `amount`; at or below `ban_threshold` it is banned for `score_ban_seconds`."""
        log.info("penalised %s by %d: %s", peer_id, amount, reason)
        if self._book.penalise(peer_id, amount):
            threshold = self.config.ban_threshold
            self.ban(peer_id, self.config.score_ban_seconds, f"score at or below {threshold} ({reason})")

    def on_peer_connected(self, callback: PeerCallback) -> None:
        """callback(peer_id) after a peer completes the handshake (e.g. to start sync)."""
        self._handlers.on_connected.append(callback)

    def on_peer_disconnected(self, callback: PeerCallback) -> None:
        self._handlers.on_disconnected.append(callback)

    def _notify(self, kind: str, peer_id: str) -> None:
        # called on the p2p thread
        if self._thread is not None:
            self._thread.call_soon_in_asyncio(self._fire, kind, peer_id)

    def _fire(self, kind: str, peer_id: str) -> None:
        if self._state in ("stopping", "stopped"):
            return  # the node is shutting down; no new callback tasks
        callbacks = self._handlers.on_connected if kind == "connected" else self._handlers.on_disconnected
        for callback in list(callbacks):
            try:
                result = callback(peer_id)
            except Exception:
                log.exception("peer %s callback failed for %s", kind, peer_id)
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._callback_tasks.add(task)
                task.add_done_callback(self._callback_done)

    def _callback_done(self, task: asyncio.Task[Any]) -> None:
        self._callback_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("peer callback failed", exc_info=task.exception())
