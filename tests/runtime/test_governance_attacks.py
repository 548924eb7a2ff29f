"""Attacks on the governance rules, each asserting that it fails (issue 12).

One token, one vote per house: a stake counts only while it stays locked until voting ends, and the 1.5x
multiplier applies to 365- and 1095-day principal only. No house decides alone: a referendum needs an aye
majority in at least `governance.min_houses_in_favour` (2) houses.
"""

from __future__ import annotations

from runtime.governance import storage
from runtime.governance.types import EXPIRED, PASSED, REJECTED
from runtime.system import storage as system
from tests.runtime.test_governance import ALL, DEPOSIT, DESCRIPTION, call, close, free, make_chain, propose, ref
from tests.support.runtime_builder import UNIT, acct, assert_noop, assert_ok

DAY_MS = 86_400_000


def test_a_stake_that_unlocks_during_the_vote_cannot_vote_twice() -> None:
    chain = make_chain(balances={"alice": 20_000, "bob": 2_000, "charlie": 5_000, "dave": 1_000, "eve": 100})
    assert_ok(chain.submit("bob", "staking.stake", "30d", 1_000 * UNIT))
    chain.advance_time(30 * DAY_MS - 10_000)  # the stake unlocks 10 s into the next referendum's voting period
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    # the stake would be free to move before voting ends: it does not count
    assert_noop(chain, "bob", "governance.vote", ref_id, True, 0, error="NoVotingWeight")
    chain.advance_time(15_000)
    assert_ok(chain.submit("bob", "staking.unstake", 0))  # deposit 0 has unlocked: withdrawn
    tokens = free(chain, "bob")
    assert_ok(chain.submit("bob", "governance.vote", ref_id, True, tokens - 10 * UNIT))  # now they are locked
    assert_noop(chain, "bob", "balances.transfer", acct("dave"), 1_000 * UNIT, error="InsufficientBalance")
    r = ref(chain, ref_id)
    assert r.tally.ayes[2] == tokens - 10 * UNIT <= tokens  # counted once
    assert r.tally.turnout == tokens - 10 * UNIT


def test_a_stake_locked_past_the_vote_counts_and_cannot_be_withdrawn_before_it_ends() -> None:
    chain = make_chain(balances={"alice": 20_000, "bob": 2_000, "charlie": 5_000, "dave": 1_000, "eve": 100})
    assert_ok(chain.submit("bob", "staking.stake", "30d", 1_000 * UNIT))
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    assert_ok(chain.submit("bob", "governance.vote", ref_id, True, 0))
    record = storage.votes.get(chain.view(), storage.vote_key(ref_id, acct("bob")))
    assert record.weights[2] == record.turnout == 1_000 * UNIT
    assert_noop(chain, "bob", "staking.unstake", 0, error="StillLocked")


def test_the_multiplier_applies_to_long_stake_principal_only() -> None:
    chain = make_chain(balances={"alice": 20_000, "bob": 1_100_000, "charlie": 5_000, "dave": 1_000, "eve": 100})
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    assert_ok(chain.submit("bob", "staking.stake", "365d", 50_000 * UNIT))
    before_free = free(chain, "bob")
    out = chain.submit("bob", "governance.vote", ref_id, True, ALL)
    assert_ok(out)
    record = storage.votes.get(chain.view(), storage.vote_key(ref_id, acct("bob")))
    voted_free = before_free - out.fee
    assert record.weights[2] == voted_free + 50_000 * UNIT * 3 // 2
    assert record.weights[2] < (voted_free + 50_000 * UNIT) * 11 // 10  # not 1.5x the whole balance


# --- no house decides alone ---------------------------------------------------------------------------------


def test_one_representative_alone_cannot_pass_a_treasury_spend() -> None:
    # the reported attack needed quorum 0: its floor is now 1%; and even with the quorum met, one house is not enough
    chain = make_chain(balances={"alice": 20_000, "bob": 10_000, "charlie": 5_000, "dave": 1_000, "eve": 10_000})
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("eve"), 1_000 * UNIT)
    assert_ok(chain.submit("eve", "governance.vote", ref_id, True, 0))  # eve's seat, no tokens
    assert_noop(chain, "alice", "governance.vote", ref_id, True, 0, error="NoVotingWeight")
    r = close(chain, ref_id)
    assert r.status == EXPIRED  # no quorum: the floor keeps it above zero


def test_the_token_holders_alone_cannot_pass_anything_but_two_houses_can() -> None:
    chain = make_chain()
    alone = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    together = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    for ref_id in (alone, together):
        assert_ok(chain.submit("alice", "governance.vote", ref_id, True, free(chain, "alice") - 10 * UNIT))
        assert_ok(chain.submit("bob", "governance.vote", ref_id, True, free(chain, "bob") - 10 * UNIT))
    assert_ok(chain.submit("eve", "governance.vote", together, True, 0))
    close(chain, together)
    assert ref(chain, alone).status == REJECTED  # 100% aye, quorum met, one house
    assert ref(chain, together).status == PASSED


def test_filling_every_open_slot_with_ignored_proposals_costs_the_deposits() -> None:
    # max_open_referenda proposals nobody votes on block everyone else; they expire without a quorum, and their
    # deposits are burned like spam, so the blockade costs a deposit per slot per voting period
    chain = make_chain(params={"governance.max_open_referenda": 3})
    issued0 = system.total_issuance.get(chain.view())
    ids = [propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("alice"), UNIT) for _ in range(3)]
    assert_noop(chain, "bob", "governance.propose", call("treasury.spend", "ecosystem_fund", acct("bob"), UNIT),
                DESCRIPTION, DEPOSIT, False, error="TooManyOpen")
    for ref_id in ids:
        assert close(chain, ref_id).status == EXPIRED
    assert system.total_issuance.get(chain.view()) == issued0 - 3 * DEPOSIT
    assert chain.account("alice").reserved == 10 * UNIT  # her validator bond only
