"""What a fake peer set hands the code under test in place of the p2p layer: a peer's info and a protocol handler's
shape (each test's `Net` answers its own protocol with these)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass
class PeerInfo:
    peer_id: str


Handler = Callable[[str, bytes], Awaitable[bytes]]
"""(peer id, request bytes) -> response bytes."""
