"""How LevelDB reads its table files: by pread into its block cache, not through memory mappings.

LevelDB 1.22 (plyvel 1.5.1's) maps up to 1,000 table files and reads them through the mappings. The kernel maps up to
16 pages around each page a random read faults in, so a node's resident memory grew toward a copy of the flat state
(~1.4 GB at 10 million accounts after 8 blocks), and the node had to close and reopen its database to drop the
mappings: 30-150 ms a time, every ~3 blocks at 10 million accounts (`LevelDBStore.release_mapped_pages_over`).

The limit is a static of LevelDB's POSIX Env (`g_mmap_limit`), read once, when that Env is created by the process's
first open. LevelDB's own hook for it (`EnvPosixTestHelper::SetReadOnlyMMapLimit`) is not exported and plyvel has no
option for it, so `configure`, called before the first database opens, finds the static by name in the symbol table
of the very library plyvel loaded and sets it to 0. It writes only when every check passes: one LevelDB library is
mapped, an ELF64 little-endian file whose symbol table names the static as a 4-byte object in a writable section and
`leveldb_open` as a function; the library's load address follows from where `leveldb_open` is; and the static holds
LevelDB's default (1,000) or already 0. Anything else leaves LevelDB as it is (`mode` "mmap", `why` says why), and
the release by reopening keeps the memory bounded as before.

With no mappings, every table block LevelDB reads lands in its block cache (`LRU_CACHE_BYTES`, bounded), the page
cache keeps the files, and the process maps nothing of them. A table read by pread keeps a descriptor open while it
is in LevelDB's table cache (up to ~990), and LevelDB keeps at most a fifth of the soft RLIMIT_NOFILE open (it opens
the file for every read past that), so `configure` also raises the soft limit toward the hard one, as Substrate's
nodes do at start (`fdlimit::raise_fd_limit`).

BTT_LEVELDB_TABLE_READS (environment) chooses: `pread` (the default) or `mmap` (LevelDB's own way); anything else
is refused with one line before a database is opened."""

from __future__ import annotations

import ctypes
import logging
import os
import resource
import struct
from dataclasses import dataclass

from btt_chain.primitives.errors import ConfigError
from storage.read_ahead import leveldb_library

MMAP_LIMIT_SYMBOL = "_ZN7leveldb12_GLOBAL__N_112g_mmap_limitE"
"""`leveldb::(anonymous namespace)::g_mmap_limit`, the POSIX Env's limit on mapped table files (env_posix.cc)."""
ANCHOR_SYMBOL = "leveldb_open"
"""An exported function of the same library, whose address gives the library's load address."""
LEVELDB_DEFAULT_MMAP_LIMIT = 1000
"""LevelDB's `kDefaultMmapLimit` on 64-bit hosts: the value the static holds before anything changed it."""
WANTED_OPEN_FILES = 65_536
"""The soft RLIMIT_NOFILE asked for (at most the hard limit): a fifth of it is what LevelDB keeps open by pread."""
MODES = ("pread", "mmap")

log = logging.getLogger("btt.storage")

_SHT_SYMTAB, _SHT_DYNSYM, _SHT_PROGBITS = 2, 11, 1
_SHF_WRITE = 0x1
_STT_OBJECT, _STT_FUNC = 1, 2


@dataclass(frozen=True)
class TableReads:
    """How this process's LevelDB reads its tables: `mode` "pread" or "mmap", and `why` (empty when as asked)."""

    mode: str
    why: str = ""


_configured: TableReads | None = None


def requested_mode() -> str:
    """BTT_LEVELDB_TABLE_READS, or "pread"; anything else is refused with what to give."""
    raw = os.environ.get("BTT_LEVELDB_TABLE_READS")
    if raw is None or raw.strip() == "":
        return "pread"
    if raw.strip() not in MODES:
        raise ConfigError(f"BTT_LEVELDB_TABLE_READS={raw!r}: give pread (the default: LevelDB reads its tables into "
                          "its block cache) or mmap (LevelDB maps them)")
    return raw.strip()


def configure() -> TableReads:
    """Set how LevelDB reads its tables, once per process, before its first database opens (later calls give the
    first answer; a bad BTT_LEVELDB_TABLE_READS is refused every time)."""
    global _configured
    mode = requested_mode()
    if _configured is None:
        _configured = _apply(mode)
        if _configured.mode == mode:
            log.debug("LevelDB reads its tables by %s", mode)
        else:  # a check refused: as before this module, the node's memory includes the mapped tables
            log.warning("LevelDB maps its table files (not read by pread as asked): %s", _configured.why)
    return _configured


def current() -> TableReads | None:
    """What `configure` set, None before it ran."""
    return _configured


def _apply(mode: str) -> TableReads:
    if mode == "mmap":
        return TableReads("mmap", "BTT_LEVELDB_TABLE_READS=mmap")
    raise_open_files_limit()
    path = leveldb_library()
    if path is None:
        return TableReads("mmap", "plyvel's LevelDB library is not among the process's mappings")
    try:
        limit = mmap_limit_of(path)
    except (OSError, ValueError) as exc:
        return TableReads("mmap", f"{os.path.basename(path)}: {exc}")
    if limit.value not in (LEVELDB_DEFAULT_MMAP_LIMIT, 0):
        return TableReads("mmap", f"{MMAP_LIMIT_SYMBOL} holds {limit.value}, not LevelDB's default "
                                  f"{LEVELDB_DEFAULT_MMAP_LIMIT}: not this LevelDB's layout")
    limit.value = 0
    return TableReads("pread")


def raise_open_files_limit(wanted: int = WANTED_OPEN_FILES) -> int:
    """Raise the soft RLIMIT_NOFILE to `wanted` or the hard limit, whichever is lower (never lower it); the soft
    limit after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def mmap_limit_of(path: str) -> ctypes.c_int:
    """The `g_mmap_limit` static of the LevelDB library at `path`, which must be loaded in this process; ValueError
    (what is wrong) unless its symbol table lays it out as expected."""
    with open(path, "rb") as f:
        image = f.read()
    symbols = elf_symbols(image, {MMAP_LIMIT_SYMBOL, ANCHOR_SYMBOL})
    if MMAP_LIMIT_SYMBOL not in symbols or ANCHOR_SYMBOL not in symbols:
        missing = sorted({MMAP_LIMIT_SYMBOL, ANCHOR_SYMBOL} - set(symbols))
        raise ValueError(f"its symbol table has no {', '.join(missing)}")
    limit, anchor = symbols[MMAP_LIMIT_SYMBOL], symbols[ANCHOR_SYMBOL]
    if limit.kind != _STT_OBJECT or limit.size != 4 or not limit.writable:
        raise ValueError(f"{MMAP_LIMIT_SYMBOL} is not a 4-byte object in a writable section")
    if anchor.kind != _STT_FUNC:
        raise ValueError(f"{ANCHOR_SYMBOL} is not a function")
    library = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LOCAL)  # the loaded one, never a second copy
    at = ctypes.cast(getattr(library, ANCHOR_SYMBOL), ctypes.c_void_p).value
    if at is None:
        raise ValueError(f"{ANCHOR_SYMBOL} has no address")
    return ctypes.c_int.from_address(at - anchor.value + limit.value)


@dataclass(frozen=True)
class ElfSymbol:
    value: int
    size: int
    kind: int
    writable: bool


def elf_symbols(image: bytes, names: set[str]) -> dict[str, ElfSymbol]:
    """The symbols named `names` in an ELF64 little-endian image's symbol tables (static, then dynamic); ValueError
    if the image is not one or is cut short."""
    if image[:4] != b"\x7fELF" or len(image) < 64 or image[4] != 2 or image[5] != 1:
        raise ValueError("not an ELF64 little-endian file")
    try:
        shoff = struct.unpack_from("<Q", image, 0x28)[0]
        shentsize, shnum = struct.unpack_from("<HH", image, 0x3A)
        if shentsize != 64:
            raise ValueError("its section headers are not ELF64's")
        sections = [struct.unpack_from("<IIQQQQIIQQ", image, shoff + i * shentsize) for i in range(shnum)]
        found: dict[str, ElfSymbol] = {}
        for kind in (_SHT_SYMTAB, _SHT_DYNSYM):
            for section in sections:
                if section[1] != kind or section[6] >= len(sections):
                    continue
                strings = sections[section[6]][4]
                for at in range(section[4], section[4] + section[5], 24):
                    name_at, info, _, index, value, size = struct.unpack_from("<IBBHQQ", image, at)
                    end = image.index(b"\x00", strings + name_at)
                    name = image[strings + name_at : end].decode("ascii", "replace")
                    if name in names and name not in found and 0 < index < len(sections):
                        home = sections[index]
                        writable = home[1] == _SHT_PROGBITS and bool(home[2] & _SHF_WRITE)
                        found[name] = ElfSymbol(value, size, info & 0xF, writable)
        return found
    except (struct.error, IndexError) as exc:
        raise ValueError(f"its headers are cut short or out of range ({exc})") from None
