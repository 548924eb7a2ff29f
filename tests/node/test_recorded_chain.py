"""The state transition stays bit-identical: a chain recorded with the code before the import speed-ups
(scripts/record_chain.py run on commit fbefadc: 40 dev blocks of transfers, burns, stakes, bonds, vesting and payments,
with skipped slots) imports into a fresh node today, every header's state and receipts root matching what the
execution computes here, with signatures checked in-process or by a worker beside execution. A block with one
bad signature is refused for that signature first, whichever way signatures are checked, and leaves nothing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from btt_chain.node import sigcheck
from btt_chain.node.chain import Chain
from btt_chain.node.sigcheck import SignatureChecker
from btt_chain.primitives.block import Block, extrinsics_root
from btt_chain.primitives.errors import InvalidBlock
from btt_chain.primitives.keys import dev_keypair
from storage.leveldb import LevelDBStore
from storage.memory import MemoryStore
from tests.support.node_builder import dev_genesis, far_future_ms

RECORDED = Path(__file__).resolve().parent.parent / "data" / "recorded_chain.bin"


def recorded_blocks() -> list[bytes]:
    data = RECORDED.read_bytes()
    out, i = [], 0
    while i < len(data):
        n = int.from_bytes(data[i : i + 4], "big")
        out.append(data[i + 4 : i + 4 + n])
        i += 4 + n
    return out


@pytest.mark.parametrize("workers", [0, 1])
@pytest.mark.parametrize("store", ["memory", "leveldb"])
def test_recorded_chain_imports_with_the_same_roots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int, store: str
) -> None:
    monkeypatch.setattr(sigcheck, "PARALLEL_THRESHOLD", 1)  # with a worker, every block's batch goes to it
    blocks = recorded_blocks()
    assert len(blocks) == 40
    checker = SignatureChecker(workers=workers)
    kv = MemoryStore() if store == "memory" else LevelDBStore(tmp_path / "db")
    chain = Chain(kv, dev_genesis(), checker)
    try:
        for raw in blocks:
            result = chain.import_block(raw, far_future_ms())
            assert result.status == "best"
            assert chain.head.state_root == Block.decode(raw).header.state_root
        assert chain.head.number == 40
    finally:
        checker.close()


@pytest.mark.parametrize("workers", [0, 1])
def test_a_bad_signature_is_named_first_with_or_without_workers(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """The biggest recorded block with one extrinsic's signature spoiled, its extrinsics root recomputed and its
    header sealed again by alice (so only the signature is wrong); with a worker, every batch goes to it."""
    monkeypatch.setattr(sigcheck, "PARALLEL_THRESHOLD", 1)
    blocks = recorded_blocks()
    index = max(range(len(blocks)), key=lambda i: len(Block.decode(blocks[i]).extrinsics))
    checker = SignatureChecker(workers=workers)
    chain = Chain(MemoryStore(), dev_genesis(), checker)
    try:
        for raw in blocks[:index]:
            chain.import_block(raw, far_future_ms())
        block = Block.decode(blocks[index])
        n = len(block.extrinsics)
        assert n >= 5
        spoiled = dataclasses.replace(block.extrinsics[2], signature=bytes(64))
        xts = (*block.extrinsics[:2], spoiled, *block.extrinsics[3:])
        header = block.header.replace(extrinsics_root=extrinsics_root(xts)).sealed(dev_keypair("alice"),
                                                                                  chain.genesis_hash)
        head_before = chain.head_hash
        with pytest.raises(InvalidBlock, match="extrinsic 2 has a bad signature"):
            chain.import_block(Block(header, xts).encode(), far_future_ms())
        assert chain.head_hash == head_before
        log_ok = chain.import_block(blocks[index], far_future_ms())  # the genuine block still imports after it
        assert log_ok.status == "best"
    finally:
        checker.close()


@pytest.mark.parametrize("workers", [0, 1])
def test_a_body_that_does_not_match_its_extrinsics_root_is_refused_first(
    monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """The biggest recorded block with one extrinsic dropped from its body and its header sealed again (the
    extrinsics root still the original's): refused for the root whichever way it is checked, head unchanged."""
    monkeypatch.setattr(sigcheck, "PARALLEL_THRESHOLD", 1)
    blocks = recorded_blocks()
    index = max(range(len(blocks)), key=lambda i: len(Block.decode(blocks[i]).extrinsics))
    checker = SignatureChecker(workers=workers)
    chain = Chain(MemoryStore(), dev_genesis(), checker)
    try:
        for raw in blocks[:index]:
            chain.import_block(raw, far_future_ms())
        block = Block.decode(blocks[index])
        header = block.header.replace(slot=block.header.slot).sealed(dev_keypair("alice"), chain.genesis_hash)
        short = Block(header, block.extrinsics[:-1])
        head_before = chain.head_hash
        with pytest.raises(InvalidBlock, match="extrinsics root does not match"):
            chain.import_block(short.encode(), far_future_ms())
        assert chain.head_hash == head_before
        assert chain.import_block(blocks[index], far_future_ms()).status == "best"
    finally:
        checker.close()
