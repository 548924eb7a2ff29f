"""`retry_unresolved` when counting a held vote finalizes a checkpoint and the prune that follows drops other held
votes of the same round: they are skipped, not looked up again (found by the finality simulation, where it raised
KeyError out of the tracker)."""

from __future__ import annotations

from btt_chain.consensus.finality import VoteStatus, VoteTracker
from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint, sign_vote
from tests.support.labelled_forks import ForkView, LabelledForks

GENESIS = b"\x42" * 32
KEYS = [dev_keypair(n) for n in ("alice", "bob", "charlie", "dave")]
VALS = ValidatorSet([(k.public, 100) for k in KEYS])
FORKS = LabelledForks(GENESIS)
G = FORKS.genesis


def test_a_held_vote_pruned_by_an_earlier_one_of_the_same_retry_is_skipped():
    sets: dict[Checkpoint, ValidatorSet] = {FORKS.cp(1): VALS}
    t = VoteTracker(GENESIS, ForkView(FORKS, sets))
    for k in KEYS[:3]:
        assert t.add_vote(sign_vote(k, GENESIS, G, FORKS.cp(1))).status is VoteStatus.ACCEPTED
    assert t.latest_justified == FORKS.cp(1)
    # votes for epoch 2 and one from genesis to epoch 3 wait for their targets' blocks
    for k in KEYS[:3]:
        assert t.add_vote(sign_vote(k, GENESIS, FORKS.cp(1), FORKS.cp(2))).status is VoteStatus.UNRESOLVED
    assert t.add_vote(sign_vote(KEYS[3], GENESIS, G, FORKS.cp(3))).status is VoteStatus.UNRESOLVED
    sets[FORKS.cp(2)] = VALS
    # counting the third held vote justifies epoch 2 and finalizes epoch 1; the prune drops the vote from genesis,
    # which the same round then reaches
    retry = t.retry_unresolved()
    assert retry.update.finalized == FORKS.cp(1) and t.latest_justified == FORKS.cp(2)
    assert len(retry.votes) == 3 and t.unresolved_votes == 0
