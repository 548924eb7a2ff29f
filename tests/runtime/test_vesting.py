"""vesting: curves, locks kept lazily up to date, every call's success and failure paths."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btt_chain.primitives.accounts import module_account
from genesis.build import build_genesis, genesis_config
from genesis.loader import load_chain_spec
from runtime.context import GOVERNANCE, Origin
from runtime.overlay import DictState, Overlay
from runtime.system import storage as system
from runtime.vesting import events, storage
from runtime.vesting import logic as vesting_logic
from runtime.vesting.types import LINEAR, MILESTONE, VestingSchedule, compute_locked, compute_unlocked
from tests.support.runtime_builder import (
    SLOT_MS,
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_dispatch_noop,
    assert_last_event,
    assert_noop,
    assert_ok,
)

GENESIS_MS = 1_000_000
CLIFF_MS = GENESIS_MS + 10 * SLOT_MS
"""Block 10's time: a block n runs at GENESIS_MS + n * SLOT_MS."""
END_MS = GENESIS_MS + 20 * SLOT_MS


def block_time(n: int) -> int:
    return GENESIS_MS + n * SLOT_MS


def investor_chain(total: int = 1_000 * UNIT, **kw: object) -> TestChain:
    """dave holds 10 liquid BTT (for fees) plus `total` locked: cliff at block 10, fully unlocked at block 20."""
    schedule = VestingSchedule(total, GENESIS_MS, CLIFF_MS, END_MS, LINEAR)
    return GenesisBuilder(
        balances={"alice": 1_000, "bob": 1_000, "charlie": 100, "dave": 10 + total // UNIT},
        vesting={"dave": (schedule,)},
        **kw,  # type: ignore[arg-type]
    ).build()


def advance_to(chain: TestChain, n: int) -> None:
    """Run empty blocks so that the next block is number `n`."""
    while chain.number < n - 1:
        chain.run_block([])


def schedules_of(chain: TestChain, who: bytes) -> tuple[VestingSchedule, ...]:
    return storage.schedules.get(chain.view(), who)


# --- curves ---------------------------------------------------------------------------------------

def test_linear_curve_is_zero_before_cliff_linear_between_and_total_at_end():
    s = VestingSchedule(1_000, 0, 100, 1_100, LINEAR)
    assert [compute_unlocked(s, t) for t in (0, 99, 100, 101, 600, 1_099, 1_100, 5_000)] == [
        0, 0, 0, 1, 500, 999, 1_000, 1_000,
    ]


def test_milestone_curve_is_the_smaller_of_approved_and_linear_cap():
    s = VestingSchedule(1_000, 0, 0, 1_000, MILESTONE, approved=300)
    assert [compute_unlocked(s, t) for t in (0, 100, 300, 900, 2_000)] == [0, 100, 300, 300, 300]
    assert compute_unlocked(s.replace(approved=1_000), 500) == 500


@given(
    total=st.integers(0, 2**100),
    start=st.integers(0, 10**12),
    cliff_gap=st.integers(0, 10**11),
    duration=st.integers(0, 10**11),
    approved_share=st.integers(0, 100),
    milestone=st.booleans(),
    times=st.lists(st.integers(0, 3 * 10**12), min_size=2, max_size=20),
)
def test_unlocked_never_decreases_and_never_exceeds_total(
    total, start, cliff_gap, duration, approved_share, milestone, times
):
    kind = MILESTONE if milestone else LINEAR
    approved = total * approved_share // 100 if milestone else 0
    s = VestingSchedule(total, start, start + cliff_gap, start + cliff_gap + duration, kind, approved)
    values = [compute_unlocked(s, t) for t in sorted(times)]
    assert all(a <= b for a, b in zip(values, values[1:], strict=False))
    assert all(0 <= v <= total for v in values)
    assert all(compute_locked(s, t) == total - compute_unlocked(s, t) for t in times)


# --- genesis from the real preset -----------------------------------------------------------------

MONTH_MS = 2_592_000 * 1000

# row index -> (total after genesis burns, cliff months, duration months), from TOKENOMICS.md
BTT_21M_ROWS = {
    1: (2_100_000, 6, 36),
    2: (1_050_000, 3, 30),
    3: (630_000, 3, 30),
    4: (630_000, 3, 30),
    5: (420_000, 3, 30),
    6: (1_680_000, 12, 48),
    7: (3_570_000 - 30_000, 0, 48),
}


@pytest.fixture(scope="module")
def btt21m():
    spec = load_chain_spec("btt-21m")
    return spec, genesis_config(spec)


def test_every_locked_row_of_btt21m_has_its_schedule(btt21m):
    spec, config = btt21m
    g0 = spec.genesis_time_ms
    rows = {r.index: r for r in spec.allocations}
    by_account = {v.account: v.schedule for v in config.vesting}
    assert len(by_account) == len(BTT_21M_ROWS)
    for index, (total_btt, cliff_m, duration_m) in BTT_21M_ROWS.items():
        (holder,) = rows[index].holders
        s = by_account[holder.account]
        assert s.total == total_btt * UNIT
        assert (s.start_ms, s.cliff_ms, s.end_ms) == (
            g0, g0 + cliff_m * MONTH_MS, g0 + (cliff_m + duration_m) * MONTH_MS
        )
        assert s.kind == (MILESTONE if index == 7 else LINEAR)
    for index in (8, 9, 10, 11, 12):
        assert all(h.account not in by_account for h in rows[index].holders)


@pytest.mark.parametrize("index", sorted(BTT_21M_ROWS))
def test_btt21m_curve_exact_at_cliff_midway_and_end(btt21m, index):
    spec, config = btt21m
    total_btt, cliff_m, duration_m = BTT_21M_ROWS[index]
    (holder,) = next(r for r in spec.allocations if r.index == index).holders
    s = next(v.schedule for v in config.vesting if v.account == holder.account)
    if s.kind == MILESTONE:
        # the linear cap; what actually unlocks also needs governance approval
        assert compute_unlocked(s, s.end_ms) == 0
        s = s.replace(approved=s.total)
    cliff = spec.genesis_time_ms + cliff_m * MONTH_MS
    mid = cliff + duration_m * MONTH_MS // 2
    end = cliff + duration_m * MONTH_MS
    assert compute_unlocked(s, cliff - 1) == 0
    assert compute_unlocked(s, cliff) == 0
    assert compute_unlocked(s, cliff + MONTH_MS) == total_btt * UNIT // duration_m
    assert compute_unlocked(s, mid) == total_btt * UNIT // 2
    assert compute_unlocked(s, end - 1) < total_btt * UNIT
    assert compute_unlocked(s, end) == total_btt * UNIT
    assert compute_locked(s, end + 1) == 0


def test_btt21m_genesis_state_freezes_schedules_and_reserve(btt21m):
    spec, config = btt21m
    state = Overlay(DictState(build_genesis(spec).state))
    for v in config.vesting:
        acc = system.account.get(state, v.account)
        assert acc.frozen == v.schedule.total == acc.free
        assert storage.schedules.get(state, v.account) == (v.schedule,)
    reserve = system.account.get(state, module_account("strategic_reserve"))
    assert reserve.frozen == reserve.free == 210_000 * UNIT
    assert not storage.schedules.contains(state, module_account("strategic_reserve"))
    assert storage.month_seconds.get(state) == spec.time.month_seconds
    assert storage.year_seconds.get(state) == spec.time.year_seconds


# --- locks at the block's time --------------------------------------------------------------------

def test_locked_investor_cannot_transfer_before_cliff():
    chain = investor_chain()
    assert chain.account("dave").frozen == 1_000 * UNIT
    advance_to(chain, 10)  # the next block runs exactly at the cliff, where nothing has unlocked yet
    assert_noop(chain, "dave", "balances.transfer_allow_death", acct("bob"), 11 * UNIT, error="InsufficientBalance")
    assert chain.account("dave").frozen == 1_000 * UNIT


@pytest.mark.parametrize("extra, ok", [(0, True), (1, False)])
def test_investor_can_spend_exactly_the_unlocked_amount_without_vesting(extra, ok):
    chain = investor_chain(total=777 * UNIT)
    advance_to(chain, 13)  # block 13: 30% of the way from cliff (10) to end (20)
    schedule = schedules_of(chain, acct("dave"))[0]
    locked = compute_locked(schedule, block_time(13))
    assert locked == 777 * UNIT - 777 * UNIT * 3 // 10
    dave = chain.account("dave")
    # the amount is Compact<u128>: the fee is that of an amount of the same encoded length
    fee = chain.fee_of("dave", "balances.transfer_allow_death", acct("bob"), dave.free - locked)
    amount = dave.free - locked - fee + extra
    out = chain.submit("dave", "balances.transfer_allow_death", acct("bob"), amount)
    assert out.success is ok
    if ok:
        assert chain.account("dave").frozen == locked
        assert chain.account("dave").free == locked
    else:
        assert "InsufficientBalance" in (out.error or "")


def test_fee_check_sees_the_unlocked_balance():
    """An account whose whole balance is locked at genesis can pay fees once part of it unlocks."""
    schedule = VestingSchedule(100 * UNIT, GENESIS_MS, CLIFF_MS, END_MS, LINEAR)
    chain = GenesisBuilder(balances={"alice": 1_000, "dave": 100}, vesting={"dave": (schedule,)}).build()
    advance_to(chain, 15)
    assert_ok(chain.submit("dave", "vesting.vest"))
    assert chain.account("dave").frozen == 50 * UNIT


# --- vest, vest_other -------------------------------------------------------------------------------

def test_vest_updates_the_lock_and_emits_locked():
    chain = investor_chain()
    advance_to(chain, 12)
    assert_ok(chain.submit("dave", "vesting.vest"))
    assert chain.account("dave").frozen == 800 * UNIT
    assert_last_event(chain, events.Vested(acct("dave"), 800 * UNIT))


def test_vest_after_the_end_unlocks_everything_and_removes_the_schedule():
    chain = investor_chain()
    advance_to(chain, 20)
    assert_ok(chain.submit("dave", "vesting.vest"))
    assert chain.account("dave").frozen == 0
    assert not storage.schedules.contains(chain.view(), acct("dave"))
    assert_last_event(chain, events.VestingCompleted(acct("dave")))


def test_vest_without_schedule_fails():
    chain = investor_chain()
    assert_noop(chain, "bob", "vesting.vest", error="NotVesting")


def test_vest_other_updates_the_target():
    chain = investor_chain()
    advance_to(chain, 15)
    assert_ok(chain.submit("bob", "vesting.vest_other", acct("dave")))
    assert chain.account("dave").frozen == 500 * UNIT
    assert_last_event(chain, events.Vested(acct("dave"), 500 * UNIT))


def test_vest_other_without_schedule_fails():
    chain = investor_chain()
    assert_noop(chain, "bob", "vesting.vest_other", acct("charlie"), error="NotVesting")


# --- vested_transfer --------------------------------------------------------------------------------

def test_vested_transfer_moves_and_locks():
    chain = investor_chain()
    cliff, end = block_time(30), block_time(40)
    bob0 = chain.account("bob").free
    assert_ok(chain.submit("bob", "vesting.vested_transfer", acct("eve"), 5 * UNIT, cliff, end))
    eve = chain.account("eve")
    assert (eve.free, eve.frozen) == (5 * UNIT, 5 * UNIT)
    assert chain.account("bob").free < bob0 - 5 * UNIT
    assert schedules_of(chain, acct("eve")) == (VestingSchedule(5 * UNIT, block_time(1), cliff, end, LINEAR),)
    assert_last_event(chain, events.VestedTransfer(acct("bob"), acct("eve"), 5 * UNIT, cliff, end))
    assert chain.account("eve").spendable == 0


def test_vested_transfer_below_minimum_fails():
    chain = investor_chain()
    assert_noop(chain, "bob", "vesting.vested_transfer", acct("eve"), UNIT - 1, block_time(30), block_time(40),
                error="AmountLow")


@pytest.mark.parametrize("cliff, end", [(block_time(40), block_time(30)), (0, 1), (block_time(30), 0)])
def test_vested_transfer_with_bad_times_fails(cliff, end):
    chain = investor_chain()
    assert_noop(chain, "bob", "vesting.vested_transfer", acct("eve"), UNIT, cliff, end, error="InvalidSchedule")


def test_vested_transfer_beyond_max_schedules_fails():
    chain = investor_chain(params={"vesting.max_schedules": 1})
    assert_noop(chain, "bob", "vesting.vested_transfer", acct("dave"), UNIT, block_time(30), block_time(40),
                error="TooManySchedules")


def test_vested_transfer_more_than_spendable_fails():
    chain = investor_chain()
    assert_noop(chain, "charlie", "vesting.vested_transfer", acct("eve"), 200 * UNIT, block_time(30),
                block_time(40), error="InsufficientBalance")


# --- merge_schedules --------------------------------------------------------------------------------

def two_schedule_chain() -> TestChain:
    a = VestingSchedule(100 * UNIT, GENESIS_MS, block_time(10), block_time(20), LINEAR)
    b = VestingSchedule(300 * UNIT, GENESIS_MS, block_time(14), block_time(18), LINEAR)
    m = VestingSchedule(50 * UNIT, GENESIS_MS, GENESIS_MS, block_time(100), MILESTONE)
    return GenesisBuilder(balances={"alice": 1_000, "dave": 500}, vesting={"dave": (a, b, m)}).build()


def test_merge_schedules_takes_locked_sum_later_cliff_and_later_end():
    chain = two_schedule_chain()
    assert_ok(chain.submit("dave", "vesting.merge_schedules", 0, 1))
    merged = VestingSchedule(400 * UNIT, block_time(1), block_time(14), block_time(20), LINEAR)
    assert schedules_of(chain, acct("dave"))[-1] == merged
    assert len(schedules_of(chain, acct("dave"))) == 2
    assert chain.account("dave").frozen == 450 * UNIT
    assert_last_event(chain, events.SchedulesMerged(acct("dave"), 400 * UNIT, block_time(14), block_time(20)))


def test_merge_after_partial_unlock_locks_only_what_was_still_locked():
    chain = two_schedule_chain()
    advance_to(chain, 15)
    assert_ok(chain.submit("dave", "vesting.merge_schedules", 1, 0))
    # a: 50 of 100 locked; b: 225 of 300 locked (1 of 4 blocks past its cliff)
    merged = schedules_of(chain, acct("dave"))[-1]
    assert merged == VestingSchedule(275 * UNIT, block_time(15), block_time(15), block_time(20), LINEAR)
    assert chain.account("dave").frozen == 275 * UNIT + 50 * UNIT


@given(t=st.integers(GENESIS_MS, block_time(25)), now=st.integers(GENESIS_MS, block_time(25)))
def test_merged_schedule_never_unlocks_earlier(t, now):
    a = VestingSchedule(100 * UNIT + 7, GENESIS_MS, block_time(10), block_time(20), LINEAR)
    b = VestingSchedule(300 * UNIT + 3, GENESIS_MS, block_time(14), block_time(18), LINEAR)
    merged = VestingSchedule(
        compute_locked(a, now) + compute_locked(b, now), now, max(a.cliff_ms, b.cliff_ms, now),
        max(a.end_ms, b.end_ms, now), LINEAR,
    )
    if t >= now:
        assert compute_locked(merged, t) + 1 >= compute_locked(a, t) + compute_locked(b, t)


@pytest.mark.parametrize("i, j, error", [(0, 0, "CannotMerge"), (0, 2, "CannotMerge"), (0, 3,
                                                                                      "ScheduleIndexOutOfBounds")])
def test_merge_schedules_refusals(i, j, error):
    chain = two_schedule_chain()
    assert_noop(chain, "dave", "vesting.merge_schedules", i, j, error=error)


def test_merge_schedules_without_schedules_fails():
    chain = two_schedule_chain()
    assert_noop(chain, "alice", "vesting.merge_schedules", 0, 1, error="NotVesting")


# --- approve_tranche --------------------------------------------------------------------------------

FOUNDATION = module_account("foundation")


def foundation_chain() -> TestChain:
    """The foundation holds 1,000 BTT under a milestone schedule whose linear cap runs blocks 0..100."""
    s = VestingSchedule(1_000 * UNIT, GENESIS_MS, GENESIS_MS, block_time(100), MILESTONE)
    return GenesisBuilder(module_balances={"foundation": (1_000, 1_000)}, vesting={"foundation": (s,)}).build()


def test_approve_tranche_by_governance_unlocks_up_to_the_linear_cap():
    chain = foundation_chain()
    chain.dispatch(GOVERNANCE, "vesting.approve_tranche", FOUNDATION, 30 * UNIT)  # block 1: cap 10 BTT
    assert_last_event(chain, events.TrancheApproved(FOUNDATION, 30 * UNIT, 30 * UNIT))
    assert schedules_of(chain, FOUNDATION)[0].approved == 30 * UNIT
    assert chain.account(FOUNDATION).frozen == 990 * UNIT
    chain.dispatch(GOVERNANCE, "vesting.approve_tranche", FOUNDATION, 970 * UNIT)  # block 2: cap 20 BTT
    assert chain.account(FOUNDATION).frozen == 980 * UNIT
    advance_to(chain, 50)
    s = schedules_of(chain, FOUNDATION)[0]
    assert compute_unlocked(s, block_time(50)) == 500 * UNIT


def test_approve_tranche_beyond_total_fails():
    chain = foundation_chain()
    chain.dispatch(GOVERNANCE, "vesting.approve_tranche", FOUNDATION, 600 * UNIT)
    assert_dispatch_noop(chain, GOVERNANCE, "vesting.approve_tranche", FOUNDATION, 400 * UNIT + 1,
                         error="TrancheExceedsTotal")


def test_approve_tranche_by_signed_origin_fails():
    chain = foundation_chain()
    assert_noop(chain, "alice", "vesting.approve_tranche", FOUNDATION, UNIT, error="BadOrigin")
    assert_dispatch_noop(chain, Origin.signed(acct("alice")), "vesting.approve_tranche", FOUNDATION, UNIT,
                         error="BadOrigin")


def test_approve_tranche_needs_a_milestone_schedule_and_an_amount():
    chain = investor_chain()
    assert_dispatch_noop(chain, GOVERNANCE, "vesting.approve_tranche", acct("dave"), UNIT,
                         error="NoMilestoneSchedule")
    assert_dispatch_noop(chain, GOVERNANCE, "vesting.approve_tranche", acct("dave"), 0, error="ZeroAmount")


def test_an_extrinsic_refused_for_its_fee_leaves_no_trace_in_the_block():
    """The inclusion check sees the unlocked balance but writes nothing: an importer never runs the refused
    extrinsic, so a write there would change the state root."""
    from btt_chain.primitives.errors import InvalidExtrinsic

    schedule = VestingSchedule(100 * UNIT, GENESIS_MS, CLIFF_MS, GENESIS_MS + 10**12, LINEAR)
    chain = GenesisBuilder(balances={"alice": 1_000, "dave": 100}, vesting={"dave": (schedule,)}).build()
    advance_to(chain, 11)  # a tiny amount has unlocked, far below the fee
    xt = chain.sign("dave", "vesting.vest")
    ex = chain.begin_block()
    with pytest.raises(InvalidExtrinsic, match="cannot pay fee"):
        chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
    assert system.account.key(acct("dave")) not in ex.state.changes()
    chain.end_block()
    assert chain.account("dave").frozen == 100 * UNIT


# --- shrinking a schedule (milestone burns) -----------------------------------------------------------------

def test_shrunk_schedule_keeps_the_pace_and_ends_sooner():
    s = VestingSchedule(1_000, 0, 100, 1_100, MILESTONE, approved=600)
    shrunk = vesting_logic.compute_shrunk_schedule(s, 300, 400)
    assert shrunk == VestingSchedule(700, 0, 100, 800, MILESTONE, approved=600)
    assert [compute_unlocked(shrunk, t) for t in (0, 400, 700, 800, 5_000)] == [
        compute_unlocked(s, t) for t in (0, 400, 700, 800, 5_000)
    ]
    assert [compute_locked(shrunk, t) for t in (0, 400, 700)] == [compute_locked(s, t) - 300 for t in (0, 400, 700)]


def test_a_schedule_cannot_shrink_below_what_is_approved_or_unlocked():
    from runtime.vesting.errors import CannotShrink, ZeroAmount

    milestone = VestingSchedule(1_000, 0, 0, 1_000, MILESTONE, approved=600)
    assert vesting_logic.compute_shrinkable(milestone, 100) == 400
    vesting_logic.compute_shrunk_schedule(milestone, 400, 100)
    with pytest.raises(CannotShrink):
        vesting_logic.compute_shrunk_schedule(milestone, 401, 100)
    linear = VestingSchedule(1_000, 0, 0, 1_000, LINEAR)
    assert vesting_logic.compute_shrinkable(linear, 250) == 750
    with pytest.raises(CannotShrink):
        vesting_logic.compute_shrunk_schedule(linear, 751, 250)
    with pytest.raises(ZeroAmount):
        vesting_logic.compute_shrunk_schedule(linear, 0, 250)
    assert vesting_logic.compute_shrunk_schedule(linear.replace(cliff_ms=500), 1_000, 0).total == 0


@given(
    total=st.integers(1, 2**100),
    cliff=st.integers(0, 10**11),
    duration=st.integers(0, 10**11),
    approved_share=st.integers(0, 100),
    milestone=st.booleans(),
    now=st.integers(0, 3 * 10**11),
    burn_share=st.integers(1, 100),
    times=st.lists(st.integers(0, 3 * 10**11), min_size=1, max_size=20),
)
def test_a_shrunk_schedule_never_locks_again_what_had_unlocked(
    total, cliff, duration, approved_share, milestone, now, burn_share, times
):
    """From the burn on, the lock is what it was minus the amount (or nothing), never more: a holder that
    spent what had unlocked still holds at least its lock. Rounding may only unlock slightly sooner."""
    kind = MILESTONE if milestone else LINEAR
    approved = total * approved_share // 100 if milestone else 0
    s = VestingSchedule(total, 0, cliff, cliff + duration, kind, approved)
    amount = vesting_logic.compute_shrinkable(s, now) * burn_share // 100
    if amount == 0:
        return
    shrunk = vesting_logic.compute_shrunk_schedule(s, amount, now)
    assert shrunk.total == total - amount and shrunk.approved == approved
    for t in [now, *(t for t in times if t >= now)]:
        assert compute_unlocked(shrunk, t) >= min(compute_unlocked(s, t), shrunk.total)
        assert compute_locked(shrunk, t) <= max(0, compute_locked(s, t) - amount)


def test_shrink_milestone_schedule_lowers_the_lock():
    chain = foundation_chain()
    ex = chain.begin_block()
    shrunk = vesting_logic.shrink_milestone_schedule(ex.ctx, FOUNDATION, 400 * UNIT)
    chain.end_block()
    assert schedules_of(chain, FOUNDATION) == (shrunk,)
    assert shrunk.total == 600 * UNIT
    foundation = chain.account(FOUNDATION)
    assert (foundation.free, foundation.frozen) == (1_000 * UNIT, 600 * UNIT - compute_unlocked(shrunk, block_time(1)))


def test_shrink_milestone_schedule_refusals_change_nothing():
    from btt_chain.primitives.errors import DispatchError

    chain = foundation_chain()
    for who, amount, error in (
        (acct("dave"), UNIT, "NoMilestoneSchedule"),
        (FOUNDATION, 0, "ZeroAmount"),
        (FOUNDATION, 1_000 * UNIT + 1, "CannotShrink"),
    ):
        ex = chain.begin_block()
        with pytest.raises(DispatchError, match=error):
            vesting_logic.shrink_milestone_schedule(ex.ctx, who, amount)
        changed = ex.ctx.state.changes()
        assert storage.schedules.key(who) not in changed and system.account.key(who) not in changed
        chain.end_block()


def test_filling_a_strangers_schedule_slots_is_costly_and_undone_by_merging():
    # the reported griefing: 1-BTT vested transfers fill eve's schedule slots so that a real one fails. The live
    # minimum vested transfer is 100 BTT (Substrate's MinVestedTransfer): filling 4 slots hands eve 400 BTT,
    # and eve frees a slot by merging two schedules.
    minimum = 100 * UNIT
    chain = GenesisBuilder(balances={"alice": 10_000, "bob": 1_000, "eve": 10},
                           params={"vesting.min_transfer": minimum, "vesting.max_schedules": 4}).build()
    assert_noop(chain, "alice", "vesting.vested_transfer", acct("eve"), UNIT, block_time(30), block_time(40),
                error="AmountLow")
    for _ in range(4):
        assert_ok(chain.submit("alice", "vesting.vested_transfer", acct("eve"), minimum, block_time(30),
                               block_time(40)))
    assert chain.account("eve").free == 10 * UNIT + 4 * minimum  # the attacker paid eve for each slot
    assert_noop(chain, "bob", "vesting.vested_transfer", acct("eve"), 500 * UNIT, block_time(50), block_time(60),
                error="TooManySchedules")
    assert_ok(chain.submit("eve", "vesting.merge_schedules", 0, 1))
    assert_ok(chain.submit("bob", "vesting.vested_transfer", acct("eve"), 500 * UNIT, block_time(50),
                           block_time(60)))
    assert len(schedules_of(chain, acct("eve"))) == 4
