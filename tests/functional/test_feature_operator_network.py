"""feature_operator_network: docs/own-network.md's walk, as an operator pastes it (issue 43, item 1; the section
moved from the README to its own page with issue 53):
keys made, a chain spec with three own validators written by `build-spec` (chain type `live`, short slots and
epochs), validated with each key, three validators started with a bootnode and a full node beside them, finality
seen on the full node, and the nodes stopped.

The page is read at test time (the ```sh blocks of its section "The walk", as `test_feature_readme_try_it` reads
its walk)
and its lines are typed, in order, into one bash session in a clone's directory (`.venv/bin/btt-chain` runs this
checkout's CLI), so shell state carries from line to line as in one terminal (`B=...`, `umask`, `export`,
`P1=$(...)`, jobs started with `&`). Only the page's ports are substituted (the mapping is logged), each by a port
free on this machine, always: the README's Try it walk (test_feature_readme_try_it) takes the same ports (9944,
30333, ...) and may run at the same time on another worker, and a page port probed free could be taken by it before
this walk's node binds it. Every line must exit 0 without a traceback; a line that needs a state a reader waits for
by eye (finality) is run once the chain has it, never after a fixed time.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from btt_chain.client.rpc import RpcClient
from btt_chain.node.stop_watch import report_in
from tests.functional.framework import REPO, RPC_TIMEOUT_S, Harness, free_port, wait_until
from tests.functional.test_feature_readme_try_it import Line, clone_dir, sh_lines
from tests.support.wait_limits import scaled

PAGE = REPO / "docs" / "own-network.md"
HEADING = "## The walk"
PAGE_PORTS = (30333, 30334, 30335, 30336, 30337, 9944, 9945, 9946, 9947, 9948, 9615, 9616, 9617, 9618, 9619)
"""Every port the section's nodes take (libp2p, RPC, Prometheus of v1, v2, v3, the full node and v1's new machine)."""
NEW_RPC = 9948
VALIDATOR_RPC = (9944, 9945, 9946)
FULL_RPC = 9947
COMMAND_LIMIT_S = 120.0
"""One line's limit: a hang guard (the slowest, build-spec, decrypts three keys and builds a genesis)."""


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for the shell to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@dataclass
class Terminal:
    """One bash session in the clone's directory, fed the page's lines; what each printed and its exit code land
    in files of the test's own (`.walk/`), and each job a line starts with `&` is noted by its pid."""

    harness: Harness
    work: Path
    ports: dict[int, int]
    """The page's port -> the port used (the same unless taken here)."""
    shell: subprocess.Popen[str] = field(init=False)
    jobs: list[int] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    count: int = 0

    def open(self, env: dict[str, str]) -> None:
        (self.work / ".walk").mkdir()
        log = open(self.harness.root / "shell.log", "wb")
        # its own session: the shell and every job it starts are one process group, stopped as one at the end
        self.shell = subprocess.Popen(["bash", "--norc", "--noprofile"], cwd=self.work, env=env, text=True,
                                      stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        log.close()
        self.type("set -o pipefail")

    def type(self, text: str) -> None:
        assert self.shell.stdin is not None
        self.shell.stdin.write(text + "\n")
        self.shell.stdin.flush()

    def mapped(self, command: str) -> str:
        pattern = r"\b(" + "|".join(str(p) for p in self.ports) + r")\b"
        return re.sub(pattern, lambda m: str(self.ports[int(m[1])]), command)

    def rpc(self, readme_port: int) -> RpcClient:
        return RpcClient(f"http://127.0.0.1:{self.ports[readme_port]}", timeout=scaled(RPC_TIMEOUT_S))

    def run(self, line: Line) -> str:
        """Type one line of the page; wait for its exit code; it must be 0, with no traceback. What it printed."""
        n, began = self.count, time.monotonic()
        self.count += 1
        out, err, rc = (self.work / ".walk" / f"{n}.{kind}" for kind in ("out", "err", "rc"))
        background = line.command.rstrip().endswith("&")
        note_pid = f"echo $! > .walk/{n}.pid\n" if background else ""
        self.type(f"{{ {self.mapped(line.command)}\n{note_pid}}} > {out} 2> {err} < /dev/null; "
                  f"echo $? > {rc}.tmp; mv {rc}.tmp {rc}")
        where = f"{line.where}: {line.command}"

        def done() -> bool:
            assert self.shell.poll() is None, f"{where}\nthe shell exited ({self.shell.returncode})"
            return rc.exists()

        wait_until(done, COMMAND_LIMIT_S, 0.1, where)
        printed = out.read_text(errors="replace") + err.read_text(errors="replace")
        code = int(rc.read_text())
        assert code == 0, f"{where}\nexited with {code}:\n{printed}"
        assert "Traceback" not in printed, f"{where}\nprinted a traceback:\n{printed}"
        if background:
            self.jobs.append(int((self.work / ".walk" / f"{n}.pid").read_text()))
        self.harness.log(f"{line.where} ok in {time.monotonic() - began:.1f} s: {line.command}")
        self.outputs[line.key] = out.read_text(errors="replace")
        return self.outputs[line.key]

    def close(self) -> None:
        """Stop the shell and whatever it still runs (a walk that failed half-way)."""
        if self.shell.stdin is not None:
            self.shell.stdin.close()
        try:
            os.killpg(self.shell.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + scaled(60)
        while any(_alive(p) for p in [self.shell.pid, *self.jobs]) and time.monotonic() < deadline:
            time.sleep(0.2)
        try:
            os.killpg(self.shell.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.shell.wait(scaled(30))


def substitute_ports() -> dict[int, int]:
    """Each page port -> a distinct port free here now, none of them a page port."""
    ports: dict[int, int] = {}
    used = set(PAGE_PORTS)
    for p in PAGE_PORTS:
        while (free := free_port()) in used:
            pass
        ports[p] = free
        used.add(free)
    return ports


@pytest.fixture
def terminal(harness: Harness) -> Iterator[Terminal]:
    ports = substitute_ports()
    harness.log("the page's ports and the ports used: " + ", ".join(f"{p} -> {q}" for p, q in ports.items()))
    work, env = clone_dir(harness)
    term = Terminal(harness, work, ports)
    term.open(env)
    try:
        yield term
    finally:
        term.close()


# --- what the walk waits for and checks, by line --------------------------------------------------------------------


def health(term: Terminal, readme_port: int) -> dict[str, Any]:
    import urllib.request

    url = f"http://127.0.0.1:{term.ports[readme_port]}/health"
    try:
        with urllib.request.urlopen(url, timeout=scaled(RPC_TIMEOUT_S)) as resp:
            return dict(json.loads(resp.read()))
    except urllib.error.HTTPError as exc:  # 503 while syncing or without peers: the same body
        return dict(json.loads(exc.read()))


def full_node_sees_finality(term: Terminal) -> None:
    """Every validator has its two peers and the full node has imported a finalized block: what a reader sees
    when "finalized" has moved from 0."""
    def finalized() -> bool:
        validators_meshed = all(term.rpc(p).call("system_health")["peers"] >= 2 for p in VALIDATOR_RPC)
        return validators_meshed and health(term, FULL_RPC)["finalized"] >= 1

    wait_until(finalized, 120, 0.5, "the validators meshed and the full node has a finalized block")


def the_full_node_follows(term: Terminal, out: str) -> None:
    """The full node's /health as printed: peers and a finalized block, the same block the validators finalized."""
    body = json.loads(out)
    assert body["peers"] >= 1 and body["finalized"] >= 1 and body["best"] >= body["finalized"], body
    full, v1 = term.rpc(FULL_RPC), term.rpc(VALIDATOR_RPC[0])
    number = body["finalized"]
    assert full.call("chain_getBlockHash", number) == v1.call("chain_getBlockHash", number)
    spec = json.loads((term.work / "my-net.json").read_text())
    assert spec["chain_type"] == "live" and v1.call("system_chainType") == "Live"


def the_nodes_stopped(term: Terminal, out: str) -> None:
    """`kill $(jobs -p)`: each node stops cleanly (its last line says where) with no traceback and no ERROR."""
    def logs() -> dict[str, str]:
        return {name: (term.work / f"{name}.log").read_text(errors="replace")
                for name in ("v1", "v2", "v3", "full", "v1-new")}

    try:  # a node's stop watch ends a hung stop at 45 s, its log saying what it waited on
        wait_until(lambda: not any(_alive(p) for p in term.jobs), 90, 0.2, "the five nodes stopped")
    except AssertionError as exc:  # stuck before its stop watch could act: its stacks (SIGUSR1) in its log
        for p in term.jobs:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGUSR1)
        time.sleep(1.0)
        raise AssertionError(f"{exc}\n" + "\n".join(f"{n}.log:\n{log[-8000:]}" for n, log in logs().items()
                                                    if "stopped at #" not in log)) from None
    for name, log in logs().items():
        report = report_in(log)
        assert report is None, f"{name}'s stop hung:\n{report}"
        assert "Traceback" not in log and " ERROR " not in log, f"{name}.log:\n{log[-3000:]}"
        assert re.search(r"stopped at #\d+", log), f"{name} did not stop cleanly:\n{log[-3000:]}"


def the_new_machine_answers(term: Terminal) -> None:
    """v1's new machine is up (its RPC answers) and has peers, before `set-keys` asks it for a key."""
    def up() -> bool:
        try:
            return bool(term.rpc(NEW_RPC).call("system_health")["peers"] >= 1)
        except Exception:
            return False

    wait_until(up, 90, 0.3, "v1's new machine answers with a peer")


def v1_signs_on_the_new_machine(term: Terminal, out: str) -> None:
    """`set-keys`: v1's session key is the new machine's from the epoch the chain names, a block sealed with it
    arrives, and finality goes on past that epoch (so the new key's votes count)."""
    from btt_chain.primitives.address import encode_address

    v1, new = term.rpc(VALIDATOR_RPC[0]), term.rpc(NEW_RPC)
    before = {v["sessionKey"] for v in v1.call("btt_validators")}
    session_key = next(k for k in re.findall(r"0x[0-9a-f]{64}", out) if new.call("author_hasKey", k, "sess"))
    assert session_key not in before
    wait_until(lambda: session_key in {v["sessionKey"] for v in v1.call("btt_validators")}, 120, 0.5,
               "v1's new session key active")
    switched = int(v1.call("btt_header")["number"], 16)
    sealed_by = encode_address(bytes.fromhex(session_key[2:]))

    def sealed_and_final() -> bool:
        finalized = int(v1.call("btt_header", v1.call("chain_getFinalizedHead"))["number"], 16)
        head = int(v1.call("btt_header")["number"], 16)
        sealed = any(v1.call("btt_header", v1.call("chain_getBlockHash", n))["author"] == sealed_by
                     for n in range(switched, head + 1))
        return finalized > switched and sealed

    wait_until(sealed_and_final, 150, 0.5, "a block sealed with the new key and finality past the switch")


SET_KEYS = "$B set-keys --from v1.key --node-rpc http://127.0.0.1:9948 --rpc http://127.0.0.1:9944"

BEFORE: dict[str, Callable[[Terminal], None]] = {
    "curl -s http://127.0.0.1:9947/health": full_node_sees_finality,
    SET_KEYS: the_new_machine_answers,
}
"""States a line needs, waited for on the chain before the line runs (and the rotation's place)."""

CHECKS: dict[str, Callable[[Terminal, str], None]] = {
    "curl -s http://127.0.0.1:9947/health": the_full_node_follows,
    SET_KEYS: v1_signs_on_the_new_machine,
    "kill $(jobs -p)": the_nodes_stopped,
}
"""What a line's comment states, checked on what it printed and on the chain."""


# --- the tests ---------------------------------------------------------------------------------------------------


def test_the_section_walks_an_operator_through_a_network() -> None:
    """The section still has each step the walk is about, and each table names a line it has (a second, no nodes)."""
    lines = sh_lines(PAGE, HEADING)
    keys = [line.key for line in lines]
    for key in (*BEFORE, *CHECKS):
        assert key in keys, f"the tables name {key!r}, which the section no longer has"
    text = "\n".join(keys)
    for step in ("key generate --output v1.key", "build-spec --chain btt-21m", "--validator v1.key:10000",
                 "genesis validate my-net.json --key v1.key", "key generate-node-key", "--bootnodes /ip4/127.0.0.1",
                 "--base-path full"):
        assert step in text, f"the section lost its step {step!r}"
    validators = [k for k in keys if " node " in f" {k} " and "--validator" in k]
    full = [k for k in keys if " node " in f" {k} " and "--validator" not in k]
    assert len(validators) == 4 and len(full) == 1, keys  # v1's new machine validates with its keystore


def test_an_operator_network_from_the_docs(harness: Harness, terminal: Terminal) -> None:
    began = time.monotonic()
    for line in sh_lines(PAGE, HEADING):
        if line.key in BEFORE:
            BEFORE[line.key](terminal)
        out = terminal.run(line)
        if line.key in CHECKS:
            CHECKS[line.key](terminal, out)
    assert len(terminal.jobs) == 5, terminal.jobs
    harness.log(f"the section walked in {time.monotonic() - began:.1f} s")
