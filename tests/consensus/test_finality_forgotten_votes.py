"""A vote older than every target its validator has in the tracker's memory is refused (STALE: neither held, counted
nor forwarded), because the memory would forget it at once.

Before, such a vote was held, dropped at once by the bound on targets per validator, and counted all the same: a
validator's double and surround votes on old targets were never caught (both votes counted), and during a long stall
one Byzantine validator made the tracker count an unbounded number of mutually conflicting links. Each test runs the
attack and asserts that it fails; the last checks that no two votes the tracker takes from one validator conflict,
whatever the order they come in."""

from __future__ import annotations

import random

from btt_chain.consensus.finality import VoteStatus, VoteTracker
from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.primitives.evidence import is_surround_vote
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint, Vote, sign_vote
from tests.support.labelled_forks import ForkView, LabelledForks

GENESIS = b"\x4a" * 32
KEYS = [dev_keypair(n) for n in ("alice", "bob", "charlie", "dave")]
FORKS = LabelledForks(GENESIS)
G = Checkpoint(0, GENESIS)
SET = ValidatorSet([(k.public, 100) for k in KEYS])
MEMORY = 8
STALL = 24


def stalled() -> VoteTracker:
    """Alice and Bob vote the main chain, Charlie fork b, every epoch for `STALL` epochs (nothing is justified); each
    validator's memory holds its newest `MEMORY` targets."""
    t = VoteTracker(GENESIS, ForkView(FORKS, SET), max_targets_per_validator=MEMORY)
    for e in range(1, STALL + 1):
        for i, fork in ((0, ""), (1, ""), (2, "b")):
            assert t.add_vote(sign_vote(KEYS[i], GENESIS, G, FORKS.cp(e, fork))).status is VoteStatus.ACCEPTED
    assert t.finalized == G
    return t


def test_a_double_vote_on_a_forgotten_target_is_not_counted() -> None:
    t = stalled()
    held = t.vote_count
    alice = KEYS[0]
    r1 = t.add_vote(sign_vote(alice, GENESIS, G, FORKS.cp(5, "c")))
    r2 = t.add_vote(sign_vote(alice, GENESIS, G, FORKS.cp(5, "d")))  # a double vote of r1's (and of main 5)
    assert r1.status is VoteStatus.STALE and r2.status is VoteStatus.STALE, (r1, r2)
    assert t.votes_for(G, FORKS.cp(5, "c")) == () and t.votes_for(G, FORKS.cp(5, "d")) == ()
    assert t.vote_count == held


def test_a_vote_only_a_forgotten_vote_surrounds_is_not_counted() -> None:
    t = VoteTracker(GENESIS, ForkView(FORKS, SET), max_targets_per_validator=MEMORY)
    dave = KEYS[3]
    assert t.add_vote(sign_vote(dave, GENESIS, FORKS.cp(1), FORKS.cp(6))).status is VoteStatus.ACCEPTED
    for e in range(7, 7 + MEMORY):  # pushes 1 -> 6 out of memory; none of them surrounds it or 2 -> 5
        assert t.add_vote(sign_vote(dave, GENESIS, FORKS.cp(6), FORKS.cp(e))).status is VoteStatus.ACCEPTED
    r = t.add_vote(sign_vote(dave, GENESIS, FORKS.cp(2), FORKS.cp(5)))  # 1 -> 6 surrounds it
    assert r.status is VoteStatus.STALE and t.votes_for(FORKS.cp(2), FORKS.cp(5)) == ()


def test_a_vote_surrounding_a_forgotten_vote_is_caught_by_the_newer_ones() -> None:
    """No watermark is needed on the other side: a vote above the oldest target held that surrounds a forgotten vote
    surrounds a held one too (or the held one surrounded the forgotten vote and was refused)."""
    t = VoteTracker(GENESIS, ForkView(FORKS, SET), max_targets_per_validator=MEMORY)
    dave = KEYS[3]
    t.add_vote(sign_vote(dave, GENESIS, FORKS.cp(3), FORKS.cp(4)))
    for e in range(5, 5 + MEMORY):  # 3 -> 4 is forgotten
        assert t.add_vote(sign_vote(dave, GENESIS, FORKS.cp(3), FORKS.cp(e))).status is VoteStatus.ACCEPTED
    r = t.add_vote(sign_vote(dave, GENESIS, FORKS.cp(2), FORKS.cp(5 + MEMORY)))  # surrounds 3 -> 4, and 3 -> 5 ...
    assert r.status is VoteStatus.EQUIVOCATION and r.evidence is not None and r.evidence.kind == "surround_vote"


def test_one_validator_cannot_grow_the_counted_links_during_a_stall() -> None:
    t = stalled()
    dave = KEYS[3]
    for e in range(STALL - MEMORY + 1, STALL + 1):  # dave's newest targets, each from the epoch before
        assert t.add_vote(sign_vote(dave, GENESIS, FORKS.cp(e - 1), FORKS.cp(e))).status is VoteStatus.ACCEPTED
    links, held = t.link_count, t.vote_count
    statuses = {t.add_vote(sign_vote(dave, GENESIS, FORKS.cp(s), FORKS.cp(e))).status
                for e in range(2, STALL - MEMORY + 1) for s in range(e)}
    assert statuses == {VoteStatus.STALE}  # before: every one ACCEPTED and counted, links growing by each
    assert t.link_count == links and t.vote_count == held == 4 * MEMORY


def test_the_newest_vote_is_still_taken_after_the_stall() -> None:
    t = stalled()
    healed = FORKS.cp(STALL + 1)
    statuses = [t.add_vote(sign_vote(k, GENESIS, G, healed)).status for k in KEYS]
    statuses += [t.add_vote(sign_vote(k, GENESIS, healed, FORKS.cp(STALL + 2))).status for k in KEYS]
    assert statuses == [VoteStatus.ACCEPTED] * 8 and t.finalized == healed


def conflicts(a: Vote, b: Vote) -> bool:
    return (a.target.epoch == b.target.epoch and a.link != b.link) or is_surround_vote(a, b) or is_surround_vote(b, a)


def test_no_two_votes_taken_from_one_validator_conflict_whatever_their_order() -> None:
    """A Byzantine validator signs random links on random forks, in random order, far more than its memory holds:
    every vote the tracker takes (counts, or holds as off its target's chain) agrees with every other it took, or the
    tracker answered the later one with evidence."""
    rng = random.Random(49)
    for _ in range(20):
        t = VoteTracker(GENESIS, ForkView(FORKS, SET), max_targets_per_validator=4)
        taken: list[Vote] = []
        for _ in range(120):
            target = rng.randint(1, 30)
            source = rng.randint(0, target - 1)
            v = sign_vote(KEYS[3], GENESIS, FORKS.cp(source, rng.choice("ab")), FORKS.cp(target, rng.choice("ab")))
            r = t.add_vote(v)
            if r.status in (VoteStatus.ACCEPTED, VoteStatus.OFF_CHAIN):
                assert not [w for w in taken if conflicts(w, v)], (v, r)
                taken.append(v)
            else:
                assert r.status in (VoteStatus.EQUIVOCATION, VoteStatus.STALE, VoteStatus.DUPLICATE), r
        assert t.finalized == G and t.vote_count <= 4
