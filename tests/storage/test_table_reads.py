"""How LevelDB reads its tables (storage/table_reads.py): by pread into its block cache, so the process maps none of
its table files; LevelDB's own way (mmap) when asked or when any check of the library refuses, never a write to a
library that is not laid out as checked; a bad BTT_LEVELDB_TABLE_READS refused before a database is touched."""

from __future__ import annotations

import ctypes
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from btt_chain.primitives.errors import ConfigError
from storage import table_reads
from storage.leveldb import LevelDBStore
from storage.read_ahead import leveldb_library
from tests.support.cli_runner import assert_one_error_line, held_node_ports, run

REPO = Path(__file__).resolve().parents[2]

# a fresh process: opens a store, writes ~40 MB of random keys (tables at several levels), reads 5,000 of them back,
# and says how it read them, how many of its mappings are table files, and its open-files limit
PROBE = """
import json, os, random, resource, sys
from storage import table_reads
from storage.leveldb import LevelDBStore
random.seed(7)
keys = [random.randbytes(32) for _ in range(300_000)]
with LevelDBStore(sys.argv[1]) as kv:
    for at in range(0, len(keys), 50_000):
        kv.write({k: k * 3 for k in keys[at : at + 50_000]})
    kv.compact()
    assert all(kv.get(k) == k * 3 for k in random.sample(keys, 5_000))
    tables = sum(1 for line in open("/proc/self/maps") if line.rstrip().endswith(".ldb"))
    files = len(os.listdir(sys.argv[1]))
reads = table_reads.current()
print(json.dumps({"mode": reads.mode, "why": reads.why, "mapped_tables": tables, "files": files,
                  "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}))
"""


def probe(tmp_path: Path, env: dict[str, str] | None = None, soft_nofile: int | None = None) -> dict[str, object]:
    def lower_limit() -> None:
        if soft_nofile is not None:
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft_nofile, hard))

    full_env = {k: v for k, v in os.environ.items() if k != "BTT_LEVELDB_TABLE_READS"} | (env or {})
    full_env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "db")], env=full_env, cwd=REPO,
                          capture_output=True, text=True, timeout=300, preexec_fn=lower_limit, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_by_default_no_table_file_is_mapped_and_every_value_reads_back(tmp_path: Path) -> None:
    found = probe(tmp_path)
    assert found["mode"] == "pread" and found["why"] == ""
    assert int(str(found["files"])) > 5, "the probe made several table files"
    assert found["mapped_tables"] == 0


def test_asked_for_mmap_leveldb_maps_its_tables_as_before(tmp_path: Path) -> None:
    found = probe(tmp_path, {"BTT_LEVELDB_TABLE_READS": "mmap"})
    assert found["mode"] == "mmap" and "BTT_LEVELDB_TABLE_READS=mmap" in str(found["why"])
    assert int(str(found["mapped_tables"])) > 0  # what the default avoids, so the probe would see it


def test_the_open_files_limit_is_raised_toward_the_hard_limit(tmp_path: Path) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= 1024:
        pytest.skip(f"the hard limit here is {hard}: nothing to raise toward")
    found = probe(tmp_path, soft_nofile=1024)
    expected = table_reads.WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(
        table_reads.WANTED_OPEN_FILES, hard)
    assert found["nofile"] == expected
    assert found["mapped_tables"] == 0


def test_the_limit_is_never_lowered() -> None:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert table_reads.raise_open_files_limit(wanted=16) == soft
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == soft


@pytest.mark.parametrize("raw", ["mmapp", "PREAD ", "0", "none", "read"])
def test_a_bad_setting_is_refused_before_a_database_is_touched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               raw: str) -> None:
    monkeypatch.setenv("BTT_LEVELDB_TABLE_READS", raw)
    with pytest.raises(ConfigError, match="give pread .* or mmap"):
        LevelDBStore(tmp_path / "db")
    assert not (tmp_path / "db").exists()


@pytest.mark.parametrize("raw", ["pread", " pread ", "", "mmap"])
def test_good_settings_are_taken(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("BTT_LEVELDB_TABLE_READS", raw)
    assert table_reads.requested_mode() == (raw.strip() or "pread")


def test_the_node_command_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BTT_LEVELDB_TABLE_READS", "mapped")
    with held_node_ports() as ports:  # another node on its ports: the bad setting is still what it says
        code, _, err = run(capsys, "node", "--dev", "--base-path", str(tmp_path / "base"), *ports)
    assert_one_error_line(code, err, "BTT_LEVELDB_TABLE_READS='mapped': give pread")
    assert not (tmp_path / "base").exists()  # nothing made


def test_the_static_is_found_in_the_loaded_library() -> None:
    LevelDBStore  # noqa: B018 - plyvel is imported, its library mapped
    path = leveldb_library()
    assert path is not None
    with open(path, "rb") as f:
        symbols = table_reads.elf_symbols(f.read(), {table_reads.MMAP_LIMIT_SYMBOL, table_reads.ANCHOR_SYMBOL})
    limit = symbols[table_reads.MMAP_LIMIT_SYMBOL]
    assert (limit.size, limit.kind, limit.writable) == (4, 1, True)
    assert symbols[table_reads.ANCHOR_SYMBOL].kind == 2
    # this process opened stores already (pread): the static holds 0
    assert table_reads.mmap_limit_of(path).value in (0, table_reads.LEVELDB_DEFAULT_MMAP_LIMIT)


@pytest.mark.parametrize("image", [b"", b"\x7fELF", b"MZ" + bytes(100), b"\x7fELF\x01\x01" + bytes(100),
                                   b"\x7fELF\x02\x02" + bytes(100)])
def test_what_is_not_an_elf64_little_endian_file_is_refused(image: bytes) -> None:
    with pytest.raises(ValueError, match="not an ELF64 little-endian file"):
        table_reads.elf_symbols(image, {"x"})


def test_a_cut_short_library_is_refused_not_misread() -> None:
    path = leveldb_library()
    assert path is not None
    whole = Path(path).read_bytes()
    names = {table_reads.MMAP_LIMIT_SYMBOL, table_reads.ANCHOR_SYMBOL}
    right = table_reads.elf_symbols(whole, names)
    for size in (64, 4096, len(whole) // 2, len(whole) - 100, len(whole) - 1):
        try:
            found = table_reads.elf_symbols(whole[:size], names)
        except ValueError:
            continue
        # what a cut image still gives is what the whole one gives, never a symbol read from the wrong bytes
        assert all(found[name] == right[name] for name in found), f"a library cut at {size} bytes misread"


def test_a_library_without_the_static_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    libc = next(line.split()[5] for line in open("/proc/self/maps")
                if line.count(" ") >= 5 and os.path.basename(line.split()[-1]).startswith("libc.so"))
    with pytest.raises(ValueError, match="its symbol table has no"):
        table_reads.mmap_limit_of(libc)
    monkeypatch.setattr(table_reads, "leveldb_library", lambda: libc)
    reads = table_reads._apply("pread")
    assert reads.mode == "mmap" and "its symbol table has no" in reads.why


def test_a_static_holding_an_unexpected_value_is_not_written(monkeypatch: pytest.MonkeyPatch) -> None:
    cell = ctypes.c_int(7)
    monkeypatch.setattr(table_reads, "mmap_limit_of", lambda path: cell)
    reads = table_reads._apply("pread")
    assert reads.mode == "mmap" and "holds 7" in reads.why
    assert cell.value == 7


def test_no_library_mapped_means_leveldb_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_reads, "leveldb_library", lambda: None)
    reads = table_reads._apply("pread")
    assert reads.mode == "mmap" and "not among the process's mappings" in reads.why
