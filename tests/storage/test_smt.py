"""The state tree's engines against the tree's definition: canonical roots, deletes, transactions, proofs, leaves
held or read back, damaged leaves, bad arguments. Every test runs on the compiled engine and the Python one, and a
differential test holds the two to each other step by step."""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import DecodeError, StorageError
from btt_chain.primitives.hashing import blake2b_256
from storage import state_tree
from storage.smt import EMPTY_ROOT, SmtProof, verify_proof
from storage.tree_engine import MAX_BUCKET_BITS, PyTreeEngine, bucket_of

from .tree_support import applied, reference_root

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENGINES = ["native", "python"] if state_tree.NATIVE_ENGINE else ["python"]

keys = st.binary(min_size=0, max_size=6)
values = st.binary(min_size=0, max_size=6)
states = st.dictionaries(keys, values, max_size=40)
change_sets = st.dictionaries(keys, st.one_of(st.none(), values), max_size=12)


def records_of(state: dict[bytes, bytes]) -> bytes:
    return b"".join(sorted(blake2b_256(k) + blake2b_256(v) for k, v in state.items()))


class Stored:
    """The leaves a node's database would hold: the committed state, read back by bucket."""

    def __init__(self, state: dict[bytes, bytes], bits: int) -> None:
        self.bits = bits
        self.reads = 0
        self.state = state

    @property
    def state(self) -> dict[bytes, bytes]:
        return self._state

    @state.setter
    def state(self, state: dict[bytes, bytes]) -> None:
        self._state = dict(state)
        self._buckets: dict[int, list[bytes]] = {}
        for path, value in sorted((blake2b_256(k), blake2b_256(v)) for k, v in state.items()):
            self._buckets.setdefault(bucket_of(path, self.bits), []).append(path + value)

    def fetch(self, bucket: int) -> bytes:
        self.reads += 1
        return b"".join(self._buckets.get(bucket, []))


def make(kind: str, bits: int, budget: int, fetch: Callable[[int], bytes]) -> state_tree.Engine:
    return state_tree.make_engine(bits, budget, fetch, native=kind == "native")


def loaded(
    kind: str, state: dict[bytes, bytes], bits: int = 3, budget: int = 10**6
) -> tuple[state_tree.Engine, Stored]:
    stored = Stored(state, bits)
    engine = make(kind, bits, budget, stored.fetch)
    engine.load(records_of(state))
    engine.finish_load()
    return engine, stored



def proof_of(engine: state_tree.Engine, key: bytes) -> SmtProof:
    siblings, leaf = engine.prove(key)
    return SmtProof(tuple(siblings), None if leaf is None else (leaf[:32], leaf[32:]))


each_engine = pytest.mark.parametrize("kind", ENGINES)


def test_the_compiled_hash_is_blake2b_256() -> None:
    if not state_tree.NATIVE_ENGINE:
        pytest.skip("the compiled engine is not built")
    from storage import _tree_native  # type: ignore[attr-defined]

    for n in (0, 1, 64, 65, 127, 128, 129, 1000):
        data = os.urandom(n)
        assert _tree_native.blake2b_256(data) == hashlib.blake2b(data, digest_size=32).digest()


@each_engine
def test_empty_tree(kind: str) -> None:
    engine, _ = loaded(kind, {})
    assert engine.root == EMPTY_ROOT
    assert verify_proof(EMPTY_ROOT, b"k", None, proof_of(engine, b"k"))
    assert not verify_proof(EMPTY_ROOT, b"k", b"v", proof_of(engine, b"k"))


@each_engine
def test_single_leaf_is_the_root(kind: str) -> None:
    for bits in (0, 1, 5):
        engine, _ = loaded(kind, {b"k": b"v"}, bits)
        assert engine.root == blake2b_256(b"\x00" + blake2b_256(b"k") + blake2b_256(b"v"))
        assert proof_of(engine, b"k").siblings == ()


@each_engine
@SETTINGS
@given(state=states, data=st.data())
def test_root_depends_only_on_the_final_set(kind: str, state: dict[bytes, bytes], data: st.DataObject) -> None:
    bits = data.draw(st.integers(0, 7))
    engine, _ = loaded(kind, {}, bits)
    items = list(state.items())
    data.draw(st.randoms()).shuffle(items)
    cut = data.draw(st.integers(0, len(items)))
    engine.update({b"seed": b"x", **dict(items[:cut])})
    engine.update({b"seed": None, **dict(items[cut:])})
    assert engine.root == reference_root(state)
    fresh, _ = loaded(kind, state, bits)
    assert fresh.root == engine.root


@SETTINGS
@given(start=states, steps=st.lists(st.tuples(change_sets, st.sampled_from(["commit", "rollback", "nested"])),
                                    max_size=6),
       bits=st.integers(0, 6), budget=st.sampled_from([0, 1, 3, 10, 10**6]))
def test_engines_match_the_definition_and_each_other_step_by_step(
    start: dict[bytes, bytes], steps: list[tuple[dict[bytes, bytes | None], str]], bits: int, budget: int
) -> None:
    """Both engines through the same updates, commits, rollbacks and nested rollbacks, their leaves held or read
    back from the committed store: roots, proofs and residency agree with each other and roots with the
    definition at every step."""
    engines = [loaded(k, start, bits, budget) for k in ENGINES]
    state = dict(start)
    for changes, action in steps:
        after = applied(state, changes)
        for engine, _ in engines:
            engine.begin()
            assert engine.update(changes) == reference_root(after)
            if action == "nested":
                engine.begin()
                engine.update({k: None for k in list(after)[:3]})
                engine.rollback()
                assert engine.root == reference_root(after)
            for key in [*list(after)[:4], b"absent-key"]:
                assert verify_proof(engine.root, key, after.get(key), proof_of(engine, key))
        if action == "rollback":
            for engine, _ in engines:
                engine.rollback()
                assert engine.root == reference_root(state)
            continue
        for engine, stored in engines:
            stored.state = dict(after)  # the node writes the block before it commits the tree
            engine.commit()
        state = after
    assert len({repr(engine.stats()) for engine, _ in engines}) == 1


@each_engine
@SETTINGS
@given(state=st.dictionaries(keys, values, min_size=1, max_size=40))
def test_inclusion_and_exclusion_proofs(kind: str, state: dict[bytes, bytes]) -> None:
    engine, _ = loaded(kind, state, bits=2)
    root = engine.root
    for key, value in state.items():
        proof = proof_of(engine, key)
        assert verify_proof(root, key, value, proof)
        assert not verify_proof(root, key, value + b"!", proof)
        assert not verify_proof(root, key, None, proof)
        assert SmtProof.from_wire(unpack(pack(proof.to_wire()))) == proof
    for i in range(20):
        key = b"absent" + bytes([i])
        if key in state:
            continue
        proof = proof_of(engine, key)
        assert verify_proof(root, key, None, proof)
        assert not verify_proof(root, key, b"", proof)
        if proof.leaf is not None:  # the leaf found is another key's, in the subtree this key would take
            assert proof.leaf[0] != blake2b_256(key)


@pytest.mark.parametrize("wire", [None, [], [[], [], []], [[b"x"], []], [[bytes(32)] * 257, []],
                                  [[], [b"a"]], [[], [bytes(32), b"short"]], [[], 5]])
def test_malformed_wire_proof_is_rejected(wire: object) -> None:
    with pytest.raises(DecodeError):
        SmtProof.from_wire(wire)


def ground_keys(bits: int, count: int, seed: int = 0) -> list[bytes]:
    """Keys whose paths share their first `bits` bits: long chains of one-sided nodes below the buckets."""
    rng = random.Random(seed)
    want = None
    found: list[bytes] = []
    while len(found) < count:
        key = rng.randbytes(8)
        top = int.from_bytes(blake2b_256(key)[:4], "big") >> (32 - bits)
        if want is None:
            want = top
        if top == want:
            found.append(key)
    return found


@each_engine
@pytest.mark.parametrize("bits", [0, 4, 9])
def test_chains_of_one_sided_nodes(kind: str, bits: int) -> None:
    ground = ground_keys(14, 3)
    state = {k: b"v" + k for k in ground}
    state.update({os.urandom(4): b"w" for _ in range(30)})
    engine, stored = loaded(kind, {}, bits, budget=5)

    def block(changes: dict[bytes, bytes | None]) -> None:
        """As the node does: update, write the leaves to the store, then commit (which may evict)."""
        engine.begin()
        engine.update(changes)
        stored.state = applied(stored.state, changes)
        engine.commit()

    block(dict(state))
    assert engine.root == reference_root(state)
    for key in ground:
        proof = proof_of(engine, key)
        assert len(proof.siblings) >= 14
        assert verify_proof(engine.root, key, state[key], proof)
    state = applied(state, {ground[0]: None, ground[1]: None})
    block({ground[0]: None, ground[1]: None})  # the last one of them lifts all the way up
    assert engine.root == reference_root(state)
    assert verify_proof(engine.root, ground[2], state[ground[2]], proof_of(engine, ground[2]))


@each_engine
def test_no_op_changes_keep_the_root(kind: str) -> None:
    state = {b"a": b"1", b"b": b"2", b"c": b""}
    engine, _ = loaded(kind, state)
    root = engine.root
    assert engine.update({b"a": b"1", b"zz-absent": None}) == root
    assert engine.update({}) == root
    engine.begin()
    engine.update({b"c": b""})
    engine.rollback()
    assert engine.root == root


@each_engine
def test_update_does_not_mutate_its_input(kind: str) -> None:
    engine, _ = loaded(kind, {b"a": b"1"})
    changes: dict[bytes, bytes | None] = {b"a": None, b"b": b"2"}
    engine.update(changes)
    assert changes == {b"a": None, b"b": b"2"}


@pytest.mark.parametrize(("changes", "message"), [
    ({1: b"v"}, "state keys must be bytes, got int"),
    ({b"k": "v"}, "state values must be bytes or None, got str"),
    ({(b"k",): b"v"}, "state keys must be bytes, got tuple"),
    ({b"k": memoryview(b"v")}, "state values must be bytes or None, got memoryview"),
])
@each_engine
def test_wrong_types_are_refused_and_change_nothing(kind: str, changes: dict, message: str) -> None:
    engine, _ = loaded(kind, {b"a": b"1"})
    root = engine.root
    with pytest.raises(TypeError, match=message):
        engine.update({b"first": b"x", **changes})
    assert engine.root == root and engine.depth == 0


@each_engine
def test_bad_construction_and_transaction_misuse(kind: str) -> None:
    for bits in (-1, MAX_BUCKET_BITS + 1):
        with pytest.raises(ValueError, match="bucket_bits must be"):
            make(kind, bits, 0, lambda b: b"")
    engine, _ = loaded(kind, {})
    with pytest.raises(RuntimeError, match="commit without a transaction"):
        engine.commit()
    with pytest.raises(RuntimeError, match="rollback without a transaction"):
        engine.rollback()
    with pytest.raises(TypeError, match="state keys must be bytes"):
        engine.prove("k")  # type: ignore[arg-type]


@each_engine
@pytest.mark.parametrize("damage", ["partial", "order", "elsewhere", "not-bytes"])
def test_damaged_leaves_read_back_raise_and_change_nothing(kind: str, damage: str) -> None:
    """A bucket read from the database that is not whole records, out of order or of another bucket is damage:
    StorageError, and the update that read it changed nothing (the buckets before it included)."""
    state = {os.urandom(6): os.urandom(3) for _ in range(200)}
    engine, stored = loaded(kind, state, bits=4, budget=0)  # nothing held: every bucket is read back
    root = engine.root
    good = stored.fetch

    def bad(bucket: int) -> bytes:
        raw = good(bucket)
        if bucket < 8:
            return raw
        if damage == "partial":
            return raw[:-1]
        if damage == "order":
            return raw[64:128] + raw[:64] + raw[128:]
        if damage == "elsewhere":
            return good((bucket + 1) % 16)
        return bytearray(raw)  # type: ignore[return-value]

    broken = make(kind, 4, 0, bad)
    broken.load(records_of(state))
    broken.finish_load()
    changes: dict[bytes, bytes | None] = {k: b"new" for k in state}
    with pytest.raises(StorageError, match="database damaged"):
        broken.update(changes)
    assert broken.root == root and broken.depth == 0
    assert engine.update(changes) == reference_root(applied(state, changes))


@each_engine
def test_a_failing_read_mid_update_changes_nothing(kind: str) -> None:
    state = {os.urandom(6): os.urandom(3) for _ in range(100)}
    stored = Stored(state, 3)
    calls = 0

    def flaky(bucket: int) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise StorageError("cannot read database: disk gone")
        return stored.fetch(bucket)

    engine = make(kind, 3, 0, flaky)
    engine.load(records_of(state))
    engine.finish_load()
    root = engine.root
    engine.begin()
    with pytest.raises(StorageError, match="disk gone"):
        engine.update({k: b"x" for k in state})
    assert engine.root == root and engine.depth == 1
    engine.rollback()
    assert engine.update({k: b"x" for k in state}) == reference_root({k: b"x" for k in state})


@each_engine
@pytest.mark.parametrize("damage", ["partial", "order", "repeat"])
def test_leaves_loaded_out_of_order_are_refused(kind: str, damage: str) -> None:
    records = records_of({b"a": b"1", b"b": b"2", b"c": b"3"})
    engine = make(kind, 2, 100, lambda b: b"")
    if damage == "partial":
        bad = records[:-3]
    elif damage == "order":
        bad = records[64:128] + records[:64] + records[128:]
    else:
        bad = records[:64] + records[:64]
    with pytest.raises(StorageError, match="database damaged"):
        engine.load(bad)


@each_engine
def test_a_bucket_read_back_is_held_for_the_update_and_the_budget_holds_after_commit(kind: str) -> None:
    state = {os.urandom(6): os.urandom(3) for _ in range(400)}
    engine, stored = loaded(kind, state, bits=5, budget=100)
    assert engine.stats()["resident_leaves"] <= 100
    for round_ in range(5):
        changes = {k: bytes([round_]) for k in random.Random(round_).sample(sorted(state), 60)}
        engine.begin()
        engine.update(changes)
        state = applied(state, changes)
        stored.state = dict(state)
        engine.commit()
        assert engine.root == reference_root(state)
        assert engine.stats()["resident_leaves"] <= 100
    before = stored.reads
    key = next(iter(state))
    assert verify_proof(engine.root, key, state[key], proof_of(engine, key))
    assert stored.reads >= before


def test_native_and_python_agree_on_a_large_state() -> None:
    if not state_tree.NATIVE_ENGINE:
        pytest.skip("the compiled engine is not built")
    rng = random.Random(7)
    state = {rng.randbytes(10): rng.randbytes(5) for _ in range(20_000)}
    engines = [loaded(k, state, bits=11, budget=8_000) for k in ENGINES]
    assert engines[0][0].root == engines[1][0].root == reference_root(state)
    for round_ in range(4):
        changes: dict[bytes, bytes | None] = {k: None for k in rng.sample(sorted(state), 500)}
        changes.update({rng.randbytes(10): rng.randbytes(5) for _ in range(700)})
        changes.update({k: b"%d" % round_ for k in rng.sample(sorted(state), 800)})
        state = applied(state, changes)
        for engine, stored in engines:
            engine.begin()
            engine.update(changes)
            stored.state = dict(state)
            engine.commit()
        assert engines[0][0].root == engines[1][0].root
        assert engines[0][0].stats() == engines[1][0].stats()
    assert engines[0][0].root == reference_root(state)


def test_python_engine_is_the_one_without_a_compiler() -> None:
    engine = state_tree.make_engine(2, 10, lambda b: b"", native=False)
    assert isinstance(engine, PyTreeEngine)
    if not state_tree.NATIVE_ENGINE:
        with pytest.raises(StorageError, match="not built"):
            state_tree.make_engine(2, 10, lambda b: b"", native=True)
