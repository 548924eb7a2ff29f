"""The decoders on every block's path, tried against the long way they replaced: an extrinsic's body (the immortal
era, a zero tip and the call read inline), a block's extrinsic (its length prefix read once) and a call's arguments
(decoders picked once per call, a compact amount one call nearer). Valid encodings of every shape and every
truncation, extension and single-byte change of them give the same value and end, or the same error, both ways."""

from __future__ import annotations

import random
from typing import Any

from btt_chain.primitives import scale
from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic
from btt_chain.primitives.extrinsic import (
    MAX_EXTRINSIC_SIZE,
    NONCE_MAX,
    SIGNATURE_LENGTHS,
    SIGNED_V4,
    UNSIGNED_V4,
    AnyExtrinsicField,
    Call,
    Era,
    Extrinsic,
    Inherent,
    is_inherent_encoding,
)
from btt_chain.primitives.signatures import ECDSA, ED25519, SR25519
from runtime.dispatch import DecodedCall, Runtime
from runtime.modules import RUNTIME

# --- the long way (the code before) ---------------------------------------------------------------------------------

def _body_before(body: bytes) -> Extrinsic:
    if len(body) < 100:
        raise DecodeError(f"a signed extrinsic is at least 100 bytes, got {len(body)}")
    if body[0] != SIGNED_V4:
        if body[0] == UNSIGNED_V4:
            raise DecodeError("an unsigned extrinsic (0x04) is a block author's inherent: transactions are signed")
        raise DecodeError(f"expected a signed v4 extrinsic (0x84), got 0x{body[0]:02x}")
    if body[1] != 0:
        raise DecodeError(f"only MultiAddress::Id signers are accepted, got variant {body[1]}")
    scheme = body[34]
    length = SIGNATURE_LENGTHS.get(scheme)
    if length is None:
        raise DecodeError(f"unknown MultiSignature variant {scheme} (0 ed25519, 1 sr25519, 2 ecdsa)")
    era, pos = Era.decode_at(body, 35 + length)
    nonce, pos = scale.decode_compact(body, pos, NONCE_MAX)
    tip, pos = scale.decode_compact(body, pos)
    return Extrinsic(body[2:34], nonce, tip, era, Call.decode_rest(body, pos), body[35: 35 + length], scheme)


def _extrinsic_before(data: bytes, pos: int) -> tuple[Extrinsic, int]:
    length, start = scale.decode_compact(data, pos, MAX_EXTRINSIC_SIZE)
    end = start + length
    if end > len(data):
        raise DecodeError(f"extrinsic of {length} bytes runs past the end of the input")
    xt = _body_before(data[start:end])
    object.__setattr__(xt, "_encoded", data[pos:end])
    return xt, end


def _any_before(data: bytes, pos: int) -> tuple[Any, int]:
    if is_inherent_encoding(data, pos):
        return Inherent.decode_at(data, pos)
    return _extrinsic_before(data, pos)


def _call_before(runtime: Runtime, call: Call) -> DecodedCall:
    entry = runtime._table.get((call.module, call.function))
    if entry is None:
        raise InvalidExtrinsic(f"no call at index ({call.module}, {call.function})")
    m, c = entry
    data = call.args
    pos = 0
    decoded = []
    for aname, f in c.args:
        try:
            value, pos = f.decode_scale(data, pos)
        except DecodeError as exc:
            raise InvalidExtrinsic(f"{m.name}.{c.name} argument {aname}: {exc}") from None
        except RecursionError:
            raise InvalidExtrinsic(f"{m.name}.{c.name} argument {aname}: nested too deep") from None
        decoded.append(value)
    if pos != len(data):
        raise InvalidExtrinsic(f"{m.name}.{c.name}: {len(data) - pos} bytes after its {len(c.args)} arguments")
    return DecodedCall(m, c, tuple(decoded))


# --- comparing ------------------------------------------------------------------------------------------------------

def _outcome(fn: Any, *args: Any) -> Any:
    """What `fn(*args)` gives: its value (with an extrinsic's kept encoding), or its error's type and text."""
    try:
        value = fn(*args)
    except (DecodeError, InvalidExtrinsic) as exc:
        return ("error", type(exc).__name__, str(exc))
    if isinstance(value, tuple) and isinstance(value[0], Extrinsic | Inherent):
        return ("value", value, value[0].__dict__.get("_encoded"))
    return ("value", value)


def _variants(rng: random.Random, data: bytes) -> list[bytes]:
    """`data`, every truncation, a few extensions, and single-byte changes at every position."""
    out = [data, *(data[:n] for n in range(len(data))), data + b"\x00", data + bytes([rng.randrange(256)]) * 3]
    for i in range(len(data)):
        for b in {0, 3, data[i] ^ 1, rng.randrange(256)}:
            out.append(data[:i] + bytes([b]) + data[i + 1:])
    return out


def _extrinsics(rng: random.Random) -> list[bytes]:
    call = RUNTIME.call("balances.transfer_keep_alive", bytes(range(32)), 10**20)
    out = []
    for scheme in (ED25519, SR25519, ECDSA):
        for era in (Era(), Era(64, 17), Era(4, 3), Era(65536, 4096)):
            for nonce, tip in rng.sample([(0, 0), (63, 0), (64, 1), (2**14, 0), (NONCE_MAX, 2**100), (5, 64)], 2):
                signature = bytes(rng.randrange(256) for _ in range(SIGNATURE_LENGTHS[scheme]))
                out.append(Extrinsic(bytes(range(1, 33)), nonce, tip, era, call, signature, scheme).encode())
    out.append(Extrinsic(bytes(32), 1, 0, Era(), Call(0, 0, b""), bytes(64), ED25519).encode())  # an empty call
    return out


def test_an_extrinsic_decodes_as_it_did() -> None:
    rng = random.Random(54)
    field = AnyExtrinsicField()
    inherent = Inherent(RUNTIME.call("timestamp.set", 1_700_000_000_000)).encode()
    compared = 0
    for encoded in [*_extrinsics(rng), inherent]:
        _, start = scale.decode_compact(encoded, 0)
        # the encoding changed, and its body changed under a length prefix that fits it (what reaches the body's checks)
        reframed = [scale.encode_compact(len(body)) + body for body in _variants(rng, encoded[start:])]
        for data in [*_variants(rng, encoded), *reframed]:
            for pos, framed in ((0, data), (3, b"\x01\x02\x03" + data))[: 2 if data is encoded else 1]:
                assert _outcome(Extrinsic.decode_at, framed, pos) == _outcome(_extrinsic_before, framed, pos)
                assert _outcome(field.decode_scale, framed, pos) == _outcome(_any_before, framed, pos)
                compared += 1
    assert compared > 20_000


def test_a_calls_arguments_decode_as_they_did() -> None:
    rng = random.Random(55)
    samples = [
        RUNTIME.call("balances.transfer_keep_alive", bytes(range(32)), 10**20),
        RUNTIME.call("balances.transfer_allow_death", b"\x07" * 32, 0),
        RUNTIME.call("balances.transfer_allow_death", b"\x07" * 32, 2**128 - 1),
        *(RUNTIME.call("balances.transfer_keep_alive", b"\x08" * 32, v)  # each compact mode's bounds
          for v in (63, 64, 2**14 - 1, 2**14, 2**30 - 1, 2**30, 2**32, 2**64 + 1)),
        *(Call(1, 1, b"\x00" + b"\x08" * 32 + scale.encode_compact(v)) for v in (2**128, 2**128 + 1, 2**200)),
        RUNTIME.call("balances.transfer_all", b"\x07" * 32, True),
        RUNTIME.call("balances.burn", 2**14, False),
        RUNTIME.call("staking.stake", "180d", 5),
        RUNTIME.call("timestamp.set", 1_700_000_000_000),
        RUNTIME.call("utility.batch", [RUNTIME.call("balances.transfer_keep_alive", b"\x01" * 32, 7)] * 2),
    ]
    for module, function in rng.sample(sorted(RUNTIME._table), 30):  # every kind of argument, arbitrary bytes
        samples.append(Call(module, function, bytes(rng.randrange(256) for _ in range(rng.randrange(80)))))
    compared = 0
    for call in samples:
        for args in _variants(rng, call.args):
            for module, function in ((call.module, call.function), (call.module, 250)):
                probe = Call(module, function, args)
                assert _outcome(RUNTIME.decode_call, probe) == _outcome(_call_before, RUNTIME, probe)
                compared += 1
    assert compared > 5_000


def test_a_decoded_transfer_is_the_value_its_call_was_built_from() -> None:
    decoded = RUNTIME.decode_call(RUNTIME.call("balances.transfer_keep_alive", b"\x09" * 32, 12_345_678_901_234))
    assert decoded.full_name == "balances.transfer_keep_alive"
    assert decoded.args == (b"\x09" * 32, 12_345_678_901_234)
    assert type(decoded.args[1]) is int
