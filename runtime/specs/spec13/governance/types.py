"""Types of the governance module."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, HASH, U8, U32, U64, ListOf, Nested, Struct, Text
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
    """Aye and nay weight per house (institutions, compute, holders, representatives), the holders' turnout
    in plain balance (free + staked, without the long-stake multiplier), which the quorum counts, and per house
    how many accounts voted aye with weight in it (`governance.house_min_aye_voters`)."""

    ayes: tuple[int, ...] = (0, 0, 0, 0)
    nays: tuple[int, ...] = (0, 0, 0, 0)
    turnout: int = 0
    aye_voters: tuple[int, ...] = (0, 0, 0, 0)
    """Accounts whose current vote is aye and weighs more than 0 in the house (a replaced vote counts once)."""

    WIRE = (
        ("ayes", ListOf(AMOUNT, HOUSE_COUNT)),
        ("nays", ListOf(AMOUNT, HOUSE_COUNT)),
        ("turnout", AMOUNT),
        ("aye_voters", ListOf(U32, HOUSE_COUNT)),
    )


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


FIXED_ONE = 10**18
"""Shares in [0, 1] stored in a frozen tally as integers of 1/10^18, rounded down (what the RPC shows as decimal
fractions cut at 18 decimals; parts per million are these divided by 10^12, rounded down)."""


@dataclass(frozen=True)
class HouseFigures(Struct):
    """One house in a tally: what voted against what electorate, and whether it counted as a house in favour."""

    aye: int
    nay: int
    aye_voters: int
    """Accounts that voted aye with weight in this house."""
    weight_this_year: int
    """The house's weight after the decentralisation schedule, in 1/10^18."""
    weight: int
    """Its weight as the tally counted it (empty houses' weight re-spread), in 1/10^18."""
    voted: int
    """Weight that voted, in the electorate's unit (the holders' in plain balance)."""
    electorate: int
    """The house's whole weight when the verdict was taken."""
    turnout: int
    """`voted` / `electorate`, clamped to [0, 1], in 1/10^18."""
    meets_floor: bool
    """Turnout at least `governance.house_turnout_floor_bps`."""
    enough_aye_voters: bool
    """At least `governance.house_min_aye_voters` accounts voted aye."""
    in_favour: bool
    """Aye above nay, the turnout floor met and enough aye voters: counts toward `min_houses_in_favour`."""

    WIRE = (
        ("aye", AMOUNT),
        ("nay", AMOUNT),
        ("aye_voters", U32),
        ("weight_this_year", U64),
        ("weight", U64),
        ("voted", AMOUNT),
        ("electorate", AMOUNT),
        ("turnout", U64),
        ("meets_floor", BOOL),
        ("enough_aye_voters", BOOL),
        ("in_favour", BOOL),
    )


@dataclass(frozen=True)
class TallyFigures(Struct):
    """Every figure of a verdict, as integers: per house, the combined aye share, the houses rule, the quorum, the
    threshold and the spam rule's backing, with the parameters they were checked against. `logic.figures` makes
    them from `logic.verdict`; the runtime stores them when voting closes (`ClosedTally`), the RPC shows them."""

    at_ms: int
    """The time the house weights were taken at (the end of voting, or the cancellation)."""
    houses: tuple[HouseFigures, ...]
    aye_share: int
    """The weighted aye share, in 1/10^18."""
    houses_in_favour: int
    houses_needed: int
    turnout_floor_bps: int
    min_aye_voters: int
    quorum_turnout: int
    """The holders' turnout in plain balance."""
    circulating: int
    quorum_bps: int
    quorum_met: bool
    threshold_bps: int
    """The track's threshold: above it (standard) or at least it (emergency)."""
    backed_share: int
    """The aye share counting only houses at or above their turnout floor, in 1/10^18."""
    spam_threshold_bps: int
    spam: bool
    """The backing is below the spam threshold: closing unpassed or cancelling burns the deposit."""

    WIRE = (
        ("at_ms", U64),
        ("houses", ListOf(Nested(HouseFigures), HOUSE_COUNT)),
        ("aye_share", U64),
        ("houses_in_favour", U8),
        ("houses_needed", AMOUNT),
        ("turnout_floor_bps", U32),
        ("min_aye_voters", AMOUNT),
        ("quorum_turnout", AMOUNT),
        ("circulating", AMOUNT),
        ("quorum_bps", U32),
        ("quorum_met", BOOL),
        ("threshold_bps", U32),
        ("backed_share", U64),
        ("spam_threshold_bps", U32),
        ("spam", BOOL),
    )


@dataclass(frozen=True)
class ClosedTally(Struct):
    """The tally that decided a referendum, frozen when voting closed (or when its proposer cancelled it): later
    changes to the electorates, the circulating supply, the parameters or the year do not move these figures."""

    block: int
    """The block whose start closed it (or that included the cancellation)."""
    closed_ms: int
    """That block's time."""
    status: int
    """What it decided: PASSED, REJECTED, EXPIRED or CANCELLED."""
    figures: TallyFigures

    WIRE = (("block", U64), ("closed_ms", U64), ("status", U8), ("figures", Nested(TallyFigures)))
