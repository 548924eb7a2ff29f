"""A manifest's `[upgrade]`: the recorded network a run starts from, the referendum that schedules the next spec, the
kills at the boundary, and the check that the upgrade happened as an operator expects.

The network starts from a tarball of every node's data directory as an older release left it (and the chain spec it
ran, `chain-spec.json`, and `recorded.json`: the head's number and timestamp). Every node's clock is set back (the
nodes' `--unsafe-clock-skew-ms`) so that the chain resumes two seconds after its recorded head, as if the network had
only just stopped: no node may notice that the recording is older than the run.

The referendum is run the way an operator runs it, with the `btt-chain` CLI against a node: the proposer sends dave
(the institutions' house) a little for fees, proposes `system.schedule_spec(spec, head + delay_blocks)` on the
emergency track, and both vote aye. At the boundary the runner SIGKILLs the nodes of `kill_at_boundary`: the first as
the last block of the old spec lands on the node it watches, the next as the first block of the new spec (the one that
runs the migrations) lands, each started again `kill_for` seconds later.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from btt_chain.testnet.checks import Check
from btt_chain.testnet.manifest import UpgradePlan
from btt_chain.testnet.rpc import rpc

RECORDED = "recorded.json"
"""In the tarball: {"head": number, "head_timestamp_ms": ms} of the recorded chain."""
RESUME_AFTER_MS = 2_000
"""The nodes' clocks start this long after the recorded head's timestamp."""
CLI_TIMEOUT_S = 120.0
HALT_LINE = r"ERROR .*spec {spec}\b.*install"
"""The one line a node that cannot run the spec logs when it stops (it names the spec and what to install)."""


@dataclass(frozen=True)
class Recorded:
    head: int
    head_timestamp_ms: int


def unpack(plan: UpgradePlan, base_dir: Path) -> Recorded:
    """Extract the recorded network into `base_dir` (each node's directory, `chain-spec.json`): what it recorded."""
    try:
        with tarfile.open(plan.database) as tar:
            tar.extractall(base_dir, filter="data")  # refuses members outside base_dir, links out, devices
    except (OSError, tarfile.TarError) as exc:
        raise ValueError(f"{plan.database}: not a recorded network's tarball ({exc})") from None
    try:
        doc = json.loads((base_dir / RECORDED).read_text())
        return Recorded(int(doc["head"]), int(doc["head_timestamp_ms"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{plan.database}: no valid {RECORDED} in the tarball ({exc})") from None


def clock_offset_ms(recorded: Recorded, now_ms: int) -> int:
    """What every node's clock is moved by so that the chain resumes just after its recorded head."""
    return recorded.head_timestamp_ms + RESUME_AFTER_MS - now_ms


@dataclass
class UpgradeDriver:
    """The referendum (run in a thread: each CLI command waits for its transaction's block) and the boundary."""

    plan: UpgradePlan
    event: Callable[[str], None]
    at: int | None = None
    """The scheduled block, once proposed."""
    ref_id: int | None = None
    failure: str | None = None
    done: bool = False
    boundary_s: float | None = None
    """Run seconds at which the watched node first held the last block of the old spec."""
    killed: list[str] = field(default_factory=list)
    _thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start_referendum(self, url: str) -> None:
        self._thread = threading.Thread(target=self._referendum, args=(url,), name="testnet-upgrade", daemon=True)
        self._thread.start()

    def _cli(self, url: str, *args: str) -> str:
        from btt_chain.testnet.runner import REPO_ROOT

        cmd = [sys.executable, "-m", "cli", *args, "--rpc", url]
        done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"btt-chain {' '.join(args)}: exit {done.returncode}: "
                               f"{(done.stderr or done.stdout).strip()[-400:]}")
        return done.stdout

    def _referendum(self, url: str) -> None:
        plan = self.plan
        try:
            self._cli(url, "transfer", "--from", plan.proposer, "--to", "dave", "--amount", "10")
            # the head read after the transfer, just before the proposal: on a busy machine the transfer's command
            # alone took 8 blocks, and the referendum was enacted at the very block it had scheduled (too late)
            head = int(rpc(url, "chain_getHeader", timeout=5)["number"], 16)
            at = head + plan.delay_blocks
            out = self._cli(url, "propose", "--call", "system.schedule_spec", "--args", json.dumps([plan.spec, at]),
                            "--emergency", "--description", f"upgrade to spec {plan.spec} at block {at}",
                            "--from", plan.proposer, "--json")
            self.ref_id = int(json.loads(out)["referendumId"])
            self.at = at
            self.event(f"referendum #{self.ref_id}: system.schedule_spec({plan.spec}, {at}) proposed at block "
                       f"#{head} by {plan.proposer} (emergency track)")
            for voter in (plan.proposer, "dave"):
                self._cli(url, "vote", str(self.ref_id), "aye", "--from", voter)
            self.event(f"referendum #{self.ref_id}: {plan.proposer} and dave voted aye")
        except (OSError, RuntimeError, ValueError, KeyError, TypeError, subprocess.TimeoutExpired) as exc:
            self.failure = str(exc)
            self.event(f"upgrade referendum failed: {exc}")
        finally:
            self.done = True

    def due_kills(self, head: int) -> list[str]:
        """The nodes to SIGKILL now that the watched node's head is `head` (each once)."""
        if self.at is None:
            return []
        due = []
        for i, name in enumerate(self.plan.kill_at_boundary):
            if name in self.killed:
                continue
            if head >= self.at - 1 + min(i, 1):  # the first at the last old block, the others at the first new one
                due.append(name)
        self.killed += due
        return due


@dataclass(frozen=True)
class NodeAtEnd:
    """One node as the upgrade check sees it after the run."""

    name: str
    max_spec: int | None
    head: int | None
    spec_at_head: int | None
    hash_at_boundary: str | None
    """Its canonical block at the scheduled height (None: it has none)."""
    events_at_boundary: tuple[str, ...]
    log: str
    alive: bool
    bans_involving: tuple[str, ...]
    warp_base: int | None = None
    """The block it warp-synced at (it holds none below), if it did."""
    finalized: tuple[int, bool] | None = None
    """(its finalized height, whether the reference node has the same block there)."""


def check_upgrade(plan: UpgradePlan, driver: UpgradeDriver, nodes: Mapping[str, NodeAtEnd]) -> Check:
    """The referendum scheduled the spec; every node that can run it ran the same boundary block (with the upgrade
    and its migrations in it) and runs the spec at its head; a node that cannot stopped before that block, alive and
    with its one line, without a traceback, banning nobody and banned by nobody."""
    name = f"upgrade to spec {plan.spec} by referendum"
    lines: list[str] = []
    if driver.at is None:
        return Check(name, False, (f"no upgrade was scheduled: {driver.failure or 'the referendum never proposed'}",))
    at = driver.at
    ok = True
    lines.append(f"referendum #{driver.ref_id} scheduled spec {plan.spec} at block #{at}; killed at the boundary: "
                 f"{', '.join(driver.killed) or 'none'}")
    runnable = [n for n in nodes.values() if n.max_spec is None or n.max_spec >= plan.spec]
    old = [n for n in nodes.values() if n not in runnable]
    warped_past = [n for n in runnable if (n.warp_base or 0) > at]
    runs = [n for n in runnable if n not in warped_past]
    for n in warped_past:
        lines.append(f"{n.name} warp-synced at #{n.warp_base}, past the boundary: it runs spec {n.spec_at_head}")
        if n.spec_at_head != plan.spec:
            ok = False
    boundary = {n.hash_at_boundary for n in runs}
    if len(boundary) != 1 or None in boundary:
        ok = False
        held = ", ".join(f"{n.name} {n.hash_at_boundary}" for n in runs)
        lines.append(f"block #{at} differs or is missing: {held}")
    for n in runs:
        wanted = {"SpecUpgraded", "MigrationsCompleted"}
        if not wanted <= set(n.events_at_boundary):
            ok = False
            lines.append(f"{n.name}: block #{at} has events {sorted(set(n.events_at_boundary))}, not {sorted(wanted)}")
        if n.spec_at_head != plan.spec:
            ok = False
            lines.append(f"{n.name}: runs spec {n.spec_at_head} at its head #{n.head}, not {plan.spec}")
    if ok:
        lines.append(f"{len(runs)} nodes ran block #{at} {next(iter(boundary))} (SpecUpgraded, MigrationsCompleted) "
                     f"and run spec {plan.spec}")
    halt = re.compile(HALT_LINE.format(spec=plan.spec))
    for n in old:
        said = [line for line in n.log.splitlines() if halt.search(line)]
        problems = []
        if not n.alive:
            problems.append("its process is gone")
        if n.head != at - 1:
            problems.append(f"its head is #{n.head}, not #{at - 1} (the last block it can run)")
        if len(said) != 1:
            problems.append(f"{len(said)} lines name spec {plan.spec} and what to install (one expected)")
        if "Traceback" in n.log:
            problems.append("a traceback in its log")
        if n.bans_involving:
            problems.append("bans: " + "; ".join(n.bans_involving))
        if n.finalized is None or not n.finalized[1]:
            problems.append(f"its finalized block {n.finalized} is not the reference's")
        if problems:
            ok = False
            lines.append(f"{n.name} (--max-spec {n.max_spec}): " + "; ".join(problems))
        else:
            lines.append(f"{n.name} (--max-spec {n.max_spec}) stopped at #{at - 1}: {said[0].strip()[:200]}")
    return Check(name, ok, tuple(lines))
