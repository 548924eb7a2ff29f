"""Which LevelDB this process's plyvel uses: btt-chain's own build of LevelDB 1.22 without seek compaction
(storage/leveldb_src, built as the extension module `storage.libleveldb_btt`), or the copy plyvel's wheel bundles.

Why. LevelDB 1.22 charges a table each read that looks past it to another table, bloom filters or not, and compacts
a table once it has been charged one read per 16 KiB of it ("seek compaction"). A node reads ~5,000 hashed keys a
block, and nearly every read looks through a table of each level, so the deeper levels were rewritten without end:
at 1,000,000 accounts, 10-34 MB written a block and 52-118 ms of compaction CPU, against 2.6 MB of new data (issue 54,
docs/benchmarks.md, eleventh round). Bloom filters already make a look past a table cheap, which is why RocksDB has
no seek compaction. Without it compactions follow the levels' sizes only, the data on disk is LevelDB's own format,
and a database moves between the two builds both ways.

How. plyvel 1.5.1's manylinux wheel links its LevelDB by the name `PLYVEL_LEVELDB_SONAME`. The dynamic linker
satisfies a needed name with a library already loaded whose SONAME is that name, so importing `storage.libleveldb_btt`
(which setup.py links with that SONAME) before plyvel's first import makes plyvel bind to it; the wheel's copy is then
never mapped. `plyvel` below is plyvel imported that way: the node's modules import it from here.

BTT_LEVELDB (environment) chooses: `btt` (the default) or `plyvel` (the wheel's own, seek compaction on). Where the
build is missing (no C++ compiler at install), plyvel is not 1.5.1's wheel, or plyvel was imported first, the wheel's
own is used and `build().why` says why; anything else in BTT_LEVELDB is refused with one line."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from btt_chain.primitives.errors import ConfigError

PLYVEL_LEVELDB_SONAME = "libleveldb-e43d8649.so.1.22.0"
"""The name plyvel 1.5.1's wheel needs its LevelDB by (setup.py links `storage.libleveldb_btt` with this SONAME)."""
CHOICES = ("btt", "plyvel")
OWN_MODULE = "storage.libleveldb_btt"


@dataclass(frozen=True)
class LevelDBBuild:
    """The LevelDB plyvel uses here: `name` "btt" (storage/leveldb_src) or "plyvel" (the wheel's), whether it compacts
    on seeks, and `why` it is not btt's ("" when it is)."""

    name: str
    seek_compaction: bool
    why: str = ""

    def describe(self) -> str:
        if self.name == "btt":
            return "btt-chain's LevelDB 1.22 build (seek compaction off)"
        return f"plyvel's own LevelDB (seek compaction on: {self.why})"


def requested() -> str:
    """BTT_LEVELDB, or "btt"; anything else is refused with what to give."""
    raw = os.environ.get("BTT_LEVELDB", "").strip()
    if raw == "":
        return "btt"
    if raw not in CHOICES:
        raise ConfigError(f"BTT_LEVELDB={raw!r}: give 'btt' (btt-chain's LevelDB build, the default) or 'plyvel' "
                          f"(the LevelDB plyvel's wheel bundles)")
    return raw


def _plyvel_needs_our_soname() -> str:
    """"" when plyvel's wheel links its LevelDB by PLYVEL_LEVELDB_SONAME, else why not (found without importing it)."""
    spec = importlib.util.find_spec("plyvel")
    if spec is None or not spec.submodule_search_locations:
        return "plyvel is not installed"
    libs = Path(next(iter(spec.submodule_search_locations))).parent / "plyvel.libs"
    if not (libs / PLYVEL_LEVELDB_SONAME).is_file():
        return f"plyvel is not 1.5.1's wheel (no {PLYVEL_LEVELDB_SONAME} in {libs})"
    return ""


def _load() -> LevelDBBuild:
    try:
        choice = requested()
    except ConfigError as exc:  # refused again, in one line, where a database is opened (storage.leveldb)
        return LevelDBBuild("plyvel", True, str(exc))
    if choice == "plyvel":
        return LevelDBBuild("plyvel", True, "BTT_LEVELDB=plyvel")
    if "plyvel" in sys.modules and OWN_MODULE not in sys.modules:
        return LevelDBBuild("plyvel", True, "plyvel was imported before storage.leveldb_build")
    why = _plyvel_needs_our_soname()
    if why:
        return LevelDBBuild("plyvel", True, why)
    try:
        own = importlib.import_module(OWN_MODULE)
    except ImportError as exc:
        return LevelDBBuild("plyvel", True, f"storage/leveldb_src is not built ({exc})")
    if getattr(own, "SONAME", None) != PLYVEL_LEVELDB_SONAME or getattr(own, "SEEK_COMPACTION", 1) != 0:
        return LevelDBBuild("plyvel", True, f"{OWN_MODULE} is another build ({getattr(own, 'SONAME', '?')})")
    return LevelDBBuild("btt", False)


_BUILD: LevelDBBuild | None = None


def build() -> LevelDBBuild:
    """The LevelDB this process's plyvel uses, decided once, before plyvel's first import."""
    global _BUILD
    if _BUILD is None:
        _BUILD = _load()
    return _BUILD


build()
import plyvel  # noqa: E402  (after build(): plyvel then binds to the LevelDB it chose)

__all__ = ["plyvel", "build", "LevelDBBuild", "PLYVEL_LEVELDB_SONAME"]
