"""A batch's weight and fee: the sum of its calls' weights plus its own and a per-call overhead (FRAME's model), so
batching never makes a call cheaper than its weight; and a batch whose calls would weigh more on the state they meet
than what it paid for (an earlier call changed what a later one works on) cannot do that work: the later call fails
with CallWeightExceeded, so no batch overfills a block."""

from __future__ import annotations

from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call
from btt_chain.primitives.hashing import ZERO_HASH
from runtime.compute import storage as compute
from runtime.compute.model import model_hash
from runtime.modules import RUNTIME
from runtime.proxy.calls import PROXY_WEIGHT
from runtime.utility import events
from runtime.utility.calls import BATCH_WEIGHT, PER_CALL_WEIGHT
from tests.runtime.test_utility_batch import error, nest, remark, transfer
from tests.support.models import dense_model
from tests.support.runtime_builder import UNIT, GenesisBuilder, TestChain, acct, assert_noop, assert_ok


def weight(c: TestChain, call: Call) -> int:
    return RUNTIME.weight(c.view(), RUNTIME.decode_call(call))


def test_a_batch_weighs_its_calls_plus_its_own_and_a_per_call_overhead_and_pays_for_that() -> None:
    c = GenesisBuilder().build()
    calls = [transfer("dave", UNIT), remark(b"x" * 100), RUNTIME.call("balances.transfer_all", acct("eve"), True)]
    own = sum(weight(c, x) for x in calls)
    for name in ("utility.batch", "utility.batch_all", "utility.force_batch"):
        expected = BATCH_WEIGHT + PER_CALL_WEIGHT * len(calls) + own
        assert weight(c, RUNTIME.call(name, calls)) == expected
        outcome = c.submit("bob", name, calls[:2])
        assert outcome.weight == BATCH_WEIGHT + 2 * PER_CALL_WEIGHT + own - weight(c, calls[2])
    # the fee follows the weight: a batch of a transfer costs more than the transfer alone
    alone = c.fee_of("bob", "balances.transfer_keep_alive", acct("dave"), UNIT)
    assert c.fee_of("bob", "utility.batch", calls[:1]) > alone > 0
    # nested: each level pays for its own calls, so depth costs more, never less
    assert weight(c, nest(3)) == 3 * (BATCH_WEIGHT + PER_CALL_WEIGHT) + weight(c, remark(b"deep"))
    proxied = RUNTIME.call("proxy.proxy", acct("alice"), None, RUNTIME.call("utility.batch", calls))
    assert weight(c, proxied) == PROXY_WEIGHT + BATCH_WEIGHT + PER_CALL_WEIGHT * len(calls) + own


def test_batched_calls_pay_no_less_than_the_same_calls_sent_alone_by_weight() -> None:
    c = GenesisBuilder().build()
    calls = [transfer(name, UNIT) for name in ("dave", "eve", "ferdie")] * 10
    alone = sum(weight(c, x) for x in calls)
    assert weight(c, RUNTIME.call("utility.batch", calls)) >= alone + PER_CALL_WEIGHT * len(calls)


def test_a_call_made_heavier_by_an_earlier_call_of_the_batch_cannot_do_more_work_than_was_paid_for() -> None:
    """The attack: weigh a batch on the state before it runs, where a later call is light (post_job on a model not
    registered yet weighs its base), then register the model in the first call so that the later one does the
    model's full work. The later call is weighed again before it runs: it fails, the block counts what was paid."""
    c = GenesisBuilder(balances={"alice": 1_000, "bob": 1_000, "charlie": 100, "dave": 100_000}).build()
    model = dense_model("batch-weight-attack", (64, 64, 64, 2), seed=5)
    register = RUNTIME.call("compute.register_model", model)
    post = RUNTIME.call("compute.post_job", model_hash(model), ZERO_HASH, b"\x07" * 32, 1024, 10**6 * UNIT, 1,
                        600_000)
    light = weight(c, post)
    calls = [register, post]
    paid = weight(c, RUNTIME.call("utility.batch", calls))
    assert_ok(c.submit("dave", "utility.batch", calls))
    heavy = weight(c, post)  # the model is registered now: the same call does the model's work
    assert heavy > light
    assert [e for e in c.events() if e.MODULE == "utility"][-1] == events.BatchInterrupted(
        1, error("utility", "CallWeightExceeded"))
    assert compute.next_job_id.get(c.view()) == 0  # no job posted
    assert c.transaction_outcomes()[0].weight == paid  # what the block counted is what was paid for
    # all or nothing: the registration is undone too
    c2 = GenesisBuilder(balances={"alice": 1_000, "bob": 1_000, "charlie": 100, "dave": 100_000}).build()
    assert_noop(c2, "dave", "utility.batch_all", calls, error="CallWeightExceeded")
    assert compute.models.get(c2.view(), model_hash(model)) is None
    # sent in its own extrinsic (weighed on the state it meets), the same post pays its full weight and runs
    outcome = c.submit("dave", "compute.post_job", model_hash(model), ZERO_HASH, b"\x07" * 32, 1024, 10**6 * UNIT,
                       1, 600_000)
    assert outcome.weight == heavy


def test_a_block_counts_a_batch_at_its_whole_weight_so_batches_cannot_overfill_it() -> None:
    limit = 20_000
    c = GenesisBuilder(params={"block.max_weight": limit}).build()
    calls = [transfer("dave", UNIT)] * 100  # 100 x (100 + 30) + 40 = 13,040: one fits, two do not
    xts = [c.sign("bob", "utility.batch", calls), c.sign("bob", "utility.batch", calls, nonce=c.account("bob").nonce
                                                                                            + 1)]
    ex = c.begin_block()
    assert_ok(c.executive.apply_extrinsic(ex, xts[0], len(xts[0].encode())))
    from runtime.errors import BlockFull

    try:
        c.executive.apply_extrinsic(ex, xts[1], len(xts[1].encode()))
    except BlockFull:
        pass
    else:
        raise AssertionError("a second batch overfilled the block")
    assert ex.weight_used <= limit
    c.end_block()
    assert c.account("dave").free == 100 * UNIT


def test_a_batch_heavier_than_a_whole_block_is_refused_for_free_and_stalls_no_block() -> None:
    """The attack: a batch of heavy calls weighing more than a block may hold, with a high tip, at the head of every
    author's ready queue; each author met BlockFull there and stopped building, so no transaction behind it was ever
    included. Now it is invalid (no fee, no nonce) and the block goes on."""
    limit = 100_000
    c = GenesisBuilder(params={"block.max_weight": limit}).build()
    heavy = RUNTIME.call("multisig.approve", [acct("charlie")], 2, remark().encode())
    calls = [heavy] * 40  # 40 x (30 + 3,000 + 10) + 40
    assert weight(c, RUNTIME.call("utility.batch", calls)) > limit
    stall = c.sign("bob", "utility.batch", calls, tip=10**6 * UNIT)
    honest = c.sign("charlie", "balances.transfer_keep_alive", acct("dave"), UNIT)
    bob = c.account("bob")
    ex = c.begin_block()
    try:
        c.executive.apply_extrinsic(ex, stall, len(stall.encode()))
    except InvalidExtrinsic as exc:
        assert "more than a whole block may hold" in str(exc)
    else:
        raise AssertionError("a batch heavier than a block was included")
    assert_ok(c.executive.apply_extrinsic(ex, honest, len(honest.encode())))
    c.end_block()
    assert c.account("bob") == bob and c.account("dave").free == UNIT
