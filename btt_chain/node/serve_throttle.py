"""How much a node serves its peers: a token bucket per peer and one for all of them, for the request/response
protocols whose answers cost it real work (model weights, warp proofs and state chunks), and a budget of the event
loop's time that serving may take (`ServeBudget`). A request that would wait longer than the limit is refused
(`ServeRefused`), so no peer, nor all of them, can queue unbounded work or take the loop from the node's own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from btt_chain.primitives.errors import BttError

MAX_TRACKED = 1024
"""Per-peer buckets kept before the full (idle) ones are swept."""


class ServeRefused(BttError):
    """This node is serving as many such requests as it may: ask again later."""


@dataclass
class _Bucket:
    tokens: float
    at: float

    def delay(self, now: float, rate: float, burst: float) -> float:
        """Seconds until one token is free (0: now), not taking it."""
        self.tokens = min(burst, self.tokens + (now - self.at) * rate)
        self.at = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / rate


class ServeThrottle:
    """`rate` requests a second to one peer (bursts of `burst`), `rate_all` to all together; a request waits for its
    token up to `max_wait_s`, else ServeRefused(`what` ...)."""

    def __init__(self, what: str, rate: float, burst: float, rate_all: float, max_wait_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.rate, self.burst, self.rate_all, self.max_wait_s = what, rate, burst, rate_all, max_wait_s
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._all = _Bucket(rate_all, clock())

    async def acquire(self, peer: str) -> None:
        now = self.clock()
        bucket = self._buckets.get(peer)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED:
                self._buckets = {p: b for p, b in self._buckets.items()
                                 if b.tokens + (now - b.at) * self.rate < self.burst}
            bucket = self._buckets[peer] = _Bucket(self.burst, now)
        wait = max(bucket.delay(now, self.rate, self.burst), self._all.delay(now, self.rate_all, self.rate_all))
        if wait > self.max_wait_s:
            raise ServeRefused(f"{self.what} requests are throttled: ask again later")
        bucket.tokens -= 1
        self._all.tokens -= 1
        if wait > 0:
            await asyncio.sleep(wait)


class ServeBudget:
    """At most `share` of the event loop's time spent serving (bursts of up to `burst_s` seconds): the server charges
    the time of each synchronous step of its work (`charge`), and a request starts only when the budget is not
    overdrawn (`acquire`; ServeRefused when that is more than `max_wait_s` away)."""

    def __init__(self, what: str, share: float, burst_s: float, max_wait_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self.what, self.share, self.burst_s, self.max_wait_s = what, share, burst_s, max_wait_s
        self.clock = clock
        self._credit = burst_s
        self._at = clock()
        self.spent_s = 0.0
        """Serving time charged since the start (for the node's metrics and benchmarks)."""

    def _refill(self) -> None:
        now = self.clock()
        self._credit = min(self.burst_s, self._credit + (now - self._at) * self.share)
        self._at = now

    async def acquire(self) -> None:
        self._refill()
        if self._credit > 0:
            return
        wait = -self._credit / self.share
        if wait > self.max_wait_s:
            raise ServeRefused(f"{self.what}: this node is serving as much as it may: ask again later")
        await asyncio.sleep(wait)

    def charge(self, seconds: float) -> None:
        self._refill()
        self._credit -= seconds
        self.spent_s += seconds
