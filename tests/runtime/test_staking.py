"""staking: term deposits, their yield from Community Incentives (never minted), burns, and the fee share."""

from __future__ import annotations

import pytest

from btt_chain.primitives.accounts import module_account
from runtime.staking import events, logic
from runtime.staking import storage as staking
from runtime.staking.types import Benefits, Deposit
from runtime.system import storage as system
from tests.support.runtime_builder import UNIT, GenesisBuilder, acct, assert_last_event, assert_noop, assert_ok

DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
POOL = module_account("community_incentives")
POT = module_account("staker_rewards")
TIERS = {
    # name: (lock days, yield bps, minimum BTT, burn bps)
    "30d": (30, 300, 1_000, 0),
    "90d": (90, 500, 5_000, 0),
    "180d": (180, 800, 10_000, 0),
    "365d": (365, 1_200, 50_000, 1_000),
    "1095d": (1_095, 1_800, 100_000, 2_000),
}


def make_chain(pool: int = 200_000):
    return GenesisBuilder(
        balances={"alice": 1_000, "bob": 300_000, "charlie": 300_000, "dave": 100},
        module_balances={"community_incentives": (pool, 0)},
    ).build()


@pytest.fixture
def chain():
    return make_chain()


def stake(chain, who: str, tier: str, amount: int) -> Deposit:
    assert_ok(chain.submit(who, "staking.stake", tier, amount))
    deps = staking.deposits_of(chain.view(), acct(who))
    return max(deps, key=lambda d: d.id)


def issuance(chain) -> int:
    return system.total_issuance.get(chain.view())


def test_stake_reserves_and_opens_a_deposit(chain):
    bob0 = chain.account("bob")
    out = chain.submit("bob", "staking.stake", "90d", 5_000 * UNIT)
    assert_ok(out)
    bob = chain.account("bob")
    assert bob.reserved == bob0.reserved + 5_000 * UNIT
    assert bob.free == bob0.free - 5_000 * UNIT - out.fee
    (dep,) = staking.deposits_of(chain.view(), acct("bob"))
    now = system.timestamp_ms.get(chain.view())
    assert dep == Deposit(0, acct("bob"), 1, 5_000 * UNIT, now, now + 90 * DAY_MS)
    assert logic.staked_total(chain.view(), acct("bob")) == 5_000 * UNIT
    assert_last_event(chain, events.Staked(acct("bob"), 0, "90d", 5_000 * UNIT, now + 90 * DAY_MS))


def test_stake_below_minimum_fails(chain):
    assert_noop(chain, "bob", "staking.stake", "30d", 1_000 * UNIT - 1, error="BelowMinimum")
    assert_noop(chain, "bob", "staking.stake", "1095d", 99_999 * UNIT, error="BelowMinimum")


def test_stake_unknown_tier_fails(chain):
    assert_noop(chain, "bob", "staking.stake", "60d", 10_000 * UNIT, error="UnknownTier")


def test_stake_more_than_spendable_fails(chain):
    assert_noop(chain, "dave", "staking.stake", "30d", 1_000 * UNIT, error="InsufficientBalance")


def test_unstake_before_lock_end_fails(chain):
    dep = stake(chain, "bob", "30d", 1_000 * UNIT)
    chain.advance_time(30 * DAY_MS - 10_000)
    assert_noop(chain, "bob", "staking.unstake", dep.id, error="StillLocked")


def test_unstake_someone_elses_deposit_fails(chain):
    dep = stake(chain, "bob", "30d", 1_000 * UNIT)
    chain.advance_time(30 * DAY_MS)
    assert_noop(chain, "charlie", "staking.unstake", dep.id, error="NotOwner")


def test_unstake_unknown_and_twice_fails(chain):
    assert_noop(chain, "bob", "staking.unstake", 7, error="UnknownDeposit")
    dep = stake(chain, "bob", "30d", 1_000 * UNIT)
    chain.advance_time(30 * DAY_MS)
    assert_ok(chain.submit("bob", "staking.unstake", dep.id))
    assert_noop(chain, "bob", "staking.unstake", dep.id, error="UnknownDeposit")


@pytest.mark.parametrize("tier", list(TIERS))
def test_full_lock_pays_exact_yield_from_the_pool_and_burns_the_tier_share(chain, tier):
    days, bps, minimum, burn_bps = TIERS[tier]
    principal = minimum * UNIT
    dep = stake(chain, "bob", tier, principal)
    assert dep.unlock_ms - dep.start_ms == days * DAY_MS
    # well past the lock: elapsed is capped at the lock length
    chain.advance_time(days * DAY_MS + 5 * DAY_MS)
    owed = principal * bps * days * DAY_MS // (YEAR_MS * 10_000)
    burned = owed * burn_bps // 10_000
    bob0, pool0, issued0 = chain.account("bob"), chain.account(POOL), issuance(chain)
    out = chain.submit("bob", "staking.unstake", dep.id)
    assert_ok(out)
    bob = chain.account("bob")
    assert bob.reserved == bob0.reserved - principal
    assert bob.free == bob0.free + principal + owed - burned - out.fee
    assert chain.account(POOL).free == pool0.free - owed
    assert issuance(chain) == issued0 - burned
    assert_last_event(chain, events.Unstaked(acct("bob"), dep.id, principal, owed - burned, burned))
    assert staking.deposits_of(chain.view(), acct("bob")) == []
    assert logic.staked_total(chain.view(), acct("bob")) == 0


def test_thirty_day_yield_is_three_percent_of_thirty_365ths():
    chain = make_chain()
    dep = stake(chain, "bob", "30d", 1_000 * UNIT)
    assert logic.accrued_yield(chain.view(), dep, dep.unlock_ms) == 1_000 * UNIT * 3 * 30 // (100 * 365)
    half = dep.start_ms + 15 * DAY_MS
    assert logic.accrued_yield(chain.view(), dep, half) == 1_000 * UNIT * 3 * 15 // (100 * 365)


def test_exhausted_pool_pays_what_is_left_and_mints_nothing():
    chain = make_chain(pool=1_000)
    dep = stake(chain, "bob", "1095d", 100_000 * UNIT)
    chain.advance_time(1_095 * DAY_MS)
    owed = 100_000 * UNIT * 1_800 * 1_095 // (365 * 10_000)
    paid = 1_000 * UNIT
    burned = paid * 2_000 // 10_000
    bob0, supply0, issued0 = chain.account("bob"), system.genesis_supply.get(chain.view()), issuance(chain)
    out = chain.submit("bob", "staking.unstake", dep.id)
    assert_ok(out)
    assert events.YieldShortfall(dep.id, owed, paid) in chain.events()
    assert chain.account(POOL).free == 0
    assert chain.account("bob").free == bob0.free + 100_000 * UNIT + paid - burned - out.fee
    assert issuance(chain) == issued0 - burned
    assert system.genesis_supply.get(chain.view()) == supply0


def test_benefits_follow_the_best_running_tier(chain):
    assert logic.benefits(chain.view(), acct("bob")) == Benefits()
    stake(chain, "bob", "90d", 5_000 * UNIT)
    assert logic.benefits(chain.view(), acct("bob")) == Benefits(0, True, 10_000, False)
    stake(chain, "bob", "365d", 50_000 * UNIT)
    assert logic.benefits(chain.view(), acct("bob")) == Benefits(2_000, True, 15_000, False)
    stake(chain, "charlie", "1095d", 100_000 * UNIT)
    assert logic.benefits(chain.view(), acct("charlie")) == Benefits(2_000, True, 15_000, True)
    chain.advance_time(365 * DAY_MS)
    chain.run_block([])
    # bob's locks have ended: no benefits although the deposits are not withdrawn yet
    assert logic.benefits(chain.view(), acct("bob")) == Benefits()
    assert logic.staked_total(chain.view(), acct("bob")) == 55_000 * UNIT


def test_fee_share_is_split_pro_rata_to_stake(chain):
    stake(chain, "bob", "30d", 30_000 * UNIT)
    stake(chain, "charlie", "30d", 10_000 * UNIT)
    bob_before = logic.claimable_fee_share(chain.view(), acct("bob"))
    charlie_before = logic.claimable_fee_share(chain.view(), acct("charlie"))
    pot_before = chain.account(POT).free
    for _ in range(3):
        assert_ok(chain.submit("alice", "balances.transfer_allow_death", acct("dave"), UNIT))
    view = chain.view()
    growth = chain.account(POT).free - pot_before
    assert growth > 0
    bob_share = logic.claimable_fee_share(view, acct("bob"))
    charlie_share = logic.claimable_fee_share(view, acct("charlie"))
    # three to one, rounded down (at most one base unit lost to each rounding)
    assert growth * 3 // 4 - 2 <= bob_share - bob_before <= growth * 3 // 4
    assert growth // 4 - 2 <= charlie_share - charlie_before <= growth // 4
    bob0, pot0 = chain.account("bob"), chain.account(POT)
    out = chain.submit("bob", "staking.claim_fee_share")
    assert_ok(out)
    assert_last_event(chain, events.FeeShareClaimed(acct("bob"), bob_share))
    assert chain.account("bob").free == bob0.free + bob_share - out.fee
    # the claim block's own fee reached the pot after the claim
    assert chain.account(POT).free == pot0.free - bob_share + out.fee * 3_000 // 10_000
    assert logic.claimable_fee_share(chain.view(), acct("bob")) > 0  # the claim block's fee, shared again
    assert logic.claimable_fee_share(chain.view(), acct("charlie")) > charlie_share


def test_fee_share_before_staking_is_not_claimable(chain):
    assert_ok(chain.submit("alice", "balances.transfer_allow_death", acct("dave"), UNIT))
    stake(chain, "bob", "30d", 1_000 * UNIT)
    # the pot held fees from before bob staked: they are not bob's
    assert logic.claimable_fee_share(chain.view(), acct("bob")) <= chain.account(POT).free - staking.pot_accounted.get(
        chain.view()
    )


def test_claim_with_nothing_to_claim_fails(chain):
    assert_noop(chain, "dave", "staking.claim_fee_share", error="NothingToClaim")
