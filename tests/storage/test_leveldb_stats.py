"""LevelDB's compaction table as the import bench reads it: parsed from the property's text, differenced over a
window, and read from a real database."""

from __future__ import annotations

from pathlib import Path

from storage.leveldb import LevelDBStore
from storage.leveldb_stats import LevelStats, parse_level_stats, written_per_block

AFTER_6 = """                               Compactions
Level  Files Size(MB) Time(sec) Read(MB) Write(MB)
--------------------------------------------------
  0        0        0         0        0         7
  1        5        5         0        7         5
  2        7       96         0        0         0
  3      103      232         0        0         0
"""
AFTER_30 = """                               Compactions
Level  Files Size(MB) Time(sec) Read(MB) Write(MB)
--------------------------------------------------
  0        1        7         1        0        61
  1        5        9         2       94        76
  2       62      101         3      187       178
  3      116      246         0       16        16
"""


def test_the_table_is_parsed_row_by_row() -> None:
    rows = parse_level_stats(AFTER_30)
    assert rows[2] == LevelStats(2, 62, 101.0, 3.0, 187.0, 178.0)
    assert [r.level for r in rows] == [0, 1, 2, 3]
    assert parse_level_stats("") == () and parse_level_stats("Level 1 x y z w v\n  1 2 3\n") == ()


def test_what_was_written_a_block_in_a_window() -> None:
    assert written_per_block(parse_level_stats(AFTER_6), parse_level_stats(AFTER_30), 24) == \
        "L0 2.2, L1 3.0, L2 7.4, L3 0.7 (sum 13.3)"
    same = parse_level_stats(AFTER_6)
    assert written_per_block(same, same, 4) == "none (sum 0.0)"
    assert written_per_block(same, same, 0) is None
    assert written_per_block(parse_level_stats(AFTER_30), same, 4) == "unknown: the database was reopened in the window"


def test_a_real_database_reports_its_flushes_and_compactions(tmp_path: Path) -> None:
    with LevelDBStore(tmp_path / "db") as kv:
        assert all(r.written_mb == 0 for r in kv.level_stats())
        value = bytes(range(256)) * 16
        for batch in range(4):
            kv.write({b"s:" + batch.to_bytes(2, "big") + i.to_bytes(4, "big"): value for i in range(1_000)})
        kv.compact()
        rows = kv.level_stats()
        assert sum(r.size_mb for r in rows) >= 15  # 16 MB of values, in tables now
        assert sum(r.written_mb for r in rows) >= 15
