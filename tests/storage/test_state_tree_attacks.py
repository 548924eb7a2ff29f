"""Attacks on the live state tree: sequences of commits, rollbacks, failures, nested and overlapping use, rewinds and
reopenings, with leaf budgets far below the state (buckets read back from the store) and the default, on both
engines. After every step the tree's root and proofs must be those computed from scratch over the state it stands
for, and a call that fails must change nothing."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from storage import schema, state_tree
from storage.kv import KeyValueStore
from storage.leveldb import LevelDBStore
from storage.memory import MemoryStore
from storage.smt import verify_proof
from storage.state_tree import StateTree, leaf_records, put_leaves
from storage.tree_engine import PyTreeEngine

from .tree_support import applied, reference_root

ENGINES = [True, False] if state_tree.NATIVE_ENGINE else [False]
BUDGETS = [0, 3, state_tree.TREE_LEAF_BUDGET]


def _close_pairs(count: int) -> list[bytes]:
    """Keys whose paths share long prefixes (24+ bits: deeper than any bucket of these small trees), found by
    sorting a few thousand paths and keeping the closest neighbours."""
    keys = [b"p%d" % i for i in range(1 << 15)]
    paths = sorted((blake2b_256(k), k) for k in keys)

    def shared(a: bytes, b: bytes) -> int:
        x = int.from_bytes(a, "big") ^ int.from_bytes(b, "big")
        return 256 - x.bit_length()

    scored = sorted(((shared(paths[i][0], paths[i + 1][0]), i) for i in range(len(paths) - 1)), reverse=True)
    out: list[bytes] = []
    for bits, i in scored[:count]:
        assert bits >= 24
        out += [paths[i][1], paths[i + 1][1]]
    return out


CLOSE = _close_pairs(3)
POOL = CLOSE + [b"key-%d" % i for i in range(14)]
VALUES = [b"", b"a", b"b", b"\x00" * 3, b"value-long" * 5]


class FlakyStore(MemoryStore):
    """A memory store whose scans fail on demand: after `fail_after` more scans, every scan raises."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_after: int | None = None
        self.scans = 0

    def iterate(self, prefix: bytes = b"", reverse: bool = False, start: bytes | None = None
                ) -> Iterator[tuple[bytes, bytes]]:
        self.scans += 1
        if self.fail_after is not None:
            if self.fail_after <= 0:
                raise StorageError("cannot read database: I/O error")
            self.fail_after -= 1
        return super().iterate(prefix, reverse, start)


class GatedStore(MemoryStore):
    """A memory store whose next scan, once armed, waits for `gate` (so an update on the tree's thread is caught
    half-way, inside its read of a bucket)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.armed = False

    def iterate(self, prefix: bytes = b"", reverse: bool = False, start: bytes | None = None
                ) -> Iterator[tuple[bytes, bytes]]:
        if self.armed:
            self.armed = False
            self.entered.set()
            assert self.gate.wait(10)
        return super().iterate(prefix, reverse, start)


def write_block(kv: KeyValueStore, changes: dict[bytes, bytes | None], behind: bool = False) -> None:
    puts: dict[bytes, bytes] = {}
    deletes: list[bytes] = []
    put_leaves(puts, deletes, changes)
    if behind:
        assert isinstance(kv, LevelDBStore)
        kv.write_behind(puts, deletes)
    else:
        kv.write(puts, deletes)


def opened(state: dict[bytes, bytes], budget: int, native: bool, kv: KeyValueStore | None = None
           ) -> tuple[StateTree, KeyValueStore]:
    kv = MemoryStore() if kv is None else kv
    write_block(kv, dict(state))
    tree = StateTree(kv, budget, native=native)
    tree.open(reference_root(state))
    return tree, kv


def definition_proof(state: dict[bytes, bytes], key: bytes) -> tuple[list[bytes], bytes | None]:
    """The proof a tree built from scratch over `state` by the Python engine (the definition) gives."""
    engine = PyTreeEngine(0, 1 << 30, lambda _b: b"")
    engine.load(leaf_records(state))
    engine.finish_load()
    return engine.prove(key)


def assert_serves(tree: StateTree, state: dict[bytes, bytes], keys: list[bytes]) -> None:
    """Root and proofs of `keys` are those of `state` computed from scratch."""
    root = reference_root(state)
    assert tree.root == root
    for key in keys:
        proof = tree.prove(key)
        assert verify_proof(root, key, state.get(key), proof), key
        siblings, leaf = definition_proof(state, key)
        assert list(proof.siblings) == siblings
        assert (None if proof.leaf is None else proof.leaf[0] + proof.leaf[1]) == leaf


# ---- sequences ---------------------------------------------------------------------------------------------------

CHANGES = st.dictionaries(st.sampled_from(POOL), st.one_of(st.none(), st.sampled_from(VALUES)), max_size=7)


class Boom(Exception):
    pass


class TreeSequences(RuleBasedStateMachine):
    """The tree against a plain dict of the committed state and the list of states it went through."""

    native = False
    budget = 0

    def __init__(self) -> None:
        super().__init__()
        self.kv = FlakyStore()
        self.state: dict[bytes, bytes] = {}
        self.history: list[dict[bytes, bytes]] = []
        self.tree: StateTree | None = None

    @initialize(size=st.sampled_from([0, 1, 2, 6, len(POOL)]))
    def start(self, size: int) -> None:
        self.state = {k: b"init" for k in POOL[:size]}
        self.tree, _ = opened(self.state, self.budget, self.native, self.kv)
        self.history = [self.state]

    def _commit(self, changes: dict[bytes, bytes | None], threaded: bool) -> None:
        assert self.tree is not None
        after = applied(self.state, changes)
        with self.tree.transaction() as tx:
            root = self.tree.start_update(changes).result() if threaded else self.tree.update(changes)
            assert root == reference_root(after)
            write_block(self.kv, changes)
            tx.commit()
        self.state = after
        self.history.append(after)

    @rule(changes=CHANGES, threaded=st.booleans())
    def commit(self, changes: dict[bytes, bytes | None], threaded: bool) -> None:
        self._commit(changes, threaded)

    @rule(changes=CHANGES)
    def roll_back(self, changes: dict[bytes, bytes | None]) -> None:
        assert self.tree is not None
        with self.tree.transaction():
            assert self.tree.update(changes) == reference_root(applied(self.state, changes))

    @rule(changes=CHANGES, threaded=st.booleans())
    def raise_inside(self, changes: dict[bytes, bytes | None], threaded: bool) -> None:
        """A committed transaction whose block raises afterwards (its write failed) is undone."""
        assert self.tree is not None
        with pytest.raises(Boom), self.tree.transaction() as tx:
            if threaded:
                self.tree.start_update(changes)  # not even waited for
            else:
                self.tree.update(changes)
            tx.commit()
            raise Boom

    @rule(first=CHANGES, second=CHANGES, inner_commit=st.booleans(), outer_commit=st.booleans())
    def nested(self, first: dict[bytes, bytes | None], second: dict[bytes, bytes | None], inner_commit: bool,
               outer_commit: bool) -> None:
        assert self.tree is not None
        mid = applied(self.state, first)
        end = applied(mid, second)
        with self.tree.transaction() as outer:
            self.tree.update(first)
            with self.tree.transaction() as inner:
                assert self.tree.update(second) == reference_root(end)
                if inner_commit:
                    inner.commit()
            kept = end if inner_commit else mid
            assert self.tree.root == reference_root(kept)
            if outer_commit:
                write_block(self.kv, first)
                if inner_commit:
                    write_block(self.kv, second)
                outer.commit()
        if outer_commit:
            self.state = kept
            self.history.append(kept)

    @rule(data=st.data())
    def rewind_and_prove(self, data: st.DataObject) -> None:
        """A proof at an older state: the keys changed since set back, proofs served, then undone."""
        assert self.tree is not None
        old = data.draw(st.sampled_from(self.history))
        back: dict[bytes, bytes | None] = {k: old.get(k) for k in set(old) | set(self.state)
                                           if old.get(k) != self.state.get(k)}
        with self.tree.rewound(back) as root:
            assert root == reference_root(old)
            assert_serves(self.tree, old, data.draw(st.lists(st.sampled_from(POOL), max_size=4)))
            extra = data.draw(CHANGES)  # a block executed on the old state, never kept
            with self.tree.transaction():
                assert self.tree.update(extra) == reference_root(applied(old, extra))
            assert self.tree.root == reference_root(old)

    @rule(changes=CHANGES, after=st.integers(0, 2))
    def failing_read(self, changes: dict[bytes, bytes | None], after: int) -> None:
        """A bucket read that fails part-way through an update: the update raises and changes nothing, or it needed
        no read and succeeded (then rolled back)."""
        assert self.tree is not None
        before = self.tree.root
        with self.tree.transaction():
            self.kv.fail_after = after
            try:
                root = self.tree.update(changes)
            except StorageError:
                assert self.tree.root == before
            else:
                assert root == reference_root(applied(self.state, changes))
            finally:
                self.kv.fail_after = None

    @rule(changes=CHANGES)
    def bad_change_is_refused(self, changes: dict[bytes, bytes | None]) -> None:
        assert self.tree is not None
        with self.tree.transaction() as tx:
            with pytest.raises(TypeError):
                self.tree.update({**changes, b"zz": "not bytes"})  # type: ignore[dict-item]
            assert self.tree.root == reference_root(self.state)
            tx.commit()  # nothing to keep

    @rule()
    def reopen(self) -> None:
        self.tree = StateTree(self.kv, self.budget, native=self.native)
        self.tree.open(reference_root(self.state))

    @invariant()
    def serves_the_state(self) -> None:
        if self.tree is None:
            return
        assert_serves(self.tree, self.state, POOL)
        stats = self.tree.stats()
        assert stats["resident_leaves"] <= max(self.budget, 0)


@pytest.mark.parametrize("native", ENGINES)
@pytest.mark.parametrize("budget", BUDGETS)
def test_sequences_serve_the_state_they_stand_for(native: bool, budget: int) -> None:
    machine = type("Machine", (TreeSequences,), {"native": native, "budget": budget})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=25, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]))


# ---- shapes -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("native", ENGINES)
@pytest.mark.parametrize("budget", BUDGETS)
def test_close_paths_emptied_buckets_shrink_to_nothing_and_grow_past_the_bucket_depth(native: bool,
                                                                                       budget: int) -> None:
    """Keys 24+ bits alike deleted and re-added, a bucket emptied, the state down to one key and to none, then grown
    far past the size its bucket depth was chosen for; reopened, the depth follows the size and nothing else moves."""
    rng = random.Random(budget)
    state = {k: b"x" for k in CLOSE}
    tree, kv = opened(state, budget, native)
    assert tree.stats()["bucket_bits"] == 2

    def step(changes: dict[bytes, bytes | None]) -> None:
        nonlocal state
        with tree.transaction() as tx:
            tree.update(changes)
            write_block(kv, changes)
            tx.commit()
        state = applied(state, changes)
        assert_serves(tree, state, [*CLOSE, *rng.sample(sorted(state), min(5, len(state)))])

    step({CLOSE[0]: None})  # its twin lifts
    step({CLOSE[0]: b"back"})
    step({k: None for k in CLOSE[:4]})
    step({k: None for k in CLOSE[4:-1]})  # one key left
    assert tree.root == blake2b_256(b"\x00" + blake2b_256(CLOSE[-1]) + blake2b_256(b"x"))
    step({CLOSE[-1]: None})  # none
    assert tree.root == ZERO_HASH
    for round_ in range(6):  # 2 keys' bucket depth, 3,000 keys
        step({b"grow-%d-%d" % (round_, i): bytes([i % 7]) for i in range(500)})
    step({k: None for k in rng.sample(sorted(state), 1000)} | {k: b"again" for k in CLOSE})
    assert tree.stats()["bucket_bits"] == 2
    reopened = StateTree(kv, budget, native=native)
    reopened.open(reference_root(state))
    assert reopened.stats()["bucket_bits"] > 2
    assert_serves(reopened, state, [*CLOSE, *rng.sample(sorted(state), 20)])
    back: dict[bytes, bytes | None] = {k: None for k in state if k not in CLOSE}  # back to six keys
    with reopened.transaction() as tx:
        reopened.update(back)
        write_block(kv, back)
        tx.commit()
    assert_serves(reopened, applied(state, back), CLOSE)


@pytest.mark.parametrize("native", ENGINES)
def test_paths_alike_to_the_last_bit(native: bool) -> None:
    """Leaves that share 255 bits of path (no keys give them, the engine takes them): the root is the definition's."""
    paths = [bytes(31) + b"\x00", bytes(31) + b"\x01", b"\x80" + bytes(30) + b"\x01", b"\xff" * 32]

    def reference(records: list[tuple[bytes, bytes]], depth: int = 0) -> bytes:
        if not records:
            return ZERO_HASH
        if len(records) == 1:
            return blake2b_256(b"\x00" + records[0][0] + records[0][1])
        bit = [(p[depth // 8] >> (7 - depth % 8)) & 1 for p, _ in records]
        left = reference([r for r, b in zip(records, bit, strict=True) if b == 0], depth + 1)
        right = reference([r for r, b in zip(records, bit, strict=True) if b == 1], depth + 1)
        return blake2b_256(b"\x01" + left + right)

    records = [(p, blake2b_256(p)) for p in paths]
    for bits in (0, 1, 8, 16, *([24] if native else [])):  # the Python engine takes seconds to lay out 2**25
        engine = state_tree.make_engine(bits, 10, lambda _b: b"", native)
        engine.load(b"".join(p + v for p, v in records))
        assert engine.finish_load() == reference(records)


# ---- overlapping use ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("native", ENGINES)
def test_nothing_interleaves_with_an_update_on_the_trees_thread(native: bool) -> None:
    """While start_update's thread is held inside a bucket read, every other use of the tree is refused and leaves
    it alone; the update then finishes with the right root, and is kept only by the commit."""
    state = {b"k%d" % i: b"v" for i in range(40)}
    kv = GatedStore()
    tree, _ = opened(state, 0, native, kv)
    changes: dict[bytes, bytes | None] = {b"k1": None, b"k2": b"new", b"fresh": b"f"}
    after = applied(state, changes)
    with tree.transaction() as tx:
        kv.armed = True
        running = tree.start_update(changes)
        assert kv.entered.wait(10)
        refused = [
            lambda: tree.root,
            lambda: tree.prove(b"k3"),
            lambda: tree.update({b"k3": b"x"}),
            lambda: tree.update({}),
            lambda: tree.start_update({b"k3": b"x"}),
            lambda: tree.open(reference_root(state)),
            lambda: tree.load_records(leaf_records(state)),
        ]
        for call in refused:
            with pytest.raises(RuntimeError, match="being updated"):
                call()
        with pytest.raises(RuntimeError, match="being updated"), tree.transaction():
            pass
        with pytest.raises(RuntimeError, match="being updated"), tree.rewound({b"k3": None}):
            pass
        assert not running.done()
        kv.gate.set()
        assert running.result() == reference_root(after)
        assert_serves(tree, after, [b"k1", b"k2", b"k3", b"fresh"])
        write_block(kv, changes)
        tx.commit()
    assert_serves(tree, after, [b"k1", b"k2", b"k3", b"fresh"])
    with tree.transaction() as tx:  # the tree takes transactions again, and only one level of them is open
        tree.update({b"k4": None})
    assert_serves(tree, after, [b"k4"])


@pytest.mark.parametrize("native", ENGINES)
def test_a_reload_inside_a_transaction_is_refused_and_changes_nothing(native: bool) -> None:
    """Opening the tree afresh in the middle of a block would drop the block's undo log with the engine: refused."""
    state = {b"k%d" % i: b"v" for i in range(40)}
    tree, kv = opened(state, 0, native)
    with tree.transaction():
        moved = tree.update({b"k1": b"moved"})
        with pytest.raises(RuntimeError, match="inside a transaction"):
            tree.open(reference_root(state))
        with pytest.raises(RuntimeError, match="inside a transaction"):
            tree.load_records(leaf_records(state))
        assert tree.root == moved
    assert_serves(tree, state, [b"k1"])


@pytest.mark.parametrize("native", ENGINES)
def test_a_committed_transaction_left_while_its_update_is_held_is_undone(native: bool) -> None:
    state = {b"k%d" % i: b"v" for i in range(40)}
    kv = GatedStore()
    tree, _ = opened(state, 0, native, kv)
    kv.armed = True
    releaser = threading.Timer(0.2, kv.gate.set)
    with pytest.raises(RuntimeError, match="ended while"), tree.transaction() as tx:
        tree.start_update({b"k1": b"changed", b"k9": None})
        assert kv.entered.wait(10)
        tx.commit()
        releaser.start()
    releaser.join()
    assert_serves(tree, state, [b"k1", b"k9"])
    with tree.transaction():  # no transaction was left open underneath
        tree.update({b"k2": None})
    assert_serves(tree, state, [b"k2"])


@pytest.mark.parametrize("native", ENGINES)
def test_a_failed_update_on_the_trees_thread_changes_nothing(native: bool) -> None:
    """Two buckets to read, the second read fails: the first bucket's change is undone too."""
    state = {b"k%d" % i: b"v" for i in range(64)}
    kv = FlakyStore()
    tree, _ = opened(state, 0, native, kv)
    before = tree.stats()
    with tree.transaction() as tx:
        kv.fail_after = 1
        running = tree.start_update({k: b"new" for k in state})
        with pytest.raises(StorageError, match="I/O error"):
            running.result()
        kv.fail_after = None
        assert_serves(tree, state, [b"k0", b"k63"])
        tx.commit()
    assert tree.stats() == before
    assert_serves(tree, state, list(state))


# ---- the store under the tree ---------------------------------------------------------------------------------------

def _corruptions(state: dict[bytes, bytes]) -> dict[str, tuple[dict[bytes, bytes], list[bytes]]]:
    """Damage of the stored leaves: name -> (puts, deletes)."""
    keys = sorted(schema.tree_leaf_key(blake2b_256(k)) for k in state)
    return {
        "a missing leaf": ({}, [keys[3]]),
        "an extra leaf": ({schema.tree_leaf_key(blake2b_256(b"never set")): blake2b_256(b"v")}, []),
        "a leaf with the wrong value hash": ({keys[5]: blake2b_256(b"other")}, []),
        "a truncated value hash": ({keys[7]: blake2b_256(b"v")[:31]}, []),
        "a value hash one byte long": ({keys[7]: blake2b_256(b"v") + b"\x00"}, []),
        "a truncated path": ({keys[9][:-1]: blake2b_256(b"v")}, []),
        "a path one byte long": ({keys[9] + b"\x00": blake2b_256(b"v")}, []),
    }


@pytest.mark.parametrize("native", ENGINES)
@pytest.mark.parametrize("damage", list(_corruptions({b"k%d" % i: b"v" for i in range(30)})))
def test_damaged_leaves_are_refused_at_open_and_the_refusal_changes_nothing(native: bool, damage: str) -> None:
    state = {b"k%d" % i: b"v" for i in range(30)}
    tree, kv = opened(state, 5, native)
    head = tree.root
    puts, deletes = _corruptions(state)[damage]
    kv.write(puts, deletes)
    with pytest.raises(StorageError, match="database damaged"):
        StateTree(kv, 5, native=native).open(head)
    fresh = StateTree(kv, 5, native=native)
    with pytest.raises(StorageError, match="database damaged"):
        fresh.open(head)
    assert fresh.root == ZERO_HASH, "a refused open does not serve the damaged leaves' root"
    with pytest.raises(StorageError, match="database damaged"):
        tree.open(head)
    assert tree.root == head, "a refused reopen keeps the tree it had"


@pytest.mark.parametrize("native", ENGINES)
def test_a_bucket_damaged_after_opening_is_refused_when_read(native: bool) -> None:
    """Leaves not held, damaged in the store after the tree opened: updating or proving through them raises and
    changes nothing."""
    state = {b"k%d" % i: b"v" for i in range(30)}
    tree, kv = opened(state, 0, native)
    head = tree.root
    victim = b"k4"
    kv.write({schema.tree_leaf_key(blake2b_256(victim)): blake2b_256(b"v")[:31]})
    with tree.transaction() as tx:
        with pytest.raises(StorageError, match="database damaged"):
            tree.update({victim: b"w"})
        assert tree.root == head
        tx.commit()
    with pytest.raises(StorageError, match="database damaged"):
        tree.prove(victim)
    assert tree.root == head
    kv.write({schema.tree_leaf_key(blake2b_256(victim)): blake2b_256(b"v")})  # repaired
    assert_serves(tree, state, [victim, b"k5"])


@pytest.mark.parametrize("native", ENGINES)
@pytest.mark.parametrize("budget", [0, state_tree.TREE_LEAF_BUDGET])
def test_reopened_after_commits_behind_a_rollback_and_a_batch_still_landing(native: bool, budget: int,
                                                                            tmp_path: Path) -> None:
    rng = random.Random(7)
    state = {rng.randbytes(6): rng.randbytes(3) for _ in range(400)}
    kv = LevelDBStore(tmp_path / "db")
    tree, _ = opened(state, budget, native, kv)
    for round_ in range(5):
        keys = sorted(state)
        changes: dict[bytes, bytes | None] = {k: None for k in rng.sample(keys, 30)}
        changes |= {k: bytes([round_]) for k in rng.sample(keys, 30)} | {rng.randbytes(6): b"n" for _ in range(20)}
        with tree.transaction() as tx:
            tree.update(changes)
            write_block(kv, changes, behind=True)  # the next round reads buckets while this lands
            tx.commit()
        state = applied(state, changes)
        with tree.transaction():  # a block that is not kept
            tree.update({k: b"rolled back" for k in rng.sample(sorted(state), 40)})
        assert_serves(tree, state, rng.sample(sorted(state), 5))
    changes = {k: b"last" for k in rng.sample(sorted(state), 50)}
    with tree.transaction() as tx:
        tree.update(changes)
        write_block(kv, changes, behind=True)
        tx.commit()
    state = applied(state, changes)
    kv.close()  # with the last batch possibly still landing: close lets it land
    kv = LevelDBStore(tmp_path / "db")
    reopened = StateTree(kv, budget, native=native)
    assert reopened.open(reference_root(state)) == len(state)
    assert_serves(reopened, state, rng.sample(sorted(state), 10))
    kv.close()
