"""A large genesis is written in batches: all or nothing still, a cut-off attempt leaves no trace in the next one,
and the tree a fresh build makes is the very tree updates make."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping

import pytest

from btt_chain.node.chain import Chain
from btt_chain.primitives.errors import StorageError
from genesis.build import Genesis, build_genesis
from genesis.loader import load_chain_spec, materialise, parse_chain_spec
from storage import chaindb, schema
from storage.memory import MemoryStore
from storage.smt import EMPTY_ROOT, SparseMerkleTree

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


def test_cut_off_genesis_is_wiped_before_the_next_attempt(genesis: Genesis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chaindb, "GENESIS_BATCH_ENTRIES", 50)
    # a first attempt with an extra state key, killed mid-way
    other = dataclasses.replace(genesis, state={**genesis.state, b"left.over/key": b"junk"})
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


def test_fresh_tree_build_is_the_tree_updates_make() -> None:
    state = {os.urandom(8) + bytes([i % 7]): os.urandom(i % 50) for i in range(3000)}
    state[b"empty-value"] = b""
    fresh_root, fresh_nodes = SparseMerkleTree(lambda _h: None).update(EMPTY_ROOT, {**state, b"gone": None})
    nodes: dict[bytes, bytes] = {}
    tree = SparseMerkleTree(nodes.get, cache_size=0)
    root, made = tree.update(EMPTY_ROOT, {b"seed": b"x"})  # a one-key tree, grown below by ordinary updates
    nodes.update(made)
    items = list(state.items())
    for i in range(0, len(items), 700):
        root, made = tree.update(root, dict(items[i : i + 700]))
        nodes.update(made)
    root, made = tree.update(root, {b"seed": None})
    nodes.update(made)
    assert root == fresh_root
    assert SparseMerkleTree(fresh_nodes.get).get_value_hash(fresh_root, b"empty-value") is not None
    assert SparseMerkleTree(lambda _h: None).update(EMPTY_ROOT, {b"only-deletes": None}) == (EMPTY_ROOT, {})
