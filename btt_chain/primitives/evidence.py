"""Slashing evidence: two blocks sealed by one author for one slot, or two conflicting finality votes.

The checks are pure: `is_block_equivocation` and `is_vote_equivocation` return why a pair is NOT valid
evidence, or None when it is. The runtime (module `evidence`) and the node (vote tracker, block import)
share them, so both sides agree on what is slashable.
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.block import Header
from btt_chain.primitives.codec import Nested, Struct
from btt_chain.primitives.vote import Vote

BLOCK_EQUIVOCATION = "block_equivocation"
"""Offence: two different headers for one slot by one author."""
DOUBLE_VOTE = "double_vote"
"""Offence: two different votes with the same target epoch by one validator."""
SURROUND_VOTE = "surround_vote"
"""Offence: one vote's (source, target) span strictly inside another's, by one validator."""
OFFENCE_KINDS = (BLOCK_EQUIVOCATION, DOUBLE_VOTE, SURROUND_VOTE)


# --- votes ---------------------------------------------------------------------------------------


def is_double_vote(a: Vote, b: Vote) -> bool:
    """Two different votes (by link) with the same target epoch. Signers are not compared here."""
    return a.target.epoch == b.target.epoch and a.link != b.link


def surrounds(outer_source: int, outer_target: int, inner_source: int, inner_target: int) -> bool:
    """The span (outer_source, outer_target) strictly surrounds (inner_source, inner_target)."""
    return outer_source < inner_source and inner_target < outer_target


def is_surround_vote(a: Vote, b: Vote) -> bool:
    """One vote surrounds the other (either order). Signers are not compared here."""
    return surrounds(a.source.epoch, a.target.epoch, b.source.epoch, b.target.epoch) or surrounds(
        b.source.epoch, b.target.epoch, a.source.epoch, a.target.epoch
    )


def vote_offence(a: Vote, b: Vote) -> str | None:
    """DOUBLE_VOTE, SURROUND_VOTE, or None when the two votes do not conflict (signers not compared)."""
    if is_double_vote(a, b):
        return DOUBLE_VOTE
    if is_surround_vote(a, b):
        return SURROUND_VOTE
    return None


def is_vote_equivocation(a: Vote, b: Vote, genesis_hash: bytes) -> str | None:
    """Why (a, b) is not evidence of a slashable vote pair, or None if it is."""
    if a.validator != b.validator:
        return "the votes are by different validators"
    if a.link == b.link:
        return "the two votes are for the same link"
    for label, v in (("vote_a", a), ("vote_b", b)):
        if not v.is_well_formed():
            return f"{label} has source epoch {v.source.epoch} not below target epoch {v.target.epoch}"
    if vote_offence(a, b) is None:
        return "the votes neither share a target epoch nor surround one another"
    for label, v in (("vote_a", a), ("vote_b", b)):
        if not v.verify(genesis_hash):
            return f"{label} has a bad signature"
    return None


@dataclass(frozen=True)
class VoteEquivocation(Struct):
    """Two votes by one validator that double-vote or surround one another."""

    vote_a: Vote
    vote_b: Vote

    WIRE = (("vote_a", Nested(Vote)), ("vote_b", Nested(Vote)))

    def check(self, genesis_hash: bytes) -> str | None:
        """Why this is not valid evidence, or None if it is."""
        return is_vote_equivocation(self.vote_a, self.vote_b, genesis_hash)

    @property
    def offender(self) -> bytes:
        """The session key that signed both votes."""
        return self.vote_a.validator

    @property
    def kind(self) -> str | None:
        return vote_offence(self.vote_a, self.vote_b)

    @property
    def epoch(self) -> int:
        """The offence's epoch: the later of the two target epochs (both, for a double vote)."""
        return max(self.vote_a.target.epoch, self.vote_b.target.epoch)


# --- blocks --------------------------------------------------------------------------------------


def is_block_equivocation(a: Header, b: Header, genesis_hash: bytes) -> str | None:
    """Why (a, b) is not evidence of one author sealing two blocks for one slot on the chain of
    `genesis_hash`, or None if it is."""
    if a.slot != b.slot:
        return f"the headers are for different slots ({a.slot} and {b.slot})"
    if a.author != b.author:
        return "the headers have different authors"
    if a.signing_payload(genesis_hash) == b.signing_payload(genesis_hash):
        # the same block (a re-signed copy is the same block content, not a second block)
        return "the two headers are the same block"
    if not a.verify_seal(genesis_hash):
        return "header_a has a bad seal"
    if not b.verify_seal(genesis_hash):
        return "header_b has a bad seal"
    return None


@dataclass(frozen=True)
class BlockEquivocation(Struct):
    """Two different headers sealed by one author for one slot."""

    header_a: Header
    header_b: Header

    WIRE = (("header_a", Nested(Header)), ("header_b", Nested(Header)))

    def check(self, genesis_hash: bytes) -> str | None:
        """Why this is not valid evidence, or None if it is."""
        return is_block_equivocation(self.header_a, self.header_b, genesis_hash)

    @property
    def offender(self) -> bytes:
        """The session key that sealed both headers."""
        return self.header_a.author

    @property
    def slot(self) -> int:
        return self.header_a.slot
