"""Fee discounts: the 180-day (and longer) staker pays 20% less inclusion fee while the lock runs."""

from __future__ import annotations

from runtime.fees import discounts
from runtime.fees.logic import compute_fee
from tests.support.runtime_builder import UNIT, GenesisBuilder, acct, assert_ok

DAY_MS = 86_400_000


def make_chain():
    return GenesisBuilder(balances={"alice": 1_000, "bob": 50_000, "charlie": 50_000, "dave": 100}).build()


def transfer_fee(chain, who: str) -> int:
    return chain.fee_of(who, "balances.transfer_allow_death", acct("dave"), UNIT)


def test_180_day_staker_pays_twenty_percent_less_for_the_same_transfer():
    chain = make_chain()
    assert_ok(chain.submit("bob", "staking.stake", "180d", 10_000 * UNIT))
    assert_ok(chain.submit("charlie", "balances.transfer_allow_death", acct("dave"), UNIT))  # same nonce for both
    full, discounted = transfer_fee(chain, "charlie"), transfer_fee(chain, "bob")
    assert discounted == full - full * 2_000 // 10_000
    charlie0, bob0 = chain.account("charlie"), chain.account("bob")
    out_full = chain.submit("charlie", "balances.transfer_allow_death", acct("dave"), UNIT)
    out_disc = chain.submit("bob", "balances.transfer_allow_death", acct("dave"), UNIT)
    assert (out_full.fee, out_disc.fee) == (full, discounted)
    assert chain.account("charlie").free == charlie0.free - UNIT - full
    assert chain.account("bob").free == bob0.free - UNIT - discounted


def test_shorter_tiers_get_no_discount_and_it_ends_with_the_lock():
    chain = make_chain()
    assert_ok(chain.submit("bob", "staking.stake", "90d", 5_000 * UNIT))
    assert_ok(chain.submit("charlie", "staking.stake", "180d", 10_000 * UNIT))
    base = transfer_fee(chain, "bob")
    assert transfer_fee(chain, "charlie") < base
    chain.advance_time(180 * DAY_MS)
    assert transfer_fee(chain, "charlie") == base


def test_discount_rounds_down_and_the_largest_registered_applies():
    chain = make_chain()
    state = chain.view()
    gross = compute_fee(state, 100, 100).inclusion_fee
    assert compute_fee(state, 100, 100, acct("dave")).inclusion_fee == gross
    assert discounts.apply_discount(11, 2_000) == 2
    discounts.register_fee_discount(lambda _s, who: 3_000 if who == acct("dave") else 0, "test.small")
    discounts.register_fee_discount(lambda _s, who: 4_000 if who == acct("dave") else 0, "test.large")
    try:
        fee = compute_fee(state, 100, 100, acct("dave"))
        assert fee.discount == gross * 4_000 // 10_000
        assert fee.inclusion_fee == gross - gross * 4_000 // 10_000
    finally:
        discounts._REGISTRY.pop("test.small")
        discounts._REGISTRY.pop("test.large")


def test_the_fee_of_an_extrinsic_check_is_the_detailed_fee_for_every_tier_and_time():
    """`inclusion_fee` (every extrinsic's check) and staking's `fee_discount_bps` (which skips building Benefits
    for a payer without a running deposit) give what `compute_fee(...).inclusion_fee` and `benefits(...)` give:
    for no deposit, each tier, and after the locks end."""
    from runtime.fees.logic import inclusion_fee
    from runtime.staking.logic import benefits, fee_discount_bps

    chain = GenesisBuilder(balances={"alice": 1_000, "bob": 50_000, "charlie": 50_000, "dave": 60_000,
                                     "eve": 110_000, "ferdie": 100}).build()
    for who, tier, amount in (("bob", "90d", 5_000), ("charlie", "180d", 10_000), ("dave", "365d", 50_000),
                              ("eve", "1095d", 100_000)):
        assert_ok(chain.submit(who, "staking.stake", tier, amount * UNIT))
    for days in (0, 100, 200, 400, 1200):
        chain.advance_time(days * DAY_MS)
        chain.run_block([])
        state = chain.view()
        for name in ("alice", "bob", "charlie", "dave", "eve", "ferdie"):
            who = acct(name)
            assert fee_discount_bps(state, who) == benefits(state, who).fee_discount_bps
            for length, weight in ((0, 0), (120, 100), (1_000, 5_000)):
                detailed = compute_fee(state, length, weight, who)
                assert inclusion_fee(state, length, weight, who) == detailed.inclusion_fee
