"""The four-house tally with known inputs: house weights by year, empty houses, thresholds and quorum."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from runtime.governance import tally

BASE = (3000, 2500, 3500, 1000)
SCHEDULE = (7000, 5000, 4000, 2000)


def test_year_one_weights_are_the_genesis_shares() -> None:
    assert tally.house_weights(BASE, SCHEDULE, 0) == (
        Fraction(30, 100), Fraction(25, 100), Fraction(35, 100), Fraction(10, 100)
    )


def test_the_institutions_share_shrinks_by_year_and_the_rest_is_spread_in_proportion() -> None:
    expected_institutions = {0: Fraction(3, 10), 1: Fraction(3, 14), 2: Fraction(6, 35), 3: Fraction(3, 35)}
    for year, inst in expected_institutions.items():
        w = tally.house_weights(BASE, SCHEDULE, year)
        assert w[0] == inst
        assert sum(w) == 1
        # the other houses keep their proportions 25 : 35 : 10
        assert w[1] / w[3] == Fraction(25, 10) and w[2] / w[3] == Fraction(35, 10)
    # TOKENOMICS.md: 30% -> 21.4% -> 17.1% -> 8.6%
    assert [round(float(tally.house_weights(BASE, SCHEDULE, y)[0]) * 100, 1) for y in range(4)] == [
        30.0, 21.4, 17.1, 8.6
    ]
    # after the schedule ends its last share holds
    assert tally.house_weights(BASE, SCHEDULE, 9) == tally.house_weights(BASE, SCHEDULE, 3)


def test_year_three_tally_with_known_votes() -> None:
    w = tally.house_weights(BASE, SCHEDULE, 2)  # institutions 6/35
    rest = 1 - Fraction(6, 35)
    compute, holders, reps = rest * Fraction(25, 70), rest * Fraction(35, 70), rest * Fraction(10, 70)
    assert w == (Fraction(6, 35), compute, holders, reps)
    # institutions all aye, compute 3:1 aye, holders 1:3 aye, representatives 2 aye 2 nay
    share = tally.aye_share(w, (10, 3, 100, 2), (0, 1, 300, 2))
    assert share == Fraction(6, 35) + compute * Fraction(3, 4) + holders * Fraction(1, 4) + reps * Fraction(1, 2)


def test_an_empty_house_spreads_its_weight_over_the_houses_that_voted() -> None:
    w = tally.house_weights(BASE, SCHEDULE, 0)
    # nobody in the compute house voted: its 25% goes to the others in proportion 30 : 35 : 10
    counted = tally.counted_weights(w, (1, 0, 1, 1), (0, 0, 0, 0))
    assert counted == (Fraction(30, 75), 0, Fraction(35, 75), Fraction(10, 75))
    assert tally.aye_share(w, (1, 0, 1, 1), (0, 0, 0, 0)) == 1
    # only token holders voted: they decide alone
    assert tally.aye_share(w, (0, 0, 60, 0), (0, 0, 40, 0)) == Fraction(3, 5)
    # nobody voted at all
    assert tally.aye_share(w, (0, 0, 0, 0), (0, 0, 0, 0)) == 0


def test_thresholds_and_quorum() -> None:
    assert tally.passes(Fraction(5001, 10000), 5000, supermajority=False)
    assert not tally.passes(Fraction(1, 2), 5000, supermajority=False)  # a tie does not pass
    assert tally.passes(Fraction(6667, 10000), 6667, supermajority=True)
    assert not tally.passes(Fraction(2, 3), 6667, supermajority=True)
    assert tally.quorum_met(100, 10_000, 100) and not tally.quorum_met(99, 10_000, 100)
    assert tally.quorum_met(0, 10_000, 0)
    assert tally.ppm(Fraction(2, 3)) == 666_666


@given(
    st.tuples(*[st.integers(0, 10**24)] * 4),
    st.tuples(*[st.integers(0, 10**24)] * 4),
    st.integers(0, 10),
)
def test_the_aye_share_is_a_weighted_mean_in_zero_one(ayes, nays, year) -> None:
    w = tally.house_weights(BASE, SCHEDULE, year)
    share = tally.aye_share(w, ayes, nays)
    assert 0 <= share <= 1
    if any(a + n for a, n in zip(ayes, nays, strict=True)):
        assert sum(tally.counted_weights(w, ayes, nays)) == 1
    if not any(nays) and any(ayes):
        assert share == 1
