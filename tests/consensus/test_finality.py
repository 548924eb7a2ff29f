"""Finality: justification at 2/3 of bonded stake, finalization of consecutive justified checkpoints,
justification verification, double and surround vote detection, pruning, and checkpoint lookup."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.consensus.checkpoints import checkpoint_for_epoch
from btt_chain.consensus.finality import (
    FinalityConflict,
    FinalityRecord,
    FinalityState,
    JustificationStatus,
    VoteStatus,
    VoteTracker,
    verify_justification,
)
from btt_chain.consensus.validator_set import ValidatorSet, has_supermajority
from btt_chain.primitives.block import Digest, Header
from btt_chain.primitives.evidence import DOUBLE_VOTE, SURROUND_VOTE, is_vote_equivocation
from btt_chain.primitives.hashing import EMPTY_MERKLE_ROOT
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint, Justification, Vote, sign_vote
from tests.support.labelled_forks import ForkView, LabelledForks

GENESIS = b"\x42" * 32
NAMES = ("alice", "bob", "charlie", "dave")
KEYS = [dev_keypair(n) for n in NAMES]
VALS = ValidatorSet([(k.public, 100) for k in KEYS])
G = Checkpoint(0, GENESIS)
FORKS = LabelledForks(GENESIS)


def cp(epoch: int, fork: int = 0) -> Checkpoint:
    """The checkpoint of `epoch` on fork `fork` (genesis for epoch 0): fork 0 is the main chain, others branch off it
    just below their own checkpoints."""
    return FORKS.cp(epoch, fork)


def vote(i: int, source: Checkpoint, target: Checkpoint) -> Vote:
    return sign_vote(KEYS[i], GENESIS, source, target)


def tracker(*args, vals=VALS, **kwargs) -> VoteTracker:
    """A tracker over a chain whose validator set never changes (every target is voted for by `vals`)."""
    return VoteTracker(GENESIS, ForkView(FORKS, vals), *args, **kwargs)


def vote_all(tracker: VoteTracker, voters, source: Checkpoint, target: Checkpoint):
    results = [tracker.add_vote(vote(i, source, target)) for i in voters]
    assert all(r.status is VoteStatus.ACCEPTED for r in results), results
    return results


def justification(voters, source: Checkpoint, target: Checkpoint) -> Justification:
    return Justification(target, source, tuple(vote(i, source, target) for i in voters))


# --- types ---------------------------------------------------------------------------------------


def test_vote_round_trips_and_verifies_only_on_its_chain():
    v = vote(0, G, cp(1))
    assert Vote.decode(v.encode()) == v
    assert v.verify(GENESIS)
    assert not v.verify(b"\x43" * 32)
    assert not v.replace(target=cp(1, fork=1)).verify(GENESIS)
    assert not v.replace(validator=KEYS[1].public).verify(GENESIS)


def test_sign_vote_refuses_source_not_below_target():
    with pytest.raises(ValueError):
        sign_vote(KEYS[0], GENESIS, cp(2), cp(2))


def test_supermajority_is_two_thirds_in_integers():
    assert has_supermajority(2, 3)
    assert not has_supermajority(199, 300)
    assert has_supermajority(200, 300)
    assert not has_supermajority(0, 0)


# --- justification and finalization ----------------------------------------------------------------


def test_three_of_four_equal_bonds_justify():
    t = tracker()
    r0, r1, r2 = vote_all(t, [0, 1, 2], G, cp(1))
    assert r0.newly_justified == () and r1.newly_justified == ()
    assert r2.newly_justified == (cp(1),)
    assert r2.newly_finalized is None  # genesis was finalized already
    j = r2.update.justifications[0]
    assert j.link == (G, cp(1)) and len(j.votes) == 3
    assert [v.validator for v in j.votes] == sorted(v.validator for v in j.votes)
    assert verify_justification(j, VALS, GENESIS) is None
    assert t.latest_justified == cp(1) and t.finalized == G
    # a fourth vote for the same link changes nothing more
    r3 = t.add_vote(vote(3, G, cp(1)))
    assert r3.status is VoteStatus.ACCEPTED and not r3.update.changed


def test_two_of_four_do_not_justify():
    t = tracker()
    vote_all(t, [0, 1], G, cp(1))
    assert t.latest_justified == G
    assert not t.state.is_justified(cp(1))


def test_unequal_bonds_count_stake_not_heads():
    vals = ValidatorSet([(KEYS[0].public, 700), (KEYS[1].public, 100), (KEYS[2].public, 100), (KEYS[3].public, 100)])
    t = tracker(vals=vals)
    (r,) = vote_all(t, [0], G, cp(1))
    assert r.newly_justified == (cp(1),)
    t2 = tracker(vals=vals)
    vote_all(t2, [1, 2, 3], G, cp(1))
    assert t2.latest_justified == G


def test_consecutive_justified_epochs_finalize_the_first():
    t = tracker()
    vote_all(t, [0, 1, 2], G, cp(1))
    *_, last = vote_all(t, [0, 1, 2], cp(1), cp(2))
    assert last.newly_justified == (cp(2),)
    assert last.newly_finalized == cp(1)
    assert t.finalized == cp(1) and t.latest_justified == cp(2)


def test_skipped_epoch_does_not_finalize():
    t = tracker()
    vote_all(t, [0, 1, 2], G, cp(1))
    *_, last = vote_all(t, [0, 1, 2], cp(1), cp(3))
    assert last.newly_justified == (cp(3),) and last.newly_finalized is None
    assert t.finalized == G
    *_, last = vote_all(t, [0, 1, 2], cp(3), cp(4))
    assert last.newly_finalized == cp(3)


def test_second_link_to_a_justified_target_can_still_finalize():
    t = tracker()
    vote_all(t, [0, 1, 2, 3], G, cp(1))
    # cp(2) is justified from genesis first: a skip link, no finality ...
    *_, last = vote_all(t, [0, 1, 2], G, cp(2))
    assert last.newly_justified == (cp(2),) and last.newly_finalized is None
    # ... then a peer's justification of cp(1) -> cp(2) finalizes cp(1). Two supermajority links to one
    # target share a third of the stake: those voters double-voted, and the import says so.
    res = t.import_justification(justification([0, 1, 3], cp(1), cp(2)))
    assert res.status is JustificationStatus.APPLIED
    assert res.update.finalized == cp(1) and res.update.justified == (cp(2),)
    assert {e.offender for e in res.evidence} == {KEYS[0].public, KEYS[1].public}
    assert all(e.kind == DOUBLE_VOTE and e.check(GENESIS) is None for e in res.evidence)


def test_votes_waiting_for_their_source_count_once_it_is_justified():
    t = tracker()
    vote_all(t, [0, 1, 2], cp(1), cp(2))  # cp(1) is not justified yet: counted, not applied
    assert t.latest_justified == G
    vote_all(t, [0, 1], G, cp(1))
    r = t.add_vote(vote(3, G, cp(1)))
    assert r.newly_justified == (cp(1), cp(2))
    assert r.newly_finalized == cp(1)


def test_conflicting_supermajorities_for_one_epoch_are_reported_not_applied():
    t = tracker()
    vote_all(t, [0, 1, 2], G, cp(1))
    res = t.import_justification(justification([1, 2, 3], G, cp(1, fork=1)))
    assert res.status is JustificationStatus.APPLIED
    assert res.update.conflicts and not res.update.justifications
    assert t.state.justified[1] == cp(1)
    assert {e.offender for e in res.evidence} == {KEYS[1].public, KEYS[2].public}


# --- individual vote checks -----------------------------------------------------------------------------


def test_duplicate_vote_is_reported_as_such():
    t = tracker()
    v = vote(0, G, cp(1))
    assert t.add_vote(v).status is VoteStatus.ACCEPTED
    assert t.add_vote(v).status is VoteStatus.DUPLICATE


def test_invalid_votes_are_refused():
    t = tracker()
    good = vote(0, G, cp(1))
    forged = good.replace(signature=bytes(64))
    r = t.add_vote(forged)
    assert r.status is VoteStatus.INVALID and r.reason == "bad signature"
    stranger = sign_vote(dev_keypair("eve"), GENESIS, G, cp(1))
    assert t.add_vote(stranger).status is VoteStatus.INVALID
    other_chain = sign_vote(KEYS[0], b"\x43" * 32, G, cp(1))
    assert t.add_vote(other_chain).status is VoteStatus.INVALID
    backwards = Vote(cp(2), cp(1), KEYS[0].public, bytes(64))
    assert t.add_vote(backwards).status is VoteStatus.INVALID
    far = vote(0, G, cp(9))
    r = t.add_vote(far, current_epoch=3)
    assert r.status is VoteStatus.INVALID and "too far ahead" in (r.reason or "")
    assert t.vote_count == 0
    # a forged vote does not block the real one
    assert t.add_vote(good).status is VoteStatus.ACCEPTED


def test_stale_votes_are_not_counted():
    t = tracker()
    vote_all(t, [0, 1, 2], G, cp(1))
    vote_all(t, [0, 1, 2], cp(1), cp(2))
    assert t.finalized == cp(1)
    r = t.add_vote(vote(3, G, cp(1)))
    assert r.status is VoteStatus.STALE
    r = t.add_vote(vote(3, G, cp(3)))  # source below the finalized epoch
    assert r.status is VoteStatus.STALE


def test_double_vote_is_detected_with_evidence():
    t = tracker()
    a = vote(0, G, cp(2))
    b = vote(0, G, cp(2, fork=1))
    assert t.add_vote(a).status is VoteStatus.ACCEPTED
    r = t.add_vote(b)
    assert r.status is VoteStatus.EQUIVOCATION
    assert r.evidence is not None and r.evidence.kind == DOUBLE_VOTE
    assert r.evidence.check(GENESIS) is None and r.evidence.offender == KEYS[0].public
    assert t.votes_for(G, cp(2, fork=1)) == ()  # the second vote is not counted


def test_double_vote_with_another_source_is_detected():
    t = tracker()
    t.add_vote(vote(0, G, cp(2)))
    r = t.add_vote(vote(0, cp(1), cp(2)))
    assert r.status is VoteStatus.EQUIVOCATION and r.evidence is not None and r.evidence.kind == DOUBLE_VOTE


@pytest.mark.parametrize("first, second", [((0, 3), (1, 2)), ((1, 2), (0, 3))])
def test_surround_vote_is_detected_either_order(first, second):
    t = tracker()
    assert t.add_vote(vote(0, cp(first[0]), cp(first[1]))).status is VoteStatus.ACCEPTED
    r = t.add_vote(vote(0, cp(second[0]), cp(second[1])))
    assert r.status is VoteStatus.EQUIVOCATION
    assert r.evidence is not None and r.evidence.kind == SURROUND_VOTE and r.evidence.check(GENESIS) is None
    assert r.evidence.epoch == 3


def test_surround_with_a_stale_source_is_still_caught():
    t = tracker()
    vote_all(t, [0, 1, 2], G, cp(1))
    vote_all(t, [0, 1, 2], cp(1), cp(2))
    vote_all(t, [0, 1, 2], cp(2), cp(3))
    assert t.finalized == cp(2)
    # validator 0 signs 1 -> 5 after voting 2 -> 3: the source is stale, the offence is real
    r = t.add_vote(vote(0, cp(1), cp(5)))
    assert r.status is VoteStatus.EQUIVOCATION and r.evidence is not None and r.evidence.kind == SURROUND_VOTE


def test_non_conflicting_votes_are_not_evidence():
    assert is_vote_equivocation(vote(0, G, cp(1)), vote(0, cp(1), cp(2)), GENESIS) is not None
    assert is_vote_equivocation(vote(0, G, cp(1)), vote(0, G, cp(2)), GENESIS) is not None  # same source
    assert is_vote_equivocation(vote(0, G, cp(1)), vote(1, G, cp(1, 1)), GENESIS) == (
        "the votes are by different validators"
    )
    a = vote(0, G, cp(1))
    assert is_vote_equivocation(a, a, GENESIS) == "the two votes are for the same link"
    bad = vote(0, G, cp(1, 1)).replace(signature=bytes(64))
    assert is_vote_equivocation(a, bad, GENESIS) == "vote_b has a bad signature"


def test_validator_quota_bounds_memory_and_never_refuses_the_newest_vote():
    t = tracker(max_targets_per_validator=8)
    results = [t.add_vote(vote(0, G, cp(e))).status for e in range(1, 12)]
    assert results == [VoteStatus.ACCEPTED] * 11  # before: the 9th target on was refused, and finality stalled
    assert t.vote_count == 8 and t.link_count == 8  # the three oldest are forgotten, and no longer counted
    assert t.votes_for(G, cp(1)) == () and t.votes_for(G, cp(11)) != ()


# --- justification verification --------------------------------------------------------------------------


def test_verify_justification_accepts_a_good_one():
    assert verify_justification(justification([0, 1, 2], G, cp(1)), VALS, GENESIS) is None
    assert verify_justification(justification([3, 1, 2, 0], G, cp(1)), [(k.public, 5) for k in KEYS], GENESIS) is None


def test_verify_justification_rejects_a_forged_signature():
    j = justification([0, 1, 2], G, cp(1))
    forged = j.replace(votes=(*j.votes[:2], j.votes[2].replace(signature=j.votes[1].signature)))
    assert "bad signature" in (verify_justification(forged, VALS, GENESIS) or "")
    assert "bad signature" in (verify_justification(j, VALS, b"\x43" * 32) or "")


def test_verify_justification_rejects_a_duplicated_voter():
    j = justification([0, 1, 1], G, cp(1))
    assert "counted twice" in (verify_justification(j, VALS, GENESIS) or "")


def test_verify_justification_rejects_a_vote_for_another_link():
    j = justification([0, 1], G, cp(1))
    j = j.replace(votes=(*j.votes, vote(2, G, cp(1, fork=1))))
    assert "another link" in (verify_justification(j, VALS, GENESIS) or "")
    j = justification([0, 1, 2], G, cp(1))
    assert "another link" in (verify_justification(j.replace(source=Checkpoint(0, b"\x01" * 32)), VALS, GENESIS) or "")


def test_verify_justification_rejects_an_unknown_validator():
    j = justification([0, 1, 2], G, cp(1))
    stranger = sign_vote(dev_keypair("eve"), GENESIS, G, cp(1))
    j = j.replace(votes=(*j.votes, stranger))
    assert "not in the validator set" in (verify_justification(j, VALS, GENESIS) or "")


def test_verify_justification_rejects_insufficient_stake():
    assert "below 2/3" in (verify_justification(justification([0, 1], G, cp(1)), VALS, GENESIS) or "")
    assert "below 2/3" in (verify_justification(justification([], G, cp(1)), VALS, GENESIS) or "")
    assert "no bonded stake" in (
        verify_justification(justification([0], G, cp(1)), [(KEYS[0].public, 0)], GENESIS) or ""
    )


def test_justification_round_trips():
    j = justification([0, 1, 2], G, cp(1))
    assert Justification.decode(j.encode()) == j


# --- importing justifications ------------------------------------------------------------------------------


def test_import_applies_pends_and_rejects():
    t = tracker()
    assert t.import_justification(justification([0, 1], G, cp(1))).status is JustificationStatus.INVALID
    r = t.import_justification(justification([0, 1, 2], cp(1), cp(2)))
    assert r.status is JustificationStatus.PENDING and t.pending_justifications == 1
    r = t.import_justification(justification([1, 2, 3], G, cp(1)))
    assert r.status is JustificationStatus.APPLIED
    assert r.update.justified == (cp(1), cp(2)) and r.update.finalized == cp(1)
    assert t.pending_justifications == 0
    r = t.import_justification(justification([1, 2, 3], G, cp(1)))
    assert r.status is JustificationStatus.IGNORED  # at or below finality now


def test_import_from_a_peer_tracker_reaches_the_same_state():
    a, b = tracker(), tracker()
    made = []
    for e in range(1, 6):
        for r in vote_all(a, [0, 1, 2], cp(e - 1), cp(e)):
            made.extend(r.update.justifications)
    for j in made:
        assert b.import_justification(Justification.decode(j.encode())).status is JustificationStatus.APPLIED
    assert b.state == a.state
    assert b.finalized == cp(4)


# --- memory ----------------------------------------------------------------------------------------------


def test_pruning_keeps_memory_bounded():
    t = tracker()
    for e in range(1, 201):
        vote_all(t, [0, 1, 2, 3], cp(e - 1), cp(e))
        assert t.vote_count <= 4 and t.link_count <= 1
        assert len(t.state.justified) <= 2
    assert t.finalized == cp(199) and t.latest_justified == cp(200)


def test_finality_state_round_trips_through_its_record():
    t = tracker()
    vote_all(t, [0, 1, 2], G, cp(1))
    vote_all(t, [0, 1, 2], cp(1), cp(3))
    record = FinalityRecord.decode(t.state.to_record().encode())
    restored = FinalityState.from_record(record)
    assert restored == t.state
    t2 = tracker(restored)
    *_, last = vote_all(t2, [0, 1, 2], cp(3), cp(4))
    assert last.newly_finalized == cp(3)


def test_a_link_whose_source_is_off_its_targets_chain_never_counts():
    """Attack 1's link: every validator signs from a justified checkpoint that is not an ancestor of the target (fork
    1's epoch-2 checkpoint -> the main chain's epoch-3 one). Before, the tracker counted it; now it is kept only to
    catch double and surround votes, and nothing is justified or finalized by it."""
    t = tracker()
    vote_all(t, [0, 1, 2], G, cp(1))
    vote_all(t, [0, 1, 2], cp(1), cp(2, fork=1))
    off = cp(2, fork=1)
    assert t.state.is_justified(off) and t.finalized == cp(1)
    results = [t.add_vote(vote(i, off, cp(3))) for i in range(4)]
    assert {r.status for r in results} == {VoteStatus.OFF_CHAIN}
    assert not any(r.update.changed for r in results)
    assert not t.state.is_justified(cp(3)) and t.votes_for(off, cp(3)) == ()
    # the same votes as a peer's justification: refused as garbage (no honest tracker forms one)
    res = t.import_justification(justification([0, 1, 2, 3], off, cp(3)))
    assert res.status is JustificationStatus.INVALID and "not the checkpoint of its epoch" in (res.reason or "")
    # off-chain votes still count as signed: a later vote of the same target epoch is a double vote
    r = t.add_vote(vote(0, cp(1), cp(3)))
    assert r.status is VoteStatus.EQUIVOCATION and r.evidence is not None and r.evidence.kind == DOUBLE_VOTE


def test_a_link_from_a_justified_ancestor_counts_across_skipped_epochs():
    t = tracker()
    vote_all(t, [0, 1, 2], G, cp(1, fork=5))
    *_, last = vote_all(t, [0, 1, 3], cp(1, fork=5), cp(4, fork=5))
    assert last.newly_justified == (cp(4, fork=5),) and last.newly_finalized is None


def test_justified_checkpoints_off_the_new_finality_leave_and_the_fork_that_finalizes_one_raises_the_alarm():
    """Validators 0, 1 and 2 (3/4 of the stake) vote for fork x and fork y alike. This tracker finalizes y's epoch-1
    checkpoint, then sees x's epoch-2 checkpoint finalized: the alarm is raised once, finality stops, and the evidence
    names the double voters (>= 1/3 of the stake)."""
    t = tracker()
    x2, x3, y1, y2 = cp(2, "x"), cp(3, "x"), cp(1, "y"), cp(2, "y")
    vote_all(t, [0, 1, 2], G, x2)
    vote_all(t, [0, 1, 2], G, y1)
    results = [t.add_vote(vote(i, y1, y2)) for i in (0, 1, 2)]  # double votes at target epoch 2
    assert {r.status for r in results} == {VoteStatus.EQUIVOCATION}
    t.import_justification(justification([0, 1, 2], y1, y2))
    assert t.finalized == y1 and not t.state.is_justified(x2), "x2 does not descend from the finalized checkpoint"
    assert not t.halted
    res = t.import_justification(justification([1, 2, 3], x2, x3))
    assert res.status is JustificationStatus.CONFLICTING  # it leaves our finalized chain: weighed, never applied
    alarm = res.update.alarm
    assert alarm is not None and t.halted and t.conflict == alarm
    assert (alarm.finalized, alarm.conflicting) == (y1, x2)
    offenders = alarm.offenders()
    assert set(offenders) == {KEYS[i].public for i in (0, 1, 2)}
    assert VALS.stake_of(offenders) * 3 >= VALS.total
    assert all(e.check(GENESIS) is None for e in offenders.values())
    # finality stays where it was, whatever comes next
    t.import_justification(justification([0, 1, 2], y1, cp(3, "y")))
    t.import_justification(justification([0, 1, 2], cp(3, "y"), cp(4, "y")))
    assert t.finalized == y1 and t.state.is_justified(cp(4, "y"))
    assert FinalityConflict.decode(alarm.encode()) == alarm


FORK_LINKS = [
    (cp(s, f), cp(t, g))
    for f in (0, "p", "q") for g in (0, "p", "q") for s in range(0, 4) for t in range(s + 1, 5)
    if FORKS.is_on_chain(cp(s, f), cp(t, g))
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(FORK_LINKS) - 1), st.integers(1, 15), st.booleans()), max_size=40))
def test_finality_moves_only_to_descendants_whatever_the_votes(picks):
    """Votes of any validators for links on three forks, in any order, one by one or as a peer's justification,
    double and surround votes included: each checkpoint the tracker finalizes descends from the one before, every
    justified checkpoint it keeps descends from the finalized one, and an alarm names validators holding a third of
    the stake."""
    t = tracker()
    previous = t.finalized
    for link, voters, bundled in picks:
        who = [i for i in range(4) if voters >> i & 1]
        if bundled:
            updates = [t.import_justification(justification(who, *FORK_LINKS[link])).update]
        else:
            updates = [t.add_vote(vote(i, *FORK_LINKS[link])).update for i in who]
        for update in updates:
            if update.alarm is not None:
                assert VALS.stake_of(update.alarm.offenders()) * 3 >= VALS.total
        fin = t.finalized
        assert FORKS.is_on_chain(previous, fin), (previous, fin)
        assert all(FORKS.is_on_chain(fin, j) for j in t.state.justified.values())
        previous = fin


# --- property: finality never goes back ------------------------------------------------------------------

def _pool() -> list[Vote]:
    """Honest votes (previous epoch -> epoch) weighted heavily, plus skip votes on the same chain and votes
    for a rival fork: random orders justify and finalize often, and equivocate too."""
    honest = [vote(i, cp(t - 1), cp(t)) for i in range(4) for t in range(1, 6)]
    skips = [vote(i, cp(s), cp(t)) for i in range(4) for s in range(4) for t in range(s + 2, 6)]
    rival = [vote(i, cp(t - 1), cp(t, 1)) for i in range(4) for t in range(1, 6)]
    return honest * 8 + skips + rival


POOL = _pool()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, len(POOL) - 1), max_size=120), st.integers(0, 3))
def test_finalized_epoch_never_decreases_under_random_votes(picks, j_every):
    t = tracker()
    last = t.finalized.epoch
    for n, i in enumerate(picks):
        r = t.add_vote(POOL[i])
        if j_every and n % (j_every + 3) == 0 and r.update.justifications:
            # re-importing produced justifications never moves anything back either
            t.import_justification(r.update.justifications[-1])
        fin = t.finalized
        assert fin.epoch >= last
        assert t.state.is_justified(fin)
        assert t.latest_justified.epoch >= fin.epoch
        assert all(e >= fin.epoch for e in t.state.justified)
        last = fin.epoch


HONEST = [vote(i, cp(e - 1), cp(e)) for i in range(4) for e in range(1, 7)]


@settings(max_examples=60, deadline=None)
@given(st.permutations(HONEST))
def test_honest_votes_finalize_the_same_whatever_their_order(order):
    t = tracker()
    finalized = []
    for v in order:
        r = t.add_vote(v)
        assert r.status in (VoteStatus.ACCEPTED, VoteStatus.STALE)
        if r.newly_finalized is not None:
            finalized.append(r.newly_finalized.epoch)
    assert t.finalized == cp(5) and t.latest_justified == cp(6)
    assert finalized == sorted(finalized)


# --- checkpoints on a chain --------------------------------------------------------------------------------


def make_chain(slots: list[int]) -> list[Header]:
    headers: list[Header] = []
    parent = bytes(32)
    for n, slot in enumerate(slots):
        h = Header(parent, n, slot, slot * 1000, bytes(32), EMPTY_MERKLE_ROOT, EMPTY_MERKLE_ROOT, bytes(32), Digest())
        headers.append(h)
        parent = h.hash()
    return headers


def test_checkpoint_for_epoch_picks_the_last_block_before_the_boundary():
    chain = make_chain([0, 1, 2, 5, 9, 10, 11, 25, 40])

    def at(n):
        return chain[n] if 0 <= n < len(chain) else None

    def check(epoch):
        return checkpoint_for_epoch(epoch, at, len(chain) - 1, epoch_slots=10)

    assert check(0) == Checkpoint(0, chain[0].hash())
    assert check(1) == Checkpoint(1, chain[4].hash())  # slot 9
    assert check(2) == Checkpoint(2, chain[6].hash())  # slot 11
    assert check(3) == Checkpoint(3, chain[7].hash())  # slot 25 (epoch 2 had no more blocks)
    assert check(4) == Checkpoint(4, chain[7].hash())  # epoch 3 was empty: the same block again
    with pytest.raises(LookupError):
        checkpoint_for_epoch(3, lambda n: None, 8, epoch_slots=10)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 7), min_size=0, max_size=40), st.integers(1, 6), st.integers(0, 60))
def test_checkpoint_for_epoch_matches_a_linear_scan(gaps, epoch_slots, epoch):
    slots = [0]
    for g in gaps:
        slots.append(slots[-1] + g)
    chain = make_chain(slots)
    got = checkpoint_for_epoch(epoch, lambda n: chain[n], len(chain) - 1, epoch_slots=epoch_slots)
    if epoch == 0:
        expected = chain[0]
    else:
        expected = [h for h in chain if h.slot < epoch * epoch_slots][-1]
    assert got == Checkpoint(epoch, expected.hash())
