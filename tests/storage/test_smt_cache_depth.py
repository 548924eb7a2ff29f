"""The state tree's node cache on a tree bigger than its budget: it keeps the top levels of the live tree and
nothing below them, stays within its budget, reads from the store only below its depth limit, and can never serve
a node that is not the one asked for."""

from __future__ import annotations

import random

from hypothesis import example, given
from hypothesis import strategies as st

from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from storage.smt import EMPTY_ROOT, PATH_BITS, SparseMerkleTree

from .test_smt import SETTINGS, keys, live_nodes, reference_root, values
from .tree_impls import tree_update_impl  # noqa: F401 - every test runs on both updates


class CountingStore(dict[bytes, bytes]):
    """A node store that counts the reads that reach it."""

    reads = 0

    def read(self, node_hash: bytes) -> bytes | None:
        self.reads += 1
        return self.get(node_hash)


def depths(nodes: dict[bytes, bytes], root: bytes) -> dict[bytes, int]:
    found: dict[bytes, int] = {}
    level, depth = [root], 0
    while level:
        below = []
        for h in level:
            found[h] = depth
            enc = nodes[h]
            if enc[0] == 1:
                below += [c for c in (enc[1:33], enc[33:]) if c != ZERO_HASH]
        level, depth = below, depth + 1
    return found


def grown(accounts: int, cache_size: int) -> tuple[CountingStore, SparseMerkleTree, bytes, dict[bytes, bytes]]:
    store = CountingStore()
    tree = SparseMerkleTree(store.read, cache_size=cache_size)
    state = {b"acct%d" % i: b"balance%d" % i for i in range(accounts)}
    root, nodes = SparseMerkleTree(store.get, cache_size=0).update(EMPTY_ROOT, state)
    store.update(nodes)
    return store, tree, root, state


def assert_cache_is_the_top_of(tree: SparseMerkleTree, store: CountingStore, root: bytes, budget: int) -> None:
    cached = tree._cache.nodes  # noqa: SLF001 - the property under test
    at = depths(store, root)
    assert len(cached) <= budget
    for node_hash, enc in cached.items():
        assert blake2b_256(enc) == node_hash, "a cached node is the preimage of its hash"
        assert node_hash in at, "only the live tree is cached"
        assert at[node_hash] < tree.cache_depth_limit, "nothing below the depth limit is cached"


def test_warm_keeps_whole_top_levels_and_updates_keep_the_cache_to_them() -> None:
    store, tree, root, state = grown(4_000, cache_size=600)
    loaded = tree.warm(root)
    limit = tree.cache_depth_limit
    assert 0 < limit < PATH_BITS and loaded == tree.cached_nodes() <= 600
    assert {h for h, d in depths(store, root).items() if d < limit} == set(tree._cache.nodes)  # noqa: SLF001
    rng = random.Random(3)
    for block in range(20):
        changes: dict[bytes, bytes | None] = {b"acct%d" % rng.randrange(4_000): b"b%d" % block for _ in range(60)}
        changes |= {b"new%d-%d" % (block, i): b"x" for i in range(10)}  # the state grows
        changes[b"acct%d" % rng.randrange(4_000)] = None
        state.update(changes)
        state = {k: v for k, v in state.items() if v is not None}
        store.reads = 0
        new_root, nodes = tree.update(root, changes)
        store.update(nodes)
        assert new_root == reference_root(state)
        root = new_root
        assert_cache_is_the_top_of(tree, store, root, 600)
        # only the part of each changed path below the limit comes from the store (and a sibling now and then)
        deepest = max(depths(store, root).values())
        assert store.reads <= len(changes) * (deepest - tree.cache_depth_limit + 3)
    for key in rng.sample(sorted(state), 50):
        assert tree.get_value_hash(root, key) == blake2b_256(state[key])


def test_a_cache_that_overflows_trims_to_the_top_levels_instead_of_forgetting_them() -> None:
    """Without a warm: the cache fills from updates and reads, goes over its budget, and keeps the root's levels."""
    store, tree, root, state = grown(3_000, cache_size=200)
    rng = random.Random(5)
    for block in range(10):
        changes: dict[bytes, bytes | None] = {b"acct%d" % rng.randrange(3_000): b"v%d" % block for _ in range(80)}
        root, nodes = tree.update(root, changes)
        store.update(nodes)
        state.update(changes)  # type: ignore[arg-type]
        assert_cache_is_the_top_of(tree, store, root, 200)
        assert root in tree._cache.nodes  # noqa: SLF001 - the top is what stays
    assert root == reference_root({k: v for k, v in state.items() if v is not None})


@SETTINGS
@given(
    batches=st.lists(st.dictionaries(keys, st.none() | values, max_size=30), min_size=1, max_size=8),
    budget=st.sampled_from([1, 2, 5, 12, 40]),
)
# found under load: a leaf an insert moved down was cached one level below where it landed, under the limit
@example(
    batches=[
        {b"\x01": b"", b"\x13": b"", b"\x00\x06\x01": b"", b"z\xc7\x01N\xdc~": b""},
        {b"": b"", b"\x1b": b"", b"\x00\x00": b"", b"\x01\x01": b"", b"\xf9+": b"", b"\x00\x00\x00": b"",
         b"\x01\x01\x0b": b"", b"\x00\x00\x00\x00": b"", b"\x00\x00\x14\xff": b"", b"\x00\x00\x00\x00\x00": b"",
         b"\x00\x00\x00\x00\x00\x00": b""},
        {b"\x0f\x00": b""},
    ],
    budget=40,
)
def test_small_budgets_never_change_a_root_or_a_proof(batches: list[dict[bytes, bytes | None]], budget: int) -> None:
    store = CountingStore()
    tree = SparseMerkleTree(store.read, cache_size=budget)
    state: dict[bytes, bytes] = {}
    root = EMPTY_ROOT
    for changes in batches:
        root, nodes = tree.update(root, changes)
        store.update(nodes)
        for k, v in changes.items():
            if v is None:
                state.pop(k, None)
            else:
                state[k] = v
        assert root == reference_root(state)
        if root != EMPTY_ROOT:
            assert_cache_is_the_top_of(tree, store, root, budget)
            assert set(tree._cache.nodes) <= live_nodes(store, root)  # noqa: SLF001
    for k, v in state.items():
        assert tree.get_value_hash(root, k) == blake2b_256(v)
