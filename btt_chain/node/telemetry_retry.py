"""When telemetry tries a lost endpoint again, and what it says about it: one endpoint's outages as a pure state
machine (it reads no clock: every call is given `now`, in seconds of a monotonic clock).

An attempt fails when the connection is refused, the WebSocket handshake gets no answer within its timeout, or the
server accepts and then closes the connection before it has lived `LIVED_S`; the pause before the next attempt starts
at `FIRST_RETRY_S` and doubles up to `MAX_RETRY_S`. Only a connection that lived `LIVED_S` ends the outage (so a
server that accepts and drops at once is retried ever less often, not every 2 s). An outage is warned about once, at
its first failure; after that one summary line (attempts so far, for how long, the last reason) every
`SUMMARY_EVERY_S`; its end is said once, at info.
"""

from __future__ import annotations

from dataclasses import dataclass

FIRST_RETRY_S = 2.0
MAX_RETRY_S = 60.0
LIVED_S = 60.0
"""A connection that stays up this long ends the outage: the next failure pauses `FIRST_RETRY_S` again."""
SUMMARY_EVERY_S = 600.0
"""Seconds between the summary lines of one outage."""


@dataclass
class Retry:
    """What to do after an attempt: pause this long, then try again; log `warning` (None: nothing at warning level)."""

    pause_s: float
    warning: str | None


@dataclass
class Outage:
    """One endpoint's failures since its last connection that lived `LIVED_S`."""

    url: str
    failures: int = 0
    since: float = 0.0
    """When the first failure of this outage happened."""
    pause_s: float = 0.0
    warned: float = 0.0
    """When the last warning line of this outage was logged."""

    def failed(self, now: float, reason: str) -> Retry:
        """An attempt failed for `reason`: the pause before the next one, and the warning to log if it is time."""
        self.failures += 1
        if self.failures == 1:
            self.since, self.warned, self.pause_s = now, now, FIRST_RETRY_S
            return Retry(self.pause_s, f"telemetry: {self.url}: {reason}; retrying in {self.pause_s:.0f} s, then "
                                       f"less and less often (up to every {MAX_RETRY_S:.0f} s), said again every "
                                       f"{SUMMARY_EVERY_S / 60:.0f} min while it fails")
        self.pause_s = min(MAX_RETRY_S, self.pause_s * 2)
        if now - self.warned < SUMMARY_EVERY_S:
            return Retry(self.pause_s, None)
        self.warned = now
        return Retry(self.pause_s, f"telemetry: {self.url}: still failing: {self.failures} attempts in "
                                   f"{now - self.since:.0f} s (the last: {reason}); retrying every "
                                   f"{self.pause_s:.0f} s")

    def lived(self, opened: float) -> str | None:
        """The connection opened at `opened` has stayed up `LIVED_S`: the outage is over; the line to log at info
        (None: there was none)."""
        if self.failures == 0:
            return None
        line = (f"telemetry: {self.url}: connected again after {self.failures} failed attempts in "
                f"{opened - self.since:.0f} s")
        self.failures, self.pause_s = 0, 0.0
        return line
