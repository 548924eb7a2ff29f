"""Who we know: connected peers, their scores and bans. Pure and thread-safe (read from asyncio, written from trio).

Scores start at 0 and only go down through penalties; a negative score recovers towards 0 at
`RECOVERY_PER_SECOND`, so an honest peer that relays an occasional stale message is not banned eventually.
A score at or below the ban threshold bans the peer. Bans live here and nowhere else: the trio side refuses
connections from, and drops gossip from or via, any peer listed, and clears expired bans in one sweep.

Bans are for provable misbehaviour, and each has a kind (`BAN_KINDS`, told from its reason by `ban_kind` unless the
caller names it) that is counted (`ban_totals`, the `btt_peer_bans_total{reason}` metric) and listed with its reason
(`active_bans`). A clock disagreement is no kind: a block from before its slot is held, not blamed.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

RECOVERY_PER_SECOND = 0.1
"""Points a negative score regains per second (6 per minute)."""

PENALTY_INVALID_GOSSIP = 20
"""The gossip handler returned False for a message this peer sent us."""
PENALTY_OVERSIZE_GOSSIP = 50
"""A gossip message over max_message_bytes."""
PENALTY_OVERSIZE_REQUEST = 50
"""An inbound request over max_request_bytes."""
PENALTY_BAD_PEX = 20
"""A malformed peer-exchange request or answer (too many entries, a bad address)."""

BAN_KINDS = (
    "invalid_block", "equivocation", "checkpoint_conflict", "genesis_mismatch", "wrong_content", "score", "other",
)
"""What a ban was for: an invalid block (gossip or sync); a double block or vote; a chain that conflicts with the
trusted checkpoint; another genesis; content that is not what its hash says, sent for that hash (a weights manifest or
chunk); a score run down by penalties (malformed or oversized messages, invalid gossip, blocks claiming slots far beyond
any clock drift); anything else."""
_KIND_PREFIXES = (
    ("invalid block", "invalid_block"),
    ("wrong content", "wrong_content"),
    ("equivocation", "equivocation"),
    ("its chain conflicts with the trusted checkpoint", "checkpoint_conflict"),
    ("genesis mismatch", "genesis_mismatch"),
    ("score at or below", "score"),
)
MAX_LISTED_BANS = 64


def ban_kind(reason: str) -> str:
    """The kind of a ban from the reason its caller gave (the reasons this code base writes)."""
    for prefix, kind in _KIND_PREFIXES:
        if reason.startswith(prefix):
            return kind
    return "other"


@dataclass(frozen=True)
class PeerInfo:
    """A connected peer (handshake done, same genesis)."""

    peer_id: str
    address: str
    """Remote transport address of the connection (/ip4/H/tcp/P)."""
    score: int
    connected_since: float
    """Unix time the handshake completed."""
    status: bytes
    """The peer's opaque status bytes from the handshake (what its status provider returned then)."""


@dataclass
class _Connected:
    address: str
    connected_since: float
    status: bytes


@dataclass
class _Score:
    value: float
    updated: float


@dataclass(frozen=True)
class Ban:
    until: float
    """time.monotonic() at which the ban ends."""
    reason: str
    kind: str = "other"
    """One of BAN_KINDS."""


@dataclass(frozen=True)
class BanInfo:
    """A ban in force, as `system_peers`-style output shows it."""

    peer_id: str
    kind: str
    reason: str
    seconds_left: float


class PeerBook:
    """Scores, bans and the connected-peer table, behind one lock."""

    def __init__(self, ban_threshold: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.ban_threshold = ban_threshold
        self._scores: dict[str, _Score] = {}
        self._bans: dict[str, Ban] = {}
        self._connected: dict[str, _Connected] = {}
        self._ban_totals: dict[str, int] = dict.fromkeys(BAN_KINDS, 0)

    # scores
    def _current(self, peer_id: str, now: float) -> float:
        entry = self._scores.get(peer_id)
        if entry is None:
            return 0.0
        if entry.value < 0:
            entry.value = min(0.0, entry.value + (now - entry.updated) * RECOVERY_PER_SECOND)
        entry.updated = now
        return entry.value

    def score(self, peer_id: str) -> int:
        with self._lock:
            return math.floor(self._current(peer_id, self._clock()))

    def penalise(self, peer_id: str, amount: int) -> bool:
        """Lower the score by `amount`; True when it is now at or below the ban threshold."""
        if amount < 0:
            raise ValueError("a penalty is a positive amount")
        with self._lock:
            now = self._clock()
            value = self._current(peer_id, now) - amount
            self._scores[peer_id] = _Score(value, now)
            return value <= self.ban_threshold

    # bans
    def ban(self, peer_id: str, seconds: float, reason: str, kind: str | None = None) -> bool:
        """Ban (or ban for longer); True when the peer was not banned before (only then is the ban counted)."""
        kind = kind or ban_kind(reason)
        if kind not in BAN_KINDS:
            raise ValueError(f"unknown ban kind {kind!r}")
        with self._lock:
            until = self._clock() + seconds
            old = self._bans.get(peer_id)
            if old is None or old.until < until:
                self._bans[peer_id] = Ban(until, reason, kind)
            if old is None:
                self._ban_totals[kind] += 1
            return old is None

    def ban_totals(self) -> dict[str, int]:
        """Bans imposed since start, by kind (every kind listed, from 0)."""
        with self._lock:
            return dict(self._ban_totals)

    def active_bans(self) -> list[BanInfo]:
        """Bans in force (not yet ended), the longest left first; at most MAX_LISTED_BANS."""
        with self._lock:
            now = self._clock()
            bans = [BanInfo(p, b.kind, b.reason, round(b.until - now, 1))
                    for p, b in self._bans.items() if b.until > now]
        bans.sort(key=lambda b: -b.seconds_left)
        return bans[:MAX_LISTED_BANS]

    def is_banned(self, peer_id: str) -> bool:
        """Listed as banned; an expired ban still counts until `sweep_expired_bans` removes it."""
        with self._lock:
            return peer_id in self._bans

    def get_ban(self, peer_id: str) -> Ban | None:
        with self._lock:
            return self._bans.get(peer_id)

    def sweep_expired_bans(self) -> list[str]:
        """Remove and return the peers whose ban has ended (and forget scores that have recovered to 0)."""
        with self._lock:
            now = self._clock()
            for peer in [peer for peer in self._scores if self._current(peer, now) >= 0]:
                del self._scores[peer]
            expired = [peer for peer, ban in self._bans.items() if ban.until <= now]
            for peer in expired:
                del self._bans[peer]
            return expired

    # connected table
    def set_connected(self, peer_id: str, address: str, status: bytes, since: float) -> None:
        with self._lock:
            self._connected[peer_id] = _Connected(address, since, status)

    def set_disconnected(self, peer_id: str) -> bool:
        """Forget a connected peer; True if it was listed."""
        with self._lock:
            return self._connected.pop(peer_id, None) is not None

    def is_connected(self, peer_id: str) -> bool:
        """Handshake done and not banned (a banned peer is listed until its disconnect is seen)."""
        with self._lock:
            return peer_id in self._connected and peer_id not in self._bans

    def connected_count(self) -> int:
        with self._lock:
            return len(self._connected)

    def connected_peers(self) -> list[PeerInfo]:
        with self._lock:
            now = self._clock()
            return [
                PeerInfo(peer, c.address, math.floor(self._current(peer, now)), c.connected_since, c.status)
                for peer, c in sorted(self._connected.items(), key=lambda item: item[1].connected_since)
                if peer not in self._bans
            ]

    def clear_connected(self) -> list[str]:
        with self._lock:
            peers = list(self._connected)
            self._connected.clear()
            return peers
