"""p2p: the libp2p host, gossip topics, request/response sync, peer scoring (arrives with the networking issue).

Knows bytes and peers, never runtime rules. May import `btt_chain.primitives` only.
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
