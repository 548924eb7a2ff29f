"""Attacks on the chain's state tree: a block with a wrong state root, a failure while the block's state root is being
computed on the tree's thread, a failed write, a reorganisation to a fork and back, a failed retraction, check-block of
old blocks, and proofs at old blocks while the head moves on, with the tree's leaf budget at zero (every bucket read
back from LevelDB while the last block's batch may still be landing) and at its default. After each, the tree's root
is the head's state root, that root is the one computed from scratch over the flat state, and proofs verify."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgpack
import pytest

from btt_chain.node import chain as chain_module
from btt_chain.node.block_io import check_block
from btt_chain.node.chain import Chain, InvalidBlock, _BlockChecks
from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc.methods import state_get_read_proof
from genesis.build import Genesis
from storage import schema
from storage.chaindb import ChainDB
from storage.history import HistoricalState
from storage.leveldb import LevelDBStore
from storage.smt import SmtProof, verify_proof
from storage.state_tree import TREE_LEAF_BUDGET, leaf_records, tree_root
from tests.support.node_builder import UNIT, author_as_leader, block_bytes, devnet_genesis, far_future_ms, transfer

BUDGETS = [0, TREE_LEAF_BUDGET]
ABSENT = b"a key no state holds"


def flat_state(chain: Chain) -> dict[bytes, bytes]:
    n = len(schema.STATE)
    return {key[n:]: value for key, value in chain.db.kv.iterate(schema.STATE)}


def assert_tree_is_the_heads(chain: Chain) -> None:
    """The tree's root is the head's state root, which is the root of the flat state computed from scratch, and
    proofs of present and absent keys verify against it."""
    state = flat_state(chain)
    root = chain.head.state_root
    assert tree_root(leaf_records(state)) == root
    assert chain.tree.root == root
    keys = sorted(state)
    for key in [*keys[:: max(1, len(keys) // 12)], ABSENT]:
        assert verify_proof(root, key, state.get(key), chain.tree.prove(key)), key


def open_chain(path: Path, genesis: Genesis, budget: int) -> Chain:
    return Chain(LevelDBStore(path), genesis, tree_leaf_budget=budget)


def leader_slot(chain: Chain, name: str) -> int:
    who = dev_keypair(name).public
    return next(s for s in range(chain.head.slot + 1, chain.head.slot + 60) if chain.leader(s) == who)


def built(chain: Chain, name: str, xts: list[Any]) -> Any:
    return chain.build_block(leader_slot(chain, name), dev_keypair(name), [(x, len(x.encode())) for x in xts])


@pytest.mark.parametrize("budget", BUDGETS)
def test_a_block_with_a_wrong_state_root_changes_nothing(budget: int, tmp_path: Path) -> None:
    chain = open_chain(tmp_path / "db", devnet_genesis(2), budget)
    author_as_leader(chain, ("alice", "bob"), [transfer(chain, "alice", "charlie", UNIT)])
    good = built(chain, "alice", [transfer(chain, "alice", "dave", 2 * UNIT)])
    assert_tree_is_the_heads(chain)
    head = chain.head_hash
    for wrong in (chain.head.state_root, bytes(32), good.header.state_root[::-1]):
        header = good.header.replace(state_root=wrong).sealed(dev_keypair("alice"), chain.genesis_hash)
        forged = good.replace(header=header)
        with pytest.raises(InvalidBlock, match="state root mismatch"):
            chain.import_block(forged.encode(), far_future_ms())
        assert chain.head_hash == head
        assert_tree_is_the_heads(chain)
    assert chain.import_block(good.encode(), far_future_ms()).status == "best"
    assert chain.head.state_root == good.header.state_root
    assert_tree_is_the_heads(chain)
    chain.db.kv.close()


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("where", ["voter set", "prepare", "write"])
def test_a_failure_while_the_state_root_is_computed_changes_nothing(
    budget: int, where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The block's records are built while the tree's thread computes its state root; a failure there (or in the
    write after) leaves the tree and the head where they were, for import and for authoring."""
    g = devnet_genesis(2)
    source = Chain(LevelDBStore(tmp_path / "source"), g)
    author_as_leader(source, ("alice", "bob"), [transfer(source, "alice", "charlie", UNIT)])
    author_as_leader(source, ("alice", "bob"), [transfer(source, "bob", "charlie", UNIT)])
    chain = open_chain(tmp_path / "db", g, budget)
    chain.import_block(block_bytes(source, 1), far_future_ms())
    head = chain.head_hash

    def broken(*_args: object, **_kwargs: object) -> Any:
        raise StorageError(f"injected failure in {where}")

    target = {"voter set": (Chain, "_voter_set"), "prepare": (ChainDB, "prepare_update"),
              "write": (ChainDB, "write_update")}[where]
    monkeypatch.setattr(*target, broken)
    with pytest.raises(StorageError, match="injected failure"):
        chain.import_block(block_bytes(source, 2), far_future_ms())
    assert chain.head_hash == head
    if where != "write":  # authoring writes with apply_update, which prepares and writes
        with pytest.raises(StorageError, match="injected failure"):
            author_as_leader(chain, ("alice", "bob"), [transfer(chain, "alice", "eve", UNIT)])
        assert chain.head_hash == head
    monkeypatch.undo()
    assert_tree_is_the_heads(chain)
    assert not chain.knows(source.head_hash), "a block whose import failed is not remembered as stored"
    result = chain.import_block(block_bytes(source, 2), far_future_ms())
    assert result.status == "best" and chain.head.state_root == source.head.state_root
    assert_tree_is_the_heads(chain)
    source.db.kv.close()
    chain.db.kv.close()


def test_a_failed_read_on_the_trees_thread_is_no_verdict_on_the_block(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """With no leaves held, the tree's thread reads the block's buckets back from LevelDB; a read that fails there is
    the database's fault, not the block's: the import fails, nothing changes, and the block imports once reads work."""
    g = devnet_genesis(2)
    source = Chain(LevelDBStore(tmp_path / "source"), g)
    author_as_leader(source, ("alice", "bob"), [transfer(source, "alice", "charlie", UNIT)])
    author_as_leader(source, ("alice", "bob"), [transfer(source, "bob", "charlie", UNIT)])
    chain = open_chain(tmp_path / "db", g, 0)
    chain.import_block(block_bytes(source, 1), far_future_ms())
    head = chain.head_hash
    real = LevelDBStore.iterate

    def failing_on_the_trees_thread(self: LevelDBStore, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name.startswith("state-tree"):
            raise StorageError("cannot read database: I/O error")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LevelDBStore, "iterate", failing_on_the_trees_thread)
    refused_for_the_database_then_imported(chain, source, 2, head, monkeypatch)


def test_a_failed_state_read_during_execution_is_no_verdict_on_the_block(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A flat-state read that fails while the block executes (a disk error) is the database's fault: the import
    fails with it, the block is not marked bad (it was judged InvalidBlock 'execution failed' and refused for good),
    nothing changes, and it imports once reads work."""
    g = devnet_genesis(2)
    source = Chain(LevelDBStore(tmp_path / "source"), g)
    author_as_leader(source, ("alice", "bob"), [transfer(source, "alice", "charlie", UNIT)])
    chain = open_chain(tmp_path / "db", g, 0)
    chain.db.state.forget()  # every account read goes to LevelDB
    head = chain.head_hash
    real_get, real_execute = LevelDBStore.get, chain.executive.execute_block
    executing = threading.Event()

    def failing_state_reads(self: LevelDBStore, key: bytes) -> Any:
        if executing.is_set() and key.startswith(schema.STATE):
            raise StorageError("cannot read database: I/O error")
        return real_get(self, key)

    def execute_block(*args: Any, **kwargs: Any) -> Any:
        executing.set()
        try:
            return real_execute(*args, **kwargs)
        finally:
            executing.clear()

    monkeypatch.setattr(LevelDBStore, "get", failing_state_reads)
    monkeypatch.setattr(chain.executive, "execute_block", execute_block)
    refused_for_the_database_then_imported(chain, source, 1, head, monkeypatch)


def refused_for_the_database_then_imported(chain: Chain, source: Chain, number: int, head: bytes,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Block `number` of `source` fails to import with the database's error (no verdict on it), changing nothing;
    once the failure is lifted it imports as the head. Closes both chains."""
    with pytest.raises(StorageError, match="I/O error"):
        chain.import_block(block_bytes(source, number), far_future_ms())
    monkeypatch.undo()
    assert chain.head_hash == head
    assert_tree_is_the_heads(chain)
    result = chain.import_block(block_bytes(source, number), far_future_ms())
    assert result.status == "best" and chain.head_hash == source.head_hash
    assert_tree_is_the_heads(chain)
    source.db.kv.close()
    chain.db.kv.close()


@pytest.mark.parametrize("budget", BUDGETS)
def test_a_reorganisation_to_a_fork_and_back(budget: int, tmp_path: Path) -> None:
    g = devnet_genesis(2)
    a = Chain(LevelDBStore(tmp_path / "a"), g)
    b = Chain(LevelDBStore(tmp_path / "b"), g)
    for i in range(4):
        author_as_leader(a, ("alice",), [transfer(a, "alice", "charlie", (i + 1) * UNIT)])
    for i in range(3):
        author_as_leader(b, ("bob",), [transfer(b, "bob", "dave", (i + 1) * UNIT), transfer(b, "eve", "ferdie", UNIT)])
    chain = open_chain(tmp_path / "db", g, budget)

    def bring(src: Chain, numbers: range) -> None:
        for n in numbers:
            chain.import_block(block_bytes(src, n), far_future_ms())
            assert_tree_is_the_heads(chain)

    bring(a, range(1, 3))
    assert chain.head_hash == a.db.canonical_hash(2)
    bring(b, range(1, 4))  # three blocks beat two: the fork
    assert chain.head_hash == b.head_hash and chain.head.state_root == b.head.state_root
    bring(a, range(3, 5))  # four beat three: back, a's first blocks from their redo journals
    assert chain.head_hash == a.head_hash and chain.head.state_root == a.head.state_root
    for c in (a, b, chain):
        c.db.kv.close()
    reopened = open_chain(tmp_path / "db", g, budget)
    assert_tree_is_the_heads(reopened)
    reopened.db.kv.close()


@pytest.mark.parametrize("budget", BUDGETS)
def test_a_failed_retraction_changes_nothing(budget: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chain = open_chain(tmp_path / "db", devnet_genesis(2), budget)
    for i in range(4):
        author_as_leader(chain, ("alice", "bob"), [transfer(chain, "alice", "charlie", (i + 1) * UNIT)])
    head = chain.head_hash

    def broken(*_args: object, **_kwargs: object) -> None:
        raise StorageError("cannot write database: disk full")

    monkeypatch.setattr(ChainDB, "apply_update", broken)
    with pytest.raises(StorageError, match="disk full"):
        chain.retract_to(1)
    monkeypatch.undo()
    assert chain.head_hash == head
    assert_tree_is_the_heads(chain)
    assert len(chain.retract_to(1)) == 3
    assert_tree_is_the_heads(chain)
    chain.db.kv.close()


@pytest.mark.parametrize("budget", BUDGETS)
def test_check_block_of_old_blocks_passing_and_failing(budget: int, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    chain = open_chain(tmp_path / "db", devnet_genesis(2), budget)
    for i in range(5):
        author_as_leader(chain, ("alice", "bob"), [transfer(chain, "alice", "charlie", (i + 1) * UNIT)])
    for n in range(1, 6):
        h = chain.db.canonical_hash(n)
        assert h is not None
        assert "match" in check_block(chain, h)
        assert_tree_is_the_heads(chain)

    def refuses(self: _BlockChecks) -> None:
        raise InvalidBlock("state root mismatch: injected")

    monkeypatch.setattr(_BlockChecks, "finish", refuses)
    old = chain.db.canonical_hash(2)
    assert old is not None
    with pytest.raises(InvalidBlock, match="injected"):
        check_block(chain, old)
    monkeypatch.undo()
    assert_tree_is_the_heads(chain)
    author_as_leader(chain, ("alice", "bob"), [transfer(chain, "bob", "charlie", UNIT)])
    assert_tree_is_the_heads(chain)
    chain.db.kv.close()


def read_proof(chain: Chain, keys: list[bytes], at: bytes | None) -> dict[str, Any]:
    ctx = SimpleNamespace(node=SimpleNamespace(chain=chain, config=SimpleNamespace(state_pruning=None)))
    return state_get_read_proof(ctx, keys, at)  # type: ignore[arg-type]


@pytest.mark.parametrize("budget", BUDGETS)
def test_proofs_at_old_blocks_while_the_head_moves_on(budget: int, tmp_path: Path) -> None:
    """At every earlier block, as the head moves on: state_getReadProof's proofs verify against that block's state
    root, which is the root computed from scratch over the state at that block; the tree stays the head's."""
    chain = open_chain(tmp_path / "db", devnet_genesis(2), budget)
    people = ["alice", "bob", "charlie", "dave"]
    for i in range(5):
        sender, dest = people[i % 4], people[(i + 1) % 4]
        author_as_leader(chain, ("alice", "bob"), [transfer(chain, sender, dest, (i + 1) * UNIT)])
        head_state = flat_state(chain)
        keys = sorted(head_state)[::7] + [ABSENT]
        for n in range(chain.head.number + 1):
            h = chain.db.canonical_hash(n)
            assert h is not None
            header = chain.db.get_header(h)
            assert header is not None
            past = HistoricalState(chain.db, chain.head.number, n)
            at_n = {k: v for k, v in {**head_state, **past.changes_from_head}.items() if v is not None}
            assert tree_root(leaf_records(at_n)) == header.state_root
            answer = read_proof(chain, keys, h)
            assert bytes.fromhex(answer["stateRoot"][2:]) == header.state_root
            for key, entry in zip(keys, answer["proof"], strict=True):
                proof = SmtProof.from_wire(msgpack.unpackb(bytes.fromhex(entry["proof"][2:])))
                assert verify_proof(header.state_root, key, at_n.get(key), proof)
            assert_tree_is_the_heads(chain)


@pytest.mark.parametrize("budget", BUDGETS)
def test_restarted_with_the_last_block_still_landing(budget: int, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks are written behind; the node closes right after authoring one (the write lands first), or after a block
    that failed: reopened, the tree is the head's."""
    g = devnet_genesis(2)
    chain = open_chain(tmp_path / "db", g, budget)
    for i in range(3):
        author_as_leader(chain, ("alice", "bob"), [transfer(chain, "alice", "charlie", (i + 1) * UNIT)])
    monkeypatch.setattr(chain_module, "extrinsics_root", lambda _xts: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        author_as_leader(chain, ("alice", "bob"), [transfer(chain, "alice", "charlie", UNIT)])
    monkeypatch.undo()
    assert_tree_is_the_heads(chain)
    author_as_leader(chain, ("alice", "bob"), [transfer(chain, "bob", "charlie", UNIT)])
    head, root = chain.head_hash, chain.head.state_root
    chain.db.kv.close()
    reopened = open_chain(tmp_path / "db", g, budget)
    assert reopened.head_hash == head and reopened.tree.root == root
    assert_tree_is_the_heads(reopened)
    author_as_leader(reopened, ("alice", "bob"), [transfer(reopened, "charlie", "alice", UNIT)])
    assert_tree_is_the_heads(reopened)
    reopened.db.kv.close()
