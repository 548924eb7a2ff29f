"""The pool's view of what a call spends, read from each call's declaration (issue 53): a batch counts what its calls
take, at any depth, and a proxy call what it takes from the account it acts for. The attack: a batch of transfers
that spends more than the balance, or a batch that empties it, followed by more transactions, used to count as
spending nothing, so the pool took what the next block could never pay for."""

from __future__ import annotations

import pytest

from btt_chain.node.pool_funds import Spend, compute_call_spend
from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call
from btt_chain.primitives.keys import Keypair, dev_keypair
from runtime.modules import RUNTIME
from tests.node.test_pool_funds import assert_every_sender_can_pay, funded, make_pool, pay, sign, snapshot
from tests.support.node_builder import UNIT, author_next, new_chain


def transfer(to: bytes, amount: int) -> Call:
    return RUNTIME.call("balances.transfer_keep_alive", to, amount)


def batch(*calls: Call, kind: str = "batch") -> Call:
    return RUNTIME.call(f"utility.{kind}", list(calls))


def spend_of(call: Call, sender: bytes | None = None) -> Spend:
    return compute_call_spend(RUNTIME.decode_call(call), RUNTIME, sender)


def test_a_batch_spends_the_sum_of_its_calls_at_any_depth_and_a_proxy_call_spends_the_real_accounts() -> None:
    bob, dave = dev_keypair("bob").public, dev_keypair("dave").public
    # batch_all fails whole: what its calls take is a must; batch and force_batch survive a failed call: "up to"
    assert spend_of(batch(transfer(bob, 3), transfer(bob, 4), kind="batch_all")) == Spend(7)
    assert spend_of(batch(transfer(bob, 3), transfer(bob, 4))) == Spend(upto=7)
    assert spend_of(batch(transfer(bob, 3), batch(transfer(bob, 4), RUNTIME.call("bonds.bond", 5), kind="batch_all"),
                          kind="force_batch")) == Spend(upto=12)
    assert spend_of(batch(transfer(bob, 3), batch(transfer(bob, 4), RUNTIME.call("bonds.bond", 5)),
                          kind="batch_all")) == Spend(3, upto=9)
    assert spend_of(batch(transfer(bob, 3), RUNTIME.call("balances.transfer_all", bob, False))) == \
        Spend(rest=True, upto=3)
    proxied = RUNTIME.call("proxy.proxy", dave, None, batch(transfer(bob, 9), transfer(bob, 1), kind="batch_all"))
    assert spend_of(proxied) == Spend(0, others=((dave, 10),))
    assert spend_of(batch(transfer(bob, 2), proxied, kind="batch_all")) == Spend(2, others=((dave, 10),))
    # a proxy that acts back for the sender spends the sender's own money
    back = RUNTIME.call("proxy.proxy", dave, None, RUNTIME.call("proxy.proxy", bob, None, transfer(dave, 6)))
    assert spend_of(back, sender=bob) == Spend(6)
    assert spend_of(RUNTIME.call("proxy.proxy", dave, None, RUNTIME.call("balances.transfer_all", bob, False))) == \
        Spend(0)  # all a proxied account has left: nothing to hold the sender to
    assert spend_of(batch(RUNTIME.call("system.remark", b"x"))) == Spend()


def test_a_batch_of_transfers_spending_more_than_the_balance_is_refused_as_one_transfer_would_be() -> None:
    """batch_all (all or nothing) fails whole on a call the balance cannot pay: refused. A batch or force_batch that
    overspends is admitted (tests/node/test_pool_batch_modes.py)."""
    chain = new_chain()
    (sender,) = funded(chain, [5 * UNIT])
    pool, dropped = make_pool(chain)
    to = Keypair.generate().public
    over = sign(chain, sender, batch(*[transfer(to, UNIT)] * 6, kind="batch_all"), 0)  # 6 BTT out of 5
    before = snapshot(pool)
    with pytest.raises(InvalidExtrinsic, match="cannot pay the fees, tips and amounts"):
        pool.submit(over.encode())
    nested = sign(chain, sender, batch(batch(*[transfer(to, UNIT)] * 3, kind="batch_all"),
                                       batch(*[transfer(to, UNIT)] * 3, kind="batch_all"), kind="batch_all"), 0)
    with pytest.raises(InvalidExtrinsic, match="cannot pay the fees, tips and amounts"):
        pool.submit(nested.encode())
    assert snapshot(pool) == before and dropped == []
    fits = sign(chain, sender, batch(*[transfer(to, UNIT)] * 4), 0)
    pool.submit(fits.encode())
    # the money the batch holds backs no later transaction: what would have been free spam is refused
    for nonce in range(1, 10):
        with pytest.raises(InvalidExtrinsic, match="cannot pay"):
            pool.submit(pay(chain, sender, UNIT, nonce).encode())
    assert_every_sender_can_pay(chain, pool)
    # what the pool holds is what the block can take: the batch runs whole
    imported, refused = author_next(chain, [t.xt for t in pool.ready()])
    assert refused == [] and [o.success for o in imported.result.outcomes[1:]] == [True]
    assert [e.name for _, e in imported.result.events if e.MODULE == "utility"][-1] == "BatchCompleted"


def test_a_batch_that_empties_the_account_leaves_nothing_for_later_nonces() -> None:
    chain = new_chain()
    (sender,) = funded(chain, [3 * UNIT])
    pool, _ = make_pool(chain)
    to = Keypair.generate().public
    pool.submit(sign(chain, sender, batch(RUNTIME.call("system.remark", b"a"),
                                          RUNTIME.call("balances.transfer_all", to, False)), 0).encode())
    for nonce in range(1, 20):
        with pytest.raises(InvalidExtrinsic, match="cannot pay"):
            pool.submit(pay(chain, sender, 1, nonce).encode())
    assert len(pool) == 1


def test_a_proxy_call_is_held_to_the_real_accounts_balance_and_a_poor_hot_key_may_move_a_rich_stash() -> None:
    chain = new_chain()
    stash, hot = funded(chain, [50 * UNIT, UNIT])
    _, refused = author_next(chain, [sign(chain, stash, RUNTIME.call("proxy.add_proxy", hot.public, 0, 0), 0)])
    assert refused == []
    pool, dropped = make_pool(chain)
    to = Keypair.generate().public
    too_much = sign(chain, hot, RUNTIME.call("proxy.proxy", stash.public, None, transfer(to, 60 * UNIT)), 0)
    with pytest.raises(InvalidExtrinsic, match="which can spend"):
        pool.submit(too_much.encode())
    ok = sign(chain, hot, RUNTIME.call("proxy.proxy", stash.public, None, batch(*[transfer(to, 10 * UNIT)] * 4)), 0)
    pool.submit(ok.encode())  # 40 of the stash's ~49, though the hot key holds 1
    imported, refused = author_next(chain, [t.xt for t in pool.ready()])
    assert refused == [] and dropped == []
    assert [e.name for _, e in imported.result.events if e.MODULE == "proxy"] == ["ProxyExecuted"]


def test_every_pooled_batch_spends_what_the_pool_counted() -> None:
    """Senders fill the pool with batches of random sizes up to their balance; the next block runs every one of them
    whole (none interrupted for want of money)."""
    chain = new_chain()
    senders = funded(chain, [10 * UNIT] * 6)
    pool, _ = make_pool(chain)
    to = Keypair.generate().public
    admitted = 0
    for i, s in enumerate(senders):
        for nonce in range(4):
            call = batch(*[transfer(to, UNIT // 2)] * (i + nonce + 1), kind="batch_all")
            try:
                pool.submit(sign(chain, s, call, nonce).encode())
                admitted += 1
            except InvalidExtrinsic as exc:
                assert "cannot pay" in str(exc)
                break
    assert 6 <= admitted < 24
    assert_every_sender_can_pay(chain, pool)
    imported, refused = author_next(chain, [t.xt for t in pool.ready()])
    assert refused == [] and all(o.success for o in imported.result.outcomes)
    assert len(imported.result.outcomes) == admitted + 1  # and the timestamp


def test_the_pool_reads_a_call_its_own_table_never_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The old table knew 11 calls by name: a call that spends without being listed counted 0. Now a call's
    declaration is read, so a spending call the pool has never heard of by name is counted like any other."""
    import btt_chain.node.pool_funds as pool_funds

    assert not hasattr(pool_funds, "SPEND_ARGUMENTS")
    bob = dev_keypair("bob").public
    assert spend_of(RUNTIME.call("payments.refund", 1, 17)) == Spend(17)
    assert spend_of(RUNTIME.call("compute.post_private_job", bytes(32), 4, 1, bytes(32), 23, 600_000)) == Spend(23)
    assert spend_of(RUNTIME.call("vesting.vested_transfer", bob, 29, 0, 10**9)) == Spend(29)
