"""The attacks on proxy types: a NonTransfer proxy tries every route to move the account's money (a call that takes
balance, one batched, nested in batches, through another proxy, through a multisig, by widening its own powers) and
fails every time with nothing moved; each type's filter holds over every call of the dispatch table."""

from __future__ import annotations

import pytest

from btt_chain.primitives.extrinsic import Call
from btt_chain.primitives.hashing import ZERO_HASH
from runtime.dispatch import DecodedCall
from runtime.modules import RUNTIME
from runtime.proxy import events, filters
from runtime.proxy.types import ANY, GOVERNANCE, NON_TRANSFER, OK, PROXY_TYPES, STAKING, DispatchResultValue
from runtime.utility import events as utility_events
from tests.runtime.test_utility_batch import error, remark, transfer
from tests.support.runtime_builder import UNIT, GenesisBuilder, TestChain, acct, assert_last_event, assert_ok

UNPROXYABLE = DispatchResultValue(False, error("proxy", "Unproxyable"))
NO_PERMISSION = DispatchResultValue(False, error("proxy", "NoPermission"))


def chain() -> TestChain:
    """bob made charlie its NonTransfer proxy; bob is itself an Any proxy of dave (so bob's authority reaches dave's
    money, which charlie's must not)."""
    c = GenesisBuilder(balances={"alice": 1_000, "bob": 1_000, "charlie": 100, "dave": 1_000}).build()
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("charlie"), NON_TRANSFER, 0))
    assert_ok(c.submit("dave", "proxy.add_proxy", acct("bob"), ANY, 0))
    return c


def money(c: TestChain) -> tuple[object, ...]:
    """Everything bob and dave hold, and what anyone else could have been paid."""
    return (c.account("bob").free, c.account("bob").reserved, c.account("dave").free, c.account("dave").reserved,
            c.account("eve").free, c.account("ferdie").free)


def as_bob(call: Call) -> Call:
    return RUNTIME.call("proxy.proxy", acct("bob"), None, call)


def as_dave(call: Call) -> Call:
    return RUNTIME.call("proxy.proxy", acct("dave"), None, call)


def batch(*calls: Call, kind: str = "batch") -> Call:
    return RUNTIME.call(f"utility.{kind}", list(calls))


MOVES = {
    "transfer": transfer("eve", UNIT),
    "transfer_all": RUNTIME.call("balances.transfer_all", acct("eve"), False),
    "burn": RUNTIME.call("balances.burn", UNIT, True),
    "vested_transfer": RUNTIME.call("vesting.vested_transfer", acct("eve"), 10 * UNIT, 0, 10**12),
    "stake": RUNTIME.call("staking.stake", "30d", 1_000 * UNIT),
    "bond": RUNTIME.call("bonds.bond", 10 * UNIT),
    "pay": RUNTIME.call("payments.pay", acct("eve"), UNIT, ZERO_HASH),
    "propose": RUNTIME.call("governance.propose", remark(), ZERO_HASH, 100 * UNIT, False),
    "post_job": RUNTIME.call("compute.post_job", ZERO_HASH, ZERO_HASH, b"\x01" * 32, 1, UNIT, 1, 600_000),
    "multisig": RUNTIME.call("multisig.approve", [acct("eve")], 2, transfer("eve", UNIT).encode()),
    "add_proxy": RUNTIME.call("proxy.add_proxy", acct("ferdie"), NON_TRANSFER, 0),
}


@pytest.mark.parametrize("name", sorted(MOVES))
def test_a_nontransfer_proxy_cannot_make_a_call_that_takes_balance(name: str) -> None:
    c = chain()
    before = money(c)
    assert_ok(c.submit("charlie", "proxy.proxy", acct("bob"), None, MOVES[name]))
    assert_last_event(c, events.ProxyExecuted(UNPROXYABLE))
    assert money(c) == before


@pytest.mark.parametrize("kind", ["batch", "batch_all", "force_batch"])
def test_batched_at_any_depth_the_transfer_is_refused_and_nothing_moves(kind: str) -> None:
    c = chain()
    before = money(c)
    first = True
    for call in (batch(remark(), transfer("eve", UNIT), kind=kind),
                 batch(batch(batch(transfer("eve", UNIT), kind=kind)), kind=kind),
                 batch(remark(), batch(remark(), transfer("eve", UNIT), kind="force_batch"), kind=kind)):
        assert_ok(c.submit("charlie", "proxy.proxy", acct("bob"), None, call))
        assert money(c) == before
        if first:  # the remark, then the refused transfer, as each kind reports it
            seen = [e for e in c.events() if e.MODULE in ("proxy", "utility")]
            refused = error("proxy", "Unproxyable")
            assert seen == {
                "batch_all": [events.ProxyExecuted(UNPROXYABLE)],
                "batch": [utility_events.ItemCompleted(), utility_events.BatchInterrupted(1, refused),
                          events.ProxyExecuted(OK)],
                "force_batch": [utility_events.ItemCompleted(), utility_events.ItemFailed(refused),
                                utility_events.BatchCompletedWithErrors(), events.ProxyExecuted(OK)],
            }[kind]
            first = False


def test_through_another_proxy_the_nontransfer_filter_stays_on() -> None:
    """bob may move dave's money (an Any proxy of dave); charlie, bob's NonTransfer proxy, may not reach it through
    bob: FRAME would start afresh as dave, here the filter stays on for everything charlie's call carries."""
    c = chain()
    before = money(c)
    routes = [
        as_dave(transfer("eve", UNIT)),
        batch(remark(), as_dave(transfer("eve", UNIT))),
        as_dave(batch(remark(), transfer("eve", UNIT), kind="batch_all")),
        batch(as_dave(as_bob(transfer("eve", UNIT)))),
    ]
    for call in routes:
        assert_ok(c.submit("charlie", "proxy.proxy", acct("bob"), None, call))
        assert money(c) == before, call
    # the same route with bob's own key moves dave's money: the refusal is the filter's
    assert_ok(c.submit("bob", "proxy.proxy", acct("dave"), None, transfer("eve", UNIT)))
    assert c.account("eve").free == UNIT


def test_a_nontransfer_proxy_cannot_widen_its_powers_or_remove_the_accounts_proxies() -> None:
    c = chain()
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("ferdie"), GOVERNANCE, 0))
    before = money(c)
    for call, result in (
        (RUNTIME.call("proxy.add_proxy", acct("charlie"), ANY, 0), NO_PERMISSION),
        (RUNTIME.call("proxy.remove_proxies"), NO_PERMISSION),
        (RUNTIME.call("proxy.remove_proxy", acct("dave"), ANY, 0), NO_PERMISSION),
    ):
        assert_ok(c.submit("charlie", "proxy.proxy", acct("bob"), None, call))
        assert_last_event(c, events.ProxyExecuted(result))
    assert money(c) == before
    # what it may do: remove a proxy of no more power than its own (its deposit share returns to bob, not to it)
    assert_ok(c.submit("charlie", "proxy.proxy", acct("bob"), None,
                       RUNTIME.call("proxy.remove_proxy", acct("ferdie"), GOVERNANCE, 0)))
    assert_last_event(c, events.ProxyExecuted(OK))
    assert c.account("charlie").free < 100 * UNIT  # it paid its fees, and got nothing of bob's


def test_what_a_nontransfer_proxy_may_do_it_does() -> None:
    c = chain()
    assert_ok(c.submit("charlie", "proxy.proxy", acct("bob"), None,
                       batch(remark(b"hello"), RUNTIME.call("compute.set_box_key", b"\x05" * 32), kind="batch_all")))
    assert_last_event(c, events.ProxyExecuted(OK))
    assert [e.name for e in c.events() if e.MODULE == "system"][0] == "Remarked"


def probe(name: str) -> DecodedCall:
    """A call of the dispatch table as the filter sees it (its definition; the arguments matter only to add_proxy and
    remove_proxy, tested on chain)."""
    module, call = RUNTIME.lookup(name)
    return DecodedCall(module, call, ())


def test_each_types_filter_over_the_whole_dispatch_table() -> None:
    """NonTransfer allows exactly the calls that take nothing (and the carriers of calls, whose calls it meets as they
    run); Governance only governance's; Staking only bonds', staking's and session's; Any all. A call added later is
    judged by its own declaration."""
    for module in RUNTIME.modules:
        for call in module.calls:
            spends = call.spends
            assert spends is not None
            carrier = spends.calls is not None
            seen = probe(f"{module.name}.{call.name}")
            assert filters.allows(ANY, seen)
            assert filters.allows(NON_TRANSFER, seen) == (carrier or spends.takes_nothing), call.name
            assert filters.allows(GOVERNANCE, seen) == (carrier or module.name == "governance"), call.name
            assert filters.allows(STAKING, seen) == (carrier or module.name in ("bonds", "staking", "session"))
    for name in ("balances.transfer_allow_death", "balances.transfer_keep_alive", "balances.transfer_all",
                 "balances.burn", "vesting.vested_transfer", "payments.pay", "payments.pay_invoice", "assets.transfer",
                 "assets.accept", "multisig.approve", "proxy.add_proxy", "bonds.bond", "staking.stake"):
        assert not filters.allows(NON_TRANSFER, probe(name)), name
    for name in ("system.remark", "governance.vote", "bonds.unbond", "staking.unstake", "incentives.redeem",
                 "proxy.remove_proxy", "utility.batch", "proxy.proxy"):
        assert filters.allows(NON_TRANSFER, probe(name)), name


def test_superset_is_polkadots_rule() -> None:
    table = {(a, b): filters.is_superset(a, b) for a in range(len(PROXY_TYPES)) for b in range(len(PROXY_TYPES))}
    assert all(table[(ANY, b)] for b in range(4)) and all(table[(a, a)] for a in range(4))
    assert [b for b in range(4) if table[(NON_TRANSFER, b)]] == [NON_TRANSFER, GOVERNANCE, STAKING]
    assert [b for b in range(4) if table[(GOVERNANCE, b)]] == [GOVERNANCE]
    assert [b for b in range(4) if table[(STAKING, b)]] == [STAKING]


def test_governance_and_staking_proxies_keep_to_their_modules() -> None:
    c = GenesisBuilder(balances={"alice": 1_000, "bob": 20_000, "charlie": 100, "dave": 100}).build()
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("charlie"), STAKING, 0))
    assert_ok(c.submit("bob", "proxy.add_proxy", acct("dave"), GOVERNANCE, 0))
    bob = c.account("bob")
    assert_ok(c.submit("charlie", "proxy.proxy", acct("bob"), None, batch(RUNTIME.call("bonds.bond", 10 * UNIT),
                                                                           kind="batch_all")))
    assert_last_event(c, events.ProxyExecuted(OK))
    assert c.account("bob").reserved == bob.reserved + 10 * UNIT
    for who, call in (("charlie", transfer("eve", UNIT)), ("dave", transfer("eve", UNIT)),
                      ("dave", RUNTIME.call("bonds.unbond", UNIT)), ("charlie", MOVES["propose"])):
        assert_ok(c.submit(who, "proxy.proxy", acct("bob"), None, call))
        assert_last_event(c, events.ProxyExecuted(UNPROXYABLE))
    assert c.account("eve").free == 0
    # a multisig approval (which runs its call as another account) is neither governance's nor staking's
    assert_ok(c.submit("dave", "proxy.proxy", acct("bob"), None, MOVES["multisig"]))
    assert_last_event(c, events.ProxyExecuted(UNPROXYABLE))
