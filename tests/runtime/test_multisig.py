"""multisig: approvals by signatories of a derived M-of-N account; the call runs as that account once the
threshold is reached, its failure is reported in an event, and the first approver's deposit always returns."""

from __future__ import annotations

from btt_chain.primitives.accounts import multisig_account
from btt_chain.primitives.hashing import blake2b_256
from runtime.balances import events as balance_events
from runtime.modules import RUNTIME
from runtime.multisig import events
from runtime.multisig import storage as multisig
from tests.support.models import dense_blob
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

DEPOSIT = DEFAULT_PARAMS["multisig.deposit"][0]
SIGNERS = ("alice", "bob", "charlie")
MS = multisig_account([acct(n) for n in SIGNERS], 2)


def others(me: str, names: tuple[str, ...] = SIGNERS) -> list[bytes]:
    return [acct(n) for n in names if n != me]


def transfer_data(dest: str = "dave", amount: int = 10 * UNIT) -> bytes:
    return RUNTIME.call("balances.transfer_allow_death", acct(dest), amount).encode()


def chain() -> TestChain:
    return GenesisBuilder(accounts={MS: 100}).build()


def test_multisig_account_ignores_signatory_order() -> None:
    a, b, c = (acct(n) for n in SIGNERS)
    assert multisig_account([c, a, b], 2) == multisig_account([a, b, c], 2) == MS
    assert multisig_account([a, b, c], 3) != MS
    assert MS == blake2b_256(b"multisig/" + (2).to_bytes(2, "big") + b"".join(sorted([a, b, c])))


def test_two_of_three_moves_funds_only_with_two_approvals() -> None:
    c = chain()
    data = transfer_data()
    h = blake2b_256(data)
    assert_ok(c.submit("bob", "multisig.approve", others("bob"), 2, data))
    assert_last_event(c, events.NewMultisig(MS, acct("bob"), h))
    assert c.account("bob").reserved == DEPOSIT
    assert c.account(MS).free == 100 * UNIT
    assert c.account("dave").free == 0
    pending = multisig.pending.get(c.view(), multisig.pending_key(MS, h))
    assert pending.approvals == (acct("bob"),) and pending.depositor == acct("bob")

    assert_ok(c.submit("charlie", "multisig.approve", others("charlie"), 2, data))
    assert_last_event(c, events.Executed(MS, h, True, ""))
    assert balance_events.Transfer(MS, acct("dave"), 10 * UNIT) in c.events()
    assert c.account(MS).free == 90 * UNIT
    assert c.account("dave").free == 10 * UNIT
    assert c.account("bob").reserved == 0
    assert list(multisig.pending_of(c.view(), MS)) == []


def test_three_of_three_waits_for_the_third() -> None:
    ms3 = multisig_account([acct(n) for n in SIGNERS], 3)
    c = GenesisBuilder(accounts={ms3: 50}).build()
    data = transfer_data(amount=5 * UNIT)
    assert_ok(c.submit("alice", "multisig.approve", others("alice"), 3, data))
    assert_ok(c.submit("bob", "multisig.approve", others("bob"), 3, data))
    assert_last_event(c, events.Approval(ms3, acct("bob"), blake2b_256(data), 2))
    assert c.account("dave").free == 0
    assert_ok(c.submit("charlie", "multisig.approve", others("charlie"), 3, data))
    assert c.account("dave").free == 5 * UNIT


def test_a_non_signatory_cannot_complete_a_multisig() -> None:
    """An outsider's approval is for a different derived account: the 2-of-3 still has one approval and
    nothing leaves it; listing oneself among the others is refused."""
    c = GenesisBuilder(accounts={MS: 100}, balances={"alice": 1_000, "bob": 1_000, "charlie": 100, "eve": 100}).build()
    data = transfer_data()
    assert_ok(c.submit("bob", "multisig.approve", others("bob"), 2, data))
    assert_ok(c.submit("eve", "multisig.approve", [acct("alice"), acct("bob"), acct("charlie")], 2, data))
    assert c.account(MS).free == 100 * UNIT
    assert multisig.pending.get(c.view(), multisig.pending_key(MS, blake2b_256(data))).approvals == (acct("bob"),)
    assert_noop(c, "eve", "multisig.approve", [acct("alice"), acct("eve")], 2, data, error="SenderInSignatories")


def test_approve_failures_change_nothing() -> None:
    c = chain()
    data = transfer_data()
    assert_noop(c, "bob", "multisig.approve", others("bob"), 1, data, error="ThresholdOutOfRange")
    assert_noop(c, "bob", "multisig.approve", others("bob"), 4, data, error="ThresholdOutOfRange")
    assert_noop(c, "bob", "multisig.approve", [acct("alice"), acct("alice")], 2, data, error="DuplicateSignatory")
    many = [bytes([i]) * 32 for i in range(16)]
    assert_noop(c, "bob", "multisig.approve", many, 2, data, error="TooManySignatories")
    assert_noop(c, "bob", "multisig.approve", others("bob"), 2, b"\x93\x01", error="InvalidCall")
    assert_noop(c, "bob", "multisig.approve", others("bob"), 2, RUNTIME.call("balances.burn", UNIT, True).encode()[:-1],
                error="InvalidCall")
    assert_ok(c.submit("bob", "multisig.approve", others("bob"), 2, data))
    assert_noop(c, "bob", "multisig.approve", others("bob"), 2, data, error="AlreadyApproved")


def test_first_approver_needs_the_deposit() -> None:
    poor = multisig_account([acct("alice"), acct("eve")], 2)
    c = GenesisBuilder(balances={"alice": 1_000, "eve": 1}, accounts={poor: 10}).build()
    assert_noop(c, "eve", "multisig.approve", [acct("alice")], 2, transfer_data(), error="InsufficientBalance")


def test_failing_call_is_reported_and_undone_and_the_deposit_returned() -> None:
    c = chain()
    data = transfer_data(amount=500 * UNIT)  # more than the multisig holds
    h = blake2b_256(data)
    assert_ok(c.submit("bob", "multisig.approve", others("bob"), 2, data))
    before_ms = c.account(MS)
    assert_ok(c.submit("alice", "multisig.approve", others("alice"), 2, data))
    executed = [e for e in c.events() if isinstance(e, events.Executed)]
    assert len(executed) == 1 and not executed[0].ok and "InsufficientBalance" in executed[0].error
    assert not [e for e in c.events() if isinstance(e, balance_events.Transfer)]
    assert c.account(MS) == before_ms
    assert c.account("bob").reserved == 0
    assert not multisig.pending.contains(c.view(), multisig.pending_key(MS, h))


def test_cancel_by_the_first_approver_only() -> None:
    c = chain()
    data = transfer_data()
    h = blake2b_256(data)
    assert_noop(c, "bob", "multisig.cancel", others("bob"), 2, h, error="NotFound")
    assert_ok(c.submit("bob", "multisig.approve", others("bob"), 2, data))
    assert_noop(c, "alice", "multisig.cancel", others("alice"), 2, h, error="NotOwner")
    assert_ok(c.submit("bob", "multisig.cancel", others("bob"), 2, h))
    assert_last_event(c, events.Cancelled(MS, h))
    assert c.account("bob").reserved == 0
    assert_noop(c, "bob", "multisig.cancel", others("bob"), 2, h, error="NotFound")
    # after cancelling, a fresh approval starts over
    assert_ok(c.submit("charlie", "multisig.approve", others("charlie"), 2, data))
    assert c.account("dave").free == 0


def test_a_multisig_may_sign_for_another_multisig_one_level_deep() -> None:
    """Inner 2-of-2 (alice, bob) is a signatory of outer 2-of-2 (inner, charlie)."""
    inner = multisig_account([acct("alice"), acct("bob")], 2)
    outer = multisig_account([inner, acct("charlie")], 2)
    c = GenesisBuilder(accounts={inner: 10, outer: 100}).build()
    pay = transfer_data(amount=7 * UNIT)
    assert_ok(c.submit("charlie", "multisig.approve", [inner], 2, pay))
    inner_call = RUNTIME.call("multisig.approve", (acct("charlie"),), 2, pay).encode()
    assert_ok(c.submit("alice", "multisig.approve", [acct("bob")], 2, inner_call))
    assert_ok(c.submit("bob", "multisig.approve", [acct("alice")], 2, inner_call))
    assert c.account("dave").free == 7 * UNIT
    assert [e.ok for e in c.events() if isinstance(e, events.Executed)] == [True, True]


def test_nesting_deeper_than_one_level_is_refused() -> None:
    """inner executes an approval for outer that would in turn execute a multisig call: refused, reported."""
    inner = multisig_account([acct("alice"), acct("bob")], 2)
    outer = multisig_account([inner, acct("charlie")], 2)
    c = GenesisBuilder(accounts={inner: 10, outer: 100}).build()
    deeper = RUNTIME.call("multisig.cancel", (acct("ferdie"),), 2, bytes(32)).encode()
    assert_ok(c.submit("charlie", "multisig.approve", [inner], 2, deeper))
    inner_call = RUNTIME.call("multisig.approve", (acct("charlie"),), 2, deeper).encode()
    assert_ok(c.submit("alice", "multisig.approve", [acct("bob")], 2, inner_call))
    assert_ok(c.submit("bob", "multisig.approve", [acct("alice")], 2, inner_call))
    executed = [e for e in c.events() if isinstance(e, events.Executed)]
    assert len(executed) == 1 and "NestingTooDeep" in executed[0].error
    assert c.account("charlie").reserved == DEPOSIT  # outer's pending approval is untouched


def test_live_presets_hold_the_liquidity_fund_in_a_two_of_three_multisig() -> None:
    from btt_chain.primitives.address import decode_address
    from genesis.loader import load_chain_spec

    for name in ("btt-21m", "btt-210m"):
        spec = load_chain_spec(name)
        row = next(r for r in spec.allocations if r.category == "Liquidity Provision Fund")
        holder = next(h for h in row.holders if h.label.startswith("multisig:"))
        _, threshold, members = holder.label.split(":")
        ids = [decode_address(a) for a in members.split(",")]
        assert threshold == "2" and len(ids) == 3
        assert holder.account == multisig_account(ids, 2)


def test_genesis_multisig_holders_are_checked() -> None:
    import pytest

    from btt_chain.primitives.errors import GenesisError
    from genesis.loader import load_chain_spec_doc, parse_chain_spec

    doc = load_chain_spec_doc("dev")
    row = next(r for r in doc["allocations"] if r["category"] == "Liquidity Provision Fund")
    # the dev preset's liquidity row holds a 2-of-3 multisig of alice, bob and charlie
    i = next(i for i, h in enumerate(row["holders"]) if h["account"] == "multisig:2:alice,bob,charlie")
    spec = parse_chain_spec(doc)
    holder = next(r for r in spec.allocations if r.category == "Liquidity Provision Fund").holders[i]
    assert holder.account == MS
    for bad, why in [
        ("multisig:1:alice,bob", "threshold 1"),
        ("multisig:3:alice,bob", "threshold 3"),
        ("multisig:2:alice,alice", "listed twice"),
        ("multisig:x:alice,bob", "not a multisig"),
        ("multisig:2:alice,module:foundation", "module account"),
    ]:
        row["holders"][i]["account"] = bad
        with pytest.raises(GenesisError, match=why):
            parse_chain_spec(doc)


def test_an_approval_pays_for_the_weight_of_the_call_it_carries() -> None:
    # the reported gap: approve had one fixed weight, so a heavy inner call rode along underpriced
    c = chain()
    view = c.view()
    big, _ = dense_blob("big", (16,) * 17)  # 31 layers: registering it checks every layer's shape
    light = RUNTIME.call("balances.transfer_allow_death", acct("dave"), UNIT).encode()
    heavy = RUNTIME.call("compute.register_model", big).encode()

    def weight(name: str, *args: object) -> int:
        return RUNTIME.weight(view, RUNTIME.decode_call(RUNTIME.call(name, *args)))

    light_weight = weight("multisig.approve", others("alice"), 2, light)
    heavy_weight = weight("multisig.approve", others("alice"), 2, heavy)
    inner = weight("compute.register_model", big)
    assert inner > 1_500
    assert heavy_weight == 3_000 + inner and light_weight == 3_000 + weight("balances.transfer_allow_death",
                                                                            acct("dave"), UNIT)
    per_weight = DEFAULT_PARAMS["fees.per_weight"][0]
    assert c.fee_of("alice", "multisig.approve", others("alice"), 2, heavy) - c.fee_of(
        "alice", "multisig.approve", others("alice"), 2, light
    ) >= (heavy_weight - light_weight) * per_weight
    # an approval of garbage weighs only itself, and fails without changing anything
    assert weight("multisig.approve", others("alice"), 2, b"\x01\x02") == 3_000
