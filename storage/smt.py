"""The state tree: a compact sparse Merkle tree over 256-bit key paths, whose root goes in each block header.

Definition (the root depends only on the set of key/value pairs):

- the path of a key is blake2b_256(key), read most significant bit first; bit 0 goes left, 1 goes right;
- a leaf commits to blake2b_256(value) and sits at the shallowest depth where it is alone in its subtree;
- a subtree holding two or more leaves is an internal node, even when one side is empty, so that the
  depth of every leaf is implied by the hashes (the Diem / Jellyfish sparse Merkle tree);
- leaf hash = blake2b_256(b"\\x00" + path + value_hash); internal hash = blake2b_256(b"\\x01" + left + right),
  an empty side being ZERO_HASH; the empty tree's root is ZERO_HASH.

Because a leaf's hash does not depend on its depth, deleting a leaf's last neighbour just lifts the leaf.

A *prefix* (depth, index) is the subtree at `depth` whose paths begin with the `depth` bits of `index`; a position
of the tree is told by its (hash, kind), kind EMPTY, LEAF (one leaf below, lifted: its leaf hash) or INTERNAL
(`storage.tree_engine`). Warp sync moves a state as chunks, each every leaf of one prefix: `verify_prefix_chunk`
checks one against a state root from the siblings along the prefix's path, which a server reads from the levels of
its tree (`prefix_siblings` over `StateTree.positions`). A sibling that is a lone leaf beside an empty prefix does not
say on which side its leaf is, so such a chunk also carries that leaf (`lone_leaf_beside`). Or a client takes a whole
level checked against the root (`level_root`) and then each chunk against its position there (`verify_chunk_at`).

This module holds the definition, proofs and their check; `storage.state_tree` holds the live tree of a node.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import HASH_LEN, ZERO_HASH, blake2b_256
from storage.tree_engine import EMPTY, INTERNAL, LEAF, POSITION_LEN, join, subtree

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


# ---- prefixes: warp-sync chunks -------------------------------------------------------------------------------------

Node = tuple[bytes, int]
"""A position of the tree as (hash, kind): (ZERO_HASH, EMPTY), (leaf hash, LEAF) or (internal hash, INTERNAL)."""
KINDS = (EMPTY, LEAF, INTERNAL)


def _check_prefix(depth: int, index: int) -> None:
    if type(depth) is not int or type(index) is not int:
        raise TypeError("a prefix's depth and index must be ints")
    if not 0 <= depth <= PATH_BITS:
        raise ValueError(f"a prefix's depth is 0-{PATH_BITS}, got {depth}")
    if not 0 <= index < 1 << depth:
        raise ValueError(f"a prefix at depth {depth} has an index below 2**{depth}, got {index}")


def prefix_bounds(depth: int, index: int) -> tuple[bytes, bytes | None]:
    """The paths of prefix (depth, index): lo <= path < hi (hi None: to the last path)."""
    _check_prefix(depth, index)
    shift = PATH_BITS - depth
    lo = (index << shift).to_bytes(HASH_LEN, "big")
    end = (index + 1) << shift
    return lo, None if end >> PATH_BITS else end.to_bytes(HASH_LEN, "big")


def subtree_node(records: Sequence[tuple[bytes, bytes]], depth: int) -> Node:
    """(hash, kind) of the subtree at `depth` holding exactly `records`, (path, value_hash) pairs in strictly
    ascending path order that share their first `depth` bits: (ZERO_HASH, EMPTY) for none, a lone leaf's hash
    (LEAF) for one, else INTERNAL. ValueError for records that are not such."""
    if type(depth) is not int:
        raise TypeError("depth must be an int")
    if not 0 <= depth <= PATH_BITS:
        raise ValueError(f"depth is 0-{PATH_BITS}, got {depth}")
    flat: list[bytes] = []
    for path, value_hash in records:
        if type(path) is not bytes or type(value_hash) is not bytes:
            raise TypeError("records are (path, value_hash) pairs of bytes")
        if len(path) != HASH_LEN or len(value_hash) != HASH_LEN:
            raise ValueError("a record's path and value hash are 32 bytes each")
        if flat and flat[-1][:HASH_LEN] >= path:
            raise ValueError("records are not in strictly ascending path order")
        flat.append(path + value_hash)
    if flat and depth:
        shift = PATH_BITS - depth
        if int.from_bytes(flat[0][:HASH_LEN], "big") >> shift != int.from_bytes(flat[-1][:HASH_LEN], "big") >> shift:
            raise ValueError(f"records do not share their first {depth} bits")
    return subtree(flat, depth, 0, len(flat))


def _check_node(node: Any, what: str) -> Node:
    """A (hash, kind) pair as given, types checked (TypeError); its values are the caller's to judge."""
    if type(node) not in (tuple, list) or len(node) != 2:
        raise TypeError(f"{what} must be a (hash, kind) pair")
    h, kind = node
    if type(h) is not bytes or type(kind) is not int:
        raise TypeError(f"{what} must be a (hash, kind) pair of bytes and int")
    return h, kind


def _node_fault(node: Node) -> str | None:
    h, kind = node
    if len(h) != HASH_LEN:
        return "its hash is not 32 bytes"
    if kind not in KINDS:
        return f"its kind {kind} is none of 0 (empty), 1 (leaf), 2 (internal)"
    if (kind == EMPTY) != (h == ZERO_HASH):  # an empty position is the zero hash and nothing else
        return "an empty position's hash is the zero hash" if kind == EMPTY else "the zero hash is an empty position's"
    return None


def prefix_root(node: Node, depth: int, index: int, siblings: Sequence[Node]) -> bytes:
    """The root from the (hash, kind) of position (depth, index) and the `depth` siblings along its path, siblings[0]
    the sibling at `depth` and siblings[-1] the one at depth 1, joined as the tree joins them (a lone leaf beside an
    empty side is lifted). ValueError for a malformed node or sibling or a count of siblings other than `depth`."""
    _check_prefix(depth, index)
    node = _check_node(node, "node")
    if type(siblings) not in (list, tuple):
        raise TypeError("siblings must be a list of (hash, kind) pairs")
    if len(siblings) != depth:
        raise ValueError(f"a prefix at depth {depth} has {depth} siblings, got {len(siblings)}")
    h, kind = node
    fault = _node_fault(node)
    if fault is not None:
        raise ValueError(f"node: {fault}")
    for i, given in enumerate(siblings):
        sibling = _check_node(given, f"sibling {i}")
        fault = _node_fault(sibling)
        if fault is not None:
            raise ValueError(f"sibling {i}: {fault}")
        if (index >> i) & 1:
            h, kind = join(sibling[0], sibling[1], h, kind)
        else:
            h, kind = join(h, kind, sibling[0], sibling[1])
    return h


def lone_leaf_beside(depth: int, index: int, siblings: Sequence[Node]) -> tuple[int, int] | None:
    """The position (depth, index) whose one leaf an EMPTY prefix's chunk must carry, or None if it needs none.

    Up from an empty prefix, the first sibling that is not empty is joined with the empty side: if it is a lone leaf
    it is lifted, and its hash alone does not say on which side its leaf is, so that a chunk leaving out a prefix's
    only leaf would verify. The leaf's (key, value), whose path the verifier finds under that sibling, settles it."""
    _check_prefix(depth, index)
    for i, given in enumerate(siblings):
        kind = _check_node(given, f"sibling {i}")[1]
        if kind == LEAF:
            return depth - i, (index >> i) ^ 1
        if kind != EMPTY:
            return None
    return None


def _pair(entry: Any, what: str) -> tuple[bytes, bytes]:
    if type(entry) not in (tuple, list) or len(entry) != 2:
        raise TypeError(f"{what} must be a (key, value) pair")
    key, value = entry
    if type(key) is not bytes or type(value) is not bytes:
        raise TypeError(f"{what} must be a (key, value) pair of bytes")
    return key, value


def _chunk_node(depth: int, index: int, pairs: list[tuple[bytes, bytes]]) -> Node | str:
    """The (hash, kind) of prefix (depth, index) holding exactly these (key, value) pairs, or why they cannot be its
    leaves (a path outside it, or not above the one before)."""
    lo, hi = prefix_bounds(depth, index)
    records: list[bytes] = []
    last = b""
    for i, (key, value) in enumerate(pairs):
        path = key_path(key)
        if path < lo or (hi is not None and path >= hi):
            return f"entry {i} (path 0x{path.hex()}) is outside prefix {index} at depth {depth}"
        if path <= last:
            return f"entry {i} (path 0x{path.hex()}) is not above the one before in path order"
        last = path
        records.append(path + blake2b_256(value))
    return subtree(records, depth, 0, len(records))


def verify_prefix_chunk(
    root: bytes,
    depth: int,
    index: int,
    entries: Sequence[tuple[bytes, bytes]],
    siblings: Sequence[Node],
    lone_leaf: tuple[bytes, bytes] | None = None,
) -> str | None:
    """None if `entries` ((key, value) pairs, in ascending path order) are exactly the leaves of prefix (depth, index)
    of the tree whose root is `root`, shown by the `depth` siblings along its path (siblings[0] at `depth`, the last
    at depth 1: `prefix_siblings`); else why not. An empty chunk beside a lone leaf also carries that leaf's
    (key, value) as `lone_leaf` (`lone_leaf_beside` says when), and no other chunk does.

    For what a peer sent: any values give a reason, never an exception; only arguments of the wrong Python types (not
    bytes, ints, lists or tuples of the shapes above) raise TypeError. Sizes are the caller's to bound."""
    if type(root) is not bytes:
        raise TypeError("root must be bytes")
    if type(depth) is not int or type(index) is not int:
        raise TypeError("a prefix's depth and index must be ints")
    if type(entries) not in (list, tuple):
        raise TypeError("entries must be a list of (key, value) pairs")
    if type(siblings) not in (list, tuple):
        raise TypeError("siblings must be a list of (hash, kind) pairs")
    pairs = [_pair(entry, f"entry {i}") for i, entry in enumerate(entries)]
    nodes = [_check_node(sibling, f"sibling {i}") for i, sibling in enumerate(siblings)]
    lone = None if lone_leaf is None else _pair(lone_leaf, "the lone leaf")
    if len(root) != HASH_LEN:
        return "the root is not 32 bytes"
    if not 0 <= depth <= PATH_BITS:
        return f"depth {depth} is outside 0-{PATH_BITS}"
    if not 0 <= index < 1 << depth:
        return f"index {index} is outside the {1 << depth} prefixes at depth {depth}"
    if len(nodes) != depth:
        return f"a prefix at depth {depth} needs {depth} siblings, got {len(nodes)}"
    for i, sibling in enumerate(nodes):
        fault = _node_fault(sibling)
        if fault is not None:
            return f"sibling {i} (depth {depth - i}) is malformed: {fault}"
    node = _chunk_node(depth, index, pairs)
    if isinstance(node, str):
        return node
    beside = lone_leaf_beside(depth, index, nodes) if not pairs else None
    if beside is None:
        if lone is not None:
            return "a lone leaf was given where none is needed"
    else:
        if lone is None:
            return (f"the prefix is empty beside a lone leaf at depth {beside[0]}: its (key, value) is needed to show "
                    "that it is not in the prefix")
        lone_path = key_path(lone[0])
        lone_lo, lone_hi = prefix_bounds(*beside)
        if lone_path < lone_lo or (lone_hi is not None and lone_path >= lone_hi):
            return f"the lone leaf (path 0x{lone_path.hex()}) is not under its sibling at depth {beside[0]}"
        if leaf_hash(lone_path, blake2b_256(lone[1])) != nodes[depth - beside[0]][0]:
            return f"the lone leaf is not the one its sibling at depth {beside[0]} holds"
    if prefix_root(node, depth, index, nodes) != root:
        return "the entries and siblings do not give the state root"
    return None


def prefix_siblings(levels: Mapping[int, bytes] | Callable[[int], bytes], depth: int, index: int) -> list[Node]:
    """The siblings of prefix (depth, index), siblings[0] at `depth` and the last at depth 1, from the levels of a
    tree as `StateTree.positions` gives them (33 bytes a position: hash, kind), by depth (a mapping holding depths 1 to
    `depth`, or a function of the depth): what a server sends beside a chunk. ValueError for a level of the wrong
    size."""
    _check_prefix(depth, index)
    read = levels if callable(levels) else levels.__getitem__
    out: list[Node] = []
    for i in range(depth):
        level = depth - i
        raw = read(level)
        if type(raw) is not bytes:
            raise TypeError(f"level {level} must be bytes")
        if len(raw) != POSITION_LEN << level:
            raise ValueError(f"level {level} holds {len(raw)} bytes, not {POSITION_LEN << level} (33 a position)")
        at = ((index >> i) ^ 1) * POSITION_LEN
        out.append((raw[at : at + HASH_LEN], raw[at + HASH_LEN]))
    return out


def level_root(level: bytes, depth: int) -> bytes:
    """The root from every position of level `depth` (33 bytes each, left to right, as `StateTree.positions` gives
    them), joined up level by level. ValueError for a level of the wrong size or a malformed position.

    A client that takes a whole level (a *top*) because it gives the state root, and then each prefix's chunk because
    it gives the prefix's position (`verify_chunk_at`), holds the true state once every chunk has verified: a lone
    leaf beside an empty position lifts to the same root on either side, so a top may move one, but the chunk of the
    position it moved the leaf to can never verify (the leaf's hash binds its path)."""
    if type(level) is not bytes or type(depth) is not int:
        raise TypeError("a level is bytes and its depth an int")
    if not 0 <= depth <= PATH_BITS or len(level) != POSITION_LEN << depth:
        raise ValueError(f"a level at depth {depth} is {POSITION_LEN} bytes a position, 2**depth of them")
    nodes: list[Node] = [(level[at : at + HASH_LEN], level[at + HASH_LEN]) for at in range(0, len(level), POSITION_LEN)]
    for i, node in enumerate(nodes):
        fault = _node_fault(node)
        if fault is not None:
            raise ValueError(f"position {i} of level {depth} is malformed: {fault}")
    while len(nodes) > 1:
        nodes = [join(*nodes[i], *nodes[i + 1]) for i in range(0, len(nodes), 2)]
    return nodes[0][0]


def verify_chunk_at(node: Node, depth: int, index: int, entries: Sequence[tuple[bytes, bytes]]) -> str | None:
    """None if `entries` ((key, value) pairs in ascending path order) are exactly the leaves under position
    (depth, index) whose (hash, kind) is `node`, read from a level that `level_root` checked; else why not. For what a
    peer sent: TypeError only for arguments of the wrong Python types."""
    h, kind = _check_node(node, "node")
    if type(depth) is not int or type(index) is not int:
        raise TypeError("a prefix's depth and index must be ints")
    if type(entries) not in (list, tuple):
        raise TypeError("entries must be a list of (key, value) pairs")
    pairs = [_pair(entry, f"entry {i}") for i, entry in enumerate(entries)]
    if not 0 <= depth <= PATH_BITS or not 0 <= index < 1 << depth:
        return f"there is no prefix {index} at depth {depth}"
    found = _chunk_node(depth, index, pairs)
    if isinstance(found, str):
        return found
    if found != (h, kind):
        return f"the entries do not give position {index} of level {depth}"
    return None
