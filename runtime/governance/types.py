"""Types of the governance module."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, HASH, U8, U64, ListOf, Nested, Struct, Text
from btt_chain.primitives.extrinsic import Call

STANDARD = 0
EMERGENCY = 1
TRACKS = ("standard", "emergency")

VOTING = 0
PASSED = 1
"""Passed, waiting for its enactment time."""
REJECTED = 2
EXPIRED = 3
"""Voting closed without the token holders' quorum."""
CANCELLED = 4
ENACTED = 5
FAILED = 6
"""Passed, but its call failed when enacted (the error is kept)."""
STATUSES = ("voting", "passed", "rejected", "expired", "cancelled", "enacted", "failed")
OPEN_STATUSES = (VOTING, PASSED)

HOUSE_COUNT = 4


@dataclass(frozen=True)
class Tally(Struct):
    """Aye and nay weight per house (institutions, compute, holders, representatives) and the holders' turnout
    in plain balance (free + staked, without the long-stake multiplier), which the quorum counts."""

    ayes: tuple[int, ...] = (0, 0, 0, 0)
    nays: tuple[int, ...] = (0, 0, 0, 0)
    turnout: int = 0

    WIRE = (("ayes", ListOf(AMOUNT, HOUSE_COUNT)), ("nays", ListOf(AMOUNT, HOUSE_COUNT)), ("turnout", AMOUNT))


@dataclass(frozen=True)
class Referendum(Struct):
    id: int
    proposer: bytes
    call: Call
    description_hash: bytes
    deposit: int
    track: int
    status: int
    submitted_ms: int
    voting_ends_ms: int
    enact_at_ms: int = 0
    """Set when it passes: the end of voting plus the enactment delay."""
    tally: Tally = Tally()
    aye_share_ppm: int = 0
    """The weighted aye share when voting closed, in parts per million (for display; the verdict is exact)."""
    error: str = ""
    """Why it did not pass (rejected or expired: which rule, in words) or why its enactment failed."""

    WIRE = (
        ("id", U64),
        ("proposer", ACCOUNT),
        ("call", Nested(Call)),
        ("description_hash", HASH),
        ("deposit", AMOUNT),
        ("track", U8),
        ("status", U8),
        ("submitted_ms", U64),
        ("voting_ends_ms", U64),
        ("enact_at_ms", U64),
        ("tally", Nested(Tally)),
        ("aye_share_ppm", U64),
        ("error", Text(512)),
    )


@dataclass(frozen=True)
class VoteRecord(Struct):
    """One account's vote in one referendum, with the weight it added to each house."""

    aye: bool
    weights: tuple[int, ...]
    turnout: int
    WIRE = (("aye", BOOL), ("weights", ListOf(AMOUNT, HOUSE_COUNT)), ("turnout", AMOUNT))


@dataclass(frozen=True)
class VoteLock(Struct):
    """Free balance a voter cannot move until `until_ms` (the end of the latest referendum it voted in)."""

    amount: int
    until_ms: int
    WIRE = (("amount", AMOUNT), ("until_ms", U64))
