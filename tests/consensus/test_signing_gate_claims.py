"""The pure rules of a backed claim (`btt_chain.consensus.signing_gate`): which statuses keep a node from being caught
up, which contradict themselves, and when a peer's claim stops counting (`PeerClaim`): at once when refuted, after a
bounded wait when it only stalls, never while it serves something new."""

from __future__ import annotations

from btt_chain.consensus.signing_gate import (
    CLAIM_STALL_ATTEMPTS,
    CLAIM_STALL_S,
    PeerClaim,
    PeerPosition,
    is_ahead_of,
    status_contradiction,
)


def peer(best: int, finalized: int, holds: bool = False) -> PeerPosition:
    return PeerPosition("p", best, finalized, holds)


def test_a_peer_is_ahead_by_its_finality_or_by_a_best_block_not_held() -> None:
    assert is_ahead_of(peer(10, 8), best_number=10, finalized_number=7)
    assert is_ahead_of(peer(11, 7), best_number=10, finalized_number=7)
    assert not is_ahead_of(peer(11, 7, holds=True), best_number=10, finalized_number=7)
    assert not is_ahead_of(peer(10, 7), best_number=10, finalized_number=7)
    assert is_ahead_of(peer(11, 8, holds=True), best_number=10, finalized_number=7), "holding its best is not finality"


def test_a_status_contradicts_itself_with_finality_above_its_best_or_a_held_best_without_its_finalized_block() -> None:
    why = status_contradiction(peer(10**6, 10**6 + 5), holds_finalized=False)
    assert why is not None and "above its best" in why
    why = status_contradiction(peer(10, 9, holds=True), holds_finalized=False)
    assert why is not None and "not the block it calls finalized" in why
    assert status_contradiction(peer(10, 9, holds=True), holds_finalized=True) is None
    assert status_contradiction(peer(10**6, 10**6 - 10), holds_finalized=False) is None, "unknown: sync must show"


def test_a_refuted_claim_stops_counting_at_once_and_keeps_its_first_reason() -> None:
    claim = PeerClaim()
    assert claim.counts
    refuted = claim.refuted("it serves no block from #0")
    assert not refuted.counts and refuted.refuted("another").unbacked == "it serves no block from #0"
    assert refuted.served().counts, "it served something new: counted again"


def test_a_stalled_claim_counts_until_both_the_time_and_the_answers_run_out() -> None:
    claim = PeerClaim()
    for i in range(CLAIM_STALL_ATTEMPTS - 1):
        claim = claim.stalled(100.0 + i * CLAIM_STALL_S, "nothing new")
        assert claim.counts, "too few answers, however long"
    claim = claim.stalled(100.0 + CLAIM_STALL_S - 1, "nothing new")
    assert claim.counts and claim.stalled_answers == CLAIM_STALL_ATTEMPTS, "enough answers, not long enough"
    claim = claim.stalled(100.0 + CLAIM_STALL_S, "nothing new")
    assert not claim.counts and claim.unbacked == f"nothing new for {CLAIM_STALL_S:.0f} s"


def test_serving_something_new_starts_the_wait_again() -> None:
    claim = PeerClaim().stalled(0.0, "x").stalled(CLAIM_STALL_S - 1, "x")
    claim = claim.served()
    assert claim == PeerClaim()
    for t in (CLAIM_STALL_S, CLAIM_STALL_S + 1, CLAIM_STALL_S + 2):
        claim = claim.stalled(t, "x")
    assert claim.counts, "the wait is timed from the first answer after the last that served"
