"""proxy: add, remove and act, with the deposit's accounting exact at every step (base once, factor per proxy,
reserved and returned to the base unit), the limits refused with nothing changed, and a removed proxy unable to act."""

from __future__ import annotations

import pytest

from btt_chain.primitives.codec import ADDRESS, U32
from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call
from runtime.balances import events as balance_events
from runtime.context import GOVERNANCE
from runtime.modules import RUNTIME
from runtime.proxy import events
from runtime.proxy import storage as proxy
from runtime.proxy.types import ANY, NON_TRANSFER, OK, STAKING, DispatchResultValue
from runtime.proxy.types import GOVERNANCE as GOV_TYPE
from tests.runtime.test_utility_batch import error, remark, transfer
from tests.support.runtime_builder import (
    DEFAULT_PARAMS,
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_last_event,
    assert_noop,
    assert_ok,
)

BASE = DEFAULT_PARAMS["proxy.deposit_base"][0]
FACTOR = DEFAULT_PARAMS["proxy.deposit_factor"][0]


def chain(**params: int) -> TestChain:
    return GenesisBuilder(balances={"alice": 1_000, "bob": 1_000, "charlie": 100, "dave": 100}, params=params,
                          validators={"alice": 10}).build()


def reserved(c: TestChain, name: str) -> int:
    return c.account(name).reserved


def test_each_proxy_reserves_its_share_and_each_removal_returns_it_to_the_base_unit() -> None:
    c = chain()
    assert reserved(c, "bob") == 0
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("charlie"), ANY, 0))
    assert_last_event(c, events.ProxyAdded(acct("bob"), acct("charlie"), ANY, 0))
    assert balance_events.Reserved(acct("bob"), BASE + FACTOR) in c.events()
    assert reserved(c, "bob") == BASE + FACTOR
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("dave"), STAKING, 0))
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("charlie"), NON_TRANSFER, 0))  # same delegate, another type
    record = proxy.proxies.get(c.view(), acct("bob"))
    assert record is not None and record.deposit == reserved(c, "bob") == BASE + 3 * FACTOR
    assert [d.order for d in record.definitions] == sorted(d.order for d in record.definitions)
    assert_ok(c.submit("bob", "proxy.remove_proxy", acct("charlie"), ANY, 0))
    assert_last_event(c, events.ProxyRemoved(acct("bob"), acct("charlie"), ANY, 0))
    assert reserved(c, "bob") == BASE + 2 * FACTOR
    free = c.account("bob").free
    assert_ok(c.submit("bob", "proxy.remove_proxies"))
    assert {e for e in c.events() if e.MODULE == "proxy"} == {
        events.ProxyRemoved(acct("bob"), acct("dave"), STAKING, 0),
        events.ProxyRemoved(acct("bob"), acct("charlie"), NON_TRANSFER, 0)}
    assert reserved(c, "bob") == 0 and c.view().get(proxy.proxies.key(acct("bob"))) is None  # nothing stored
    assert c.account("bob").free == free + BASE + 2 * FACTOR - c.transaction_outcomes()[0].fee
    assert_ok(c.submit("bob", "proxy.remove_proxies"))  # none left: nothing to do, nothing moves
    assert reserved(c, "bob") == 0


def test_a_deposit_follows_the_parameters_when_a_proxy_is_added_and_a_removal_never_takes_more() -> None:
    c = chain()
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("charlie"), ANY, 0))
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("dave"), ANY, 0))
    c.dispatch(GOVERNANCE, "params.set_parameter", "proxy.deposit_factor", 2 * FACTOR)
    assert reserved(c, "bob") == BASE + 2 * FACTOR  # a change of parameter alone moves nothing
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("eve"), ANY, 0))
    assert reserved(c, "bob") == BASE + 3 * 2 * FACTOR  # recomputed at today's figures on an addition (FRAME's)
    c.dispatch(GOVERNANCE, "params.set_parameter", "proxy.deposit_factor", 4 * FACTOR)
    free = c.account("bob").free
    assert_ok(c.submit("bob", "proxy.remove_proxy", acct("eve"), ANY, 0))  # today's 2 would be more: kept as is
    assert reserved(c, "bob") == BASE + 6 * FACTOR
    assert c.account("bob").free == free - c.transaction_outcomes()[0].fee
    c.dispatch(GOVERNANCE, "params.set_parameter", "proxy.deposit_factor", FACTOR // 2)
    assert_ok(c.submit("bob", "proxy.remove_proxy", acct("dave"), ANY, 0))  # today's 1 is less: the rest returns
    assert reserved(c, "bob") == BASE + FACTOR // 2
    assert_ok(c.submit("bob", "proxy.remove_proxy", acct("charlie"), ANY, 0))
    assert reserved(c, "bob") == 0


def test_adding_a_proxy_refuses_what_it_must_and_changes_nothing() -> None:
    c = chain(**{"proxy.max_proxies": 2})
    assert_noop(c, "bob", "proxy.add_proxy", acct("bob"), ANY, 0, error="NoSelfProxy")
    assert_noop(c, "bob", "proxy.add_proxy", acct("charlie"), ANY, 5, error="DelayNotSupported")
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("charlie"), ANY, 0))
    assert_noop(c, "bob", "proxy.add_proxy", acct("charlie"), ANY, 0, error="Duplicate")
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("charlie"), GOV_TYPE, 0))
    assert_noop(c, "bob", "proxy.add_proxy", acct("dave"), ANY, 0, error="TooMany")
    assert_noop(c, "bob", "proxy.remove_proxy", acct("dave"), ANY, 0, error="NotFound")
    assert_noop(c, "bob", "proxy.remove_proxy", acct("charlie"), STAKING, 0, error="NotFound")
    assert_noop(c, "charlie", "proxy.remove_proxy", acct("charlie"), ANY, 0, error="NotFound")  # not its proxy
    poor = GenesisBuilder(balances={"alice": 1_000, "bob": 1_000, "charlie": 100, "dave": 1}).build()
    assert_noop(poor, "dave", "proxy.add_proxy", acct("bob"), ANY, 0, error="InsufficientBalance")
    unknown_type = Call(21, 1, ADDRESS.encode_scale(acct("charlie")) + b"\x07" + U32.encode_scale(0))
    with pytest.raises(InvalidExtrinsic, match="not a proxy type"):  # an unknown type does not even decode
        RUNTIME.decode_call(unknown_type)


def test_a_delegate_acts_for_the_account_pays_its_own_fee_and_a_failure_is_reported_and_undone() -> None:
    c = chain()
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("charlie"), ANY, 0))
    bob, charlie = c.account("bob"), c.account("charlie")
    outcome = c.submit("charlie", "proxy.proxy", acct("bob"), None, transfer("dave", 5 * UNIT))
    assert_ok(outcome)
    assert balance_events.Transfer(acct("bob"), acct("dave"), 5 * UNIT) in c.events()
    assert_last_event(c, events.ProxyExecuted(OK))
    assert c.account("bob").free == bob.free - 5 * UNIT and c.account("bob").nonce == bob.nonce
    assert c.account("charlie").free == charlie.free - outcome.fee and c.account("charlie").nonce == charlie.nonce + 1
    # the call fails: the proxy call succeeds (FRAME's), the failure is in ProxyExecuted, nothing of it stays
    bob = c.account("bob")
    assert_ok(c.submit("charlie", "proxy.proxy", acct("bob"), ANY, transfer("dave", 10**6 * UNIT)))
    assert_last_event(c, events.ProxyExecuted(DispatchResultValue(False, error("balances", "InsufficientBalance"))))
    assert c.account("bob") == bob


def test_only_a_delegate_of_the_type_asked_for_may_act_and_a_removed_one_never_again() -> None:
    c = chain()
    assert_noop(c, "charlie", "proxy.proxy", acct("bob"), None, remark(), error="NotProxy")
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("charlie"), STAKING, 0))
    assert_noop(c, "charlie", "proxy.proxy", acct("bob"), ANY, remark(), error="NotProxy")  # forced: not Any
    assert_noop(c, "dave", "proxy.proxy", acct("bob"), STAKING, remark(), error="NotProxy")  # not its delegate
    assert_noop(c, "bob", "proxy.proxy", acct("charlie"), None, remark(), error="NotProxy")  # the other way round
    assert_ok(c.submit("charlie", "proxy.proxy", acct("bob"), STAKING, RUNTIME.call("bonds.bond", 10 * UNIT)))
    assert_last_event(c, events.ProxyExecuted(OK))
    assert_ok(c.submit("bob", "proxy.remove_proxy", acct("charlie"), STAKING, 0))
    assert_noop(c, "charlie", "proxy.proxy", acct("bob"), None, RUNTIME.call("bonds.unbond", UNIT), error="NotProxy")
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("charlie"), ANY, 0))
    assert_ok(c.submit("bob", "proxy.remove_proxies"))
    assert_noop(c, "charlie", "proxy.proxy", acct("bob"), None, transfer("charlie", UNIT), error="NotProxy")
    # removed inside the same batch that then tries to use it: the later call is made by no proxy
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("charlie"), ANY, 0))
    remove = RUNTIME.call("proxy.remove_proxy", acct("charlie"), ANY, 0)
    bob = c.account("bob")
    assert_ok(c.submit("charlie", "utility.batch", [
        RUNTIME.call("proxy.proxy", acct("bob"), None, remove),
        RUNTIME.call("proxy.proxy", acct("bob"), None, transfer("charlie", UNIT)),
    ]))
    assert [e.name for e in c.events() if e.MODULE == "utility"][-1] == "BatchInterrupted"
    assert c.account("bob").free == bob.free + BASE + FACTOR  # its deposit back, nothing taken
