"""Events of the governance module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, U8, U64, Text
from runtime.events import Event


@dataclass(frozen=True)
class Proposed(Event):
    MODULE: ClassVar[str] = "governance"
    ref_id: int
    proposer: bytes
    call: str
    track: int
    deposit: int
    voting_ends_ms: int
    WIRE = (("ref_id", U64), ("proposer", ACCOUNT), ("call", Text(96)), ("track", U8), ("deposit", AMOUNT),
            ("voting_ends_ms", U64))


@dataclass(frozen=True)
class Voted(Event):
    MODULE: ClassVar[str] = "governance"
    ref_id: int
    who: bytes
    aye: bool
    WIRE = (("ref_id", U64), ("who", ACCOUNT), ("aye", BOOL))


@dataclass(frozen=True)
class Cancelled(Event):
    MODULE: ClassVar[str] = "governance"
    ref_id: int
    WIRE = (("ref_id", U64),)


@dataclass(frozen=True)
class VotingClosed(Event):
    """Voting ended: `status` is passed, rejected or expired; `aye_share_ppm` the weighted aye share."""

    MODULE: ClassVar[str] = "governance"
    ref_id: int
    status: int
    aye_share_ppm: int
    deposit_burned: int
    WIRE = (("ref_id", U64), ("status", U8), ("aye_share_ppm", U64), ("deposit_burned", AMOUNT))


@dataclass(frozen=True)
class Enacted(Event):
    MODULE: ClassVar[str] = "governance"
    ref_id: int
    success: bool
    error: str
    WIRE = (("ref_id", U64), ("success", BOOL), ("error", Text(512)))


EVENTS = (
    Proposed,
    Voted,
    Cancelled,
    VotingClosed,
    Enacted,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
