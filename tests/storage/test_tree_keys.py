"""The index of the flat state's keys by path (`k:`), which a warp-sync server lists a prefix's keys from: written with
genesis (whole or in batches), kept exact by every chain update (a key that appears gets its entry, one that
disappears loses it, a changed value costs nothing), through reorganisations, retractions, reverts and restarts, on
memory and LevelDB alike; listed by path range; and built from the flat state for an earlier version's database,
cut off or not."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from btt_chain.node.block_io import revert_blocks
from btt_chain.node.chain import Chain
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import dev_keypair
from genesis.build import Genesis
from runtime.system import storage as system
from storage import chaindb, schema, state_tree
from storage.chaindb import ChainDB, ChainUpdate
from storage.kv import KeyValueStore
from storage.leveldb import LevelDBStore
from storage.memory import MemoryStore
from storage.smt import prefix_bounds
from storage.state_tree import leaf_records
from tests.support.node_builder import (
    UNIT,
    author_as_leader,
    block_bytes,
    dev_genesis,
    devnet_genesis,
    far_future_ms,
    transfer,
)

from .tree_support import applied, assert_state_books, stored_flat_state


@pytest.fixture(params=["memory", "leveldb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyValueStore]:
    kv: KeyValueStore = MemoryStore() if request.param == "memory" else LevelDBStore(tmp_path / "db")
    with kv:
        yield kv


def open_store(kind: str, path: Path) -> KeyValueStore:
    return MemoryStore() if kind == "memory" else LevelDBStore(path)


@pytest.fixture(scope="module")
def genesis() -> Genesis:
    return dev_genesis()


def initialised(kv: KeyValueStore, genesis: Genesis, extra: dict[bytes, bytes] | None = None) -> ChainDB:
    state = {**genesis.state, **(extra or {})}
    db = ChainDB(kv)
    db.initialise(genesis.block, state, leaf_records(state), genesis.spec_json)
    return db


def head_update(db: ChainDB, changes: dict[bytes, bytes | None]) -> ChainUpdate:
    """An update that changes the state only (the database does not check blocks against it)."""
    h = db.head_hash()
    header = db.get_header(h)
    assert header is not None
    return ChainUpdate(header, h, changes)


# ---- genesis -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch", [chaindb.GENESIS_BATCH_ENTRIES, 40])
def test_genesis_writes_every_keys_entry(store: KeyValueStore, genesis: Genesis, batch: int,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chaindb, "GENESIS_BATCH_ENTRIES", batch)
    initialised(store, genesis, {bytes([i % 256]) * (i % 5 + 1) + b"%d" % i: b"v%d" % i for i in range(300)})
    state = assert_state_books(store)
    assert len(state) == len(genesis.state) + 300


# ---- chain updates -------------------------------------------------------------------------------------------------

POOL = [b"pool-%d" % i for i in range(40)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_updates_keep_the_index_exact(store: KeyValueStore, genesis: Genesis, seed: int) -> None:
    """Keys created, overwritten, deleted, deleted while absent, created again; written at once or behind, the
    state cache warm or cold: after every update each flat-state key has its entry and no other entry exists."""
    rng = random.Random(seed)
    db = initialised(store, genesis)
    state = stored_flat_state(store)
    genesis_keys = sorted(state)
    for step in range(60):
        changes: dict[bytes, bytes | None] = {}
        for _ in range(rng.randrange(0, 12)):
            key = rng.choice(POOL) if rng.random() < 0.8 else rng.choice(genesis_keys)
            changes[key] = None if rng.random() < 0.4 else rng.randbytes(rng.randrange(0, 6))
        if step % 7 == 3:
            db.state.forget()  # "before" read from the store, not the cache
        behind = isinstance(store, LevelDBStore) and step % 2 == 0
        db.apply_update(head_update(db, changes), behind=behind)
        state = applied(state, changes)
        assert assert_state_books(store) == state


def test_a_changed_value_costs_no_hash_and_no_index_write(genesis: Genesis, monkeypatch: pytest.MonkeyPatch) -> None:
    db = initialised(MemoryStore(), genesis, {b"old-%d" % i: b"x" for i in range(50)})
    hashed: list[bytes] = []
    real = chaindb.blake2b_256

    def counting(data: bytes) -> bytes:
        hashed.append(data)
        return real(data)

    monkeypatch.setattr(chaindb, "blake2b_256", counting)
    updates: dict[bytes, bytes | None] = {b"old-%d" % i: b"y%d" % i for i in range(50)}
    prepared = db.prepare_update(head_update(db, {**updates, b"never-there": None}))
    assert hashed == []
    assert not any(k.startswith(schema.TREE_KEY) for k in [*prepared.puts, *prepared.deletes])
    prepared = db.prepare_update(head_update(db, {b"old-1": None, b"fresh": b"z", b"old-2": b"w"}))
    assert sorted(hashed) == sorted([b"old-1", b"fresh"])
    assert prepared.puts[schema.tree_key_key(blake2b_256(b"fresh"))] == b"fresh"
    assert schema.tree_key_key(blake2b_256(b"old-1")) in prepared.deletes
    assert [k for k in prepared.puts if k.startswith(schema.TREE_KEY)] == [schema.tree_key_key(blake2b_256(b"fresh"))]


# ---- listing by path -----------------------------------------------------------------------------------------------

def test_keys_by_path_lists_a_range_in_path_order(store: KeyValueStore, genesis: Genesis) -> None:
    db = initialised(store, genesis, {b"acct-%d" % i: b"v" for i in range(700)})
    changes: dict[bytes, bytes | None] = {b"acct-%d" % i: None for i in range(0, 700, 9)}
    changes.update({b"late-%d" % i: b"w" for i in range(40)})
    # written behind on LevelDB: the listing sees a batch still landing
    db.apply_update(head_update(db, changes), behind=isinstance(store, LevelDBStore))
    state = stored_flat_state(store)
    everything = sorted((blake2b_256(k), k) for k in state)
    assert list(db.keys_by_path(bytes(32))) == everything
    assert list(db.keys_by_path(b"")) == everything
    rng = random.Random(5)
    for _ in range(30):
        lo, hi = sorted([rng.randbytes(32), rng.randbytes(32)])
        assert list(db.keys_by_path(lo, hi)) == [(p, k) for p, k in everything if lo <= p < hi]
        assert list(db.keys_by_path(hi, lo)) == []
    assert list(db.keys_by_path(everything[5][0], everything[5][0])) == []
    assert list(db.keys_by_path(everything[5][0], everything[6][0])) == [everything[5]]
    for depth in (0, 1, 3, 6):
        listed = []
        for index in range(1 << depth):
            start, end = prefix_bounds(depth, index)
            listed += list(db.keys_by_path(start, end))
        assert listed == everything
    with pytest.raises(TypeError):
        db.keys_by_path("00", None)  # type: ignore[arg-type]


# ---- a chain: reorganisations, retractions, reverts, restarts ------------------------------------------------------

@pytest.mark.parametrize("kind", ["memory", "leveldb"])
def test_reorganisations_retractions_and_reverts_keep_the_index_exact(kind: str, tmp_path: Path) -> None:
    """Two forks paying accounts that do not exist yet (keys created): a node follows one, reorganises to the other
    and back (retract and enact, some blocks from their redo journals: the other fork's accounts deleted, these
    created again), is retracted and reverted (the accounts created above deleted), goes on, and is reopened; the
    index is exact at every step. (Forward blocks that delete keys: the random updates above.)"""
    g = devnet_genesis(2)
    a = Chain(MemoryStore(), g)
    b = Chain(MemoryStore(), g)
    for i in range(4):
        author_as_leader(a, ("alice",), [transfer(a, "alice", f"a-new-{i}", (i + 1) * UNIT)])
    for i in range(5):
        author_as_leader(b, ("bob",), [transfer(b, "eve", f"b-new-{i}", UNIT)])
    kv = open_store(kind, tmp_path / "db")
    chain = Chain(kv, g)
    assert_state_books(kv)

    def bring(src: Chain, numbers: range) -> None:
        for n in numbers:
            chain.import_block(block_bytes(src, n), far_future_ms())
            assert_state_books(kv)

    bring(b, range(1, 4))
    bring(a, range(1, 5))  # four blocks beat three: the fork
    assert chain.head_hash == a.head_hash
    assert stored_flat_state(kv) == stored_flat_state(a.db.kv)
    bring(b, range(4, 6))  # five beat four: back, b's first blocks from their redo journals
    assert chain.head_hash == b.head_hash
    assert stored_flat_state(kv) == stored_flat_state(b.db.kv)
    assert len(chain.retract_to(2)) == 3  # the accounts b's last three blocks created go
    state = assert_state_books(kv)
    assert [_account_key(f"b-new-{i}") in state for i in range(5)] == [True, True, False, False, False]
    assert revert_blocks(chain, 1) == 1
    state = assert_state_books(kv)
    assert [_account_key(f"b-new-{i}") in state for i in range(5)] == [True, False, False, False, False]
    author_as_leader(chain, ("alice", "bob"), [transfer(chain, "alice", "after-revert", UNIT)])
    assert_state_books(kv)
    if kind == "leveldb":
        kv.close()
        kv = LevelDBStore(tmp_path / "db")
        reopened = Chain(kv, g)
        assert_state_books(kv)
        author_as_leader(reopened, ("alice", "bob"), [transfer(reopened, "alice", "after-restart", UNIT)])
        assert_state_books(kv)
    kv.close()


def _account_key(name: str) -> bytes:
    return system.account.key(dev_keypair(name).public)


# ---- an earlier version's database ---------------------------------------------------------------------------------

def without_index(kv: KeyValueStore) -> None:
    """Make a database look written by a version without the key index."""
    kv.write({}, [*(k for k, _ in kv.iterate(schema.TREE_KEY)), schema.META_TREE_KEYS])


@pytest.mark.parametrize("kind", ["memory", "leveldb"])
def test_an_earlier_versions_database_gets_its_index_when_opened(kind: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chaindb, "GENESIS_BATCH_ENTRIES", 7)  # several batches, progress said between
    g = devnet_genesis(2)
    kv = open_store(kind, tmp_path / "db")
    chain = Chain(kv, g)
    for i in range(3):
        author_as_leader(chain, ("alice", "bob"), [transfer(chain, "alice", f"new-{i}", UNIT)])
    head, root = chain.head_hash, chain.head.state_root
    without_index(kv)
    said: list[str] = []
    assert ChainDB(kv).ensure_tree_leaves(said.append) is False  # the leaves were there: only the index is built
    assert said[0].startswith("this database is from an earlier version: indexing")
    assert said[-1] == f"indexed {len(stored_flat_state(kv))} keys by path"
    assert_state_books(kv)
    assert ChainDB(kv).ensure_tree_keys() is False
    without_index(kv)
    if kind == "leveldb":
        kv.close()
        kv = LevelDBStore(tmp_path / "db")
    reopened = Chain(kv, g)  # opening is what builds it
    assert reopened.head_hash == head and reopened.tree.root == root
    assert_state_books(kv)
    author_as_leader(reopened, ("alice", "bob"), [transfer(reopened, "alice", "later", UNIT)])
    assert_state_books(kv)
    kv.close()


def test_an_index_build_cut_off_is_done_again(genesis: Genesis, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after some entries are written and before the marker: the next attempt starts over, and an entry left
    by the attempt for a key deleted since (an earlier version ran in between) does not survive it."""
    monkeypatch.setattr(chaindb, "GENESIS_BATCH_ENTRIES", 10)
    kv = MemoryStore()
    initialised(kv, genesis)
    without_index(kv)
    calls = 0
    real_write = MemoryStore.write

    def dying(self: MemoryStore, puts: Any, deletes: Any = (), sync: bool = False) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError("killed")
        real_write(self, puts, deletes, sync)

    monkeypatch.setattr(MemoryStore, "write", dying)
    with pytest.raises(OSError, match="killed"):
        ChainDB(kv).ensure_tree_keys()
    monkeypatch.setattr(MemoryStore, "write", real_write)
    assert kv.get(schema.META_TREE_KEYS) is None
    assert 0 < len(list(kv.iterate(schema.TREE_KEY))) < len(stored_flat_state(kv))
    # the entry of a key that an earlier version, run in between, deleted from the flat state
    kv.write({schema.tree_key_key(blake2b_256(b"gone-later")): b"gone-later"})
    assert ChainDB(kv).ensure_tree_keys() is True
    assert_state_books(kv)
    assert ChainDB(kv).ensure_tree_keys() is False


def test_compiled_and_python_key_chunks_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(8)
    state = {rng.randbytes(rng.randrange(1, 12)): b"" for _ in range(500)}
    state[b""] = b""
    compiled = list(state_tree.tree_key_chunks(state, 64))
    monkeypatch.setattr(state_tree, "_native", None)
    python = list(state_tree.tree_key_chunks(state, 64))
    assert [list(c.items()) for c in compiled] == [list(c.items()) for c in python]
    assert [len(c) for c in python] == [64] * (len(state) // 64) + [len(state) % 64]
    flat = [item for c in python for item in c.items()]
    assert flat == sorted((schema.tree_key_key(blake2b_256(k)), k) for k in state)
    with pytest.raises(TypeError):
        list(state_tree.tree_key_chunks({"k": b""}, 10))  # type: ignore[dict-item]
