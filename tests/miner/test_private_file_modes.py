"""The clinic's order files (its real cases in plaintext, their labels and the sealing secret that opens every sealed
item of the job) and the miner's result files (a private job's plain outputs: the clinic's diagnoses) are readable by
their owner only: files 0600 from their creation, never chmod-ed after the content is in them, directories 0700,
whatever the umask (the adversarial review of issue 51, finding 2; /tmp/probe51/order_file_mode.py found 0644 files
in 0755 directories under umask 022). A directory left looser by an older version is tightened on the next write."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from btt_chain.consensus import durable
from btt_chain.consensus.durable import write_json_durably
from btt_chain.miner.engine import PreparedResult
from btt_chain.miner.private_order import PrivateOrder
from btt_chain.miner.store import ResultStore, result_dir
from cli.private_jobs_cmd import order_dir

GENESIS = b"\x01" * 32


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022, 0o002, 0o077], ids=lambda m: f"umask{m:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


@pytest.fixture
def written_private(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The mode of every file `write_json_durably` writes JSON into, seen before the first byte goes in."""
    seen: list[int] = []
    real_dump = json.dump

    def dump(data: Any, fh: Any, **kw: Any) -> None:
        seen.append(stat.S_IMODE(os.fstat(fh.fileno()).st_mode))
        real_dump(data, fh, **kw)

    monkeypatch.setattr(durable.json, "dump", dump)
    return seen


def an_order() -> PrivateOrder:
    return PrivateOrder(b"\x00" * 32, [b"patient-case-1", b"decoy"], (1,), b"\x02" * 32, b"\x03" * 32, [1, 0])


def test_the_order_file_and_its_directories_are_private_under_any_umask(tmp_path: Path, umask: int,
                                                                       written_private: list[int]) -> None:
    """The probe's steps: `order_dir` under a data dir that does not exist yet, then `PrivateOrder.save`."""
    d = order_dir(tmp_path / "clinic", GENESIS, "5Fclinic")
    p = d / "job-1.json"
    an_order().save(p)
    assert [mode(q) for q in (tmp_path / "clinic", tmp_path / "clinic" / GENESIS.hex()[:16], d)] == [0o700] * 3
    assert mode(p) == 0o600 and written_private == [0o600]  # 0600 before the cases and the secret went in
    assert PrivateOrder.load(p) == an_order() and sorted(x.name for x in d.iterdir()) == ["job-1.json"]
    an_order().save(d / "job-2.json")  # the directory exists now: the next file is 0600 too
    assert mode(d / "job-2.json") == 0o600 and written_private == [0o600, 0o600]


def test_an_older_loose_order_directory_is_tightened_and_a_stale_temporary_file_is_not_reused(
        tmp_path: Path, written_private: list[int], caplog: pytest.LogCaptureFixture) -> None:
    old = os.umask(0o022)
    try:
        d = tmp_path / "clinic" / "g" / "a"
        d.mkdir(parents=True, mode=0o755)
        os.chmod(d, 0o755)
        stale = d / "job-3.tmp"  # left by a crash of an older version, world-readable and -writable
        stale.write_text("{}")
        os.chmod(stale, 0o666)
        (d / "job-3.json").write_text("{}")  # an older order file, 0644
        an_order().save(d / "job-3.json")
    finally:
        os.umask(old)
    assert mode(d) == 0o700 and mode(d / "job-3.json") == 0o600 and written_private == [0o600]
    assert not stale.exists()
    assert any("made 0700" in r.getMessage() for r in caplog.records)
    assert mode(tmp_path / "clinic") == 0o755  # a parent that was there is not the order directory: left alone


def a_result() -> PreparedResult:
    return PreparedResult(7, b"\x05" * 32, (b"sealed-in",), (b"sealed-out",), plain=(b"\x01",), secrets=(b"\x09" * 32,))


def test_the_miners_result_files_are_private_under_any_umask(tmp_path: Path, umask: int,
                                                              written_private: list[int]) -> None:
    base = tmp_path / "miner"
    directory = result_dir(base, GENESIS, "5Fminer")
    store = ResultStore(directory)
    assert [mode(q) for q in (base, base / GENESIS.hex()[:16], directory)] == [0o700] * 3
    store.save(a_result())
    assert mode(store.path(7)) == 0o600 and written_private == [0o600]
    loaded = store.load(7)
    assert loaded is not None and loaded.plain == (b"\x01",)


def test_a_loose_result_directory_is_tightened_when_the_store_opens_it(tmp_path: Path) -> None:
    directory = tmp_path / "results"
    directory.mkdir()
    os.chmod(directory, 0o755)
    ResultStore(directory).save(a_result())
    assert mode(directory) == 0o700 and mode(directory / "job-7.json") == 0o600


def test_other_callers_keep_their_files_as_before(tmp_path: Path) -> None:
    """The signing guards' files are not private (no case, no secret): the umask decides, as it always did."""
    old = os.umask(0o022)
    try:
        write_json_durably(tmp_path / "guard.json", {"last_block_slot": 1})
    finally:
        os.umask(old)
    assert mode(tmp_path / "guard.json") == 0o644 and json.loads((tmp_path / "guard.json").read_text())
