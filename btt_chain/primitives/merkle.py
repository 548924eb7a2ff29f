"""Merkle inclusion proofs for the binary tree of `hashing.merkle_root`.

The tree is the one `merkle_root` builds: a leaf is hashed as blake2b_256(0x00 || leaf), an inner node as
blake2b_256(0x01 || left || right), and an odd last node of a level is promoted unchanged to the next
level. A proof is the list of sibling hashes from the leaf up; a level where the node is promoted has no
sibling and contributes nothing, so the shape of a proof follows from (index, count) alone and a verifier
accepts exactly one proof length for each position.
"""

from __future__ import annotations

from collections.abc import Sequence

from btt_chain.primitives.hashing import HASH_LEN, blake2b_256

MAX_LEAVES = 2**64
"""A proof may claim at most this many leaves (a u64 count)."""


def hash_leaf(leaf: bytes) -> bytes:
    """The bottom-level node of a raw leaf."""
    return blake2b_256(b"\x00" + leaf)


def hash_node(left: bytes, right: bytes) -> bytes:
    """The parent of two nodes."""
    return blake2b_256(b"\x01" + left + right)


def merkle_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree over `leaves`, bottom (leaf hashes) first, root level (one node) last.

    Empty for no leaves (whose root is `EMPTY_MERKLE_ROOT` and which have no proofs).
    """
    if not leaves:
        return []
    level = [hash_leaf(leaf) for leaf in leaves]
    levels = [level]
    while len(level) > 1:
        nxt = [hash_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        levels.append(level)
    return levels


def merkle_proof(levels: Sequence[Sequence[bytes]], index: int) -> tuple[bytes, ...]:
    """The sibling hashes, bottom-up, that lead from leaf `index` to the root of `levels`."""
    if not levels or not 0 <= index < len(levels[0]):
        raise IndexError(f"leaf index {index} out of range for {len(levels[0]) if levels else 0} leaves")
    proof: list[bytes] = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        index //= 2
    return tuple(proof)


def proof_length(index: int, count: int) -> int:
    """How many siblings the proof of leaf `index` among `count` leaves holds (promoted levels have none)."""
    length = 0
    while count > 1:
        if index ^ 1 < count:
            length += 1
        index //= 2
        count = (count + 1) // 2
    return length


def verify_merkle_proof(root: bytes, leaf: bytes, index: int, count: int, proof: Sequence[bytes]) -> bool:
    """Whether `proof` shows raw `leaf` at position `index` of a `count`-leaf tree with root `root`.

    Returns False, never raises, for any malformed argument: a position out of range, a proof of the
    wrong length, a sibling that is not a 32-byte hash, or values of the wrong type.
    """
    if not _is_int(index) or not _is_int(count) or not 1 <= count <= MAX_LEAVES or not 0 <= index < count:
        return False
    if not _is_bytes(root) or len(root) != HASH_LEN or not _is_bytes(leaf):
        return False
    if isinstance(proof, (bytes, bytearray, str)) or not isinstance(proof, Sequence):
        return False
    if len(proof) != proof_length(index, count):
        return False
    if not all(_is_bytes(p) and len(p) == HASH_LEN for p in proof):
        return False
    node = hash_leaf(bytes(leaf))
    siblings = iter(proof)
    while count > 1:
        if index ^ 1 < count:
            sibling = bytes(next(siblings))
            node = hash_node(sibling, node) if index & 1 else hash_node(node, sibling)
        index //= 2
        count = (count + 1) // 2
    return node == bytes(root)


def _is_int(value: object) -> bool:
    return type(value) is int


def _is_bytes(value: object) -> bool:
    return isinstance(value, (bytes, bytearray))
