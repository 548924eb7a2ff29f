"""Struct.to_wire, generated per class: the same wire values as each Field's own to_wire, and the same error for
any value a Field refuses (wrong type, out of range, wrong length), whatever the inline conversions skip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, U32, U64, U128_MAX, Bytes, ListOf, Nested, Struct, Text
from btt_chain.primitives.errors import DecodeError


@dataclass(frozen=True)
class Inner(Struct):
    n: int
    WIRE = (("n", U32),)


@dataclass(frozen=True)
class Mixed(Struct):
    who: Any
    amount: Any
    count: Any
    digest: Any
    blob: Any
    label: Any
    items: Any
    inner: Any
    WIRE = (("who", ACCOUNT), ("amount", AMOUNT), ("count", U64), ("digest", Bytes(16)), ("blob", Bytes(max_len=8)),
            ("label", Text(10)), ("items", ListOf(U32, 3)), ("inner", Nested(Inner)))


def generic_to_wire(value: Struct) -> list[Any]:
    """The definition the generated function must match."""
    return [f.to_wire(getattr(value, name)) for name, f in value.WIRE]


def outcome(fn: Any) -> Any:
    try:
        return ("ok", fn())
    except DecodeError as exc:
        return ("error", str(exc))


anything = st.one_of(
    st.integers(-5, U128_MAX + 5), st.integers(2**64 - 3, 2**64 + 3), st.binary(max_size=40), st.booleans(),
    st.text(max_size=12), st.none(), st.lists(st.integers(-1, 2**32), max_size=4),
    st.builds(Inner, st.integers(-1, 2**32)),
)
good_or_bad = st.fixed_dictionaries({
    "who": st.one_of(st.binary(min_size=32, max_size=32), anything),
    "amount": st.one_of(st.integers(0, U128_MAX), anything),
    "count": st.one_of(st.integers(0, 2**64 - 1), anything),
    "digest": st.one_of(st.binary(min_size=16, max_size=16), anything),
    "blob": st.one_of(st.binary(max_size=8), anything),
    "label": st.one_of(st.text(max_size=10), anything),
    "items": st.one_of(st.lists(st.integers(0, 2**32 - 1), max_size=3), anything),
    "inner": st.one_of(st.builds(Inner, st.integers(0, 2**32 - 1)), anything),
})


@settings(max_examples=400, deadline=None)
@given(good_or_bad)
def test_generated_to_wire_gives_what_each_field_gives_or_raises_the_same_error(fields: dict[str, Any]) -> None:
    value = Mixed(**fields)
    assert outcome(value.to_wire) == outcome(lambda: generic_to_wire(value))


@pytest.mark.parametrize("bad", [True, 1.0, -1, U128_MAX + 1])
def test_a_bool_or_a_float_is_never_taken_for_an_amount(bad: Any) -> None:
    value = Mixed(bytes(32), bad, 0, bytes(16), b"", "", [], Inner(0))
    with pytest.raises(DecodeError):
        value.to_wire()


def test_a_byte_subclass_or_a_bytearray_is_not_taken_for_an_account() -> None:
    class Sneaky(bytes):
        pass

    for who in (Sneaky(bytes(32)), bytearray(32), bytes(31), bytes(33)):
        with pytest.raises(DecodeError):
            Mixed(who, 0, 0, bytes(16), b"", "", [], Inner(0)).to_wire()
