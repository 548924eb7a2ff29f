"""The spec-12 migrations resume from their cursors: run in steps of any size they leave exactly the state one step
leaves, each step reading from its cursor on (`items_after`), never redoing or skipping an item. Attacked with keys
at the ends of the key space, keys two registrations share, cursors that name a deleted key, and steps of one."""

from __future__ import annotations

from itertools import pairwise

import pytest

from runtime.bonds import storage as bonds
from runtime.bonds.types import ValidatorRegistration
from runtime.evidence import storage as evidence
from runtime.evidence.migrations import REPORTS_BY_ACCOUNT, REPORTS_V0, reports_by_account
from runtime.migration import Migration
from runtime.overlay import DictState, Overlay
from runtime.session import storage as session
from runtime.session.migrations import RECORD_EVERY_OWNER, REGISTRATIONS, SETS, items_after, record_every_owner
from runtime.session.types import ValidatorInfo

EDGES = [bytes([0]) * 32, bytes([0]) * 31 + b"\x01", bytes([1]) + bytes(31), bytes([0x7F]) * 32,
         bytes([0xFF]) * 31 + b"\xfe", bytes([0xFF]) * 32]
"""Keys at the ends of the key space and of their first-byte buckets."""


def account(i: int) -> bytes:
    return (i * 2654435761 % 2**32).to_bytes(4, "big") * 8


def key(i: int) -> bytes:
    return (i * 40503 % 2**16).to_bytes(2, "big") * 16


def spec11_state(registrations: int, reports: int, shared: int = 0) -> DictState:
    """Registrations (two sets of the first three; `shared` pairs of registrations with one key) and reports
    under their keys, as spec 11 left them: no key recorded."""
    view = Overlay(DictState())
    accounts = [*EDGES, *(account(i) for i in range(registrations))]
    keys = [*reversed(EDGES), *(key(i) for i in range(registrations))]
    for i in range(shared):
        keys[-1 - i] = keys[i]
    for who, k in zip(accounts, keys, strict=True):
        bonds.validators.put(view, who, ValidatorRegistration(k, bytes(32), who))
    infos = tuple(ValidatorInfo(a, k, 1, a) for a, k in zip(accounts[:3], keys[:3], strict=True))
    session.validators.put(view, infos[:2])
    session.queued.put(view, infos[1:])
    for i in range(reports):
        REPORTS_V0.put(view, keys[i % len(keys)] + bytes([i % 2]) + i.to_bytes(8, "big"), 100 + i)
    REPORTS_V0.put(view, bytes([0xAB]) * 32 + b"\x00" + bytes(8), 7)  # a key nobody names: kept under itself
    state = DictState()
    state.apply(view.changes())
    return state


def run_in_steps(m: Migration, state: DictState, limit: int) -> tuple[dict[bytes, bytes | None], list[int]]:
    """Run `m` to its end in steps of `limit`, each on a fresh overlay (one block each); (changes, items a step)."""
    backend = DictState(state.data)
    cursor: bytes | None = b""
    steps = []
    while cursor is not None:
        view = Overlay(backend)
        cursor, items = m.step(view, cursor, limit)
        steps.append(items)
        backend.apply(view.changes())
        assert len(steps) < 10_000, "the migration never ends"
    return _diff(state.data, backend.data), steps


def _diff(before: dict[bytes, bytes], after: dict[bytes, bytes]) -> dict[bytes, bytes | None]:
    return {k: after.get(k) for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def test_items_after_reads_every_key_above_the_cursor_in_order_across_the_buckets() -> None:
    view = Overlay(spec11_state(40, 0))
    everything = [k for k, _ in bonds.validators.items(view)]
    assert [k for k, _ in items_after(view, bonds.validators, b"")] == everything
    for at, k in enumerate(everything):
        assert [x for x, _ in items_after(view, bonds.validators, k)] == everything[at + 1:]
    # a cursor naming a key that is gone (a moved report) resumes after where it was
    gone = everything[5]
    bonds.validators.remove(view, gone)
    assert [x for x, _ in items_after(view, bonds.validators, gone)] == everything[6:]
    assert list(items_after(view, bonds.validators, bytes([0xFF]) * 32)) == []
    # values are decoded as the map's
    assert dict(items_after(view, bonds.validators, b"")) == dict(bonds.validators.items(view))


@pytest.mark.parametrize("limit", [1, 2, 7, 64, 1_000_000])
def test_the_session_migration_in_steps_of_any_size_leaves_what_one_step_leaves(limit: int) -> None:
    state = spec11_state(150, 0, shared=3)
    whole, one = run_in_steps(RECORD_EVERY_OWNER, state, 1 << 40)
    assert one == [RECORD_EVERY_OWNER.count(Overlay(state))]
    stepped, steps = run_in_steps(RECORD_EVERY_OWNER, state, limit)
    assert stepped == whole
    assert sum(steps) == one[0] and all(n <= limit for n in steps)
    # every step but the last did its full limit: a step that returns a cursor has left something
    assert all(n == limit for n in steps[:-1])
    # a key two registrations share stays with the one found first: the sets', then the lower account's
    after = DictState(state.data)
    after.apply(whole)
    view = Overlay(after)
    assert RECORD_EVERY_OWNER.count(view) == 0
    for who, reg in bonds.validators.items(view):
        owner = session.key_owner.get(view, reg.session_key)
        in_sets = {v.session_key: v.account for v in (*session.validators.get(view), *session.queued.get(view))}
        first = in_sets.get(reg.session_key) or min(a for a, r in bonds.validators.items(view)
                                                    if r.session_key == reg.session_key)
        assert owner == first, who.hex()


@pytest.mark.parametrize("limit", [1, 3, 50, 1_000_000])
def test_the_evidence_migration_in_steps_of_any_size_leaves_what_one_step_leaves(limit: int) -> None:
    state = spec11_state(20, 120)
    owners, _ = run_in_steps(RECORD_EVERY_OWNER, state, 1 << 40)
    state.apply(owners)
    whole, one = run_in_steps(REPORTS_BY_ACCOUNT, state, 1 << 40)
    assert one == [121]
    stepped, steps = run_in_steps(REPORTS_BY_ACCOUNT, state, limit)
    assert stepped == whole and sum(steps) == 121 and all(n == limit for n in steps[:-1])
    after = DictState(state.data)
    after.apply(whole)
    view = Overlay(after)
    assert not list(REPORTS_V0.items(view))
    moved = dict(evidence.offences.items(view))
    assert len(moved) == 121
    assert moved[bytes([0xAB]) * 32 + b"\x00" + bytes(8)] == 7  # nobody's key: kept under the key itself
    for k, block in REPORTS_V0.items(Overlay(state)):
        assert moved[(session.key_owner.get(view, k[:32]) or k[:32]) + k[32:]] == block


def test_an_evidence_step_returns_the_last_moved_key_and_the_next_starts_after_it() -> None:
    view = Overlay(spec11_state(5, 10))
    keys = [k for k, _ in REPORTS_V0.items(view)]
    cursor, items = reports_by_account(view, b"", 3)
    assert (cursor, items) == (keys[2], 3)
    assert [k for k, _ in REPORTS_V0.items(view)] == keys[3:]
    cursor, items = reports_by_account(view, cursor, 100)
    assert (cursor, items) == (None, len(keys) - 3)


def test_a_session_step_moves_from_the_sets_to_the_registrations_by_its_cursor() -> None:
    view = Overlay(spec11_state(10, 0))
    set_keys = {v.session_key for v in (*session.validators.get(view), *session.queued.get(view))}
    assert len(set_keys) == 3
    cursor, items = record_every_owner(view, b"", 2)
    assert (cursor, items) == (SETS, 2)  # the third set key is left
    # a hook changes the sets between the steps: the next step reads them as they are
    third = next(v for v in session.queued.get(view) if session.key_owner.get(view, v.session_key) is None)
    newcomer = ValidatorInfo(b"\x77" * 32, b"\x78" * 32, 1, b"\x77" * 32)
    session.queued.put(view, (newcomer, third))
    cursor, items = record_every_owner(view, cursor, 2)
    assert (cursor, items) == (REGISTRATIONS, 2)  # every set key done: the registrations from the first
    assert all(session.key_owner.get(view, k) is not None for k in {*set_keys, newcomer.session_key})
    assert session.key_owner.get(view, newcomer.session_key) == newcomer.account
    recorded = [k for k, _ in session.key_owner.items(view)]
    cursor, items = record_every_owner(view, cursor, 2)
    assert cursor is not None and cursor[:1] == REGISTRATIONS and items == 2
    assert len(list(session.key_owner.items(view))) == len(recorded) + 2


def test_a_step_of_no_items_changes_nothing() -> None:
    for m, state in ((RECORD_EVERY_OWNER, spec11_state(10, 0)), (REPORTS_BY_ACCOUNT, spec11_state(3, 5))):
        view = Overlay(state)
        cursor, items = m.step(view, b"", 0)
        assert items == 0 and cursor is not None
        assert view.changes() == {}


def test_registrations_come_in_account_order_whatever_their_buckets() -> None:
    view = Overlay(spec11_state(0, 0))
    seen = [k for k, _ in items_after(view, bonds.validators, b"")]
    assert seen == sorted(EDGES) and all(a < b for a, b in pairwise(seen))
