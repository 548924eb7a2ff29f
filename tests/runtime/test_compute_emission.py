"""Mining pool emission schedule: exact totals, even spreading, monotonic cumulative emission, nothing after
the end, the schedule rows, and clear errors on a bad schedule."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.compute.emission import (
    EmissionPeriod,
    ScheduleRow,
    cumulative_emission,
    epoch_emission,
    epochs_in_period,
    schedule_rows,
    total_emission,
    total_epochs,
    validate_periods,
)

BTT = 10**18
DAY_MS = 86_400_000
AMOUNTS = (2_520_000 * BTT, 1_890_000 * BTT, 1_260_000 * BTT, 630_000 * BTT)
POOL = 6_300_000 * BTT


def two_year_periods(year_ms: int) -> tuple[EmissionPeriod, ...]:
    """The btt-21m pool schedule (40/30/20/10% over four two-year periods) for a given year length."""
    return tuple(EmissionPeriod(duration_ms=2 * year_ms, amount=a) for a in AMOUNTS)


MAINNET = two_year_periods(365 * DAY_MS)
MAINNET_EPOCH_MS = 600 * 6_000  # 600 slots of 6 s
DEV = two_year_periods(720_000)  # a year of 720 s
DEV_EPOCH_MS = 20_000  # 20 slots of 1 s


def check_schedule(periods: Sequence[EmissionPeriod], epoch_ms: int, expected_total: int) -> None:
    """Emit epoch by epoch over the whole schedule (and beyond) and check every promise of the module."""
    rows = schedule_rows(periods, epoch_ms)
    end = total_epochs(periods, epoch_ms)
    assert rows[-1].last_epoch == end - 1
    emitted = 0
    previous_cumulative = 0
    for row in rows:
        ceil_share = -(-row.amount // row.epochs)
        period_sum = 0
        for epoch in range(row.first_epoch, row.last_epoch + 1):
            e = epoch_emission(periods, epoch_ms, epoch)
            assert row.per_epoch <= e <= ceil_share
            period_sum += e
            emitted += e
            cumulative = cumulative_emission(periods, epoch_ms, epoch + 1)
            assert cumulative == emitted
            assert cumulative >= previous_cumulative
            previous_cumulative = cumulative
        assert period_sum == row.amount
    assert emitted == expected_total == total_emission(periods)
    for epoch in (end, end + 1, end + 1_000, 10 * end):
        assert epoch_emission(periods, epoch_ms, epoch) == 0
        assert cumulative_emission(periods, epoch_ms, epoch) == expected_total


def test_btt_21m_pool_emits_exactly_6_3m_btt_over_eight_years() -> None:
    assert total_epochs(MAINNET, MAINNET_EPOCH_MS) == 8 * 365 * 24  # one epoch an hour
    check_schedule(MAINNET, MAINNET_EPOCH_MS, POOL)


def test_btt_21m_schedule_rows() -> None:
    rows = schedule_rows(MAINNET, MAINNET_EPOCH_MS)
    n = 2 * 365 * 24
    assert rows == [
        ScheduleRow(index=i + 1, first_epoch=i * n, last_epoch=(i + 1) * n - 1, epochs=n, amount=a, per_epoch=a // n)
        for i, a in enumerate(AMOUNTS)
    ]
    assert rows[0].per_epoch == 143_835_616_438_356_164_383  # 2,520,000 BTT / 17,520 epochs, floored


def test_dev_clock_emits_the_whole_pool() -> None:
    assert [r.epochs for r in schedule_rows(DEV, DEV_EPOCH_MS)] == [72, 72, 72, 72]
    check_schedule(DEV, DEV_EPOCH_MS, POOL)


def test_period_not_a_multiple_of_the_epoch() -> None:
    periods = (
        EmissionPeriod(duration_ms=1_445_000, amount=1_000_003),  # 72.25 epochs -> 73
        EmissionPeriod(duration_ms=19_999, amount=7),  # under one epoch -> 1
        EmissionPeriod(duration_ms=20_001, amount=5 * BTT + 1),  # -> 2
    )
    assert [r.epochs for r in schedule_rows(periods, DEV_EPOCH_MS)] == [73, 1, 2]
    assert [r.first_epoch for r in schedule_rows(periods, DEV_EPOCH_MS)] == [0, 73, 74]
    check_schedule(periods, DEV_EPOCH_MS, 1_000_003 + 7 + 5 * BTT + 1)


def test_epochs_in_period_is_the_ceiling() -> None:
    assert epochs_in_period(EmissionPeriod(60_000, 1), 20_000) == 3
    assert epochs_in_period(EmissionPeriod(60_001, 1), 20_000) == 4
    assert epochs_in_period(EmissionPeriod(1, 1), 20_000) == 1


def test_a_zero_amount_period_emits_nothing_then_the_next_period_starts() -> None:
    periods = (EmissionPeriod(40_000, 0), EmissionPeriod(40_000, 10))
    assert [epoch_emission(periods, 20_000, e) for e in range(5)] == [0, 0, 5, 5, 0]


def test_cumulative_at_zero_epochs_is_zero() -> None:
    assert cumulative_emission(MAINNET, MAINNET_EPOCH_MS, 0) == 0


@pytest.mark.parametrize(
    ("periods", "epoch_ms", "message"),
    [
        ((), 20_000, "no periods"),
        ((EmissionPeriod(0, 1),), 20_000, "period 1 has a non-positive duration"),
        ((EmissionPeriod(1_000, 1), EmissionPeriod(-5, 1)), 20_000, "period 2 has a non-positive duration"),
        ((EmissionPeriod(1_000, -1),), 20_000, "period 1 has a negative or non-integer amount"),
        ((EmissionPeriod(1_000, 1.5),), 20_000, "period 1 has a negative or non-integer amount"),  # type: ignore[arg-type]
        ((EmissionPeriod(1_000, 1),), 0, "epoch length must be a positive"),
        ((EmissionPeriod(1_000, 1),), -20_000, "epoch length must be a positive"),
        ((EmissionPeriod(1_000, 1),), 20_000.0, "epoch length must be a positive"),
        (((1_000, 1),), 20_000, "period 1 is not an EmissionPeriod"),
    ],
)
def test_bad_schedules_are_rejected(periods: Sequence[EmissionPeriod], epoch_ms: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_periods(periods, epoch_ms)
    with pytest.raises(ValueError, match=message):
        cumulative_emission(periods, epoch_ms, 1)
    with pytest.raises(ValueError, match=message):
        schedule_rows(periods, epoch_ms)


def test_negative_epochs_are_rejected() -> None:
    with pytest.raises(ValueError, match="epoch must be a non-negative integer"):
        epoch_emission(DEV, DEV_EPOCH_MS, -1)
    with pytest.raises(ValueError, match="epoch count must be a non-negative integer"):
        cumulative_emission(DEV, DEV_EPOCH_MS, -1)


periods_strategy = st.lists(
    st.builds(EmissionPeriod, duration_ms=st.integers(1, 10_000), amount=st.integers(0, 10**25)),
    min_size=1,
    max_size=5,
)


@settings(max_examples=60, deadline=None)
@given(periods=periods_strategy, epoch_ms=st.integers(1, 3_000))
def test_any_schedule_sums_exactly_and_spreads_evenly(periods: list[EmissionPeriod], epoch_ms: int) -> None:
    check_schedule(periods, epoch_ms, sum(p.amount for p in periods))
