"""The state tree: a compact sparse Merkle tree over 256-bit key paths, whose root goes in each block header.

Definition (the root depends only on the set of key/value pairs):

- the path of a key is blake2b_256(key), read most significant bit first; bit 0 goes left, 1 goes right;
- a leaf commits to blake2b_256(value) and sits at the shallowest depth where it is alone in its subtree;
- a subtree holding two or more leaves is an internal node, even when one side is empty, so that the
  depth of every leaf is implied by the hashes (the Diem / Jellyfish sparse Merkle tree);
- leaf hash = blake2b_256(b"\\x00" + path + value_hash); internal hash = blake2b_256(b"\\x01" + left + right),
  an empty side being ZERO_HASH; the empty tree's root is ZERO_HASH.

Because a leaf's hash does not depend on its depth, deleting a leaf's last neighbour just lifts the leaf.

This module holds the definition, proofs and their check; `storage.state_tree` holds the live tree of a node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import HASH_LEN, ZERO_HASH, blake2b_256

PATH_BITS = 8 * HASH_LEN
EMPTY_ROOT = ZERO_HASH
"""Root of the tree with no keys."""
LEAF_TAG = 0
INTERNAL_TAG = 1


def leaf_hash(path: bytes, value_hash: bytes) -> bytes:
    return blake2b_256(b"\x00" + path + value_hash)


def internal_hash(left: bytes, right: bytes) -> bytes:
    return blake2b_256(b"\x01" + left + right)


def key_path(key: bytes) -> bytes:
    """Where `key` lives in the tree."""
    return blake2b_256(key)


@dataclass(frozen=True, slots=True)
class SmtProof:
    """The path from a key's position up to the root.

    `siblings` run from the leaf level up to the root: siblings[0] is the sibling of the deepest node on
    the key's path and siblings[-1] the sibling of the root's child, so len(siblings) is the depth at which
    the path ends. `leaf` is what was found at that depth: None for an empty subtree, else the
    (path, value_hash) of the one leaf there, which is the key itself for an inclusion proof and another key
    sharing the first len(siblings) bits of the path for an exclusion proof.
    """

    siblings: tuple[bytes, ...]
    leaf: tuple[bytes, bytes] | None

    def to_wire(self) -> list[Any]:
        """[siblings, leaf]: siblings as a list of 32-byte strings, leaf as [] or [path, value_hash]."""
        return [list(self.siblings), [] if self.leaf is None else [self.leaf[0], self.leaf[1]]]

    @classmethod
    def from_wire(cls, wire: Any) -> SmtProof:
        """Inverse of to_wire; raises DecodeError on anything malformed."""
        if not isinstance(wire, (list, tuple)) or len(wire) != 2:
            raise DecodeError("state proof must be a list of [siblings, leaf]")
        siblings, leaf = wire
        if not isinstance(siblings, (list, tuple)) or len(siblings) > PATH_BITS:
            raise DecodeError(f"state proof siblings must be a list of at most {PATH_BITS} hashes")
        for sibling in siblings:
            if not isinstance(sibling, bytes) or len(sibling) != HASH_LEN:
                raise DecodeError("state proof sibling must be a 32-byte hash")
        if not isinstance(leaf, (list, tuple)) or len(leaf) not in (0, 2):
            raise DecodeError("state proof leaf must be [] or [path, value_hash]")
        for part in leaf:
            if not isinstance(part, bytes) or len(part) != HASH_LEN:
                raise DecodeError("state proof leaf path and value hash must be 32-byte hashes")
        return cls(tuple(siblings), (leaf[0], leaf[1]) if leaf else None)


def verify_proof(root: bytes, key: bytes, value: bytes | None, proof: SmtProof) -> bool:
    """True if `proof` shows that `key` maps to `value` under `root` (`value=None`: that `key` is absent)."""
    siblings = proof.siblings
    depth = len(siblings)
    if depth > PATH_BITS:
        return False
    path = key_path(key)
    path_int = int.from_bytes(path, "big")
    leaf = proof.leaf
    if value is not None:
        if leaf is None or leaf[0] != path or leaf[1] != blake2b_256(value):
            return False
        node = leaf_hash(*leaf)
    elif leaf is None:
        node = ZERO_HASH
    else:
        # The leaf found must be a different key in the very subtree our key would occupy; otherwise
        # a leaf from anywhere in the tree could "prove" absence.
        other = int.from_bytes(leaf[0], "big")
        if leaf[0] == path or len(leaf[0]) != HASH_LEN or (other ^ path_int) >> (PATH_BITS - depth) != 0:
            return False
        node = leaf_hash(*leaf)
    for i, sibling in enumerate(siblings):
        if (path_int >> (PATH_BITS - depth + i)) & 1:
            node = internal_hash(sibling, node)
        else:
            node = internal_hash(node, sibling)
    return node == root
