"""The state tree against its definition: canonical roots, deletes, old roots, proofs, damaged storage."""

from __future__ import annotations

import random
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import DecodeError, StorageError
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from storage.leveldb import LevelDBStore
from storage.schema import trie_node_key
from storage.smt import EMPTY_ROOT, SmtProof, SparseMerkleTree, verify_proof

from .tree_impls import tree_update_impl  # noqa: F401 - every test runs on both updates

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

keys = st.binary(min_size=0, max_size=6)
values = st.binary(min_size=0, max_size=6)
states = st.dictionaries(keys, values, max_size=40)


def reference_root(state: dict[bytes, bytes]) -> bytes:
    """The root straight from the definition, with no cleverness: split by bit until a subtree holds one leaf."""
    leaves = {blake2b_256(k): blake2b_256(v) for k, v in state.items()}

    def subtree(paths: list[bytes], depth: int) -> bytes:
        if not paths:
            return ZERO_HASH
        if len(paths) == 1:
            return blake2b_256(b"\x00" + paths[0] + leaves[paths[0]])
        bit = [(p[depth // 8] >> (7 - depth % 8)) & 1 for p in paths]
        left = subtree([p for p, b in zip(paths, bit, strict=True) if b == 0], depth + 1)
        right = subtree([p for p, b in zip(paths, bit, strict=True) if b == 1], depth + 1)
        return blake2b_256(b"\x01" + left + right)

    return subtree(list(leaves), 0)


class Db:
    """A tree plus the node store the node layer would keep, persisting every update's new nodes."""

    def __init__(self, cache_size: int = 200_000) -> None:
        self.nodes: dict[bytes, bytes] = {}
        self.tree = SparseMerkleTree(self.nodes.get, cache_size=cache_size)

    def update(self, root: bytes, changes: dict[bytes, bytes | None]) -> bytes:
        new_root, new_nodes = self.tree.update(root, changes)
        for node_hash, enc in new_nodes.items():
            assert blake2b_256(enc) == node_hash, "nodes are content-addressed"
        self.nodes.update(new_nodes)
        return new_root

    def fresh_tree(self) -> SparseMerkleTree:
        """A tree with an empty cache, so every read goes to the store."""
        return SparseMerkleTree(self.nodes.get)


def test_empty_tree() -> None:
    db = Db()
    assert EMPTY_ROOT == ZERO_HASH
    assert db.tree.update(EMPTY_ROOT, {}) == (EMPTY_ROOT, {})
    assert db.update(EMPTY_ROOT, {b"absent": None}) == EMPTY_ROOT
    assert db.tree.get_value_hash(EMPTY_ROOT, b"k") is None
    proof = db.tree.prove(EMPTY_ROOT, b"k")
    assert proof == SmtProof((), None)
    assert verify_proof(EMPTY_ROOT, b"k", None, proof)
    assert not verify_proof(EMPTY_ROOT, b"k", b"v", proof)


def test_single_leaf_is_the_root() -> None:
    db = Db()
    root = db.update(EMPTY_ROOT, {b"k": b"v"})
    assert root == blake2b_256(b"\x00" + blake2b_256(b"k") + blake2b_256(b"v"))
    assert db.tree.get_value_hash(root, b"k") == blake2b_256(b"v")


@SETTINGS
@given(state=states, data=st.data())
def test_root_depends_only_on_the_final_set(state: dict[bytes, bytes], data: st.DataObject) -> None:
    items = data.draw(st.permutations(list(state.items())))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(items)), max_size=4)))
    db = Db(cache_size=data.draw(st.sampled_from([0, 8, 200_000])))
    root = EMPTY_ROOT
    for lo, hi in zip([0, *cuts], [*cuts, len(items)], strict=True):
        root = db.update(root, dict(items[lo:hi]))
    assert root == reference_root(state)
    # The same set in one batch, built from scratch.
    assert Db().update(EMPTY_ROOT, dict(state)) == root


@SETTINGS
@given(
    batches=st.lists(st.dictionaries(keys, st.none() | values, max_size=25), min_size=1, max_size=6),
    cache_size=st.sampled_from([0, 16, 200_000]),
)
def test_updates_and_deletes_match_reference(batches: list[dict[bytes, bytes | None]], cache_size: int) -> None:
    db = Db(cache_size)
    state: dict[bytes, bytes] = {}
    root = EMPTY_ROOT
    for changes in batches:
        root = db.update(root, changes)
        for key, value in changes.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        assert root == reference_root(state)
    reader = db.fresh_tree()
    for key in {k for batch in batches for k in batch}:
        expected = state.get(key)
        assert reader.get_value_hash(root, key) == (None if expected is None else blake2b_256(expected))
        assert verify_proof(root, key, expected, reader.prove(root, key))


@SETTINGS
@given(base=states, extra=st.dictionaries(keys, values, min_size=1, max_size=20))
def test_insert_then_delete_returns_to_earlier_root(base: dict[bytes, bytes], extra: dict[bytes, bytes]) -> None:
    extra = {k: v for k, v in extra.items() if k not in base}
    db = Db()
    root = db.update(EMPTY_ROOT, dict(base))
    grown = db.update(root, dict(extra))
    assert db.update(grown, dict.fromkeys(extra)) == root
    # Deleting one key at a time lifts leaves back up the same way.
    shrinking = grown
    for key in extra:
        shrinking = db.update(shrinking, {key: None})
    assert shrinking == root
    assert db.update(grown, dict.fromkeys([*base, *extra])) == EMPTY_ROOT


def test_no_op_changes_keep_the_root() -> None:
    db = Db()
    state = {bytes([i]): bytes([i]) for i in range(50)}
    root = db.update(EMPTY_ROOT, dict(state))
    assert db.tree.update(root, {b"\x03": b"\x03", b"absent": None, b"also absent": None}) == (root, {})


def test_update_does_not_mutate_its_input_or_the_store() -> None:
    db = Db()
    root = db.update(EMPTY_ROOT, {bytes([i]): b"v" for i in range(30)})
    stored = dict(db.nodes)
    changes: dict[bytes, bytes | None] = {b"\x01": None, b"\x02": b"w", b"new": b"x"}
    copy = dict(changes)
    new_root, new_nodes = db.tree.update(root, changes)
    assert changes == copy
    assert db.nodes == stored
    assert new_root != root and new_nodes
    assert db.tree.update(root, MappingProxyType(copy)) == (new_root, new_nodes)


def test_old_roots_stay_readable_and_provable() -> None:
    db = Db(cache_size=0)
    rng = random.Random(7)
    history: list[tuple[bytes, dict[bytes, bytes]]] = []
    state: dict[bytes, bytes] = {}
    root = EMPTY_ROOT
    for block in range(8):
        changes: dict[bytes, bytes | None] = {}
        for _ in range(30):
            key = b"acct%d" % rng.randrange(60)
            changes[key] = None if rng.random() < 0.25 else b"block%d" % block
        root = db.update(root, changes)
        for key, value in changes.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        history.append((root, dict(state)))
    reader = db.fresh_tree()
    for old_root, old_state in history:
        for i in range(60):
            key = b"acct%d" % i
            assert verify_proof(old_root, key, old_state.get(key), reader.prove(old_root, key))


@pytest.fixture(scope="module")
def proved() -> tuple[SparseMerkleTree, bytes, dict[bytes, bytes]]:
    db = Db()
    state = {b"key%d" % i: b"value%d" % i for i in range(200)}
    return db.tree, db.update(EMPTY_ROOT, dict(state)), state


def test_inclusion_proofs(proved: tuple[SparseMerkleTree, bytes, dict[bytes, bytes]]) -> None:
    tree, root, state = proved
    for key, value in state.items():
        proof = tree.prove(root, key)
        assert proof.leaf == (blake2b_256(key), blake2b_256(value))
        assert verify_proof(root, key, value, proof)
        assert not verify_proof(root, key, value + b"!", proof), "wrong value"
        assert not verify_proof(root, key, None, proof), "a present key cannot be proved absent"
        assert not verify_proof(blake2b_256(root), key, value, proof), "wrong root"
        assert not verify_proof(root, key + b"?", value, proof), "proof is for another key"
        for i in range(len(proof.siblings)):
            siblings = list(proof.siblings)
            siblings[i] = bytes([siblings[i][0] ^ 1]) + siblings[i][1:]
            assert not verify_proof(root, key, value, SmtProof(tuple(siblings), proof.leaf)), "tampered sibling"
        assert not verify_proof(root, key, value, SmtProof(proof.siblings[1:], proof.leaf)), "dropped sibling"
        assert not verify_proof(root, key, value, SmtProof((*proof.siblings, ZERO_HASH), proof.leaf)), "extra sibling"


def test_exclusion_proofs(proved: tuple[SparseMerkleTree, bytes, dict[bytes, bytes]]) -> None:
    tree, root, state = proved
    ends = set()
    for i in range(300):
        key = b"absent%d" % i
        proof = tree.prove(root, key)
        ends.add(proof.leaf is None)
        assert tree.get_value_hash(root, key) is None
        assert verify_proof(root, key, None, proof)
        assert not verify_proof(root, key, b"anything", proof)
        assert not verify_proof(blake2b_256(root), key, None, proof)
        if proof.siblings:
            siblings = (bytes(32) if proof.siblings[0] != bytes(32) else b"\x01" * 32, *proof.siblings[1:])
            assert not verify_proof(root, key, None, SmtProof(siblings, proof.leaf))
    assert ends == {True, False}, "both kinds of exclusion (empty subtree, other leaf) were exercised"
    # A leaf that verifies against the root but lies on another path must not prove absence.
    present_key = next(iter(state))
    present = tree.prove(root, present_key)
    for i in range(300):
        key = b"absent%d" % i
        if tree.prove(root, key).leaf != present.leaf:
            assert not verify_proof(root, key, None, present)


def test_proof_wire_round_trip(proved: tuple[SparseMerkleTree, bytes, dict[bytes, bytes]]) -> None:
    tree, root, _ = proved
    for key in (b"key1", b"absent1", b"absent2", b"absent3"):
        proof = tree.prove(root, key)
        wire = proof.to_wire()
        assert SmtProof.from_wire(unpack(pack(wire))) == proof
    assert SmtProof((), None).to_wire() == [[], []]


@pytest.mark.parametrize(
    "wire",
    [
        None,
        [],
        [[], [], []],
        [[b"\x00" * 31], []],
        [[b"\x00" * 32] * 257, []],
        [["text"], []],
        [[], [b"\x00" * 32]],
        [[], [b"\x00" * 32, b"\x00" * 33]],
        [b"not a list", []],
    ],
)
def test_malformed_wire_proof_is_rejected(wire: object) -> None:
    with pytest.raises(DecodeError):
        SmtProof.from_wire(wire)


def test_missing_node_raises_storage_error() -> None:
    db = Db()
    root = db.update(EMPTY_ROOT, {b"key%d" % i: b"v" for i in range(50)})
    proof = db.tree.prove(root, b"key7")
    # Drop an internal node on key7's path (the root's child) from the store, then read with a cold cache.
    path_bit = blake2b_256(b"key7")[0] >> 7
    child = db.nodes[root][1 + 32 * path_bit : 33 + 32 * path_bit]
    del db.nodes[child]
    reader = db.fresh_tree()
    message = f"state tree node {child.hex()} missing: database damaged or pruned"
    with pytest.raises(StorageError, match=message):
        reader.prove(root, b"key7")
    with pytest.raises(StorageError, match=message):
        reader.get_value_hash(root, b"key7")
    with pytest.raises(StorageError, match=message):
        reader.update(root, {b"key7": b"new"})
    with pytest.raises(StorageError, match="missing"):
        reader.update(blake2b_256(b"no such root"), {b"k": b"v"})
    assert verify_proof(root, b"key7", b"v", proof)


def test_malformed_node_raises_storage_error() -> None:
    db = Db()
    root = db.update(EMPTY_ROOT, {b"a": b"1", b"b": b"2"})
    db.nodes[root] = b"\x07" + db.nodes[root][1:]
    with pytest.raises(StorageError, match="malformed"):
        db.fresh_tree().prove(root, b"a")


def test_bad_arguments_are_rejected() -> None:
    tree = Db().tree
    with pytest.raises(TypeError):
        tree.update(EMPTY_ROOT, {"text": b"v"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        tree.update(EMPTY_ROOT, {b"k": "text"})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        tree.update(b"short", {b"k": b"v"})


def test_chains_of_one_sided_nodes() -> None:
    """Keys whose paths share a long prefix need one internal node per shared bit, and deleting lifts the leaf."""
    rng = random.Random(3)
    by_top_byte: dict[int, list[bytes]] = {}
    while True:
        key = rng.randbytes(8)
        group = by_top_byte.setdefault(blake2b_256(key)[0], [])
        group.append(key)
        if len(group) == 3:
            break
    a, b, c = group
    db = Db()
    root = db.update(EMPTY_ROOT, {a: b"1", b: b"2", c: b"3"})
    assert root == reference_root({a: b"1", b: b"2", c: b"3"})
    assert len(db.tree.prove(root, a).siblings) >= 9
    only_c = db.update(root, {a: None, b: None})
    assert only_c == reference_root({c: b"3"}) == blake2b_256(b"\x00" + blake2b_256(c) + blake2b_256(b"3"))


def live_nodes(nodes: dict[bytes, bytes], root: bytes) -> set[bytes]:
    found: set[bytes] = set()
    todo = [root] if root != ZERO_HASH else []
    while todo:
        node_hash = todo.pop()
        found.add(node_hash)
        enc = nodes[node_hash]
        if enc[0] == 1:
            todo.extend(child for child in (enc[1:33], enc[33:]) if child != ZERO_HASH)
    return found


@SETTINGS
@given(batches=st.lists(st.dictionaries(keys, st.none() | values, max_size=25), min_size=1, max_size=6))
def test_cache_follows_the_live_tree(batches: list[dict[bytes, bytes | None]]) -> None:
    """Updates drop the nodes they supersede from the cache, so it never fills with dead versions."""
    db = Db()
    root = EMPTY_ROOT
    for changes in batches:
        root = db.update(root, changes)
        assert set(db.tree._cache.nodes) == live_nodes(db.nodes, root)


def test_warm_loads_the_tree_top_down_until_full() -> None:
    db = Db()
    root = db.update(EMPTY_ROOT, {b"key%d" % i: b"v" for i in range(100)})
    live = live_nodes(db.nodes, root)
    full = SparseMerkleTree(db.nodes.get, cache_size=1000)
    assert full.warm(root) == len(live)
    assert set(full._cache.nodes) == live
    small = SparseMerkleTree(db.nodes.get, cache_size=3)
    assert small.warm(root) == 3
    assert root in small._cache.nodes
    assert SparseMerkleTree(db.nodes.get).warm(EMPTY_ROOT) == 0


def test_tree_over_leveldb_survives_reopen(tmp_path: Path) -> None:
    """The way the node uses it: nodes under schema.trie_node_key, written in the block's atomic batch."""
    state = {b"acct%d" % i: b"balance%d" % i for i in range(300)}
    with LevelDBStore(tmp_path / "db") as db:
        tree = SparseMerkleTree(lambda h: db.get(trie_node_key(h)))
        root, new_nodes = tree.update(EMPTY_ROOT, dict(state))
        db.write({trie_node_key(h): enc for h, enc in new_nodes.items()}, sync=True)
    with LevelDBStore(tmp_path / "db") as db:
        tree = SparseMerkleTree(lambda h: db.get(trie_node_key(h)))
        for key, value in state.items():
            assert verify_proof(root, key, value, tree.prove(root, key))
        assert tree.update(root, dict.fromkeys(state))[0] == EMPTY_ROOT


def test_chained_updates_before_persisting_need_pending() -> None:
    """A branch of blocks is executed one after another and written in one batch at the end."""
    db = Db(cache_size=0)  # no cache to hide a missing node
    base = {b"key%d" % i: b"v" for i in range(40)}
    root0 = db.update(EMPTY_ROOT, dict(base))
    first: dict[bytes, bytes | None] = {b"key1": b"w", b"new": b"x", b"key2": None}
    second: dict[bytes, bytes | None] = {b"key3": b"y", b"new": b"z", b"other": b"o"}
    root1, nodes1 = db.tree.update(root0, first)  # not persisted
    with pytest.raises(StorageError, match="missing"):
        db.tree.update(root1, second)
    root2, nodes2 = db.tree.update(root1, second, pending=nodes1)
    expected = {**base, b"key1": b"w", b"key3": b"y", b"new": b"z", b"other": b"o"}
    del expected[b"key2"]
    assert root2 == reference_root(expected)
    db.nodes.update(nodes1)
    db.nodes.update(nodes2)
    for key, value in expected.items():
        assert verify_proof(root2, key, value, db.fresh_tree().prove(root2, key))
