"""The p2p layer's one error: every failure the asyncio side can meet surfaces as P2PError."""

from __future__ import annotations

from btt_chain.primitives.errors import BttError


class P2PError(BttError):
    """The network could not do what was asked (peer gone, timed out, refused, too large, or p2p stopped)."""
