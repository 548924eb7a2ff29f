"""The trio side: one libp2p host with gossip and request/response, connection policy, handshake and redial.

Runs entirely on the p2p thread (see bridge.py); the asyncio side reaches it only through `P2PService`.

Connection policy, in order, for every new connection:
1. a banned peer is disconnected at once;
2. beyond `max_peers` (connected + handshaking) the new connection is closed;
3. otherwise both sides run the status handshake (`/btt/status/1`, not genesis-namespaced): each sends
   its genesis hash and opaque node status and reads the other's. A different genesis bans the peer
   (and the other side does the same); a failed handshake disconnects it. Only then is the peer
   "connected": listed in `peers()` and announced to `on_peer_connected` callbacks.
Bootnodes are redialed by our own loop (libp2p's gives up and caches failures for 60 s): after a failed
dial the delay doubles from `redial_min_interval` to `redial_max_interval`, and resets on a handshake.
libp2p's own auto-connector is switched off (it would redial banned peers from the peerstore).
Peer exchange, the in/out bounds and address-only sessions for inbound peers over the bounds: see discovery.py
and the methods at the end of `TrioNode`.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import time
from collections.abc import Callable

import multiaddr
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetConn, INetStream, INetwork, INotifee
from libp2p.crypto.x25519 import create_new_key_pair as create_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.network.config import ConnectionConfig
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo as Libp2pPeerInfo
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux

from p2p import discovery, peer_store, tcp_backoff, wire
from p2p.bridge import TrioThread, invoke
from p2p.config import STATUS_PROTOCOL_ID, P2PConfig, parse_bootnode, wire_protocol
from p2p.errors import P2PError
from p2p.gossip import Gossip
from p2p.handlers import Handlers
from p2p.inbound_slots import InboundUpgrades, cap_inbound_upgrades
from p2p.node_key import NodeKey
from p2p.peerbook import PENALTY_BAD_PEX, PeerBook
from p2p.reqresp import ReqResp, exchange, read_request, reset_quietly, respond

log = logging.getLogger("btt.p2p")

STATUS_PROVIDER_TIMEOUT = 2.0
REDIAL_TICK = 0.25
HOUSEKEEPING_TICK = 0.5
GOSSIP_HOUSEKEEPING_INTERVAL = 60.0
CONNECTION_EVENT_QUEUE = 1024
SHUTDOWN_CLOSE_TIMEOUT = 3.0
PEX_FIRST_ASK_S = 1.0
PEX_INTERVAL_S = 10.0
PEERS_SAVE_INTERVAL_S = 2.0
"""How often the peers file is brought up to date (when what it would hold changed)."""
PEX_TIMEOUT_S = 5.0
ROTATE_EVERY = 3
"""Every third peer-exchange round, one outbound peer is swapped for a random known one, so separate groups of
peers (after a restart or a partition) find each other again instead of each staying content on its own."""
SEED_GRACE_S = 5.0
MAX_SEED_ONLY = 8
"""At most this many such address-only sessions at once (each closes after SEED_GRACE_S)."""
"""An inbound peer over `in_peers` may ask for addresses this long before we close (CometBFT's seed mode)."""


def install_libp2p_log_forwarding() -> None:
    """Send the `libp2p` logger's warnings through our logging (it has propagate=False and no handler)."""
    libp2p_logger = logging.getLogger("libp2p")
    if any(isinstance(h, _ForwardToBtt) for h in libp2p_logger.handlers):
        return
    handler = _ForwardToBtt()
    handler.setLevel(logging.WARNING)
    libp2p_logger.addHandler(handler)


_EXPECTED_FAILURES = (
    # (logger, text in the message): libp2p logs these at ERROR, but they are failures we handle ourselves
    ("libp2p.transport.tcp.tcp", "Failed to open TCP stream"),  # a bootnode is down: our redial loop retries
    ("libp2p.host.basic_host", "Failed to open stream to peer"),  # surfaces as P2PError to the caller
    ("libp2p.protocol_muxer.multiselect_client", "MultiselectClient handshake:"),  # peer dropped mid-negotiation
    ("libp2p.stream_muxer.yamux.yamux", "ClosedResourceError"),  # connection closed under the muxer
    ("libp2p.stream_muxer.yamux.yamux", ": ConnectionClosedError: "),  # the peer reset it (it stopped): a disconnect
    ("libp2p.network.swarm", "failed to upgrade security"),  # a dial to a peer that went away: redialed later
    ("libp2p.network.swarm", "fail to upgrade mux"),  # the same one step later (seen as a peer stopped under load)
    # a connection being added when the node stops: trio cancels it (logged with a traceback at WARNING)
    ("libp2p.network.swarm", ("[ADDCONN_FAIL] add_conn failed", ": Cancelled(")),
    # the same, when trio hands the cancellation over inside an exception group (seen as a node stopped under load)
    ("libp2p.network.swarm", ("[ADDCONN_FAIL] add_conn failed", ": BaseExceptionGroup('Exceptions from Trio nursery', "
                                                                "[Cancelled(")),
)


class _ForwardToBtt(logging.Handler):
    """Re-emits libp2p records on `btt.p2p.libp2p`; failures we handle ourselves are demoted to DEBUG."""

    def emit(self, record: logging.LogRecord) -> None:
        target = logging.getLogger("btt.p2p.libp2p")
        if record.levelno > logging.DEBUG and any(
            record.name == name and all(t in record.getMessage() for t in ((text,) if isinstance(text, str) else text))
            for name, text in _EXPECTED_FAILURES
        ):
            record = logging.makeLogRecord({**record.__dict__, "levelno": logging.DEBUG, "levelname": "DEBUG"})
        if target.isEnabledFor(record.levelno):
            target.handle(record)


class _ConnectionNotifee(INotifee):
    """Turns swarm connect/disconnect notifications into events on our channel, without blocking the swarm."""

    def __init__(self, send: trio.MemorySendChannel[tuple[str, INetConn]]) -> None:
        self._send = send

    def _push(self, kind: str, conn: INetConn) -> None:
        try:
            self._send.send_nowait((kind, conn))
        except trio.WouldBlock:
            log.warning("connection event queue full; dropped a %s event", kind)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        self._push("connected", conn)

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        self._push("disconnected", conn)

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def listen(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        return None

    async def listen_close(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        return None


async def _no_auto_connect() -> None:
    return None


def _listen_multiaddr(host: str, port: int) -> multiaddr.Multiaddr:
    family = "ip6" if ":" in host else "ip4"
    return multiaddr.Multiaddr(f"/{family}/{host}/tcp/{port}")


def _remote_address(conn: INetConn) -> str:
    try:
        addrs = conn.get_transport_addresses()
    except Exception:  # noqa: BLE001 - only used for display
        return ""
    return str(addrs[0]) if addrs else ""


class TrioNode:
    """The libp2p host and everything around it; every method runs on the trio thread."""

    def __init__(
        self,
        config: P2PConfig,
        key: NodeKey,
        book: PeerBook,
        handlers: Handlers,
        bridge: TrioThread,
        notify: Callable[[str, str], None],
    ) -> None:
        self.config = config
        self.key = key
        self.book = book
        self.handlers = handlers
        self.bridge = bridge
        self.notify = notify
        """notify(kind, peer_id) with kind "connected" or "disconnected"; called on the trio thread."""
        self.listen_addrs: list[str] = []
        self._stop: trio.Event | None = None
        self._stopping = False
        self._backoff_unsupported_told = False
        self._nursery: trio.Nursery | None = None
        self._host: IHost | None = None
        self.inbound_upgrades: InboundUpgrades | None = None
        self._gossip: Gossip | None = None
        self._reqresp: ReqResp | None = None
        self._conns: dict[str, set[INetConn]] = {}
        self._handshaking: set[str] = set()
        self._dialing: set[str] = set()
        self._next_dial: dict[str, float] = {}
        self._dial_delay: dict[str, float] = {}
        self._bootnodes = [parse_bootnode(addr) for addr in config.bootnodes]
        self._bootnode_ids = {peer for peer, _ in self._bootnodes}
        self._outbound: set[str] = set()
        self._seed_only: set[str] = set()
        self._session_start: dict[str, float] = {}
        self._dial_began: dict[str, float] = {}
        """Inbound peers over `in_peers`: handshake and one peer-exchange answer, then closed; never 'connected'."""
        """Peers whose current connection we dialed (the rest dialed us)."""
        self._dial_addr: dict[str, str] = {}
        self._book = discovery.AddressBook(key.peer_id)
        self._saved_peers: list[tuple[str, str]] = []
        if config.discovery and config.peers_file is not None:
            self._saved_peers = peer_store.load_peers(config.peers_file)
            self._book.restore(self._saved_peers)
        self._listen_port = config.listen_port

    # lifecycle
    async def run(self, ready: Callable[[list[str]], None], stop_requested: Callable[[], bool]) -> None:
        """Start host, pubsub and our loops; call `ready(listen_addrs)` once listening; return after stop.

        `stop_requested()` covers a stop asked for before `request_stop` could reach us.
        """
        self._stop = trio.Event()
        if stop_requested():
            return
        install_libp2p_log_forwarding()
        key_pair = self.key.libp2p_key_pair()
        listen = _listen_multiaddr(self.config.listen_host, self.config.listen_port)
        max_connections = 2 * self.config.max_peers + 8
        host = new_host(
            key_pair=key_pair,
            listen_addrs=[listen],
            sec_opt={NOISE_PROTOCOL_ID: NoiseTransport(key_pair, noise_privkey=create_x25519_key_pair().private_key)},
            muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
            connection_config=ConnectionConfig(
                max_connections=max_connections,
                min_connections=0,
                low_watermark=0,
                high_watermark=max_connections,
                dial_timeout=self.config.dial_timeout,
            ),
            enable_mDNS=False,
        )
        swarm = host.get_network()
        # libp2p's auto-connector redials any peer in the peerstore, banned ones included; our redial loop
        # replaces it. Instance attribute, so no other host is affected.
        swarm.auto_connector.maybe_connect = _no_auto_connect  # type: ignore[attr-defined,method-assign]
        # py-libp2p holds an inbound slot for the swarm's life after each accepted connection (p2p/inbound_slots.py)
        self.inbound_upgrades = cap_inbound_upgrades(swarm)
        send, receive = trio.open_memory_channel[tuple[str, INetConn]](CONNECTION_EVENT_QUEUE)
        swarm.register_notifee(_ConnectionNotifee(send))
        self._host = host
        self._gossip = Gossip(self.config, host, self.book, self.handlers, self.bridge, self.penalise)
        self._reqresp = ReqResp(self.config, host, self.book, self.handlers, self.bridge, self.penalise)
        host.set_stream_handler(TProtocol(STATUS_PROTOCOL_ID), self._serve_status)
        if self.config.discovery:
            pex = wire_protocol(self.config, discovery.PEX_PROTOCOL_NAME)
            host.set_stream_handler(TProtocol(pex), self._serve_peers)
        try:
            async with host.run([listen]), self._gossip.running(), trio.open_nursery() as nursery:
                self._nursery = nursery
                for name in list(self.handlers.protocols):
                    self._reqresp.register(name)
                for name in list(self.handlers.topics):
                    await self._gossip.subscribe(name, nursery)
                nursery.start_soon(self._connection_events, receive)
                nursery.start_soon(self._redial_loop)
                nursery.start_soon(self._housekeeping)
                if self.config.discovery:
                    nursery.start_soon(self._discovery_loop)
                self.listen_addrs = [str(addr) for addr in host.get_addrs()]
                if not self._listen_port and self.listen_addrs:
                    parsed = discovery.parse_ip4_tcp(self.listen_addrs[0].split("/p2p/")[0])
                    self._listen_port = parsed[1] if parsed else 0
                if not self.listen_addrs:  # libp2p logs and ignores a failed listen
                    raise P2PError(f"could not listen on {listen}")
                self.bridge.nursery = nursery
                ready(self.listen_addrs)
                if not stop_requested():
                    await self._stop.wait()
                self._stopping = True
                self.bridge.nursery = None
                with trio.move_on_after(SHUTDOWN_CLOSE_TIMEOUT):
                    await host.close()  # closes connections first; cancelling alone leaves sockets to the GC
                nursery.cancel_scope.cancel()
        except Exception as exc:
            if not self._stopping:
                raise
            # py-libp2p sometimes raises while tearing down under traffic ("Nursery is closed to new arrivals").
            log.warning("p2p shutdown raised %r (ignored)", exc)
        finally:
            self.bridge.nursery = None
            self._save_peers()
            for peer in self.book.clear_connected():
                self.notify("disconnected", peer)

    def request_stop(self) -> None:
        self._stopping = True
        if self._stop is not None:
            self._stop.set()

    # calls from the asyncio side (through the bridge)
    async def publish(self, name: str, data: bytes) -> None:
        assert self._gossip is not None
        await self._gossip.publish(name, data)

    async def request(self, peer_id: str, name: str, data: bytes, timeout: float) -> bytes:
        assert self._reqresp is not None
        return await self._reqresp.request(peer_id, name, data, timeout)

    async def mesh_peers(self, name: str) -> list[str]:
        assert self._gossip is not None
        return self._gossip.mesh_peers(name)

    def sync_registrations(self) -> None:
        """Subscribe and serve everything registered so far (idempotent; covers registrations during start)."""
        for name in list(self.handlers.topics):
            self.subscribe_soon(name)
        for name in list(self.handlers.protocols):
            self.register_protocol(name)

    def subscribe_soon(self, name: str) -> None:
        if self._nursery is not None and self._gossip is not None:
            self._nursery.start_soon(self._gossip.subscribe, name, self._nursery)

    def register_protocol(self, name: str) -> None:
        if self._reqresp is not None:
            self._reqresp.register(name)

    def enforce_ban(self, peer_id: str) -> None:
        """Disconnect a peer the book lists as banned (it stays refused until the ban is swept)."""
        if self._nursery is not None and self._conns.get(peer_id):
            self._nursery.start_soon(self._disconnect, ID.from_base58(peer_id))

    # scoring
    def penalise(self, peer_id: str, amount: int, reason: str) -> None:
        log.info("penalised %s by %d: %s", peer_id, amount, reason)
        if self.book.penalise(peer_id, amount):
            self.ban(peer_id, self.config.score_ban_seconds, f"score at or below {self.book.ban_threshold} ({reason})")

    def ban(self, peer_id: str, seconds: float, reason: str) -> None:
        log.warning("banned %s for %g s: %s", peer_id, seconds, reason)
        self.book.ban(peer_id, seconds, reason)
        self.enforce_ban(peer_id)

    # connections
    async def _connection_events(self, receive: trio.MemoryReceiveChannel[tuple[str, INetConn]]) -> None:
        async for kind, conn in receive:
            try:
                peer_id: ID = conn.muxed_conn.peer_id
            except AttributeError:
                continue
            if kind == "connected":
                self._on_connected(peer_id, conn)
            else:
                self._on_disconnected(peer_id, conn)

    def _on_connected(self, peer_id: ID, conn: INetConn) -> None:
        assert self._nursery is not None
        peer = peer_id.to_base58()
        self._conns.setdefault(peer, set()).add(conn)
        self._cap_backoff(conn)
        if self.book.is_banned(peer):
            log.debug("refusing banned peer %s", peer)
            self._nursery.start_soon(self._disconnect, peer_id)
            return
        # a session is a handshake done or under way, not a connection object: a refused or closing connection whose
        # end libp2p has not reported yet (0.1 s or more later, longer on a busy machine) must not stop the next one's
        # handshake, else the other side counts us as a peer and never redials while we never count it
        if peer in self._handshaking or self.book.is_connected(peer) or peer in self._seed_only:
            return
        now = trio.current_time()
        outbound = peer in self._dialing or now - self._dial_began.get(peer, -1e9) < self.config.dial_timeout + 2
        if outbound:
            self._outbound.add(peer)
            self._session_start[peer] = now
        inbound_full = not outbound and sum(1 for p in self._conns if p not in self._outbound) > self.config.in_peers
        if inbound_full or self.book.connected_count() + len(self._handshaking) >= self.config.max_peers:
            if outbound or not self.config.discovery or len(self._seed_only) >= MAX_SEED_ONLY:
                log.debug("peer limit reached (in %d, all %d); dropping %s", self.config.in_peers,
                          self.config.max_peers, peer)
                self._outbound.discard(peer)
                self._nursery.start_soon(self._disconnect, peer_id)
                return
            # full: still tell it whom else to dial (else a node whose only bootnode is full never joins)
            log.debug("peer limit reached; %s may ask for addresses, then is closed", peer)
            self._seed_only.add(peer)
            self._nursery.start_soon(self._close_seed_only, peer_id)
        self._handshaking.add(peer)
        self._nursery.start_soon(self._handshake, peer_id, _remote_address(conn))

    def _cap_backoff(self, conn: INetConn) -> None:
        if self.config.tcp_rto_max_ms is None:
            return
        outcome = tcp_backoff.cap_backoff(conn, self.config.tcp_rto_max_ms)
        if outcome == "unsupported" and not self._backoff_unsupported_told:
            self._backoff_unsupported_told = True
            log.info("this kernel cannot cap a connection's TCP retransmission backoff (TCP_RTO_MAX_MS, Linux 6.15+): "
                     "after a network outage a peer connection may stay silent up to as long again as the outage")

    async def backoff_caps(self) -> dict[str, list[int | None]]:
        """Each connected peer's connections' retransmission caps in ms (the kernel's default where none was set)."""
        return {peer: [tcp_backoff.backoff_cap_of(conn) for conn in conns] for peer, conns in self._conns.items()}

    def _on_disconnected(self, peer_id: ID, conn: INetConn) -> None:
        peer = peer_id.to_base58()
        conns = self._conns.get(peer)
        if conns is not None:
            conns.discard(conn)
            if conns:
                return
            del self._conns[peer]
        if peer in self._outbound and trio.current_time() - self._session_start.pop(peer, 0.0) < 2 * SEED_GRACE_S:
            self._book.dial_failed(peer)  # closed soon after we dialed (full, or going down): back off
        self._outbound.discard(peer)
        self._seed_only.discard(peer)
        if peer in self._bootnode_ids:  # lost bootnode: first redial soon, then back off
            self._next_dial[peer] = trio.current_time() + self.config.redial_min_interval
            self._dial_delay.pop(peer, None)
        if self.book.set_disconnected(peer):
            log.info("peer %s disconnected", peer)
            self.notify("disconnected", peer)

    async def _disconnect(self, peer_id: ID) -> None:
        assert self._host is not None
        try:
            await self._host.disconnect(peer_id)
        except Exception as exc:  # noqa: BLE001 - already gone
            log.debug("disconnecting %s: %r", peer_id, exc)

    # handshake
    async def _own_status(self) -> bytes:
        provider = self.handlers.status_provider
        status = b""
        if provider is not None:
            try:
                status = await self.bridge.run_in_asyncio(invoke(provider), STATUS_PROVIDER_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 - a broken provider must not stop peering
                log.warning("status provider failed: %r; sending empty status", exc)
                status = b""
            if not isinstance(status, bytes) or len(status) > wire.MAX_STATUS_BYTES - 64:
                log.error("status provider must return bytes under %d bytes", wire.MAX_STATUS_BYTES - 64)
                status = b""
        return wire.encode_status(self.config.genesis_hash, status)

    async def _handshake(self, peer_id: ID, address: str) -> None:
        assert self._host is not None
        peer = peer_id.to_base58()
        try:
            with trio.fail_after(self.config.handshake_timeout):
                ours = await self._own_status()
                remote = wire.decode_status(await self._status_exchange(peer_id, ours))
        except Exception as exc:  # noqa: BLE001 - any failure: not a usable peer now
            self._handshaking.discard(peer)
            if self._conns.get(peer) and not self.book.is_banned(peer):
                log.info("handshake with %s failed (%r); disconnecting", peer, exc)
                await self._disconnect(peer_id)
            return
        self._handshaking.discard(peer)
        if remote.genesis_hash != self.config.genesis_hash:
            self.ban(peer, self.config.genesis_mismatch_ban_seconds, self._genesis_mismatch(remote.genesis_hash))
            return
        if not self._conns.get(peer) or self.book.is_banned(peer) or peer in self._seed_only:
            return
        self.book.set_connected(peer, address, remote.status, time.time())
        self._dial_delay.pop(peer, None)
        log.info("connected to %s at %s (%s)", peer, address or "?", "out" if peer in self._outbound else "in")
        self.notify("connected", peer)
        if peer in self._outbound and peer in self._dial_addr:
            self._book.learn_verified(peer, self._dial_addr[peer])
            self._book.dial_succeeded(peer)
        if peer in self._outbound and len(self._outbound) > self.config.out_peers and self._nursery is not None:
            others = sorted(self._outbound - {peer})
            if others:
                victim = random.choice(others)
                log.debug("over out_peers: closing %s for %s", victim, peer)
                self._nursery.start_soon(self._disconnect, ID.from_base58(victim))
        if self.config.discovery and self._nursery is not None:
            self._nursery.start_soon(self._ask_peers, peer)

    async def _status_exchange(self, peer_id: ID, ours: bytes) -> bytes:
        assert self._host is not None
        # An inbound connection is announced before its muxer is ready; the first stream may fail.
        for attempt in range(5):
            try:
                return await exchange(self._host, peer_id, STATUS_PROTOCOL_ID, ours, wire.MAX_STATUS_BYTES)
            except Exception:
                if attempt == 4 or not self._conns.get(peer_id.to_base58()):
                    raise
                await trio.sleep(0.1 * (attempt + 1))
        raise AssertionError("unreachable")

    def _genesis_mismatch(self, theirs: bytes) -> str:
        return f"genesis mismatch: peer is on {theirs.hex()[:16]}, we are on {self.config.namespace}"

    async def _serve_status(self, stream: INetStream) -> None:
        peer_id: ID = stream.muxed_conn.peer_id
        peer = peer_id.to_base58()
        if self.book.is_banned(peer):
            await reset_quietly(stream)
            return
        try:
            remote = wire.decode_status(await read_request(stream, wire.MAX_STATUS_BYTES))
        except Exception as exc:  # noqa: BLE001
            log.debug("bad status request from %s: %r", peer, exc)
            await reset_quietly(stream)
            return
        try:
            await respond(stream, wire.encode_response(wire.RESPONSE_OK, await self._own_status()))
        except Exception as exc:  # noqa: BLE001
            log.debug("could not answer status of %s: %r", peer, exc)
            await reset_quietly(stream)
        if remote.genesis_hash != self.config.genesis_hash:
            # answered first, so the other side learns our genesis and refuses us too
            self.ban(peer, self.config.genesis_mismatch_ban_seconds, self._genesis_mismatch(remote.genesis_hash))

    # redial and housekeeping
    async def _redial_loop(self) -> None:
        assert self._nursery is not None and self._host is not None
        own = self._host.get_id().to_base58()
        targets = [(peer, multiaddr.Multiaddr(addr)) for peer, addr in self._bootnodes if peer != own]
        while True:
            now = trio.current_time()
            stuck_after = 2 * self.config.dial_timeout + 1
            for peer in [p for p in self._dialing if now - self._dial_began.get(p, now) > stuck_after]:
                log.debug("dial to %s is stuck; giving up on it", peer)  # libp2p did not honour the timeout
                self._dialing.discard(peer)
            # with discovery, bootnodes are only first contacts: not redialed once we have our outbound peers
            enough = self.config.discovery and self._outbound_count() >= self.config.out_peers
            for peer, addr in targets:
                if enough or peer in self._dialing or self._conns.get(peer) or self.book.is_banned(peer):
                    continue
                if now < self._next_dial.get(peer, 0.0):
                    continue
                if self.book.connected_count() + len(self._handshaking) >= self.config.max_peers:
                    break
                self._dialing.add(peer)
                self._nursery.start_soon(self._dial, peer, addr)
            if self.config.discovery:
                self._dial_discovered()
            await trio.sleep(REDIAL_TICK)

    def _outbound_count(self) -> int:
        return len(self._outbound | self._dialing)

    def _dial_discovered(self) -> None:
        """Dial peers learnt by peer exchange while we have fewer than `out_peers` outbound connections."""
        assert self._nursery is not None
        room = min(self.config.out_peers - self._outbound_count(),
                   self.config.max_peers - self.book.connected_count() - len(self._handshaking))
        if room <= 0:
            return

        def skip(peer: str) -> bool:
            return peer in self._dialing or bool(self._conns.get(peer)) or self.book.is_banned(peer)

        for peer, addr in self._book.candidates(skip, room):
            self._dialing.add(peer)
            self._nursery.start_soon(self._dial, peer, multiaddr.Multiaddr(addr))

    async def _dial(self, peer: str, addr: multiaddr.Multiaddr) -> None:
        assert self._host is not None
        peer_id = ID.from_base58(peer)
        self._dial_addr[peer] = str(addr)
        self._dial_began[peer] = trio.current_time()
        try:
            self._host.get_network().unblock_peer(peer_id)  # type: ignore[attr-defined]
            with trio.fail_after(self.config.dial_timeout):
                await self._host.connect(Libp2pPeerInfo(peer_id, [addr]))
        except Exception as exc:  # noqa: BLE001 - retried by the loop
            log.debug("dial %s failed: %r", peer, exc)
            self._book.dial_failed(peer)
        finally:
            self._dialing.discard(peer)
            delay = self._dial_delay.get(peer, self.config.redial_min_interval)
            self._next_dial[peer] = trio.current_time() + delay
            self._dial_delay[peer] = min(delay * 2, self.config.redial_max_interval)

    async def _housekeeping(self) -> None:
        assert self._gossip is not None
        last_gossip_clean = last_peers_save = trio.current_time()
        while True:
            await trio.sleep(HOUSEKEEPING_TICK)
            for peer in self.book.sweep_expired_bans():
                log.info("ban on %s ended", peer)
                self._next_dial.pop(peer, None)
                self._dial_delay.pop(peer, None)
            if trio.current_time() - last_gossip_clean >= GOSSIP_HOUSEKEEPING_INTERVAL:
                self._gossip.housekeeping()
                self.forget_dial_state(trio.current_time())
                last_gossip_clean = trio.current_time()
            if trio.current_time() - last_peers_save >= PEERS_SAVE_INTERVAL_S:
                self._save_peers()
                last_peers_save = trio.current_time()

    def forget_dial_state(self, now: float) -> int:
        """Drop what we keep about a dial (when it began, the address, the next redial and its delay) for each peer
        that is not a bootnode, not connected, not being dialed or handshaken, and whose dial began more than a dial's
        time ago: otherwise every address peer exchange ever made us dial would stay (a peer telling us fresh fake
        ids would grow it without bound). The number of peers forgotten."""
        keep = self._bootnode_ids | self._conns.keys() | self._dialing | self._handshaking | self._outbound
        recent = self.config.dial_timeout + 2
        stale = [peer for peer in self._dial_began.keys() | self._dial_addr.keys() | self._next_dial.keys()
                 | self._dial_delay.keys()
                 if peer not in keep and now - self._dial_began.get(peer, -1e18) > recent]
        for peer in stale:
            self._dial_began.pop(peer, None)
            self._dial_addr.pop(peer, None)
            self._next_dial.pop(peer, None)
            self._dial_delay.pop(peer, None)
        return len(stale)

    def _save_peers(self) -> None:
        """Bring the peers file up to date (banned peers left out); a failed write is logged, not fatal."""
        path = self.config.peers_file
        if path is None or not self.config.discovery:
            return
        peers = [(p, a) for p, a in self._book.to_save() if not self.book.is_banned(p)]
        if peers == self._saved_peers:
            return
        try:
            peer_store.save_peers(path, peers)
        except OSError as exc:
            log.warning("cannot save the peers to %s: %s", path, exc)
            return
        self._saved_peers = peers

    # peer exchange (p2p/discovery.py)
    async def _ask_peers(self, peer: str) -> None:
        """Ask one connected peer for addresses and tell it our listening port."""
        assert self._host is not None
        protocol = wire_protocol(self.config, discovery.PEX_PROTOCOL_NAME)
        try:
            with trio.fail_after(PEX_TIMEOUT_S):
                answer = await exchange(self._host, ID.from_base58(peer), protocol,
                                        discovery.encode_request(self._listen_port), discovery.MAX_PEX_BYTES)
        except Exception as exc:  # noqa: BLE001 - an old peer, a busy one, a dropped connection
            log.debug("peers request to %s failed: %r", peer, exc)
            return
        observed = self._observed(peer)
        loopback = observed is not None and observed[0].is_loopback
        try:
            entries = discovery.decode_response(answer, loopback)
        except P2PError as exc:
            self.penalise(peer, PENALTY_BAD_PEX, str(exc))
            return
        added = self._book.learn(peer, entries)
        if added:
            log.debug("learnt %d peer addresses from %s", added, peer)

    def _observed(self, peer: str) -> tuple[ipaddress.IPv4Address, int] | None:
        info = next((p for p in self.book.connected_peers() if p.peer_id == peer), None)
        if info is None:
            conns = self._conns.get(peer)
            address = _remote_address(next(iter(conns))) if conns else ""
        else:
            address = info.address
        return discovery.parse_ip4_tcp(address)

    async def _serve_peers(self, stream: INetStream) -> None:
        peer = stream.muxed_conn.peer_id.to_base58()
        if self.book.is_banned(peer) or not (self.book.is_connected(peer) or peer in self._seed_only):
            await reset_quietly(stream)
            return
        try:
            request = await read_request(stream, discovery.MAX_PEX_BYTES)
        except Exception as exc:  # noqa: BLE001 - too large, too slow, or the asker went away: no blame
            log.debug("reading a peers request from %s failed: %r", peer, exc)
            await reset_quietly(stream)
            return
        try:
            port = discovery.decode_request(request)
        except P2PError as exc:
            self.penalise(peer, PENALTY_BAD_PEX, str(exc))
            await reset_quietly(stream)
            return
        observed = self._observed(peer)
        if port and observed is not None and peer not in self._outbound:
            own_addr = discovery.with_port(f"/ip4/{observed[0]}/tcp/{observed[1]}", port)
            if own_addr is not None:
                self._book.learn_verified(peer, own_addr)
        connected = [p.peer_id for p in self.book.connected_peers()]
        answer = discovery.encode_response(self._book.answer(connected, peer))
        try:
            await respond(stream, wire.encode_response(wire.RESPONSE_OK, answer))
        except Exception as exc:  # noqa: BLE001
            log.debug("could not answer peers request of %s: %r", peer, exc)
            await reset_quietly(stream)

    async def _close_seed_only(self, peer_id: ID) -> None:
        await trio.sleep(SEED_GRACE_S)
        if peer_id.to_base58() in self._seed_only:
            await self._disconnect(peer_id)

    async def _discovery_loop(self) -> None:
        """Every PEX_INTERVAL_S ask a random connected peer, so addresses spread beyond our first contacts."""
        await trio.sleep(PEX_FIRST_ASK_S)
        rounds = 0
        while True:
            peers = [p.peer_id for p in self.book.connected_peers()]
            if peers:
                await self._ask_peers(random.choice(peers))
            rounds += 1
            if rounds % ROTATE_EVERY == 0:
                self._rotate_one()
            await trio.sleep(PEX_INTERVAL_S)

    def _rotate_one(self) -> None:
        """With all outbound slots taken, dial one more known peer; once it is connected, a random other outbound
        peer is closed (see `_handshake`)."""
        if self._nursery is None or self._outbound_count() < self.config.out_peers:
            return

        def skip(peer: str) -> bool:
            return peer in self._dialing or bool(self._conns.get(peer)) or self.book.is_banned(peer)

        for peer, addr in self._book.candidates(skip, 1):
            self._dialing.add(peer)
            self._nursery.start_soon(self._dial, peer, multiaddr.Multiaddr(addr))
