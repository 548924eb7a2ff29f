"""The provider's loop against a node over JSON-RPC: register (bonding first if needed), then every tick
read the provider's open assignments (`btt_jobs`), compute and commit new ones, reveal the committed ones
whose sample the chain has fixed, and report what the chain decided (receipt, fraud, missed deadline,
mining reward) from each new block's events.

The loop is given its RPC caller and a signed-submission function, so it runs the same against a real node
(`btt-chain miner`) and against an in-process node in tests. It is synchronous: one tick is a handful of
RPC calls and, for a new job, one batch of integer inference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from btt_chain.miner.engine import CannotServe, JobSpec, MinerEngine
from btt_chain.miner.watch import EventWatcher, Output, RpcCaller, Submit, btt
from btt_chain.primitives.errors import BttError, ConfigError
from runtime.compute.model import ModelSpec
from runtime.compute.types import ENERGY_CLASSES, REGION_CLASSES

MAX_OPEN = 500
"""Open jobs read per tick (the RPC's limit)."""
RESUBMIT_AFTER_S = 30.0
"""A submission the node no longer knows (dropped from its pool) is sent again after this long."""
MAX_ATTEMPTS = 3
"""Failed submissions of one step before the miner gives the job up."""


@dataclass
class Pending:
    action: str
    xt_hash: str
    at: float
    detail: str = ""


@dataclass(frozen=True)
class ProviderOptions:
    capacity: int = 4
    region: int = 0
    """Index into REGION_CLASSES."""
    energy: int = 2
    """Index into ENERGY_CLASSES (0 = A)."""
    bond: int | None = None
    """Active bond (base units) to reach before registering; None: the chain's minimum provider bond."""


def parse_hash(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def model_spec(row: dict[str, Any]) -> ModelSpec:
    """A ModelSpec from a `btt_models` row."""
    return ModelSpec(
        name=row["name"], seed=parse_hash(row["seed"]), layers=tuple(row["layers"]), shifts=tuple(row["shifts"])
    )


def param_value(rpc: RpcCaller, name: str) -> int:
    for p in rpc.call("btt_params"):
        if p["name"] == name:
            return int(p["value"])
    raise ConfigError(f"the node has no parameter {name}")


class MinerLoop:
    """One provider account serving its assignments through one node."""

    def __init__(
        self,
        rpc: RpcCaller,
        address: str,
        engine: MinerEngine,
        submit: Submit,
        out: Output,
        decimals: int = 18,
        symbol: str = "BTT",
    ) -> None:
        self.rpc = rpc
        self.address = address
        self.engine = engine
        self.submit = submit
        self.out = out
        self.decimals = decimals
        self.symbol = symbol
        self.models: dict[str, ModelSpec] = {}
        self.pending: dict[int, Pending] = {}
        self.failures: dict[tuple[int, str], int] = {}
        self.given_up: set[int] = set()
        self.open_assignments: set[int] = set()
        """Jobs whose assignment to this provider is assigned or committed, as of the last tick."""
        self.watcher: EventWatcher | None = None

    def btt(self, amount: int | str) -> str:
        return btt(amount, self.decimals, self.symbol)

    # registration ------------------------------------------------------------------------------------
    def ensure_registered(self, options: ProviderOptions) -> None:
        """Register as a provider unless already registered, bonding up to the wanted bond first."""
        mine = [p for p in self.rpc.call("btt_providers", self.address) if p["registered"]]
        if mine:
            p = mine[0]
            self.out(
                f"provider {self.address}: bond {self.btt(p['bond'])}, capacity {p['capacity']}, region "
                f"{p['region']}, energy class {p['energy']}; {p['stats']['completed']} jobs completed so far"
            )
            return
        minimum = param_value(self.rpc, "compute.min_provider_bond")
        target = minimum if options.bond is None else options.bond
        if target < minimum:
            raise ConfigError(f"--bond {self.btt(target)} is below the minimum provider bond {self.btt(minimum)}")
        ledger = self.rpc.call("btt_bonds", self.address)
        bonded = int(ledger["bonded"])
        if bonded < target:
            call = "bonds.bond_extra" if bonded or ledger["unlocking"] else "bonds.bond"
            self.submit(call, (target - bonded,), True)
            self.out(f"bonded {self.btt(target - bonded)} (active bond now {self.btt(target)})")
        self.submit("compute.register_provider", (options.capacity, options.region, options.energy), True)
        self.out(
            f"registered {self.address} as a provider: capacity {options.capacity}, region "
            f"{REGION_CLASSES[options.region]}, energy class {ENERGY_CLASSES[options.energy].upper()}"
        )

    # the loop ----------------------------------------------------------------------------------------
    def run(self, should_stop: Callable[[], bool], interval: float = 0.5, once: bool = False) -> None:
        """Tick until `should_stop()`; with `once`, until the assignments open at the first tick have ended."""
        targets: set[int] | None = None
        down_since: float | None = None
        while not should_stop():
            try:
                self.tick()
                if down_since is not None:
                    self.out("the node answers again")
                    down_since = None
            except (BttError, OSError) as exc:
                if down_since is None:
                    self.out(f"cannot talk to the node: {exc}; retrying")
                    down_since = time.monotonic()
            else:
                if once:
                    if targets is None:
                        targets = set(self.open_assignments)
                        if targets:
                            self.out(f"--once: serving jobs {sorted(targets)}, then exiting")
                    if not (targets & self.open_assignments) - self.given_up and not self.pending:
                        return
            time.sleep(interval)

    def tick(self) -> None:
        """One pass: settle pending submissions, report new events, serve open assignments."""
        if self.watcher is None:
            self.watcher = EventWatcher(self.rpc)
        self._check_pending()
        for number, ev in self.watcher.new_events():
            self._report(number, ev)
        jobs = self.rpc.call("btt_jobs", "open", None, self.address, MAX_OPEN)
        still_open = set()
        for job in jobs:
            a = next((x for x in job["assignments"] if x["provider"] == self.address), None)
            if a is None or a["state"] not in ("assigned", "committed"):
                continue
            still_open.add(job["id"])
            self._serve(job, a)
        self.open_assignments = still_open
        for jid in self.engine.job_ids():
            if jid not in still_open and jid not in self.pending:
                self.engine.forget(jid)
        self.given_up &= still_open

    # serving -----------------------------------------------------------------------------------------
    def _spec(self, job: dict[str, Any]) -> JobSpec:
        model = job["model"]
        if model not in self.models:
            self.models = {row["hash"]: model_spec(row) for row in self.rpc.call("btt_models")}
        if model not in self.models:
            raise CannotServe(f"job {job['id']} names model {model}, which the node does not list")
        seed = parse_hash(job["inputSeed"]) if job["inputSeed"] else bytes(32)
        return JobSpec(job["id"], self.models[model], seed, parse_hash(job["inputRoot"]), job["items"])

    def _serve(self, job: dict[str, Any], a: dict[str, Any]) -> None:
        jid = job["id"]
        if jid in self.pending or jid in self.given_up:
            return
        try:
            if a["state"] == "assigned":
                started = time.perf_counter()
                fresh = jid not in self.engine
                result = self.engine.prepare(self._spec(job))
                if fresh:
                    ms = (time.perf_counter() - started) * 1000
                    faked = f", {len(result.faked)} outputs FAKED" if result.faked else ""
                    self.out(
                        f"job #{jid}: computed {result.items} items of {job['modelName'] or job['model']} in "
                        f"{ms:.0f} ms{faked}; committing to output root 0x{result.output_root.hex()[:16]}..."
                    )
                self._submit(jid, "commit", "compute.commit_result", (jid, result.commitment))
            elif a["state"] == "committed" and a["sampleIndices"]:
                indices = list(a["sampleIndices"])
                kept = self.engine.get(jid)
                if kept is None:
                    raise CannotServe(f"no result is kept for job {jid} (its data is lost): it cannot be revealed")
                self._submit(jid, "reveal", "compute.reveal_result",
                             (jid, kept.output_root, kept.salt, kept.openings(indices)), f"opened items {indices}")
        except CannotServe as exc:
            self.given_up.add(jid)
            self.out(f"job #{jid}: cannot serve it: {exc}; its deadline will pass")

    def _submit(self, jid: int, action: str, call: str, args: tuple[Any, ...], detail: str = "") -> None:
        try:
            xt_hash = self.submit(call, args, False)
        except BttError as exc:
            self._failed(jid, action, str(exc))
            return
        self.pending[jid] = Pending(action, xt_hash, time.monotonic(), detail)

    def _failed(self, jid: int, action: str, why: str) -> None:
        n = self.failures.get((jid, action), 0) + 1
        self.failures[(jid, action)] = n
        if n >= MAX_ATTEMPTS:
            self.given_up.add(jid)
            self.out(f"job #{jid}: {action} failed {n} times ({why}); giving the job up")
        else:
            self.out(f"job #{jid}: {action} failed ({why}); will try again")

    def _check_pending(self) -> None:
        for jid, p in list(self.pending.items()):
            status = self.rpc.call("btt_extrinsicStatus", p.xt_hash)
            if status is not None and status.get("status") == "included":
                del self.pending[jid]
                if status.get("success"):
                    detail = f": {p.detail}" if p.detail else ""
                    word = "committed" if p.action == "commit" else "revealed"
                    self.out(f"job #{jid}: {word} in block #{status['blockNumber']}{detail}")
                else:
                    self._failed(jid, p.action, f"included but failed: {status.get('error')}")
            elif status is None and time.monotonic() - p.at > RESUBMIT_AFTER_S:
                del self.pending[jid]

    # reporting ---------------------------------------------------------------------------------------
    def _report(self, number: int, ev: dict[str, Any]) -> None:
        if ev.get("module") != "compute" or ev.get("provider") != self.address:
            return
        name = ev["event"]
        jid = ev.get("job_id")
        if name == "JobAssigned":
            self.out(f"job #{jid} assigned in block #{number} (escrow {self.btt(ev['portion'])})")
        elif name == "JobReceipt":
            self.out(
                f"job #{jid} receipt in block #{number}: paid {self.btt(ev['provider_paid'])} of "
                f"{self.btt(ev['payment'])} escrow ({self.btt(ev['burned'])} burned), work credit {ev['credit']}"
            )
        elif name == "FraudDetected":
            self.out(
                f"job #{jid} FRAUD detected at item {ev['item']} in block #{number}: bond slashed "
                f"{self.btt(ev['slashed'])}, requester refunded {self.btt(ev['refunded'])}"
            )
        elif name == "DeadlineMissed":
            slashed = f", bond slashed {self.btt(ev['slashed'])}" if int(ev["slashed"]) else ""
            self.out(f"job #{jid} deadline missed in block #{number}: {self.btt(ev['refunded'])} refunded{slashed}")
        elif name == "MiningRewarded":
            self.out(f"mining reward in block #{number}: {self.btt(ev['amount'])} for {ev['credit']} work credit")
