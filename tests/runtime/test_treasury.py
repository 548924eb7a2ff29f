"""treasury: governance-only spends from the grant funds and releases of the Strategic Reserve."""

from __future__ import annotations

import pytest

from btt_chain.primitives.accounts import module_account
from runtime.context import GOVERNANCE, Origin
from runtime.treasury import events
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


def test_governance_releases_the_strategic_reserve(chain):
    chain.dispatch(GOVERNANCE, "treasury.release_strategic_reserve", acct("dave"), 60 * UNIT)
    reserve = chain.account(RESERVE)
    assert (reserve.free, reserve.frozen) == (150 * UNIT, 150 * UNIT)
    assert chain.account("dave").free == 60 * UNIT
    assert_last_event(chain, events.StrategicReserveReleased(acct("dave"), 60 * UNIT, 150 * UNIT))
    chain.dispatch(GOVERNANCE, "treasury.release_strategic_reserve", acct("dave"), 150 * UNIT)
    assert chain.account(RESERVE).free == chain.account(RESERVE).frozen == 0


def test_signed_origin_cannot_release_the_reserve(chain):
    assert_noop(chain, "alice", "treasury.release_strategic_reserve", acct("alice"), UNIT, error="BadOrigin")


@pytest.mark.parametrize("amount, error", [(0, "ZeroAmount"), (210 * UNIT + 1, "InsufficientFunds")])
def test_release_refusals(chain, amount, error):
    assert_dispatch_noop(chain, GOVERNANCE, "treasury.release_strategic_reserve", acct("bob"), amount, error=error)


def test_the_reserve_stays_frozen_until_released(chain):
    """No lock source knows the reserve, so its genesis freeze stays whatever time it is."""
    for _ in range(3):
        chain.run_block([])
    assert chain.account(RESERVE).frozen == 210 * UNIT
