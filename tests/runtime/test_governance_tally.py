"""The four-house tally with known inputs: house weights by year, empty houses, thresholds and quorum, each
house's turnout against its floor, and the backing the spam rule measures."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from runtime.governance import tally

BASE = (3000, 2500, 3500, 1000)
SCHEDULE = (7000, 5000, 4000, 2000)
NO_BAR = {"others": (0, 0, 0, 0), "min_other_bps": 0}
"""`governance.house_min_other_aye_bps` at 0 (a bar always met): these tests isolate the turnout floor and the head
count; test_governance_house_weight.py tests the weight bar."""


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


# --- turnout and the houses in favour ------------------------------------------------------------------------


def test_turnout_is_exact_and_clamped() -> None:
    assert tally.turnout(1, 20) == Fraction(1, 20)
    assert tally.turnout(0, 20) == 0
    assert tally.turnout(30, 20) == 1  # the electorate shrank after the votes were weighed
    assert tally.turnout(5, 0) == 0  # no electorate, nothing to count
    assert tally.voted((3, 4, 150, 1), (1, 0, 50, 2), 120) == (4, 4, 120, 3)  # holders: the plain balance voted


def test_a_house_meets_its_floor_at_the_floor_and_not_one_unit_below() -> None:
    # 500 bps of 1,000,000: 50,000 meets it, 49,999 does not; and without rounding on odd electorates
    assert tally.meets_floor(50_000, 1_000_000, 500) and not tally.meets_floor(49_999, 1_000_000, 500)
    assert tally.meets_floor(1, 20, 500) and not tally.meets_floor(1, 21, 500)
    assert not tally.meets_floor(1, 0, 500)


def test_only_houses_above_their_floor_count_in_favour() -> None:
    # the report: holders all aye (turnout 60%), one representative seat of 25 aye (4%), the institutions nay
    results = tally.house_results((0, 0, 60, 1), (1_050_000, 0, 0, 0), (0, 0, 3, 1), (1_050_000, 0, 60, 1),
                                  (4_830_000, 0, 100, 25), 500, 1, **NO_BAR)
    assert [r.in_favour for r in results] == [False, False, True, False]
    assert [r.meets_floor for r in results] == [True, False, True, False]
    assert tally.houses_in_favour(results) == 1
    assert results[3].turnout == Fraction(1, 25)


def test_the_backing_ignores_houses_below_their_floor() -> None:
    w = tally.house_weights(BASE, SCHEDULE, 0)
    # a proposer's own few tokens: 100% aye in the only house that voted, but far below its floor
    alone = tally.house_results((0, 0, 50, 0), (0, 0, 0, 0), (0, 0, 1, 0), (0, 0, 50, 0), (10, 0, 100_000, 1), 100, 1,
                                **NO_BAR)
    assert tally.aye_share(w, (0, 0, 50, 0), (0, 0, 0, 0)) == 1 and tally.backed_share(w, alone) == 0
    # the institutions met their floor and are half for: that half counts alone (the holders' sliver is dropped)
    mixed = tally.house_results((5, 0, 50, 0), (5, 0, 0, 0), (1, 0, 1, 0), (10, 0, 50, 0), (10, 0, 100_000, 1), 100, 1,
                                **NO_BAR)
    assert tally.backed_share(w, mixed) == Fraction(1, 2)


def test_percentages_in_reasons_round_down() -> None:
    assert tally.percent(Fraction(2, 3)) == "66.66%" and tally.percent(Fraction(1, 25)) == "4.00%"
    assert tally.percent(Fraction(0)) == "0.00%" and tally.percent(Fraction(1)) == "100.00%"


HOUSE_VOTES = st.tuples(*[st.integers(0, 10**24)] * 4)


def test_one_aye_seat_of_two_is_not_a_house_however_large_its_share() -> None:
    # the report (issue 42, finding 4): one representative seat of two is 50% turnout, far above a 5% floor; with
    # at least 2 aye voters asked of a house it counts only when both seats vote aye
    one = tally.house_results((0, 0, 60, 1), (1_050_000, 0, 0, 0), (0, 0, 3, 1), (1_050_000, 0, 60, 1),
                              (4_830_000, 0, 100, 2), 500, 2, **NO_BAR)
    assert one[3].meets_floor and not one[3].enough_aye_voters and not one[3].in_favour
    assert tally.houses_in_favour(one) == 1  # the holders (3 aye voters) alone
    both = tally.house_results((0, 0, 60, 2), (1_050_000, 0, 0, 0), (0, 0, 3, 2), (1_050_000, 0, 60, 2),
                               (4_830_000, 0, 100, 2), 500, 2, **NO_BAR)
    assert both[3].in_favour and tally.houses_in_favour(both) == 2
    # a nay never helps a house count: one aye seat and one nay seat of three is a tie, and still one aye voter
    mixed = tally.house_results((0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 2), (1, 1, 1, 3), 500, 2, **NO_BAR)
    assert not mixed[3].in_favour


@given(HOUSE_VOTES, HOUSE_VOTES, HOUSE_VOTES, st.integers(0, 10**24), st.integers(50, 5000),
       st.tuples(*[st.integers(0, 10)] * 4), st.integers(1, 5))
def test_houses_in_favour_never_count_a_house_below_its_floor(ayes, nays, electorates, holders, floor_bps, counts,
                                                               min_voters) -> None:
    voted = tally.voted(ayes, nays, holders)
    results = tally.house_results(ayes, nays, counts, voted, electorates, floor_bps, min_voters, **NO_BAR)
    for r, a, n, c, v, e in zip(results, ayes, nays, counts, voted, electorates, strict=True):
        assert 0 <= r.turnout <= 1
        assert r.meets_floor == (e > 0 and min(v, e) * tally.BPS >= e * floor_bps)
        assert r.enough_aye_voters == (c >= min_voters)
        assert r.in_favour == (a > n and r.meets_floor and c >= min_voters)
    # the floor only ever removes houses: never more in favour than plain aye majorities
    assert tally.houses_in_favour(results) <= sum(1 for a, n in zip(ayes, nays, strict=True) if a > n)
    # a higher floor, or more aye voters asked, never adds a house
    higher = tally.house_results(ayes, nays, counts, voted, electorates, min(floor_bps * 2, tally.BPS), min_voters,
                                 **NO_BAR)
    assert tally.houses_in_favour(higher) <= tally.houses_in_favour(results)
    more = tally.house_results(ayes, nays, counts, voted, electorates, floor_bps, min_voters + 1, **NO_BAR)
    assert tally.houses_in_favour(more) <= tally.houses_in_favour(results)
    # one more aye voter never removes a house (the rule is monotone in ayes)
    plus = tally.house_results(ayes, nays, tuple(c + 1 for c in counts), voted, electorates, floor_bps, min_voters,
                               **NO_BAR)
    assert tally.houses_in_favour(plus) >= tally.houses_in_favour(results)
    w = tally.house_weights(BASE, SCHEDULE, 0)
    assert 0 <= tally.backed_share(w, results) <= 1
