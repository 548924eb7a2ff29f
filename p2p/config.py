"""P2P configuration and the wire names: every topic and protocol id is namespaced by the genesis hash."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from btt_chain.primitives.hashing import HASH_LEN
from p2p.errors import P2PError
from p2p.tcp_backoff import RTO_MAX_RANGE_MS

STATUS_PROTOCOL_ID = "/btt/status/1"
"""The handshake protocol. Deliberately NOT namespaced by genesis, so a peer on another chain can still tell
us its genesis hash and be refused explicitly (every other id is namespaced and would just fail to negotiate)."""

_NAME_RE = re.compile(r"[a-z0-9]([a-z0-9_\-/]*[a-z0-9])?")


@dataclass(frozen=True)
class P2PConfig:
    """Everything the p2p layer needs; the node builds it from its CLI flags and chain spec."""

    listen_port: int
    """TCP port to listen on (0 lets the OS choose; `P2PService.listen_addrs` then shows the real one)."""
    node_key_path: Path
    """Persistent ed25519 node identity (created with mode 0600 if missing); fixes the peer id."""
    genesis_hash: bytes
    """32 bytes; namespaces every topic and protocol id; peers on another genesis are refused and banned."""
    bootnodes: tuple[str, ...] = ()
    """Multiaddrs `/ip4/127.0.0.1/tcp/PORT/p2p/PEERID`, dialed at start and redialed whenever disconnected."""
    listen_host: str = "127.0.0.1"
    max_peers: int = 25
    """Connected plus handshaking peers; further inbound connections are closed."""
    in_peers: int = 25
    """Most inbound peers (they dialed us); further inbound connections are closed."""
    out_peers: int = 8
    """Outbound peers the discovery dialer keeps (bootnodes are dialed regardless and count towards it)."""
    discovery: bool = True
    """Peer exchange over the `peers` protocol: ask peers for addresses, dial them, answer their asks."""
    peers_file: Path | None = None
    """Where the peers this node has seen work are kept across restarts and dialed again on start (with
    discovery; p2p/peer_store.py). None: nowhere."""
    max_message_bytes: int = 60_000
    """Gossip payload cap. Must stay under 64 KiB: larger pubsub frames crash joining peers (P2P-NOTES)."""
    max_response_bytes: int = 16 * 1024 * 1024
    """Largest response we accept to our own requests (and serve to others)."""
    max_request_bytes: int = 1024 * 1024
    """Largest inbound request we read; a larger one is refused and its sender penalised."""
    max_inbound_requests_per_peer: int = 4
    """Concurrent inbound requests served per peer; more are answered `busy`."""
    gossip_validation_timeout: float = 2.0
    """A gossip handler that has not answered after this many seconds rejects the message (no penalty)."""
    request_handler_timeout: float = 30.0
    """An inbound request handler that has not answered after this many seconds fails the request."""
    handshake_timeout: float = 10.0
    dial_timeout: float = 5.0
    redial_min_interval: float = 0.5
    """First redial delay for a lost bootnode; doubles per failed attempt up to `redial_max_interval`."""
    redial_max_interval: float = 5.0
    tcp_rto_max_ms: int | None = 1000
    """Cap on each peer connection's TCP retransmission backoff (Linux 6.15+, p2p/tcp_backoff.py): after a network
    outage a connection resumes within this of the link's return, not after up to as long again as the outage.
    1,000-120,000; None leaves the kernel's default (120 s)."""
    ban_threshold: int = -100
    """A peer whose score falls to or below this is banned for `score_ban_seconds`."""
    score_ban_seconds: float = 600.0
    genesis_mismatch_ban_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if len(self.genesis_hash) != HASH_LEN:
            raise P2PError(f"genesis hash must be {HASH_LEN} bytes, got {len(self.genesis_hash)}")
        if not 0 <= self.listen_port <= 65535:
            raise P2PError(f"listen port out of range: {self.listen_port}")
        if not 0 < self.max_message_bytes < 64 * 1024:
            raise P2PError("max_message_bytes must be positive and below 64 KiB (larger gossip frames crash peers)")
        if self.max_peers < 1:
            raise P2PError("max_peers must be at least 1")
        low, high = RTO_MAX_RANGE_MS
        if self.tcp_rto_max_ms is not None and not low <= self.tcp_rto_max_ms <= high:
            raise P2PError(f"tcp_rto_max_ms must be {low}-{high} (the kernel's range), got {self.tcp_rto_max_ms}")
        for addr in self.bootnodes:
            parse_bootnode(addr)

    @property
    def namespace(self) -> str:
        """The first 16 hex digits of the genesis hash, used in every wire name."""
        return self.genesis_hash.hex()[:16]


def check_name(name: str) -> str:
    """A topic or protocol short name: lower-case letters, digits, '_', '-', '/' ("blocks", "sync/headers")."""
    if not _NAME_RE.fullmatch(name):
        raise P2PError(f"invalid topic or protocol name {name!r}")
    return name


def wire_topic(config: P2PConfig, name: str) -> str:
    """The gossipsub topic for short name `name`: /btt/<genesis16>/<name>/1."""
    return f"/btt/{config.namespace}/{check_name(name)}/1"


def wire_protocol(config: P2PConfig, name: str) -> str:
    """The request/response protocol id for short name `name`: /btt/<genesis16>/<name>/1."""
    return f"/btt/{config.namespace}/{check_name(name)}/1"


def parse_bootnode(addr: str) -> tuple[str, str]:
    """Split "/ip4/H/tcp/P/p2p/ID" into (peer id, transport address); P2PError if it has no /p2p/ part."""
    transport, sep, peer_id = addr.rpartition("/p2p/")
    if not sep or not transport.startswith("/") or not peer_id or "/" in peer_id:
        raise P2PError(f"bootnode must look like /ip4/HOST/tcp/PORT/p2p/PEERID, got {addr!r}")
    return peer_id, transport
