"""blake2b-256 ids, the binary Merkle root used for extrinsics and receipts roots, and the hashers of FRAME's
storage keys (twox128/twox64 are xxHash64 with seeds 0.., little-endian: polkadot-sdk `sp-crypto-hashing`)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import xxhash

HASH_LEN = 32
ZERO_HASH = bytes(HASH_LEN)


def blake2b_256(data: bytes) -> bytes:
    """Return the 32-byte blake2b digest of `data`."""
    return hashlib.blake2b(data, digest_size=HASH_LEN).digest()


def blake2_128(data: bytes, _blake2b: Any = hashlib.blake2b) -> bytes:
    """The 16-byte blake2b digest (FRAME's `Blake2_128` and, with the key after it, `Blake2_128Concat`)."""
    return _blake2b(data, digest_size=16).digest()  # type: ignore[no-any-return]


def twox64(data: bytes) -> bytes:
    """xxHash64 with seed 0, little-endian (FRAME's `Twox64Concat` prefix)."""
    return xxhash.xxh64_intdigest(data, 0).to_bytes(8, "little")


def twox128(data: bytes) -> bytes:
    """Two xxHash64s (seeds 0 and 1), little-endian: FRAME's pallet and item prefixes."""
    return xxhash.xxh64_intdigest(data, 0).to_bytes(8, "little") + xxhash.xxh64_intdigest(data, 1).to_bytes(8, "little")


EMPTY_MERKLE_ROOT = blake2b_256(b"")


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Binary Merkle root over leaf hashes; leaf and node hashes are domain-separated, an odd node is promoted."""
    if not leaves:
        return EMPTY_MERKLE_ROOT
    level = [blake2b_256(b"\x00" + leaf) for leaf in leaves]
    while len(level) > 1:
        nxt = [blake2b_256(b"\x01" + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]
