"""Header and block types, in Substrate's SCALE layout. A block's id is blake2b-256 of its SCALE header.

    header = parent_hash[32] ++ Compact(number) ++ state_root[32] ++ extrinsics_root[32] ++ digest
    digest = Compact(3 or 4) ++ PreRuntime("pow_", author[32])
                             ++ PreRuntime("btt0", slot u64 ++ timestamp_ms u64 ++ receipts_root[32] ++ reveal[32])
                             ++ [RuntimeEnvironmentUpdated]
                             ++ Seal("btt0", signature[64])
    item   = kind u8 (6 PreRuntime, 5 Seal) ++ engine id[4] ++ Compact(len) ++ data
           | 8 (RuntimeEnvironmentUpdated: the kind byte alone)
    block  = header ++ Compact(n) ++ n extrinsics (each with its own length prefix)

Clients compute the block hash themselves (and sign it as a mortal era's birth hash), so it is exactly Substrate's:
the hash of the whole header, seal included. The seal signs the pre-hash: the header without the seal, with the
genesis hash, under a domain tag. `PreRuntime("pow_", account)` is the item polkadot.js Apps shows as the author.
`RuntimeEnvironmentUpdated` is in the header of a block whose child runs another spec than the block itself (the
last block before an upgrade: `Header.runtime_updated`), as FRAME's `set_code` deposits it in the block that puts
the new `:code` in the state.

Sources: polkadot-sdk `sp-runtime` `generic/header.rs`, `generic/digest.rs` (`DigestItemType`: Other 0, Consensus 4,
Seal 5, PreRuntime 6, RuntimeEnvironmentUpdated 8), `generic/block.rs`, `frame-system` `update_code_in_storage`;
@polkadot/types `generic/ConsensusEngineId.js` (`pow_` authors).
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives import scale
from btt_chain.primitives.codec import BOOL, HASH, U64, Bytes, ListOf, Nested, Struct
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.extrinsic import AnyExtrinsic, AnyExtrinsicField, Extrinsic
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256, merkle_root
from btt_chain.primitives.keys import Keypair, verify

MAX_BLOCK_EXTRINSICS = 20_000
BLOCK_NUMBER_MAX = 2**32 - 1
"""Block numbers stay below 2^32: Substrate clients decode them as u32."""
EMPTY_SIGNATURE = bytes(64)
ENGINE = b"btt0"
"""The consensus engine id of btt's own digest items."""
AUTHOR_ENGINE = b"pow_"
"""The engine id whose pre-runtime item polkadot.js reads as the block author."""
PRE_RUNTIME = 6
SEAL = 5
RUNTIME_ENVIRONMENT_UPDATED = 8
HEADER_DOMAIN = b"btt-header"

_AUTHOR_ITEM = bytes([PRE_RUNTIME]) + AUTHOR_ENGINE + scale.encode_compact(32)
_CONSENSUS_ITEM = bytes([PRE_RUNTIME]) + ENGINE + scale.encode_compact(8 + 8 + 32 + 32)
_SEAL_ITEM = bytes([SEAL]) + ENGINE + scale.encode_compact(64)
_UPDATED_ITEM = bytes([RUNTIME_ENVIRONMENT_UPDATED])
_COUNT, _UPDATED_COUNT = scale.encode_compact(3), scale.encode_compact(4)
_PRE_COUNT, _PRE_UPDATED_COUNT = scale.encode_compact(2), scale.encode_compact(3)


@dataclass(frozen=True)
class Digest(Struct):
    """Consensus digest: the author's next hash-chain reveal, folded into the chain's randomness."""

    reveal: bytes = ZERO_HASH

    WIRE = (("reveal", HASH),)


@dataclass(frozen=True)
class Header(Struct):
    """A block header; `signature` is the author's ed25519 seal over every other field."""

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
    runtime_updated: bool = False
    """The block's child runs another spec than the block (the runtime *at* the block, its `:code`, is new): the
    header carries Substrate's `RuntimeEnvironmentUpdated` digest item, which is how polkadot-api learns that a block
    brings a new runtime (it then reads `:code`'s hash and the new metadata). Set by the block's author, checked on
    import (`btt_chain.node.chain.runtime_updated`)."""

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
        ("runtime_updated", BOOL),
    )

    def _pre_parts(self) -> tuple[bytes, bytes]:
        """(header fields before the digest, the digest items before the seal)."""
        for name in ("parent_hash", "state_root", "extrinsics_root", "receipts_root", "author"):
            value = getattr(self, name)
            if type(value) is not bytes or len(value) != 32:
                raise DecodeError(f"Header.{name}: expected 32 bytes")
        if type(self.digest.reveal) is not bytes or len(self.digest.reveal) != 32:
            raise DecodeError("Header.digest.reveal: expected 32 bytes")
        if type(self.runtime_updated) is not bool:
            raise DecodeError(f"Header.runtime_updated: expected a bool, got {self.runtime_updated!r}")
        if type(self.number) is not int or not 0 <= self.number <= BLOCK_NUMBER_MAX:
            raise DecodeError(f"Header.number out of range: {self.number!r}")
        for name in ("slot", "timestamp_ms"):
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value < 2**64:
                raise DecodeError(f"Header.{name} out of range: {value!r}")
        head = self.parent_hash + scale.encode_compact(self.number) + self.state_root + self.extrinsics_root
        items = b"".join((
            _AUTHOR_ITEM, self.author,
            _CONSENSUS_ITEM, self.slot.to_bytes(8, "little"), self.timestamp_ms.to_bytes(8, "little"),
            self.receipts_root, self.digest.reveal,
        ))
        return head, (items + _UPDATED_ITEM if self.runtime_updated else items)

    def encode_scale(self) -> bytes:
        if type(self.signature) is not bytes or len(self.signature) != 64:
            raise DecodeError("Header.signature: expected 64 bytes")
        head, items = self._pre_parts()
        count = _UPDATED_COUNT if self.runtime_updated else _COUNT
        return head + count + items + _SEAL_ITEM + self.signature

    def digest_items(self) -> list[bytes]:
        """Each digest item's SCALE encoding (what JSON-RPC's `digest.logs` lists, as 0x-hex)."""
        _, items = self._pre_parts()
        author_end = len(_AUTHOR_ITEM) + 32
        consensus_end = author_end + len(_CONSENSUS_ITEM) + 80
        updated = [_UPDATED_ITEM] if self.runtime_updated else []
        return [items[:author_end], items[author_end:consensus_end], *updated, _SEAL_ITEM + self.signature]

    def pre_hash_encoding(self) -> bytes:
        """The header without its seal (Substrate's pre-hash header)."""
        head, items = self._pre_parts()
        count = _PRE_UPDATED_COUNT if self.runtime_updated else _PRE_COUNT
        return head + count + items

    @classmethod
    def decode_at(cls, data: bytes, pos: int) -> tuple[Header, int]:
        start = pos
        parent, pos = scale.decode_fixed(data, pos, 32)
        number, pos = scale.decode_compact(data, pos, BLOCK_NUMBER_MAX)
        roots, pos = scale.decode_fixed(data, pos, 64)
        count, pos = scale.decode_compact(data, pos, 4)
        if count not in (3, 4):
            raise DecodeError(f"a header's digest holds 3 items (author, consensus, seal) or 4 (a runtime update "
                              f"before the seal), not {count}")
        author, pos = _item(data, pos, _AUTHOR_ITEM, 32, "author pre-runtime")
        consensus, pos = _item(data, pos, _CONSENSUS_ITEM, 80, "btt0 pre-runtime")
        if count == 4:
            _, pos = _item(data, pos, _UPDATED_ITEM, 0, "RuntimeEnvironmentUpdated")
        signature, pos = _item(data, pos, _SEAL_ITEM, 64, "seal")
        header = cls(
            parent, number,
            int.from_bytes(consensus[0:8], "little"), int.from_bytes(consensus[8:16], "little"),
            roots[:32], roots[32:], consensus[16:48], author, Digest(consensus[48:80]), signature, count == 4,
        )
        object.__setattr__(header, "_encoded", data[start:pos])
        return header, pos

    def signing_payload(self, genesis_hash: bytes) -> bytes:
        """blake2b-256 of the domain tag, the genesis hash and the pre-hash header. The genesis hash is part of it, so
        a seal (and evidence of a double seal) means something on one chain only."""
        return blake2b_256(HEADER_DOMAIN + genesis_hash + self.pre_hash_encoding())

    def sealed(self, pair: Keypair, genesis_hash: bytes) -> Header:
        return self.replace(signature=pair.sign(self.signing_payload(genesis_hash)))

    def verify_seal(self, genesis_hash: bytes) -> bool:
        return verify(self.author, self.signing_payload(genesis_hash), self.signature)


def _item(data: bytes, pos: int, prefix: bytes, size: int, what: str) -> tuple[bytes, int]:
    end = pos + len(prefix)
    if data[pos:end] != prefix:
        raise DecodeError(f"expected the header's {what} digest item")
    return scale.decode_fixed(data, end, size)


@dataclass(frozen=True)
class Block(Struct):
    """A header and the extrinsics it commits to: the inherents first (the author's `timestamp.set`), then the signed
    transactions. An extrinsic's index in this tuple is its index on chain (events' `ApplyExtrinsic` phase)."""

    header: Header
    extrinsics: tuple[AnyExtrinsic, ...]

    WIRE = (("header", Nested(Header)), ("extrinsics", ListOf(AnyExtrinsicField(), MAX_BLOCK_EXTRINSICS)))

    def hash(self) -> bytes:
        return self.header.hash()

    @property
    def transactions(self) -> tuple[Extrinsic, ...]:
        """The signed extrinsics, in block order."""
        return tuple(x for x in self.extrinsics if isinstance(x, Extrinsic))

    @property
    def number(self) -> int:
        return self.header.number


def extrinsics_root(extrinsics: tuple[AnyExtrinsic, ...] | list[AnyExtrinsic] | list[Extrinsic]) -> bytes:
    return merkle_root([x.hash() for x in extrinsics])


def extrinsics_root_of_encoded(encoded: list[bytes]) -> bytes:
    return merkle_root([blake2b_256(e) for e in encoded])


def split_block(data: bytes) -> tuple[bytes, list[bytes]]:
    """(the header's encoding, each extrinsic's encoding) of a well-formed block, without decoding their fields."""
    _, pos = Header.decode_at(data, 0)
    header = data[:pos]
    n, pos = scale.decode_compact(data, pos, MAX_BLOCK_EXTRINSICS)
    out = []
    for _ in range(n):
        length, start = scale.decode_compact(data, pos)
        out.append(data[pos : start + length])
        pos = start + length
    scale.finish(data, pos, "block")
    return header, out
