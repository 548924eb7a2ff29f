"""The testnet run: namespaces, node processes, load, the perturbation schedule, sampling, checks, cleanup.

Every node is a `btt-chain node` process inside its own namespace, with the flags an operator would give on
its own machine (`--p2p-external --port 30333 --rpc-external --rpc-port 9944 --bootnodes ...`): the addresses
differ, the ports do not. The runner reaches each node's RPC over the bridge.

A node with `join_at` starts at that moment of the run (`--sync warp` for `sync = "warp"`, at every start, as an
operator keeps the flag), with the same bootnodes as the others. Until it answers RPC it is no sample, takes no load
and is not perturbed (a perturbation due then is skipped and fails the join check); at the end its warp (from its
log), its blocks and its state are held against the others (`checks.check_joins_*`).

Cleanup: nodes get SIGKILL if the runner dies (PR_SET_PDEATHSIG); SIGTERM, SIGINT and SIGHUP end the run
through the normal cleanup path; `atexit` covers the rest; a reaper process removes the namespaces of a runner
killed outright; and every run first removes what dead runners left.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import copy
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.errors import BttError
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import dev_keypair
from btt_chain.process_supervision import die_with_parent
from btt_chain.testnet import checks
from btt_chain.testnet.load import LoadGenerator
from btt_chain.testnet.manifest import Manifest, NodeSpec, UpgradePlan
from btt_chain.testnet.netns import TestnetNetwork, remove_stale, spawn_reaper
from btt_chain.testnet.perturbations import Action, Window, build_schedule, overlapping_validator_outages
from btt_chain.testnet.rpc import rpc, rpc_batch
from btt_chain.testnet.upgrade import NodeAtEnd, UpgradeDriver, check_upgrade, clock_offset_ms
from btt_chain.testnet.upgrade import unpack as unpack_recorded

P2P_PORT = 30333
RPC_PORT = 9944
SAMPLE_INTERVAL_S = 2.0
START_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 20.0
REPO_ROOT = Path(__file__).resolve().parents[2]
BTT = 10**18
BAN_LINE = re.compile(r"^(\S+) \S+\s+\S+: banned (\S+) for \S+ s: (.*)$")
"""A node's log line for a ban (p2p/service.py and p2p/node.py): `<ISO time> WARN  btt.p2p: banned P for N s: R`."""
VOTE_LINE = re.compile(r"^(\S+) \S+\s+\S+: voted (\d+):(0x[0-9a-f]+) -> (\d+):(0x[0-9a-f]+)$")
"""A validator's log line for its finality vote (node/finality_service.py): `<ISO time> INFO  btt.finality: voted
S_EPOCH:S_HASH -> T_EPOCH:T_HASH`, hashes cut to 16 hex digits."""
PRECISE_CLEAR_S = 2.0
"""No sample is started this long before a precisely timed action (an aligned partition), so none delays it."""
MAX_VIEW_WALK = 400
"""At a heal, the most headers read back from a node's head to find its checkpoints since the aligned epoch."""
WARP_START_LINE = re.compile(r"^(\S+) \S+\s+btt\.warp: warp sync: peer id ")
"""A warp sync's child process is up (node/warp_start.py): one per warp begun."""
WARP_PROOF_LINE = re.compile(r"^(\S+) \S+\s+btt\.warp: warp proof verified: (\d+) fragments to block #(\d+)")
WARP_DONE_LINE = re.compile(r"^(\S+) \S+\s+btt\.warp: warp sync done: block #(\d+) (0x[0-9a-f]+) with ([\d,]+) keys "
                            r"\(([\d.]+) MB of state, ([\d.]+) MB received\) in ([\d.]+) s")
"""node/warp_sync.py's last line of a warp: its target, keys, state and bytes received, and how long it took."""
WARP_RESUME_LINE = re.compile(r"^(\S+) \S+\s+btt\.warp: the database holds a chain already")
"""cli/node_cmd.py: a start with --sync warp whose database holds a chain does not warp."""
PENALTY_LINE = re.compile(r"^(\S+) \S+\s+\S+: penalised (\S+) by (\d+): (.*)$")
"""A node's log line for a score penalty (p2p/service.py, p2p/node.py): `<ISO time> INFO  btt.p2p: penalised P by N:
R`."""
WARP_NOTE = re.compile(r"warp-synced at block #(\d+)")
"""RPC's words for a block below a warp-synced node's target (rpc/errors.py)."""
AGREE_HEIGHTS = 10
"""Finalized heights at which a joined node's blocks are compared with the others', from its warp target up."""
MAX_STATE_KEYS = 200_000
"""The most keys of a joined node's state compared with a reference node's at the end."""


class RunInterrupted(Exception):
    """The runner got SIGTERM, SIGINT or SIGHUP."""


@dataclass
class NodeProc:
    spec: NodeSpec
    index: int
    address: str
    datadir: Path
    peer_id: str
    process: subprocess.Popen[bytes] | None = None
    paused: bool = False
    link_down: bool = False
    expected_up: bool = True
    skew_ms: int = 0
    crashes: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    """CPU seconds of earlier incarnations (killed or restarted), plus the current one when last read."""
    cpu_prev_incarnations: float = 0.0
    rss_max_kb: int = 0
    joined: bool = True
    """False for a node with `join_at` until the runner started it."""
    up_s: float | None = None
    """A joining node: run time of its first RPC answer after it joined."""
    starts: list[float] = field(default_factory=list)
    """Run times of every start of its process."""
    skipped: list[str] = field(default_factory=list)
    """Its perturbations skipped because it had not answered RPC since it joined."""

    @property
    def ready(self) -> bool:
        """Started, and (a joining node) answered RPC since: it may be sampled, loaded and perturbed."""
        return self.joined and (self.spec.join_at_s is None or self.up_s is not None)

    @property
    def rpc_url(self) -> str:
        return f"http://{self.address}:{RPC_PORT}"

    @property
    def multiaddr(self) -> str:
        return f"/ip4/{self.address}/tcp/{P2P_PORT}/p2p/{self.peer_id}"


def _proc_tree_usage(pid: int) -> tuple[float, int]:
    """(CPU seconds, resident kB) of a process and its children (miner, clinic); (0, 0) if gone."""
    tick = os.sysconf("SC_CLK_TCK")
    total_cpu, total_rss = 0.0, 0
    pids = [pid]
    try:
        for entry in os.listdir("/proc"):
            if entry.isascii() and entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == pid:
                    pids.append(int(entry))
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total_cpu += (int(fields[11]) + int(fields[12])) / tick
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_rss += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total_cpu, total_rss


def chain_spec_doc(manifest: Manifest, genesis_time_ms: int) -> dict[str, Any]:
    """The dev preset with the manifest's validators, stakes, slot and epoch length."""
    from genesis.loader import dev_hash_chain_commitment, load_chain_spec_doc, materialise
    from genesis.spec import DEFAULT_HASH_CHAIN_LENGTH

    doc = copy.deepcopy(load_chain_spec_doc("dev"))
    doc["id"] = f"testnet-{manifest.name}"
    doc["name"] = f"BTT testnet {manifest.name}"
    doc["chain_type"] = "local"
    doc["description"] = f"Testnet manifest {manifest.name}: {len(manifest.nodes)} nodes."
    length = doc["consensus"].get("hash_chain_length", DEFAULT_HASH_CHAIN_LENGTH)
    doc["validators"] = [
        {"account": n.validator, "bond": str(n.stake), "payee": f"{n.validator}//stash",
         "hash_chain_commitment": "0x" + dev_hash_chain_commitment(str(n.validator), length).hex()}
        for n in manifest.validators
    ]
    doc["consensus"]["epoch_slots"] = manifest.epoch_slots
    doc["consensus"]["slot_ms"] = manifest.slot_ms
    result: dict[str, Any] = materialise(doc, genesis_time_ms)
    return result


@dataclass
class RunResult:
    passed: bool
    checks: list[checks.Check]
    figures: dict[str, Any]
    report: str
    base_dir: Path | None


class TestnetRun:
    def __init__(self, manifest: Manifest, base_dir: Path | None = None, keep: bool = False,
                 echo: Callable[[str], None] = print, quiet_progress: bool = False) -> None:
        self.manifest = manifest
        self.echo = echo
        self.keep = keep
        self.quiet_progress = quiet_progress
        self._tmp = base_dir is None
        self.base_dir = base_dir or Path(tempfile.mkdtemp(prefix=f"btt-testnet-{manifest.name}-"))
        self.net = TestnetNetwork(len(manifest.nodes))
        self.nodes: list[NodeProc] = []
        self.samples: list[checks.Sample] = []
        self.t0 = 0.0
        self.t0_wall = 0.0
        """time.time() at t0: node logs are dated by the wall clock (never skewed: the skew is the node's own)."""
        self.spec_path = self.base_dir / "chain-spec.json"
        self._reaper: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._active_windows: set[int] = set()
        self.actions, self.windows = build_schedule(manifest)  # placed again at the start (aligned partitions)
        self.events: list[str] = []
        self.genesis_ms = 0
        self.heal_points: list[checks.HealPoint] = []
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._skipped_windows: set[int] = set()
        self.clock_offset_ms = 0
        """Added to every node's clock: a run from a recorded network resumes just after its recorded head."""
        self.upgrade = UpgradeDriver(manifest.upgrade, self._event) if manifest.upgrade is not None else None

    # lifecycle -------------------------------------------------------------------------------------------------
    def run(self) -> RunResult:
        problems = overlapping_validator_outages(self.manifest, self.windows)
        if problems:
            raise checks_error("the manifest takes a third of the stake out at once:\n  " + "\n  ".join(problems))
        old_handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}

        def interrupted(signum: int, _frame: object) -> None:
            raise RunInterrupted(f"got signal {signal.Signals(signum).name}")

        for s in old_handlers:
            signal.signal(s, interrupted)
        atexit.register(self.close)
        started = time.monotonic()
        passed = False
        try:
            stale = remove_stale()
            if stale:
                self.echo(f"removed leftovers of an earlier run: {', '.join(stale)}")
            self._reaper = spawn_reaper(os.getpid())
            self.net.create()
            if self.net.forward_note is not None:
                self.echo(self.net.forward_note)
            self.echo(f"testnet {self.manifest.name}: {len(self.manifest.nodes)} nodes on {self.net.subnet} "
                      f"(bridge {self.net.bridge}), data in {self.base_dir}")
            self.echo(_retransmission_note())
            self._prepare()
            self._start_all()
            self._wait_up()
            result = self._run_schedule(started)
            passed = result.passed
            return result
        finally:
            if self.keep or not passed:
                self._tmp = False
            self.close()
            for s, h in old_handlers.items():
                signal.signal(s, h)
            atexit.unregister(self.close)

    def close(self) -> None:
        """Stop every node, remove namespaces and links, stop the reaper; idempotent."""
        if self._closed:
            return
        self._closed = True
        for n in self.nodes:
            if n.process is not None and n.process.poll() is None:
                try:
                    if n.paused:
                        n.process.send_signal(signal.SIGCONT)
                    n.process.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for n in self.nodes:
            if n.process is None:
                continue
            try:
                n.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                n.process.kill()
                n.process.wait(5)
        self.net.close()
        if self._reaper is not None and self._reaper.poll() is None:
            self._reaper.kill()
            self._reaper.wait(5)
        if self._tmp:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    # setup -----------------------------------------------------------------------------------------------------
    def _prepare(self) -> None:
        from genesis.loader import canonical_json
        from p2p.node_key import load_or_create_node_key

        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self.manifest.upgrade is not None:
            self._prepare_recorded(self.manifest.upgrade)
        else:
            start = (time.time_ns() // 1_000_000_000 + 5) * 1000
            self.genesis_ms = start
            self.spec_path.write_bytes(canonical_json(chain_spec_doc(self.manifest, start)) + b"\n")
        for i, spec in enumerate(self.manifest.nodes):
            datadir = self.base_dir / spec.name
            key = load_or_create_node_key(datadir / "node-key")
            joining = spec.join_at_s is not None
            self.nodes.append(NodeProc(spec, i, self.net.address(i), datadir, key.peer_id, skew_ms=spec.clock_skew_ms,
                                       joined=not joining, expected_up=not joining))

    def _prepare_recorded(self, plan: UpgradePlan) -> None:
        """The recorded network in the base directory, its chain spec, and the clock offset that resumes it."""
        try:
            recorded = unpack_recorded(plan, self.base_dir)
        except ValueError as exc:
            raise checks_error(str(exc)) from None
        doc = json.loads(self.spec_path.read_text())
        self.genesis_ms = int(doc["genesis_time_ms"])
        recorded_validators = sorted(v["account"] for v in doc["validators"])
        ours = sorted(str(n.validator) for n in self.manifest.validators)
        if recorded_validators != ours:
            raise checks_error(f"{plan.database.name} was recorded with validators {', '.join(recorded_validators)}; "
                               f"the manifest names {', '.join(ours)}")
        self.clock_offset_ms = clock_offset_ms(recorded, time.time_ns() // 1_000_000)
        self.echo(f"recorded network {plan.database.name}: head #{recorded.head}; node clocks moved by "
                  f"{self.clock_offset_ms / 1000:+.0f} s so that it resumes there")

    def node_args(self, n: NodeProc) -> list[str]:
        m = self.manifest
        args = [
            sys.executable, "-m", "cli", "node", "--chain", str(self.spec_path), "--base-path", str(n.datadir),
            "--node-key-file", str(n.datadir / "node-key"), "--name", n.spec.name,
            "--port", str(P2P_PORT), "--p2p-external", "--rpc-port", str(RPC_PORT), "--rpc-external",
            "--no-prometheus", "--in-peers", str(m.in_peers), "--out-peers", str(m.out_peers),
        ]
        for boot in self.nodes[: m.bootnodes]:
            if boot is not n:
                args += ["--bootnodes", boot.multiaddr]
        if n.spec.validator is not None:
            args += ["--validator", "--key", n.spec.validator]
        if n.spec.miner or n.spec.clinic:
            args += ["--demo-economy", "--demo-clinic", "ferdie" if n.spec.clinic else "none"]
        if n.skew_ms or self.clock_offset_ms:
            args += ["--unsafe-clock-skew-ms", str(n.skew_ms + self.clock_offset_ms)]
        if n.spec.sync == "warp":
            args += ["--sync", "warp"]
        if n.spec.max_spec is not None:
            args += ["--max-spec", str(n.spec.max_spec)]
        return args + list(m.extra_node_args)

    def _spawn(self, n: NodeProc) -> None:
        n.starts.append(round(self._now(), 1))
        with open(n.datadir / "node.log", "ab") as log:
            log.write(f"=== start at {self._now():.1f} s, skew {n.skew_ms} ms ===\n".encode())
            log.flush()
            n.process = subprocess.Popen(
                self.net.exec_prefix(n.index) + self.node_args(n), stdout=log, stderr=subprocess.STDOUT,
                cwd=REPO_ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGKILL),
            )
        n.expected_up, n.paused = True, False

    def _start_all(self) -> None:
        for n in self.nodes:
            if n.joined:
                self._spawn(n)

    def _wait_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        pending = [n for n in self.nodes if n.joined]
        while pending:
            for n in list(pending):
                if n.process is not None and n.process.poll() is not None:
                    raise checks_error(f"node {n.spec.name} exited at start ({n.process.returncode}); see "
                                       f"{n.datadir / 'node.log'}")
                try:
                    rpc(n.rpc_url, "system_health", timeout=1)
                    pending.remove(n)
                except (OSError, RuntimeError, ValueError):
                    pass
            if time.monotonic() > deadline:
                late = ", ".join(p.spec.name for p in pending)
                raise checks_error(f"nodes not up after {START_TIMEOUT_S:g} s: {late}")
            time.sleep(0.5)

    # the run ---------------------------------------------------------------------------------------------------
    def _now(self) -> float:
        return time.monotonic() - self.t0 if self.t0 else 0.0

    def live_nodes(self) -> list[tuple[str, str]]:
        # no load for a node left behind by an upgrade (--max-spec)
        return [(n.spec.name, n.rpc_url) for n in self.nodes
                if n.ready and n.expected_up and n.spec.max_spec is None and not n.paused and not n.link_down
                and n.process is not None and n.process.poll() is None]

    def _run_schedule(self, started: float) -> RunResult:
        m = self.manifest
        self.t0 = time.monotonic()
        self.t0_wall = time.time()
        up_after = self.t0 - started
        offset_s = self.t0_wall + self.clock_offset_ms / 1000 - self.genesis_ms / 1000  # the nodes' clocks
        self.actions, self.windows = build_schedule(m, offset_s)
        joins = "".join(f"; {j.name} joins at {j.join_at_s:g} s ({j.sync} sync)" for j in m.joining)
        started_n = len(self.nodes) - len(m.joining)
        self.echo(f"all {started_n} nodes answer RPC after {up_after:.0f} s; running for {m.duration_s:g} s "
                  f"with {len(self.windows)} perturbations{joins}")
        for w in self.windows:
            if w.epoch is not None:
                self.echo(f"{w.label}: aligned to epoch {w.epoch} (slot {w.epoch * m.epoch_slots}, at "
                          f"{w.start_s + w.lead_ms / 1000:.1f} s): from {w.start_s:.1f} s to {w.end_s:.1f} s")
        genesis = bytes.fromhex(rpc(self.nodes[0].rpc_url, "chain_getBlockHash", 0)[2:])
        # not a miner's account: its miner signs with the same nonces (the load's transfers and its bond clashed)
        proposer = m.upgrade.proposer if m.upgrade is not None else None  # and not the upgrade's proposer
        senders = [n.validator for n in m.validators if n.validator and not n.miner and n.validator != proposer]
        load = LoadGenerator(senders, m.tps, self.live_nodes, genesis, self._now)
        load.start()
        pending = list(self.actions)
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=8)
        self._pool = pool
        next_sample = 0.0
        try:
            while self._now() < m.duration_s:
                while pending and pending[0].at_s <= self._now():
                    self._apply(pending.pop(0))
                if self.upgrade is not None:
                    pending = sorted(pending + self._upgrade_step(self.upgrade),
                                     key=lambda a: (a.at_s, a.action not in ("start", "cont", "link_up", "unskew",
                                                                              "heal")))
                upcoming = pending[0] if pending else None
                clear = upcoming is None or not upcoming.precise or upcoming.at_s - self._now() > PRECISE_CLEAR_S
                if self._now() >= next_sample and clear:
                    self._sample(pool)
                    next_sample = self._now() + SAMPLE_INTERVAL_S
                self._watch_processes()
                time.sleep(0.2 if upcoming is None else min(0.2, max(0.0, upcoming.at_s - self._now())))
            for action in pending:  # an action scheduled exactly at the end
                self._apply(action)
            load.stop(0.1)
            settle_end = self._now() + m.settle_s
            self.echo(f"{self._now():.0f} s: schedule done; load stopped; settling for {m.settle_s:g} s")
            # then on while a joined node has not followed the best head yet, to the end of its sync bound at most:
            # on a busy machine its process alone can take 20 s to start (a wait on the event, not on the clock)
            joins_end = max((n.spec.join_at_s + m.join_sync_s for n in self.nodes if n.spec.join_at_s is not None),
                            default=0.0) + SAMPLE_INTERVAL_S
            behind: list[str] = []
            announced = False
            while self._now() < settle_end or behind:
                if self._now() >= next_sample:
                    self._sample(pool)
                    next_sample = self._now() + SAMPLE_INTERVAL_S
                    behind = self._joins_behind() if self._now() < joins_end else []
                    if behind and not announced and self._now() >= settle_end:
                        announced = True
                        self.echo(f"{self._now():.0f} s: settling on while {', '.join(behind)} catch up (until "
                                  f"{joins_end:.0f} s at most: join_at + join_sync_s)")
                self._watch_processes()
                time.sleep(0.2)
            load.stop(45)
            return self._finish(load, time.monotonic() - started, pool)
        finally:
            load.stop(0)
            pool.shutdown(wait=False, cancel_futures=True)

    def _joins_behind(self) -> list[str]:
        """The joined nodes, meant to be up, that no sample has shown following the best head yet (the join checks'
        `caught_up_at`)."""
        lag = self.manifest.join_lag_blocks
        return [n.spec.name for n in self.nodes
                if n.spec.join_at_s is not None and n.joined and n.expected_up
                and checks.caught_up_at(self.samples, n.spec.name, n.spec.join_at_s, lag) is None]

    def _apply(self, action: Action) -> None:
        names = action.nodes
        label = f"{action.action} {','.join(names)}" + (f" | {','.join(action.other)}" if action.other else "")
        if action.action in ("partition", "heal"):
            window = self.windows[action.window]
            if action.action == "heal":
                self.heal_points.append(self._heal_point(window))  # each side's chain just before the heal
            a = [self.manifest_index(x) for x in action.nodes]
            b = [self.manifest_index(x) for x in action.other]
            self.net.partition(a, b, heal=action.action == "heal")
            if action.action == "partition" and window.epoch is not None:
                boundary = (self.genesis_ms / 1000 + window.epoch * self.manifest.epoch_s - self.t0_wall
                            - self.clock_offset_ms / 1000)
                label += f" ({boundary - self._now():.2f} s before epoch {window.epoch})"
            self._event(label)
            return
        n = self.nodes[self.manifest_index(names[0])]
        if action.action == "join":
            self._event(label + (" (--sync warp)" if n.spec.sync == "warp" else " (full sync)"))
            n.joined = True
            self._spawn(n)
            return
        if action.window in self._skipped_windows:
            self._event(f"{label}: skipped (its perturbation began before the node had synced)")
            return
        if not self._is_up(n):
            self._skipped_windows.add(action.window)
            window = self.windows[action.window]
            n.skipped.append(f"{window.label} at {action.at_s:g} s skipped: no RPC answer yet since it joined at "
                             f"{n.spec.join_at_s:g} s")
            self._event(f"{label}: skipped ({n.spec.name} has not answered RPC since it joined)")
            return
        self._event(label)
        proc = n.process
        if action.action == "kill" and proc is not None:
            n.expected_up = False
            proc.kill()
            proc.wait(10)
            self._retire(n)
        elif action.action == "start":
            self._spawn(n)
        elif action.action == "stop" and proc is not None:
            n.paused = True
            proc.send_signal(signal.SIGSTOP)
        elif action.action == "cont" and proc is not None:
            proc.send_signal(signal.SIGCONT)
            n.paused = False
        elif action.action == "link_down":
            n.link_down = True
            self.net.set_link(n.index, False)
        elif action.action == "link_up":
            self.net.set_link(n.index, True)
            n.link_down = False
        elif action.action in ("restart", "skew", "unskew"):
            if action.action != "restart":
                n.skew_ms = action.skew_ms if action.action == "skew" else n.spec.clock_skew_ms
            n.expected_up = False
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    n.crashes.append(f"{self._now():.0f} s: did not stop within {STOP_TIMEOUT_S:g} s of SIGTERM")
                    proc.kill()
                    proc.wait(10)
                if proc.returncode not in (0, -signal.SIGTERM):
                    n.crashes.append(f"{self._now():.0f} s: clean stop exited with {proc.returncode}")
                self._retire(n)
            self._spawn(n)

    def _upgrade_step(self, driver: UpgradeDriver) -> list[Action]:
        """Start the referendum when due; at the boundary, SIGKILL the nodes due (their restarts: the actions
        returned, with windows of their own)."""
        plan = driver.plan
        live = self.live_nodes()  # nodes up now that run the spec (the first is the one watched)
        if not live:
            return []
        if not driver.started and self._now() >= plan.propose_at_s:
            driver.start_referendum(live[0][1])
        if driver.at is None or len(driver.killed) == len(plan.kill_at_boundary) and driver.boundary_s is not None:
            return []
        try:
            head = int(rpc(live[0][1], "chain_getHeader", timeout=1)["number"], 16)
        except (OSError, RuntimeError, ValueError, KeyError, TypeError):
            return []
        if head >= driver.at - 1 and driver.boundary_s is None:
            driver.boundary_s = round(self._now(), 1)
        later = []
        for name in driver.due_kills(head):
            w = len(self.windows)
            now = self._now()
            self.windows.append(Window(f"kill {name} at the upgrade boundary (head #{head})", now,
                                       now + plan.kill_for_s, (name,)))
            self._apply(Action(now, "kill", (name,), window=w))
            later.append(Action(now + plan.kill_for_s, "start", (name,), window=w))
        return later

    def _is_up(self, n: NodeProc) -> bool:
        """Whether `n` may be perturbed: it started with the others, or answered RPC since it joined (asked now if
        it has not yet)."""
        if n.ready:
            return True
        if not n.joined:
            return False
        try:
            rpc(n.rpc_url, "system_health", timeout=1)
        except (OSError, RuntimeError, ValueError):
            return False
        self._note_up(n)
        return True

    def _note_up(self, n: NodeProc, t: float | None = None) -> None:
        """`n` answered RPC at run time `t` (now if None): the first answer after its join is when it came up."""
        if n.up_s is None:
            n.up_s = round(self._now(), 1) if t is None else t
            self._event(f"{n.spec.name} answers RPC ({n.up_s - (n.spec.join_at_s or 0.0):.1f} s after it joined)")

    def _event(self, label: str) -> None:
        self.events.append(f"{self._now():6.1f} s  {label}")
        if not self.quiet_progress:
            self.echo(f"{self._now():6.1f} s  {label}")

    def _heal_point(self, window: Window) -> checks.HealPoint:
        """Every node's head (and, for an aligned partition, its checkpoints from the aligned epoch on) at the heal."""
        pool = self._pool
        assert pool is not None
        views = tuple(pool.map(lambda n: self._chain_view(n, window.epoch), self.nodes))
        return checks.HealPoint(window, round(self._now(), 1), views)

    def _chain_view(self, n: NodeProc, epoch: int | None) -> checks.ChainView:
        """`n`'s head; with `epoch`, the checkpoints of `epoch` up to its head's epoch on its chain, read back from the
        head by parent hash (the block with the highest slot below each epoch's first slot)."""
        per = self.manifest.epoch_slots
        if n.paused or not n.expected_up or n.process is None or n.process.poll() is not None:
            return checks.ChainView(n.spec.name, None)
        try:
            header = rpc(n.rpc_url, "btt_header", timeout=2)
            number, slot, head_hash = int(header["number"], 16), int(header["slot"], 16), header["hash"]
            checkpoints: dict[int, str] = {}
            if epoch is not None:
                cur, steps = header, 0
                for e in range(slot // per, epoch - 1, -1):  # from the head's epoch down to the aligned one
                    while int(cur["slot"], 16) >= e * per and int(cur["number"], 16) > 0 and steps < MAX_VIEW_WALK:
                        try:
                            cur = rpc(n.rpc_url, "btt_header", cur["parentHash"], timeout=2)
                        except RuntimeError:
                            if n.spec.sync != "warp":
                                raise
                            break  # a warp-synced node holds no block below its warp target
                        steps += 1
                    if int(cur["slot"], 16) < e * per:
                        checkpoints[e] = cur["hash"]
        except (OSError, RuntimeError, ValueError, KeyError, TypeError):
            return checks.ChainView(n.spec.name, None)
        return checks.ChainView(n.spec.name, number, slot, head_hash, checkpoints)

    def _retire(self, n: NodeProc) -> None:
        n.cpu_prev_incarnations = n.cpu_s

    def manifest_index(self, name: str) -> int:
        return next(n.index for n in self.nodes if n.spec.name == name)

    def _watch_processes(self) -> None:
        for n in self.nodes:
            if n.expected_up and n.process is not None and n.process.poll() is not None:
                n.crashes.append(f"{self._now():.0f} s: exited unexpectedly with {n.process.returncode}; restarted")
                self.echo(f"{self._now():6.1f} s  node {n.spec.name} exited with {n.process.returncode}; restarting")
                self._retire(n)
                self._spawn(n)

    def _sample_one(self, n: NodeProc, t: float) -> checks.Sample | None:
        """`n` now; None for a joining node before it answered RPC (not down: syncing, or not started yet)."""
        if not n.joined:
            return None
        if n.process is not None and n.process.poll() is None:
            cpu, rss = _proc_tree_usage(n.process.pid)
            n.cpu_s = n.cpu_prev_incarnations + cpu
            n.rss_max_kb = max(n.rss_max_kb, rss)
        if n.paused or not n.expected_up:
            return checks.Sample(t, n.spec.name, None, None, None)
        try:
            head = int(rpc(n.rpc_url, "chain_getHeader", timeout=1.5)["number"], 16)
            fin_hash = rpc(n.rpc_url, "chain_getFinalizedHead", timeout=1.5)
            fin = int(rpc(n.rpc_url, "chain_getHeader", fin_hash, timeout=1.5)["number"], 16)
            peers = int(rpc(n.rpc_url, "system_health", timeout=1.5)["peers"])
        except (OSError, RuntimeError, ValueError, KeyError, TypeError):
            return None if n.up_s is None and n.spec.join_at_s is not None else checks.Sample(t, n.spec.name, None,
                                                                                              None, None)
        return checks.Sample(t, n.spec.name, head, fin, peers)

    def _sample(self, pool: concurrent.futures.ThreadPoolExecutor) -> None:
        t = round(self._now(), 1)
        got = list(pool.map(lambda n: self._sample_one(n, t), self.nodes))
        for n, s in zip(self.nodes, got, strict=True):
            if s is not None and s.head is not None and n.spec.join_at_s is not None:
                self._note_up(n, t)
        self.samples += [s for s in got if s is not None]
        if not self.quiet_progress and int(t) % 10 < SAMPLE_INTERVAL_S:
            parts = []
            for n, s in zip(self.nodes, got, strict=True):
                if s is None:
                    parts.append(f"{n.spec.name} (syncing)" if n.joined else
                                 f"{n.spec.name} (joins at {n.spec.join_at_s:g} s)")
                else:
                    parts.append(f"{s.node}#{s.head}/{s.finalized}({s.peers})" if s.head is not None else
                                 f"{s.node} -")
            self.echo(f"{t:6.1f} s  " + " ".join(parts))

    # checks ----------------------------------------------------------------------------------------------------
    def _finish(self, load: LoadGenerator, wall_s: float, pool: concurrent.futures.ThreadPoolExecutor) -> RunResult:
        m = self.manifest
        finals: dict[str, int | None] = {}
        for n in self.nodes:
            try:
                fin_hash = rpc(n.rpc_url, "chain_getFinalizedHead", timeout=5)
                finals[n.spec.name] = int(rpc(n.rpc_url, "chain_getHeader", fin_hash, timeout=5)["number"], 16)
            except (OSError, RuntimeError, ValueError, KeyError, TypeError):
                finals[n.spec.name] = None
        # a node left behind by an upgrade finalizes no further than the boundary: the upgrade check compares its
        # finalized block; the others are compared at the lowest height they all finalized
        left = self._left_behind()
        common = min((f for name, f in finals.items() if f is not None and name not in left), default=0)
        at_common: dict[str, str | None] = {}
        issuance: dict[str, dict[str, str] | None] = {}
        final_peers: dict[str, int | None] = {}
        for n in self.nodes:
            name = n.spec.name
            if name not in left:
                at_common[name] = self._ask(n, "chain_getBlockHash", common)
            issuance[name] = self._ask(n, "btt_issuance")
            peers = self._ask(n, "system_health")
            final_peers[name] = int(peers["peers"]) if isinstance(peers, dict) and "peers" in peers else None
        # every joining node: a warp-synced one's base, a full-sync one's answer for block 1 (0: it serves it)
        bases = {n.spec.name: self._warp_base(n) for n in self.nodes
                 if n.spec.sync == "warp" or n.spec.join_at_s is not None}
        # the reference holds the whole chain (the transfers are looked for from block 1): not a warp-synced node
        whole = [n for n in self.nodes if n.spec.sync != "warp"]
        ref = max(whole or self.nodes, key=lambda n: finals.get(n.spec.name) or -1)
        bonds: dict[str, int] | None
        try:
            prefix = int(rpc(ref.rpc_url, "system_properties")["ss58Format"])
            bonds = {v["account"]: int(v["bond"]) for v in rpc(ref.rpc_url, "btt_validators", timeout=5)}
        except (OSError, RuntimeError, ValueError, KeyError, TypeError):
            prefix, bonds = 42, None
        providers: list[dict[str, Any]] | None
        try:
            providers = list(rpc(ref.rpc_url, "btt_providers", None, timeout=5))
        except (OSError, RuntimeError, ValueError, KeyError, TypeError):
            providers = None
        expected = {encode_address(dev_keypair(str(n.validator)).public, prefix): n.stake * BTT for n in m.validators}
        inclusions, evidence = self._scan_chain(ref, bases.get(ref.spec.name) or 1)
        grace = max(15.0, 3 * m.epoch_slots * m.slot_ms / 1000)
        tx_check, tx_summary = checks.check_transfers(load.records, inclusions)
        bans = self.ban_events()
        # a node left behind by an upgrade stops finalizing at the boundary, by design (the upgrade check holds it)
        progressing = self._samples_of_runnable_nodes()
        results = [
            checks.check_one_chain({k: v for k, v in finals.items() if k not in left}, at_common,
                               {k: v for k, v in bases.items() if v}),
            checks.check_finality_progress(progressing, self.windows, grace,
                                           stake={n.name: n.stake for n in m.validators},
                                           slot_s=m.slot_ms / 1000, epoch_s=m.epoch_s),
            checks.check_no_equivocation(evidence),
            checks.check_issuance(issuance),
            tx_check,
            checks.check_connected(final_peers),
            checks.check_no_ban_from_clocks(bans, self.windows, grace),
        ]
        if checks.clock_windows(self.windows):
            results += [checks.check_clock_peers(self.samples, self.windows, m.clock_join_s),
                        checks.check_clock_lag(self.samples, self.windows, m.clock_join_s, m.clock_lag_blocks)]
        votes = self.vote_events()
        if any(w.epoch is not None for w in self.windows):
            validators = {n.name for n in m.validators}
            results.append(checks.check_fork_race(self.heal_points, votes, validators, m.epoch_slots))
        if m.finality_resume_epochs is not None:
            results.append(checks.check_finality_resumed(self.samples, self.heal_points, m.finality_resume_epochs,
                                                         m.epoch_s))
        joins: list[checks.JoinObservation] = []
        states: list[checks.StateComparison] = []
        agreement: dict[str, dict[int, dict[str, str | None]]] = {}
        if m.joining:
            joins = [self._join_observation(n, bases.get(n.spec.name)) for n in self.nodes
                     if n.spec.join_at_s is not None]
            for n in self.nodes:
                if n.spec.join_at_s is None:
                    continue
                base = bases.get(n.spec.name) or 1
                agreement[n.spec.name] = self._finalized_hashes(n, base, ref, finals, bases)
                states.append(self._compare_state(n, ref, finals))
            results += [
                checks.check_joins_synced(joins, self.samples, m.join_sync_s, m.join_lag_blocks),
                checks.check_joins_follow(joins, self.samples, self.windows, m.join_lag_blocks, m.join_sync_s, grace),
                checks.check_joins_agree(joins, agreement, states),
            ]
        if self.upgrade is not None:
            results.append(check_upgrade(self.upgrade.plan, self.upgrade, self._upgrade_views(pool, bans, ref, bases)))
        changed = checks.bond_changes(expected, bonds)
        results.append(checks.Check("validator bonds as in genesis (information)", True,
                                    tuple(changed) or ("all intact",)))
        results.append(checks.Check("compute providers (information)", True,
                                    tuple(checks.provider_lines(providers, expected))))
        crashes = [f"{n.spec.name}: {c}" for n in self.nodes for c in n.crashes]
        results.append(checks.Check("no node crashed", not crashes, tuple(crashes) or ("none",)))
        lag = checks.finality_lag(self.samples, self.windows)
        figures = self._figures(wall_s, lag, tx_summary, final_peers)
        figures["joins"] = [self._join_figures(j, states, finals) for j in joins]
        from btt_chain.testnet.report import format_report

        report = format_report(m, results, figures, self.windows, self.events)
        passed = all(c.passed for c in results)
        return RunResult(passed, results, figures, report, None if self._tmp and passed and not self.keep
                         else self.base_dir)

    def vote_events(self) -> list[checks.VoteEvent]:
        """Every finality vote the validators' nodes logged, in run time."""
        out = [checks.VoteEvent(t, n.spec.name, int(match.group(2)), match.group(3), int(match.group(4)),
                                match.group(5))
               for n, match, t in self._log_lines(VOTE_LINE) if n.spec.validator is not None]
        return sorted(out, key=lambda v: v.t_s)

    def _log_lines(self, pattern: re.Pattern[str]) -> Iterator[tuple[NodeProc, re.Match[str], float]]:
        """(node, match, run time in s rounded to 0.1) for every line of the nodes' logs that `pattern` matches (its
        first group the line's ISO time); unreadable logs and times are passed over."""
        for n in self.nodes:
            try:
                text = (n.datadir / "node.log").read_text(errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                match = pattern.match(line)
                if match is None:
                    continue
                try:
                    t = datetime.fromisoformat(match.group(1)).timestamp() - self.t0_wall
                except ValueError:
                    continue
                yield n, match, round(t, 1)

    def _left_behind(self) -> set[str]:
        """The nodes that cannot run the upgrade's spec (once it was scheduled)."""
        driver = self.upgrade
        if driver is None or driver.at is None:
            return set()
        spec = driver.plan.spec
        return {n.spec.name for n in self.nodes if n.spec.max_spec is not None and n.spec.max_spec < spec}

    def _ask(self, n: NodeProc, method: str, *params: Any) -> Any:
        """`n`'s answer, or None when it gives none."""
        try:
            return rpc(n.rpc_url, method, *params, timeout=5)
        except (OSError, RuntimeError, ValueError, KeyError, TypeError):
            return None

    def _samples_of_runnable_nodes(self) -> list[checks.Sample]:
        """The samples, less those of nodes that cannot run an upgrade's spec from the boundary on."""
        driver = self.upgrade
        if driver is None or driver.boundary_s is None:
            return self.samples
        left, start = self._left_behind(), driver.boundary_s
        return [s for s in self.samples if s.node not in left or s.t_s < start]

    def _upgrade_views(self, pool: concurrent.futures.ThreadPoolExecutor, bans: list[checks.BanEvent],
                       ref: NodeProc, bases: dict[str, int | None]) -> dict[str, NodeAtEnd]:
        driver = self.upgrade
        assert driver is not None
        at = driver.at

        def view(n: NodeProc) -> NodeAtEnd:
            head = spec = boundary = None
            events: tuple[str, ...] = ()
            finalized: tuple[int, bool] | None = None
            errors = (OSError, RuntimeError, ValueError, KeyError, TypeError)
            try:  # each on its own: a node left behind answers for its blocks, not for the next block's runtime
                head = int(rpc(n.rpc_url, "chain_getHeader", timeout=5)["number"], 16)
                if at is not None and head >= at and (bases.get(n.spec.name) or 0) <= at:
                    boundary = rpc(n.rpc_url, "chain_getBlockHash", at, timeout=5)
                    events = tuple(str(e.get("event")) for e in rpc(n.rpc_url, "btt_events", boundary, timeout=10))
            except errors:
                pass
            try:
                spec = int(rpc(n.rpc_url, "state_getRuntimeVersion", timeout=5)["specVersion"])
            except errors:
                pass
            try:
                fin_hash = rpc(n.rpc_url, "chain_getFinalizedHead", timeout=5)
                fin = int(rpc(n.rpc_url, "chain_getHeader", fin_hash, timeout=5)["number"], 16)
                finalized = (fin, rpc(ref.rpc_url, "chain_getBlockHash", fin, timeout=5) == fin_hash)
            except errors:
                pass
            try:
                log = (n.datadir / "node.log").read_text(errors="replace")
            except OSError:
                log = ""
            alive = n.process is not None and n.process.poll() is None
            involving = tuple(f"{b.node} banned {b.peer}: {b.reason}" for b in bans
                              if n.spec.max_spec is not None and n.spec.name in (b.node, b.peer))
            return NodeAtEnd(n.spec.name, n.spec.max_spec, head, spec, boundary, events, log, alive, involving,
                             bases.get(n.spec.name), finalized)

        joined = [n for n in self.nodes if n.joined]
        return {v.name: v for v in pool.map(view, joined)}

    def ban_events(self) -> list[checks.BanEvent]:
        """Every ban the nodes logged, in run time, the banned peer named as the node it is (its peer id otherwise);
        a ban logged twice (the p2p service and the trio side both log a score ban) counts once."""
        names = {n.peer_id: n.spec.name for n in self.nodes}
        seen: set[tuple[str, str, str, int]] = set()
        out: list[checks.BanEvent] = []
        for n, match, t in self._log_lines(BAN_LINE):
            peer = names.get(match.group(2), match.group(2))
            key = (n.spec.name, peer, match.group(3), int(t))
            if key not in seen:
                seen.add(key)
                out.append(checks.BanEvent(t, n.spec.name, peer, match.group(3)))
        return sorted(out, key=lambda b: b.t_s)

    # nodes that joined mid-run -------------------------------------------------------------------------------------
    def _warp_base(self, n: NodeProc) -> int | None:
        """The block `n`'s RPC names as its warp target when asked for block 1; 0: it serves block 1; None: no
        answer."""
        try:
            rpc(n.rpc_url, "chain_getBlockHash", 1, timeout=5)
        except RuntimeError as exc:
            match = WARP_NOTE.search(str(exc))
            return int(match.group(1)) if match else None
        except (OSError, ValueError):
            return None
        return 0

    def _join_observation(self, n: NodeProc, rpc_base: int | None) -> checks.JoinObservation:
        """What `n`'s log and RPC say of its join: each warp it began (its proof, its end), each start that resumed."""
        events: list[tuple[float, str, re.Match[str]]] = []
        for kind, pattern in (("start", WARP_START_LINE), ("proof", WARP_PROOF_LINE), ("done", WARP_DONE_LINE),
                              ("resume", WARP_RESUME_LINE)):
            events += [(t, kind, match) for node, match, t in self._log_lines(pattern) if node is n]
        events.sort(key=lambda e: e[0])
        warps: list[checks.WarpLog] = []
        resumed: list[float] = []
        for t, kind, match in events:
            if kind == "start":
                warps.append(checks.WarpLog(t))
            elif kind == "resume":
                resumed.append(t)
            elif not warps:
                continue  # a line of a warp whose start line was not read
            elif kind == "proof":
                warps[-1] = dataclasses.replace(warps[-1], proof_s=t, fragments=int(match.group(2)),
                                                proof_target=int(match.group(3)))
            else:
                warps[-1] = dataclasses.replace(
                    warps[-1], done_s=t, target=int(match.group(2)), target_hash=match.group(3),
                    keys=int(match.group(4).replace(",", "")), state_mb=float(match.group(5)),
                    received_mb=float(match.group(6)), took_s=float(match.group(7)))
        names = {other.peer_id: other.spec.name for other in self.nodes}
        penalties = tuple(f"{t:g} s: {names.get(match.group(2), match.group(2))} by {match.group(3)}: {match.group(4)}"
                          for node, match, t in self._log_lines(PENALTY_LINE) if node is n)
        assert n.spec.join_at_s is not None
        return checks.JoinObservation(n.spec.name, n.spec.sync, n.spec.join_at_s, n.up_s, tuple(n.starts),
                                      tuple(warps), tuple(resumed), rpc_base, tuple(n.skipped), penalties)

    def _finalized_hashes(self, n: NodeProc, base: int, ref: NodeProc, finals: dict[str, int | None],
                          bases: dict[str, int | None]) -> dict[int, dict[str, str | None]]:
        """height -> node -> its block at that height, at AGREE_HEIGHTS heights from `n`'s warp target (`base`) to the
        finalized height it shares with `ref`; each node is asked for the heights it holds and has finalized."""
        top = min(finals.get(n.spec.name) or 0, finals.get(ref.spec.name) or 0)
        if top < base:
            return {}
        steps = AGREE_HEIGHTS - 1
        heights = sorted({base + (top - base) * i // steps for i in range(AGREE_HEIGHTS)})
        out: dict[int, dict[str, str | None]] = {h: {} for h in heights}
        for other in self.nodes:
            fin = finals.get(other.spec.name)
            low = bases.get(other.spec.name) or 1
            mine = [h for h in heights if fin is not None and low <= h <= fin]
            if not mine:
                continue
            try:
                got = rpc(other.rpc_url, "chain_getBlockHash", mine, timeout=10)
            except (OSError, RuntimeError, ValueError):
                got = [None] * len(mine)
            for h, block_hash in zip(mine, got, strict=False):
                out[h][other.spec.name] = block_hash
        return out

    def _compare_state(self, n: NodeProc, ref: NodeProc, finals: dict[str, int | None]) -> checks.StateComparison:
        """`n`'s state at the finalized height it shares with `ref`, against `ref`'s key for key, and the state root
        in every node's header there (the nodes that finalized it)."""
        number = min(finals.get(n.spec.name) or 0, finals.get(ref.spec.name) or 0)
        roots: dict[str, str | None] = {}
        for other in self.nodes:
            if (finals.get(other.spec.name) or -1) < number:
                continue
            try:
                block_hash = rpc(other.rpc_url, "chain_getBlockHash", number, timeout=5)
                roots[other.spec.name] = rpc(other.rpc_url, "chain_getHeader", block_hash, timeout=5)["stateRoot"]
            except (OSError, RuntimeError, ValueError, KeyError, TypeError):
                roots[other.spec.name] = None
        comparison = checks.StateComparison(n.spec.name, ref.spec.name, number, None, roots)
        if number <= 0:
            return dataclasses.replace(comparison, error="no finalized block in common")
        try:
            block_hash = rpc(ref.rpc_url, "chain_getBlockHash", number, timeout=5)
            theirs = _state_digest(ref.rpc_url, block_hash)
            ours = _state_digest(n.rpc_url, block_hash)
        except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
            return dataclasses.replace(comparison, error=repr(exc)[:300])
        differences = [f"{k}: {n.spec.name} {ours.get(k)}, {ref.spec.name} {theirs.get(k)}"
                       for k in sorted(set(ours) | set(theirs)) if ours.get(k) != theirs.get(k)]
        return dataclasses.replace(comparison, block_hash=block_hash, keys=len(theirs), differences=tuple(differences))

    def _join_figures(self, j: checks.JoinObservation, states: list[checks.StateComparison],
                      finals: dict[str, int | None]) -> dict[str, Any]:
        caught = checks.caught_up_at(self.samples, j.node, j.join_at_s, self.manifest.join_lag_blocks)
        done = next((w for w in j.warps if w.done_s is not None), None)
        state = next((s for s in states if s.node == j.node), None)
        heads = [s.head for s in self.samples if s.node == j.node and s.head is not None]
        return {
            "node": j.node, "sync": j.sync, "join_at_s": j.join_at_s, "up_s": j.up_s, "synced_s": caught,
            "warps_begun": len(j.warps), "starts": list(j.starts), "resumed": list(j.resumed),
            "warp": None if done is None else {
                "fragments": done.fragments, "target": done.target, "target_hash": done.target_hash,
                "keys": done.keys, "state_mb": done.state_mb, "received_mb": done.received_mb, "took_s": done.took_s,
                "proof_s": done.proof_s, "done_s": done.done_s,
            },
            "rpc_base": j.rpc_base, "last_head": heads[-1] if heads else None, "finalized": finals.get(j.node),
            "state_compared_at": None if state is None else state.number,
            "state_keys": None if state is None else state.keys, "skipped": list(j.skipped),
        }

    def _scan_chain(self, ref: NodeProc, start: int = 1) -> tuple[dict[str, int], list[str]]:
        """(times each extrinsic hash is in `ref`'s chain from block `start` on, the equivocation evidence found in
        it)."""
        from btt_chain.primitives.extrinsic import decode_any
        from runtime.modules import RUNTIME

        evidence_module = RUNTIME.lookup("evidence.report_block_equivocation")[0].index
        counts: dict[str, int] = {}
        evidence: list[str] = []
        try:
            head = int(rpc(ref.rpc_url, "chain_getHeader", timeout=5)["number"], 16)
            for first in range(start, head + 1, 100):
                hashes = rpc(ref.rpc_url, "chain_getBlockHash", list(range(first, min(head, first + 99) + 1)),
                             timeout=10)
                for h in hashes:
                    if h is None:
                        continue
                    block = rpc(ref.rpc_url, "chain_getBlock", h, timeout=10)
                    for xt in block["block"]["extrinsics"]:
                        raw = bytes.fromhex(xt[2:])
                        key = "0x" + blake2b_256(raw).hex()
                        counts[key] = counts.get(key, 0) + 1
                        call = decode_any(raw).call
                        if call.module == evidence_module:
                            number = int(block["block"]["header"]["number"], 16)
                            evidence.append(f"block #{number}: evidence call {call.function} in {key[:18]}")
        except (OSError, RuntimeError, ValueError, KeyError, TypeError, BttError) as exc:
            self.echo(f"could not scan the chain of {ref.spec.name}: {exc!r}")
            evidence.append(f"the chain of {ref.spec.name} could not be scanned: {exc!r}")
        return counts, evidence

    def _figures(self, wall_s: float, lag: checks.LagFigures | None, tx: checks.TxSummary,
                 final_peers: dict[str, int | None]) -> dict[str, Any]:
        run_s = max(1.0, self._now())
        peers_seen: dict[str, list[int]] = {}
        for s in self.samples:
            if s.peers is not None:
                peers_seen.setdefault(s.node, []).append(s.peers)
        per_node = []
        for n in self.nodes:
            seen = peers_seen.get(n.spec.name, [])
            per_node.append({
                "node": n.spec.name,
                "validator": n.spec.validator,
                "address": n.address,
                "peers_final": final_peers.get(n.spec.name),
                "peers_median": checks.percentile(seen, 50) if seen else None,
                "cpu_s": round(n.cpu_s, 1),
                "cpu_pct": round(100 * n.cpu_s / (run_s + 0.0), 1),
                "rss_max_mb": round(n.rss_max_kb / 1024, 1),
            })
        slot_s = self.manifest.slot_ms / 1000
        partitions = []
        for heal in self.heal_points:
            w = heal.window
            resumed = checks.finality_resumption(self.samples, heal)
            took = resumed.resume_s
            views = {v.node: v for v in heal.views}
            partitions.append({
                "label": w.label, "start_s": round(w.start_s, 2), "heal_s": heal.t_s, "stalls": w.stalls,
                "epoch": w.epoch, "boundary_slot": None if w.epoch is None else w.epoch * self.manifest.epoch_slots,
                "lead_ms": w.lead_ms, "heal_height": heal.height,
                "resume_s": None if took is None else round(took, 1),
                "resume_epochs": None if took is None else round(took / self.manifest.epoch_s, 2),
                "sides": [{
                    "nodes": list(side),
                    "heads": {n: views[n].head for n in side if n in views},
                    "head_slots": {n: views[n].head_slot for n in side if n in views},
                    "checkpoints": {n: {str(e): h for e, h in views[n].checkpoints.items()} for n in side
                                    if n in views},
                } for side in w.sides],
            })
        return {
            "wall_s": round(wall_s, 1),
            "run_s": round(run_s, 1),
            "lag": None if lag is None else {
                "p50_blocks": lag.p50_blocks, "max_blocks": lag.max_blocks,
                "p50_s": round(lag.p50_blocks * slot_s, 1), "max_s": round(lag.max_blocks * slot_s, 1),
                "p50_during_blocks": lag.p50_during_blocks, "max_during_blocks": lag.max_during_blocks,
            },
            "transfers": {"sent": tx.sent, "accepted": tx.accepted, "included": tx.included,
                          "reported": tx.reported, "rejected": tx.rejected, "unacknowledged": tx.unacknowledged},
            "nodes": per_node,
            "partitions": partitions,
        }


def _state_digest(url: str, block_hash: str) -> dict[str, str | None]:
    """key -> hash of its value, for every key of the state at `block_hash` (paged keys, hashes in batches)."""
    keys: list[str] = []
    start = None
    while True:
        page = rpc(url, "state_getKeysPaged", "0x", 1000, start, block_hash, timeout=10)
        keys += page
        if len(page) < 1000:
            break
        if len(keys) >= MAX_STATE_KEYS:
            raise RuntimeError(f"more than {MAX_STATE_KEYS} keys: not compared")
        start = page[-1]
    out: dict[str, str | None] = {}
    for at in range(0, len(keys), 100):
        chunk = keys[at:at + 100]
        out.update(zip(chunk, rpc_batch(url, [("state_getStorageHash", [k, block_hash]) for k in chunk]), strict=True))
    return out


def checks_error(message: str) -> Exception:
    from btt_chain.primitives.errors import ConfigError

    return ConfigError(message)


def _retransmission_note() -> str:
    """How soon a node is heard again after a cut link on this host (p2p/tcp_backoff.py): it depends on the kernel."""
    import platform

    from p2p.tcp_backoff import kernel_can_cap

    if kernel_can_cap():
        return f"Linux {platform.release()}: peer connections retry at least once a second through a cut link"
    return (f"Linux {platform.release()} cannot cap TCP's retransmission backoff (6.15+): a node whose link was cut "
            "may stay unheard up to as long again as the cut")
