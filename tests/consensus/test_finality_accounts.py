"""Issue 49, findings 1 and 4, on the tracker alone: offences are an account's, whichever key signed them, and the alarm
fires whenever a checkpoint conflicting with ours is finalized, at any height.

Finding 1: a coalition rotated its session keys on one fork only (`session.set_keys` is a transaction a fork may
carry or not), so that fork's sets hold the new keys and the other fork's the old ones, and voted on both; every pair
was refused as "by different validators". Finding 4: a node never weighed links whose target was at or below its own
finalized block, so after finality had forked neither side raised the alarm. Each test runs the attack and asserts
that it fails."""

from __future__ import annotations

from btt_chain.consensus.finality import JustificationStatus, VoteStatus, VoteTracker
from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.vote import Checkpoint, Justification, sign_vote
from tests.support.labelled_forks import ForkView, LabelledForks

GENESIS = b"\x50" * 32
OLD = [dev_keypair(n) for n in ("alice", "bob", "charlie", "dave")]
NEW = [Keypair(blake2b_256(b"rotated/%d" % i)) for i in range(4)]
ACCOUNTS = [blake2b_256(b"stash/%d" % i) for i in range(4)]
FORKS = LabelledForks(GENESIS)
G = Checkpoint(0, GENESIS)


def cp(epoch: int, fork: str = "") -> Checkpoint:
    return FORKS.cp(epoch, fork)


def keyset(keys: list[Keypair]) -> ValidatorSet:
    return ValidatorSet([(k.public, 100, ACCOUNTS[i]) for i, k in enumerate(keys)])


OLD_SET, NEW_SET = keyset(OLD), keyset(NEW)


def sets_by_fork(target: Checkpoint) -> ValidatorSet | None:
    """Fork "r" carried the coalition's rotation: its checkpoints from epoch 2 on are voted by the new keys."""
    epoch, fork = FORKS.labels.get(target, (None, None))
    if epoch is None:
        return None
    return NEW_SET if fork == "r" and epoch >= 2 else OLD_SET


def main_only(target: Checkpoint) -> ValidatorSet | None:
    """A node on the main chain: it executes no fork that conflicts with its finality, so it can weigh no fork's target
    by the fork's own set."""
    label = FORKS.labels.get(target)
    return OLD_SET if label is not None and label[1] == "" else None


def justification(keys: list[Keypair], source: Checkpoint, target: Checkpoint) -> Justification:
    votes = sorted((sign_vote(k, GENESIS, source, target) for k in keys), key=lambda v: v.validator)
    return Justification(target, source, tuple(votes))


# --- finding 1: one offence per account, whatever keys ---------------------------------------------------------


def test_a_double_vote_across_the_old_and_the_new_key_is_evidence() -> None:
    t = VoteTracker(GENESIS, ForkView(FORKS, sets_by_fork))
    assert t.add_vote(sign_vote(OLD[0], GENESIS, G, cp(2))).status is VoteStatus.ACCEPTED
    r = t.add_vote(sign_vote(NEW[0], GENESIS, G, cp(2, "r")))
    assert r.status is VoteStatus.EQUIVOCATION and r.evidence is not None
    assert {r.evidence.vote_a.validator, r.evidence.vote_b.validator} == {OLD[0].public, NEW[0].public}
    assert r.evidence.kind == "double_vote"


def test_a_surround_across_keys_is_evidence_in_either_order() -> None:
    for first, second in (((OLD[1], G, cp(3)), (NEW[1], cp(1, "r"), cp(2, "r"))),
                          ((NEW[1], cp(1, "r"), cp(2, "r")), (OLD[1], G, cp(3)))):
        t = VoteTracker(GENESIS, ForkView(FORKS, sets_by_fork))
        t.add_vote(sign_vote(first[0], GENESIS, first[1], first[2]))
        r = t.add_vote(sign_vote(second[0], GENESIS, second[1], second[2]))
        assert r.status is VoteStatus.EQUIVOCATION and r.evidence is not None and r.evidence.kind == "surround_vote"


def test_two_accounts_voting_on_two_forks_are_no_offence() -> None:
    t = VoteTracker(GENESIS, ForkView(FORKS, sets_by_fork))
    assert t.add_vote(sign_vote(OLD[0], GENESIS, G, cp(2))).status is VoteStatus.ACCEPTED
    assert t.add_vote(sign_vote(NEW[1], GENESIS, G, cp(2, "r"))).status is VoteStatus.ACCEPTED


def test_a_key_seen_in_no_set_is_placed_by_its_authorization() -> None:
    """A node that never executed fork r knows the new key only from its authorization (the account's signed
    set_keys, in any block or fetched from a peer): the pair is then still one account's."""
    view = ForkView(FORKS, lambda c: OLD_SET if FORKS.labels.get(c, (0, ""))[1] != "r" else None)
    t = VoteTracker(GENESIS, view)
    t.add_vote(sign_vote(OLD[2], GENESIS, G, cp(2)))
    assert t.owner_of(NEW[2].public) == NEW[2].public  # unknown: the key stands for itself
    view.authorized[NEW[2].public] = ACCOUNTS[2]
    assert t.owner_of(NEW[2].public) == ACCOUNTS[2]


# --- finding 4: the alarm at any height -------------------------------------------------------------------------


def finalize_main(t: VoteTracker, upto: int) -> None:
    for e in range(1, upto + 1):
        r = t.import_justification(justification(OLD[:3], cp(e - 1) if e > 1 else G, cp(e)))
        assert r.status is JustificationStatus.APPLIED, r
    assert t.finalized == cp(upto - 1)


def test_a_conflicting_finalization_below_our_finalized_height_raises_the_alarm() -> None:
    view = ForkView(FORKS, main_only)
    view.own = [justification(OLD[:3], cp(e - 1) if e > 1 else G, cp(e)) for e in range(1, 7)]
    t = VoteTracker(GENESIS, view)
    finalize_main(t, 6)  # finalized: epoch 5 of the main chain
    # the other side: bob, charlie and dave justified x2 and x3 on fork x and finalized x2 (its epoch is below ours)
    r1 = t.import_justification(justification(OLD[1:], cp(1), cp(2, "x")))
    assert r1.status is JustificationStatus.CONFLICTING and r1.update.alarm is None
    r2 = t.import_justification(justification(OLD[1:], cp(2, "x"), cp(3, "x")))
    assert r2.status is JustificationStatus.CONFLICTING and r2.update.alarm is not None
    alarm = r2.update.alarm
    assert t.halted and alarm.finalized == cp(5) and alarm.conflicting == cp(2, "x")
    # the votes behind both sides convict bob and charlie (double votes at epochs 2 and 3): half the stake
    assert set(alarm.offenders()) == {ACCOUNTS[1], ACCOUNTS[2]}
    # finality stops here for good
    j = justification(OLD[:3], cp(6), cp(7))
    assert t.import_justification(j).update.finalized is None and t.finalized == cp(5)


def test_votes_alone_raise_the_alarm_too() -> None:
    view = ForkView(FORKS, main_only)
    view.own = [justification(OLD[:3], cp(e - 1) if e > 1 else G, cp(e)) for e in range(1, 7)]
    t = VoteTracker(GENESIS, view)
    finalize_main(t, 6)
    statuses = [t.add_vote(sign_vote(k, GENESIS, cp(1), cp(2, "x"))).status for k in OLD[1:]]
    statuses += [t.add_vote(sign_vote(k, GENESIS, cp(2, "x"), cp(3, "x"))).status for k in OLD[1:]]
    assert statuses == [VoteStatus.CONFLICTING] * 6  # kept as evidence, never counted toward our chain
    assert t.halted and t.conflict is not None and t.conflict.conflicting == cp(2, "x")
    # bob and charlie voted main's link into epoch 2 too: the alarm's evidence convicts them
    assert set(t.conflict.offenders()) == {ACCOUNTS[1], ACCOUNTS[2]}


def test_a_conflicting_justification_of_a_minority_is_kept_from_raising_the_alarm() -> None:
    t = VoteTracker(GENESIS, ForkView(FORKS, main_only))
    finalize_main(t, 6)
    r = t.import_justification(justification(OLD[2:], cp(1), cp(2, "x")))  # half the stake: not 2/3
    assert r.status is JustificationStatus.IGNORED and "2/3" in (r.reason or "")
    r = t.import_justification(justification(OLD[2:], cp(2, "x"), cp(3, "x")))
    assert r.status is not JustificationStatus.CONFLICTING and not t.halted


def test_a_forged_conflicting_justification_is_refused() -> None:
    t = VoteTracker(GENESIS, ForkView(FORKS, main_only))
    finalize_main(t, 6)
    j = justification(OLD[1:], cp(1), cp(2, "x"))
    forged = j.replace(votes=(*j.votes[:2], j.votes[2].replace(signature=j.votes[1].signature)))
    assert t.import_justification(forged).status is JustificationStatus.INVALID
    assert not t.halted


def test_a_conflict_signed_with_rotated_keys_raises_the_alarm_once_the_keys_are_placed() -> None:
    """The coalition (bob and charlie) voted fork x with new keys that no set on our chain names: unplaced, their votes
    weigh nothing here and no alarm can be raised; their authorizations place them, and the alarm convicts both
    accounts (each double-voted epoch 2 with its old key on our chain and its new key on fork x)."""
    rotated = [NEW[1], NEW[2], OLD[3]]
    main = [justification(OLD[:3], cp(e - 1) if e > 1 else G, cp(e)) for e in range(1, 7)]
    view = ForkView(FORKS, main_only)
    view.own = main
    t = VoteTracker(GENESIS, view)
    finalize_main(t, 6)
    assert t.import_justification(justification(rotated, cp(1), cp(2, "x"))).status is JustificationStatus.IGNORED
    view.authorized.update({NEW[1].public: ACCOUNTS[1], NEW[2].public: ACCOUNTS[2]})
    t = VoteTracker(GENESIS, view)
    finalize_main(t, 6)
    assert t.import_justification(justification(rotated, cp(1), cp(2, "x"))).status is JustificationStatus.CONFLICTING
    alarm = t.import_justification(justification(rotated, cp(2, "x"), cp(3, "x"))).update.alarm
    assert alarm is not None and alarm.conflicting == cp(2, "x")
    assert set(alarm.offenders()) == {ACCOUNTS[1], ACCOUNTS[2]}
    pair = alarm.offenders()[ACCOUNTS[1]]
    assert {pair.vote_a.validator, pair.vote_b.validator} == {OLD[1].public, NEW[1].public}
