"""The votes a finality tracker remembers to catch double and surround votes: every validly signed vote above the
finalized epoch, by its signer's account and by its key, and by target epoch.

An offence is an account's (`btt_chain.consensus.validator_set`): a vote is checked against the earlier votes of its
account, whichever key signed them, and against the earlier votes of its key (a key that two accounts registered on
two forks is still one signer). A key that stands for its own account (an ed25519 stash signing with its own key) is
held once, under the account. Memory stays bounded without ever refusing a vote for a target above the oldest one held:
each account and each key keeps its `per_signer` newest target epochs and forgets the oldest. A validator's honest
votes have rising targets, so what is forgotten is what can least matter; what is never forgotten is the newest vote, so
finality can always resume, however long it stalled (a refused newest vote stalled it for good after `per_signer`
epochs without finality).

A vote older than every target a full signer holds (`forgets`) would be forgotten as soon as it was held, so it could
double vote, or be surrounded by, a forgotten vote unseen; the tracker refuses it (neither held nor counted). That rule
alone keeps forgetting safe: a vote above the oldest target held that surrounds a forgotten vote also surrounds that
oldest held vote (which `conflict` finds), or else that oldest held vote surrounds the forgotten one and would have been
refused when it came (by induction on when votes were held). Only votes at or below the finalized epoch are forgotten
unchecked (`prune`), and a vote against those is stale."""

from __future__ import annotations

from collections.abc import Iterable

from btt_chain.primitives.evidence import VoteEquivocation, is_surround_vote
from btt_chain.primitives.vote import Vote


class VoteMemory:
    """Votes by signer (account and key) and target epoch, the newest `per_signer` target epochs of each."""

    def __init__(self, per_signer: int) -> None:
        if per_signer < 1:
            raise ValueError("a vote memory keeps at least one vote per signer")
        self.per_signer = per_signer
        self._by_account: dict[bytes, dict[int, Vote]] = {}
        self._by_key: dict[bytes, dict[int, Vote]] = {}

    def __len__(self) -> int:
        """Votes held (per account and target epoch)."""
        return sum(len(v) for v in self._by_account.values())

    def held(self, vote: Vote, account: bytes) -> Vote | None:
        """A vote held for `vote`'s target epoch by its key, else by its account."""
        epoch = vote.target.epoch
        return self._by_account.get(account, {}).get(epoch) or self._by_key.get(vote.validator, {}).get(epoch)

    def conflict(self, vote: Vote, account: bytes) -> VoteEquivocation | None:
        """A held vote of the same key or account that `vote` double-votes or surrounds (or is surrounded by), as
        evidence (the held vote first), or None."""
        key = vote.validator
        # the account's votes, the key's (under another account), and a key that stood for itself before
        found = [self._by_account.get(account), self._by_key.get(key)]
        if account != key:
            found.append(self._by_account.get(key))
        for mine in found:
            if not mine:
                continue
            same = mine.get(vote.target.epoch)
            if same is not None and same.link != vote.link:
                return VoteEquivocation(same, vote)
            for earlier in mine.values():
                if is_surround_vote(earlier, vote):
                    return VoteEquivocation(earlier, vote)
        return None

    def knows(self, key: bytes, account: bytes) -> bool:
        """Whether any vote of `key` or of `account` is held (so a vote of theirs may be a double or surround vote)."""
        return key in self._by_key or key in self._by_account or account in self._by_account

    def forgets(self, vote: Vote, account: bytes) -> bool:
        """Whether `vote` (of `account`) is older than every target of one of its signers that holds `per_signer`
        already (its account, its key, or its key standing for itself): held, it would be forgotten at once, and a
        vote of that age may double vote or be surrounded by a vote forgotten before, which nothing here can tell."""
        epoch = vote.target.epoch
        key = vote.validator
        found = [self._by_account.get(account), self._by_key.get(key)]  # the tables `conflict` checks
        if account != key:
            found.append(self._by_account.get(key))
        return any(mine is not None and len(mine) >= self.per_signer and epoch < min(mine) for mine in found)

    def add(self, vote: Vote, account: bytes) -> list[Vote]:
        """Hold `vote` (of `account`); returns the votes of its account that it pushed out (the oldest targets), which
        the caller stops counting."""
        if account != vote.validator:  # a key that stands for its account is found by the account alone
            self._put(self._by_key, vote.validator, vote)
        return self._put(self._by_account, account, vote)

    def _put(self, table: dict[bytes, dict[int, Vote]], signer: bytes, vote: Vote) -> list[Vote]:
        mine = table.setdefault(signer, {})
        mine[vote.target.epoch] = vote
        if len(mine) <= self.per_signer:
            return []
        dropped = []
        for epoch in sorted(mine)[: len(mine) - self.per_signer]:
            dropped.append(mine.pop(epoch))
        return dropped

    def prune(self, finalized_epoch: int) -> None:
        """Forget votes whose target is at or below the finalized epoch."""
        for table in (self._by_account, self._by_key):
            for signer in list(table):
                kept = {e: v for e, v in table[signer].items() if e > finalized_epoch}
                if kept:
                    table[signer] = kept
                else:
                    del table[signer]

    def votes_of_keys(self, keys: Iterable[bytes]) -> list[Vote]:
        """The votes held that `keys` signed, oldest target first (every vote is held under its account)."""
        wanted = set(keys)
        found = [v for mine in self._by_account.values() for v in mine.values() if v.validator in wanted]
        return sorted(found, key=lambda v: (v.target.epoch, v.source.epoch))

    def targets_of(self, account: bytes) -> int:
        """How many target epochs `account` has in memory."""
        return len(self._by_account.get(account, {}))
