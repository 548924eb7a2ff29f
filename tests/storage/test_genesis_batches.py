"""A large genesis is written in batches: all or nothing still, a cut-off attempt leaves no trace in the next one,
and the tree loaded from a genesis's leaves is the very tree updates make."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from btt_chain.node.chain import Chain
from btt_chain.primitives.errors import StorageError
from genesis.build import Genesis, build_genesis, genesis_config
from genesis.loader import load_chain_spec, materialise, parse_chain_spec
from runtime.genesis import GenesisBalance
from storage import chaindb, schema
from storage.leveldb import LevelDBStore
from storage.memory import MemoryStore
from storage.smt import verify_proof
from storage.state_tree import StateTree, leaf_records, tree_root

from .tree_support import assert_state_books

GENESIS_TIME_MS = 1_700_000_000_000


@pytest.fixture(scope="module")
def genesis() -> Genesis:
    return build_genesis(parse_chain_spec(materialise(load_chain_spec("dev").raw, GENESIS_TIME_MS)))


class CutOff(MemoryStore):
    """A store whose process dies (raises) at its `after`-th write."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def write(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes] = (), sync: bool = False) -> None:
        self.after -= 1
        if self.after == 0:
            raise OSError("killed")
        super().write(puts, deletes, sync)


def test_batched_genesis_equals_one_batch(genesis: Genesis, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = MemoryStore()
    Chain(whole, genesis)
    monkeypatch.setattr(chaindb, "GENESIS_BATCH_ENTRIES", 50)
    batched = MemoryStore()
    Chain(batched, genesis)
    assert list(batched.iterate()) == list(whole.iterate())
    assert batched.get(schema.META_INITIALISING) is None
    assert_state_books(batched)


def test_cut_off_genesis_is_wiped_before_the_next_attempt(genesis: Genesis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chaindb, "GENESIS_BATCH_ENTRIES", 50)
    # a first attempt with an extra state key, killed mid-way
    junk = {**genesis.state, b"left.over/key": b"junk"}
    other = dataclasses.replace(genesis, state=junk, leaves=leaf_records(junk))
    kv = CutOff(after=4)
    with pytest.raises(OSError, match="killed"):
        Chain(kv, other)
    assert kv.get(schema.META_HEAD) is None and kv.get(schema.META_GENESIS_HASH) is None
    assert kv.get(schema.META_INITIALISING) is not None
    with pytest.raises(StorageError, match="never initialised"):
        chaindb.ChainDB(kv).head_hash()
    # the restarted node initialises the real genesis: nothing of the first attempt survives
    kv.after = -1
    Chain(kv, genesis)
    reference = MemoryStore()
    Chain(reference, genesis)
    assert list(kv.iterate()) == list(reference.iterate())


def test_a_tree_loaded_from_leaves_is_the_tree_updates_make() -> None:
    state = {os.urandom(8) + bytes([i % 7]): os.urandom(i % 50) for i in range(3000)}
    state[b"empty-value"] = b""
    fresh_root = tree_root(leaf_records(state))
    tree = StateTree(MemoryStore())
    items = list(state.items())
    with tree.transaction() as tx:
        tree.update({b"seed": b"x"})  # a one-key tree, grown below by ordinary updates
        for i in range(0, len(items), 700):
            tree.update(dict(items[i : i + 700]))
        root = tree.update({b"seed": None, b"gone": None})
        tx.commit()
    assert root == fresh_root
    assert verify_proof(root, b"empty-value", b"", tree.prove(b"empty-value"))
    assert tree_root(leaf_records({})) == tree_root(b"") == bytes(32)


class Recording(MemoryStore):
    """A store that keeps each batch's keys, in the order the batches came."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[bytes]] = []

    def write(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes] = (), sync: bool = False) -> None:
        self.batches.append(list(puts))
        super().write(puts, deletes, sync)


def test_a_large_genesis_reaches_the_store_in_key_order(genesis: Genesis, monkeypatch: pytest.MonkeyPatch) -> None:
    """Key index, tree leaves, then state, each batch above the one before: what lets LevelDB skip rewriting a big
    genesis."""
    monkeypatch.setattr(chaindb, "GENESIS_BATCH_ENTRIES", 40)
    kv = Recording()
    Chain(kv, genesis)
    bulk = [keys for keys in kv.batches
            if all(k.startswith((schema.STATE, schema.TREE_LEAF, schema.TREE_KEY)) for k in keys)]
    assert sum(map(len, bulk)) == 3 * len(genesis.state)
    for before, after in zip(bulk, bulk[1:], strict=False):
        assert max(before) < min(after)


def test_a_large_genesis_reads_back_from_leveldb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bench-style genesis with extra accounts, written to LevelDB in batches, reopened (the tree computed from the
    stored leaves, some of them not held in memory): every account's value is proved under the genesis root."""
    monkeypatch.setattr(chaindb, "GENESIS_BATCH_ENTRIES", 500)
    spec = parse_chain_spec(materialise(load_chain_spec("dev").raw, GENESIS_TIME_MS))
    config = genesis_config(spec)
    extra = tuple(GenesisBalance(i.to_bytes(32, "big"), 10**18 + i, 0) for i in range(1, 3001))
    config = dataclasses.replace(
        config, supply=config.supply + sum(b.free for b in extra), balances=config.balances + extra
    )
    big = build_genesis(spec, config)
    kv = LevelDBStore(tmp_path / "db")
    Chain(kv, big)
    kv.close()
    kv = LevelDBStore(tmp_path / "db")
    chain = Chain(kv, big, tree_leaf_budget=1000)
    assert chain.tree.stats()["resident_leaves"] <= 1000
    for key, value in list(big.state.items())[::97]:
        assert verify_proof(chain.head.state_root, key, value, chain.tree.prove(key))
        assert chain.db.state.get(key) == value
    assert chain.head.state_root == tree_root(leaf_records(big.state))
    assert assert_state_books(kv) == big.state
    kv.close()
