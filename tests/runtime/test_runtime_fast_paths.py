"""The runtime's shortcuts on its hottest path, tried against the long way: the signer's account reused after its
fee only while nothing was written (a lock set in between is always seen), parameter values remembered per block
only until one is written or rolled back, and AccountInfo's unrolled wire conversions and replace, which accept
and refuse exactly what the generic ones do."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.primitives.codec import Struct
from btt_chain.primitives.errors import DecodeError
from runtime.balances.locks import get_current_account, refresh_frozen
from runtime.balances.logic import withdraw_fee
from runtime.context import BlockEnv, CallContext
from runtime.governance import storage as governance
from runtime.governance.types import VoteLock
from runtime.modules import RUNTIME
from runtime.overlay import DictState, Overlay
from runtime.params import storage as params
from runtime.params.storage import get_param, get_params
from runtime.system import storage as system
from runtime.system.types import AccountInfo
from tests.runtime.overlay_ops import snapshot_op

WHO = b"\x07" * 32


def _ctx() -> CallContext:
    env = BlockEnv(5, bytes(32), 5, 1_000_000, bytes(32))
    return CallContext(Overlay(DictState()), env, RUNTIME)


def test_every_visible_change_counts_as_a_write() -> None:
    state = Overlay(DictState())
    n = state.writes
    state.begin()
    state.commit()
    assert state.get(b"k") is None and state.writes == n  # reads, begin and commit change nothing visible
    state.set(b"k", b"v")
    state.delete(b"k")
    state.begin()
    state.rollback()
    assert state.writes == n + 3


def test_the_signers_account_after_its_fee_is_reused_only_while_nothing_is_written() -> None:
    """The call after the fee withdrawal need not compute the signer's locks again; but a lock written in between
    (a vote, a vesting schedule), or another account, is always computed afresh: locked funds stay locked."""
    ctx = _ctx()
    system.account.put(ctx.state, WHO, AccountInfo(0, 1_000, 0, 0))
    after_fee = withdraw_fee(ctx, WHO, 10, get_current_account(ctx, WHO))
    assert refresh_frozen(ctx, WHO) is after_fee
    assert refresh_frozen(ctx, b"\x08" * 32) == AccountInfo()  # someone else: read, not the hint

    governance.locks.put(ctx.state, WHO, VoteLock(600, 2_000_000))  # the signer's free balance locked meanwhile
    refreshed = refresh_frozen(ctx, WHO)
    assert refreshed.frozen == 600 and refreshed.spendable == 990 - 600
    assert system.account.get(ctx.state, WHO).frozen == 600


def test_after_a_rollback_the_account_is_read_again() -> None:
    ctx = _ctx()
    system.account.put(ctx.state, WHO, AccountInfo(0, 1_000, 0, 0))
    withdraw_fee(ctx, WHO, 10, get_current_account(ctx, WHO))
    ctx.state.begin()
    governance.locks.put(ctx.state, WHO, VoteLock(600, 2_000_000))
    assert refresh_frozen(ctx, WHO).frozen == 600
    ctx.state.rollback()  # the lock and the account's refreshed frozen are gone again
    assert refresh_frozen(ctx, WHO) == get_current_account(ctx, WHO) == AccountInfo(1, 990, 0, 0)


_INTS = st.one_of(st.integers(-2, 2**130), st.booleans(), st.just(None), st.binary(max_size=17))


@settings(max_examples=400, deadline=None)
@given(st.tuples(_INTS, _INTS, _INTS, _INTS))
def test_the_unrolled_account_encoding_matches_the_generic_one(fields: tuple[object, ...]) -> None:
    """AccountInfo's own to_wire and from_wire accept and give exactly what Struct's generic ones do."""
    account = AccountInfo(*fields)  # type: ignore[arg-type]
    outcomes = []
    for to_wire in (account.to_wire, lambda: Struct.to_wire(account)):
        try:
            outcomes.append(("ok", to_wire()))
        except DecodeError as exc:
            outcomes.append(("error", type(exc)))
    assert outcomes[0] == outcomes[1]
    wire = list(fields)
    decoded = []
    for from_wire in (AccountInfo.from_wire, lambda w: Struct.from_wire.__func__(AccountInfo, w)):  # type: ignore[attr-defined]
        try:
            decoded.append(("ok", from_wire(wire)))
        except DecodeError as exc:
            decoded.append(("error", type(exc)))
    assert decoded[0] == decoded[1]
    if outcomes[0][0] == "ok":
        assert AccountInfo.from_wire(outcomes[0][1]) == account


@pytest.mark.parametrize("wire", [[1, bytes(16), bytes(16)], "x", None, [1, bytes(16), bytes(16), bytes(15)]])
def test_a_malformed_account_names_the_fault(wire: object) -> None:
    with pytest.raises(DecodeError, match="AccountInfo"):
        AccountInfo.from_wire(wire)


def test_the_unrolled_account_replace_matches_the_generic_one() -> None:
    acc = AccountInfo(4, 100, 20, 10)
    for changes in ({}, {"free": 1}, {"nonce": 5, "frozen": 0}, {"nonce": 1, "free": 2, "reserved": 3, "frozen": 4}):
        assert acc.replace(**changes) == Struct.replace(acc, **changes)
    with pytest.raises(TypeError):
        acc.replace(free=1, nope=2)
    assert acc == AccountInfo(4, 100, 20, 10)


NAME = "fees.base"
KEY = params.value.key(NAME)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.just("set"), st.integers(0, 10**6)), st.just(("delete", 0)), st.just(("begin", 0)),
    st.just(("commit", 0)), st.just(("rollback", 0)), st.just(("other", 0)), st.just(("read", 0)),
), max_size=30))
def test_a_remembered_parameter_is_never_stale(ops: list[tuple[str, int]]) -> None:
    """Parameter values remembered per overlay follow every write, delete, snapshot and rollback: each read gives
    what a fresh read of the same overlay's raw state gives (a parameter changed mid-block counts at once), alone
    or as part of a remembered tuple (`get_params`, the fee's three)."""
    per_byte = params.value.key("fees.per_byte")
    state = Overlay(DictState({KEY: params.value.codec.encode(7), per_byte: params.value.codec.encode(3)}))
    ctx = CallContext(state, BlockEnv(1, bytes(32), 1, 0, bytes(32)), RUNTIME)
    for op, n in ops:
        if op == "set":
            params.value.put(state, NAME, n)
        elif op == "delete":
            state.delete(KEY)
        elif snapshot_op(state, op):
            pass
        elif op == "other":
            state.set(b"system.account/x", b"y")
        raw = state.get(KEY)
        truth = None if raw is None else params.value.codec.decode(raw)
        for read in (lambda: get_param(state, NAME), lambda: ctx.param(NAME),
                     lambda: get_params(state, ("fees.per_byte", NAME))[1]):
            if truth is None:
                with pytest.raises(KeyError):
                    read()
            else:
                assert read() == truth


def test_the_shared_success_event_is_the_one_a_fresh_construction_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """ExtrinsicSuccess is shared per weight: each weight gets an equal event with the same encoding and record as
    a new one, another weight its own; past the memo's size it is emptied and stays right."""
    from runtime import executive
    from runtime.system.dispatch_types import DispatchInfo
    from runtime.system.events import ExtrinsicSuccess

    monkeypatch.setattr(executive, "SUCCESS_EVENTS_KEPT", 2)
    for _ in range(2):
        for weight in (0, 100, 100, 7, 2**64 - 1, 100):
            shared = executive.extrinsic_success(weight)
            fresh = ExtrinsicSuccess(DispatchInfo(weight))
            assert shared == fresh and shared.encode() == fresh.encode() and shared.to_record() == fresh.to_record()
    assert executive.extrinsic_success(5) != executive.extrinsic_success(6)
