"""treasury: governance-only spends from the grant funds, emergency-only releases of the Strategic Reserve, and
milestone burns from the Foundation allocation."""

from __future__ import annotations

import pytest

from btt_chain.primitives.accounts import module_account
from runtime.context import EMERGENCY, GOVERNANCE, ROOT, Origin
from runtime.system import storage as system
from runtime.treasury import events, storage
from runtime.treasury.types import Milestone
from runtime.vesting import storage as vesting_storage
from runtime.vesting.types import MILESTONE, VestingSchedule
from tests.support.runtime_builder import (
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_dispatch_noop,
    assert_last_event,
    assert_noop,
)

ECOSYSTEM = module_account("ecosystem_fund")
INCENTIVES = module_account("community_incentives")
RESERVE = module_account("strategic_reserve")


@pytest.fixture
def chain() -> TestChain:
    return GenesisBuilder(
        module_balances={
            "ecosystem_fund": (1_000, 0),
            "community_incentives": (500, 0),
            "strategic_reserve": (210, 210),
            "mining_pool": (300, 0),
        }
    ).build()


@pytest.mark.parametrize("source, fund", [("ecosystem_fund", ECOSYSTEM), ("community_incentives", INCENTIVES)])
def test_governance_spends_a_grant(chain, source, fund):
    before = chain.account(fund).free
    chain.dispatch(GOVERNANCE, "treasury.spend", source, acct("dave"), 100 * UNIT)
    assert chain.account("dave").free == 100 * UNIT
    assert chain.account(fund).free == before - 100 * UNIT
    assert_last_event(chain, events.Spent(source, acct("dave"), 100 * UNIT))


def test_governance_may_empty_a_fund(chain):
    chain.dispatch(GOVERNANCE, "treasury.spend", "community_incentives", acct("bob"), 500 * UNIT)
    assert chain.account(INCENTIVES).free == 0


def test_signed_origin_cannot_spend(chain):
    assert_noop(chain, "alice", "treasury.spend", "ecosystem_fund", acct("alice"), UNIT, error="BadOrigin")
    assert_dispatch_noop(chain, Origin.signed(acct("alice")), "treasury.spend", "ecosystem_fund", acct("alice"),
                         UNIT, error="BadOrigin")


@pytest.mark.parametrize("source", ["strategic_reserve", "mining_pool", "foundation", "nonsense"])
def test_spend_from_other_accounts_fails(chain, source):
    assert_dispatch_noop(chain, GOVERNANCE, "treasury.spend", source, acct("bob"), UNIT, error="UnknownSource")


@pytest.mark.parametrize(
    "amount, error",
    [(0, "ZeroAmount"), (1_000 * UNIT + 1, "InsufficientFunds"), (1_000 * UNIT - UNIT // 1000, "WouldLeaveDust")],
)
def test_spend_refusals(chain, amount, error):
    assert_dispatch_noop(chain, GOVERNANCE, "treasury.spend", "ecosystem_fund", acct("bob"), amount, error=error)


def test_spend_below_existential_deposit_to_new_account_fails(chain):
    assert_dispatch_noop(chain, GOVERNANCE, "treasury.spend", "ecosystem_fund", acct("eve"), 1,
                         error="ExistentialDeposit")


def test_the_emergency_track_may_spend_too(chain):
    chain.dispatch(EMERGENCY, "treasury.spend", "ecosystem_fund", acct("dave"), 5 * UNIT)
    assert chain.account("dave").free == 5 * UNIT


def test_emergency_releases_the_strategic_reserve(chain):
    chain.dispatch(EMERGENCY, "treasury.release_strategic_reserve", acct("dave"), 60 * UNIT)
    reserve = chain.account(RESERVE)
    assert (reserve.free, reserve.frozen) == (150 * UNIT, 150 * UNIT)
    assert chain.account("dave").free == 60 * UNIT
    assert_last_event(chain, events.StrategicReserveReleased(acct("dave"), 60 * UNIT, 150 * UNIT))
    chain.dispatch(ROOT, "treasury.release_strategic_reserve", acct("dave"), 150 * UNIT)
    assert chain.account(RESERVE).free == chain.account(RESERVE).frozen == 0


def test_signed_origin_cannot_release_the_reserve(chain):
    assert_noop(chain, "alice", "treasury.release_strategic_reserve", acct("alice"), UNIT, error="BadOrigin")


def test_a_standard_referendum_cannot_release_the_reserve(chain):
    assert_dispatch_noop(chain, GOVERNANCE, "treasury.release_strategic_reserve", acct("bob"), UNIT,
                         error="emergency-track")


@pytest.mark.parametrize("amount, error", [(0, "ZeroAmount"), (210 * UNIT + 1, "InsufficientFunds")])
def test_release_refusals(chain, amount, error):
    assert_dispatch_noop(chain, EMERGENCY, "treasury.release_strategic_reserve", acct("bob"), amount, error=error)


def test_the_reserve_stays_frozen_until_released(chain):
    """No lock source knows the reserve, so its genesis freeze stays whatever time it is."""
    for _ in range(3):
        chain.run_block([])
    assert chain.account(RESERVE).frozen == 210 * UNIT


# --- milestone burns ------------------------------------------------------------------------------------

FOUNDATION = module_account("foundation")
GENESIS_MS = 1_000_000
END_MS = GENESIS_MS + 1_000_000
"""The foundation's linear cap runs over 1,000 blocks (a test block is 1,000 ms)."""


def foundation_chain(approved: int = 0, **kw: object) -> TestChain:
    """The foundation holds 1,000 BTT under a milestone schedule (30 BTT were burned at genesis already)."""
    schedule = VestingSchedule(1_000 * UNIT, GENESIS_MS, GENESIS_MS, END_MS, MILESTONE, approved * UNIT)
    return GenesisBuilder(
        module_balances={"foundation": (1_000, 1_000)},
        vesting={"foundation": (schedule,)},
        milestones=(("launch", 30, True), ("hospitals_100", 70, False), ("hospitals_1000", 170, False)),
        burned_at_genesis=30 * UNIT,
        **kw,  # type: ignore[arg-type]
    ).build()


def foundation_schedule(chain: TestChain) -> VestingSchedule:
    return vesting_storage.schedules.get(chain.view(), FOUNDATION)[0]


def test_genesis_stores_the_milestones():
    chain = foundation_chain()
    assert dict(storage.milestones.items(chain.view())) == {
        "launch": Milestone(30 * UNIT, True),
        "hospitals_100": Milestone(70 * UNIT, False),
        "hospitals_1000": Milestone(170 * UNIT, False),
    }


def test_a_milestone_burn_lowers_issuance_once():
    chain = foundation_chain()
    issuance = system.total_issuance.get(chain.view())
    burned = system.total_burned.get(chain.view())
    chain.dispatch(GOVERNANCE, "treasury.execute_milestone_burn", "hospitals_100")
    assert_last_event(chain, events.MilestoneBurned("hospitals_100", 70 * UNIT))
    assert system.total_issuance.get(chain.view()) == issuance - 70 * UNIT
    assert system.total_burned.get(chain.view()) == burned + 70 * UNIT
    assert storage.milestones.get(chain.view(), "hospitals_100") == Milestone(70 * UNIT, True)
    # the foundation's balance and its lock both shrink by the amount; nothing becomes spendable
    foundation = chain.account(FOUNDATION)
    assert (foundation.free, foundation.frozen) == (930 * UNIT, 930 * UNIT)
    assert foundation_schedule(chain).total == 930 * UNIT
    assert_dispatch_noop(chain, GOVERNANCE, "treasury.execute_milestone_burn", "hospitals_100",
                         error="MilestoneAlreadyExecuted")
    assert system.total_issuance.get(chain.view()) == issuance - 70 * UNIT


def test_a_milestone_burned_at_genesis_cannot_burn_again():
    chain = foundation_chain()
    assert_dispatch_noop(chain, GOVERNANCE, "treasury.execute_milestone_burn", "launch",
                         error="MilestoneAlreadyExecuted")


def test_an_unknown_milestone_fails():
    chain = foundation_chain()
    assert_dispatch_noop(chain, GOVERNANCE, "treasury.execute_milestone_burn", "moon_landing",
                         error="UnknownMilestone")


def test_signed_origin_cannot_burn_a_milestone():
    chain = foundation_chain()
    assert_noop(chain, "alice", "treasury.execute_milestone_burn", "hospitals_100", error="BadOrigin")
    assert_dispatch_noop(chain, Origin.signed(acct("alice")), "treasury.execute_milestone_burn", "hospitals_100",
                         error="BadOrigin")


def test_the_burn_keeps_what_has_unlocked_unlocked():
    """Approvals ran ahead of the linear cap (800 approved, 100 unlocked at block 100): the burn comes off the
    schedule's tail, so the 100 unlocked stay spendable and the lock falls by exactly the amount."""
    chain = foundation_chain(approved=800)
    for _ in range(99):
        chain.run_block([])
    chain.dispatch(GOVERNANCE, "treasury.execute_milestone_burn", "hospitals_1000")  # block 100
    foundation = chain.account(FOUNDATION)
    assert (foundation.free, foundation.frozen) == (830 * UNIT, 730 * UNIT)
    schedule = foundation_schedule(chain)
    assert (schedule.total, schedule.approved, schedule.end_ms) == (830 * UNIT, 800 * UNIT, GENESIS_MS + 830_000)


def test_the_foundation_must_cover_the_burn():
    """Only the locked, unapproved remainder of the allocation can be burned."""
    chain = foundation_chain(approved=950)
    assert_dispatch_noop(chain, GOVERNANCE, "treasury.execute_milestone_burn", "hospitals_100",
                         error="FoundationCannotCover")


def test_a_foundation_without_a_milestone_schedule_cannot_cover_it():
    chain = GenesisBuilder(
        module_balances={"foundation": (1_000, 0)}, milestones=(("hospitals_100", 70, False),)
    ).build()
    assert_dispatch_noop(chain, GOVERNANCE, "treasury.execute_milestone_burn", "hospitals_100",
                         error="FoundationCannotCover")
