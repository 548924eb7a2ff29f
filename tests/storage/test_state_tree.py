"""The live state tree over a database: opened from the stored leaves, refused when they do not give the head's
root, leaves not held in memory read back true to what is stored (never what a rolled-back change left), old states
rewound and undone, the commit batch's leaves, and an earlier version's database given its leaves."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from btt_chain.node.chain import Chain
from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.hashing import blake2b_256
from storage import schema, state_tree
from storage.chaindb import ChainDB
from storage.kv import KeyValueStore
from storage.leveldb import LevelDBStore
from storage.memory import MemoryStore
from storage.smt import verify_proof
from storage.state_tree import StateTree, choose_bucket_bits, estimate_leaves, leaf_records, put_leaves, tree_root
from tests.support.node_builder import UNIT, author_as_leader, new_chain, transfer

from .tree_support import applied, assert_state_books

ENGINES = [True, False] if state_tree.NATIVE_ENGINE else [False]


def write_block(kv: KeyValueStore, changes: dict[bytes, bytes | None]) -> None:
    """What a node's commit writes of the tree: the changed keys' leaves."""
    puts: dict[bytes, bytes] = {}
    deletes: list[bytes] = []
    put_leaves(puts, deletes, changes)
    kv.write(puts, deletes)


def stored_tree(state: dict[bytes, bytes], budget: int, native: bool, kv: KeyValueStore | None = None
                ) -> tuple[StateTree, KeyValueStore]:
    kv = kv or MemoryStore()
    write_block(kv, dict(state))
    tree = StateTree(kv, budget, native=native)
    tree.open(tree_root(leaf_records(state)))
    return tree, kv



@pytest.mark.parametrize("native", ENGINES)
def test_opened_from_the_stored_leaves(native: bool) -> None:
    state = {os.urandom(8): os.urandom(5) for _ in range(3000)}
    tree, _ = stored_tree(state, 10**6, native)
    assert tree.root == tree_root(leaf_records(state))
    assert tree.stats()["resident_leaves"] == 3000
    assert tree.stats()["bucket_bits"] == choose_bucket_bits(3000)


@pytest.mark.parametrize("native", ENGINES)
def test_leaves_that_do_not_give_the_head_root_are_refused(native: bool) -> None:
    state = {b"a": b"1", b"b": b"2"}
    kv = MemoryStore()
    write_block(kv, dict(state))
    with pytest.raises(StorageError, match="database damaged"):
        StateTree(kv, native=native).open(tree_root(leaf_records({b"a": b"1"})))
    kv.write({schema.TREE_LEAF + b"\x01" * 31: bytes(32)})  # a key one byte short
    with pytest.raises(StorageError, match="malformed: database damaged"):
        StateTree(kv, native=native).open(tree_root(leaf_records(state)))


def test_an_update_outside_a_transaction_is_refused() -> None:
    tree, _ = stored_tree({b"a": b"1"}, 10, False)
    with pytest.raises(RuntimeError, match="inside a transaction"):
        tree.update({b"a": b"2"})
    with tree.transaction():
        tree.update({b"a": b"2"})
    assert tree.root == tree_root(leaf_records({b"a": b"1"})), "not committed: undone"


@pytest.mark.parametrize("native", ENGINES)
@pytest.mark.parametrize("budget", [0, 50, 400])
def test_leaves_not_held_are_read_back_as_stored(native: bool, budget: int) -> None:
    """Blocks committed after their leaves are written, blocks rolled back, proofs between: with the budget far
    under the state the tree keeps evicting and reading back, and every root and proof is the definition's."""
    rng = random.Random(budget)
    state = {rng.randbytes(8): rng.randbytes(4) for _ in range(1000)}
    tree, kv = stored_tree(state, budget, native)
    for round_ in range(12):
        keys = sorted(state)
        changes: dict[bytes, bytes | None] = {k: None for k in rng.sample(keys, 20)}
        changes.update({k: bytes([round_]) for k in rng.sample(keys, 60)})
        changes.update({rng.randbytes(8): b"new" for _ in range(30)})
        after = applied(state, changes)
        commit = round_ % 3 != 1
        with tree.transaction() as tx:
            assert tree.update(changes) == tree_root(leaf_records(after))
            if commit:
                write_block(kv, changes)
                tx.commit()
        if commit:
            state = after
        assert tree.root == tree_root(leaf_records(state))
        assert tree.stats()["resident_leaves"] <= max(budget, 0) or not commit
        for key in rng.sample(sorted(state), 5):
            assert verify_proof(tree.root, key, state[key], tree.prove(key))


@pytest.mark.parametrize("native", ENGINES)
def test_a_rolled_back_change_of_a_bucket_not_held_is_not_served(native: bool) -> None:
    """A bucket read back and changed in a transaction that is rolled back must not stay held with that change."""
    state = {os.urandom(8): os.urandom(4) for _ in range(200)}
    tree, _ = stored_tree(state, 0, native)
    key = next(iter(state))
    with tree.transaction():
        tree.update({key: b"never written"})
    assert tree.root == tree_root(leaf_records(state))
    assert verify_proof(tree.root, key, state[key], tree.prove(key))
    with tree.transaction():
        root = tree.update({os.urandom(8): b"x"})
    assert root != tree.root == tree_root(leaf_records(state))


@pytest.mark.parametrize("native", ENGINES)
def test_a_bucket_read_while_the_last_batch_is_still_landing(native: bool, tmp_path: Path) -> None:
    """The node writes a block behind (LevelDB's writer thread) and the next block may read back a bucket before the
    write lands: the read sees the batch."""
    rng = random.Random(3)
    state = {rng.randbytes(8): rng.randbytes(4) for _ in range(500)}
    with LevelDBStore(tmp_path / "db") as kv:
        tree, _ = stored_tree(state, 0, native, kv)
        for round_ in range(4):
            changes: dict[bytes, bytes | None] = {k: bytes([round_ + 1]) for k in rng.sample(sorted(state), 50)}
            with tree.transaction() as tx:
                tree.update(changes)
                puts: dict[bytes, bytes] = {}
                deletes: list[bytes] = []
                put_leaves(puts, deletes, changes)
                kv.write_behind(puts, deletes)
                tx.commit()
            state = applied(state, changes)
            assert tree.root == tree_root(leaf_records(state))


@pytest.mark.parametrize("native", ENGINES)
def test_rewound_serves_an_older_state_and_undoes_itself(native: bool) -> None:
    old = {os.urandom(8): os.urandom(4) for _ in range(300)}
    tree, kv = stored_tree(old, 100, native)
    changes: dict[bytes, bytes | None] = {k: b"later" for k in list(old)[:40]}
    changes[b"created later"] = b"x"
    with tree.transaction() as tx:
        tree.update(changes)
        write_block(kv, changes)
        tx.commit()
    head = tree.root
    back: dict[bytes, bytes | None] = {k: old.get(k) for k in changes}  # what the undo journals hold
    with tree.rewound(back) as root:
        assert root == tree_root(leaf_records(old))
        for key in list(old)[:5]:
            assert verify_proof(root, key, old[key], tree.prove(key))
        assert verify_proof(root, b"created later", None, tree.prove(b"created later"))
    assert tree.root == head


def test_bucket_bits_follow_the_state_and_the_estimate_is_close() -> None:
    assert [choose_bucket_bits(n) for n in (0, 1, 3, 4, 1000, 10**6)] == [0, 0, 1, 2, 9, 19]
    assert choose_bucket_bits(10**9) == state_tree.BUCKET_BITS_CAP
    records = leaf_records({os.urandom(8): b"v" for _ in range(200_000)})
    first = records[: 65_536 * 64]
    assert abs(estimate_leaves(first, False) - 200_000) < 10_000
    assert estimate_leaves(first, True) == 65_536
    assert estimate_leaves(b"", False) == 0


def test_compiled_and_python_leaf_helpers_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    changes: dict[bytes, bytes | None] = {os.urandom(5): None if i % 3 == 0 else os.urandom(i % 7) for i in range(300)}
    state = {k: v for k, v in changes.items() if v is not None}
    native = (leaf_records(state), {}, [])
    put_leaves(native[1], native[2], changes)
    monkeypatch.setattr(state_tree, "_native", None)
    python = (leaf_records(state), {}, [])
    put_leaves(python[1], python[2], changes)
    assert native[0] == python[0]
    assert native[1] == python[1] and sorted(native[2]) == sorted(python[2])
    assert python[1][schema.TREE_LEAF + blake2b_256(next(iter(state)))] == blake2b_256(state[next(iter(state))])
    with pytest.raises(TypeError):
        leaf_records({b"k": "v"})  # type: ignore[dict-item]


def old_format(chain_kv: KeyValueStore) -> None:
    """Make a database look written by a version that stored tree nodes (`t:`), no leaves and no key index."""
    leaves = [k for k, _ in chain_kv.iterate(schema.TREE_LEAF)]
    keys = [k for k, _ in chain_kv.iterate(schema.TREE_KEY)]
    chain_kv.write({schema.TRIE_NODE + os.urandom(32): os.urandom(65) for _ in range(50)},
                   [*leaves, *keys, schema.META_TREE_LEAVES, schema.META_TREE_KEYS])


def test_an_earlier_versions_database_gets_its_leaves(tmp_path: Path) -> None:
    chain = new_chain(LevelDBStore(tmp_path / "db"))
    author_as_leader(chain, ("alice",), [transfer(chain, "alice", "bob", 3 * UNIT)])
    head, root, genesis = chain.head_hash, chain.head.state_root, chain.genesis
    chain.db.kv.close()
    kv = LevelDBStore(tmp_path / "db")
    old_format(kv)
    kv.close()
    kv = LevelDBStore(tmp_path / "db")
    reopened = Chain(kv, genesis)
    assert reopened.head_hash == head and reopened.tree.root == root
    assert kv.get(schema.META_TREE_LEAVES) is not None
    assert list(kv.iterate(schema.TRIE_NODE)) == []
    assert_state_books(kv)
    author_as_leader(reopened, ("alice",), [transfer(reopened, "bob", "alice", UNIT)])  # and it goes on
    assert_state_books(kv)
    kv.close()


def test_a_migration_cut_off_is_done_again(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = new_chain(MemoryStore())
    author_as_leader(chain, ("alice",))
    kv, genesis, root = chain.db.kv, chain.genesis, chain.head.state_root
    old_format(kv)
    calls = 0
    real_write = MemoryStore.write

    def dying(self: MemoryStore, puts, deletes=(), sync=False):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 2:  # the leaves are written, the old nodes and the marker not yet
            raise OSError("killed")
        real_write(self, puts, deletes, sync)

    monkeypatch.setattr(MemoryStore, "write", dying)
    with pytest.raises(OSError, match="killed"):
        ChainDB(kv).ensure_tree_leaves()
    assert kv.get(schema.META_TREE_LEAVES) is None
    monkeypatch.setattr(MemoryStore, "write", real_write)
    assert Chain(kv, genesis).tree.root == root
    assert ChainDB(kv).ensure_tree_leaves() is False
    assert_state_books(kv)


@pytest.mark.parametrize("native", ENGINES)
def test_an_update_on_the_trees_thread_gives_the_same_root_and_guards_the_tree(native: bool) -> None:
    state = {os.urandom(8): os.urandom(4) for _ in range(20_000)}
    tree, kv = stored_tree(state, 10**6, native)
    changes: dict[bytes, bytes | None] = {k: b"x" for k in list(state)[:5000]}
    with tree.transaction() as tx:
        running = tree.start_update(changes)
        if not running.done():  # the tree is not touched meanwhile
            with pytest.raises(RuntimeError, match="being updated"):
                tree.prove(b"k")
        assert running.result() == tree_root(leaf_records(applied(state, changes)))
        write_block(kv, changes)
        tx.commit()
    assert tree.root == tree_root(leaf_records(applied(state, changes)))
    with tree.transaction():
        failing = tree.start_update({b"k": "not bytes"})  # type: ignore[dict-item]
        with pytest.raises(TypeError, match="state values must be bytes"):
            failing.result()
    assert tree.root == tree_root(leaf_records(applied(state, changes)))
    with pytest.raises(RuntimeError, match="inside a transaction"):
        tree.start_update({b"k": b"v"})


def test_a_transaction_left_while_its_update_runs_is_undone() -> None:
    state = {os.urandom(8): os.urandom(4) for _ in range(50_000)}
    tree, _ = stored_tree(state, 10**6, state_tree.NATIVE_ENGINE)
    root = tree.root
    with pytest.raises(ValueError, match="boom"), tree.transaction() as tx:
        tree.start_update({k: b"y" for k in state})
        tx.commit()
        raise ValueError("boom")
    assert tree.root == root


class _ReadCountingStore(MemoryStore):
    """A store that counts the pairs its scans have handed out."""

    def __init__(self) -> None:
        super().__init__()
        self.handed = 0

    def iterate(self, prefix: bytes = b"", reverse: bool = False, start: bytes | None = None
                ) -> Iterator[tuple[bytes, bytes]]:
        for pair in super().iterate(prefix, reverse, start):
            self.handed += 1
            yield pair


@pytest.mark.parametrize("native", ENGINES)
def test_an_open_loads_each_chunk_as_it_is_read(native: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # the engine takes a chunk before the scan reads further: an open must not hold every leaf's record at once
    # (`(first, *rest)` read them all first: 640 MB beside the tree at ten million leaves)
    state = {os.urandom(8): os.urandom(5) for _ in range(100)}
    kv = _ReadCountingStore()
    write_block(kv, dict(state))
    root = tree_root(leaf_records(state))
    monkeypatch.setattr(state_tree, "LOAD_CHUNK", 8)
    ahead: list[int] = []
    made = state_tree.make_engine

    class Watched:
        def __init__(self, engine: state_tree.Engine) -> None:
            self._engine, self.loaded = engine, 0

        def load(self, records: bytes) -> None:
            self.loaded += len(records) // state_tree.RECORD_LEN
            ahead.append(kv.handed - self.loaded)  # read but not yet loaded
            self._engine.load(records)

        def __getattr__(self, name: str) -> object:
            return getattr(self._engine, name)

    monkeypatch.setattr(state_tree, "make_engine", lambda *a, **k: Watched(made(*a, **k)))
    tree = StateTree(kv, native=native)
    assert tree.open(root) == 100 and tree.root == root
    assert len(ahead) == 13 and max(ahead) <= 8, ahead  # 12 chunks of 8 and one of 4, none read ahead by more


@pytest.mark.parametrize("native", ENGINES)
def test_the_trees_put_leaves_are_the_modules(native: bool) -> None:
    """`StateTree.put_leaves` (the compiled engine takes its last update's leaf records where a change is the very same
    key and value objects) gives what `put_leaves` gives: for the update's own changes, a copy in the same order, one
    reordered, one with other value objects of equal or different bytes, deletes, keys the update never saw, and after
    a failed or rolled-back update."""
    rng = random.Random(21)
    state = {rng.randbytes(8): rng.randbytes(5) for _ in range(500)}
    tree, _ = stored_tree(state, 10**6, native)
    keys = list(state)

    def same(changes: dict[bytes, bytes | None]) -> None:
        expected_puts: dict[bytes, bytes] = {}
        expected_deletes: list[bytes] = []
        put_leaves(expected_puts, expected_deletes, changes)
        puts: dict[bytes, bytes] = {}
        deletes: list[bytes] = []
        tree.put_leaves(puts, deletes, changes)
        assert list(puts.items()) == list(expected_puts.items()) and deletes == expected_deletes

    with tree.transaction():
        for _ in range(20):
            changes: dict[bytes, bytes | None] = {
                rng.choice(keys) if rng.random() < 0.7 else rng.randbytes(8): (None if rng.random() < 0.2 else
                                                                              rng.randbytes(5))
                for _ in range(rng.randrange(0, 40))
            }
            tree.update(changes)
            same(changes)
            same(dict(changes))
            same(dict(reversed(list(changes.items()))))
            same({k: (None if v is None else bytes(bytearray(v))) for k, v in changes.items()})
            same({k: (None if v is None else v + b"!") for k, v in changes.items()})
            same({rng.randbytes(8): b"x", **changes})
