"""The block file format and the progress lines of import and sync (`btt_chain.node.block_io`)."""

from __future__ import annotations

import io

import pytest

from btt_chain.node.block_io import (
    BlockFileError,
    ExportStats,
    ImportProgress,
    ImportStats,
    count_blocks,
    export_blocks,
    import_blocks,
    progress_line,
    read_block_file,
    summary_line,
    sync_progress_line,
    with_next_blocks,
)
from btt_chain.node.chain import LOOKAHEAD_BLOCKS, Chain
from tests.support.node_builder import author_next, new_chain


def test_block_file_round_trip_and_truncation() -> None:
    chain = new_chain()
    for _ in range(3):
        author_next(chain)
    buf = io.BytesIO()
    assert export_blocks(chain, buf, 1, 3) == ExportStats(3, 0)
    items = list(read_block_file(io.BytesIO(buf.getvalue()), chain.genesis_hash))
    assert [chain.db.get_block_bytes(chain.db.canonical_hash(n) or b"") for n in (1, 2, 3)] == [b for b, _ in items]
    assert count_blocks(io.BytesIO(buf.getvalue())) == 3
    assert count_blocks(io.BytesIO(buf.getvalue()[:-3])) is None
    with pytest.raises(BlockFileError, match="ends inside"):
        list(read_block_file(io.BytesIO(buf.getvalue()[:-3]), chain.genesis_hash))
    with pytest.raises(BlockFileError, match="from genesis"):
        list(read_block_file(io.BytesIO(buf.getvalue()), bytes(32)))


def test_each_entry_comes_with_the_blocks_after_it_and_a_damaged_entry_fails_where_it_is_reached() -> None:
    def entries(fail_at: int | None):  # type: ignore[no-untyped-def]
        for i in range(4):
            if i == fail_at:
                raise BlockFileError("block file ends inside a block")
            yield bytes([i]), [bytes([i, i])]

    assert [(e[0], f) for e, f in with_next_blocks(entries(None), 2)] == [
        (b"\x00", (b"\x01", b"\x02")), (b"\x01", (b"\x02", b"\x03")), (b"\x02", (b"\x03",)), (b"\x03", ()),
    ]
    assert [e[1] for e, _ in with_next_blocks(entries(None), 1)] == [[bytes([i, i])] for i in range(4)]
    assert list(with_next_blocks(iter([]), 2)) == []
    for count in (1, 2, 3):
        got = []
        with pytest.raises(BlockFileError, match="ends inside"):
            for entry, following in with_next_blocks(entries(2), count):
                got.append((entry[0], following))
        assert [e for e, _ in got] == [b"\x00", b"\x01"], "every entry before the damage is done with first"
        assert got[-1][1] == (), "the damaged entry is never given as a block to come"
    with pytest.raises(BlockFileError):
        list(with_next_blocks(entries(0), 2))


def test_import_hands_each_block_the_next_and_imports_every_block_before_a_damaged_one() -> None:
    source = new_chain()
    for _ in range(4):
        author_next(source)
    buf = io.BytesIO()
    export_blocks(source, buf, 1, 4)
    damaged = buf.getvalue()[:-3]  # block 4's entry cut short
    chain = new_chain()
    handed: list[tuple[bytes, ...]] = []
    plain_import = chain.import_block

    def spying(encoded: bytes, now_ms: int, ahead: tuple[bytes, ...] = ()):  # type: ignore[no-untyped-def]
        handed.append(ahead)
        return plain_import(encoded, now_ms, ahead=ahead)

    chain.import_block = spying  # type: ignore[method-assign]
    with pytest.raises(BlockFileError, match="ends inside"):
        import_blocks(chain, io.BytesIO(damaged))
    assert chain.head.number == 3, "blocks 1-3 are imported before block 4's damage is reported"
    blocks = [source.db.get_block_bytes(source.db.canonical_hash(n) or b"") for n in (2, 3)]  # block 4's is cut
    assert handed == [tuple(blocks[i : i + LOOKAHEAD_BLOCKS]) for i in range(3)], "block 4, damaged, is never handed"
    full = new_chain()
    assert isinstance(full, Chain)
    import_blocks(full, io.BytesIO(buf.getvalue()))
    assert full.head.state_root == source.head.state_root


def test_progress_lines_carry_rate_and_eta() -> None:
    assert progress_line(50, 100, 10.0, 49) == "50 blocks, head #49, 5.0 blocks/s, ETA 10 s"
    assert progress_line(0, None, 0.0, 0) == "0 blocks, head #0, 0.0 blocks/s"
    assert sync_progress_line(100, 300, 100, 4.0) == "#100 of #300, 25.0 blocks/s, ETA 8 s"
    assert sync_progress_line(1, 300, 0, 4.0).endswith("ETA unknown")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_on_a_terminal_rewrites_one_line_in_place_with_rate_and_eta() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = ImportProgress(out, tty=True, total=100, clock=clock, tty_every_s=0.5)
    clock.now += 1.0
    progress.update(10, 10)  # the first update shows at once
    clock.now += 0.1
    progress.update(11, 11)  # too soon: nothing
    clock.now += 1.0
    progress.update(30, 30)
    assert out.getvalue() == (
        "\rimporting: 10 blocks, head #10, 10.0 blocks/s, ETA 9 s"
        "\rimporting: 30 blocks, head #30, 14.3 blocks/s, ETA 5 s"
    )
    assert "\n" not in out.getvalue()
    progress.close()  # the line is cleared for the summary (or an error line) to take its place
    width = len("importing: 30 blocks, head #30, 14.3 blocks/s, ETA 5 s")
    assert out.getvalue().endswith("\r" + " " * width + "\r")
    progress.close()
    assert out.getvalue().count("\r") == 4, "closing twice writes nothing more"


def test_a_shorter_line_on_a_terminal_covers_the_longer_one_before_it() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = ImportProgress(out, tty=True, total=None, clock=clock)
    clock.now += 1.0
    progress.update(1000, 1000)
    clock.now += 100.0
    progress.update(1001, 1001)
    first, second = out.getvalue().split("\r")[1:]
    assert len(second) == len(first) and second.rstrip() == "importing: 1001 blocks, head #1001, 9.9 blocks/s"


def test_progress_off_a_terminal_writes_no_carriage_return_and_only_rare_plain_lines() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = ImportProgress(out, tty=False, total=None, clock=clock, log_every_s=30.0)
    for i in range(1, 300):
        clock.now += 0.1
        progress.update(i, i)
    assert out.getvalue() == ""  # under 30 s: the summary line alone will speak
    clock.now += 1.0
    progress.update(300, 300)
    assert out.getvalue() == "importing: 300 blocks, head #300, 9.7 blocks/s\n"
    progress.close()
    assert "\r" not in out.getvalue()


def test_the_summary_line_names_blocks_time_rate_head_and_finalized() -> None:
    chain = new_chain()
    author_next(chain)
    stats = ImportStats(imported=40, known=10, justifications=3, unchecked=0, seconds=2.0)
    assert summary_line(stats, chain) == (
        f"imported 40 blocks (10 already known) in 2.0 s, 25.0 blocks/s; head #1 0x{chain.head_hash.hex()}; "
        f"finalized #0 0x{chain.genesis_hash.hex()} (3 justifications verified)"
    )
    stats.unchecked = 1
    assert summary_line(stats, chain).endswith(", 1 not checked: their epoch goes on past the file's end, or their "
                                               "source's justification is not in the file)")
