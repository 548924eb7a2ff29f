"""A chain on LevelDB and its block files across restarts: a block retracted before a restart gets its redo journal
as it leaves and is enacted from it after the restart; a block whose background write failed is lost whole, the
node restarts at the block before and imports it again; every canonical block's body, events and undo journal read
back after each restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from btt_chain.node.chain import Chain, ImportResult
from btt_chain.primitives.errors import StorageError
from runtime.invariants import check_invariants
from storage import schema
from storage.blob_log import BlobLog, is_ref
from storage.leveldb import LevelDBStore
from storage.leveldb_build import plyvel
from tests.support.node_builder import (
    UNIT,
    author_as_leader,
    block_bytes,
    devnet_genesis,
    far_future_ms,
    new_chain,
    transfer,
)

GENESIS = devnet_genesis(2)


def open_chain(path: Path) -> Chain:
    return new_chain(LevelDBStore(path), GENESIS)


def close(chain: Chain) -> None:
    chain.db.kv.close()


def sync(dst: Chain, src: Chain) -> list[ImportResult]:
    return [dst.import_block(block_bytes(src, n), far_future_ms()) for n in range(1, src.head.number + 1)]


def check_stored(chain: Chain) -> None:
    """Every canonical block above genesis reads back whole: body (its hash and extrinsics root), events, undo."""
    for n in range(1, chain.head.number + 1):
        h = chain.db.canonical_hash(n)
        assert h is not None
        block = chain.db.get_block(h)
        assert block is not None and block.hash() == h
        assert chain.db.block_meta(h) is not None
        chain.db.undo(h)
        assert chain.db.is_executed(h)


def test_a_block_retracted_before_a_restart_is_enacted_from_its_redo_journal_after_it(tmp_path: Path) -> None:
    path = tmp_path / "x"
    x = open_chain(path)
    author_as_leader(x, ("alice",), [transfer(x, "charlie", "bob", 5 * UNIT)])
    first = x.head_hash
    first_bytes = block_bytes(x, 1)
    first_root = x.head.state_root
    y = new_chain(genesis=GENESIS)
    for _ in range(2):
        author_as_leader(y, ("bob",))
    sync(x, y)  # y's branch is longer: x's block leaves the canonical chain, its redo journal written as it does
    assert x.head_hash == y.head_hash
    close(x)

    db = plyvel.DB(str(path))
    try:
        stored = db.get(schema.redo_key(first))
        assert stored is not None and is_ref(stored), "the redo journal lives in the block files"
    finally:
        db.close()

    x = open_chain(path)
    assert x.head_hash == y.head_hash and x.db.is_executed(first)
    check_stored(x)
    z = new_chain(genesis=GENESIS)
    z.import_block(first_bytes, far_future_ms())
    assert z.head.state_root == first_root
    for _ in range(3):
        author_as_leader(z, ("alice", "bob"))
    results = sync(x, z)
    back = [r for r in results if r.retracted]
    assert back and any(e.result is None and e.hash == first for e in back[0].enacted), "enacted from its redo"
    assert x.head_hash == z.head_hash and x.head.state_root == z.head.state_root
    assert check_invariants(x.state()) == []
    close(x)

    x = open_chain(path)  # and once more: y's blocks retracted in turn, their redo written, all of it on disk
    assert x.head_hash == z.head_hash and x.head.state_root == z.head.state_root
    check_stored(x)
    for n in range(1, y.head.number + 1):
        h = y.db.canonical_hash(n)
        assert h is not None and x.db.redo(h).keys() == x.db.undo(h).keys()
    results = sync(x, y)  # known blocks: nothing changes
    assert {r.status for r in results} == {"known"} and x.head_hash == z.head_hash
    close(x)


def test_a_block_whose_background_write_failed_is_imported_again_after_the_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x"
    y = new_chain(genesis=GENESIS)
    for i in range(3):
        author_as_leader(y, ("alice", "bob"), [transfer(y, "charlie", "eve", (i + 1) * UNIT)])
    x = open_chain(path)
    for n in (1, 2):
        x.import_block(block_bytes(y, n), far_future_ms())
    x.db.kv.flush()

    def failing_sync(self: BlobLog) -> None:
        raise StorageError(f"cannot sync the block files in {self.directory}: Input/output error")

    monkeypatch.setattr(BlobLog, "sync", failing_sync)
    third = y.db.canonical_hash(3)
    assert third is not None
    result = x.import_block(block_bytes(y, 3), far_future_ms())  # written behind: the failure comes later
    assert result.status == "best"
    with pytest.raises(StorageError, match="a background write failed, restart the node"):
        x.db.kv.flush()
    close(x)
    monkeypatch.undo()

    x = open_chain(path)
    assert x.head.number == 2 and x.head_hash == y.db.canonical_hash(2)
    assert not x.db.has_block(third) and not x.db.is_executed(third)
    check_stored(x)
    assert x.import_block(block_bytes(y, 3), far_future_ms()).status == "best"
    assert x.head_hash == y.head_hash and x.head.state_root == y.head.state_root
    close(x)
    x = open_chain(path)
    assert x.head_hash == y.head_hash
    check_stored(x)
    close(x)
