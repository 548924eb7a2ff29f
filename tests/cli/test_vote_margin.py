"""`btt-chain vote`'s default margin for fees (`btt_chain/client/vote_margin.py`), as pure arithmetic: what it
locks never exceeds the free balance after the fee, what it leaves is exactly what the runtime's overlapping locks
leave, and the default never leaves less than the margin unless the account had less than that to spend anyway."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from btt_chain.client.vote_margin import FEE_MARGIN_FEES, has_other_weight, plan_vote
from btt_chain.primitives.codec import U128_MAX

UNIT = 10**18
amounts = st.integers(min_value=0, max_value=10**9 * UNIT)
fees = st.integers(min_value=0, max_value=UNIT)


@st.composite
def accounts(draw: st.DrawFn) -> tuple[int, int]:
    free = draw(amounts)
    return free, draw(st.integers(min_value=0, max_value=free))  # frozen never exceeds free


@given(accounts(), fees, fees)
def test_the_default_keeps_the_margin_or_all_that_was_spendable(account: tuple[int, int], vote_fee: int,
                                                                 typical: int) -> None:
    free, frozen = account
    assume(free - frozen >= vote_fee)  # else the vote is not includable: the dry run refuses it at no fee
    plan = plan_vote(free, frozen, vote_fee, typical, None)
    free_after = max(0, free - vote_fee)
    assert plan.default and plan.amount == plan.locked
    assert plan.margin == FEE_MARGIN_FEES * max(typical, vote_fee)
    assert 0 <= plan.locked <= free_after
    # the runtime's frozen after the vote is the larger lock; what stays spendable is the rest
    assert plan.left == free_after - max(frozen, plan.locked)
    assert plan.left == min(plan.margin, max(0, free_after - frozen))
    # and nothing more could have been counted without eating into the margin or the spendable balance
    assert plan.locked == max(0, free_after - plan.margin, min(frozen, free_after))


@given(accounts(), fees, fees, st.one_of(amounts, st.just(U128_MAX)))
def test_an_explicit_balance_locks_at_most_the_free_balance(account: tuple[int, int], vote_fee: int, typical: int,
                                                            requested: int) -> None:
    free, frozen = account
    assume(free - frozen >= vote_fee)  # else the vote is not includable: the dry run refuses it at no fee
    plan = plan_vote(free, frozen, vote_fee, typical, requested)
    free_after = max(0, free - vote_fee)
    assert not plan.default and plan.amount == requested
    assert plan.locked == min(requested, free_after)
    assert plan.left == free_after - max(frozen, plan.locked) >= 0


def test_all_leaves_nothing_and_a_balance_below_the_margin_locks_nothing() -> None:
    fee = 3 * UNIT // 1000
    everything = plan_vote(100 * UNIT, 0, fee, fee, U128_MAX)
    assert (everything.locked, everything.left) == (100 * UNIT - fee, 0)
    small = plan_vote(FEE_MARGIN_FEES * fee, 0, fee, fee, None)  # less than the margin once the vote is paid
    assert (small.locked, small.left) == (0, FEE_MARGIN_FEES * fee - fee)
    exact = plan_vote(FEE_MARGIN_FEES * fee + fee + 1, 0, fee, fee, None)
    assert (exact.locked, exact.left) == (1, FEE_MARGIN_FEES * fee)
    zero_fees = plan_vote(5 * UNIT, 0, 0, 0, None)  # a chain without fees: nothing to keep
    assert (zero_fees.locked, zero_fees.left) == (5 * UNIT, 0)


def test_other_voting_weight_is_read_from_btt_voter() -> None:
    def voter(institutions: int = 0, compute: int = 0, representatives: int = 0, turnout: int = 0,
              lockable: int = 0) -> dict[str, object]:
        weights = {"institutions": str(institutions), "compute": str(compute), "holders": str(turnout),
                   "representatives": str(representatives)}
        return {"weights": weights, "turnout": str(turnout), "lockable": str(lockable)}

    assert not has_other_weight(voter())
    assert not has_other_weight(voter(turnout=5, lockable=5))  # free balance only
    assert has_other_weight(voter(turnout=8, lockable=5))  # a term deposit locked past the vote
    assert has_other_weight(voter(institutions=1))
    assert has_other_weight(voter(compute=1))
    assert has_other_weight(voter(representatives=1))
