"""The pure rules in front of a validator's signatures after it starts (`btt_chain.consensus.signing_gate`): caught up
with its peers, the doppelganger watch, folding its own old votes, one validator per process. Each rule is attacked:
the input that should keep a validator from signing must keep it from signing."""

from __future__ import annotations

import random

import pytest

from btt_chain.consensus.signed_votes import KEEP_VOTES, SignedVotes
from btt_chain.consensus.signing_gate import (
    DoppelgangerWatch,
    Identity,
    PeerPosition,
    Verdict,
    WatchState,
    catch_up_gap,
    choose_validator,
    merge_signed_votes,
    record_of,
    was_past_genesis,
)
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.vote import Checkpoint

OURS = b"\x01" * 32
OUR_OTHER = b"\x02" * 32
STRANGER = b"\x03" * 32
ACCOUNT = b"\xaa" * 32
OTHER_ACCOUNT = b"\xbb" * 32
ME = Identity(frozenset({OURS}), frozenset({ACCOUNT}))


def cp(epoch: int, fork: int = 0) -> Checkpoint:
    return Checkpoint(epoch, blake2b_256(b"cp/%d/%d" % (epoch, fork)))


def peer(best: int, finalized: int, holds: bool = False, name: str = "p") -> PeerPosition:
    return PeerPosition(name, best, finalized, holds)


# caught up ---------------------------------------------------------------------------------------------------------
def test_a_node_that_expects_no_peers_is_caught_up_at_once() -> None:
    assert catch_up_gap(0, 0, [], peers_expected=False) is None
    assert catch_up_gap(5, 0, [peer(900, 800)], peers_expected=False) is None  # not asked: no network to trust


def test_a_node_that_expects_peers_waits_for_a_first_status() -> None:
    gap = catch_up_gap(500, 400, [], peers_expected=True)
    assert gap is not None and gap.kind == "no peer"


def test_a_network_started_from_genesis_is_caught_up_as_soon_as_it_hears_a_peer() -> None:
    assert catch_up_gap(0, 0, [peer(0, 0), peer(0, 0)], peers_expected=True) is None


def test_a_restored_node_behind_its_peers_waits_for_their_finality_then_their_best_block() -> None:
    # the finding: a node restored at #572 must not sign while its peers are at #601, finalized #592
    gap = catch_up_gap(572, 560, [peer(601, 592)], peers_expected=True)
    assert gap is not None and gap.kind == "finality" and "#592" in gap.text
    gap = catch_up_gap(590, 592, [peer(601, 592)], peers_expected=True)
    assert gap is not None and gap.kind == "best" and "#601" in gap.text
    assert catch_up_gap(601, 592, [peer(601, 592)], peers_expected=True) is None


def test_holding_a_peers_best_block_on_another_branch_counts_as_caught_up_but_lower_finality_never_does() -> None:
    assert catch_up_gap(600, 592, [peer(601, 592, holds=True)], peers_expected=True) is None
    assert catch_up_gap(601, 591, [peer(601, 592, holds=True)], peers_expected=True) is not None


def test_one_peer_ahead_among_many_keeps_the_node_waiting() -> None:
    peers = [peer(601, 592, name="a"), peer(601, 592, name="b"), peer(640, 620, name="c")]
    gap = catch_up_gap(601, 592, peers, peers_expected=True)
    assert gap is not None and "peer c" in gap.text


def test_past_genesis_is_judged_by_when_the_chain_had_its_first_block() -> None:
    assert was_past_genesis(start_head=12, start_slot=0, first_block_slot=1, peer_best_numbers=[])
    # started before the first block: nobody can have signed with our keys before we started
    assert not was_past_genesis(0, start_slot=0, first_block_slot=1, peer_best_numbers=[9])
    assert not was_past_genesis(0, start_slot=3, first_block_slot=4, peer_best_numbers=[9])
    assert was_past_genesis(0, start_slot=4, first_block_slot=4, peer_best_numbers=[9])
    assert was_past_genesis(0, start_slot=700, first_block_slot=1, peer_best_numbers=[])
    assert was_past_genesis(0, 5, None, [3]) and not was_past_genesis(0, 5, None, [0, 0])


# doppelganger watch ------------------------------------------------------------------------------------------------
def watch(start_slot: int = 23, epoch_slots: int = 10, epochs: int = 2) -> DoppelgangerWatch:
    return DoppelgangerWatch(start_slot, epoch_slots, epochs)


def test_the_watch_lasts_full_epochs_after_the_one_it_began_in() -> None:
    w = watch(start_slot=23)
    assert w.first_epoch == 3 and w.end_slot == 50
    assert w.state(23) is WatchState.WATCHING and w.state(49) is WatchState.WATCHING
    assert w.state(50) is WatchState.CLEAR
    assert watch(start_slot=30).first_epoch == 4  # began in the first slot of epoch 3: a vote for 3 may predate it
    assert watch(epochs=0).state(23) is WatchState.CLEAR


def test_our_own_new_vote_seen_refuses_signing_for_good() -> None:
    w, verdict = watch().observe_vote(ME, OURS, None, 2, 3, SignedVotes(), entitled=True)
    assert verdict is Verdict.DOPPELGANGER and w.sighting is not None and "vote 2 -> 3" in str(w.sighting)
    assert w.state(10_000) is WatchState.REFUSED  # the epochs passing never clear it
    again, verdict = w.observe_vote(ME, OURS, None, 3, 4, SignedVotes(), entitled=True)
    assert again.sighting == w.sighting  # the first sighting is kept


def test_our_own_old_votes_are_no_sighting_but_are_folded() -> None:
    w, verdict = watch().observe_vote(ME, OURS, None, 1, 2, SignedVotes(), entitled=True)
    assert verdict is Verdict.OLD and w.sighting is None and w.state(50) is WatchState.CLEAR


def test_a_vote_in_our_own_record_is_ours_whatever_its_epoch() -> None:
    record = record_of([(cp(4), cp(5))])
    w, verdict = watch().observe_vote(ME, OURS, None, 4, 5, record, True, (cp(4), cp(5)))
    assert verdict is Verdict.OURS and w.sighting is None
    # the same epochs with another target block: not the vote we signed, a second signer
    w, verdict = watch().observe_vote(ME, OURS, None, 4, 5, record, True, (cp(4), cp(5, fork=1)))
    assert verdict is Verdict.DOPPELGANGER


def test_votes_by_strangers_mean_nothing() -> None:
    w, verdict = watch().observe_vote(ME, STRANGER, OTHER_ACCOUNT, 5, 6, SignedVotes(), entitled=False)
    assert verdict is Verdict.NOT_OURS and w.sighting is None


def test_another_key_of_our_account_is_a_sighting_only_where_the_chain_does_not_name_it() -> None:
    # a rotation's hand-over: the old key votes in the epochs its set still names it
    w, verdict = watch().observe_vote(ME, OUR_OTHER, ACCOUNT, 5, 6, SignedVotes(), entitled=True)
    assert verdict is Verdict.ENTITLED and w.sighting is None
    w, verdict = watch().observe_vote(ME, OUR_OTHER, ACCOUNT, 5, 6, SignedVotes(), entitled=False)
    assert verdict is Verdict.DOPPELGANGER
    w, verdict = watch().observe_vote(ME, OUR_OTHER, ACCOUNT, 1, 2, SignedVotes(), entitled=False)
    assert verdict is Verdict.OLD


def test_our_own_block_after_the_start_refuses_and_one_from_before_does_not() -> None:
    w, verdict = watch(start_slot=23).observe_block(ME, OURS, None, 23)
    assert verdict is Verdict.OLD and w.sighting is None
    w, verdict = watch(start_slot=23).observe_block(ME, OURS, None, 24)
    assert verdict is Verdict.DOPPELGANGER and w.state(24) is WatchState.REFUSED
    w, verdict = watch().observe_block(ME, OURS, None, 40, authored_here=True)
    assert verdict is Verdict.OURS and w.sighting is None
    w, verdict = watch().observe_block(ME, OUR_OTHER, ACCOUNT, 40)
    assert verdict is Verdict.ENTITLED  # the schedule gave that key the slot
    assert watch().observe_block(ME, STRANGER, None, 40)[1] is Verdict.NOT_OURS


def test_clean_epochs_then_signing() -> None:
    w = watch(start_slot=23)
    for slot in range(24, 50):
        w, verdict = w.observe_block(ME, STRANGER, None, slot)
        assert w.state(slot) is WatchState.WATCHING
    assert w.state(50) is WatchState.CLEAR


def test_without_wait_keeps_watching_for_a_second_signer() -> None:
    w = watch().without_wait()
    assert w.state(24) is WatchState.CLEAR
    w, _ = w.observe_vote(ME, OURS, None, 3, 4, SignedVotes(), entitled=True)
    assert w.state(24) is WatchState.REFUSED


# folding votes -----------------------------------------------------------------------------------------------------
def test_folded_old_votes_keep_the_validator_from_signing_below_or_around_them() -> None:
    # the finding: it had signed 591 -> 592; its restored self must not sign 572 -> 601
    folded = merge_signed_votes(SignedVotes(), record_of([(cp(591), cp(592))]))
    assert not folded.may_sign(572, 601)  # surrounds
    assert not folded.may_sign(591, 592) and not folded.may_sign(590, 591)
    assert folded.may_sign(592, 601)


def test_merge_keeps_the_highest_watermarks_and_the_union() -> None:
    a = SignedVotes(7, 9, ((cp(7), cp(9)),))
    b = SignedVotes(3, 12, ((cp(3), cp(4)),))
    m = merge_signed_votes(a, b)
    assert (m.max_source, m.max_target) == (7, 12)
    assert m.votes == ((cp(3), cp(4)), (cp(7), cp(9)))
    assert merge_signed_votes(m, a) == m == merge_signed_votes(b, a)  # idempotent, commutative
    assert merge_signed_votes(SignedVotes(), SignedVotes()) == SignedVotes()


def test_merge_keeps_the_newest_votes_and_the_watermarks_cover_the_rest() -> None:
    many = record_of([(cp(e), cp(e + 1)) for e in range(KEEP_VOTES + 10)])
    assert len(many.votes) == KEEP_VOTES and many.votes[0] == (cp(10), cp(11))
    assert (many.max_source, many.max_target) == (KEEP_VOTES + 9, KEEP_VOTES + 10)
    assert not many.may_sign(0, KEEP_VOTES + 20)  # would surround a dropped vote: the source watermark refuses it


def test_a_merged_record_refuses_everything_either_record_refuses() -> None:
    rng = random.Random(49)
    for _ in range(200):
        records = []
        for _ in range(2):
            links = []
            for _ in range(rng.randrange(0, 4)):
                s = rng.randrange(0, 20)
                links.append((cp(s, rng.randrange(2)), cp(s + rng.randrange(1, 5), rng.randrange(2))))
            records.append(SignedVotes(rng.randrange(-1, 20), rng.randrange(-1, 25), tuple(links)))
        merged = merge_signed_votes(*records)
        for s in range(0, 25):
            for t in range(s + 1, 27):
                if merged.may_sign(s, t):
                    assert records[0].may_sign(s, t) and records[1].may_sign(s, t), (records, s, t)


# one validator per process -------------------------------------------------------------------------------------------
def test_one_account_is_signed_for_and_the_other_refused() -> None:
    choice = choose_validator([ACCOUNT, OTHER_ACCOUNT], None)
    assert choice.account == ACCOUNT and choice.refused == (OTHER_ACCOUNT,)
    # it keeps the one it signed for first, whatever the set's order
    choice = choose_validator([ACCOUNT, OTHER_ACCOUNT], OTHER_ACCOUNT)
    assert choice.account == OTHER_ACCOUNT and choice.refused == (ACCOUNT,)


@pytest.mark.parametrize("accounts", [[], [ACCOUNT], [ACCOUNT, ACCOUNT]])
def test_one_account_or_none_is_no_refusal(accounts: list[bytes]) -> None:
    choice = choose_validator(accounts, OTHER_ACCOUNT)
    assert choice.refused == () and choice.account == (accounts[0] if accounts else None)
