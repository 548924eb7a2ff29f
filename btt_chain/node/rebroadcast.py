"""Gossip again the ready transactions that are still waiting: a transaction gossiped while its node had no peers
(just started, restarted, or cut off by a partition) would otherwise sit in that one pool forever, since gossip is
sent once. Substrate's pool re-propagates the same way.

Every batch gossiped again ends in a fresh random salt. Gossip message ids are the hash of the payload and every node
drops an id it has seen in the last 120 s, its own publishes included: without the salt, a waiting transaction gossiped
again alone is the very payload first gossiped, and goes nowhere, not even out of this node, for two minutes (the
transfer the `ci` testnet found stuck in one full node's pool to the end of the run). Receivers drop the salt before
anything else (no extrinsic is that short; an older node's pool refuses it as malformed, without blame), and forward a
salted batch only if it held a transaction new to them, as any batch."""

from __future__ import annotations

import os
from collections.abc import Iterable

from btt_chain.node.txpool import PoolTx

MIN_AGE_S = 10.0
"""A transaction is gossiped again only after it has waited this long in the pool (one or two blocks at most)."""
EVERY_S = 30.0
"""And at most once in this long."""
LIMIT = 256
"""Transactions gossiped again per round, in the pool's priority order (best tip first)."""
SALT_BYTES = 8
"""The salt ending a batch gossiped again: shorter than any extrinsic, so it is never taken for one."""


def salted(batch: list[bytes]) -> list[bytes]:
    """The batch with a fresh salt after it: a payload, and so a gossip message id, never seen before."""
    return [*batch, os.urandom(SALT_BYTES)]


def without_salt(batch: list[bytes]) -> list[bytes]:
    """A received batch's transactions: any salt dropped."""
    return [raw for raw in batch if len(raw) != SALT_BYTES]


class Rebroadcaster:
    """Which pooled transactions to gossip again now; remembers when each was last gossiped again."""

    def __init__(self, min_age_s: float = MIN_AGE_S, every_s: float = EVERY_S, limit: int = LIMIT) -> None:
        self.min_age_s = min_age_s
        self.every_s = every_s
        self.limit = limit
        self._last: dict[bytes, float] = {}

    def due(self, ready: Iterable[PoolTx], now: float) -> list[PoolTx]:
        """The ready transactions to gossip again at `now` (pool clock), best first; forgets the ones that left."""
        out: list[PoolTx] = []
        seen: set[bytes] = set()
        for tx in ready:
            seen.add(tx.hash)
            if len(out) >= self.limit:
                continue
            if now - tx.arrived_at < self.min_age_s or now - self._last.get(tx.hash, -self.every_s) < self.every_s:
                continue
            self._last[tx.hash] = now
            out.append(tx)
        for gone in [h for h in self._last if h not in seen]:
            del self._last[gone]
        return out
