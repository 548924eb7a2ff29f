"""Accountable safety: from the votes behind two conflicting finalized checkpoints, the validators who broke a Casper
commandment (a double vote: two links with one target epoch; a surround vote: one link's span strictly inside
another's), each with the pair of its own signed votes that proves it.

Casper FFG's theorem: if two conflicting checkpoints are finalized, the votes of the justifications that led to them
contain such pairs from validators holding at least 1/3 of the stake (of the sets involved). The node and the
simulation both search those votes with `find_equivocations`; the runtime's evidence module slashes each pair through
`evidence.report_vote_equivocation`, which checks it with the same predicates (`btt_chain.primitives.evidence`).
"""

from __future__ import annotations

from collections.abc import Iterable

from btt_chain.primitives.evidence import VoteEquivocation, vote_offence
from btt_chain.primitives.vote import Justification, Vote


def find_equivocations(votes: Iterable[Vote]) -> dict[bytes, VoteEquivocation]:
    """One slashable pair per offending validator (by session key) among `votes`; signatures are not checked here
    (the evidence module checks them when the pair is reported)."""
    by_validator: dict[bytes, dict[tuple[object, object], Vote]] = {}
    for v in votes:
        by_validator.setdefault(v.validator, {}).setdefault(v.link, v)
    found: dict[bytes, VoteEquivocation] = {}
    for key, links in by_validator.items():
        mine = sorted(links.values(), key=lambda v: (v.target.epoch, v.source.epoch))
        pair = _first_pair(mine)
        if pair is not None:
            found[key] = VoteEquivocation(*pair)
    return found


def _first_pair(votes: list[Vote]) -> tuple[Vote, Vote] | None:
    for i, a in enumerate(votes):
        for b in votes[i + 1:]:
            if vote_offence(a, b) is not None:
                return a, b
    return None


def votes_of(justifications: Iterable[Justification]) -> list[Vote]:
    return [v for j in justifications for v in j.votes]
