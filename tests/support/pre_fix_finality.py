"""The finality rules as they were before the fix of the finality issue, to show that a scenario is adversarial: the
same script that the current rules survive breaks these.

- fork choice: the longest chain beneath the finalized block (justified checkpoints play no part);
- vote rule: the link from the latest justified checkpoint on the head's chain, or, when the validator's own record
  refuses that source, from the latest justified checkpoint it knows, wherever it is (the old fallback);
- tracker: counts a link whatever its source, as long as its epoch is below the target's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from btt_chain.consensus.finality import Link, VoteTracker
from btt_chain.consensus.fork_choice import best_descendant
from btt_chain.consensus.signed_votes import SignedVotes
from btt_chain.consensus.vote_rule import VoteChoice, choose_vote
from btt_chain.finality_sim.node import Rules
from btt_chain.primitives.vote import Checkpoint


def longest_chain(justified: Iterable[Checkpoint], finalized: Checkpoint, knows: Callable[[bytes], bool],
                  children_of: Callable[[bytes], Iterable[bytes]], number_of: Callable[[bytes], int], *,
                  slot_of: Callable[[bytes], int], epoch_slots: int) -> bytes:
    return best_descendant(finalized.block_hash, children_of, number_of)


def vote_with_fallback(epoch: int, head_checkpoint: Callable[[int], Checkpoint], justified: Iterable[Checkpoint],
                       signed: SignedVotes) -> VoteChoice:
    justified = list(justified)
    choice = choose_vote(epoch, head_checkpoint, justified, signed)
    if choice.link is not None:
        return choice
    target = head_checkpoint(epoch)
    latest = max(justified, key=lambda c: c.epoch)
    if latest.epoch < target.epoch and signed.may_sign(latest.epoch, target.epoch):
        return VoteChoice((latest, target))
    return choice


class CountsAnySource(VoteTracker):
    def is_countable(self, link: Link) -> bool:
        return link[0].epoch < link[1].epoch


PRE_FIX = Rules(choose_head=longest_chain, choose_vote=vote_with_fallback, tracker=CountsAnySource)


class RefusesPastQuota(VoteTracker):
    """The tracker's memory bound before issue 49: a validator with `max_targets_per_validator` target epochs in memory
    had every further vote refused until a finalization pruned them (so finality never resumed after ~64 epochs
    without it)."""

    def _ingest(self, vote, vs, signature_checked):  # type: ignore[no-untyped-def]
        from btt_chain.consensus.finality import AddVoteResult, VoteStatus

        account = self.owner_of(vote.validator, vs)
        fresh = vs is not None and vote.target.epoch > self.state.finalized.epoch
        if (fresh and self._memory.held(vote, account) is None
                and self._memory.targets_of(account) >= self.max_targets_per_validator):
            return AddVoteResult(VoteStatus.INVALID, "too many target epochs in memory for this validator")
        return super()._ingest(vote, vs, signature_checked)


MEMORY_BEFORE_ISSUE_49 = Rules(tracker=RefusesPastQuota)
