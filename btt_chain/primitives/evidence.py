"""Slashing evidence: two blocks sealed for one slot, or two conflicting finality votes.

The checks are pure and return why a pair is NOT valid evidence, or None when it is. They come in two layers:

- `vote_pair_problem` and `block_pair_problem` check everything but who signed: the pair conflicts (a double or
  surround vote; two different blocks for one slot), each item is well formed and carries a valid signature by the
  key it names, for the chain of `genesis_hash`. Offences are an account's, not a key's (a validator rotates its
  session key, and a coalition can have a rotation included on one fork only), so the runtime (module `evidence`)
  decides the signer by account: two keys its `session.key_owner` (or a key authorization,
  `btt_chain.primitives.key_authorization`) gives to one account make one offence of that account.
- `is_vote_equivocation` and `is_block_equivocation` add "signed by one key" on top: what a node can judge from the
  items alone, with no chain state.

The runtime and the node (vote tracker, block import) share them, so both sides agree on what is slashable.
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.block import Header
from btt_chain.primitives.codec import Nested, Struct
from btt_chain.primitives.vote import Vote

BLOCK_EQUIVOCATION = "block_equivocation"
"""Offence: two different headers for one slot by one author (one account, whatever its keys)."""
DOUBLE_VOTE = "double_vote"
"""Offence: two different votes with the same target epoch by one validator (one account, whatever its keys)."""
SURROUND_VOTE = "surround_vote"
"""Offence: one vote's (source, target) span strictly inside another's, by one validator (one account)."""
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


def offence_epoch(a: Vote, b: Vote) -> int:
    """The epoch a vote offence is recorded under: the later of the two target epochs (both, for a double vote)."""
    return max(a.target.epoch, b.target.epoch)


def is_vote_equivocation(a: Vote, b: Vote, genesis_hash: bytes) -> str | None:
    """Why (a, b) is not evidence of a slashable vote pair signed by one session key, or None if it is."""
    if a.validator != b.validator:
        return "the votes are by different validators"
    return vote_pair_problem(a, b, genesis_hash)


def vote_pair_problem(a: Vote, b: Vote, genesis_hash: bytes) -> str | None:
    """Why (a, b) is not a conflicting pair of validly signed votes, whoever signed each (the caller decides whether
    the two signers are one account), or None if it is."""
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
    """Two votes that double-vote or surround one another, by one session key (`check`) or by two keys whose account
    the chain decides (`pair_problem`, then the runtime's key owners)."""

    vote_a: Vote
    vote_b: Vote

    WIRE = (("vote_a", Nested(Vote)), ("vote_b", Nested(Vote)))

    def check(self, genesis_hash: bytes) -> str | None:
        """Why this is not valid evidence of one key's offence, or None if it is."""
        return is_vote_equivocation(self.vote_a, self.vote_b, genesis_hash)

    def pair_problem(self, genesis_hash: bytes) -> str | None:
        """Why this is not a conflicting, validly signed pair whoever signed it (`vote_pair_problem`), or None."""
        return vote_pair_problem(self.vote_a, self.vote_b, genesis_hash)

    @property
    def offender(self) -> bytes:
        """The session key that signed the first vote (both, when `check` passes)."""
        return self.vote_a.validator

    @property
    def signers(self) -> tuple[bytes, bytes]:
        """The session keys that signed the two votes (one key twice, or two keys of one account)."""
        return (self.vote_a.validator, self.vote_b.validator)

    @property
    def kind(self) -> str | None:
        return vote_offence(self.vote_a, self.vote_b)

    @property
    def epoch(self) -> int:
        """The offence's epoch: the later of the two target epochs (both, for a double vote)."""
        return offence_epoch(self.vote_a, self.vote_b)


# --- blocks --------------------------------------------------------------------------------------


def is_block_equivocation(a: Header, b: Header, genesis_hash: bytes) -> str | None:
    """Why (a, b) is not evidence of one author key sealing two blocks for one slot on the chain of
    `genesis_hash`, or None if it is."""
    if a.slot != b.slot:
        return f"the headers are for different slots ({a.slot} and {b.slot})"
    if a.author != b.author:
        return "the headers have different authors"
    return block_pair_problem(a, b, genesis_hash)


def block_pair_problem(a: Header, b: Header, genesis_hash: bytes) -> str | None:
    """Why (a, b) is not a pair of two different blocks for one slot, each validly sealed by the key it names on the
    chain of `genesis_hash`, whoever sealed each (the caller decides whether the two authors are one account), or
    None if it is."""
    if a.slot != b.slot:
        return f"the headers are for different slots ({a.slot} and {b.slot})"
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
    """Two different headers sealed for one slot, by one author key (`check`) or by two keys whose account the chain
    decides (`pair_problem`, then the runtime's key owners)."""

    header_a: Header
    header_b: Header

    WIRE = (("header_a", Nested(Header)), ("header_b", Nested(Header)))

    def check(self, genesis_hash: bytes) -> str | None:
        """Why this is not valid evidence of one key's offence, or None if it is."""
        return is_block_equivocation(self.header_a, self.header_b, genesis_hash)

    def pair_problem(self, genesis_hash: bytes) -> str | None:
        """Why this is not a pair of two validly sealed blocks for one slot whoever sealed them
        (`block_pair_problem`), or None."""
        return block_pair_problem(self.header_a, self.header_b, genesis_hash)

    @property
    def offender(self) -> bytes:
        """The session key that sealed the first header (both, when `check` passes)."""
        return self.header_a.author

    @property
    def signers(self) -> tuple[bytes, bytes]:
        """The session keys that sealed the two headers (one key twice, or two keys of one account)."""
        return (self.header_a.author, self.header_b.author)

    @property
    def slot(self) -> int:
        return self.header_a.slot
