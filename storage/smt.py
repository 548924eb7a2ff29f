"""The state tree: a compact sparse Merkle tree over 256-bit key paths, whose root goes in each block header.

Definition (the root depends only on the set of key/value pairs):

- the path of a key is blake2b_256(key), read most significant bit first; bit 0 goes left, 1 goes right;
- a leaf commits to blake2b_256(value) and sits at the shallowest depth where it is alone in its subtree;
- a subtree holding two or more leaves is an internal node, even when one side is empty, so that the
  depth of every leaf is implied by the hashes (the Diem / Jellyfish sparse Merkle tree);
- leaf hash = blake2b_256(b"\\x00" + path + value_hash); internal hash = blake2b_256(b"\\x01" + left + right),
  an empty side being ZERO_HASH; the empty tree's root is ZERO_HASH.

Because a leaf's hash does not depend on its depth, deleting a leaf's last neighbour just lifts the leaf.

Nodes are content-addressed and stored as `{node_hash: encoding}`, where the encoding is exactly the bytes
that are hashed (65 bytes either way), so `node_hash == blake2b_256(encoding)`. The tree never deletes a
node: every root ever returned stays readable and provable for as long as the caller keeps its nodes.
"""

from __future__ import annotations

import hashlib
import sys
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from btt_chain.primitives.errors import DecodeError, StorageError
from btt_chain.primitives.hashing import HASH_LEN, ZERO_HASH, blake2b_256
from storage.smt_build import NODE_LEN, PATH_BITS, build_nodes

try:  # the batch update compiled (storage/_smt_native.c): the same tree, a fraction of the CPU
    from storage import _smt_native as _native  # type: ignore[attr-defined]
except ImportError:  # built without a C compiler: the Python update below, which defines what the native one does
    _native = None

NATIVE_UPDATE = _native is not None
"""Whether updates run compiled (`btt-chain bench import` prints it as `state_tree_update`)."""

EMPTY_ROOT = ZERO_HASH
"""Root of the tree with no keys."""
LEAF_TAG = 0
INTERNAL_TAG = 1

_H32 = hashlib.blake2b(digest_size=HASH_LEN)
"""Copied per hash in hot loops: cheaper than constructing a hasher with keyword arguments each time."""


def leaf_hash(path: bytes, value_hash: bytes) -> bytes:
    return blake2b_256(b"\x00" + path + value_hash)


def internal_hash(left: bytes, right: bytes) -> bytes:
    return blake2b_256(b"\x01" + left + right)


def key_path(key: bytes) -> bytes:
    """Where `key` lives in the tree."""
    return blake2b_256(key)


TRIM_TO = 0.9
"""A cache over its budget keeps the top levels of the live tree that fill at most this share of it."""


class _NodeCache:
    """A bounded map of state-tree nodes that holds the top of the live tree (the one under the newest root): all
    of it while it fits, else every level above `depth_limit` and nothing below.

    An update replaces every node on the paths it changes, so rather than tracking recency per node (an
    OrderedDict LRU costs more per hit than the hash it saves) an update takes the nodes it walks out of
    the cache, puts back the few that survive, and adds the ones it made above the depth limit. With room for
    the whole live tree, every read an update makes is then a hit once the tree has been touched or `warm`ed.

    A tree bigger than the budget (ten million accounts: ~24 million nodes) is cut by depth, not by recency: the
    levels a path crosses near the top are shared by every change, so they stay; the first time the cache goes
    over its budget, it keeps the levels from the root down that fill at most TRIM_TO of it and from then on
    caches no node below them. An update then reads from the store only the few nodes of each changed path below
    `depth_limit`: about log2(accounts) - log2(budget) of them, a number that grows with the log of the state.

    Every entry maps a node's hash to the bytes that hash to it, so no entry can be stale: a node's content never
    changes. At most `size` nodes are held (0 disables the cache).
    """

    __slots__ = ("nodes", "_size", "depth_limit")

    def __init__(self, size: int) -> None:
        self._size = max(0, size)
        self.nodes: dict[bytes, bytes] = {}
        self.depth_limit = PATH_BITS + 1 if self._size else 0
        """Nodes at this depth or deeper are not cached (PATH_BITS + 1: no limit yet)."""

    @property
    def size(self) -> int:
        return self._size

    def put(self, node_hash: bytes, enc: bytes, depth: int) -> None:
        if depth < self.depth_limit and len(self.nodes) < self._size:
            self.nodes[node_hash] = enc

    def settle(self, root: bytes) -> None:
        """After an update to `root`: over the budget, keep only the top levels of the tree under it that fit."""
        if len(self.nodes) <= self._size:
            return
        nodes = self.nodes
        kept: dict[bytes, bytes] = {}
        level = [root] if root != ZERO_HASH else []
        depth = 0
        room = int(self._size * TRIM_TO)
        while level and depth < self.depth_limit:
            found = [(h, nodes[h]) for h in level if h in nodes]
            if len(kept) + len(found) > room:
                break
            kept.update(found)
            level = [c for _, enc in found if enc[0] == INTERNAL_TAG for c in (enc[1:33], enc[33:]) if c != ZERO_HASH]
            depth += 1
        self.depth_limit = depth
        self.nodes = kept

    def __len__(self) -> int:
        return len(self.nodes)

    def make_room(self) -> None:
        """Have CPython grow the dict's table now instead of in the middle of a block: every update pops and adds
        tens of thousands of nodes, and a dict whose free slots run out is rebuilt (~0.3 s at 2.4M nodes). Filler
        keys (33 bytes: never a node hash) are added until the table grows, then removed; the grown table has room
        for about as many updates again as the tree holds nodes."""
        nodes = self.nodes
        if not nodes:
            return
        before = sys.getsizeof(nodes)
        filler = 0
        while sys.getsizeof(nodes) == before and filler <= len(nodes):
            for _ in range(1024):
                nodes[b"\xff" + filler.to_bytes(32, "big")] = b""
                filler += 1
        for i in range(filler):
            del nodes[b"\xff" + i.to_bytes(32, "big")]


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


class SparseMerkleTree:
    """Reads and updates trees stored as content-addressed nodes; holds no root of its own.

    `get_node(hash)` returns a node's encoding or None. The cache in front of it is only a cache: an
    update may drop any node from it, so persist an update's new nodes before reading or updating from
    its new root. Run one update at a time.
    """

    def __init__(
        self, get_node: Callable[[bytes], bytes | None], cache_size: int = 200_000, native: bool | None = None
    ) -> None:
        """`native`: use the compiled update (None: when it is built; False: the Python one, which tests compare it
        with)."""
        if native and _native is None:
            raise StorageError("the compiled state-tree update is not built (reinstall with a C compiler)")
        self._get_node = get_node
        self._cache = _NodeCache(cache_size)
        self._native = _native if native is None or native else None

    @property
    def native(self) -> bool:
        return self._native is not None

    def _fetch(self, node_hash: bytes) -> bytes:
        """Read a node from the store, bypassing the cache."""
        enc = self._get_node(node_hash)
        if enc is None:
            raise StorageError(f"state tree node {node_hash.hex()} missing: database damaged or pruned")
        if len(enc) != NODE_LEN or enc[0] > INTERNAL_TAG:
            raise StorageError(f"state tree node {node_hash.hex()} is malformed: database damaged")
        return enc

    def _load(self, node_hash: bytes, depth: int) -> bytes:
        """Read a node through the cache, keeping it there: for reads, which tend to revisit nodes."""
        enc = self._cache.nodes.get(node_hash)
        if enc is None:
            enc = self._fetch(node_hash)
            self._cache.put(node_hash, enc, depth)
        return enc

    @property
    def cache_depth_limit(self) -> int:
        """Nodes this deep or deeper are read from the store (PATH_BITS + 1: the whole tree is cached)."""
        return self._cache.depth_limit

    def cached_nodes(self) -> int:
        return len(self._cache)

    def warm(self, root: bytes) -> int:
        """Load the tree under `root` into the cache, top levels first, as many whole levels as fit (all of them if
        the tree does); return how many nodes were read. Optional: for a node starting up."""
        cache = self._cache
        level = [root] if root != ZERO_HASH else []
        loaded = 0
        depth = 0
        while level:
            if depth >= cache.depth_limit:
                break
            if len(cache) + len(level) > cache.size:
                cache.depth_limit = depth  # whole levels only: a part of one would be dropped by the next trim
                break
            below: list[bytes] = []
            for node_hash in level:
                enc = self._load(node_hash, depth)
                loaded += 1
                if enc[0] == INTERNAL_TAG:
                    below.extend(child for child in (enc[1:33], enc[33:]) if child != ZERO_HASH)
            level = below
            depth += 1
        cache.make_room()
        return loaded

    def get_value_hash(self, root: bytes, key: bytes) -> bytes | None:
        """blake2b_256 of the value stored under `key` in the tree at `root`, or None if absent."""
        path = key_path(key)
        path_int = int.from_bytes(path, "big")
        node = root
        shift = PATH_BITS - 1
        while node != ZERO_HASH:
            enc = self._load(node, PATH_BITS - 1 - shift)
            if enc[0] == LEAF_TAG:
                return enc[33:] if enc[1:33] == path else None
            node = enc[33:] if (path_int >> shift) & 1 else enc[1:33]
            shift -= 1
        return None

    def prove(self, root: bytes, key: bytes) -> SmtProof:
        """A proof of the value of `key` under `root`, or of its absence; check it with `verify_proof`."""
        path = key_path(key)
        path_int = int.from_bytes(path, "big")
        siblings: list[bytes] = []
        leaf: tuple[bytes, bytes] | None = None
        node = root
        shift = PATH_BITS - 1
        while node != ZERO_HASH:
            enc = self._load(node, PATH_BITS - 1 - shift)
            if enc[0] == LEAF_TAG:
                leaf = (enc[1:33], enc[33:])
                break
            if (path_int >> shift) & 1:
                siblings.append(enc[1:33])
                node = enc[33:]
            else:
                siblings.append(enc[33:])
                node = enc[1:33]
            shift -= 1
        siblings.reverse()
        return SmtProof(tuple(siblings), leaf)

    def update(
        self, root: bytes, changes: Mapping[bytes, bytes | None], pending: Mapping[bytes, bytes] | None = None
    ) -> tuple[bytes, dict[bytes, bytes]]:
        """Apply key->value changes (None = delete) to the tree at `root`.

        Returns (new_root, new_nodes), new_nodes mapping node hash -> encoding for the caller to persist
        (under schema.trie_node_key) atomically with whatever else the block writes. Nothing persistent is
        touched and `changes` is only read. Deleting an absent key and re-setting a key to its current
        value are no-ops, so an update that changes nothing returns `root` (and usually no nodes).

        `pending` holds nodes not persisted yet that `root` may reference: to chain updates before one
        atomic write (executing a branch of several blocks), pass the new_nodes of the earlier ones
        merged. Without it, `root` must be persisted: the cache cannot be relied on to still hold them.

        The changed paths are sorted and the batch is split by bit on the way down, so every node above the
        changes is loaded and hashed once per batch: the cost is about len(changes) * log2(state size).
        """
        if len(root) != HASH_LEN:
            raise ValueError("state root must be 32 bytes")
        if not changes:
            return root, {}
        if root == EMPTY_ROOT:
            fresh_root, fresh_nodes = build_nodes(changes)  # the whole tree in one pass over the sorted leaves
            if len(self._cache) + len(fresh_nodes) <= self._cache.size:
                self._cache.nodes.update(fresh_nodes)  # else the next reads fill it, top levels first
            return fresh_root, fresh_nodes
        fetch = self._fetch
        if pending:
            store_fetch = self._fetch

            def fetch(node_hash: bytes) -> bytes:
                enc = pending.get(node_hash)
                return store_fetch(node_hash) if enc is None else enc

        cache = self._cache
        if self._native is not None:
            native_root: bytes
            native_nodes: dict[bytes, bytes]
            native_root, native_nodes = self._native.update(
                cache.nodes, cache.depth_limit, fetch, root, changes if type(changes) is dict else dict(changes)
            )
            cache.settle(native_root)
            return native_root, native_nodes
        entries: list[tuple[int, bytes, bytes | None]] = []
        for key, value in changes.items():
            if type(key) is not bytes:
                raise TypeError(f"state keys must be bytes, got {type(key).__name__}")
            if value is not None and type(value) is not bytes:
                raise TypeError(f"state values must be bytes or None, got {type(value).__name__}")
            hasher = _H32.copy()
            hasher.update(key)
            path = hasher.digest()
            if value is None:
                entries.append((int.from_bytes(path, "big"), path, None))
            else:
                hasher = _H32.copy()
                hasher.update(value)
                entries.append((int.from_bytes(path, "big"), path, hasher.digest()))
        entries.sort(key=_first)
        new_nodes: dict[bytes, bytes] = {}
        new_root = _Batch(cache.nodes, cache.depth_limit, self._get_node, fetch, entries, new_nodes).update(root)
        cache.settle(new_root)
        return new_root, new_nodes


def _first(entry: tuple[int, bytes, bytes | None]) -> int:
    return entry[0]


def _parting_depth(a_int: int, b_int: int) -> int:
    """The depth of the node where two different paths part (their leaves sit one deeper)."""
    return PATH_BITS - (a_int ^ b_int).bit_length()


class _Batch:
    """One update: the sorted changes, and the nodes made so far. Subtrees are returned as (hash, is_leaf).

    A batch range [lo, hi) always holds the changes under the node being visited, so they share its
    prefix and splitting them by the next bit is one bisection on the sorted path integers. Below the top
    levels nearly every range holds one change, which `_visit_one` handles with a loop instead of recursion.

    Nodes on a changed path are taken out of the cache as they are read (they are about to be replaced;
    one dict operation instead of a lookup now and a removal later) and put back if they turn out to
    survive: unchanged subtrees, leaves moved down by an insert. New nodes go into the cache as they are made.
    Nodes at `limit` depth or deeper are neither put back nor added (the cache's depth limit).
    """

    __slots__ = ("_cache", "_limit", "_get_node", "_fetch", "_ints", "_paths", "_values", "_new")

    def __init__(
        self,
        cache: dict[bytes, bytes],
        limit: int,
        get_node: Callable[[bytes], bytes | None],
        fetch: Callable[[bytes], bytes],
        entries: Sequence[tuple[int, bytes, bytes | None]],
        new: dict[bytes, bytes],
    ) -> None:
        self._cache = cache
        self._limit = limit
        self._get_node = get_node  # the raw store read, for the hot loop; `fetch` checks and explains
        self._fetch = fetch
        self._ints = [e[0] for e in entries]
        self._paths = [e[1] for e in entries]
        self._values = [e[2] for e in entries]
        self._new = new

    def update(self, root: bytes) -> bytes:
        return self._visit(root, 0, 0, len(self._ints))[0]

    def _load(self, node_hash: bytes) -> bytes:
        """Read a node that stays in the tree."""
        return self._cache.get(node_hash) or self._fetch(node_hash)

    def _take(self, node_hash: bytes) -> bytes:
        """Read a node that is probably about to be replaced."""
        return self._cache.pop(node_hash, None) or self._fetch(node_hash)

    def _node(self, enc: bytes, depth: int) -> bytes:
        """Hash a new node that sits at `depth`, keeping it for the caller to persist (and cached above the limit)."""
        hasher = _H32.copy()
        hasher.update(enc)
        node_hash = hasher.digest()
        self._new[node_hash] = enc
        if depth < self._limit:
            self._cache[node_hash] = enc
        return node_hash

    def _keep(self, node_hash: bytes, enc: bytes, depth: int) -> None:
        """Put back a node taken from the cache that stays in the tree, at `depth`."""
        if depth < self._limit:
            self._cache[node_hash] = enc

    def _join(
        self, depth: int, left: bytes, left_leaf: bool | None, right: bytes, right_leaf: bool | None
    ) -> tuple[bytes, bool]:
        """The subtree at `depth` with these two children, kept canonical: fewer than two leaves is never internal.

        `None` means "unchanged, kind not known"; it is looked up only when the other side is empty.
        """
        if left == ZERO_HASH:
            if right == ZERO_HASH:
                return ZERO_HASH, False
            if right_leaf is None:
                right_leaf = self._load(right)[0] == LEAF_TAG
            if right_leaf:
                return right, True
        elif right == ZERO_HASH:
            if left_leaf is None:
                left_leaf = self._load(left)[0] == LEAF_TAG
            if left_leaf:
                return left, True
        return self._node(b"\x01" + left + right, depth), False

    def _visit(self, node: bytes, depth: int, lo: int, hi: int) -> tuple[bytes, bool]:
        """Apply changes [lo, hi) to the existing subtree `node` at `depth`."""
        if hi - lo == 1:
            return self._visit_one(node, depth, lo)
        if node == ZERO_HASH:
            return self._build(depth, lo, hi, None)
        enc = self._take(node)
        ints = self._ints
        if enc[0] == LEAF_TAG:
            leaf_int = int.from_bytes(enc[1:33], "big")
            i = bisect_left(ints, leaf_int, lo, hi)
            if i < hi and ints[i] == leaf_int:
                # The batch rewrites (or deletes) this very leaf.
                return self._build(depth, lo, hi, None)
            return self._build(depth, lo, hi, (leaf_int, node, enc))  # kept in the cache where it lands
        left = enc[1:33]
        right = enc[33:]
        shift = PATH_BITS - 1 - depth
        mid = bisect_left(ints, ((ints[lo] >> shift) | 1) << shift, lo, hi)
        new_left, left_leaf = self._visit(left, depth + 1, lo, mid) if mid > lo else (left, None)
        new_right, right_leaf = self._visit(right, depth + 1, mid, hi) if hi > mid else (right, None)
        if new_left == left and new_right == right:
            self._keep(node, enc, depth)
            return node, False
        if new_left != ZERO_HASH and new_right != ZERO_HASH:
            # Both sides still hold leaves: the usual case, with no canonical-form question to ask.
            enc = b"\x01" + new_left + new_right
            hasher = _H32.copy()
            hasher.update(enc)
            node = hasher.digest()
            self._new[node] = enc
            if depth < self._limit:
                self._cache[node] = enc
            return node, False
        return self._join(depth, new_left, left_leaf, new_right, right_leaf)

    def _visit_one(self, node: bytes, depth: int, i: int) -> tuple[bytes, bool]:
        """Apply the single change i to the existing subtree `node` at `depth`: walk down, then rehash up."""
        path_int = self._ints[i]
        take = self._cache.pop
        get_node = self._get_node
        path_nodes: list[bytes] = []  # encodings of the internal nodes walked through, top first
        shift = PATH_BITS - 1 - depth
        cur = node
        while cur != ZERO_HASH:
            enc = take(cur, None)
            if enc is None:
                enc = get_node(cur)
                if enc is None or len(enc) != NODE_LEN or enc[0] > INTERNAL_TAG:
                    enc = self._fetch(cur)  # raises, naming the node
            if enc[0] == LEAF_TAG:
                break
            path_nodes.append(enc)
            cur = enc[33:] if (path_int >> shift) & 1 else enc[1:33]
            shift -= 1
        else:
            enc = b""
        bottom = depth + len(path_nodes)
        value_hash = self._values[i]
        if not enc:
            # An empty subtree: an insert makes a leaf there, a delete of an absent key changes nothing.
            if value_hash is None:
                self._restore(node, depth, path_int, path_nodes)
                return node, False
            new, new_leaf = self._node(b"\x00" + self._paths[i] + value_hash, bottom), True
        elif enc[1:33] == self._paths[i]:
            if value_hash is None:
                new, new_leaf = ZERO_HASH, False
            elif enc[33:] == value_hash:
                self._keep(cur, enc, bottom)
                self._restore(node, depth, path_int, path_nodes)
                return node, not path_nodes
            else:
                new, new_leaf = self._node(b"\x00" + self._paths[i] + value_hash, bottom), True
        else:
            # Another key's leaf holds the spot: it stays in the tree, moved down if this change inserts.
            if value_hash is None:
                self._keep(cur, enc, bottom)
                self._restore(node, depth, path_int, path_nodes)
                return node, not path_nodes
            other = int.from_bytes(enc[1:33], "big")
            leaves_at = _parting_depth(path_int, other) + 1
            self._keep(cur, enc, leaves_at)
            leaf = self._node(b"\x00" + self._paths[i] + value_hash, leaves_at)
            new = self._pair(bottom, path_int, leaf, other, cur)
            new_leaf = False
        new_map = self._new
        cache = self._cache
        top_limit = PATH_BITS - self._limit  # a parent is cached when its depth, PATH_BITS - shift below, is above it
        shift = PATH_BITS - bottom
        for parent in reversed(path_nodes):
            go_right = (path_int >> shift) & 1
            shift += 1
            sibling = parent[1:33] if go_right else parent[33:]
            if sibling == ZERO_HASH:
                # This node exists only while our side holds two leaves; otherwise what is left moves up.
                if new_leaf or new == ZERO_HASH:
                    continue
            elif new == ZERO_HASH and self._load(sibling)[0] == LEAF_TAG:
                new, new_leaf = sibling, True
                continue
            enc = b"\x01" + sibling + new if go_right else b"\x01" + new + sibling
            hasher = _H32.copy()
            hasher.update(enc)
            new = hasher.digest()
            new_map[new] = enc
            if shift > top_limit:
                cache[new] = enc
            new_leaf = False
        return new, new_leaf

    def _restore(self, node: bytes, depth: int, path_int: int, path_nodes: list[bytes]) -> None:
        """Put back the internal nodes `_visit_one` took on a path that turned out unchanged."""
        cache = self._cache
        shift = PATH_BITS - 1 - depth
        for enc in path_nodes[: max(0, self._limit - depth)]:
            cache[node] = enc
            node = enc[33:] if (path_int >> shift) & 1 else enc[1:33]
            shift -= 1

    def _build(self, depth: int, lo: int, hi: int, extra: tuple[int, bytes, bytes] | None) -> tuple[bytes, bool]:
        """The subtree at `depth` holding the changes [lo, hi) that set a value plus, if given, the
        existing leaf `extra` = (path as int, leaf hash, encoding) that none of the changes touch.

        Leaves are cached at the depth where they are placed here; `_join` may yet lift one, never lower it, so a
        cached node is never below the cache's depth limit."""
        n = hi - lo
        if n == 1:
            value_hash = self._values[lo]
            if value_hash is None:
                if extra is None:
                    return ZERO_HASH, False
                self._keep(extra[1], extra[2], depth)
                return extra[1], True
            if extra is None:
                return self._node(b"\x00" + self._paths[lo] + value_hash, depth), True
            leaves_at = _parting_depth(self._ints[lo], extra[0]) + 1
            self._keep(extra[1], extra[2], leaves_at)
            leaf = self._node(b"\x00" + self._paths[lo] + value_hash, leaves_at)
            return self._pair(depth, self._ints[lo], leaf, extra[0], extra[1]), False
        if n == 0:
            if extra is None:
                return ZERO_HASH, False
            self._keep(extra[1], extra[2], depth)
            return extra[1], True
        ints = self._ints
        shift = PATH_BITS - 1 - depth
        split = ((ints[lo] >> shift) | 1) << shift
        mid = bisect_left(ints, split, lo, hi)
        # `extra` shares this subtree's prefix, so comparing with the split point reads its bit at `depth`.
        if extra is None:
            left, left_leaf = self._build(depth + 1, lo, mid, None)
            right, right_leaf = self._build(depth + 1, mid, hi, None)
        elif extra[0] >= split:
            left, left_leaf = self._build(depth + 1, lo, mid, None)
            right, right_leaf = self._build(depth + 1, mid, hi, extra)
        else:
            left, left_leaf = self._build(depth + 1, lo, mid, extra)
            right, right_leaf = self._build(depth + 1, mid, hi, None)
        return self._join(depth, left, left_leaf, right, right_leaf)

    def _pair(self, depth: int, a_int: int, a_hash: bytes, b_int: int, b_hash: bytes) -> bytes:
        """The subtree at `depth` holding exactly two leaves: a node where their paths part, under a chain of
        one-sided internal nodes down from `depth` (usually none or one for random paths)."""
        split_depth = _parting_depth(a_int, b_int)
        if (a_int >> (PATH_BITS - 1 - split_depth)) & 1:
            node = self._node(b"\x01" + b_hash + a_hash, split_depth)
        else:
            node = self._node(b"\x01" + a_hash + b_hash, split_depth)
        for d in range(split_depth - 1, depth - 1, -1):
            if (a_int >> (PATH_BITS - 1 - d)) & 1:
                node = self._node(b"\x01" + ZERO_HASH + node, d)
            else:
                node = self._node(b"\x01" + node + ZERO_HASH, d)
        return node
