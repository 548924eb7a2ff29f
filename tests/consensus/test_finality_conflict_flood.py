"""Votes for a link that leaves our finalized chain (`VoteStatus.CONFLICTING`) are kept only when they weigh: one vote
per account with stake in the set that weighs the link, summed as they come.

Before, anybody could flood the tracker with votes by made-up keys for a made-up checkpoint at our finalized epoch:
every one was kept under its key (the keys of a link were unbounded) and re-weighed the whole link (quadratic CPU), and
the sender was never blamed. Each test runs the attack and asserts that it fails; the alarm a real conflicting
finalization raises still fires after the flood."""

from __future__ import annotations

from collections.abc import Callable

from btt_chain.consensus.finality import VoteStatus, VoteTracker
from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.vote import Checkpoint, Justification, sign_vote
from tests.consensus.test_finality_accounts import (
    ACCOUNTS,
    FORKS,
    GENESIS,
    OLD,
    cp,
    finalize_main,
    justification,
    main_only,
)
from tests.support.labelled_forks import ForkView

G = Checkpoint(0, GENESIS)
MADE_UP = Checkpoint(5, blake2b_256(b"no such block"))
"""A checkpoint at our finalized epoch that is not ours: a link to it leaves our finalized chain."""


def finalized_tracker() -> tuple[VoteTracker, ForkView]:
    view = ForkView(FORKS, main_only)
    view.own = [justification(OLD[:3], cp(e - 1), cp(e)) for e in range(1, 7)]  # our side's evidence
    t = VoteTracker(GENESIS, view)
    finalize_main(t, 6)  # finalized: epoch 5 of the main chain
    return t, view


def key(n: int, tag: bytes = b"flood") -> Keypair:
    return Keypair(blake2b_256(tag + b"/%d" % n))


def test_a_flood_of_votes_by_unknown_keys_is_dropped_and_kept_nowhere() -> None:
    t, view = finalized_tracker()
    asked: list[bytes] = []
    owner = view.key_owner

    def key_owner(key: bytes) -> bytes | None:
        asked.append(key)
        return owner(key)

    view.key_owner = key_owner  # type: ignore[method-assign]
    statuses = {t.add_vote(sign_vote(key(n), GENESIS, G, MADE_UP)).status for n in range(500)}
    assert statuses == {VoteStatus.STALE}  # dropped unblamed (a relay on a fork may pass on a rotated key's vote)
    assert t.conflicting_votes_for(G, MADE_UP) == ()
    assert len(asked) == 500  # one owner lookup a vote: nothing re-weighed


def test_a_real_conflicting_finalization_still_raises_the_alarm_after_a_flood() -> None:
    t, _ = finalized_tracker()
    for n in range(300):
        t.add_vote(sign_vote(key(n), GENESIS, cp(1), cp(2, "x")))
        t.add_vote(sign_vote(key(n), GENESIS, cp(2, "x"), cp(3, "x")))
    statuses = [t.add_vote(sign_vote(k, GENESIS, cp(1), cp(2, "x"))).status for k in OLD[1:]]
    statuses += [t.add_vote(sign_vote(k, GENESIS, cp(2, "x"), cp(3, "x"))).status for k in OLD[1:]]
    assert statuses == [VoteStatus.CONFLICTING] * 6
    assert t.halted and t.conflict is not None and t.conflict.conflicting == cp(2, "x")
    assert set(t.conflict.offenders()) == {ACCOUNTS[1], ACCOUNTS[2]}
    assert len(t.conflicting_votes_for(cp(1), cp(2, "x"))) == 3


def test_many_keys_of_one_account_keep_one_vote_a_link() -> None:
    """Bob's account authorized 50 keys (an authorization is the account's own signature: it can make any number)."""
    t, view = finalized_tracker()
    keys = [key(n, b"bob's") for n in range(50)]
    view.authorized.update({k.public: ACCOUNTS[1] for k in keys})
    statuses = [t.add_vote(sign_vote(k, GENESIS, G, MADE_UP)).status for k in [OLD[1], *keys]]
    assert statuses == [VoteStatus.CONFLICTING] + [VoteStatus.DUPLICATE] * 50
    assert [v.validator for v in t.conflicting_votes_for(G, MADE_UP)] == [OLD[1].public]


def test_a_placed_key_of_an_account_without_stake_is_ignored_without_blame() -> None:
    t, view = finalized_tracker()
    stranger = key(0, b"stranger")
    view.authorized[stranger.public] = blake2b_256(b"an account with no bond")
    r = t.add_vote(sign_vote(stranger, GENESIS, G, MADE_UP))
    assert r.status is VoteStatus.STALE and t.conflicting_votes_for(G, MADE_UP) == ()


def test_a_forged_vote_by_a_member_is_invalid_and_not_kept() -> None:
    t, _ = finalized_tracker()
    v = sign_vote(OLD[1], GENESIS, G, MADE_UP)
    forged = v.replace(signature=sign_vote(OLD[1], GENESIS, G, cp(5, "y")).signature)
    assert t.add_vote(forged).status is VoteStatus.INVALID and t.conflicting_votes_for(G, MADE_UP) == ()


def counting(fn: Callable[..., bytes], calls: list[int]) -> Callable[..., bytes]:
    def wrapped(*args: object, **kwargs: object) -> bytes:
        calls.append(1)
        return fn(*args, **kwargs)
    return wrapped


def test_weighing_a_conflicting_link_costs_one_owner_lookup_a_vote() -> None:
    """150 validators; 100 of them (just 2/3) vote a link off our finalized chain one by one: each vote adds its stake
    to the link's (before, each re-weighed every vote of the link: 5,050 owner lookups), and the 100th justifies its
    target there."""
    keys = [key(n, b"member") for n in range(150)]
    vs = ValidatorSet([(k.public, 10, blake2b_256(b"stash/%d" % n)) for n, k in enumerate(keys)])
    t = VoteTracker(GENESIS, ForkView(FORKS, vs))
    for e in (1, 2, 3):
        votes = tuple(sorted((sign_vote(k, GENESIS, cp(e - 1), cp(e)) for k in keys[:100]), key=lambda v: v.validator))
        t.import_justification(Justification(cp(e), cp(e - 1), votes))
    assert t.finalized == cp(2)
    off = Checkpoint(2, blake2b_256(b"another epoch 2"))
    calls: list[int] = []
    t.owner_of = counting(t.owner_of, calls)  # type: ignore[method-assign]
    results = [t.add_vote(sign_vote(k, GENESIS, cp(1), off)) for k in keys[:100]]
    assert [r.status for r in results] == [VoteStatus.CONFLICTING] * 100
    assert len(calls) == 100
    assert all(not r.update.conflicts for r in results[:99])  # 99 of 150: below 2/3
    justified = results[99].update.conflicts
    assert [j.target for j in justified] == [off] and len(justified[0].votes) == 100


def test_a_conflicting_vote_that_weighs_nothing_is_still_evidence_against_its_signer() -> None:
    """Eve joins the set at epoch 7 and votes G -> 8; then she signs a link of fork x into epoch 4, where the set we
    trust has no stake of hers: the vote weighs nothing there and is not kept, but the surround is caught."""
    eve = key(0, b"eve")
    joined = ValidatorSet([*((k.public, 100, ACCOUNTS[i]) for i, k in enumerate(OLD)), (eve.public, 100, b"\x0e" * 32)])

    def sets(target: Checkpoint) -> ValidatorSet | None:
        label = FORKS.labels.get(target)
        if label is None or label[1] != "":
            return None
        return joined if label[0] >= 7 else main_only(target)

    t = VoteTracker(GENESIS, ForkView(FORKS, sets))
    finalize_main(t, 6)
    assert t.add_vote(sign_vote(eve, GENESIS, G, cp(8))).status is VoteStatus.STALE  # source below finality: held
    r = t.add_vote(sign_vote(eve, GENESIS, cp(1), cp(4, "x")))
    assert r.status is VoteStatus.EQUIVOCATION and r.evidence is not None and r.evidence.kind == "surround_vote"
    assert t.conflicting_votes_for(cp(1), cp(4, "x")) == ()
    assert t.add_vote(sign_vote(eve, GENESIS, G, cp(4, "y"))).status is VoteStatus.STALE  # no offence: not blamed
