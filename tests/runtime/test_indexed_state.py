"""The test chains' backend (`tests/support/indexed_state.py`) iterates exactly as `DictState` does, whatever
changed its keys in between: `apply`, the dict written directly as tests do (set, pop, del, update, |=, setdefault,
popitem, clear), or a new dict put in its place; and a change made while an iteration is under way is seen as
`DictState` sees it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.overlay import DictState, Overlay
from tests.support.indexed_state import IndexedDictState, KeyCountingDict

_KEYS = [b"", b"\x00", b"\x00\x00", b"\x00\x01", b"\x01", b"\x01\x00", b"\x01\xff", b"\xff", b"\xff\xff", b"\x02"]
_PREFIXES = [b"", b"\x00", b"\x01", b"\x01\x00", b"\xff", b"\x03", b"\x00\x00\x00"]
_VALUES = st.binary(min_size=1, max_size=2)

_OPS = st.lists(st.one_of(
    st.tuples(st.just("apply"), st.dictionaries(st.sampled_from(_KEYS), st.one_of(st.none(), _VALUES), max_size=4)),
    st.tuples(st.just("set"), st.tuples(st.sampled_from(_KEYS), _VALUES)),
    st.tuples(st.sampled_from(["pop", "del", "setdefault"]), st.sampled_from(_KEYS)),
    st.tuples(st.sampled_from(["update", "ior", "replace"]),
              st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=3)),
    st.tuples(st.sampled_from(["popitem", "clear"]), st.none()),
    st.tuples(st.just("iterate"), st.sampled_from(_PREFIXES)),
), max_size=40)


def _do(state: DictState, op: str, arg: Any) -> None:
    data = state.data
    if op == "apply":
        state.apply(arg)
    elif op == "set":
        data[arg[0]] = arg[1]
    elif op == "pop":
        data.pop(arg, None)
    elif op == "del":
        if arg in data:
            del data[arg]
    elif op == "setdefault":
        data.setdefault(arg, b"d")
    elif op == "update":
        data.update(arg)
    elif op == "ior":
        data |= arg
    elif op == "replace":
        state.data = dict(arg)
    elif op == "popitem":
        if data:
            data.popitem()
    elif op == "clear":
        data.clear()


@settings(max_examples=300, deadline=None)
@given(initial=st.dictionaries(st.sampled_from(_KEYS), _VALUES), ops=_OPS)
def test_iterates_as_dict_state_after_any_change(initial: dict[bytes, bytes], ops: list[tuple[str, Any]]) -> None:
    plain, indexed = DictState(initial), IndexedDictState(initial)
    for op, arg in ops:
        if op == "iterate":
            assert list(indexed.iterate(arg)) == list(plain.iterate(arg))
            assert list(Overlay(indexed).iterate(arg)) == list(Overlay(plain).iterate(arg))
        else:
            _do(plain, op, arg)
            _do(indexed, op, arg)
        assert dict(indexed.data) == plain.data
    for prefix in _PREFIXES:
        assert list(indexed.iterate(prefix)) == list(plain.iterate(prefix))


def test_a_value_changed_during_an_iteration_is_read_as_it_is_then() -> None:
    plain, indexed = (cls({b"\x01": b"a", b"\x02": b"b"}) for cls in (DictState, IndexedDictState))
    seen = []
    for state in (plain, indexed):
        it = state.iterate(b"")
        first = next(it)
        state.data[b"\x02"] = b"c"  # a value changed under a running iteration
        state.data[b"\x03"] = b"n"  # a key added under it: not in the iteration's key list
        seen.append([first, *it])
    assert seen[0] == seen[1] == [(b"\x01", b"a"), (b"\x02", b"c")]


def test_a_key_deleted_during_an_iteration_fails_it_as_dict_state_does() -> None:
    for cls in (DictState, IndexedDictState):
        state = cls({b"\x01": b"a", b"\x02": b"b"})
        it = state.iterate(b"")
        next(it)
        state.data.pop(b"\x02")
        with pytest.raises(KeyError):
            next(it)


def test_the_key_count_moves_only_when_the_key_set_may_have_changed() -> None:
    d = KeyCountingDict({b"a": b"1"})
    d[b"a"] = b"2"  # a value replaced: the keys in order stay valid
    d.pop(b"missing", None)
    d.setdefault(b"a", b"3")
    assert d.changed == 0
    d[b"b"] = b"1"
    assert d.changed == 1
    d.pop(b"b")
    assert d.changed == 2
