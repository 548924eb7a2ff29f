"""utility.batch, batch_all and force_batch: FRAME's rules and events, and the attacks on them. A failed call changes
nothing but what FRAME keeps (the fee; in `batch`, the calls before it), a call its origin may not make stays
forbidden inside a batch, batches are bounded in length (a parameter, and the wire) and in depth (the decoder, for
free), and a call inside a batch sees no extrinsic fee of its own."""

from __future__ import annotations

from typing import Any

import pytest

from btt_chain.primitives import scale
from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from runtime.balances import events as balance_events
from runtime.context import GOVERNANCE, NONE, CallContext, Origin
from runtime.dispatch import NOTHING, CallDef, ModuleDef, Runtime
from runtime.metadata.indices import error_index
from runtime.modules import RUNTIME
from runtime.params import storage as params
from runtime.system.dispatch_types import MODULE, DispatchErrorValue
from runtime.utility import events
from runtime.utility.logic import MAX_BATCH_CALLS
from tests.support.runtime_builder import (
    GENESIS_HASH,
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_dispatch_noop,
    assert_noop,
    assert_ok,
)


def transfer(to: str, amount: int) -> Call:
    return RUNTIME.call("balances.transfer_keep_alive", acct(to), amount)


def remark(data: bytes = b"") -> Call:
    return RUNTIME.call("system.remark", data)


def error(module: str, name: str) -> DispatchErrorValue:
    return DispatchErrorValue(MODULE, *error_index(module, name))


def chain(**params: int) -> TestChain:
    return GenesisBuilder(balances={"alice": 1_000, "bob": 1_000, "charlie": 100}, params=params).build()


def batch_events(c: TestChain) -> list[Any]:
    return [e for e in c.events() if e.MODULE in ("utility", "balances") and e.name != "Withdraw"]


def test_batch_runs_in_order_and_stops_at_the_first_failure_keeping_the_calls_before_it() -> None:
    c = chain()
    alice = c.account("alice")
    outcome = c.submit("alice", "utility.batch", [transfer("dave", UNIT), transfer("eve", 2 * UNIT),
                                                 transfer("dave", 10**6 * UNIT), transfer("eve", 5 * UNIT)])
    assert_ok(outcome)  # FRAME's batch succeeds; its event says where it stopped
    assert batch_events(c) == [
        balance_events.Transfer(acct("alice"), acct("dave"), UNIT), events.ItemCompleted(),
        balance_events.Transfer(acct("alice"), acct("eve"), 2 * UNIT), events.ItemCompleted(),
        events.BatchInterrupted(2, error("balances", "InsufficientBalance")),
    ]
    assert (c.account("dave").free, c.account("eve").free) == (UNIT, 2 * UNIT)  # the fourth never ran
    fee_back = outcome.fee // 2  # alice authored the block: half the fee comes back to her
    assert c.account("alice").free == alice.free - 3 * UNIT - outcome.fee + fee_back


def test_batch_all_is_atomic_a_failure_undoes_every_call_and_the_fee_is_still_charged() -> None:
    c = chain()
    assert_noop(c, "bob", "utility.batch_all", [transfer("dave", UNIT), transfer("eve", 2 * UNIT),
                                               transfer("dave", 10**6 * UNIT)], error="InsufficientBalance")
    assert c.account("dave").free == c.account("eve").free == 0
    assert [e.name for e in c.events() if e.MODULE == "utility"] == []
    assert_ok(c.submit("bob", "utility.batch_all", [transfer("dave", UNIT), transfer("eve", 2 * UNIT)]))
    assert [e.name for e in c.events() if e.MODULE == "utility"] == ["ItemCompleted", "ItemCompleted",
                                                                     "BatchCompleted"]
    assert (c.account("dave").free, c.account("eve").free) == (UNIT, 2 * UNIT)


def test_force_batch_runs_every_call_reports_each_failure_and_keeps_the_rest() -> None:
    c = chain()
    assert_ok(c.submit("bob", "utility.force_batch", [transfer("dave", 10**6 * UNIT), transfer("dave", UNIT),
                                                     RUNTIME.call("timestamp.set", 1), transfer("eve", UNIT)]))
    assert [e for e in batch_events(c) if e.MODULE == "utility"] == [
        events.ItemFailed(error("balances", "InsufficientBalance")), events.ItemCompleted(),
        events.ItemFailed(error("system", "BadOrigin")), events.ItemCompleted(), events.BatchCompletedWithErrors(),
    ]
    assert c.account("dave").free == c.account("eve").free == UNIT
    assert_ok(c.submit("bob", "utility.force_batch", [remark(b"a"), remark(b"b")]))
    assert [e.name for e in c.events() if e.MODULE == "utility"][-1] == "BatchCompleted"


def test_a_failed_call_inside_a_batch_leaves_none_of_its_own_writes_or_events() -> None:
    """The second call is a batch_all whose first transfer succeeds before its second fails: the outer batch stops
    there and nothing of the inner one stays (no transfer to eve, no event of it), while the first call stays."""
    c = chain()
    inner = RUNTIME.call("utility.batch_all", [transfer("eve", UNIT), transfer("eve", 10**6 * UNIT)])
    assert_ok(c.submit("bob", "utility.batch", [transfer("dave", UNIT), inner, remark()]))
    assert batch_events(c) == [balance_events.Transfer(acct("bob"), acct("dave"), UNIT), events.ItemCompleted(),
                               events.BatchInterrupted(1, error("balances", "InsufficientBalance"))]
    assert c.account("eve").free == 0 and c.account("dave").free == UNIT
    assert_ok(c.submit("bob", "utility.force_batch", [inner, transfer("dave", UNIT)]))
    assert c.account("eve").free == 0 and c.account("dave").free == 2 * UNIT


FORBIDDEN = [
    RUNTIME.call("timestamp.set", 1),  # an inherent
    RUNTIME.call("system.schedule_spec", 16, 100),  # governance
    RUNTIME.call("params.set_parameter", "proxy.deposit_base", 0),  # governance
    RUNTIME.call("treasury.spend", "ecosystem_fund", acct("bob"), UNIT),  # governance
    RUNTIME.call("vesting.approve_tranche", acct("bob"), UNIT),  # governance
]


@pytest.mark.parametrize("call", FORBIDDEN, ids=lambda c: f"{c.module}.{c.function}")
def test_a_call_its_origin_may_not_make_stays_forbidden_inside_a_batch(call: Call) -> None:
    c = chain()
    assert_noop(c, "bob", "utility.batch_all", [remark(), call], error="BadOrigin")
    assert_ok(c.submit("bob", "utility.batch", [call, remark()]))
    assert [e for e in c.events() if e.MODULE == "utility"] == [events.BatchInterrupted(0, error("system",
                                                                                                "BadOrigin"))]
    nested = RUNTIME.call("utility.batch_all", [RUNTIME.call("utility.batch_all", [remark(), call])])
    assert_noop(c, "bob", "utility.batch_all", [nested], error="BadOrigin")


def test_governance_may_batch_its_own_calls_and_an_unsigned_batch_is_refused() -> None:
    c = chain()
    c.dispatch(GOVERNANCE, "utility.batch_all", [
        RUNTIME.call("params.set_parameter", "proxy.max_proxies", 7),
        RUNTIME.call("params.set_parameter", "utility.max_calls", 9),
    ])
    view = c.view()
    assert (params.value.get(view, "proxy.max_proxies"), params.value.get(view, "utility.max_calls")) == (7, 9)
    assert_dispatch_noop(c, NONE, "utility.batch", [remark()], error="BadOrigin")


def test_the_batch_limit_is_a_parameter_and_the_wire_bound_refuses_more_for_free() -> None:
    c = chain(**{"utility.max_calls": 3})
    assert_noop(c, "bob", "utility.batch", [remark()] * 4, error="TooManyCalls")
    assert_noop(c, "bob", "utility.force_batch", [remark()] * 4, error="TooManyCalls")
    assert_ok(c.submit("bob", "utility.batch", [remark()] * 3))
    # past the wire bound the call does not even decode: no fee, no nonce, nothing written
    too_many = Call(20, 0, scale.encode_compact(MAX_BATCH_CALLS + 1) + remark().encode() * (MAX_BATCH_CALLS + 1))
    with pytest.raises(InvalidExtrinsic, match="over the limit of 4096"):
        RUNTIME.decode_call(too_many)
    assert_refused_for_free(c, too_many, "over the limit")


def nest(levels: int) -> Call:
    call = remark(b"deep")
    for _ in range(levels):
        call = RUNTIME.call("utility.batch", [call])
    return call


def assert_refused_for_free(c: TestChain, call: Call, match: str) -> None:
    """An extrinsic carrying `call` cannot be included: no fee, no nonce, no write."""
    xt = sign_extrinsic(dev_keypair("bob"), call, c.account("bob").nonce, GENESIS_HASH, RUNTIME.spec_version)
    bob = c.account("bob")
    ex = c.begin_block()
    changes, outcomes = dict(ex.state.changes()), list(ex.outcomes)
    with pytest.raises(InvalidExtrinsic, match=match):
        c.executive.apply_extrinsic(ex, xt, len(xt.encode()))
    assert (ex.state.changes(), ex.outcomes, ex.fees) == (changes, outcomes, 0)
    c.end_block()
    assert c.account("bob") == bob


def test_batches_nest_as_deep_as_the_call_depth_limit_and_a_deeper_one_is_refused_for_free() -> None:
    c = chain()
    assert_ok(c.submit("bob", "utility.batch_all", [nest(3)]))  # four batches around the remark
    assert [e.name for e in c.events() if e.MODULE == "utility"].count("BatchCompleted") == 4
    assert [e.name for e in c.events() if e.MODULE == "system"] == ["Remarked", "ExtrinsicSuccess"]
    with pytest.raises(InvalidExtrinsic, match="nested deeper than 4"):
        RUNTIME.decode_call(RUNTIME.call("utility.batch", [nest(4)]))  # five batches
    deep = Call(20, 0, scale.encode_compact(1) + nest(4).encode())
    assert_refused_for_free(c, deep, "nested deeper than 4")


def test_a_call_in_a_batch_sees_no_fee_of_its_own_and_a_proxied_call_sees_its_extrinsics() -> None:
    """A call that reimburses its signer's fee (compute's output postings read `CallContext.fee`) would pay the one
    fee back once per call of a batch; inside a batch the fee it sees is 0. A proxy makes one call: it sees the
    proxy extrinsic's fee."""
    seen: list[int] = []

    def record(ctx: CallContext, origin: Origin) -> None:
        seen.append(ctx.fee)

    probe = ModuleDef(200, "probe", (CallDef(0, "fee", (), 10, record, spends=NOTHING),))
    runtime = Runtime(RUNTIME.spec_version, (*RUNTIME.modules, probe), storage_versions=RUNTIME.storage_versions)
    c = chain()
    c.submit("alice", "proxy.add_proxy", acct("bob"), 0, 0)
    from runtime.executive import Executive

    c.executive = Executive(runtime, GENESIS_HASH)
    fee_call = runtime.call("probe.fee")
    assert_ok(c.submit("bob", "probe.fee"))  # calls inside calls decode by the probe runtime's own table
    assert_ok(c.submit("bob", "utility.batch", [fee_call, fee_call, fee_call]))
    assert_ok(c.submit("bob", "proxy.proxy", acct("alice"), None, fee_call))
    proxied = c.transaction_outcomes()[0].fee
    assert_ok(c.submit("bob", "utility.batch", [runtime.call("proxy.proxy", acct("alice"), None, fee_call)]))
    assert seen[0] > 0 and seen[1:4] == [0, 0, 0] and seen[4] == proxied > 0 and seen[5] == 0
