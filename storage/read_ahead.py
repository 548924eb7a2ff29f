"""LevelDB reads of a block's keys ahead of the thread that executes it: the compiled part
(`storage/_leveldb_multiget.c`) found and configured once, and `start`, which begins reading a list of keys from a
plyvel database on a thread of its own without the GIL.

Why in C: a block's execution misses the flat state's cache on ~4,300-4,950 accounts at a million accounts (the
transfers' recipients), each a LevelDB read of 8-19 us of the importing thread's CPU; a Python thread reading them
ahead needed the GIL back after every read and made blocks slower, so the loop over the keys runs on a pthread that
never holds it. Its reads leave LevelDB's block cache as it was (hashed keys: a block kept for one would rarely be
read again before it is evicted; see the compiled part's top comment).

Where the compiled part is not built, plyvel is not the version whose object layout it checks (1.5.1), the LevelDB
library plyvel loaded cannot be found among the process's mappings, or any check refuses, `AVAILABLE` is False (or
`start` gives None) and every key is read when it is asked for: the same values, read by the caller."""

from __future__ import annotations

import os
from typing import Any, Protocol

from storage.leveldb_build import plyvel

PLYVEL_VERSION = "1.5.1"
"""The plyvel release whose `DB` object layout the compiled part checks; any other is read the plain way."""


class Reads(Protocol):
    """A read-ahead under way: `get(key, default)` gives the value (None: absent), read by the caller at once if the
    thread has not reached it (the thread then skips it), or `default` (not in the list, failed, or closed); `close`
    stops it after the read under way and joins its thread, `wait` joins it once it has read every key it claims (it
    jumps ahead of a caller that has caught it up, leaving the keys in between to that caller); `done` counts the
    keys read, `taken` those a caller read first, `cpu_seconds` is its thread's CPU once joined; `start` starts the
    thread of one made without it (tests)."""

    def get(self, key: bytes, default: object) -> Any: ...

    def taken(self) -> int: ...

    def close(self) -> None: ...

    def start(self) -> None: ...

    def wait(self) -> None: ...

    def done(self) -> int: ...

    def cpu_seconds(self) -> float: ...


def leveldb_library(maps: str = "/proc/self/maps") -> str | None:
    """The path of the one LevelDB library mapped into this process (plyvel's own), None if there is none or more
    than one (which one plyvel uses would then be a guess)."""
    try:
        with open(maps) as f:
            paths = {line.split(None, 5)[5].strip() for line in f if line.count(" ") >= 5 and "libleveldb" in line}
    except (OSError, IndexError):
        return None
    paths = {p for p in paths if os.path.basename(p).startswith("libleveldb")}
    return paths.pop() if len(paths) == 1 else None


try:
    from storage import _leveldb_multiget  # type: ignore[attr-defined]
except ImportError:
    _leveldb_multiget = None
BUILT = _leveldb_multiget is not None
"""Whether the compiled part is built (it may still refuse: AVAILABLE)."""


def _configure() -> tuple[Any, str]:
    """The configured compiled module and "", or None and why not."""
    native = _leveldb_multiget
    if native is None:
        return None, "storage/_leveldb_multiget.c is not built"
    if getattr(plyvel, "__version__", None) != PLYVEL_VERSION:
        return None, f"plyvel {getattr(plyvel, '__version__', '?')} is not {PLYVEL_VERSION}, whose layout is checked"
    path = leveldb_library()
    if path is None:
        return None, "plyvel's LevelDB library is not among the process's mappings"
    try:
        native.configure(path, plyvel.DB)
    except (native.LayoutError, TypeError) as exc:
        return None, f"refused: {exc}"
    return native, ""


_native, WHY_NOT = _configure()
AVAILABLE = _native is not None
"""Whether reads ahead run (else WHY_NOT says why)."""


C_API: Any = None if _native is None else _native._C_API
"""The capsule through which a compiled reader asks a read-ahead for a key without a Python call (the struct in
storage/read_ahead_api.h); None where the compiled part is unavailable."""


def counters() -> tuple[int, int, int]:
    """Over this process's life: (keys given to reads ahead, keys a caller read before the thread reached them, keys a
    caller read while the thread was reading them too); zeros where the compiled part is unavailable."""
    if _native is None:
        return 0, 0, 0
    listed, taken, doubled = _native.counters()
    return listed, taken, doubled


def start(db: plyvel.DB, keys: list[bytes]) -> Reads | None:
    """Begin reading `keys` (distinct bytes) from the open database `db` on a thread; None where the compiled part is
    unavailable or refuses this object (its layout checked). The caller must `close` the result before it closes
    or reopens `db`, and before it writes to it."""
    if _native is None:
        return None
    try:
        reads: Reads = _native.ReadAhead(db, keys)
    except _native.LayoutError:
        return None
    return reads
