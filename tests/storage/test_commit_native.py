"""The commit's compiled loops (storage/_commit_native.c) against their Python twins: `FlatState.get_many`,
`FlatState.appearing` and `schema.put_state`, on random changes across writes, deletes and the cache's generations
turning over mid-call, with keys cached, in the old generation and only in the store."""

from __future__ import annotations

import random

import pytest

from storage import chaindb, schema
from storage.chaindb import FlatState
from storage.memory import MemoryStore

pytestmark = pytest.mark.skipif(chaindb._commit_native is None, reason="storage/_commit_native.c is not built")


def _twins(kv: MemoryStore, entries: int) -> tuple[FlatState, FlatState]:
    return FlatState(kv, cache_entries=entries), FlatState(kv, cache_entries=entries)


def test_the_compiled_loops_are_their_python_twins(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(12)
    for entries in (2, 7, 64):
        kv = MemoryStore()
        compiled, python = _twins(kv, entries)
        keys = [b"k%d" % i for i in range(40)]
        for _ in range(400):
            if rng.random() < 0.3:
                changes = {rng.choice(keys): (None if rng.random() < 0.3 else rng.randbytes(3)) for _ in range(4)}
                kv.write({schema.state_key(k): v for k, v in changes.items() if v is not None},
                         [schema.state_key(k) for k, v in changes.items() if v is None])
                compiled.changed(changes)
                python.changed(changes)
            asked = [rng.choice(keys) for _ in range(rng.randrange(0, 15))]
            changes = {k: (None if rng.random() < 0.4 else b"v") for k in asked}
            got = (compiled.get_many(asked), compiled.appearing(changes))
            with monkeypatch.context() as m:
                m.setattr(chaindb, "_commit_native", None)
                expected = (python.get_many(asked), python.appearing(changes))
            assert got == expected
            assert (compiled._cache, compiled._old) == (python._cache, python._old)  # the same generations


def test_put_state_is_its_python_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(13)
    changes = {rng.randbytes(rng.choice([0, 5, 80])): rng.choice([None, b"", rng.randbytes(9)]) for _ in range(200)}
    puts: dict[bytes, bytes] = {b"other": b"x"}
    deletes: list[bytes] = [b"gone"]
    schema.put_state(puts, deletes, changes)
    monkeypatch.setattr(schema, "_commit_native", None)
    expected_puts: dict[bytes, bytes] = {b"other": b"x"}
    expected_deletes: list[bytes] = [b"gone"]
    schema.put_state(expected_puts, expected_deletes, changes)
    assert list(puts.items()) == list(expected_puts.items()) and deletes == expected_deletes
