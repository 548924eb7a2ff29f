"""This node's clock measured against its peers', from when their blocks arrive.

Every block a validator gossips is authored at the start of its slot by the author's clock, so (local receive time -
slot start) is the gap between our clock and the author's, plus the time authoring and gossip took. Per author we keep
the smallest of its last `SAMPLES_PER_SOURCE` gaps (the one least delayed, as NTP picks its least-delayed samples);
the node's offset is the median over the authors heard from in the last `SOURCE_TTL_S` seconds. When more than half
of them put our clock more than the drift allowance ahead (or behind), the node says so: one log line when the verdict
changes, and on `/health`. It does not act on it: blocks that arrive early are held until their slot either way
(btt_chain/node/future_blocks.py), and nobody is blamed for a clock.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("btt.net")

SAMPLES_PER_SOURCE = 8
SOURCE_TTL_S = 120.0
MIN_SOURCES = 2
"""Fewer authors heard from than this: the verdict is `unknown` (one other clock cannot outvote ours)."""
MAX_SOURCES = 256
"""Authors tracked at most (the longest unheard is forgotten first)."""

UNKNOWN, OK, AHEAD, BEHIND = "unknown", "ok", "ahead", "behind"


@dataclass(frozen=True)
class ClockEstimate:
    status: str
    """unknown | ok | ahead | behind (of most of the peers' clocks, by more than the allowance)."""
    offset_ms: int | None
    """Median over the sources of (our clock - theirs), plus the least propagation delay; None: no source."""
    sources: int
    allowance_ms: int
    beyond: int = 0
    """How many sources put our clock more than the allowance off in the verdict's direction (ahead/behind)."""


class ClockWatch:
    """Samples per block author; `estimate()` and `check()` (log once per verdict change)."""

    def __init__(self, allowance_ms: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.allowance_ms = allowance_ms
        self._clock = clock
        self._samples: dict[bytes, deque[int]] = {}
        self._seen: dict[bytes, float] = {}
        self._reported = OK
        """The verdict last logged (a node assumes its clock is fine until told otherwise)."""

    def observe(self, source: bytes, offset_ms: int) -> None:
        """One block of `source` (its author) arrived `offset_ms` after its slot started by our clock."""
        samples = self._samples.get(source)
        if samples is None:
            if len(self._samples) >= MAX_SOURCES:
                oldest = min(self._seen, key=self._seen.__getitem__)
                del self._samples[oldest], self._seen[oldest]
            samples = self._samples[source] = deque(maxlen=SAMPLES_PER_SOURCE)
        samples.append(offset_ms)
        self._seen[source] = self._clock()

    def estimate(self) -> ClockEstimate:
        now = self._clock()
        figures = sorted(min(s) for src, s in self._samples.items() if now - self._seen[src] <= SOURCE_TTL_S)
        if not figures:
            return ClockEstimate(UNKNOWN, None, 0, self.allowance_ms)
        n = len(figures)
        mid = n // 2
        median = figures[mid] if n % 2 else (figures[mid - 1] + figures[mid]) // 2
        ahead = sum(1 for f in figures if f > self.allowance_ms)
        behind = sum(1 for f in figures if f < -self.allowance_ms)
        if n < MIN_SOURCES:
            return ClockEstimate(UNKNOWN, median, n, self.allowance_ms)
        if 2 * ahead > n:
            return ClockEstimate(AHEAD, median, n, self.allowance_ms, ahead)
        if 2 * behind > n:
            return ClockEstimate(BEHIND, median, n, self.allowance_ms, behind)
        return ClockEstimate(OK, median, n, self.allowance_ms)

    def check(self) -> ClockEstimate:
        """The estimate; logged when its verdict differs from the last one logged (ahead/behind as a warning)."""
        est = self.estimate()
        if est.status in (UNKNOWN, self._reported):
            return est  # too few sources says nothing new: the last verdict stands
        self._reported = est.status
        if est.status in (AHEAD, BEHIND):
            log.warning(
                "this node's clock looks %.1f s %s its peers' (the blocks of %d of %d validators put it more than "
                "%d ms off): blocks from them are held until their slot by our clock, and ours reach them early or "
                "late; check the time service (NTP)", abs(est.offset_ms or 0) / 1000,
                "ahead of" if est.status == AHEAD else "behind", est.beyond, est.sources, self.allowance_ms)
        else:
            log.info("this node's clock agrees with its peers' again (offset %d ms over %d validators)",
                     est.offset_ms or 0, est.sources)
        return est
