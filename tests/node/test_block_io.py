"""The block file format and the progress lines of import and sync (`btt_chain.node.block_io`)."""

from __future__ import annotations

import io

import pytest

from btt_chain.node.block_io import (
    BlockFileError,
    count_blocks,
    export_blocks,
    progress_line,
    read_block_file,
    sync_progress_line,
)
from tests.support.node_builder import author_next, new_chain


def test_block_file_round_trip_and_truncation() -> None:
    chain = new_chain()
    for _ in range(3):
        author_next(chain)
    buf = io.BytesIO()
    assert export_blocks(chain, buf, 1, 3) == 3
    items = list(read_block_file(io.BytesIO(buf.getvalue()), chain.genesis_hash))
    assert [chain.db.get_block_bytes(chain.db.canonical_hash(n) or b"") for n in (1, 2, 3)] == [b for b, _ in items]
    assert count_blocks(io.BytesIO(buf.getvalue())) == 3
    assert count_blocks(io.BytesIO(buf.getvalue()[:-3])) is None
    with pytest.raises(BlockFileError, match="ends inside"):
        list(read_block_file(io.BytesIO(buf.getvalue()[:-3]), chain.genesis_hash))
    with pytest.raises(BlockFileError, match="from genesis"):
        list(read_block_file(io.BytesIO(buf.getvalue()), bytes(32)))


def test_progress_lines_carry_rate_and_eta() -> None:
    assert progress_line(50, 100, 10.0, 49) == "50 blocks, head #49, 5.0 blocks/s, ETA 10 s"
    assert progress_line(0, None, 0.0, 0) == "0 blocks, head #0, 0.0 blocks/s"
    assert sync_progress_line(100, 300, 100, 4.0) == "#100 of #300, 25.0 blocks/s, ETA 8 s"
    assert sync_progress_line(1, 300, 0, 4.0).endswith("ETA unknown")
