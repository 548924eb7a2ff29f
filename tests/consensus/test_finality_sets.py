"""Finality by the right validator set: every vote and justification for a target checkpoint of epoch e
counts against the set active in epoch e on the target's own chain (the tracker's resolver), never the set
at somebody's head. Each test is an attack that must fail: votes of validators that left, justifications
that carry 2/3 of the wrong set, a cascade weighed by the wrong link's set, trackers on different forks
that would disagree, and votes for blocks not executed yet."""

from __future__ import annotations

from btt_chain.consensus.finality import (
    JustificationStatus,
    VoteStatus,
    VoteTracker,
    verify_justification,
)
from btt_chain.consensus.validator_set import ValidatorSet, has_supermajority
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint, Justification, Vote, sign_vote
from tests.support.labelled_forks import ForkView, LabelledForks

GENESIS = b"\x42" * 32
NAMES = ("alice", "bob", "charlie", "dave", "eve", "ferdie")
KEYS = [dev_keypair(n) for n in NAMES]
G = Checkpoint(0, GENESIS)
FORKS = LabelledForks(GENESIS)


def cp(epoch: int, fork: str = "") -> Checkpoint:
    return FORKS.cp(epoch, fork)


def vset(*members: int, bond: int = 100) -> ValidatorSet:
    return ValidatorSet([(KEYS[i].public, bond) for i in members])


def vote(i: int, source: Checkpoint, target: Checkpoint) -> Vote:
    return sign_vote(KEYS[i], GENESIS, source, target)


def justification(voters, source: Checkpoint, target: Checkpoint) -> Justification:  # type: ignore[no-untyped-def]
    votes = sorted((vote(i, source, target) for i in voters), key=lambda v: v.validator)
    return Justification(target, source, tuple(votes))


class Records(ForkView):
    """What a node's chain database knows: target checkpoint -> the set its block's state queued. Tests add
    targets as blocks 'execute'; the view answers None for the others."""

    def __init__(self, sets: dict[Checkpoint, ValidatorSet]) -> None:
        super().__init__(FORKS, dict(sets))

    @property
    def records(self) -> dict[Checkpoint, ValidatorSet]:
        assert isinstance(self.sets, dict)
        return self.sets


def tracker(sets: dict[Checkpoint, ValidatorSet] | Records, **kwargs) -> VoteTracker:  # type: ignore[no-untyped-def]
    records = sets if isinstance(sets, Records) else Records(sets)
    return VoteTracker(GENESIS, records, **kwargs)


def statuses(t: VoteTracker, voters, source: Checkpoint, target: Checkpoint) -> list[VoteStatus]:  # type: ignore[no-untyped-def]
    return [t.add_vote(vote(i, source, target)).status for i in voters]


# epoch 1 is voted on by alice, bob, charlie and dave; at epoch 2 alice and bob have left, eve and ferdie joined
S1 = vset(0, 1, 2, 3)
S2 = vset(2, 3, 4, 5)
CHAIN = {G: S1, cp(1): S1, cp(2): S2, cp(3): S2}


# --- the target's set, not the head's ---------------------------------------------------------------------


def test_votes_count_against_the_target_epochs_set() -> None:
    t = tracker(CHAIN)
    assert statuses(t, [0, 1, 2], G, cp(1)) == [VoteStatus.ACCEPTED] * 3
    assert t.latest_justified == cp(1)
    # the same three voters for epoch 2: alice and bob are no longer in its set
    assert statuses(t, [0, 1, 2], cp(1), cp(2)) == [VoteStatus.INVALID, VoteStatus.INVALID, VoteStatus.ACCEPTED]
    assert not t.state.is_justified(cp(2))
    assert [v.validator for v in t.votes_for(cp(1), cp(2))] == [KEYS[2].public]
    # 3 of the 4 members of epoch 2's set justify it
    assert statuses(t, [3, 4], cp(1), cp(2)) == [VoteStatus.ACCEPTED] * 2
    assert t.state.is_justified(cp(2)) and t.finalized == cp(1)


def test_votes_of_validators_that_left_never_count_toward_a_later_target() -> None:
    t = tracker(CHAIN)
    statuses(t, [0, 1, 2], G, cp(1))
    for target in (cp(2), cp(3)):
        results = [t.add_vote(vote(i, cp(1), target)) for i in (0, 1)]
        assert all(r.status is VoteStatus.INVALID and "not in the validator set" in (r.reason or "")
                   for r in results), results
        assert t.votes_for(cp(1), target) == ()
    # with them, two members of the set hold 1/2 of its stake: nothing is justified
    statuses(t, [2, 3], cp(1), cp(2))
    assert not t.state.is_justified(cp(2))
    # a justification that lists the leavers beside the two members is refused outright
    j = justification([0, 1, 2, 3], cp(1), cp(2))
    r = t.import_justification(j)
    assert r.status is JustificationStatus.INVALID and "not in the validator set" in (r.reason or "")
    assert not t.state.is_justified(cp(2)) and t.finalized == G


def test_a_justification_of_two_thirds_of_the_head_set_but_not_of_the_target_set_is_refused() -> None:
    head = vset(2, 3, 4)  # some head's set: charlie, dave, eve
    target_set = vset(0, 1, 2, 3)  # the set of epoch 1 on the target's chain
    j = justification([2, 3], G, cp(1))  # 2 of 3 of the head's set, 2 of 4 of the target's
    assert verify_justification(j, head, GENESIS) is None, "the attack: it would pass against the head's set"
    assert "below 2/3" in (verify_justification(j, target_set, GENESIS) or "")
    t = tracker({cp(1): target_set})
    r = t.import_justification(j)
    assert r.status is JustificationStatus.INVALID and "below 2/3" in (r.reason or "")
    assert not t.state.is_justified(cp(1))


def test_a_justification_of_two_thirds_of_the_target_set_is_accepted_whatever_the_head_set() -> None:
    head = vset(2, 3, 4)
    target_set = vset(0, 1, 2, 3)
    j = justification([0, 1, 2], G, cp(1))
    assert verify_justification(j, head, GENESIS) is not None  # the head's set would wrongly refuse it
    assert verify_justification(j, target_set, GENESIS) is None
    t = tracker({cp(1): target_set})
    assert t.import_justification(j).status is JustificationStatus.APPLIED
    assert t.latest_justified == cp(1)


def test_unequal_bonds_of_the_target_set_decide() -> None:
    # eve holds most of epoch 2's stake: she and one other justify it, three small members do not
    heavy = ValidatorSet([(KEYS[2].public, 100), (KEYS[3].public, 100), (KEYS[5].public, 100),
                          (KEYS[4].public, 700)])
    t = tracker({cp(1): S1, cp(2): heavy})
    statuses(t, [0, 1, 2], G, cp(1))
    statuses(t, [2, 3, 5], cp(1), cp(2))
    assert not t.state.is_justified(cp(2))
    statuses(t, [4], cp(1), cp(2))
    assert t.state.is_justified(cp(2))


def test_a_cascade_weighs_each_link_by_its_own_target_set() -> None:
    """Votes for cp(1) -> cp(2) arrive before cp(1) is justified; when it is, the waiting link must be
    weighed by epoch 2's set (where its voters are all there is), not by epoch 1's (where eve and ferdie
    are nobody)."""
    s2 = vset(3, 4, 5)
    t = tracker({cp(1): S1, cp(2): s2})
    assert statuses(t, [3, 4, 5], cp(1), cp(2)) == [VoteStatus.ACCEPTED] * 3
    assert not t.state.is_justified(cp(2))  # its source is not justified yet
    assert not has_supermajority(S1.stake_of([KEYS[i].public for i in (3, 4, 5)]), S1.total)
    *_, last = [t.add_vote(vote(i, G, cp(1))) for i in (0, 1, 2)]
    assert last.newly_justified == (cp(1), cp(2))
    assert last.newly_finalized == cp(1)


def test_a_pending_justification_is_applied_against_its_own_target_set() -> None:
    s2 = vset(3, 4, 5)
    t = tracker({cp(1): S1, cp(2): s2})
    assert t.import_justification(justification([3, 4, 5], cp(1), cp(2))).status is JustificationStatus.PENDING
    r = t.import_justification(justification([0, 1, 2], G, cp(1)))
    assert r.status is JustificationStatus.APPLIED
    assert r.update.justified == (cp(1), cp(2)) and r.update.finalized == cp(1)


# --- trackers on different forks ----------------------------------------------------------------------------


def test_trackers_on_different_forks_agree() -> None:
    """Fork A queued a set without eve and ferdie, fork B one with them. Node X has executed only fork A,
    node Y only fork B; both see every vote, in different orders. Each counts only what it can weigh by the
    target's own set, holds the rest, and once both know both forks they hold the same finality state.
    Weighed by their heads' sets instead, X would refuse fork B's votes for good and Y fork A's."""
    sa, sb = vset(0, 1, 2, 3), vset(2, 3, 4, 5)
    a2, b2 = cp(2, "a"), cp(2, "b")
    x_records = Records({cp(1): S1, a2: sa})
    y_records = Records({cp(1): S1, b2: sb})
    x, y = tracker(x_records), tracker(y_records)
    votes = (
        [vote(i, G, cp(1)) for i in (0, 1, 2, 3)]
        + [vote(i, cp(1), a2) for i in (0, 1, 2)]  # fork A: 3 of 4 of its set
        + [vote(i, cp(1), b2) for i in (4, 5)]  # fork B: 2 of 4 of its set
    )
    x_statuses = [x.add_vote(v).status for v in votes]
    y_statuses = [y.add_vote(v).status for v in reversed(votes)]
    assert VoteStatus.INVALID not in x_statuses + y_statuses, "a vote for an unknown target is held, not refused"
    assert (x.unresolved_votes, y.unresolved_votes) == (2, 3)
    assert x.finalized == cp(1) and x.state.is_justified(a2)
    assert y.finalized == G and not y.state.is_justified(a2)
    assert sb.stake_of(v.validator for v in votes if v.target == a2) * 3 < 2 * sb.total, (
        "weighed by Y's head set (fork B's), fork A's votes would never justify a2")
    # each learns the other fork (executes its blocks) and retries what it held
    x_records.records[b2] = sb
    y_records.records[a2] = sa
    assert not x.retry_unresolved().update.changed
    assert y.retry_unresolved().update.finalized == cp(1)
    assert x.state.to_record() == y.state.to_record()
    for link in ((cp(1), a2), (cp(1), b2)):
        assert set(x.votes_for(*link)) == set(y.votes_for(*link)) != set(), link
    assert x.unresolved_votes == y.unresolved_votes == 0


# --- targets whose set is not known yet ---------------------------------------------------------------------


def test_votes_for_a_target_not_executed_yet_wait_and_are_not_blamed() -> None:
    records = Records({cp(1): S1})
    t = tracker(records)
    statuses(t, [0, 1, 2], G, cp(1))
    held = [t.add_vote(vote(i, cp(1), cp(2))) for i in (2, 3, 4)]
    assert [r.status for r in held] == [VoteStatus.UNRESOLVED] * 3
    assert t.link_count == 1 and t.votes_for(cp(1), cp(2)) == ()  # nothing counted yet
    assert t.add_vote(vote(2, cp(1), cp(2))).status is VoteStatus.DUPLICATE
    forged = Vote(cp(1), cp(2), KEYS[1].public, vote(4, cp(1), cp(2)).signature)
    assert t.add_vote(forged).status is VoteStatus.INVALID, "a known validator's held vote needs a good signature now"
    # a key no set here holds yet: held unchecked (a made-up key's vote costs no signature check), checked once the
    # target's set is known, members first
    forged_stranger = Vote(cp(1), cp(2), KEYS[5].public, vote(4, cp(1), cp(2)).signature)
    assert t.add_vote(forged_stranger).status is VoteStatus.UNRESOLVED
    stranger = sign_vote(dev_keypair("mallory"), GENESIS, cp(1), cp(2))
    assert t.add_vote(stranger).status is VoteStatus.UNRESOLVED
    assert t.unresolved_votes == 5
    # the target block executes: the held votes count against its set, the stranger's is refused then
    records.records[cp(2)] = S2
    retry = t.retry_unresolved()
    by_voter = {v.validator: r.status for v, r in retry.votes}
    assert by_voter[stranger.validator] is VoteStatus.INVALID  # not in the target's set
    assert by_voter[KEYS[5].public] is VoteStatus.INVALID  # in it, with another's signature
    assert [by_voter[KEYS[i].public] for i in (2, 3, 4)] == [VoteStatus.ACCEPTED] * 3
    assert retry.update.justified == (cp(2),) and retry.update.finalized == cp(1)
    assert t.unresolved_votes == 0


def test_held_votes_are_bounded_and_a_flood_of_strangers_cannot_push_out_known_validators() -> None:
    records = Records({cp(1): S1})
    t = tracker(records, max_unresolved_votes=8, max_unresolved_per_validator=2)
    statuses(t, [0, 1, 2], G, cp(1))
    # eve is a newcomer: in no set this tracker knows yet, so her vote waits among the strangers' ...
    assert t.add_vote(vote(4, cp(1), cp(2))).status is VoteStatus.UNRESOLVED
    # ... which a flood of votes by fresh keys (they cost nothing) pushes out, oldest first
    for i in range(50):
        spam = sign_vote(dev_keypair(f"spam{i}"), GENESIS, cp(1), cp(2, f"junk{i}"))
        assert t.add_vote(spam).status is VoteStatus.UNRESOLVED
    # votes of known validators wait in their own buffer, at most two per validator
    assert [t.add_vote(vote(i, cp(1), cp(2))).status for i in (2, 3)] == [VoteStatus.UNRESOLVED] * 2
    for fork in ("x", "y"):
        t.add_vote(sign_vote(KEYS[2], GENESIS, cp(1), cp(2, fork)))
    assert t.unresolved_votes == 2 + 2 + 1  # the strangers' buffer (8 // 4), charlie's two, dave's one
    for i in range(50):  # more spam changes nothing for them
        t.add_vote(sign_vote(dev_keypair(f"more{i}"), GENESIS, cp(1), cp(2, f"junk{i}")))
    records.records[cp(2)] = S2
    retry = t.retry_unresolved()
    counted = {v.validator for v, r in retry.votes if r.status is VoteStatus.ACCEPTED}
    assert counted == {KEYS[2].public, KEYS[3].public}
    assert not t.state.is_justified(cp(2))  # eve's vote was pushed out: 2 of 4
    # a peer's justification brings what was dropped
    assert t.import_justification(justification([2, 3, 4], cp(1), cp(2))).status is JustificationStatus.APPLIED
    assert t.finalized == cp(1)


def test_a_justification_for_a_target_not_executed_yet_waits_then_is_verified() -> None:
    records = Records({cp(1): S1})
    t = tracker(records)
    statuses(t, [0, 1, 2], G, cp(1))
    good = justification([2, 3, 4], cp(1), cp(2))
    bad = justification([0, 1, 2], cp(1), cp(3))  # alice and bob left before epoch 3
    assert t.import_justification(good).status is JustificationStatus.UNRESOLVED
    assert t.import_justification(bad).status is JustificationStatus.UNRESOLVED
    assert t.unresolved_justifications == 2 and not t.state.is_justified(cp(2))
    calls = records.calls
    assert t.retry_unresolved().justifications == ()
    assert records.calls == calls + 2, "one resolver call per unknown target and round"
    records.records.update({cp(2): S2, cp(3): S2})
    retry = t.retry_unresolved()
    results = {j.target: r for j, r in retry.justifications}
    assert results[cp(2)].status is JustificationStatus.APPLIED
    assert results[cp(3)].status is JustificationStatus.INVALID
    assert t.finalized == cp(1) and t.unresolved_justifications == 0


def test_held_votes_are_checked_for_equivocation_once_counted() -> None:
    records = Records({cp(1): S1})
    t = tracker(records)
    statuses(t, [0, 1, 2], G, cp(1))
    assert t.add_vote(vote(3, cp(1), cp(2))).status is VoteStatus.UNRESOLVED
    other = sign_vote(KEYS[3], GENESIS, cp(1), cp(2, "other"))
    assert t.add_vote(other).status is VoteStatus.UNRESOLVED
    records.records.update({cp(2): S2, cp(2, "other"): S2})
    retry = t.retry_unresolved()
    assert len(retry.evidence) == 1 and retry.evidence[0].offender == KEYS[3].public


def test_a_recorded_set_round_trips_and_equal_sets_share_one_record() -> None:
    s = ValidatorSet([(KEYS[1].public, 5), (KEYS[0].public, 7)])
    raw = s.encode()
    assert ValidatorSet.decode(raw) == s
    assert ValidatorSet([(KEYS[0].public, 7), (KEYS[1].public, 5)]).encode() == raw  # order does not matter
    assert s.fingerprint == blake2b_256(raw)
    assert ValidatorSet([(KEYS[0].public, 7), (KEYS[1].public, 6)]).encode() != raw
