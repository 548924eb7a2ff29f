"""Extrinsics in Substrate's format v4: signed ones, as polkadot.js and substrate-interface build and sign them, and
the unsigned inherents a block's author puts in (FRAME's `timestamp.set`, each block's first).

    extrinsic = Compact(len(body)) ++ body
    body      = 0x84 ++ 0x00 signer[32] ++ MultiSignature ++ era ++ Compact(nonce) ++ Compact(tip) ++ call   (signed)
              | 0x04 ++ call                                                                        (inherent)
    MultiSignature = 0x00 ed25519[64] | 0x01 sr25519[64] | 0x02 ecdsa[65]
    call      = module index u8 ++ call index u8 ++ SCALE(arguments)
    payload   = call ++ era ++ Compact(nonce) ++ Compact(tip) ++ spec_version u32 ++ transaction_version u32
                ++ genesis hash ++ birth block hash
    signed    = payload, or blake2b-256(payload) when it is over 256 bytes

The address is `MultiAddress::Id` (an AccountId32; other variants are refused) and the signature any of FRAME's
`MultiSignature` variants (`btt_chain.primitives.signatures` states what each scheme accepts). The signed extensions
are FRAME's (CheckNonZeroSender, CheckSpecVersion, CheckTxVersion, CheckGenesis,
CheckMortality, CheckNonce, CheckWeight, ChargeTransactionPayment) in FRAME's order, so the extra data is era,
nonce and tip, and the payload adds spec version, transaction version, genesis hash and birth hash. The genesis
hash stops replay on another chain, the birth block hash pins a mortal extrinsic to one fork.

Sources: polkadot-sdk `sp-runtime` `generic/unchecked_extrinsic.rs` (preamble 0b1000_0100, the length prefix, the
256-byte rule) and `generic/era.rs` (the mortal era's encoding and `birth`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from btt_chain.primitives import scale
from btt_chain.primitives.codec import AMOUNT, HASH, U8, U32, U64, Bytes, Field, Nested, Struct
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.frozen import fast_init
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Signer
from btt_chain.primitives.signatures import ED25519, SCHEME_NAMES, SIGNATURE_LENGTHS, verify_multi

MAX_EXTRINSIC_SIZE = 64 * 1024
"""An encoded extrinsic may not exceed 64 KiB (so one fits in a gossip message)."""
MAX_CALL_DEPTH = 4
"""A call may carry a call (a governance proposal) at most this deep."""
TRANSACTION_VERSION = 1
"""Substrate's `transaction_version`: bumped when a call's index or argument encoding changes, so a signed
extrinsic never means something else to a newer runtime. Part of every signing payload."""
NONCE_MAX = 2**32 - 1
"""Nonces stay below 2^32: Substrate clients decode them as u32."""
SIGNED_V4 = 0x84
UNSIGNED_V4 = 0x04
ADDRESS_ID = 0x00
SIGNED_PAYLOAD_HASH_OVER = 256
"""A signing payload longer than this is signed as its blake2b-256 (FRAME's rule)."""

CallEnd = Callable[[bytes, int, int], int]
"""(data, position of a call's module index, depth) -> the position after the call's arguments: one runtime's call
table (`runtime.dispatch.Runtime.call_end`). Only a call table knows where a call inside another value ends."""
_default_call_end: CallEnd | None = None


def register_call_schema(call_end: CallEnd) -> None:
    """The table that decodes a call inside a value outside any runtime (`Call.decode_at`, `Call.decode`: an RPC
    parameter, a wallet's call, multisig's call data before its runtime decodes it again): the newest spec's
    (`runtime.specs.newest_call_end`, which every spec's `modules` registers alike, so import order never matters). A
    runtime decodes the calls inside its own calls and stored values by its own table (`NestedCall`), not by this."""
    global _default_call_end
    _default_call_end = call_end


@fast_init  # a block decodes thousands
@dataclass(frozen=True)
class Call(Struct):
    """A runtime call by fixed indices: module index, call index within the module, and the SCALE encoding of its
    arguments (the runtime's call table decodes and checks them)."""

    module: int
    function: int
    args: bytes

    WIRE = (("module", U8), ("function", U8), ("args", Bytes(max_len=MAX_EXTRINSIC_SIZE)))

    def encode_scale(self) -> bytes:
        if not (0 <= self.module <= 255 and 0 <= self.function <= 255) or type(self.args) is not bytes:
            raise DecodeError(f"not a call: ({self.module!r}, {self.function!r})")
        return bytes((self.module, self.function)) + self.args

    @classmethod
    def decode_at(cls, data: bytes, pos: int) -> tuple[Call, int]:
        """A call inside another value, decoded outside any runtime: by the newest spec's table
        (`register_call_schema`). A runtime passes its own table (`NestedCall`, `decode_nested`)."""
        if _default_call_end is None:
            raise DecodeError("no runtime call schema to decode a nested call with")
        return cls.decode_nested(data, pos, 0, _default_call_end)

    @classmethod
    def decode_nested(cls, data: bytes, pos: int, depth: int, call_end: CallEnd) -> tuple[Call, int]:
        """The call at `pos` inside another value, `depth` calls deep, its arguments ending where `call_end` (a
        runtime's call table) says."""
        if depth >= MAX_CALL_DEPTH:
            raise DecodeError(f"calls nested deeper than {MAX_CALL_DEPTH}")
        if pos + 2 > len(data):
            raise DecodeError("expected a call, found the end of the input")
        end = call_end(data, pos, depth + 1)
        return cls(data[pos], data[pos + 1], data[pos + 2 : end]), end

    @classmethod
    def decode_rest(cls, data: bytes, pos: int) -> Call:
        """The call that runs to the end of `data` (as in an extrinsic)."""
        if pos + 2 > len(data):
            raise DecodeError("expected a call, found the end of the input")
        return cls(data[pos], data[pos + 1], data[pos + 2 :])


class NestedCall(Nested):
    """`Nested(Call)` decoded by one runtime's call table: a call argument (a proposal's, a batch's items) or a stored
    value's call, as that runtime assembles it (`runtime.dispatch.Runtime`). It encodes and converts as `Nested(Call)`
    does; only where a call's arguments end, which the table says, differs between specs."""

    def __init__(self, call_end: CallEnd) -> None:
        super().__init__(Call)
        self.call_end = call_end

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        return Call.decode_nested(data, pos, 0, self.call_end)


@dataclass(frozen=True)
class Era(Struct):
    """Substrate's mortality: immortal (period 0), or valid for `period` blocks (a power of two, 4 to 65,536) from
    the latest block numbered `phase` modulo `period` (its birth). The signer commits to the birth block's hash."""

    period: int = 0
    phase: int = 0

    WIRE = (("period", U32), ("phase", U32))

    def __post_init__(self) -> None:
        if self.period == 0:
            if self.phase != 0:
                raise DecodeError("an immortal era has phase 0")
            return
        if self.period < 4 or self.period > 65536 or self.period & (self.period - 1):
            raise DecodeError(f"an era's period is a power of two from 4 to 65536, not {self.period}")
        quantum = max(self.period >> 12, 1)
        if not 0 <= self.phase < self.period or self.phase % quantum:
            raise DecodeError(f"phase {self.phase} is not a phase of an era of period {self.period}")

    @classmethod
    def mortal(cls, period: int, current: int) -> Era:
        """An era of about `period` blocks born at block `current` (Substrate's `Era::mortal`): the period is rounded
        up to a power of two in 4..65,536 and the phase to the era's quantum."""
        period = min(max(1 << max(period - 1, 1).bit_length(), 4), 65536)
        quantum = max(period >> 12, 1)
        return cls(period, current % period // quantum * quantum)

    @property
    def immortal(self) -> bool:
        return self.period == 0

    def birth(self, current: int) -> int:
        """The birth block as seen from block `current`: the latest block at or before it with this phase (or this
        phase itself, later than `current`, for a block too early for the era)."""
        if self.period == 0:
            return 0
        return (max(current, self.phase) - self.phase) // self.period * self.period + self.phase

    def is_alive_at(self, number: int) -> bool:
        """Whether a block numbered `number` may carry an extrinsic of this era (its birth is not in the future)."""
        return self.period == 0 or self.birth(number) <= number

    def encode_scale(self) -> bytes:
        if self.period == 0:
            return b"\x00"
        quantum = max(self.period >> 12, 1)
        low = min(15, max(1, (self.period & -self.period).bit_length() - 2))
        return (low | (self.phase // quantum) << 4).to_bytes(2, "little")

    @classmethod
    def decode_at(cls, data: bytes, pos: int) -> tuple[Era, int]:
        if pos >= len(data):
            raise DecodeError("expected an era, found the end of the input")
        if data[pos] == 0:
            return IMMORTAL, pos + 1
        if pos + 2 > len(data):
            raise DecodeError("truncated era")
        encoded = int.from_bytes(data[pos : pos + 2], "little")
        period = 2 << (encoded % 16)
        quantum = max(period >> 12, 1)
        phase = (encoded >> 4) * quantum
        if period < 4 or phase >= period:
            raise DecodeError(f"invalid mortal era 0x{encoded:04x}")
        era = cls(period, phase)
        if era.encode_scale() != data[pos : pos + 2]:
            raise DecodeError(f"non-canonical mortal era 0x{encoded:04x}")
        return era, pos + 2


def born_at_finalized(head: int, finalized: int, period: int) -> bool:
    """Whether a mortal extrinsic signed now is born at the finalized block (True) or at the head's parent (False),
    the rule every signer here follows (wallets, the node's own reports), as `@polkadot/api` does: the signature
    commits to the birth block's hash, and a block finality does not hold could be retracted before inclusion, which
    makes the extrinsic a bad signature everywhere for ever. The finalized block while it is within half the era of
    the head (the era keeps at least half its blocks to be included in); further behind, the head's parent."""
    return head - finalized <= period // 2


IMMORTAL = Era(0, 0)

try:  # the common signed extrinsics decoded compiled (the same values: tests/primitives/test_extrinsic_native.py)
    from btt_chain.primitives import _extrinsic_native as _native  # type: ignore[attr-defined]
except ImportError:  # not built (no C compiler): every extrinsic decoded here
    _native = None


@fast_init  # a block decodes thousands
@dataclass(frozen=True)
class Extrinsic(Struct):
    """A signed transaction."""

    signer: bytes
    """The AccountId32 that signed (for ECDSA, the blake2b-256 of the compressed public key)."""
    nonce: int
    tip: int
    era: Era
    call: Call
    signature: bytes
    scheme: int = ED25519
    """The MultiSignature variant: `signatures.ED25519`, `SR25519` or `ECDSA`."""

    WIRE = (
        ("signer", HASH),
        ("nonce", U64),
        ("tip", AMOUNT),
        ("era", Nested(Era)),
        ("call", Nested(Call)),
        ("signature", Bytes(max_len=65)),
        ("scheme", U8),
    )

    @property
    def multi_signature(self) -> bytes:
        """The signature as FRAME's `MultiSignature` encodes it: the variant byte, then the signature."""
        return bytes((self.scheme,)) + self.signature

    def encode_scale(self) -> bytes:
        if type(self.signer) is not bytes or len(self.signer) != 32:
            raise DecodeError("an extrinsic's signer is 32 bytes")
        length = SIGNATURE_LENGTHS.get(self.scheme)
        if length is None:
            raise DecodeError(f"unknown signature scheme {self.scheme!r}")
        if type(self.signature) is not bytes or len(self.signature) != length:
            raise DecodeError(f"an {SCHEME_NAMES[self.scheme]} signature is {length} bytes")
        if type(self.nonce) is not int or not 0 <= self.nonce <= NONCE_MAX:
            raise DecodeError(f"nonce out of range: {self.nonce!r}")
        if type(self.tip) is not int or not 0 <= self.tip < 2**128:
            raise DecodeError(f"tip out of range: {self.tip!r}")
        body = b"".join((
            b"\x84\x00", self.signer, self.multi_signature,
            self.era.encode_scale(), scale.encode_compact(self.nonce), scale.encode_compact(self.tip),
            self.call.encode_scale(),
        ))
        return scale.encode_compact(len(body)) + body

    @classmethod
    def decode_at(cls, data: bytes, pos: int) -> tuple[Extrinsic, int]:
        length, start = scale.decode_compact(data, pos, MAX_EXTRINSIC_SIZE)
        return cls._decode_prefixed(data, pos, length, start)

    @classmethod
    def _decode_prefixed(cls, data: bytes, pos: int, length: int, start: int) -> tuple[Extrinsic, int]:
        """`decode_at` after its length prefix (`length` bytes of body from `start`)."""
        end = start + length
        if end > len(data):
            raise DecodeError(f"extrinsic of {length} bytes runs past the end of the input")
        xt = cls.decode_body(data[start:end])
        xt.__dict__["_encoded"] = data[pos:end]  # what `object.__setattr__` does on a frozen dataclass, one call less
        return xt, end

    @classmethod
    def decode_body(cls, body: bytes) -> Extrinsic:
        """The extrinsic whose body (everything after the length prefix) is exactly `body`."""
        if len(body) < 100:
            raise DecodeError(f"a signed extrinsic is at least 100 bytes, got {len(body)}")
        if body[0] != SIGNED_V4:
            if body[0] == UNSIGNED_V4:
                raise DecodeError("an unsigned extrinsic (0x04) is a block author's inherent: transactions are signed")
            raise DecodeError(f"expected a signed v4 extrinsic (0x84), got 0x{body[0]:02x}")
        if body[1] != ADDRESS_ID:
            raise DecodeError(f"only MultiAddress::Id signers are accepted, got variant {body[1]}")
        scheme = body[34]
        length = SIGNATURE_LENGTHS.get(scheme)
        if length is None:
            raise DecodeError(f"unknown MultiSignature variant {scheme} (0 ed25519, 1 sr25519, 2 ecdsa)")
        pos = 35 + length
        if pos < len(body) and body[pos] == 0:  # `Era.decode_at`'s immortal era inline (most transactions')
            era: Era = IMMORTAL
            pos += 1
        else:
            era, pos = Era.decode_at(body, pos)
        nonce, pos = scale.decode_compact(body, pos, NONCE_MAX)
        if pos < len(body) and body[pos] == 0:  # `decode_compact` of a zero tip inline (the one-byte 0x00)
            tip = 0
            pos += 1
        else:
            tip, pos = scale.decode_compact(body, pos)
        if pos + 2 > len(body):  # `Call.decode_rest` inline
            raise DecodeError("expected a call, found the end of the input")
        call = Call(body[pos], body[pos + 1], body[pos + 2 :])
        return cls(body[2:34], nonce, tip, era, call, body[35 : 35 + length], scheme)

    @classmethod
    def decode_checked(cls, data: bytes) -> Extrinsic:
        """Decode an extrinsic from untrusted bytes with the extrinsic size limit."""
        return cls.decode(data, max_size=MAX_EXTRINSIC_SIZE + 4)

    def signing_payload(
        self, genesis_hash: bytes, birth_hash: bytes, spec_version: int, tx_version: int = TRANSACTION_VERSION
    ) -> bytes:
        """The message this extrinsic's signer signed, for that chain, birth block and versions; the last one
        computed is kept (a pooled extrinsic's, made when it was admitted, is asked for again when it is
        authored)."""
        key = (genesis_hash, birth_hash, spec_version, tx_version)
        cached: tuple[tuple[bytes, bytes, int, int], bytes] | None = self.__dict__.get("_signing")
        if cached is not None and cached[0] == key:
            return cached[1]
        message = signing_payload(
            self.call, self.nonce, self.tip, self.era, genesis_hash, birth_hash, spec_version, tx_version
        )
        object.__setattr__(self, "_signing", (key, message))
        return message

    def verify_signature(self, genesis_hash: bytes, birth_hash: bytes, spec_version: int) -> bool:
        return verify_multi(self.signer, self.signing_payload(genesis_hash, birth_hash, spec_version),
                            self.multi_signature)


@fast_init  # a block decodes thousands
@dataclass(frozen=True)
class Inherent(Struct):
    """An unsigned extrinsic that a block's author puts in and every node checks as part of the block (FRAME's
    inherent): `timestamp.set(now)` is each block's first. Never a transaction: the pool refuses unsigned ones."""

    call: Call

    WIRE = (("call", Nested(Call)),)

    def encode_scale(self) -> bytes:
        body = bytes((UNSIGNED_V4,)) + self.call.encode_scale()
        return scale.encode_compact(len(body)) + body

    @classmethod
    def decode_at(cls, data: bytes, pos: int) -> tuple[Inherent, int]:
        length, start = scale.decode_compact(data, pos, MAX_EXTRINSIC_SIZE)
        end = start + length
        if end > len(data):
            raise DecodeError(f"extrinsic of {length} bytes runs past the end of the input")
        if length < 3 or data[start] != UNSIGNED_V4:
            raise DecodeError("expected an unsigned v4 extrinsic (0x04 and a call)")
        inherent = cls(Call.decode_rest(data[start:end], 1))
        object.__setattr__(inherent, "_encoded", data[pos:end])
        return inherent, end


AnyExtrinsic = Extrinsic | Inherent
"""A block's extrinsic: a signed transaction, or an inherent."""


def is_inherent_encoding(data: bytes, pos: int = 0) -> bool:
    """Whether the extrinsic whose encoding (with its length prefix) starts at `pos` is unsigned."""
    _, start = scale.decode_compact(data, pos, MAX_EXTRINSIC_SIZE)
    return start < len(data) and data[start] == UNSIGNED_V4


def decode_any(data: bytes) -> AnyExtrinsic:
    """A block's extrinsic from its whole encoding (length prefix included): an `Inherent` when it is unsigned, else
    an `Extrinsic` decoded as `Extrinsic.decode_checked` does."""
    return Inherent.decode(data) if is_inherent_encoding(data) else Extrinsic.decode_checked(data)


class AnyExtrinsicField(Field):
    """A block's extrinsic in SCALE: decoded as signed or unsigned by its version byte."""

    name = "extrinsic"

    def to_wire(self, value: Any) -> Any:
        if not isinstance(value, (Extrinsic, Inherent)):
            raise DecodeError(f"expected an extrinsic, got {type(value).__name__}")
        return value.encode()

    def from_wire(self, wire: Any) -> Any:
        if type(wire) is not bytes:
            raise DecodeError("expected an encoded extrinsic")
        value, end = self.decode_scale(wire, 0)
        scale.finish(wire, end, "extrinsic")
        return value

    def encode_scale(self, value: Any) -> bytes:
        if not isinstance(value, (Extrinsic, Inherent)):
            raise DecodeError(f"expected an extrinsic, got {type(value).__name__}")
        return value.encode()

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        # `is_inherent_encoding`, then `Extrinsic.decode_at` without decoding the length prefix a second time
        length, start = scale.decode_compact(data, pos, MAX_EXTRINSIC_SIZE)
        if start < len(data) and data[start] == UNSIGNED_V4:
            return Inherent.decode_at(data, pos)
        return Extrinsic._decode_prefixed(data, pos, length, start)

    def decode_many(self, data: bytes, pos: int, count: int) -> tuple[tuple[Any, ...], int]:
        """`count` extrinsics from `pos` (a block's list after its length): the common signed ones decoded compiled
        (btt_chain/primitives/_extrinsic_native.c, where built), each other one by `decode_scale`, which names every
        fault."""
        out: list[Any] = []
        while len(out) < count:
            if _native is not None and type(data) is bytes:
                run, pos = _native.decode_run(data, pos, count - len(out), Extrinsic, Call, IMMORTAL,
                                              SIGNATURE_LENGTHS, MAX_EXTRINSIC_SIZE, NONCE_MAX)
                out.extend(run)
                if len(out) == count:
                    break
            value, pos = self.decode_scale(data, pos)
            out.append(value)
        return tuple(out), pos


def signing_payload(
    call: Call, nonce: int, tip: int, era: Era, genesis_hash: bytes, birth_hash: bytes, spec_version: int,
    tx_version: int = TRANSACTION_VERSION,
) -> bytes:
    """The bytes a signer signs (FRAME's `SignedPayload`): the payload, or its blake2b-256 when over 256 bytes."""
    payload = b"".join((
        call.encode_scale(), era.encode_scale(), scale.encode_compact(nonce), scale.encode_compact(tip),
        spec_version.to_bytes(4, "little"), tx_version.to_bytes(4, "little"), genesis_hash, birth_hash,
    ))
    return blake2b_256(payload) if len(payload) > SIGNED_PAYLOAD_HASH_OVER else payload


def signing_payload_of_body(
    body: bytes, genesis_hash: bytes, birth_hash: bytes, spec_version: int, tx_version: int = TRANSACTION_VERSION
) -> tuple[bytes, bytes, bytes]:
    """(signer, MultiSignature, signing message) straight from a well-formed signed extrinsic body (the signature
    worker's fast path: the importer decoded these very bytes): the payload is the call, then the extra, then the
    rest."""
    extra_start = 35 + SIGNATURE_LENGTHS[body[34]]
    extra_end = _extra_end(body, extra_start)
    payload = b"".join((
        body[extra_end:], body[extra_start:extra_end],
        spec_version.to_bytes(4, "little"), tx_version.to_bytes(4, "little"), genesis_hash, birth_hash,
    ))
    message = blake2b_256(payload) if len(payload) > SIGNED_PAYLOAD_HASH_OVER else payload
    return body[2:34], body[34:extra_start], message


def _extra_end(body: bytes, extra_start: int) -> int:
    """Where the extra data (era, nonce, tip) of a well-formed body ends and its call starts."""
    pos = extra_start + 1 if body[extra_start] == 0 else extra_start + 2
    for _ in range(2):  # nonce, tip: compact integers
        mode = body[pos] & 0b11
        pos += 1 if mode == 0 else 2 if mode == 1 else 4 if mode == 2 else 1 + (body[pos] >> 2) + 4
    return pos


def sign_extrinsic(
    pair: Signer,
    call: Call,
    nonce: int,
    genesis_hash: bytes,
    spec_version: int,
    tip: int = 0,
    era: Era = IMMORTAL,
    birth_hash: bytes | None = None,
    tx_version: int = TRANSACTION_VERSION,
) -> Extrinsic:
    """Build and sign an extrinsic. For an immortal era the birth hash is the genesis hash."""
    if birth_hash is None:
        if not era.immortal:
            raise ValueError("a mortal era needs the birth block hash")
        birth_hash = genesis_hash
    msg = signing_payload(call, nonce, tip, era, genesis_hash, birth_hash, spec_version, tx_version)
    return Extrinsic(pair.account, nonce, tip, era, call, pair.sign(msg), pair.scheme)

