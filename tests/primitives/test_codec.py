"""Codec: SCALE round trips (property tests), Substrate's exact layouts, and every kind of malformed input
rejected with DecodeError; the msgpack wire form kept for internal records."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.primitives import scale
from btt_chain.primitives.block import Block, Digest, Header, split_block
from btt_chain.primitives.codec import U128_MAX, pack, unpack
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.extrinsic import (
    MAX_EXTRINSIC_SIZE,
    Call,
    Era,
    Extrinsic,
    Inherent,
    decode_any,
    sign_extrinsic,
    signing_payload,
    signing_payload_of_body,
)
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import dev_keypair

h32 = st.binary(min_size=32, max_size=32)
u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
u128 = st.integers(0, U128_MAX)
calls = st.builds(Call, st.integers(0, 255), st.integers(0, 255), st.binary(max_size=300))
periods = st.sampled_from([1 << k for k in range(2, 17)])
mortal = periods.flatmap(lambda p: st.integers(0, 2**32 - 1).map(lambda cur: Era.mortal(p, cur)))
eras = st.one_of(st.just(Era(0, 0)), mortal)
extrinsics = st.builds(Extrinsic, h32, u32, u128, eras, calls, st.binary(min_size=64, max_size=64))
headers = st.builds(
    Header, h32, u32, u64, u64, h32, h32, h32, h32, st.builds(Digest, h32), st.binary(min_size=64, max_size=64)
)


# --- the strict codec ----------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**200))
def test_compact_round_trips_and_is_the_shortest_form(n):
    enc = scale.encode_compact(n)
    assert scale.decode_compact(enc, 0, 2**200) == (n, len(enc))
    expected = 1 if n < 2**6 else 2 if n < 2**14 else 4 if n < 2**30 else 1 + (n.bit_length() + 7) // 8
    assert len(enc) == expected


@pytest.mark.parametrize("raw", [
    b"\x01\x00",  # 0 in two-byte mode
    b"\x02\x00\x00\x00",  # 0 in four-byte mode
    b"\xfd\x00",  # 63 in two-byte mode
    b"\xfe\xff\x00\x00",  # 2^14 - 1 in four-byte mode
    b"\x03\xff\xff\xff\x3f",  # 2^30 - 1 in big-integer mode
    b"\x07\x00\x00\x00\x40\x00",  # a zero top byte
])
def test_non_minimal_compacts_are_refused(raw):
    with pytest.raises(DecodeError, match="non-minimal"):
        scale.decode_compact(raw, 0)


def test_compact_limits_and_truncation():
    with pytest.raises(DecodeError, match="over the limit"):
        scale.decode_compact(scale.encode_compact(2**32), 0, 2**32 - 1)
    for enc in (scale.encode_compact(300), scale.encode_compact(2**20), scale.encode_compact(2**40)):
        with pytest.raises(DecodeError, match="truncated"):
            scale.decode_compact(enc[:-1], 0)
    with pytest.raises(DecodeError, match="end of the input"):
        scale.decode_compact(b"", 0)


def test_lengths_are_bounded_before_anything_is_read():
    huge = scale.encode_compact(2**31)
    with pytest.raises(DecodeError, match="over the limit"):
        scale.decode_bytes(huge, 0, 1 << 20)
    with pytest.raises(DecodeError, match="over the limit"):
        scale.decode_vec(huge, 0, scale.decode_bool, 10)


def test_bools_options_and_strings_are_strict():
    assert scale.decode_bool(b"\x01", 0) == (True, 1)
    with pytest.raises(DecodeError, match="0 or 1"):
        scale.decode_bool(b"\x02", 0)
    with pytest.raises(DecodeError, match="0 or 1"):
        scale.decode_option(b"\x02", 0, scale.decode_bool)
    with pytest.raises(DecodeError, match="UTF-8"):
        scale.decode_str(b"\x08\xff\xfe", 0, 10)
    with pytest.raises(DecodeError, match="characters"):
        scale.decode_str(scale.encode_str("abcd"), 0, 3)
    with pytest.raises(DecodeError, match="trailing"):
        scale.decode_all(b"\x01\x00", scale.decode_bool)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**128 - 1))
def test_compacts_agree_with_scalecodec(n):
    from scalecodec.base import ScaleBytes
    from scalecodec.types import Compact

    obj = Compact(ScaleBytes(scale.encode_compact(n)))
    assert obj.decode() == n
    assert bytes(Compact().encode(n).data) == scale.encode_compact(n)


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


def test_non_canonical_integer_encoding_is_rejected():
    enc = pack([7])
    assert unpack(enc) == [7]
    non_canonical = b"\x91\xcf" + (7).to_bytes(8, "big")  # array of one uint64-encoded 7
    with pytest.raises(DecodeError, match="non-canonical"):
        unpack(non_canonical)


def test_size_limit():
    body = b"\x84" + b"\x00" * MAX_EXTRINSIC_SIZE
    with pytest.raises(DecodeError, match="over the limit"):
        Extrinsic.decode_checked(scale.encode_compact(len(body)) + body)
    with pytest.raises(DecodeError, match="over the limit"):
        Extrinsic.decode(scale.encode_compact(len(body)) + body)  # the length prefix itself is bounded


def test_depth_limit():
    deep: list = []
    for _ in range(30):
        deep = [deep]
    with pytest.raises(DecodeError, match="nesting deeper"):
        unpack(pack(deep))


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
    xt = sign_extrinsic(dev_keypair("alice"), Call(1, 0, b"\x00" + b"x" * 32 + b"\x14"), 0, genesis, 7,
                        era=Era.mortal(64, 10), birth_hash=birth)
    assert xt.verify_signature(genesis, birth, 7)
    for g, b, v in ((genesis, other, 7), (other, birth, 7), (genesis, birth, 8)):
        assert xt.signing_payload(g, b, v) == signing_payload(xt.call, xt.nonce, xt.tip, xt.era, g, b, v)
        assert not xt.verify_signature(g, b, v)
    assert xt.verify_signature(genesis, birth, 7)


# --- Substrate's layouts ---------------------------------------------------------------------------------------------


def _sample(call: Call | None = None, era: Era = Era(0, 0)) -> Extrinsic:
    call = call or Call(1, 1, b"\x00" + b"\x02" * 32 + scale.encode_compact(12_500_000_000_000_000_000))
    return Extrinsic(b"\x01" * 32, 3, 10**20, era, call, b"\x03" * 64)


def test_an_extrinsic_is_substrates_signed_v4_layout():
    xt = _sample(era=Era.mortal(64, 0))
    enc = xt.encode()
    length, start = scale.decode_compact(enc, 0)
    body = enc[start:]
    assert length == len(body)
    assert body[0] == 0x84 and body[1] == 0 and body[2:34] == xt.signer
    assert body[34] == 0 and body[35:99] == xt.signature
    assert body[99:101] == bytes.fromhex("0500")  # period 64, phase 0 (the @polkadot/api transfer's era)
    assert body[101:102] == scale.encode_compact(3) and body[102:].startswith(scale.encode_compact(10**20))
    assert body.endswith(xt.call.encode())
    assert xt.hash() == blake2b_256(enc)


def test_the_observed_polkadot_js_era_bytes_decode():
    assert Era.decode(bytes.fromhex("0500")) == Era(64, 0)
    assert Era.decode(bytes.fromhex("1500")) == Era(64, 1)  # substrate-interface's era, phase 1
    assert Era.decode(b"\x00") == Era(0, 0)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**16 - 1))
def test_every_two_byte_era_decodes_as_substrate_does_or_is_refused(encoded):
    raw = encoded.to_bytes(2, "little")
    period = 2 << (encoded % 16)
    quantum = max(period >> 12, 1)
    phase = (encoded >> 4) * quantum
    if raw[0] == 0:
        assert Era.decode_at(raw, 0) == (Era(0, 0), 1)
        return
    if period < 4 or phase >= period:
        with pytest.raises(DecodeError):
            Era.decode(raw)
        return
    era = Era.decode(raw)
    assert (era.period, era.phase) == (period, phase) and era.encode() == raw


@settings(max_examples=200, deadline=None)
@given(periods, st.integers(0, 2**32), st.integers(0, 2**16))
def test_a_mortal_era_is_born_at_or_before_its_block_and_dies_a_period_later(period, current, later):
    era = Era.mortal(period, current)
    birth = era.birth(current)
    assert birth <= current < birth + era.period
    n = current + later
    assert era.birth(n) == birth if n < birth + era.period else era.birth(n) > birth


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b"\x04" + b[1:], "inherent"),  # unsigned: a block author's, never a transaction
    (lambda b: b"\x05" + b[1:], "signed v4"),
    (lambda b: b[:1] + b"\x01" + b[2:], "MultiAddress::Id"),
    (lambda b: b[:34] + b"\x03" + b[35:], "unknown MultiSignature variant 3"),
    (lambda b: b[:99] + b"\x10\x00" + b[100:], "era"),  # period 2
    (lambda b: b[:99] + b"\x00" + b"\x01\x00", "non-minimal"),  # nonce 0 in two bytes
    (lambda b: b[:99] + b"\x00" + scale.encode_compact(2**32) + b"\x00\x01\x00", "over the limit"),  # nonce 2^32
    (lambda b: b[:60], "at least 100 bytes"),
])
def test_malformed_extrinsic_bodies_are_refused_with_reason(mutate, message):
    enc = _sample().encode()
    _, start = scale.decode_compact(enc, 0)
    body = mutate(enc[start:])
    with pytest.raises(DecodeError, match=message):
        Extrinsic.decode(scale.encode_compact(len(body)) + body)


def test_decode_any_tells_an_inherent_from_a_signed_extrinsic_and_refuses_the_rest():
    signed = _sample()
    inherent = Inherent(Call(19, 0, scale.encode_compact(1_700_000_000_000)))
    assert decode_any(signed.encode()) == signed and decode_any(inherent.encode()) == inherent
    body = inherent.encode()[1:]
    for bad in (b"", b"\x00", scale.encode_compact(len(body) + 1) + body, inherent.encode() + b"\x00",
                scale.encode_compact(2) + b"\x05\x00"):
        with pytest.raises(DecodeError):
            decode_any(bad)


def test_a_length_prefix_that_disagrees_is_refused():
    enc = _sample().encode()
    _, start = scale.decode_compact(enc, 0)
    body = enc[start:]
    for prefix in (scale.encode_compact(len(body) + 1), scale.encode_compact(len(body) - 1)):
        with pytest.raises(DecodeError):
            Extrinsic.decode(prefix + body)


def test_long_payloads_are_signed_as_their_hash_and_the_fast_path_agrees():
    genesis, birth = bytes([1]) * 32, bytes([2]) * 32
    for size in (0, 100, 200, 300, 5000):
        call = Call(0, 1, scale.encode_bytes(b"r" * size))
        xt = sign_extrinsic(dev_keypair("alice"), call, 5, genesis, 9, tip=7, era=Era.mortal(64, 3), birth_hash=birth)
        msg = signing_payload(call, 5, 7, xt.era, genesis, birth, 9)
        payload_len = len(call.encode()) + 2 + 1 + 1 + 8 + 64
        assert len(msg) == (32 if payload_len > 256 else payload_len)
        assert xt.verify_signature(genesis, birth, 9)
        enc = xt.encode()
        _, start = scale.decode_compact(enc, 0)
        assert signing_payload_of_body(enc[start:], genesis, birth, 9) == (xt.signer, xt.multi_signature, msg)


def test_a_header_is_substrates_layout_and_its_hash_covers_the_seal():
    pair = dev_keypair("alice")
    genesis = bytes([7]) * 32
    header = Header(bytes([1]) * 32, 300, 12, 34, bytes([2]) * 32, bytes([3]) * 32, bytes([4]) * 32, pair.public,
                    Digest(bytes([5]) * 32)).sealed(pair, genesis)
    enc = header.encode()
    assert enc[:32] == header.parent_hash and enc[32:34] == scale.encode_compact(300)
    assert enc[34:98] == header.state_root + header.extrinsics_root
    assert enc[98] == 3 << 2  # three digest items
    assert enc[99:105] == b"\x06pow_\x80" and enc[105:137] == pair.public
    assert enc.endswith(b"\x05btt0" + scale.encode_compact(64) + header.signature)
    assert header.hash() == blake2b_256(enc)
    assert header.verify_seal(genesis) and not header.verify_seal(bytes(32))
    assert header.pre_hash_encoding()[98] == 2 << 2
    again = Header.decode(enc)
    assert again == header and again.hash() == header.hash()


@pytest.mark.parametrize("cut", [10, 98, 99, 104, 140, 230, 292])
def test_truncated_headers_are_refused(cut):
    header = Header(bytes(32), 1, 1, 1, bytes(32), bytes(32), bytes(32), bytes(32), Digest())
    with pytest.raises(DecodeError):
        Header.decode(header.encode()[:cut])


def test_a_header_with_other_digest_items_is_refused():
    enc = bytearray(Header(bytes(32), 1, 1, 1, bytes(32), bytes(32), bytes(32), bytes(32), Digest()).encode())
    for offset, value in ((97, 4 << 2), (98, 4), (99, ord("x")), (103, 0x84)):  # count, kind, engine, length
        bad = bytearray(enc)
        bad[offset] = value
        with pytest.raises(DecodeError):
            Header.decode(bytes(bad))


def test_header_numbers_stay_below_2_to_the_32():
    h = Header(bytes(32), 2**32, 1, 1, bytes(32), bytes(32), bytes(32), bytes(32), Digest())
    with pytest.raises(DecodeError, match="number"):
        h.encode()


def test_a_block_is_its_header_then_its_extrinsics_each_with_its_length():
    header = Header(bytes(32), 1, 1, 1, bytes(32), bytes(32), bytes(32), bytes(32), Digest())
    xts = (_sample(), _sample(era=Era.mortal(8, 1)))
    block = Block(header, xts)
    enc = block.encode()
    assert enc == header.encode() + scale.encode_compact(2) + xts[0].encode() + xts[1].encode()
    assert split_block(enc) == (header.encode(), [x.encode() for x in xts])
    decoded = Block.decode(enc)
    assert [x.encode() for x in decoded.extrinsics] == [x.encode() for x in xts]
    with pytest.raises(DecodeError, match="trailing"):
        Block.decode(enc + b"\x00")


def test_scalecodec_decodes_our_extrinsic_as_substrate_does():
    """scalecodec (substrate-interface's codec) as an oracle: the signed extrinsic's parts land where ours say."""
    from scalecodec.base import RuntimeConfiguration, ScaleBytes
    from scalecodec.type_registry import load_type_registry_preset

    rc = RuntimeConfiguration()
    rc.update_type_registry(load_type_registry_preset("core"))
    xt = _sample(era=Era.mortal(64, 1))
    era = rc.create_scale_object("Era", ScaleBytes(xt.era.encode()))
    era.decode()
    assert era.period == 64 and era.phase == 1
    nonce = rc.create_scale_object("Compact<u32>", ScaleBytes(scale.encode_compact(xt.nonce)))
    assert nonce.decode() == xt.nonce
