"""Mining reward distribution: shares by score, the cap at cap_bps of the burned fees, held-back budget,
self-dealing never profitable, duplicate providers rejected, and clear errors on bad inputs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.compute.rewards import BPS, Distribution, RewardClaim, distribute

BTT = 10**18
CAP = 8_000  # the default 0.8x cap


def acct(i: int) -> bytes:
    return bytes([i]) * 32


def claim(
    i: int, credit: int = 100, on_time: int = BPS, region: int = BPS, energy: int = BPS, burned: int = 10**30
) -> RewardClaim:
    return RewardClaim(acct(i), credit, on_time, region, energy, burned)


def test_budget_is_shared_by_score_when_no_cap_binds() -> None:
    claims = [claim(2, credit=300), claim(1, credit=100)]
    d = distribute(1_000 * BTT, claims, CAP)
    assert d.payouts == ((acct(1), 250 * BTT), (acct(2), 750 * BTT))  # sorted by provider
    assert d.paid == 1_000 * BTT and d.held_back == 0


def test_factors_multiply_the_score() -> None:
    # Same credit; 1.5x region against 0.8x energy and a 50% on-time ratio: scores 15000 : 4000.
    claims = [claim(1, region=15_000), claim(2, energy=8_000, on_time=5_000)]
    d = distribute(19_000, claims, CAP)
    assert d.payouts == ((acct(1), 15_000), (acct(2), 4_000))


def test_cap_holds_back_and_is_not_redistributed() -> None:
    claims = [claim(1, credit=100, burned=100 * BTT), claim(2, credit=100)]
    d = distribute(1_000 * BTT, claims, CAP)
    assert d.payout_of(acct(1)) == 80 * BTT  # capped at 0.8 x 100 BTT burned
    assert d.payout_of(acct(2)) == 500 * BTT  # its proportional share, not more
    assert d.paid == 580 * BTT and d.held_back == 420 * BTT


def test_cap_comes_in_as_an_argument() -> None:
    claims = [claim(1, burned=1_000)]
    assert distribute(10**6, claims, 8_000).paid == 800
    assert distribute(10**6, claims, 5_000).paid == 500
    assert distribute(10**6, claims, 0).paid == 0


def test_zero_total_score_pays_nothing() -> None:
    claims = [claim(1, credit=0), claim(2, on_time=0), claim(3, region=0), claim(4, energy=0)]
    assert distribute(1_000, claims, CAP) == Distribution(payouts=(), paid=0, held_back=1_000)
    assert distribute(1_000, [], CAP) == Distribution(payouts=(), paid=0, held_back=1_000)


def test_zero_score_claims_get_nothing() -> None:
    d = distribute(1_000, [claim(1, credit=0), claim(2, on_time=0), claim(3)], CAP)
    assert d.payouts == ((acct(3), 1_000),)
    assert d.payout_of(acct(1)) == 0 and d.payout_of(acct(2)) == 0


def test_zero_budget() -> None:
    assert distribute(0, [claim(1)], CAP) == Distribution(payouts=(), paid=0, held_back=0)


def test_rounding_dust_is_held_back() -> None:
    d = distribute(10, [claim(1), claim(2), claim(3)], CAP)
    assert d.payouts == ((acct(1), 3), (acct(2), 3), (acct(3), 3))
    assert d.held_back == 1


def test_duplicate_providers_are_rejected() -> None:
    with pytest.raises(ValueError, match="claims twice"):
        distribute(1_000, [claim(1), claim(2), claim(1, credit=5)], CAP)


@pytest.mark.parametrize(
    ("budget", "cap_bps", "message"),
    [
        (-1, CAP, "budget must be a non-negative integer"),
        (1.0, CAP, "budget must be a non-negative integer"),
        (1, -1, "cap_bps must be in 0..10000"),
        (1, 10_001, "cap_bps must be in 0..10000"),
        (1, 8_000.0, "cap_bps must be in 0..10000"),
    ],
)
def test_bad_budget_or_cap_is_rejected(budget: int, cap_bps: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        distribute(budget, [claim(1)], cap_bps)


def test_a_non_claim_is_rejected() -> None:
    with pytest.raises(ValueError, match="expected a RewardClaim"):
        distribute(1, [(acct(1), 1, 1, 1, 1, 1)], CAP)  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"provider": b""}, "provider must be a non-empty account id"),
        ({"provider": "alice"}, "provider must be a non-empty account id"),
        ({"credit": -1}, "credit must be a non-negative integer"),
        ({"credit": 1.5}, "credit must be a non-negative integer"),
        ({"region_bps": -1}, "region_bps must be a non-negative integer"),
        ({"energy_bps": -1}, "energy_bps must be a non-negative integer"),
        ({"burned": -1}, "burned must be a non-negative integer"),
        ({"on_time_bps": 10_001}, "on_time_bps must be in 0..10000"),
        ({"on_time_bps": -1}, "on_time_bps must be in 0..10000"),
    ],
)
def test_bad_claims_are_rejected(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "provider": acct(1),
        "credit": 1,
        "on_time_bps": BPS,
        "region_bps": BPS,
        "energy_bps": BPS,
        "burned": 1,
    }
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        RewardClaim(**fields)  # type: ignore[arg-type]


claim_strategy = st.builds(
    RewardClaim,
    provider=st.integers(0, 255).map(acct),
    credit=st.integers(0, 10**24),
    on_time_bps=st.integers(0, BPS),
    region_bps=st.sampled_from([0, 5_000, 10_000, 12_500, 15_000]) | st.integers(0, 30_000),
    energy_bps=st.integers(8_000, 12_000) | st.just(0),
    burned=st.integers(0, 10**26),
)
claims_strategy = st.lists(claim_strategy, max_size=12, unique_by=lambda c: c.provider)


@settings(max_examples=300, deadline=None)
@given(budget=st.integers(0, 10**26), claims=claims_strategy, cap_bps=st.integers(0, BPS))
def test_distribution_properties(budget: int, claims: list[RewardClaim], cap_bps: int) -> None:
    d = distribute(budget, claims, cap_bps)
    assert d.paid <= budget
    assert d.paid + d.held_back == budget
    assert d.paid == sum(amount for _, amount in d.payouts)
    providers = [p for p, _ in d.payouts]
    assert providers == sorted(providers) and len(set(providers)) == len(providers)
    assert all(amount > 0 for _, amount in d.payouts)
    total_score = sum(c.score for c in claims)
    for c in claims:
        paid = d.payout_of(c.provider)
        assert paid <= c.burned * cap_bps // BPS
        if c.score == 0:
            assert paid == 0
        else:
            share = budget * c.score // total_score
            assert paid == min(share, c.burned * cap_bps // BPS)
            if share <= c.burned * cap_bps // BPS:  # no cap binds: paid is the floor of the exact share
                assert paid * total_score <= budget * c.score < (paid + 1) * total_score


@settings(max_examples=300, deadline=None)
@given(budget=st.integers(0, 10**27), claims=claims_strategy.filter(bool), data=st.data())
def test_self_dealing_never_earns_what_it_burns(budget: int, claims: list[RewardClaim], data: st.DataObject) -> None:
    # A provider posting jobs to itself burns `burned`; whatever the budget and the others, it earns less.
    d = distribute(budget, claims, CAP)
    for c in claims:
        paid = d.payout_of(c.provider)
        assert paid <= c.burned * 8_000 // 10_000
        if c.burned > 0:
            assert paid < c.burned
        else:
            assert paid == 0
    # The same provider alone with the whole budget still earns at most 0.8x its burn.
    alone = data.draw(st.sampled_from(claims))
    assert distribute(budget, [alone], CAP).paid <= alone.burned * 8 // 10
