"""Codec: round trips (property tests) and every kind of malformed input rejected with DecodeError."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.primitives.block import Block, Digest, Header
from btt_chain.primitives.codec import U128_MAX, pack, unpack
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.extrinsic import MAX_EXTRINSIC_SIZE, Call, Era, Extrinsic, sign_extrinsic, signing_payload
from btt_chain.primitives.keys import dev_keypair

h32 = st.binary(min_size=32, max_size=32)
u64 = st.integers(0, 2**64 - 1)
u128 = st.integers(0, U128_MAX)
generic = st.recursive(
    st.one_of(u64, st.binary(max_size=40), st.text(max_size=20), st.booleans()),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=6,
)
calls = st.builds(Call, st.integers(0, 255), st.integers(0, 255), st.lists(generic, max_size=6).map(tuple))
eras = st.one_of(st.just(Era(0, 0)), st.builds(Era, u64, st.integers(1, 2**32 - 1)))
extrinsics = st.builds(Extrinsic, h32, u64, u128, eras, calls, st.binary(min_size=64, max_size=64))
headers = st.builds(
    Header, h32, u64, u64, u64, h32, h32, h32, h32, st.builds(Digest, h32), st.binary(min_size=64, max_size=64)
)


@settings(max_examples=150, deadline=None)
@given(extrinsics)
def test_extrinsic_round_trip(xt):
    assert Extrinsic.decode(xt.encode()) == xt


@settings(max_examples=100, deadline=None)
@given(headers, st.lists(extrinsics, max_size=3))
def test_block_round_trip_and_hash_is_stable(header, xts):
    block = Block(header, tuple(xts))
    again = Block.decode(block.encode())
    assert again == block
    assert again.hash() == block.hash()


@settings(max_examples=150, deadline=None)
@given(extrinsics, st.data())
def test_truncated_or_extended_encodings_are_rejected(xt, data):
    enc = xt.encode()
    cut = data.draw(st.integers(0, len(enc) - 1))
    with pytest.raises(DecodeError):
        Extrinsic.decode(enc[:cut])
    with pytest.raises(DecodeError):
        Extrinsic.decode(enc + data.draw(st.binary(min_size=1, max_size=8)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_decode_error(raw):
    try:
        Extrinsic.decode(raw)
    except DecodeError:
        pass


def _wire(xt: Extrinsic) -> list:
    return xt.to_wire()


def _sample() -> Extrinsic:
    call = Call(1, 0, (b"\x02" * 32, (5).to_bytes(16, "big")))
    return Extrinsic(b"\x01" * 32, 3, 10**20, Era(0, 0), call, b"\x03" * 64)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda w: w[:-1], "expected 6 fields"),
        (lambda w: w + [1], "expected 6 fields"),
        (lambda w: [b"\x01" * 31] + w[1:], "expected 32 bytes"),
        (lambda w: [w[0], "3"] + w[2:], "expected u64"),
        (lambda w: [w[0], w[1], (5).to_bytes(15, "big")] + w[3:], "u128 as 16 bytes"),
        (lambda w: [w[0], w[1], 5] + w[3:], "u128 as 16 bytes"),
        (lambda w: w[:3] + [[0, 0, 0]] + w[4:], "expected 2 fields"),
        (lambda w: w[:3] + [[5, 0]] + w[4:], "immortal era must have birth 0"),
        (lambda w: w[:4] + [[1, 256, []]] + w[5:], "u8 out of range"),
        (lambda w: w[:5] + [b"\x03" * 63], "expected 64 bytes"),
        (lambda w: {"signer": w[0]}, "maps are not allowed"),
        (lambda w: w[:1] + [1.5] + w[2:], "floats are not allowed"),
        (lambda w: w[:1] + [-1] + w[2:], "negative integers"),
    ],
)
def test_malformed_fields_are_rejected_with_reason(mutate, message):
    raw = msgpack.packb(mutate(_wire(_sample())), use_bin_type=True)
    with pytest.raises(DecodeError, match=message):
        Extrinsic.decode(raw)


def test_non_canonical_integer_encoding_is_rejected():
    enc = pack([7])
    assert unpack(enc) == [7]
    non_canonical = b"\x91\xcf" + (7).to_bytes(8, "big")  # array of one uint64-encoded 7
    with pytest.raises(DecodeError, match="non-canonical"):
        unpack(non_canonical)


def test_str_where_bytes_expected_is_rejected():
    w = _wire(_sample())
    w[0] = "x" * 32
    with pytest.raises(DecodeError, match="expected bytes32"):
        Extrinsic.decode(msgpack.packb(w, use_bin_type=True))


def test_size_limit():
    with pytest.raises(DecodeError, match="over the limit"):
        Extrinsic.decode_checked(b"\x00" * (MAX_EXTRINSIC_SIZE + 1))


def test_depth_limit():
    deep: list = []
    for _ in range(30):
        deep = [deep]
    with pytest.raises(DecodeError, match="nesting deeper"):
        unpack(pack(deep))


def test_call_argument_depth_limit():
    deep: list = [1]
    for _ in range(10):
        deep = [deep]
    with pytest.raises(DecodeError, match="nesting deeper than 8"):
        Call.decode(pack([1, 0, [deep]]))


def test_call_args_keep_nested_lists():
    call = Call(1, 2, (b"a", [1, [2, b"x"]], True, "s"))
    assert Call.decode(call.encode()) == call


_ANY_WIRE_LEAF = st.one_of(
    st.booleans(), st.integers(min_value=-3, max_value=2**64 - 1), st.binary(max_size=4), st.text(max_size=3),
    st.floats(allow_nan=False), st.none(), st.just({}), st.just(()),
)


@given(st.recursive(_ANY_WIRE_LEAF, lambda inner: st.lists(inner, max_size=3), max_leaves=30), st.integers(0, 17))
@settings(max_examples=400, deadline=None)
def test_the_fast_wire_check_judges_like_the_general_one(value: object, depth: int) -> None:
    from btt_chain.primitives.codec import _check_generic, _check_generic_slow

    def verdict(check: object) -> str | None:
        try:
            check(value, depth, 16)  # type: ignore[operator]
        except DecodeError as exc:
            return str(exc)
        return None

    assert verdict(_check_generic) == verdict(_check_generic_slow)


def test_a_kept_signing_message_is_only_reused_for_the_same_chain_birth_and_spec() -> None:
    """The message kept on an extrinsic never stands in for another birth block, chain or spec version: a signature
    over one is not accepted for another because the first was asked for before."""
    genesis, birth, other = bytes([1]) * 32, bytes([2]) * 32, bytes([3]) * 32
    xt = sign_extrinsic(dev_keypair("alice"), Call(1, 0, (b"x", 5)), 0, genesis, 7, era=Era(10, 64),
                        birth_hash=birth)
    assert xt.verify_signature(genesis, birth, 7)
    for g, b, v in ((genesis, other, 7), (other, birth, 7), (genesis, birth, 8)):
        assert xt.signing_payload(g, b, v) == signing_payload(xt.call, xt.nonce, xt.tip, xt.era, g, b, v)
        assert not xt.verify_signature(g, b, v)
    assert xt.verify_signature(genesis, birth, 7)
