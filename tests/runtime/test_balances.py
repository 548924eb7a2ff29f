"""balances: every call's success and failure paths; failed calls leave state unchanged."""

from __future__ import annotations

import pytest

from runtime.balances import events
from runtime.system import storage as system
from tests.support.runtime_builder import (
    UNIT,
    GenesisBuilder,
    acct,
    assert_last_event,
    assert_noop,
    assert_ok,
)

ED = UNIT // 100


@pytest.fixture
def chain():
    return GenesisBuilder().build()


def test_transfer_moves_exact_amount_and_charges_fee(chain):
    alice0, bob0 = chain.account("alice"), chain.account("bob")
    out = chain.submit("alice", "balances.transfer_allow_death", acct("bob"), 10 * UNIT)
    assert_ok(out)
    assert chain.account("bob").free == bob0.free + 10 * UNIT
    # alice authored the block, so she gets half the fee back as author
    author_share = out.fee * 5000 // 10_000
    assert chain.account("alice").free == alice0.free - 10 * UNIT - out.fee + author_share
    assert chain.account("alice").nonce == 1
    assert_last_event(chain, events.Transfer(acct("alice"), acct("bob"), 10 * UNIT))


def test_transfer_to_new_account_below_existential_deposit_fails(chain):
    assert_noop(chain, "bob", "balances.transfer_allow_death", acct("dave"), ED - 1, error="ExistentialDeposit")


def test_transfer_to_new_account_at_existential_deposit_creates_it(chain):
    assert_ok(chain.submit("bob", "balances.transfer_allow_death", acct("dave"), ED))
    assert chain.account("dave").free == ED


def test_transfer_more_than_spendable_fails(chain):
    assert_noop(chain, "bob", "balances.transfer_allow_death",
                acct("charlie"), 2_000 * UNIT, error="InsufficientBalance")


def test_transfer_zero_fails(chain):
    assert_noop(chain, "bob", "balances.transfer_allow_death", acct("charlie"), 0, error="ZeroAmount")


def test_transfer_to_self_fails(chain):
    assert_noop(chain, "bob", "balances.transfer_allow_death", acct("bob"), UNIT, error="SelfTransfer")


def test_locked_balance_is_not_spendable():
    chain = GenesisBuilder(balances={"alice": 1_000, "bob": 1_000}, locked={"bob": 900}).build()
    assert chain.account("bob").spendable == 100 * UNIT
    assert_noop(chain, "bob", "balances.transfer_allow_death", acct("alice"), 101 * UNIT, error="InsufficientBalance")
    assert_ok(chain.submit("bob", "balances.transfer_allow_death", acct("alice"), 99 * UNIT))


def test_reserved_bond_is_not_spendable(chain):
    alice = chain.account("alice")
    assert alice.reserved == 10 * UNIT
    assert_noop(chain, "alice", "balances.transfer_allow_death", acct("bob"), alice.free, error="InsufficientBalance")


def test_keep_alive_refuses_to_drop_below_existential_deposit(chain):
    bob = chain.account("bob")
    fee = chain.fee_of("bob", "balances.transfer_keep_alive", acct("charlie"), UNIT)
    amount = bob.free - fee - ED // 2
    assert_noop(chain, "bob", "balances.transfer_keep_alive", acct("charlie"), amount, error="KeepAlive")


def test_transfer_allow_death_burns_dust(chain):
    bob = chain.account("bob")
    # the amount is Compact<u128>: its fee is that of an amount of the same encoded length
    fee = chain.fee_of("bob", "balances.transfer_allow_death", acct("charlie"), bob.free)
    dust = ED // 2
    amount = bob.free - fee - dust
    burned_before = system.total_burned.get(chain.view())
    assert_ok(chain.submit("bob", "balances.transfer_allow_death", acct("charlie"), amount))
    assert chain.account("bob").free == 0
    assert chain.account("bob").nonce == 1  # the record (and nonce) stays: no replay
    assert system.total_burned.get(chain.view()) == burned_before + dust
    assert events.DustLost(acct("bob"), dust) in chain.events()


def test_transfer_all_keep_alive_leaves_existential_deposit(chain):
    assert_ok(chain.submit("bob", "balances.transfer_all", acct("charlie"), True))
    assert chain.account("bob").free == ED


def test_transfer_all_without_keep_alive_empties_the_account(chain):
    assert_ok(chain.submit("bob", "balances.transfer_all", acct("charlie"), False))
    assert chain.account("bob").free == 0


def test_burn_lowers_issuance_for_good(chain):
    issuance = system.total_issuance.get(chain.view())
    out = chain.submit("bob", "balances.burn", 5 * UNIT, True)
    assert_ok(out)
    assert system.total_issuance.get(chain.view()) == issuance - 5 * UNIT
    assert system.total_burned.get(chain.view()) == 5 * UNIT
    assert_last_event(chain, events.Burned(acct("bob"), 5 * UNIT))


def test_burn_more_than_spendable_fails(chain):
    assert_noop(chain, "bob", "balances.burn", 5_000 * UNIT, True, error="InsufficientBalance")


def test_burn_zero_fails(chain):
    assert_noop(chain, "bob", "balances.burn", 0, True, error="ZeroAmount")


def test_burn_keep_alive_refuses_to_leave_dust(chain):
    bob = chain.account("bob")
    fee = chain.fee_of("bob", "balances.burn", UNIT, True)
    assert_noop(chain, "bob", "balances.burn", bob.free - fee - ED // 2, True, error="KeepAlive")
