"""The asyncio-side callbacks the node registers, shared (read-only) with the trio side."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

GossipHandler = Callable[[str, bytes], Awaitable[bool | None] | bool | None]
"""handler(peer_id, data) -> True (valid: forward), False (invalid: drop, penalise the sender) or None
(ignore: drop without blame, e.g. a duplicate or a message that is merely useless to us)."""
RequestHandler = Callable[[str, bytes], Awaitable[bytes]]
"""handler(peer_id, request) -> response bytes; raising fails the request with the exception's text."""
StatusProvider = Callable[[], bytes]
"""Returns the node's opaque status (e.g. best block) sent in every handshake."""
PeerCallback = Callable[[str], Awaitable[None] | None]


@dataclass
class Handlers:
    topics: dict[str, GossipHandler] = field(default_factory=dict)
    """Short topic name -> handler."""
    protocols: dict[str, RequestHandler] = field(default_factory=dict)
    """Short protocol name -> handler."""
    status_provider: StatusProvider | None = None
    on_connected: list[PeerCallback] = field(default_factory=list)
    on_disconnected: list[PeerCallback] = field(default_factory=list)
