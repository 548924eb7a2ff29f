"""blake2b-256 ids and the binary Merkle root used for extrinsics and receipts roots."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_LEN = 32
ZERO_HASH = bytes(HASH_LEN)


def blake2b_256(data: bytes) -> bytes:
    """Return the 32-byte blake2b digest of `data`."""
    return hashlib.blake2b(data, digest_size=HASH_LEN).digest()


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
