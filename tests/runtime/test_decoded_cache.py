"""The per-block cache of decoded values (runtime/items.py over Overlay.decoded) never serves a stale value:
not after a write, a rollback, a raw write that bypasses the typed item, or a read of another overlay."""

from __future__ import annotations

import dataclasses

import pytest

from runtime.balances.locks import get_current_account, refresh_frozen
from runtime.balances.logic import withdraw_fee
from runtime.context import BlockEnv, CallContext
from runtime.governance import storage as governance
from runtime.governance.types import VoteLock
from runtime.modules import RUNTIME
from runtime.overlay import DictState, Overlay
from runtime.system import storage as system
from runtime.system.types import AccountInfo

WHO = b"\x07" * 32


def test_reads_follow_writes_snapshots_and_rollbacks() -> None:
    state = Overlay(DictState())
    assert system.account.get(state, WHO) == AccountInfo()
    system.account.put(state, WHO, AccountInfo(1, 100, 0, 0))
    first = system.account.get(state, WHO)
    assert first == AccountInfo(1, 100, 0, 0)
    assert system.account.get(state, WHO) is first  # decoded once
    state.begin()
    system.account.put(state, WHO, AccountInfo(2, 50, 0, 0))
    assert system.account.get(state, WHO) == AccountInfo(2, 50, 0, 0)
    state.rollback()
    assert system.account.get(state, WHO) == AccountInfo(1, 100, 0, 0)
    state.begin()
    system.account.put(state, WHO, AccountInfo(3, 7, 0, 0))
    state.commit()
    assert system.account.get(state, WHO) == AccountInfo(3, 7, 0, 0)


def test_a_raw_write_or_delete_is_seen() -> None:
    state = Overlay(DictState())
    system.account.put(state, WHO, AccountInfo(1, 100, 0, 0))
    assert system.account.get(state, WHO).free == 100
    state.set(system.account.key(WHO), AccountInfo(1, 5, 0, 0).encode())
    assert system.account.get(state, WHO).free == 5
    state.delete(system.account.key(WHO))
    assert system.account.get(state, WHO) == AccountInfo()


def test_each_overlay_reads_its_own_backend() -> None:
    backend = DictState({system.account.key(WHO): AccountInfo(0, 9, 0, 0).encode()})
    a, b = Overlay(backend), Overlay(backend)
    system.account.put(a, WHO, AccountInfo(0, 1, 0, 0))
    assert system.account.get(b, WHO).free == 9
    assert system.account.get(a, WHO).free == 1


def test_fast_replace_matches_dataclasses_replace() -> None:
    acc = AccountInfo(4, 100, 20, 10)
    assert acc.replace(free=1) == dataclasses.replace(acc, free=1) == AccountInfo(4, 1, 20, 10)
    assert acc.replace() == acc
    with pytest.raises(TypeError):
        acc.replace(nope=1)
    assert acc == AccountInfo(4, 100, 20, 10)  # replace never changes the original


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
