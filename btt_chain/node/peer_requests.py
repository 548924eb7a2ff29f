"""What a request/response exchange (job outputs, model weights) needs of the p2p service: its peers, a request
to one of them, a penalty for one that misbehaves, a ban for one that provably lied, and a handler for requests it
serves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol


class PeerInfoLike(Protocol):
    @property
    def peer_id(self) -> str: ...


class Peers(Protocol):
    """What the exchange needs of `p2p.P2PService`."""

    def peers(self) -> Sequence[PeerInfoLike]: ...

    async def request(self, peer_id: str, protocol: str, data: bytes, timeout: float = 10.0) -> bytes: ...

    def penalise(self, peer_id: str, amount: int, reason: str) -> None: ...

    def ban(self, peer_id: str, seconds: float, reason: str) -> None: ...

    def set_request_handler(self, protocol: str, handler: Callable[[str, bytes], Awaitable[bytes]]) -> None: ...
