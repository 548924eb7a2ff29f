"""A block its author has announced survives the author's SIGKILL: `Chain.author_block` returns (and the node then
gossips the block and the RPC shows it) only once the block is on disk. A lone devnet node is the only holder of the
blocks it authors, so a transfer the RPC reported included must not be lost to a kill a moment later (2026-11-29's
clean-clone run lost one that way, when authored blocks were written behind). An imported block may still be written
behind: its author and peers hold it, and a node killed before it lands restarts at the block before and syncs it.

The test kills a child process that authors full blocks the instant it reports one, at a different block each round,
and reopens its database: the reported block is the head or below it, with the hash reported."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

from btt_chain.node.chain import Chain
from storage.leveldb import LevelDBStore
from tests.support.node_builder import UNIT, author_next, new_chain, transfer

ROOT = Path(__file__).resolve().parents[2]
TRANSFERS_PER_BLOCK = 150
"""Enough that a block's write takes a few milliseconds: the window a kill has to hit if the write lagged."""


def _child_main(argv: list[str]) -> None:
    chain = new_chain(LevelDBStore(Path(argv[0])))
    while True:
        first = transfer(chain, "alice", "bob", UNIT)
        xts = [first] + [transfer(chain, "alice", "bob", UNIT, first.nonce + i) for i in range(1, TRANSFERS_PER_BLOCK)]
        imported, dropped = author_next(chain, xts)
        assert not dropped, dropped
        print(imported.block.header.number, imported.hash.hex(), flush=True)  # the moment the node would announce it


def author_and_kill_after(path: Path, reports: int) -> tuple[int, str]:
    """Run an authoring child on `path` and SIGKILL it the instant it has reported `reports` blocks; the last one."""
    code = "import sys; from tests.node.test_authored_block_durability import _child_main; _child_main(sys.argv[1:])"
    child = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    try:
        for _ in range(reports):
            line = child.stdout.readline()
            assert line, f"the child stopped before reporting {reports} blocks: {child.communicate()[1][-2000:]}"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        _, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err
    number, block_hash = line.split()
    return int(number), block_hash


def reopened(path: Path) -> Chain:
    return new_chain(LevelDBStore(path))


def test_a_block_its_author_reported_survives_a_sigkill_the_instant_after(tmp_path: Path) -> None:
    path = tmp_path / "db"
    rng = random.Random(29)
    head = 0
    for _ in range(4):
        number, block_hash = author_and_kill_after(path, rng.randint(1, 4))
        chain = reopened(path)
        try:
            assert number > head, "the child did not author on top of what the last round left"
            assert chain.head.number >= number, f"block #{number} was reported and lost to the kill"
            stored = chain.db.canonical_hash(number)
            assert stored is not None and stored.hex() == block_hash
            assert chain.db.get_block(stored) is not None and chain.db.block_meta(stored) is not None
            head = chain.head.number
        finally:
            chain.db.kv.close()
