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


# --- contiguous ranges --------------------------------------------------------------------------------
#
# A range proof shows leaves [start, start + n) of a `count`-leaf tree at once: per level, bottom-up, the left
# sibling of the range's first node (when that node is a right child) and then the right sibling of its last
# node (when that node is a left child and has one). Everything inside the range is recomputed, so a proof
# holds at most two hashes a level, and its shape follows from (start, n, count) alone.


def range_proof_length(start: int, n: int, count: int) -> int:
    """How many siblings the proof of leaves [start, start + n) among `count` leaves holds."""
    lo, hi, length = start, start + n, 0
    while count > 1:
        length += (lo & 1) + (1 if hi & 1 and hi < count else 0)
        lo, hi, count = lo // 2, (hi + 1) // 2, (count + 1) // 2
    return length


def merkle_range_proof(levels: Sequence[Sequence[bytes]], start: int, n: int) -> tuple[bytes, ...]:
    """The siblings, bottom-up, that lead from leaves [start, start + n) to the root of `levels`."""
    count = len(levels[0]) if levels else 0
    if n < 1 or not 0 <= start or start + n > count:
        raise IndexError(f"leaves {start}..{start + n - 1} out of range for {count} leaves")
    lo, hi = start, start + n
    proof: list[bytes] = []
    for level in levels[:-1]:
        if lo & 1:
            proof.append(level[lo - 1])
        if hi & 1 and hi < len(level):
            proof.append(level[hi])
        lo, hi = lo // 2, (hi + 1) // 2
    return tuple(proof)


def verify_merkle_range(root: bytes, leaves: Sequence[bytes], start: int, count: int, proof: Sequence[bytes]) -> bool:
    """Whether `proof` shows raw `leaves` at positions [start, start + len(leaves)) of a `count`-leaf tree with
    root `root`. Returns False, never raises, for any malformed argument (as `verify_merkle_proof`)."""
    if not _is_int(start) or not _is_int(count) or not 1 <= count <= MAX_LEAVES:
        return False
    if isinstance(leaves, (bytes, bytearray, str)) or not isinstance(leaves, Sequence) or not leaves:
        return False
    n = len(leaves)
    if not 0 <= start or start + n > count or not all(_is_bytes(x) for x in leaves):
        return False
    if not _is_bytes(root) or len(root) != HASH_LEN:
        return False
    if isinstance(proof, (bytes, bytearray, str)) or not isinstance(proof, Sequence):
        return False
    if len(proof) != range_proof_length(start, n, count):
        return False
    if not all(_is_bytes(p) and len(p) == HASH_LEN for p in proof):
        return False
    siblings = iter(bytes(p) for p in proof)
    nodes = [hash_leaf(bytes(x)) for x in leaves]
    lo, hi = start, start + n
    while count > 1:
        if lo & 1:
            nodes.insert(0, next(siblings))
        if hi & 1 and hi < count:
            nodes.append(next(siblings))
        paired = [hash_node(nodes[i], nodes[i + 1]) for i in range(0, len(nodes) - 1, 2)]
        if len(nodes) % 2:
            paired.append(nodes[-1])  # the level's odd last node, promoted
        nodes = paired
        lo, hi, count = lo // 2, (hi + 1) // 2, (count + 1) // 2
    return len(nodes) == 1 and nodes[0] == bytes(root)
