"""The per-block cache of decoded values (runtime/items.py over Overlay.decoded) never serves a stale value:
not after a write, a rollback, a raw write that bypasses the typed item, or a read of another overlay."""

from __future__ import annotations

import dataclasses

import pytest

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
