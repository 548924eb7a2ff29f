"""btt-chain's LevelDB build (storage/leveldb_src, storage/leveldb_build.py): plyvel binds to it, it compacts no table
for the reads that looked past it while plyvel's own does, a database moves between the two both ways, and the
choice (BTT_LEVELDB) is refused in one line when it is not one, before anything is opened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from btt_chain.primitives.errors import ConfigError
from storage import leveldb_build, read_ahead
from storage.leveldb import COMPACTION_NICE_DEFAULT, COMPACTION_NICE_SEEKING, LevelDBStore, default_compaction_nice
from tests.support.cli_runner import assert_one_error_line, held_node_ports, run

ROOT = Path(__file__).resolve().parents[2]


def _mapped_leveldb_libraries() -> set[str]:
    with open("/proc/self/maps") as f:
        paths = {parts[5].strip() for parts in (line.split(None, 5) for line in f) if len(parts) == 6}
    return {p for p in paths if os.path.basename(p).startswith("libleveldb")}


def _in_child(script: str, choice: str | None, *args: str, timeout: float = 120) -> dict:
    """Run `script ARGS` in a fresh interpreter with BTT_LEVELDB=`choice` (unset: None); the JSON it prints last."""
    env = {k: v for k, v in os.environ.items() if k != "BTT_LEVELDB"}
    if choice is not None:
        env["BTT_LEVELDB"] = choice
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_plyvel_is_bound_to_btt_chains_build_and_the_wheels_copy_is_never_mapped() -> None:
    build = leveldb_build.build()
    assert build.name == "btt" and not build.seek_compaction, build.why  # the install builds it (setup.py)
    mapped = _mapped_leveldb_libraries()
    assert len(mapped) == 1 and "libleveldb_btt" in Path(next(iter(mapped))).name, mapped
    assert read_ahead.leveldb_library() == next(iter(mapped))  # the read-ahead and table reads find this one
    assert read_ahead.AVAILABLE
    assert default_compaction_nice() == COMPACTION_NICE_DEFAULT == 0


WHICH = """
import json, os
from storage import leveldb_build
from storage.leveldb_build import plyvel
paths = {parts[5].strip() for parts in (l.split(None, 5) for l in open('/proc/self/maps')) if len(parts) == 6}
libs = sorted(p for p in paths if os.path.basename(p).startswith('libleveldb'))
from storage.leveldb import default_compaction_nice
b = leveldb_build.build()
print(json.dumps({"name": b.name, "seek": b.seek_compaction, "why": b.why, "libs": [os.path.basename(p) for p in libs],
                  "nice": default_compaction_nice()}))
"""


def test_btt_leveldb_plyvel_uses_the_wheels_own_and_nices_its_compactions() -> None:
    got = _in_child(WHICH, "plyvel")
    assert got["name"] == "plyvel" and got["seek"] and got["why"] == "BTT_LEVELDB=plyvel"
    assert got["libs"] == [leveldb_build.PLYVEL_LEVELDB_SONAME]
    assert got["nice"] == COMPACTION_NICE_SEEKING
    default = _in_child(WHICH, None)
    assert default["name"] == "btt" and not default["seek"] and len(default["libs"]) == 1
    assert default["libs"][0].startswith("libleveldb_btt") and default["nice"] == COMPACTION_NICE_DEFAULT


def test_plyvel_imported_first_keeps_its_own_and_says_why() -> None:
    got = _in_child("import plyvel\n" + WHICH, None)
    assert got["name"] == "plyvel" and got["seek"]
    assert got["why"] == "plyvel was imported before storage.leveldb_build"
    assert got["libs"] == [leveldb_build.PLYVEL_LEVELDB_SONAME]  # nothing of ours loaded beside it


@pytest.mark.parametrize("raw", ["rocksdb", "BTT", "btt plyvel", "1"])
def test_anything_else_is_refused_before_a_database_is_touched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               raw: str) -> None:
    monkeypatch.setenv("BTT_LEVELDB", raw)
    with pytest.raises(ConfigError, match="give 'btt'"):
        LevelDBStore(tmp_path / "db")
    assert not (tmp_path / "db").exists()


def test_the_node_command_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BTT_LEVELDB", "rocksdb")
    with held_node_ports() as ports:  # another node on its ports: the bad setting is still what it says
        code, _, err = run(capsys, "node", "--dev", "--base-path", str(tmp_path / "base"), *ports)
    assert_one_error_line(code, err, "BTT_LEVELDB='rocksdb': give 'btt'")
    assert not (tmp_path / "base").exists()


SEEKS = """
import json, sys, time
from storage.leveldb_build import plyvel
path, settle = sys.argv[1], float(sys.argv[2])
db = plyvel.DB(path, create_if_missing=True, write_buffer_size=256 * 1024, bloom_filter_bits=10, compression=None)
value = b"v" * 100
def levels():
    return [int(db.get_property(b"leveldb.num-files-at-level%d" % n)) for n in range(7)]
with db.write_batch() as batch:  # the even keys, compacted into one table deep down
    for i in range(0, 40_000, 2):
        batch.put(b"%08d" % i, value)
db.compact_range()
deep = levels()
assert sum(deep) == 1
for first in (1, 40_000, 43_000):  # odd keys over the whole range, then more than a memtable: a table above it
    with db.write_batch() as batch:
        for i in (range(1, 40_000, 400) if first == 1 else range(first, first + 3_000)):
            batch.put(b"%08d" % i, value)
deadline = time.monotonic() + 60
while sum(levels()) == 1 and time.monotonic() < deadline:  # the memtable's flush: an event, waited for
    time.sleep(0.01)
before = levels()
assert sum(before) >= 2, before
for round in range(10):  # each read of an even key looks through the table above first: a seek charged to it
    for i in range(0, 40_000, 40):
        assert db.get(b"%08d" % i) == value
start = time.monotonic()
while levels() == before and time.monotonic() - start < settle:
    time.sleep(0.01)
print(json.dumps({"before": before, "after": levels(), "waited": time.monotonic() - start}))
db.close()
"""


def test_reads_compact_nothing_with_btt_chains_build_and_do_with_plyvels_own(tmp_path: Path) -> None:
    """The same 10,000 reads, each looking through a table to the level below: plyvel's own LevelDB compacts
    that table away for them (it waits for that, up to a minute), btt-chain's build does not, over ten times as long
    as plyvel's took and at least two seconds (a busy machine can only make this side pass more easily)."""
    seeking = _in_child(SEEKS, "plyvel", str(tmp_path / "p"), "60")
    assert seeking["after"] != seeking["before"], seeking  # the table the reads looked through was compacted away
    settle = max(2.0, 10 * seeking["waited"])
    ours = _in_child(SEEKS, "btt", str(tmp_path / "b"), str(settle))
    assert ours["after"] == ours["before"], ours


MOVE = """
import json, sys
from storage.leveldb_build import plyvel, build
path, mode = sys.argv[1:3]
db = plyvel.DB(path, create_if_missing=True, write_buffer_size=256 * 1024, compression=None)
if mode == "write":
    with db.write_batch() as batch:
        for i in range(30_000):
            batch.put(b"%08d" % i, b"%d" % (i * 7))
    db.delete(b"%08d" % 5)
    db.compact_range(start=b"00001000", stop=b"00002000")
    print(json.dumps({"build": build().name}))
else:
    got = dict(db.iterator())
    got.pop(b"after", None)
    ok = len(got) == 29_999 and all(got[b"%08d" % i] == b"%d" % (i * 7) for i in range(30_000) if i != 5)
    db.put(b"after", build().name.encode())
    print(json.dumps({"build": build().name, "ok": ok}))
db.close()
"""


@pytest.mark.parametrize(("writer", "reader"), [("plyvel", "btt"), ("btt", "plyvel")])
def test_a_database_moves_between_the_two_builds(tmp_path: Path, writer: str, reader: str) -> None:
    path = str(tmp_path / "db")
    assert _in_child(MOVE, writer, path, "write")["build"] == writer
    got = _in_child(MOVE, reader, path, "read")
    assert got == {"build": reader, "ok": True}
    again = _in_child(MOVE, writer, path, "read")  # and back, with what the reader wrote
    assert again == {"build": writer, "ok": True}
