"""`btt-chain devnet` says once, in one line, when every node has finalized a block past genesis, and how to use the
devnet (issue 53): its RPC and explorer URLs and a first command. Never before every node has; in --json mode on
stderr, so that stdout stays the JSON table. The devnet's loop runs here with its nodes faked (no process starts):
`poll_status` answers from a script of heights."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import cli.devnet_cmd as devnet_cmd
from cli.devnet_cmd import DEFAULT_RPC_PORT, DevnetNode, NodeStatus, ready_line
from tests.support.cli_runner import run

CMD = ".venv/bin/btt-chain"


def plan(n: int, rpc: int = DEFAULT_RPC_PORT) -> list[DevnetNode]:
    return [DevnetNode(i, f"v{i}", Path(f"/tmp/n{i}"), 30333 + i, rpc + i, f"peer{i}") for i in range(n)]


def statuses(*finalized: int | None) -> list[NodeStatus | None]:
    return [None if f is None else NodeStatus(f + 5, f, 3) for f in finalized]


def test_not_ready_while_a_node_is_down_or_has_finalized_only_genesis() -> None:
    nodes = plan(4)
    assert ready_line(nodes, statuses(2, 2, 2, None), 10, CMD, DEFAULT_RPC_PORT) is None
    assert ready_line(nodes, statuses(2, 2, 0, 2), 10, CMD, DEFAULT_RPC_PORT) is None
    assert ready_line(nodes, statuses(0, 0, 0, 0), 10, CMD, DEFAULT_RPC_PORT) is None
    assert ready_line([], [], 10, CMD, DEFAULT_RPC_PORT) is None


def test_the_ready_line_names_the_least_finalized_block_the_urls_and_a_first_command() -> None:
    line = ready_line(plan(4), statuses(3, 2, 4, 3), 17.4, CMD, DEFAULT_RPC_PORT)
    assert line is not None and "\n" not in line
    assert line.startswith("devnet ready: every node has finalized block #2 (17 s after start)")
    assert "RPC http://127.0.0.1:9944 (node0) to http://127.0.0.1:9947 (node3)" in line
    assert "explorer http://127.0.0.1:9944/" in line
    assert line.endswith(f"{CMD} query account bob")  # the CLI's default node needs no --rpc


def test_on_other_ports_the_first_command_names_its_node() -> None:
    line = ready_line(plan(1, 20000), statuses(1), 5, "btt-chain", DEFAULT_RPC_PORT)
    assert line is not None
    assert "RPC http://127.0.0.1:20000," in line and " to " not in line
    assert line.endswith("btt-chain query account bob --rpc http://127.0.0.1:20000")


class FakeProcess:
    returncode = None

    def poll(self) -> None:
        return None


@pytest.fixture
def fake_devnet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """The devnet command's loop over 4 faked nodes: the n-th round of polls answers script[n] (finalized heights,
    None for a node down); the round after the script's end is Ctrl-C."""
    state: dict[str, Any] = {"script": [], "round": 0, "polls": 0}
    nodes = plan(4)
    monkeypatch.setattr(devnet_cmd, "busy_ports", lambda *a: [])
    monkeypatch.setattr(devnet_cmd, "plan_devnet", lambda base, *a: (tmp_path / "spec.json", nodes))
    monkeypatch.setattr(devnet_cmd.subprocess, "Popen", lambda *a, **k: FakeProcess())
    monkeypatch.setattr(devnet_cmd, "stop_processes", lambda procs: None)

    def sleep(_: float) -> None:
        if state["round"] >= len(state["script"]):
            raise KeyboardInterrupt
        state["round"] += 1

    def poll(node: DevnetNode) -> NodeStatus | None:
        state["polls"] += 1
        return statuses(*state["script"][state["round"] - 1])[node.index]

    monkeypatch.setattr(devnet_cmd.time, "sleep", sleep)
    monkeypatch.setattr(devnet_cmd, "poll_status", poll)
    monkeypatch.setattr(devnet_cmd.sys, "argv", [CMD, "devnet"])
    for n in nodes:
        n.datadir = tmp_path / f"node{n.index}"
        n.datadir.mkdir()
    return state


def test_the_devnet_says_it_is_ready_once_when_every_node_has_finalized(
        fake_devnet: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    fake_devnet["script"] = [(None,) * 4, (0, 0, 0, 0), (1, 1, 0, 1), (1, 1, 1, 1), (2, 2, 2, 2), (3, 3, 3, 3)]
    code, out, err = run(capsys, "devnet", "--base-dir", "unused")  # (the faked plan writes nothing there)
    assert code == 0, err
    lines = out.replace("\r", "\n").splitlines()
    ready = [line for line in lines if "devnet ready" in line]
    assert len(ready) == 1, out
    assert ready[0].strip().endswith(f"{CMD} query account bob")
    assert "every node has finalized block #1 " in ready[0]
    # it comes after the status showed the last node finalize, not before
    assert lines.index(ready[0]) > max(i for i, line in enumerate(lines) if "n2 #5/0" in line)


def test_in_json_mode_the_ready_line_is_on_stderr_and_polling_then_stops(
        fake_devnet: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    fake_devnet["script"] = [(0, 0, 0, 0), (1, 1, 1, 1), (2, 2, 2, 2), (3, 3, 3, 3)]
    code, out, err = run(capsys, "devnet", "--json", "--base-dir", "unused")
    assert code == 0, err
    table = json.loads(out)  # stdout is the node table alone
    assert [n["rpc"] for n in table["nodes"]] == [f"http://127.0.0.1:{9944 + i}" for i in range(4)]
    ready = [line for line in err.splitlines() if "devnet ready" in line]
    assert len(ready) == 1 and re.fullmatch(
        r"devnet ready: every node has finalized block #1 \(\d+ s after start\)\. RPC http://127\.0\.0\.1:9944 "
        r"\(node0\) to http://127\.0\.0\.1:9947 \(node3\), explorer http://127\.0\.0\.1:9944/ in a browser; in "
        rf"another terminal: {re.escape(CMD)} query account bob", ready[0]), ready
    assert fake_devnet["polls"] == 8  # two rounds of four; none once it said so


def test_a_stopped_nodes_last_error_line_is_quoted(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    assert devnet_cmd.last_error_line(log) is None  # no log at all
    log.write_text("2026-11-29 INFO starting\nerror: an early one\n" + "x" * (devnet_cmd.LOG_TAIL_BYTES + 10)
                   + "\n2026-11-29 INFO more\nerror: cannot listen for peers on 127.0.0.1:30334: Address already in "
                   "use\n  (a continuation line)\n")
    assert devnet_cmd.last_error_line(log) == ("error: cannot listen for peers on 127.0.0.1:30334: Address already "
                                               "in use")
    log.write_text("INFO a clean log\nWARNING an error: inside a line is not one\n")
    assert devnet_cmd.last_error_line(log) is None


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("BTT_LEVELDB_TABLE_READS", "mapped", "BTT_LEVELDB_TABLE_READS='mapped': give pread"),
    ("BTT_LEVELDB", "rocksdb", "BTT_LEVELDB='rocksdb': give 'btt'"),
])
def test_a_bad_storage_setting_is_said_once_before_any_node_or_port(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    variable: str, value: str, said: str) -> None:
    import socket

    monkeypatch.setenv(variable, value)
    started: list[object] = []
    monkeypatch.setattr(devnet_cmd.subprocess, "Popen", lambda *a, **k: started.append(a))
    with socket.socket() as held:  # another devnet on its first port: the setting is still what it says
        held.bind(("127.0.0.1", 0))
        held.listen()
        code, _, err = run(capsys, "devnet", "--nodes", "2", "--port", str(held.getsockname()[1]))
    assert code == 1 and not started
    assert err.strip().splitlines() == [err.strip()] and said in err, err
