"""The pool admits what the chain accepts (review 53, finding 1): a `utility.batch` or `force_batch` whose later call
the balance cannot pay is included all the same (BatchInterrupted, or ItemFailed and BatchCompletedWithErrors) and
pays its fee, so the pool must not refuse it; `batch_all` fails whole and is still refused. What the pool protects
stays: the fee and tip must be payable, and a sender's pooled transactions are counted together."""

from __future__ import annotations

import pytest

from btt_chain.node.pool_funds import ChainAccounts, find_unpayable
from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call
from btt_chain.primitives.keys import Keypair
from runtime.modules import RUNTIME
from runtime.system import storage as system
from tests.node.test_pool_funds import assert_every_sender_can_pay, funded, make_pool, pay, sign, snapshot
from tests.support.node_builder import UNIT, author_next, new_chain


def transfer(to: bytes, amount: int) -> Call:
    return RUNTIME.call("balances.transfer_keep_alive", to, amount)


def overspending(kind: str, to: bytes, spendable: int) -> Call:
    """A batch of `kind` whose first transfer the balance pays and whose second it cannot."""
    return RUNTIME.call(f"utility.{kind}", [transfer(to, UNIT), transfer(to, 2 * spendable)])


@pytest.mark.parametrize(("kind", "closing"), [("batch", ["BatchInterrupted"]),
                                               ("force_batch", ["ItemCompleted", "ItemFailed",
                                                                "BatchCompletedWithErrors"])])
def test_a_batch_that_survives_its_failing_call_is_pooled_and_included_and_pays_its_fee(kind, closing) -> None:
    chain = new_chain()
    (sender,) = funded(chain, [10 * UNIT])
    pool, dropped = make_pool(chain)
    to = Keypair.generate().public
    spendable = ChainAccounts(chain).spendable(sender.public)
    xt = sign(chain, sender, overspending(kind, to, spendable), 0)
    encoded = xt.encode()
    fee = chain.validate_transaction(xt, len(encoded)).fee
    pool.submit(encoded)  # refused before: "cannot pay the fees, tips and amounts"
    assert len(pool) == 1 and pool.committed(sender.public) >= fee
    assert_every_sender_can_pay(chain, pool)
    imported, refused = author_next(chain, [t.xt for t in pool.ready()])
    assert refused == [] and [o.success for o in imported.result.outcomes[1:]] == [True]
    utility = [e.name for _, e in imported.result.events if e.MODULE == "utility"]
    assert utility[-len(closing):] == closing, utility
    after = system.account.get(chain.state(), sender.public)
    assert after.nonce == 1
    assert ChainAccounts(chain).spendable(sender.public) == spendable - UNIT - fee  # the first transfer and the fee
    assert dropped == []


def test_batch_all_that_overspends_is_still_refused_and_the_pool_is_unchanged() -> None:
    chain = new_chain()
    (sender,) = funded(chain, [10 * UNIT])
    pool, dropped = make_pool(chain)
    spendable = ChainAccounts(chain).spendable(sender.public)
    before = snapshot(pool)
    with pytest.raises(InvalidExtrinsic, match="cannot pay the fees, tips and amounts"):
        pool.submit(sign(chain, sender, overspending("batch_all", Keypair.generate().public, spendable), 0).encode())
    assert snapshot(pool) == before and dropped == [] and pool.committed(sender.public) == 0


@pytest.mark.parametrize("kind", ["batch", "force_batch"])
def test_an_overspending_batch_backs_no_later_transaction_and_its_fee_must_be_payable(kind) -> None:
    """The batch may take all that is left after its fee: later nonces of its sender get nothing in. And an earlier
    pooled transaction that leaves less than the batch's fee keeps the batch out."""
    chain = new_chain()
    first, second = funded(chain, [10 * UNIT, 10 * UNIT])
    pool, dropped = make_pool(chain)
    to = Keypair.generate().public
    spendable = ChainAccounts(chain).spendable(first.public)
    pool.submit(sign(chain, first, overspending(kind, to, spendable), 0).encode())
    before = snapshot(pool)
    for nonce in (1, 2):
        with pytest.raises(InvalidExtrinsic, match="cannot pay"):
            pool.submit(pay(chain, first, 1, nonce).encode())
    assert snapshot(pool) == before
    # second's nonce 0 leaves it less than any fee: its batch at nonce 1 cannot pay its own fee, so it is refused
    spendable2 = ChainAccounts(chain).spendable(second.public)
    drain = pay(chain, second, spendable2, 0)
    fee = chain.validate_transaction(drain, len(drain.encode())).fee
    pool.submit(pay(chain, second, spendable2 - fee - 10, 0).encode())  # 10 base units left: less than any fee
    before = snapshot(pool)
    with pytest.raises(InvalidExtrinsic, match="cannot pay the fees, tips and amounts"):
        pool.submit(sign(chain, second, overspending(kind, to, spendable2), 1).encode())
    assert snapshot(pool) == before and dropped == []
    assert_every_sender_can_pay(chain, pool)


def test_a_batch_that_fits_counts_in_full_for_later_nonces() -> None:
    """A batch the balance covers is counted whole (as before): a later transaction fits only in what is left."""
    chain = new_chain()
    (sender,) = funded(chain, [10 * UNIT])
    pool, _ = make_pool(chain)
    to = Keypair.generate().public
    pool.submit(sign(chain, sender, RUNTIME.call("utility.batch", [transfer(to, 3 * UNIT)] * 2), 0).encode())
    pool.submit(pay(chain, sender, 3 * UNIT, 1).encode())  # 6 + 3 of ~10: fits
    with pytest.raises(InvalidExtrinsic, match="cannot pay"):
        pool.submit(pay(chain, sender, UNIT, 2).encode())  # 10 of ~10 after fees: does not
    assert_every_sender_can_pay(chain, pool)
    imported, refused = author_next(chain, [t.xt for t in pool.ready()])
    assert refused == [] and all(o.success for o in imported.result.outcomes)
    assert [e.name for _, e in imported.result.events if e.MODULE == "utility"][-1] == "BatchCompleted"


def test_find_unpayable_counts_what_may_be_taken_only_up_to_what_is_left() -> None:
    class Tx:
        def __init__(self, fee: int, spend: int = 0, upto: int = 0, rest: bool = False) -> None:
            self.fee, self.tip, self.spend, self.spend_upto, self.takes_rest = fee, 0, spend, upto, rest

    assert find_unpayable([Tx(5, upto=1_000)], 10) is None
    assert find_unpayable([Tx(11, upto=1_000)], 10) == (0, 11)  # the fee is a must
    assert find_unpayable([Tx(5, upto=1_000), Tx(1)], 10) == (1, 11)  # it may take the rest: nothing for later
    assert find_unpayable([Tx(2, upto=3), Tx(5)], 10) is None  # it fits: counted in full
    assert find_unpayable([Tx(2, upto=4), Tx(5)], 10) == (1, 11)
    assert find_unpayable([Tx(2, spend=9, upto=1)], 10) == (0, 11)  # a batch_all part is a must
