"""BTT_COMPACTION_NICE: the priority of LevelDB's background thread. A bad value is refused with what to give, before
any database is opened, and costs nothing; a good one is taken, and given to each thread Python did not start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from btt_chain.primitives.errors import ConfigError
from storage.leveldb import LevelDBStore, compaction_nice, default_compaction_nice
from tests.support.cli_runner import assert_one_error_line, held_node_ports, run


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("", None), ("0", 0), (" 5 ", 5), ("-20", -20),
                                               ("19", 19)])
def test_a_nice_value_is_taken(monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: int | None) -> None:
    expected = default_compaction_nice() if expected is None else expected
    if raw is None:
        monkeypatch.delenv("BTT_COMPACTION_NICE", raising=False)
    else:
        monkeypatch.setenv("BTT_COMPACTION_NICE", raw)
    assert compaction_nice() == expected


@pytest.mark.parametrize("raw", ["abc", "20", "-21", "1.5", "19x", "0x10"])
def test_anything_else_is_refused_before_a_database_is_touched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               raw: str) -> None:
    monkeypatch.setenv("BTT_COMPACTION_NICE", raw)
    with pytest.raises(ConfigError, match="give a nice value from -20 to 19"):
        LevelDBStore(tmp_path / "db")
    assert not (tmp_path / "db").exists()  # nothing created


def test_the_node_command_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BTT_COMPACTION_NICE", "lowest")
    with held_node_ports() as ports:  # another node on its ports: the bad setting is still what it says
        code, _, err = run(capsys, "node", "--dev", "--base-path", str(tmp_path / "base"), *ports)
    assert_one_error_line(code, err, "BTT_COMPACTION_NICE='lowest': give a nice value from -20 to 19")
    assert not (tmp_path / "base").exists()  # nothing made


NICED_THREADS = """
import _thread, os, threading
from storage import leveldb

def raw_thread():  # a thread Python's threading module does not know, as LevelDB's background thread
    ids, gate = [], _thread.allocate_lock()
    gate.acquire()
    started = _thread.allocate_lock()
    started.acquire()
    def run():
        ids.append(threading.get_native_id())
        started.release()
        gate.acquire()
    _thread.start_new_thread(run, ())
    started.acquire()
    return ids[0]

first = raw_thread()
leveldb._nice_background_threads(7)
assert os.getpriority(os.PRIO_PROCESS, first) == 7
assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == 0  # Python's own threads keep theirs
listed = []
real_listdir = os.listdir
os.listdir = lambda path: listed.append(path) or real_listdir(path)
leveldb._nice_background_threads(7)
assert listed == []  # no thread came or went: not listed again
second = raw_thread()
leveldb._nice_background_threads(7)
assert listed == ["/proc/self/task"] and os.getpriority(os.PRIO_PROCESS, second) == 7
"""


def test_threads_python_did_not_start_are_niced_once_and_listed_only_when_their_number_changes() -> None:
    done = subprocess.run([sys.executable, "-c", NICED_THREADS], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
