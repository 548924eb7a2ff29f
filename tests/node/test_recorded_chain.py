"""The state transition stays bit-identical: a chain recorded with the reference code (scripts/record_chain.py, first
run on commit fbefadc before the import speed-ups, recorded again with the timestamp inherent of spec 9 (and with
spec 10's governance and redemption rules and spec 11's compute market rules, which these blocks do not
exercise), whose only effect on the state
transition tests/runtime/test_transfer_vectors.py pins: 40 dev blocks of transfers, burns, stakes, bonds, vesting
and payments, with skipped slots) imports into a fresh node today, every header's state and receipts root matching
what the execution computes here, with the stateless checks done in-process or by a worker beside execution. A block
with one bad signature, or a body its header does not commit to, is refused for that first, whichever way it is
checked, leaves nothing, and does not stop the genuine block from importing afterwards."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench.import_node import read_frames
from btt_chain.node import sigcheck
from btt_chain.node.chain import Chain
from btt_chain.node.sigcheck import SignatureChecker
from btt_chain.primitives.block import Block, extrinsics_root
from btt_chain.primitives.errors import InvalidBlock
from btt_chain.primitives.keys import dev_keypair
from genesis.build import Genesis
from storage.leveldb import LevelDBStore
from storage.memory import MemoryStore
from tests.support.node_builder import dev_genesis, far_future_ms

RECORDED = Path(__file__).resolve().parent.parent / "data" / "recorded_chain.bin"
RECORDED_PRESET = str(RECORDED.with_name("recorded_chain_dev_preset.json"))
"""The dev preset as these blocks' chain had it (kept, not the live preset: a later change of the dev chain's
genesis, such as its compute window, must not change the genesis these blocks were built on)."""


def recorded_blocks() -> list[bytes]:
    return read_frames(RECORDED)


def recorded_genesis() -> Genesis:
    """The genesis the recorded blocks were built on: the dev chain at spec 11."""
    return dev_genesis(preset=RECORDED_PRESET, spec_version=11)


@pytest.fixture(autouse=True)
def every_batch_to_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a worker, every block (these are small) is checked by it, as big blocks are."""
    monkeypatch.setattr(sigcheck, "PARALLEL_THRESHOLD", 1)


@pytest.mark.parametrize("workers", [0, 1, 2])
@pytest.mark.parametrize("store", ["memory", "leveldb"])
def test_recorded_chain_imports_with_the_same_roots(tmp_path: Path, workers: int, store: str) -> None:
    blocks = recorded_blocks()
    assert len(blocks) == 40
    checker = SignatureChecker(workers=workers)
    kv = MemoryStore() if store == "memory" else LevelDBStore(tmp_path / "db")
    chain = Chain(kv, recorded_genesis(), checker)
    try:
        for raw in blocks:
            result = chain.import_block(raw, far_future_ms())
            assert result.status == "best"
            assert chain.head.state_root == Block.decode(raw).header.state_root
        assert chain.head.number == 40
    finally:
        checker.close()


def refuse_then_import_the_genuine(workers: int, tamper: str, expected: str) -> None:
    """Import up to the recorded block with most extrinsics, offer a tampered copy sealed again by alice (so only
    what was tampered with is wrong), expect `expected`, then import the genuine block."""
    blocks = recorded_blocks()
    index = max(range(len(blocks)), key=lambda i: len(Block.decode(blocks[i]).extrinsics))
    checker = SignatureChecker(workers=workers)
    chain = Chain(MemoryStore(), recorded_genesis(), checker)
    try:
        for raw in blocks[:index]:
            chain.import_block(raw, far_future_ms())
        block = Block.decode(blocks[index])
        assert len(block.extrinsics) >= 5
        if tamper in ("signature", "last signature"):
            at = 2 if tamper == "signature" else len(block.extrinsics) - 1  # the last: in the second worker's run
            spoiled = dataclasses.replace(block.extrinsics[at], signature=bytes(64))
            xts = (*block.extrinsics[:at], spoiled, *block.extrinsics[at + 1 :])
            header = block.header.replace(extrinsics_root=extrinsics_root(xts))
        else:  # the body: one extrinsic dropped, the header (and its extrinsics root) as it was
            xts, header = block.extrinsics[:-1], block.header
        sealed = header.sealed(dev_keypair("alice"), chain.genesis_hash)
        head_before = chain.head_hash
        with pytest.raises(InvalidBlock, match=expected.format(last=len(block.extrinsics) - 1)):
            chain.import_block(Block(sealed, xts).encode(), far_future_ms())
        assert chain.head_hash == head_before
        assert chain.import_block(blocks[index], far_future_ms()).status == "best"
    finally:
        checker.close()


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_a_bad_signature_is_named_first_with_or_without_workers(workers: int) -> None:
    refuse_then_import_the_genuine(workers, "signature", "extrinsic 2 has a bad signature")


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_a_bad_last_signature_is_found_in_whichever_run_checks_it(workers: int) -> None:
    refuse_then_import_the_genuine(workers, "last signature", "extrinsic {last} has a bad signature")


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_a_body_that_does_not_match_its_extrinsics_root_is_refused_first(workers: int) -> None:
    refuse_then_import_the_genuine(workers, "body", "extrinsics root does not match")
