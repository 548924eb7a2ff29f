"""p2p: the libp2p host, gossip topics, request/response sync, peer scoring (arrives with the networking issue).

Knows bytes and peers, never runtime rules. May import `btt_chain.primitives` only.

Design
------
The node is asyncio; py-libp2p 0.8.1 is trio-only. `P2PService` (service.py) is the whole interface the node
sees: start/stop, subscribe/publish, set_request_handler/request, peers/ban/penalise, on_peer_connected,
set_status_provider. `start()` runs libp2p in a dedicated thread with its own `trio.run` (bridge.py):
asyncio -> trio through `TrioToken.run_sync_soon` (calls become tasks in a trio nursery, results come back by
`loop.call_soon_threadsafe`); trio -> asyncio through `asyncio.run_coroutine_threadsafe`. Every handler the node
registers runs on its asyncio loop. Cancelling either side cancels the other; when the trio run ends, calls in
flight fail with P2PError, and a crash of the thread is logged and turns every later call into a P2PError.
libp2p itself is imported on that thread (node.py, gossip.py, reqresp.py); `import p2p` stays cheap.

Modules: config (P2PConfig, wire names), node_key (identity file, peer ids without libp2p), peerbook (scores,
bans, connected peers; thread-safe), wire (byte layouts), bridge (the thread), node (host, handshake,
connection policy, redial), gossip (gossipsub + validators), reqresp (request/response), discovery (peer
exchange: address book, `/btt/<genesis16>/peers/1`, in/out peer bounds), service (the facade).

Wire names (namespaced by the first 16 hex digits of the genesis hash)
- gossip topics:          /btt/<genesis16>/<name>/1       e.g. /btt/<genesis16>/blocks/1
- request/response:       /btt/<genesis16>/<name>/1       e.g. /btt/<genesis16>/sync/blocks/1
- handshake:              /btt/status/1  (not namespaced, so a peer on another chain can be told apart)
Streams carry one varint-prefixed frame each way; a response starts with a code byte (OK, error, busy,
request too large).

Peers
- Every new connection runs the status handshake both ways: version, genesis hash (32 bytes), then the opaque
  bytes of the node's status provider. Another genesis: disconnect and ban (1 h) on both sides. Only after the
  handshake is a peer listed by `peers()` and announced to `on_peer_connected`.
- Bans refuse the peer's connections, skip it in the redial loop and drop gossip from or via it. Scores start
  at 0, fall by penalties (invalid gossip 20, oversize gossip or request 50), recover 0.1 point/s, and at
  `ban_threshold` (-100) ban for `score_ban_seconds` (600 s).
- Bootnodes are redialed by our own loop (0.5 s doubling to 5 s; `unblock_peer` first, since libp2p caches a
  failed dial for 60 s). libp2p's auto-connector is disabled (it would redial banned peers). `max_peers`
  counts connected plus handshaking peers.
- Discovery (discovery.py, on unless `discovery=False`): peer exchange over `/btt/<genesis16>/peers/1`; learnt
  peers are dialed while we have fewer than `out_peers` outbound connections, and bootnodes are then no longer
  redialed; inbound connections beyond `in_peers` (or `max_peers`) get an address-only session (handshake and
  one answer, closed after 5 s, at most 8 at once); every third exchange round one outbound peer is swapped
  for a random known one, so groups that formed apart merge.

Gossip
- The topic handler is the validator: `pubsub.set_topic_validator` awaits handler(peer_id, data) on the asyncio
  loop (timeout `gossip_validation_timeout`, 2 s, after which the handler is cancelled and the message dropped
  without blame). True forwards, False drops and penalises the sender, None drops without blame. The handler runs
  once per message id (verdicts cached, concurrent copies wait). Own publishes pass without calling it. The
  libp2p subscription channel (32 slots) is drained and discarded at once.
- Message ids are content-addressed (blake2b of topics + data): identical payloads within the 120 s seen-cache
  window are delivered once, and restarts cannot reuse ids. The pubsub seqno counter starts at time_ns anyway.

Settings P2P-NOTES requires, all applied
- Noise only (no TLS/secio/plaintext) and Yamux only; mDNS off.
- gossipsub: heartbeat_interval=1, adaptive_gossip_enabled=False, spam_protection_enabled=False (we score peers
  ourselves), eclipse_protection_enabled=False (IP diversity means nothing on loopback); degree 6 (4..12).
- Gossip payloads capped at `max_message_bytes` (60,000, must stay < 64 KiB): refused locally with P2PError,
  rejected and penalised on receipt. In addition `Pubsub.write_msg` is serialised per stream with a lock
  (`gossip.SerialisedWritePubsub`, a subclass rather than a monkeypatch).
- The `libp2p` logger (propagate=False, no handler) gets a handler forwarding WARNING and above to
  `btt.p2p.libp2p`; failures we handle ourselves (dials to a down bootnode, unsupported protocol) are demoted
  to DEBUG.
- libp2p listens with SO_REUSEPORT, so a second node on the same port would start and share connections:
  `start()` first probes the port with a plain bind and refuses to start if it is taken.

Limits
- Requests: inbound at most `max_request_bytes` (1 MiB; more: refused and penalised), responses at most
  `max_response_bytes` (16 MiB) on both ends, `max_inbound_requests_per_peer` (4) served at once (more are
  answered busy), an inbound handler gets `request_handler_timeout` (30 s).
- Received gossip still spawns one libp2p task per message (unbounded inside libp2p); about 100 messages/s is
  the measured sustainable rate, so batch transactions and announce blocks compactly.
"""

from p2p.config import STATUS_PROTOCOL_ID, P2PConfig, wire_protocol, wire_topic
from p2p.errors import P2PError
from p2p.node_key import NodeKey, generate_node_key, load_or_create_node_key, peer_id_from_key_file
from p2p.peerbook import PeerInfo
from p2p.service import P2PService

__all__ = [
    "STATUS_PROTOCOL_ID",
    "NodeKey",
    "P2PConfig",
    "P2PError",
    "P2PService",
    "PeerInfo",
    "generate_node_key",
    "load_or_create_node_key",
    "peer_id_from_key_file",
    "wire_protocol",
    "wire_topic",
]
