"""Multi-process test framework in the spirit of bitcoin's test/functional.

Real `btt-chain node` processes on 127.0.0.1 with free ports, each with its own data directory and log;
`wait_until`, `assert_raises_rpc_error`, `sync_all`; data and logs are kept when a test fails.

Tests wait on events, never on the clock: every limit here (a wait, an RPC call, a process stop) is a safety net
against a hang, scaled by `BTT_TEST_TIMEOUT_SCALE` (tests/support/wait_limits.py).
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from btt_chain.client.rpc import RpcClient, RpcError
from btt_chain.node.stop_watch import EXIT_STOP_TIMEOUT, report_in
from btt_chain.process_supervision import die_with_parent
from tests.support.ports import free_port  # noqa: F401  (re-exported for the tests that import it from here)
from tests.support.wait_limits import record, scaled, timed_out

REPO = Path(__file__).resolve().parents[2]
KEEP_DIR = REPO / "test-data"


RPC_TIMEOUT_S = 60.0
"""One RPC call's limit: a node on a busy machine can take seconds to answer; only a hung one takes this long."""


def wait_until(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1, what: str = "") -> Any:
    """Poll `predicate` until it returns something truthy and return that; fail with `what` once `timeout` seconds
    (times BTT_TEST_TIMEOUT_SCALE) have passed. The last poll begins after the limit, so a poll that itself took
    long (an RPC call on a busy machine) never ends the wait. RPC and socket errors count as "not yet"."""
    limit = scaled(timeout)
    began = time.monotonic()
    last_exc: Exception | None = None
    while True:
        asked = time.monotonic() - began
        try:
            value = predicate()
            if value:
                record(what or repr(predicate), limit, time.monotonic() - began, True)
                return value
        except (RpcError, OSError) as exc:
            last_exc = exc
        waited = time.monotonic() - began
        if asked >= limit:  # this poll began after the limit: the last one
            record(what or repr(predicate), limit, waited, False)
            raise AssertionError(timed_out(what or repr(predicate), limit, waited,
                                           f" (last error: {last_exc})" if last_exc else ""))
        time.sleep(min(interval, max(0.0, limit - waited)))


def assert_raises_rpc_error(code: int | None, message: str, fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except RpcError as exc:
        if code is not None and exc.code != code:
            raise AssertionError(f"expected RPC error code {code}, got {exc.code}: {exc}") from None
        if message not in str(exc):
            raise AssertionError(f"expected {message!r} in RPC error, got {exc}") from None
        return
    raise AssertionError("no RPC error was raised")


@contextlib.contextmanager
def cli_process(log_path: Path, *argv: str) -> Iterator[subprocess.Popen[bytes]]:
    """`btt-chain ARGV` (a miner, a clinic) as a process of its own for the length of the block, its output in
    `log_path`; stopped with SIGTERM (killed if it has not exited after a generous limit) on the way out."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "cli", *argv], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=die_with_parent())
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(scaled(30))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(scaled(10))


class NodeProcess:
    """One `btt-chain node` process."""

    def __init__(self, index: int, datadir: Path, chain: str = "dev", validator_key: str | None = "alice",
                 extra_args: list[str] | None = None, bootnodes: list[str] | None = None) -> None:
        self.index = index
        self.datadir = datadir
        self.chain = chain
        self.validator_key = validator_key
        self.extra_args = extra_args or []
        self.bootnodes = bootnodes or []
        self.rpc_port = free_port()
        self.p2p_port = free_port()
        self.prometheus_port = free_port()
        self.doppelganger_epochs: int | None = 0
        """`--doppelganger-epochs`: a validator started without signing records watches that many epochs before it
        signs. Off (0) in tests about other things, whose validators are never restored but often start after the
        chain's first block; None runs the node's default (the restore test)."""
        self.node_key_file = datadir / "node-key"
        self.log_path = datadir / f"node{index}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._terminated = False
        self.rpc = RpcClient(f"http://127.0.0.1:{self.rpc_port}", timeout=scaled(RPC_TIMEOUT_S))

    def args(self) -> list[str]:
        args = [sys.executable, "-m", "cli", "node", "--chain", self.chain, "--base-path", str(self.datadir),
                "--rpc-port", str(self.rpc_port), "--name", f"node{self.index}", "--port", str(self.p2p_port),
                "--node-key-file", str(self.node_key_file), "--prometheus-port", str(self.prometheus_port)]
        for b in self.bootnodes:
            args += ["--bootnodes", b]
        if self.validator_key is not None:
            args += ["--validator", "--key", self.validator_key]
            if self.doppelganger_epochs is not None:
                args += ["--doppelganger-epochs", str(self.doppelganger_epochs)]
        return args + self.extra_args

    def start(self, validator_key: str | None | bool = True) -> None:
        """Start the process and wait until its RPC answers."""
        self.launch(validator_key)
        self.wait_for_rpc()

    def launch(self, validator_key: str | None | bool = True) -> None:
        """Start the process without waiting for it (`Harness.start_all` starts several at once this way)."""
        if validator_key is not True:
            self.validator_key = validator_key or None  # type: ignore[assignment]
        self.datadir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        log.write(f"\n--- start: {' '.join(self.args())}\n".encode())
        log.flush()
        # a node stops with the test process however it ends (a test worker killed would otherwise leave its nodes
        # running, holding their ports and databases for the tests after it)
        self.process = subprocess.Popen(self.args(), cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=die_with_parent())
        self._terminated = False
        log.close()

    def wait_for_rpc(self, timeout: float = 180) -> None:
        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"node{self.index} exited with {self.process.returncode}:\n{self.log_tail()}")
            return self.rpc.call("system_health") is not None

        wait_until(ready, timeout, 0.2, f"node{self.index} RPC")

    @property
    def multiaddr(self) -> str:
        from p2p.node_key import load_or_create_node_key

        peer_id = load_or_create_node_key(self.node_key_file).peer_id
        return f"/ip4/127.0.0.1/tcp/{self.p2p_port}/p2p/{peer_id}"

    def finalized_number(self) -> int:
        return int(self.call("chain_getHeader", self.call("chain_getFinalizedHead"))["number"], 16)

    def peers(self) -> int:
        return int(self.call("system_health")["peers"])

    def call(self, method: str, *params: Any) -> Any:
        return self.rpc.call(method, *params)

    def height(self) -> int:
        return int(self.call("chain_getHeader")["number"], 16)

    def kill(self) -> None:
        """SIGKILL: no chance to flush or close anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(scaled(30))
        self.process = None

    def terminate(self) -> None:
        """SIGTERM without waiting for the exit (`stop` then waits for it without signalling again)."""
        if self.process is not None and self.process.poll() is None and not self._terminated:
            self.process.send_signal(signal.SIGTERM)
            self._terminated = True

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM and wait for a clean exit (a hang if it takes `timeout` s times BTT_TEST_TIMEOUT_SCALE);
        returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.terminate()
            limit = scaled(timeout)
            try:
                self.process.wait(limit)
            except subprocess.TimeoutExpired:  # stuck before its stop watch could act: its stacks, then a kill
                self.process.send_signal(signal.SIGUSR1)
                time.sleep(1.0)
                self.process.kill()
                self.process.wait(scaled(30))
                raise AssertionError(f"node{self.index} did not stop within {limit:g} s of SIGTERM; its stacks and "
                                     f"log:\n{self.log_tail(120)}") from None
        code = self.process.returncode
        self.process = None
        self._terminated = False
        if code == EXIT_STOP_TIMEOUT:  # its stop watch gave up on a hung stop: what it waited on is in its log
            text = self.log_path.read_text(errors="replace")
            raise AssertionError(f"node{self.index}'s stop hung (exit {code}):\n{report_in(text) or text[-4000:]}")
        return code

    def metric(self, name: str) -> float:
        """One sample of the node's Prometheus metrics: `name` alone, or with some of its labels (`name{label="x"}`):
        the first sample of that name that has them (every sample also carries the node's `chain` label)."""
        from tests.support.promql_names import LABEL_PAIR, parse_exposition

        metric, _, rest = name.partition("{")
        wanted = dict(LABEL_PAIR.findall(rest)).items()
        with urllib.request.urlopen(f"http://127.0.0.1:{self.prometheus_port}/metrics",
                                    timeout=scaled(RPC_TIMEOUT_S)) as resp:
            for sample in parse_exposition(resp.read().decode()):
                if sample.name == metric and wanted <= sample.labels.items():
                    return sample.value
        raise AssertionError(f"no metric {name}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Harness:
    """Owns the nodes of one test: temporary data, teardown, and keeping data and logs on failure."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.root = Path(tempfile.mkdtemp(prefix=f"btt-{name}-"))
        self.nodes: list[NodeProcess] = []

    def add_node(self, **kwargs: Any) -> NodeProcess:
        node = NodeProcess(len(self.nodes), self.root / f"node{len(self.nodes)}", **kwargs)
        self.nodes.append(node)
        return node

    def write_devnet_spec(self, validators: int, epoch_slots: int = 5, start_in_s: float = 3.0,
                          parameters: dict[str, Any] | None = None) -> Path:
        """A devnet chain spec whose genesis time is a little in the future (so every node starts in time), with
        `parameters` (name -> value) in place of the dev preset's."""
        from genesis.devnet import devnet_spec_doc
        from genesis.loader import canonical_json

        start = (int(time.time() + start_in_s)) * 1000
        doc = devnet_spec_doc(validators, start, epoch_slots)
        for name, value in (parameters or {}).items():
            doc["parameters"][name]["value"] = value
        path = self.root / "devnet-spec.json"
        path.write_bytes(canonical_json(doc))
        return path

    def write_dev_spec(self, epoch_slots: int, parameters: dict[str, Any] | None = None) -> Path:
        """The dev preset (`--chain dev`: its accounts, names and parameters, its genesis set when the node first
        starts) with epochs of `epoch_slots` slots instead of 20, so a block is final within two of them: for tests
        of a single dev node that wait for finality, where the epoch's length is not what they test; and with
        `parameters` (name -> value) in place of the preset's."""
        from genesis.loader import canonical_json, load_chain_spec_doc

        doc = copy.deepcopy(load_chain_spec_doc("dev"))
        doc["consensus"]["epoch_slots"] = epoch_slots
        for name, value in (parameters or {}).items():
            doc["parameters"][name]["value"] = value
        path = self.root / f"dev-{epoch_slots}-slot-epochs.json"
        path.write_bytes(canonical_json(doc))
        return path

    def add_devnet(self, validators: int, epoch_slots: int = 5, count: int | None = None,
                   parameters: dict[str, Any] | None = None) -> list[NodeProcess]:
        """Plan `count` (default: all) validator nodes of a fresh devnet (`parameters` as in `write_devnet_spec`);
        node 0 is everyone's bootnode."""
        from genesis.devnet import DEVNET_VALIDATORS

        spec = self.write_devnet_spec(validators, epoch_slots, parameters=parameters)
        self.spec_path = spec
        added = []
        for i in range(count or validators):
            boot = [n.multiaddr for n in self.nodes]  # a full mesh: each node dials every earlier one
            added.append(self.add_node(chain=str(spec), validator_key=DEVNET_VALIDATORS[i], bootnodes=boot))
        return added

    def start_all(self, nodes: list[NodeProcess]) -> None:
        """Start `nodes` at once and wait until each one's RPC answers: a node's start-up (its imports, its
        database, its keys) takes seconds of CPU, which one after the other adds up, and no node waits for another
        to be up (a node dials its bootnodes until they answer)."""
        for n in nodes:
            n.launch()
        for n in nodes:
            n.wait_for_rpc()

    def log(self, message: str) -> None:
        print(f"[{self.name}] {message}", flush=True)

    def sync_all(self, timeout: float = 120) -> None:
        """Wait until every running node reports the same head."""
        def same() -> bool:
            heads = {n.call("chain_getBlockHash") for n in self.nodes if n.process is not None}
            return len(heads) == 1

        wait_until(same, timeout, 0.2, "all nodes on one head")

    def stop_all(self, nodes: list[NodeProcess], timeout: float = 60) -> None:
        """SIGTERM every node of `nodes` at once, then wait for each one's clean exit (`NodeProcess.stop`): a node
        takes a second or two to close its database and sockets, which one after the other adds up."""
        for n in nodes:
            n.terminate()
        for n in nodes:
            n.stop(timeout)

    def teardown(self, failed: bool) -> None:
        for n in self.nodes:
            n.terminate()
        hung = []
        for n in self.nodes:
            try:
                n.stop()
            except Exception as exc:  # a node that ignores SIGTERM: killed, and its data kept to find out why
                hung.append(f"node{n.index}: {exc}")
                n.kill()
        if failed or hung:
            KEEP_DIR.mkdir(exist_ok=True)
            dest = KEEP_DIR / self.root.name
            shutil.copytree(self.root, dest, dirs_exist_ok=True)
            why = "test failed" if failed else f"a node did not stop on SIGTERM ({'; '.join(hung)})"
            print(f"{why}: data and logs kept in {dest}", file=sys.stderr if hung and not failed else sys.stdout)
            for n in self.nodes:
                print(f"--- node{n.index} log tail ---\n{n.log_tail()}")
        shutil.rmtree(self.root, ignore_errors=True)
