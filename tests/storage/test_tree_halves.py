"""The compiled state tree's update in two halves on two threads (`storage/_tree_native.c`, `update_halves`): the
changes hashed by halves, the entries under the tree's left half applied by the calling thread and the right half's by
a helper, the root joined after. It must be the serial update exactly: the same roots, proofs, residency and undo log
(a rollback restores the state before), and a failure in either half changes nothing. Every test here runs every
update in halves (`set_parallel_min(1)`), the differential tests of test_smt.py included."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.hashing import blake2b_256
from storage import state_tree

from .test_smt import Stored, loaded, records_of
from .test_smt import test_engines_match_the_definition_and_each_other_step_by_step as differential
from .test_smt import test_native_and_python_agree_on_a_large_state as large_state
from .tree_support import applied, reference_root

pytestmark = pytest.mark.skipif(not state_tree.NATIVE_ENGINE, reason="the compiled engine is not built")


@pytest.fixture
def halves() -> Iterator[None]:
    from storage import _tree_native  # type: ignore[attr-defined]

    before = _tree_native.set_parallel_min(1)
    runs = _tree_native.halves_run()
    try:
        yield
    finally:
        _tree_native.set_parallel_min(before)
    assert _tree_native.halves_run() > runs, "no update ran in halves"


def left_keys(rng: random.Random, count: int, right: bool = False) -> list[bytes]:
    """Keys whose path's first bit is 0 (the tree's left half), or 1 with `right`."""
    out: list[bytes] = []
    while len(out) < count:
        key = rng.randbytes(8)
        if (blake2b_256(key)[0] >> 7) == int(right):
            out.append(key)
    return out


def test_the_parallel_minimum_is_checked() -> None:
    from storage import _tree_native  # type: ignore[attr-defined]

    with pytest.raises(ValueError):
        _tree_native.set_parallel_min(0)
    with pytest.raises(TypeError):
        _tree_native.set_parallel_min("1")


def test_the_differential_run_holds_in_halves(halves: None) -> None:
    differential()


def test_a_large_state_with_leaves_read_back_holds_in_halves(halves: None) -> None:
    large_state()


@pytest.mark.parametrize("bits", [2, 3, 9])
@pytest.mark.parametrize("budget", [0, 50, 10**6])
def test_halves_give_the_serial_roots_and_a_rollback_restores_everything(halves: None, bits: int, budget: int) -> None:
    """Random rounds of inserts, changes and deletes, in both halves or in one only; each committed or rolled back.
    The halved engine's root, proofs' root and stats equal the Python engine's and the definition's at every step."""
    rng = random.Random(bits * 1000 + budget)
    state = {rng.randbytes(8): rng.randbytes(4) for _ in range(600)}
    halved, stored = loaded("native", state, bits, budget)
    reference, ref_stored = loaded("python", state, bits, budget)
    for round_ in range(12):
        where = round_ % 3  # both halves, only the left, only the right
        pool = sorted(state)
        changes: dict[bytes, bytes | None] = {}
        if where in (0, 1):
            changes.update({k: rng.randbytes(4) for k in left_keys(rng, 40)})
        if where in (0, 2):
            changes.update({k: rng.randbytes(4) for k in left_keys(rng, 40, right=True)})
        changes.update({k: None for k in rng.sample(pool, 30)})
        changes.update({k: b"r%d" % round_ for k in rng.sample(pool, 30)})
        after = applied(state, changes)
        before_stats = halved.stats()
        for engine in (halved, reference):
            engine.begin()
            assert engine.update(changes) == reference_root(after)
        assert halved.stats() == reference.stats()
        if rng.random() < 0.4:
            for engine in (halved, reference):
                engine.rollback()
                assert engine.root == reference_root(state)
            assert halved.stats() == before_stats == reference.stats()
            continue
        for engine, store in ((halved, stored), (reference, ref_stored)):
            store.state = dict(after)
            engine.commit()
        state = after
        assert halved.stats() == reference.stats()
    assert halved.root == reference_root(state)


@pytest.mark.parametrize("where", ["left", "right", "both"])
def test_a_failing_read_in_a_half_changes_nothing(halves: None, where: str) -> None:
    """No bucket held (budget 0): the right half's buckets are read back by the calling thread before the helper
    starts, the left half's while it runs. A read that fails, in either, raises StorageError, and the rollback leaves
    the tree as it was."""
    rng = random.Random(3)
    state = {rng.randbytes(8): rng.randbytes(4) for _ in range(400)}
    stored = Stored(state, 4)
    broken = False

    def fetch(bucket: int) -> bytes:
        if broken:
            raise StorageError("disk gone")
        return stored.fetch(bucket)

    engine = state_tree.make_engine(4, 0, fetch, native=True)
    engine.load(records_of(state))
    engine.finish_load()
    first = {k: b"1" for k in left_keys(rng, 20) + left_keys(rng, 20, right=True)}  # read back, in halves
    engine.begin()
    engine.update(first)
    state = applied(state, first)
    stored.state = state
    engine.commit()
    assert engine.root == reference_root(state)
    root, stats = engine.root, engine.stats()
    changes: dict[bytes, bytes | None] = {}
    if where in ("left", "both"):
        changes.update({k: b"x" for k in left_keys(rng, 30)})
    if where in ("right", "both"):
        changes.update({k: b"y" for k in left_keys(rng, 30, right=True)})
    broken = True
    engine.begin()
    with pytest.raises(StorageError, match="disk gone"):
        engine.update(changes)
    engine.rollback()
    assert engine.root == root and engine.stats() == stats
