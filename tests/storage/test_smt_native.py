"""The compiled state-tree update against the Python one it must equal: the same root, the same new nodes, the same
cache afterwards (contents and depth limit), the same errors; and attempts to make it differ (damaged nodes, wrong
types, long shared prefixes, a cache over its budget, pending nodes)."""

from __future__ import annotations

import hashlib
import os
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import storage.smt as smt
from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from storage.smt import EMPTY_ROOT, SparseMerkleTree

from .test_smt import SETTINGS, keys, reference_root, values

pytestmark = pytest.mark.skipif(not smt.NATIVE_UPDATE, reason="the compiled update is not built here")

changes_st = st.dictionaries(keys, st.one_of(st.none(), values), max_size=30)


class Pair:
    """The same store under two trees, one per update, checked against each other after every update."""

    def __init__(self, cache_size: int) -> None:
        self.store: dict[bytes, bytes] = {}
        self.native = SparseMerkleTree(self.store.get, cache_size=cache_size, native=True)
        self.python = SparseMerkleTree(self.store.get, cache_size=cache_size, native=False)

    def update(self, root: bytes, changes: dict[bytes, bytes | None]) -> bytes:
        a_root, a_nodes = self.native.update(root, changes)
        b_root, b_nodes = self.python.update(root, changes)
        assert a_root == b_root
        assert a_nodes == b_nodes
        assert self.native._cache.nodes == self.python._cache.nodes  # noqa: SLF001
        assert self.native.cache_depth_limit == self.python.cache_depth_limit
        self.store.update(a_nodes)
        return a_root


def test_the_compiled_hash_is_blake2b_256() -> None:
    for size in (0, 1, 31, 32, 65, 127, 128, 129, 256, 1000):
        data = os.urandom(size)
        assert smt._native.blake2b_256(data) == hashlib.blake2b(data, digest_size=32).digest()  # noqa: SLF001


@SETTINGS
@given(st.lists(changes_st, min_size=1, max_size=6), st.sampled_from([0, 1, 3, 8, 40, 200_000]))
def test_native_equals_python_update_for_update(batches: list[dict[bytes, bytes | None]], cache_size: int) -> None:
    pair = Pair(cache_size)
    root = EMPTY_ROOT
    state: dict[bytes, bytes] = {}
    for changes in batches:
        if root == EMPTY_ROOT:
            set_only = {k: v for k, v in changes.items() if v is not None}
            root = pair.update(root, set_only)
            state.update(set_only)
            continue
        root = pair.update(root, changes)
        apply(state, changes)
        assert root == reference_root(state)


def apply(state: dict[bytes, bytes], changes: dict[bytes, bytes | None]) -> None:
    """The reference: `changes` applied to a plain dict (None deletes)."""
    for k, v in changes.items():
        if v is None:
            state.pop(k, None)
        else:
            state[k] = v


def test_a_large_tree_over_the_cache_budget() -> None:
    """Thousands of keys, a budget that cuts the tree by depth, updates that insert, change and delete."""
    rng = random.Random(7)
    pair = Pair(cache_size=500)
    state = {b"k%d" % i: b"v%d" % i for i in range(3000)}
    root = pair.update(EMPTY_ROOT, dict(state))
    for _ in range(6):
        changes: dict[bytes, bytes | None] = {}
        for _ in range(300):
            k = b"k%d" % rng.randrange(4000)
            changes[k] = None if rng.random() < 0.3 else b"w%d" % rng.randrange(10**6)
        root = pair.update(root, changes)
        apply(state, changes)
    assert root == reference_root(state)
    assert pair.native.cache_depth_limit < smt.PATH_BITS + 1, "the budget cut the tree"


def grind_prefix(bits: int, count: int, tag: bytes) -> list[bytes]:
    """Keys whose paths share their first `bits` bits: the deep, one-sided chains an attacker can grind."""
    found: list[bytes] = []
    want = None
    i = 0
    while len(found) < count:
        key = tag + i.to_bytes(8, "big")
        i += 1
        top = int.from_bytes(blake2b_256(key)[:4], "big") >> (32 - bits)
        if want is None:
            want = top
        if top == want:
            found.append(key)
    return found


def test_ground_keys_sharing_long_prefixes() -> None:
    pair = Pair(cache_size=200_000)
    base = {b"a%d" % i: b"x" for i in range(50)}
    root = pair.update(EMPTY_ROOT, base)
    ground = grind_prefix(14, 4, b"g")
    root = pair.update(root, {k: b"1" for k in ground})
    root = pair.update(root, {ground[0]: None, ground[1]: b"2"})
    root = pair.update(root, {ground[2]: None, ground[3]: None, ground[1]: None})
    assert root == reference_root(base)


def test_pending_nodes_chain_updates_before_they_are_stored() -> None:
    store: dict[bytes, bytes] = {}
    results = []
    for native in (True, False):
        tree = SparseMerkleTree(store.get, cache_size=0, native=native)
        root, nodes = tree.update(EMPTY_ROOT, {b"a": b"1", b"b": b"2", b"c": b"3"})
        second, more = tree.update(root, {b"a": b"9", b"d": b"4"}, pending=nodes)
        results.append((root, nodes, second, more))
    assert results[0] == results[1]
    assert store == {}, "nothing was written"


@pytest.mark.parametrize("native", [True, False])
def test_a_missing_node_raises_storage_error_and_changes_nothing_stored(native: bool) -> None:
    store: dict[bytes, bytes] = {}
    root, nodes = SparseMerkleTree(store.get, cache_size=0).update(EMPTY_ROOT, {b"k%d" % i: b"v" for i in range(20)})
    store.update(nodes)
    victim = next(h for h, enc in nodes.items() if enc[0] == 1 and h != root)
    del store[victim]
    before = dict(store)
    tree = SparseMerkleTree(store.get, cache_size=0, native=native)
    with pytest.raises(StorageError, match=f"{victim.hex()} missing"):
        tree.update(root, {b"k%d" % i: b"w" for i in range(20)})
    assert store == before


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("damage", [b"\x05" + bytes(64), b"\x01" + bytes(10), b""])
def test_a_malformed_node_raises_storage_error(native: bool, damage: bytes) -> None:
    store: dict[bytes, bytes] = {}
    root, nodes = SparseMerkleTree(store.get, cache_size=0).update(EMPTY_ROOT, {b"k%d" % i: b"v" for i in range(20)})
    store.update(nodes)
    store[root] = damage
    tree = SparseMerkleTree(store.get, cache_size=0, native=native)
    with pytest.raises(StorageError, match="malformed|missing"):
        tree.update(root, {b"k1": b"new"})


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize(
    ("changes", "message"),
    [({"text": b"v"}, "state keys must be bytes"), ({b"k": "text"}, "state values must be bytes or None"),
     ({b"k": bytearray(b"v")}, "state values must be bytes or None"), ({1: b"v"}, "state keys must be bytes")],
)
def test_wrong_types_are_refused_alike(native: bool, changes: dict, message: str) -> None:
    store: dict[bytes, bytes] = {}
    root, nodes = SparseMerkleTree(store.get, cache_size=0).update(EMPTY_ROOT, {b"a": b"1", b"b": b"2"})
    store.update(nodes)
    tree = SparseMerkleTree(store.get, native=native)
    with pytest.raises(TypeError, match=message):
        tree.update(root, changes)


def test_a_cached_entry_that_is_not_a_node_is_read_from_the_store() -> None:
    """The cache's filler keys (33 bytes, empty values) and an emptied entry never stand in for a node."""
    store: dict[bytes, bytes] = {}
    tree = SparseMerkleTree(store.get, cache_size=1000, native=True)
    root, nodes = tree.update(EMPTY_ROOT, {b"k%d" % i: b"v" for i in range(40)})
    store.update(nodes)
    tree._cache.nodes[root] = b""  # noqa: SLF001 - an entry that would lie if trusted
    new_root, _ = tree.update(root, {b"k1": b"changed"})
    expected, _ = SparseMerkleTree(store.get, cache_size=0, native=False).update(root, {b"k1": b"changed"})
    assert new_root == expected


def test_the_empty_root_and_an_empty_batch() -> None:
    tree = SparseMerkleTree({}.get, native=True)
    assert tree.update(EMPTY_ROOT, {}) == (EMPTY_ROOT, {})
    root, nodes = tree.update(EMPTY_ROOT, {b"a": None})
    assert root == ZERO_HASH and nodes == {}


@pytest.mark.parametrize("compiled", [True, False])
def test_tree_nodes_go_into_a_commit_batch_under_their_prefix(compiled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from storage import schema

    if not compiled:
        monkeypatch.setattr(schema, "_put_prefixed", None)
    nodes = {blake2b_256(b"%d" % i): b"\x01" + bytes(64) for i in range(100)}
    puts = {b"other": b"x"}
    schema.put_trie_nodes(puts, nodes)
    assert puts == {b"other": b"x", **{schema.trie_node_key(h): enc for h, enc in nodes.items()}}
    with pytest.raises(TypeError):
        schema.put_trie_nodes({}, {"text": b"x"})  # type: ignore[dict-item]
