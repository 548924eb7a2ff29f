"""Signed extrinsics: call, signer, nonce, tip, mortality and an ed25519 signature.

The signature covers (call, nonce, tip, era, genesis hash, birth block hash, spec version): the
genesis hash stops replay on another chain, the birth block hash pins a mortal extrinsic to one fork.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from btt_chain.primitives.codec import AMOUNT, HASH, U8, U32, U64, Bytes, Generic, ListOf, Nested, Struct, pack
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair, verify

MAX_EXTRINSIC_SIZE = 64 * 1024
"""An encoded extrinsic may not exceed 64 KiB (so one fits in a gossip message)."""
MAX_CALL_ARGS = 16


@dataclass(frozen=True)
class Call(Struct):
    """A runtime call by fixed indices: module index, call index within the module, arguments."""

    module: int
    function: int
    args: tuple[Any, ...]

    WIRE = (("module", U8), ("function", U8), ("args", ListOf(Generic(), MAX_CALL_ARGS)))


@dataclass(frozen=True)
class Era(Struct):
    """Mortality. period == 0: immortal (birth must be 0). Otherwise valid for blocks birth .. birth+period-1."""

    birth: int
    period: int

    WIRE = (("birth", U64), ("period", U32))

    @property
    def immortal(self) -> bool:
        return self.period == 0

    def __post_init__(self) -> None:
        if self.period == 0 and self.birth != 0:
            raise DecodeError("an immortal era must have birth 0")

    def is_alive_at(self, number: int) -> bool:
        return self.immortal or self.birth <= number < self.birth + self.period


IMMORTAL = Era(0, 0)


@dataclass(frozen=True)
class Extrinsic(Struct):
    """A signed transaction."""

    signer: bytes
    nonce: int
    tip: int
    era: Era
    call: Call
    signature: bytes

    WIRE = (
        ("signer", HASH),
        ("nonce", U64),
        ("tip", AMOUNT),
        ("era", Nested(Era)),
        ("call", Nested(Call)),
        ("signature", Bytes(64)),
    )

    @classmethod
    def decode_checked(cls, data: bytes) -> Extrinsic:
        """Decode an extrinsic from untrusted bytes with the extrinsic size limit."""
        return cls.decode(data, max_size=MAX_EXTRINSIC_SIZE)

    def signing_payload(self, genesis_hash: bytes, birth_hash: bytes, spec_version: int) -> bytes:
        """The message this extrinsic's signer signed, for that chain, birth block and spec version; the last one
        computed is kept (a pooled extrinsic's, made when it was admitted, is asked for again when it is
        authored)."""
        key = (genesis_hash, birth_hash, spec_version)
        cached: tuple[tuple[bytes, bytes, int], bytes] | None = self.__dict__.get("_signing")
        if cached is not None and cached[0] == key:
            return cached[1]
        message = signing_payload(self.call, self.nonce, self.tip, self.era, genesis_hash, birth_hash, spec_version)
        object.__setattr__(self, "_signing", (key, message))
        return message

    def verify_signature(self, genesis_hash: bytes, birth_hash: bytes, spec_version: int) -> bool:
        return verify(self.signer, self.signing_payload(genesis_hash, birth_hash, spec_version), self.signature)


def signing_payload(
    call: Call, nonce: int, tip: int, era: Era, genesis_hash: bytes, birth_hash: bytes, spec_version: int
) -> bytes:
    """The 32-byte message a signer signs: blake2b-256 of the domain-tagged payload."""
    return _signing_hash(
        call.to_wire(), U64.to_wire(nonce), AMOUNT.to_wire(tip), era.to_wire(),
        HASH.to_wire(genesis_hash), HASH.to_wire(birth_hash), U32.to_wire(spec_version),
    )


def signing_payload_of_wire(wire: list[Any], genesis_hash: bytes, birth_hash: bytes, spec_version: int) -> bytes:
    """`signing_payload` from an extrinsic's wire form as a canonical, decoded block holds it (the signature
    worker's fast path): its call, nonce, tip and era parts are already what `to_wire` would make of them."""
    return _signing_hash(
        wire[4], wire[1], wire[2], wire[3],
        HASH.to_wire(genesis_hash), HASH.to_wire(birth_hash), U32.to_wire(spec_version),
    )


def _signing_hash(call: Any, nonce: Any, tip: Any, era: Any, genesis: Any, birth: Any, spec_version: Any) -> bytes:
    return blake2b_256(pack(["btt-extrinsic", call, nonce, tip, era, genesis, birth, spec_version]))


def sign_extrinsic(
    pair: Keypair,
    call: Call,
    nonce: int,
    genesis_hash: bytes,
    spec_version: int,
    tip: int = 0,
    era: Era = IMMORTAL,
    birth_hash: bytes | None = None,
) -> Extrinsic:
    """Build and sign an extrinsic. For an immortal era the birth hash is the genesis hash."""
    if birth_hash is None:
        if not era.immortal:
            raise ValueError("a mortal era needs the birth block hash")
        birth_hash = genesis_hash
    msg = signing_payload(call, nonce, tip, era, genesis_hash, birth_hash, spec_version)
    return Extrinsic(pair.public, nonce, tip, era, call, pair.sign(msg))
