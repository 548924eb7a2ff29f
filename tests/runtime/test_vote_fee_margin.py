"""A vote lock and fees (issue 29, item 5): the rule, the attacks on it, and the CLI's default margin.

The rule (unchanged, as in Substrate since conviction-voting locks became `WithdrawReasons::except(RESERVE)`):
a vote lock holds against every withdrawal, the inclusion fee and the tip included. A fee or a tip from
vote-locked balance would hand counted tokens to the block author (its half of the fee, the whole tip), who
could vote with them while they still count for the voter. So an extrinsic whose fee and tip exceed the
spendable balance is not includable, and a block that includes one anyway is invalid. What lets a voter pay
fees while its vote is open is the CLI's default (`btt_chain/client/vote_margin.py`): it votes with all of the free
balance but a margin of `FEE_MARGIN_FEES` typical fees. These tests check that margin against the runtime to the base
unit, and that the tokens a vote counts stay held by the voter, however its fees and tips are spent.
"""

from __future__ import annotations

import pytest

from btt_chain.client.vote_margin import FEE_MARGIN_FEES, plan_vote
from btt_chain.primitives.block import Block, Digest, Header
from btt_chain.primitives.errors import InvalidBlock, InvalidExtrinsic
from btt_chain.primitives.extrinsic import Extrinsic
from btt_chain.primitives.hashing import ZERO_HASH
from runtime.balances.locks import account_at
from runtime.context import BlockEnv
from runtime.fees.logic import compute_fee
from runtime.governance import storage
from runtime.governance.types import VOTING
from runtime.modules import RUNTIME
from runtime.system import storage as system
from runtime.system.types import AccountInfo
from runtime.vesting.types import VestingSchedule
from tests.runtime.test_governance import ALL, close, make_chain, propose, ref
from tests.support.runtime_builder import SLOT_MS, UNIT, TestChain, acct, assert_ok

FRIEND = "alice"
"""The only validator of the test chain, so the author of every block: it takes half of each fee and every tip."""


def open_referendum(chain: TestChain) -> int:
    return propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("charlie"), UNIT)


def typical_fee(chain: TestChain, who: str) -> int:
    """The dearest of the vote, a transfer and an unstake for `who`, as `btt_chain.client.vote_margin` quotes them."""
    return max(chain.fee_of(who, "governance.vote", 0, True, 0),
               chain.fee_of(who, "balances.transfer_keep_alive", bytes(32), 1),
               chain.fee_of(who, "staking.unstake", 0))


def vote_by_default(chain: TestChain, who: str, ref_id: int) -> int:
    """Vote as `btt-chain vote` does without --balance; returns the plan's `left`, checked against the runtime."""
    acc = current(chain, who)  # as `btt_account` reports it: locks as they stand
    fee = chain.fee_of(who, "governance.vote", ref_id, True, 0)
    plan = plan_vote(acc.free, acc.frozen, fee, typical_fee(chain, who), None)
    assert_ok(chain.submit(who, "governance.vote", ref_id, True, plan.amount))
    after = chain.account(who)
    assert after.spendable == plan.left, "the CLI's 'leaving Y BTT for fees' is what the runtime leaves"
    assert storage.votes.get(chain.view(), storage.vote_key(ref_id, acct(who))).turnout == plan.locked
    return plan.left


def current(chain: TestChain, who: str) -> AccountInfo:
    return account_at(chain.view(), acct(who), next_env(chain).timestamp_ms, RUNTIME)


def fee_of(chain: TestChain, xt: Extrinsic) -> int:
    """The inclusion fee of a signed extrinsic (its tip's encoding included), whether or not it can be paid."""
    state = chain.view()
    return compute_fee(state, len(xt.encode()), RUNTIME.weight(state, RUNTIME.decode_call(xt.call)),
                       xt.signer).inclusion_fee


def next_env(chain: TestChain) -> BlockEnv:
    n = chain.number + 1
    return BlockEnv(n, chain.parent_hash, n, 1_000_000 + (chain.slot + 1) * SLOT_MS + chain.time_offset_ms,
                    chain.author)


def assert_counted_is_held(chain: TestChain, ref_id: int, voters: tuple[str, ...]) -> None:
    """Every voter still holds what its vote counts: counted free balance <= its lock <= its free balance. The
    voters' balances are disjoint, so no base unit counts twice in the holders' house (none of them stakes)."""
    view = chain.view()
    for who in voters:
        record = storage.votes.get(view, storage.vote_key(ref_id, acct(who)))
        if record is None:
            continue
        lock = storage.locks.get(view, acct(who))
        assert lock is not None and record.turnout <= lock.amount <= chain.account(who).free, who
        assert chain.account(who).frozen >= lock.amount, who
    holders = ref(chain, ref_id).tally.turnout
    assert holders <= sum(chain.account(w).free for w in voters)


def assert_not_includable(chain: TestChain, who: str, call_name: str, *args: object, tip: int = 0) -> None:
    """The extrinsic is refused by the pool, by block building, and a block carrying it is invalid; nothing
    changed."""
    before = chain.snapshot()
    xt = chain.sign(who, call_name, *args, tip=tip)
    with pytest.raises(InvalidExtrinsic, match="cannot pay fee"):
        chain.executive.validate_transaction(chain.backend, next_env(chain), xt, len(xt.encode()))
    ex = chain.begin_block()
    with pytest.raises(InvalidExtrinsic, match="cannot pay fee"):
        chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
    env = ex.ctx.env
    chain._current = None  # abandoned: nothing committed
    # a friendly author that puts it in its block anyway: every importer rejects the block
    header = Header(env.parent_hash, env.number, env.slot, env.timestamp_ms, ZERO_HASH, ZERO_HASH, ZERO_HASH,
                    env.author, Digest(env.reveal))
    with pytest.raises(InvalidBlock, match="cannot pay fee"):
        chain.executive.execute_block(chain.backend, Block(header, (xt,)))
    assert chain.snapshot() == before


# --- the CLI's default keeps fees payable -------------------------------------------------------------------


def test_a_default_vote_leaves_the_margin_and_the_voter_pays_fees_while_voting_is_open() -> None:
    chain = make_chain(balances={"alice": 20_000, "bob": 2_500, "charlie": 5_000, "dave": 1_000, "eve": 100})
    assert_ok(chain.submit("bob", "staking.stake", "30d", 1_000 * UNIT))
    chain.advance_time(31 * 86_400_000)  # the deposit has unlocked: it can be withdrawn (for a fee)
    ref_id = open_referendum(chain)
    left = vote_by_default(chain, "bob", ref_id)
    assert left >= FEE_MARGIN_FEES * typical_fee(chain, "bob")
    counted = ref(chain, ref_id).tally.turnout
    assert counted == storage.locks.get(chain.view(), acct("bob")).amount > 1_400 * UNIT
    # voting is open; bob pays for an unstake, a transfer and a tipped transfer out of the margin
    assert_ok(chain.submit("bob", "staking.unstake", 0))
    assert_ok(chain.submit("bob", "balances.transfer_keep_alive", acct("charlie"), UNIT // 1000))
    assert_ok(chain.submit("bob", "balances.transfer_keep_alive", acct("charlie"), UNIT // 1000, tip=UNIT // 1000))
    r = ref(chain, ref_id)
    assert r.status == VOTING and system.timestamp_ms.get(chain.view()) < r.voting_ends_ms
    assert r.tally.turnout == counted  # the vote is untouched
    assert_counted_is_held(chain, ref_id, ("bob",))


def test_the_margin_is_exact_with_a_vesting_lock_and_with_an_earlier_vote() -> None:
    """Locks overlap: the default may count what vesting or an earlier vote holds anyway (it costs no spendable
    balance), and still leaves the margin, or all that was spendable if that was less."""
    far = 10**13
    chain = make_chain(balances={"alice": 20_000, "bob": 2_000, "charlie": 5_000, "dave": 1_000, "eve": 100},
                       vesting={"bob": (VestingSchedule(1_990 * UNIT, 1_000_000, far, far + 1),)},
                       locked={"bob": 1_990})
    first, second = open_referendum(chain), open_referendum(chain)
    left = vote_by_default(chain, "bob", first)  # 10 BTT spendable: the margin is far less
    assert left == FEE_MARGIN_FEES * typical_fee(chain, "bob")
    left = vote_by_default(chain, "bob", second)  # the first vote's lock holds all but the margin already
    assert left > 0
    assert_counted_is_held(chain, first, ("bob",))
    assert_counted_is_held(chain, second, ("bob",))
    # an account whose spendable balance is below the margin votes with its vesting-locked part only
    chain = make_chain(vesting={"bob": (VestingSchedule(10_000 * UNIT - UNIT // 100, 1_000_000, far, far + 1),)})
    before = current(chain, "bob")
    ref_id = open_referendum(chain)
    fee = chain.fee_of("bob", "governance.vote", ref_id, True, 0)
    assert before.spendable - fee < FEE_MARGIN_FEES * typical_fee(chain, "bob")
    left = vote_by_default(chain, "bob", ref_id)
    assert left == before.spendable - fee  # nothing spendable was locked


# --- attacks: fees and tips cannot move counted tokens ------------------------------------------------------


def test_a_voter_that_locked_everything_cannot_pay_any_fee_or_tip_until_voting_ends() -> None:
    chain = make_chain()
    ref_id = open_referendum(chain)
    assert_ok(chain.submit("bob", "governance.vote", ref_id, True, ALL))  # --balance all
    assert chain.account("bob").spendable == 0
    assert_not_includable(chain, "bob", "balances.transfer_keep_alive", acct("charlie"), 1)
    assert_not_includable(chain, "bob", "governance.vote", ref_id, False, ALL)  # not even to change its vote
    assert_not_includable(chain, "bob", "balances.transfer_keep_alive", acct("charlie"), 1, tip=UNIT)
    close(chain, ref_id)  # the lock ends with the vote
    assert_ok(chain.submit("bob", "balances.transfer_keep_alive", acct("charlie"), 1))


def test_tips_to_a_friendly_author_come_from_the_margin_only() -> None:
    """bob votes by default, then tries to tip the author (alice) more than his margin: refused, nothing changes.
    He tips exactly his spendable balance: alice votes with it, yet every counted unit is still held once."""
    chain = make_chain()
    ref_id = open_referendum(chain)
    vote_by_default(chain, "bob", ref_id)
    call = ("balances.transfer_keep_alive", acct("charlie"), 1)
    spendable = chain.account("bob").spendable
    fee = fee_of(chain, chain.sign("bob", *call, tip=spendable))  # a tip of this size: the same encoded length
    assert_not_includable(chain, "bob", *call, tip=spendable - fee + 1)  # fee + tip: one base unit too much
    assert_ok(chain.submit("bob", *call, tip=spendable - fee - 1))  # all of it (the transfer takes the last unit)
    bob = chain.account("bob")
    assert bob.spendable == 0 and bob.free == storage.locks.get(chain.view(), acct("bob")).amount
    assert_not_includable(chain, "bob", *call)
    assert_ok(chain.submit(FRIEND, "governance.vote", ref_id, True, chain.account(FRIEND).free - UNIT))
    assert_counted_is_held(chain, ref_id, ("bob", FRIEND))


def test_paying_fees_until_the_margin_is_gone_never_touches_the_counted_tokens() -> None:
    chain = make_chain()
    ref_id = open_referendum(chain)
    vote_by_default(chain, "bob", ref_id)
    voted = storage.votes.get(chain.view(), storage.vote_key(ref_id, acct("bob")))
    call = ("balances.transfer_keep_alive", acct("charlie"), 1)
    paid = 0
    while chain.account("bob").spendable >= fee_of(chain, chain.sign("bob", *call)) + 1:
        assert_ok(chain.submit("bob", *call))
        paid += 1
        assert_counted_is_held(chain, ref_id, ("bob",))
    assert paid >= FEE_MARGIN_FEES  # the margin paid for at least the promised number of fees
    assert_not_includable(chain, "bob", *call)
    assert storage.votes.get(chain.view(), storage.vote_key(ref_id, acct("bob"))) == voted
    # nor can he vote again: that vote's fee too would come out of the lock
    assert_not_includable(chain, "bob", "governance.vote", ref_id, True, ALL)
    assert ref(chain, ref_id).tally.turnout == voted.turnout
