"""Header and block types. A block's id is the hash of its encoded, signed header."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import HASH, MAX_ENCODED_SIZE, U64, Bytes, ListOf, Nested, Struct, pack, unpack
from btt_chain.primitives.extrinsic import Extrinsic
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256, merkle_root
from btt_chain.primitives.keys import Keypair, verify

MAX_BLOCK_EXTRINSICS = 20_000
EMPTY_SIGNATURE = bytes(64)


@dataclass(frozen=True)
class Digest(Struct):
    """Consensus digest: the author's next hash-chain reveal, folded into the chain's randomness."""

    reveal: bytes = ZERO_HASH

    WIRE = (("reveal", HASH),)


@dataclass(frozen=True)
class Header(Struct):
    """A block header; `signature` is the author's ed25519 signature over every other field."""

    parent_hash: bytes
    number: int
    slot: int
    timestamp_ms: int
    state_root: bytes
    extrinsics_root: bytes
    receipts_root: bytes
    author: bytes
    digest: Digest
    signature: bytes = EMPTY_SIGNATURE

    WIRE = (
        ("parent_hash", HASH),
        ("number", U64),
        ("slot", U64),
        ("timestamp_ms", U64),
        ("state_root", HASH),
        ("extrinsics_root", HASH),
        ("receipts_root", HASH),
        ("author", HASH),
        ("digest", Nested(Digest)),
        ("signature", Bytes(64)),
    )

    def signing_payload(self, genesis_hash: bytes) -> bytes:
        """blake2b-256 of the domain-tagged header without its signature. The genesis hash is part of it, so a
        seal (and evidence of a double seal) means something on one chain only."""
        return blake2b_256(pack(["btt-header", genesis_hash, self.to_wire()[:-1]]))

    def sealed(self, pair: Keypair, genesis_hash: bytes) -> Header:
        return self.replace(signature=pair.sign(self.signing_payload(genesis_hash)))

    def verify_seal(self, genesis_hash: bytes) -> bool:
        return verify(self.author, self.signing_payload(genesis_hash), self.signature)


@dataclass(frozen=True)
class Block(Struct):
    """A header and the extrinsics it commits to."""

    header: Header
    extrinsics: tuple[Extrinsic, ...]

    WIRE = (("header", Nested(Header)), ("extrinsics", ListOf(Nested(Extrinsic), MAX_BLOCK_EXTRINSICS)))

    @classmethod
    def decode(cls, data: bytes, max_size: int = MAX_ENCODED_SIZE) -> Block:
        """Decode a block; each extrinsic keeps its encoding, packed from its part of the wire form (canonical,
        since the whole block's encoding was checked canonical) instead of re-encoded field by field."""
        wire = unpack(data, max_size)
        block = cls.from_wire(wire)
        object.__setattr__(block, "_encoded", bytes(data))
        for xt, xt_wire in zip(block.extrinsics, wire[1], strict=True):
            object.__setattr__(xt, "_encoded", pack(xt_wire))
        return block

    def hash(self) -> bytes:
        return self.header.hash()

    @property
    def number(self) -> int:
        return self.header.number


def extrinsics_root(extrinsics: tuple[Extrinsic, ...] | list[Extrinsic]) -> bytes:
    return merkle_root([x.hash() for x in extrinsics])


def extrinsics_root_of_encoded(encoded: list[bytes]) -> bytes:
    return merkle_root([blake2b_256(e) for e in encoded])
