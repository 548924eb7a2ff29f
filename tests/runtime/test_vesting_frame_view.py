"""FRAME's `Vesting.Vesting` records computed from btt's time-based schedules (`runtime.vesting.frame_view`): at the
block asked about, FRAME's own arithmetic over them (what Substrate API Sidecar and @polkadot/api compute) gives
exactly what btt has unlocked, and the rest is exactly btt's vesting lock; every record is one FRAME would accept
(a non-zero pace, a u32 block number); later blocks are a close projection. Hostile figures (u128 totals, a cliff
centuries away, a zero-length curve, a milestone held by governance) cannot break either."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.primitives import scale
from runtime.vesting.frame_view import (
    BLOCK_NUMBER_MAX,
    VESTING,
    VestingInfo,
    frame_records,
    pace_per_block,
)
from runtime.vesting.types import LINEAR, MILESTONE, VestingSchedule, compute_locked, compute_unlocked

UNIT = 10**18
SLOT = 1_000
T0 = 1_800_000_000_000


def frame_vested(records: tuple[VestingInfo, ...], n: int) -> int:
    """pallet_vesting's vested amount at block `n` (what clients compute): min(locked, per_block x elapsed)."""
    return sum(min(r.locked, r.per_block * (n - r.starting_block)) for r in records if n > r.starting_block)


def schedule(total: int, cliff_after: int, span: int, kind: str = LINEAR, approved: int = 0) -> VestingSchedule:
    return VestingSchedule(total, T0, T0 + cliff_after, T0 + cliff_after + span, kind, approved)


def assert_exact(s: VestingSchedule, n: int, now: int) -> tuple[VestingInfo, ...]:
    records = frame_records(s, n, now, SLOT)
    assert frame_vested(records, n) == compute_unlocked(s, now)
    assert sum(r.locked for r in records) - frame_vested(records, n) == compute_locked(s, now)
    assert sum(r.locked for r in records) == s.total
    for r in records:  # records FRAME accepts
        assert r.locked > 0 and r.per_block > 0 and 0 <= r.starting_block <= BLOCK_NUMBER_MAX
        assert r.locked < 2**128 and r.per_block < 2**128
    return records


def test_before_the_cliff_nothing_is_vested_and_the_curve_starts_at_the_cliffs_block() -> None:
    s = schedule(1_000 * UNIT, cliff_after=180_500, span=1_800_000)
    [rest] = assert_exact(s, 10, T0 + 10 * SLOT)
    assert rest == VestingInfo(1_000 * UNIT, pace_per_block(s, T0, SLOT), 10 + 171)  # 170.5 slots to the cliff
    assert rest.per_block == -(-1_000 * UNIT * SLOT // 1_800_000)


def test_midway_the_vested_part_and_the_rest_are_two_records() -> None:
    s = schedule(1_000 * UNIT, cliff_after=0, span=1_800_000)
    now = T0 + 600_000
    done, rest = assert_exact(s, 600, now)
    assert done == VestingInfo(compute_unlocked(s, now), compute_unlocked(s, now), 599)
    assert rest.starting_block == 600 and rest.locked == compute_locked(s, now)


def test_after_the_end_everything_is_one_vested_record() -> None:
    s = schedule(7 * UNIT, cliff_after=1_000, span=5_000)
    [done] = assert_exact(s, 99, T0 + 10**9)
    assert done == VestingInfo(7 * UNIT, 7 * UNIT, 98)


def test_a_milestone_held_by_governance_releases_only_what_was_approved() -> None:
    s = schedule(100 * UNIT, cliff_after=0, span=10_000, kind=MILESTONE, approved=30 * UNIT)
    done, rest = assert_exact(s, 50, T0 + 9_000)  # the line allows 90, governance 30
    assert done.locked == 30 * UNIT and rest.per_block == 1  # waits for governance: FRAME's least pace
    early = assert_exact(s, 2, T0 + 1_000)  # the line (10) binds before governance's 30 does
    assert early[-1].per_block == pace_per_block(s, T0 + 1_000, SLOT) > 1


def test_hostile_figures_still_give_valid_exact_records() -> None:
    huge = 2**128 - 1
    for s, n, now in (
        (schedule(huge, cliff_after=0, span=1), 5, T0),  # u128 total, one millisecond of curve
        (schedule(huge, cliff_after=0, span=2**63), 5, T0 + 2**62),
        (schedule(1, cliff_after=0, span=0), 5, T0),  # everything at the cliff, which is now
        (schedule(5 * UNIT, cliff_after=10**15, span=10), 5, T0),  # a cliff 30,000 years away: u32 clamp
        (schedule(1, cliff_after=0, span=10**12), 1, T0 + 1),  # a pace far below a base unit a block
        (schedule(3, cliff_after=0, span=9), 0, T0 + 4),  # block 0: nothing before it
    ):
        if n == 0:
            records = frame_records(s, n, now, SLOT)
            assert sum(r.locked for r in records) == s.total and all(r.starting_block == 0 for r in records)
            continue
        assert_exact(s, n, now)
    assert frame_records(schedule(5 * UNIT, 10**15, 10), 5, T0, SLOT)[0].starting_block == BLOCK_NUMBER_MAX
    assert frame_records(schedule(5, 100, 1_000), 5, T0, 0)  # a state without a slot length divides by nothing


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(1, 2**100),
    cliff_after=st.integers(0, 10**7),
    span=st.integers(0, 10**8),
    elapsed=st.integers(0, 2 * 10**8),
    n=st.integers(1, 10**6),
    milestone=st.booleans(),
    approved_part=st.integers(0, 1000),
)
def test_at_the_block_frames_arithmetic_is_btts_figure(total: int, cliff_after: int, span: int, elapsed: int, n: int,
                                                       milestone: bool, approved_part: int) -> None:
    approved = total * approved_part // 1000 if milestone else 0
    s = schedule(total, cliff_after, span, MILESTONE if milestone else LINEAR, approved)
    assert_exact(s, n, T0 + elapsed)


@settings(max_examples=200, deadline=None)
@given(total=st.integers(1, 2**90), cliff_after=st.integers(0, 10**6), span=st.integers(1, 10**7),
       elapsed=st.integers(0, 2 * 10**7), later=st.integers(1, 500))
def test_later_blocks_are_a_close_projection_while_every_slot_has_a_block(total: int, cliff_after: int, span: int,
                                                                          elapsed: int, later: int) -> None:
    """Read at block n, the records say at block n + k within one pace and a base unit a block of what btt unlocks
    k slots later (pace rounds up; the cliff's block rounds to a slot)."""
    s = schedule(total, cliff_after, span)
    now, n = T0 + elapsed, 100
    records = frame_records(s, n, now, SLOT)
    projected = frame_vested(records, n + later)
    real = compute_unlocked(s, now + later * SLOT)
    assert abs(projected - real) <= pace_per_block(s, now, SLOT) + later + 1


def test_the_value_is_the_scale_of_a_vec_of_records() -> None:
    records = (VestingInfo(5, 1, 7), VestingInfo(2**128 - 1, 3, BLOCK_NUMBER_MAX))
    expected = scale.encode_compact(2) + b"".join(
        r.locked.to_bytes(16, "little") + r.per_block.to_bytes(16, "little") + r.starting_block.to_bytes(4, "little")
        for r in records)
    assert VESTING.encode_scale(records) == expected
