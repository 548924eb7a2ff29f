"""Every `btt-chain bench` command in its smallest configuration, through the CLI: each ends with its figures (the
named ones present and sane: rates above zero, counts as asked), and its expected failures end with one `error:`
line, never a traceback. A rule change that breaks a bench's set-up fails here, not in a reader's hands.

The benches that start node processes (admission, rpc-flood, network, sync, import) run as `btt-chain` processes on
ports planned by tests/support/ports.py (handed to them in BTT_BENCH_PORTS). They mostly wait (on slots, on peers,
on a warp sync's wait for a second peer), so they start together when the module starts and run beside the in-process
benches, each test then waiting for its own. This module starts real processes: scripts/test runs tests/bench with
the real-process tests (one worker for the whole file)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.dev_node import PORTS_ENV
from bench.receipt_bench import LADDER_NAMES
from cli.bench_cmd import TRACEBACK_ENV
from tests.support.cli_runner import run
from tests.support.ports import free_port
from tests.support.wait_limits import scaled

REPO = Path(__file__).resolve().parents[2]
PORTS_PER_BENCH = 12
"""More than any bench binds (network: two per devnet node and two per sync node; sync: two per node)."""


def fields(out: str) -> dict[str, str]:
    """The `name  value` rows `print_fields` prints (a name, two or more spaces, the value)."""
    rows = {}
    for line in out.splitlines():
        found = re.match(r"^(\S.*?)\s{2,}(\S.*)$", line)
        if found:
            rows[found.group(1)] = found.group(2)
    return rows


def number(value: str) -> float:
    """The number a figure starts with (thousands separators allowed)."""
    found = re.match(r"^-?[\d,]+(\.\d+)?", value.strip())
    assert found, f"not a number: {value!r}"
    return float(found.group(0).replace(",", ""))


def positive(rows: dict[str, str], *names: str) -> None:
    for name in names:
        assert name in rows, f"{name!r} missing from {sorted(rows)}"
        assert number(rows[name]) > 0, f"{name} = {rows[name]!r}"


def assert_ends_in_one_error_line(code: int, err: str, fragment: str) -> None:
    """A failed command: a non-zero exit, no traceback, and its last line (after any progress lines) the one
    `error:` line, holding `fragment`."""
    assert code != 0 and "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0], err
    assert fragment in errors[0], err


# --- the benches that start node processes, started together ------------------------------------------------------


@dataclass
class Launched:
    """One `btt-chain bench ...` process: its output files and, once it has ended, its exit code."""

    process: subprocess.Popen[bytes]
    out: Path
    err: Path

    def finish(self) -> tuple[int, str, str]:
        """Wait for the bench to end (a hang fails the test); (exit code, stdout, stderr)."""
        try:
            code = self.process.wait(scaled(300))
        except subprocess.TimeoutExpired:
            stop(self.process)
            raise AssertionError(f"the bench did not end in {scaled(300):.0f} s: {self.err.read_text()[-2000:]}") \
                from None
        return code, self.out.read_text(), self.err.read_text()


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the bench's process group (it and the nodes it started), SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(scaled(30))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


PROCESS_BENCHES: dict[str, tuple[str, ...]] = {
    "admission": ("admission", "--per-sender", "2", "--batch", "10"),
    "rpc-flood": ("rpc-flood", "--connections", "1", "--seconds", "2"),
    "network": ("network", "--nodes", "2", "--seconds", "8", "--settle", "1", "--sync-blocks", "10",
                "--transfers-per-block", "2"),
    "sync": ("sync", "--accounts", "1000", "--blocks", "100", "--skip-full", "--baseline", "1", "--limit", "300"),
    "import": ("import", "--accounts", "1000", "--transfers", "50", "--blocks", "2"),
    "port in use": ("admission", "--per-sender", "1"),
}
"""Name -> the `btt-chain bench` arguments of its smallest configuration (`port in use`: the admission bench told to
use a port something else holds)."""


@pytest.fixture(scope="module", autouse=True)
def launched(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Launched]]:
    """The process benches this run selected, all started at once when the module starts (the in-process tests run
    meanwhile; the process tests come last and wait for theirs); any still running at the end is stopped."""
    selected = {item.callspec.params["name"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_a_process_bench_prints_its_figures"}
    if any(getattr(item, "originalname", "") == "test_a_port_in_use_is_one_line" for item in request.session.items):
        selected.add("port in use")
    base = tmp_path_factory.mktemp("benches")
    holder = socket.socket()  # the port in use: bound and listening, never answering
    held_port = free_port()
    holder.bind(("127.0.0.1", held_port))
    holder.listen()
    started: dict[str, Launched] = {}
    try:
        for name in (n for n in PROCESS_BENCHES if n in selected):
            argv = list(PROCESS_BENCHES[name])
            ports = [held_port] if name == "port in use" else [free_port() for _ in range(PORTS_PER_BENCH)]
            if name == "sync":
                argv += ["--workdir", str(base / "sync")]
            out, err = base / f"{name}.out", base / f"{name}.err"
            with open(out, "wb") as o, open(err, "wb") as e:
                process = subprocess.Popen(
                    [sys.executable, "-m", "cli", "bench", *argv], cwd=REPO, stdout=o, stderr=e,
                    env={**os.environ, PORTS_ENV: ",".join(map(str, ports)), "PYTHONUNBUFFERED": "1"},
                    start_new_session=True,
                )
            started[name] = Launched(process, out, err)
        yield started
    finally:
        for one in started.values():
            stop(one.process)
        holder.close()


# --- the in-process benches ------------------------------------------------------------------------------------------


def test_receipt_runs_its_receipts_the_ladder_the_chunks_and_the_worst_block(capsys: pytest.CaptureFixture[str],
                                                                            ) -> None:
    code, out, err = run(capsys, "bench", "receipt", "--jobs", "2", "--items", "16", "--model", "smallest",
                         "--calls", "2", "--chunk-items", "16")
    assert code == 0, err
    rows = fields(out)
    assert rows["jobs (receipts in the block)"] == "2" and rows["items per job"] == "16"
    positive(rows, "import per receipt ms", "verification core per receipt ms (p50)", "challenge weight (reference "
             "model)", "output chunks (3 jobs of 16 items of 1,025 bytes)", "chunk weight",
             "worst block: challenges of the largest model", "worst block import ms")
    # a call's time is its block's less an empty block's: at two calls on a busy machine it may come out below zero
    number(rows["chunk us"])
    smallest = dict(part.rsplit(" ", 1) for part in rows["smallest"].split(", "))
    assert smallest["calls"] == "2" and smallest["reveals timed"] == "2" and smallest["challenges"] == "200"
    assert int(smallest["reveal weight"]) > 0 and int(smallest["challenge weight"]) > 0
    int(smallest["reveal us"]), int(smallest["challenge us"])
    assert [name for name in LADDER_NAMES if name in rows] == ["smallest"]  # only the model asked for
    assert number(rows["worst block weight"]) <= number(rows["block.max_weight (dev)"])
    assert rows["worst block import within the dev slot"] in ("yes", "no")


def test_receipt_refuses_what_the_chain_does_not_take_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "bench", "receipt", "--jobs", "1", "--items", "4096", "--no-weights")
    assert_ends_in_one_error_line(code, err, "takes jobs of 1 to 1024 items")
    code, _, err = run(capsys, "bench", "receipt", "--model", "biggest")
    assert_ends_in_one_error_line(code, err, "biggest")


def test_rpc_times_every_method_on_a_small_chain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "bench", "rpc", "--accounts", "2", "--transfers", "20", "--full", "1", "--empty",
                         "1", "--items", "10", "--repeat", "1")
    assert code == 0, err
    rows = fields(out)
    assert rows["blocks"] == "1 of 20 transfers, then 1 empty"
    calls = {k: v for k, v in rows.items() if v.startswith("worst ")}
    assert len(calls) >= 40
    assert all(re.match(r"^worst [\d.]+ ms, median [\d.]+ ms", v) for v in calls.values()), calls
    assert any("in steps: the longest" in v for k, v in calls.items() if k.startswith("btt_explorerEvents"))
    positive(rows, "worst call (ms)", "first btt_explorerEvents call of the process (ms)")


def test_smt(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "bench", "smt", "--keys", "100", "--changes", "10")
    assert code == 0, err
    rows = fields(out)
    assert rows["n_keys"] == "100" and rows["n_changes"] == "10"
    positive(rows, "proof_depth", "resident_leaves")
    assert all(number(rows[k]) >= 0 for k in ("open_ms", "update_median_ms", "prove_ms"))


def test_smt_refuses_more_changes_than_keys_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "bench", "smt", "--keys", "3", "--changes", "4")
    assert_ends_in_one_error_line(code, err, "more than --keys (3)")
    code, out, err = run(capsys, "bench", "smt", "--keys", "3", "--changes", "3")
    assert code == 0 and fields(out)["n_changes"] == "3", err
    code, out, err = run(capsys, "bench", "smt", "--keys", "4")  # the default, 5,000, cut to the keys there are
    assert code == 0 and fields(out)["n_changes"] == "4", err


def test_a_work_dir_another_run_holds_is_one_line_and_nothing_in_it_is_touched(capsys: pytest.CaptureFixture[str],
                                                                               tmp_path: Path) -> None:
    from bench import workdir_lock

    kept = tmp_path / "run-1000-100" / "server"
    kept.mkdir(parents=True)
    (kept / "CURRENT").write_text("kept")
    with workdir_lock.held(tmp_path, "sync"):
        for args in (("sync", "--accounts", "1000", "--blocks", "100"), ("genesis-fetch", "--accounts", "1000")):
            code, _, err = run(capsys, "bench", *args, "--workdir", str(tmp_path))
            assert_ends_in_one_error_line(code, err, "is in use by another benchmark run (btt-chain bench sync, pid")
    assert (kept / "CURRENT").read_text() == "kept" and sorted(p.name for p in tmp_path.iterdir()) == [
        ".lock", "run-1000-100"]
    with workdir_lock.held(tmp_path, "sync"):  # released when the holder's block ended
        pass


def test_upgrade(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "bench", "upgrade", "--validators", "30", "--offences", "20", "--runs", "1")
    assert code == 0, err
    weights = [v for k, v in fields(out).items() if k.endswith(": weight")]
    assert len(weights) == 2 and all(number(w) >= 1 for w in weights), weights


def test_sealing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "bench", "sealing", "--quick", "--rounds", "1")
    assert code == 0, err
    rows = fields(out)
    assert rows["items/decoys model"].startswith("16/8 ")
    positive(rows, "seal a case us (clinic)", "open a case us (provider)", "floor price BTT")
    assert "weight >= measured import time" in out


def test_finality(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "bench", "finality", "--validators", "2", "--epochs", "1")
    assert code == 0, err
    rows = fields(out)
    assert rows["votes_during_outage"] == "2" and rows["finality_resumed"] == "True"
    positive(rows, "per_vote_us", "tracker_memory_per_held_vote_bytes")


def test_inference(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "bench", "inference", "--repeats", "1")
    assert code == 0, err
    ratios = re.findall(r"^lowest weight/fastest: ([\d.]+)", out, re.MULTILINE)
    assert len(ratios) == 2 and all(float(r) > 0 for r in ratios), out
    kernels = [line for line in out.splitlines() if line.startswith(("dense ", "conv "))]
    assert kernels and all(number(line.split()[-1]) > 0 for line in kernels), kernels


def test_genesis_fetch_makes_a_file_then_fetches_it_from_a_second_process(capsys: pytest.CaptureFixture[str],
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    monkeypatch.setenv(PORTS_ENV, f"{free_port()},{free_port()}")
    code, out, err = run(capsys, "bench", "genesis-fetch", "--accounts", "1000", "--workdir", str(tmp_path))
    assert code == 0, err
    rows = fields(out)
    assert rows["accounts"] == "1,000"
    made = tmp_path / "genesis-1000" / "spec.state"
    assert rows["genesis_state_file"] == str(made) and number(rows["bytes"]) == made.stat().st_size
    positive(rows, "fetch_s", "mb_per_s", "requests", "server_chunks", "joiner_peak_mib", "server_peak_mib")
    assert not (tmp_path / "genesis-fetch-joiner-1000").exists()  # the joiner's copy is removed after the check


def test_genesis_fetch_into_a_work_dir_under_a_file_is_one_line(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    code, _, err = run(capsys, "bench", "genesis-fetch", "--accounts", "1000", "--workdir",
                       str(tmp_path / "taken" / "under"))
    assert_ends_in_one_error_line(code, err, "work dir")
    assert code == 1


def test_pyevm_without_its_virtualenv_says_how_to_make_it(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BTT_PYEVM_PYTHON", str(tmp_path / "no-such-python"))
    code, _, err = run(capsys, "bench", "pyevm", "--pairs", "1", "--accounts", "10", "--transfers", "1", "--blocks",
                       "1")
    assert_ends_in_one_error_line(code, err, "run scripts/pyevm-venv to make it")
    assert code == 1


# --- the command group's error lines --------------------------------------------------------------------------------


def test_a_bad_option_is_a_usage_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "bench", "rpc", "--accounts", "1")
    assert_ends_in_one_error_line(code, err, "--accounts")
    assert code == 2


def test_too_few_planned_ports_is_one_line_before_any_node_starts(capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PORTS_ENV, str(free_port()))
    code, _, err = run(capsys, "bench", "network", "--nodes", "2", "--seconds", "2")
    assert_ends_in_one_error_line(code, err, "lists 1 port(s) and this bench needs more")
    monkeypatch.setenv(PORTS_ENV, "http")
    code, _, err = run(capsys, "bench", "admission", "--per-sender", "1")
    assert_ends_in_one_error_line(code, err, "'http' is not a port number")


def test_an_unexpected_failure_is_one_line_with_its_type_and_the_traceback_on_request(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.smt_bench

    def broken(*_: object) -> None:
        raise ZeroDivisionError("a bench bug\nover two lines")

    monkeypatch.setattr(bench.smt_bench, "run", broken)
    code, out, err = run(capsys, "bench", "smt", "--keys", "10")
    assert code == 1 and not out
    assert_ends_in_one_error_line(code, err, "bench smt failed: ZeroDivisionError: a bench bug; over two lines")
    monkeypatch.setenv(TRACEBACK_ENV, "1")
    with pytest.raises(ZeroDivisionError):
        run(capsys, "bench", "smt", "--keys", "10")


# --- the process benches' figures (they ran beside the tests above) -----------------------------------------------


def _admission(rows: dict[str, str]) -> None:
    assert rows["sent"] == "40" and rows["admitted"] == "40" and rows["refused"] == "0", rows
    positive(rows, "admitted_tx_per_s")


def _rpc_flood(rows: dict[str, str]) -> None:
    positive(rows, "attack calls answered", "largest reply bytes", "system_health p50 ms")
    assert number(rows["slots missed"]) <= number(rows["slots in the window (the node leads every one)"])


def _network(rows: dict[str, str]) -> None:
    assert rows["nodes"] == "2"
    positive(rows, "blocks_seen_by_all")
    assert number(rows["propagation_p50_ms"]) >= 0
    for name in ("block_to_finality_p50_s", "block_to_finality_p99_s"):  # a busy machine may finalize none in 8 s
        # >= 0: each delay is > 0 (tests/bench/test_network_figures.py), printed to 10 ms
        assert rows[name] == "none in the window" or number(rows[name]) >= 0, rows[name]
    assert rows["blocks"] == "10" and rows["transfers_per_block"] == "2"
    positive(rows, "blocks_per_s", "transfers_per_s")


def _sync(rows: dict[str, str]) -> None:
    assert rows["accounts"] == "1,000"
    for name in ("warp: time to answer", "warp: time to follow"):
        assert re.match(r"^[\d.]+ s \(", rows[name]), rows[name]
        positive(rows, name)
    assert re.search(r"^0 s \d+\+\d+, .*\(MiB own \+ mapped\)$", rows["warp: memory over time"])
    assert re.search(r"mapped files, [\d.]+ s after its start\)", rows["warp: peak memory"])
    assert "full: time to answer" not in rows  # --skip-full


def _import(rows: dict[str, str]) -> None:
    assert rows["accounts"] == "1000" and rows["transfers"] == "100"
    positive(rows, "import_tx_per_s", "verify_per_s_one_core", "pool_admission_tx_per_s", "authoring_tx_per_s",
             "rss_mib")


CHECKS: dict[str, Callable[[dict[str, str]], None]] = {
    "admission": _admission, "import": _import, "rpc-flood": _rpc_flood, "network": _network, "sync": _sync,
}
"""Name -> its figures' checks, in about the order the benches end (the warp join of `sync` waits 10 s for a
second peer's proof)."""


@pytest.mark.parametrize("name", list(CHECKS))
def test_a_process_bench_prints_its_figures(name: str, launched: dict[str, Launched]) -> None:
    code, out, err = launched[name].finish()
    assert code == 0 and "Traceback" not in err, err[-3000:]
    CHECKS[name](fields(out))


def test_a_port_in_use_is_one_line(launched: dict[str, Launched]) -> None:
    """The dev node cannot bind the port it was given: the bench says so at once (not after a connection to what
    holds the port hangs), in one line."""
    code, _, err = launched["port in use"].finish()
    assert code == 1 and "Traceback" not in err, err
    assert_ends_in_one_error_line(code, err, "Address already in use")
    assert err.strip().splitlines()[-1].startswith("error: the node exited with code 1: ")
