"""LevelDB's compaction table, read from its `leveldb.stats` property: per level, the tables it holds and what the
compactions into it read and wrote. `btt-chain bench import` prints what was written per block in its flatness windows
from it (the growth of LevelDB's compactions as its levels fill, told apart from the node's own work)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LevelStats:
    """One row of LevelDB's compaction table: a level's tables and size now, and what the compactions into it
    (a memtable flush, for level 0) took in all since the database was opened."""

    level: int
    files: int
    size_mb: float
    seconds: float
    read_mb: float
    written_mb: float


def parse_level_stats(text: str) -> tuple[LevelStats, ...]:
    """The rows of LevelDB's `leveldb.stats` text (a header, a rule of dashes, then `level files size(MB) time(sec)
    read(MB) write(MB)` per line); lines that are not such a row are passed by."""
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 6 or not fields[0].isdigit():
            continue
        try:
            level, files = int(fields[0]), int(fields[1])
            size, secs, read, written = (float(f) for f in fields[2:])
        except ValueError:
            continue
        rows.append(LevelStats(level, files, size, secs, read, written))
    return tuple(rows)


def written_per_block(before: tuple[LevelStats, ...], after: tuple[LevelStats, ...], blocks: int) -> str | None:
    """MB written a block into each level between two readings `blocks` blocks apart, as "L0 2.0, L2 6.1 (sum 8.1)"
    (levels written nothing left out); None for no blocks. The table counts from the database's opening: a reopen
    between the readings (a node releasing its mapped tables) is said as such."""
    if blocks < 1:
        return None
    was = {r.level: r.written_mb for r in before}
    if any(r.written_mb < was.get(r.level, 0.0) for r in after) or len(after) < len(before):
        return "unknown: the database was reopened in the window"
    grew = [(r.level, (r.written_mb - was.get(r.level, 0.0)) / blocks) for r in after]
    shown = [(level, round(mb, 1)) for level, mb in grew if round(mb, 1) > 0]
    total = round(sum(mb for _, mb in grew), 1)
    return ", ".join(f"L{level} {mb}" for level, mb in shown) + f" (sum {total})" if shown else "none (sum 0.0)"
