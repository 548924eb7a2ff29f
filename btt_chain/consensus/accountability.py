"""Accountable safety: from the votes behind two conflicting finalized checkpoints, the validators who broke a Casper
commandment (a double vote: two links with one target epoch; a surround vote: one link's span strictly inside
another's), each with the pair of its own signed votes that proves it.

Casper FFG's theorem: if two conflicting checkpoints are finalized, the votes of the justifications that led to them
contain such pairs from validators holding at least 1/3 of the stake (of the sets involved). The node and the
simulation both search those votes with `find_equivocations`; the runtime's evidence module slashes each pair through
`evidence.report_vote_equivocation`, which checks it with the same predicates (`btt_chain.primitives.evidence`).

An offence is an account's, not a key's: two votes signed by two session keys of one account (a key rotated on one fork
only, say) are that account's pair. `owner_of` tells the account of a key (the sets name it); keys it cannot place stand
for themselves, and a key's own pairs are found as well (a key two accounts registered on two forks is one signer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from btt_chain.primitives.evidence import VoteEquivocation, vote_offence
from btt_chain.primitives.vote import Justification, Vote

OwnerOf = Callable[[bytes], bytes]
"""Session key -> the account it signs for (the key itself when unknown)."""


def _self(key: bytes) -> bytes:
    return key


def find_equivocations(votes: Iterable[Vote], owner_of: OwnerOf = _self) -> dict[bytes, VoteEquivocation]:
    """One slashable pair per offending account (`owner_of` each vote's key; by key without it) among `votes`;
    signatures are not checked here (the evidence module checks them when the pair is reported)."""
    by_account: dict[bytes, dict[tuple[bytes, object, object], Vote]] = {}
    by_key: dict[bytes, dict[tuple[object, object], Vote]] = {}
    for v in votes:
        by_account.setdefault(owner_of(v.validator), {}).setdefault((v.validator, *v.link), v)
        by_key.setdefault(v.validator, {}).setdefault(v.link, v)
    found: dict[bytes, VoteEquivocation] = {}
    for account, signed in by_account.items():
        pair = _first_pair(_ordered(signed.values()))
        if pair is not None:
            found[account] = VoteEquivocation(*pair)
    for key, links in by_key.items():
        account = owner_of(key)
        if account not in found:
            pair = _first_pair(_ordered(links.values()))
            if pair is not None:
                found[account] = VoteEquivocation(*pair)
    return found


def _ordered(votes: Iterable[Vote]) -> list[Vote]:
    return sorted(votes, key=lambda v: (v.target.epoch, v.source.epoch, v.validator))


def _first_pair(votes: list[Vote]) -> tuple[Vote, Vote] | None:
    for i, a in enumerate(votes):
        for b in votes[i + 1:]:
            if vote_offence(a, b) is not None:
                return a, b
    return None


def votes_of(justifications: Iterable[Justification]) -> list[Vote]:
    return [v for j in justifications for v in j.votes]
