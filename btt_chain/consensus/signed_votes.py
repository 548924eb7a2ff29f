"""What a validator has signed, as far as slashing goes: the rule that decides whether one more vote could be a double
or surround vote with any earlier one (Casper's two commandments), kept as an immutable value.

Besides the recent votes themselves the record keeps two watermarks, the highest source and target epochs ever
signed, and refuses any vote with a target at or below the highest signed target or a source below the highest signed
source (Ethereum's minimal slashing protection). A validator that follows `vote_rule` never needs such a vote: its
targets rise, and its source (the latest justified checkpoint on its head's chain, which the fork choice keeps) never
falls. With the watermarks, old votes can be dropped from the record without ever allowing a slashable pair.

`btt_chain.consensus.vote_guard` persists this record before a vote is signed; the simulation keeps it in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.evidence import surrounds
from btt_chain.primitives.vote import Checkpoint

KEEP_VOTES = 256
"""Recent votes kept in the record (the watermarks cover older ones)."""


@dataclass(frozen=True)
class SignedVotes:
    """The finality votes one validator signed (the recent ones) and its watermarks."""

    max_source: int = -1
    """The highest source epoch ever signed (-1: none)."""
    max_target: int = -1
    """The highest target epoch ever signed (-1: none)."""
    votes: tuple[tuple[Checkpoint, Checkpoint], ...] = ()
    """The last KEEP_VOTES links signed, oldest first."""

    def may_sign(self, source_epoch: int, target_epoch: int) -> bool:
        """True when a vote source_epoch -> target_epoch can be neither a double nor a surround vote with anything
        signed before."""
        return self.refusal(source_epoch, target_epoch) is None

    def refusal(self, source_epoch: int, target_epoch: int) -> str | None:
        """Why a vote source_epoch -> target_epoch must not be signed, or None if it may."""
        if not 0 <= source_epoch < target_epoch:
            return f"source epoch {source_epoch} is not below target epoch {target_epoch}"
        if target_epoch <= self.max_target:
            return f"a vote with target epoch {self.max_target} was signed already (a double vote, or one older)"
        if source_epoch < self.max_source:
            return f"a vote from source epoch {self.max_source} was signed already (this one could surround it)"
        for s, t in self.votes:
            if t.epoch == target_epoch:
                return f"a vote {s.epoch} -> {t.epoch} has the same target epoch"
            if surrounds(s.epoch, t.epoch, source_epoch, target_epoch) or surrounds(
                source_epoch, target_epoch, s.epoch, t.epoch
            ):
                return f"it would surround, or be surrounded by, the vote {s.epoch} -> {t.epoch}"
        return None

    def with_vote(self, source: Checkpoint, target: Checkpoint) -> SignedVotes:
        """The record after signing source -> target; ValueError (nothing changes) if that could be slashable."""
        reason = self.refusal(source.epoch, target.epoch)
        if reason is not None:
            raise ValueError(f"refusing to vote {source.epoch} -> {target.epoch}: {reason}")
        return SignedVotes(
            max(self.max_source, source.epoch),
            max(self.max_target, target.epoch),
            (*self.votes, (source, target))[-KEEP_VOTES:],
        )
