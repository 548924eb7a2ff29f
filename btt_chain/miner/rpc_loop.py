"""The provider's loop against a node over JSON-RPC: register (bonding first if needed), then every tick
read the provider's open assignments (`btt_jobs`), compute and commit new ones, reveal the committed ones
whose sample the chain has fixed, and report what the chain decided (receipt, fraud, missed deadline,
mining reward) from each new block's events.

A result committed to is kept on disk until its assignment is final: a miner that was down past a job's deadline
finds the assignment `late` when it comes back and still opens its sample (the chain then takes only the
missed-deadline fee, not the withholding slash).

After a reveal lands, the result is kept while the assignment is `verified` (in its challenge window): the
loop publishes the full outputs to its node (`btt_submitOutputs`) so the requester and anyone else can
check them, posts them on chain when they are demanded or disputed (`compute.post_outputs`), and when
another provider of the job revealed a different root (`ResultsDiffer`) it fetches that provider's outputs
and challenges an item it can show is wrong (`compute.challenge`, checked locally first).

The loop is given its RPC caller and a signed-submission function, so it runs the same against a real node
(`btt-chain miner`) and against an in-process node in tests. It is synchronous: one tick is a handful of
RPC calls and, for a new job, one batch of integer inference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from btt_chain.miner.audit import (
    NotChallengeable,
    assignment_of,
    challenge_args,
    fetch_inputs,
    fetch_outputs,
    model_spec,
    parse_hash,
)
from btt_chain.miner.engine import (
    CannotServe,
    JobSpec,
    MinerEngine,
    NotYet,
    PreparedResult,
    PrivateSpec,
    output_chunks,
)
from btt_chain.miner.event_words import Said, clock, say
from btt_chain.miner.watch import EventWatcher, Output, RpcCaller, Submit, btt
from btt_chain.primitives.address import decode_address
from btt_chain.primitives.errors import BttError, ConfigError
from btt_chain.primitives.sealed_cases import BoxKeypair
from runtime.compute import storage as compute_storage
from runtime.compute.errors import MalformedWeights
from runtime.compute.inference import infer
from runtime.compute.model import ModelSpec
from runtime.compute.models import built
from runtime.compute.types import ENERGY_CLASSES, REGION_CLASSES
from runtime.compute.weights_source import WeightsUnavailable

__all__ = ["MinerLoop", "ProviderOptions", "clock", "model_spec", "param_value", "parse_hash"]

JOBS_PAGE = 50
"""Open jobs per `btt_jobs` call (the RPC's most): the miner pages through all of its own."""
RESUBMIT_AFTER_S = 30.0
"""A submission the node no longer knows (dropped from its pool) is sent again after this long."""
MAX_ATTEMPTS = 3
"""Failed submissions of one step before the miner gives the job up."""
RECHECK_S = 10.0
SERVE_CHECK_S = 2.0
"""How often the miner looks for owners' models whose weights its node now holds."""
"""A verified result no new block mentions is looked at again after this long (its window may have closed)."""


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


DONE_WORDS = {"commit": "committed", "reveal": "revealed", "post": "posted its outputs on chain",
              "challenge": "challenge included", "flag": "flagged the items that do not open"}


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
        box: BoxKeypair | None = None,
    ) -> None:
        self.rpc = rpc
        self.box = box
        """The provider's box key pair (derived from its account key): private jobs' items are sealed to it. None:
        this miner serves public jobs only (it never sets a box key, so it is never drawn for a private job)."""
        self._genesis: bytes | None = None
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
        self._serving: set[str] = set()
        """Owner's models this provider serves (or asked to serve)."""
        self._serve_check_at = 0.0
        self._serve_refused: set[str] = set()
        self.waiting: set[int] = set()
        """Jobs whose inputs or model weights are still on their way (said once each)."""
        self.open_assignments: set[int] = set()
        """Jobs whose assignment to this provider is assigned or committed, as of the last tick."""
        self.unpublished: set[int] = set(engine.job_ids())
        """Jobs whose reveal landed (or may have, for results kept from an earlier run) and whose outputs the
        node may not hold yet."""
        self.rivals: dict[int, set[str]] = {}
        """Jobs in a redundancy dispute: the other providers whose outputs are still to be checked."""
        self._looked_at: dict[int, float] = {}
        self.watcher: EventWatcher | None = None
        self.withhold_outputs = False
        self.rebond_due = False
        """A missed-assignment fee was taken from the bond: bond back up to what registration needed (below it the
        chain assigns no more work)."""
        """Test helper: never post outputs on chain, even when they are owed (the provider is then slashed)."""

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
            if options.bond is not None and options.bond != int(p["bond"]):
                self.out(
                    f"--bond {self.btt(options.bond)} ignored: already registered with a bond of "
                    f"{self.btt(p['bond'])} (change it with `btt-chain bond --extra` or `btt-chain unbond`)"
                )
            return
        slash = max(param_value(self.rpc, "compute.fraud_slash"), param_value(self.rpc, "compute.withheld_slash"))
        minimum = max(param_value(self.rpc, "compute.min_provider_bond"), options.capacity * slash)
        target = minimum if options.bond is None else options.bond
        if target < minimum:
            raise ConfigError(
                f"--bond {self.btt(target)} is below {self.btt(minimum)}: the minimum provider bond, and one fixed "
                f"slash ({self.btt(slash)}) for each of the {options.capacity} assignments --capacity allows"
            )
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

    def ensure_box_key(self) -> None:
        """Set this provider's box key on chain unless it is set already (private jobs are drawn only among providers
        with one); a key that differs from the account's derived one is replaced (a restored or rotated key)."""
        if self.box is None:
            return
        me = decode_address(self.address)
        raw = self.rpc.call("state_getStorage", "0x" + compute_storage.box_keys.key(me).hex())
        if raw is not None and parse_hash(raw) == self.box.public.raw:
            return
        try:
            self.submit("compute.set_box_key", (self.box.public.raw,), True)
        except BttError as exc:  # a chain whose spec has no private jobs yet
            self.out(f"no box key set ({exc}): serving public jobs only")
            return
        self.out(f"box key {self.box.public.hex()[:18]}... set: private jobs' cases can be sealed to this provider")

    def genesis_hash(self) -> bytes:
        if self._genesis is None:
            self._genesis = parse_hash(self.rpc.call("chain_getBlockHash", 0))
        return self._genesis

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
                    busy = (targets & (self.open_assignments | self.unpublished)) - self.given_up
                    if not busy and not self.pending:
                        return
            time.sleep(interval)

    def tick(self) -> None:
        """One pass: settle pending submissions, report new events, serve open assignments."""
        if self.watcher is None:
            self.watcher = EventWatcher(self.rpc)
        self._check_pending()
        touched = set()
        for number, ev in self.watcher.new_events():
            if ev.get("module") == "compute" and "job_id" in ev:
                touched.add(int(ev["job_id"]))
            self._report(number, ev)
        if self.rebond_due:
            self.rebond_due = False
            self._restore_bond()
        self._serve_models()
        jobs: list[dict[str, Any]] = []
        while True:
            page = self.rpc.call("btt_jobs", "open", None, self.address, JOBS_PAGE, None,
                                 jobs[-1]["id"] if jobs else None)
            jobs += page
            if len(page) < JOBS_PAGE:
                break
        still_open = set()
        for job in jobs:
            a = next((x for x in job["assignments"] if x["provider"] == self.address), None)
            if a is None or a["state"] not in ("assigned", "committed"):
                continue
            still_open.add(job["id"])
            self._serve(job, a)
        self.open_assignments = still_open
        now = time.monotonic()
        for jid in self.engine.job_ids():
            if jid in still_open or jid in self.pending:
                continue
            # a verified result is looked at again when a block mentions its job, and every RECHECK_S anyway
            due = now - self._looked_at.get(jid, -RECHECK_S) >= RECHECK_S
            if due or jid in touched or jid in self.unpublished or self.rivals.get(jid):
                self._looked_at[jid] = now
                self._after_reveal(jid)
        self.given_up &= still_open
        self.waiting &= still_open

    def _restore_bond(self) -> None:
        """Bond back up to the minimum provider bond and one fixed slash per unit of capacity, what registration
        needed: a missed-assignment fee took the bond below it, and below it no job is assigned."""
        mine = [p for p in self.rpc.call("btt_providers", self.address) if p["registered"]]
        if not mine:
            return
        slash = max(param_value(self.rpc, "compute.fraud_slash"), param_value(self.rpc, "compute.withheld_slash"))
        needed = max(param_value(self.rpc, "compute.min_provider_bond"), int(mine[0]["capacity"]) * slash)
        short = needed - int(mine[0]["bond"])
        if short <= 0:
            return
        try:
            self.submit("bonds.bond_extra", (short,), False)
        except BttError as exc:
            self.out(f"the bond is {self.btt(short)} below what taking work needs, and bonding it failed: {exc}")
            return
        self.out(f"bonding {self.btt(short)} back after the missed-assignment fee (active bond {self.btt(needed)})")

    # serving -----------------------------------------------------------------------------------------
    def _serve_models(self) -> None:
        """Take jobs on every owner's model whose weights the node holds (`compute.serve_model`): jobs on such a
        model go only to providers that said so, so a provider is never drawn for a model it cannot get. Looked
        at every SERVE_CHECK_S."""
        now = time.monotonic()
        if now < self._serve_check_at:
            return
        self._serve_check_at = now + SERVE_CHECK_S
        me = decode_address(self.address)
        for row in self.rpc.call("btt_models"):
            if row["owner"] is None or not row["weightsHeld"] or row["hash"] in self._serving:
                continue
            model = parse_hash(row["hash"])
            try:
                built(model_spec(row))  # the weights must run here too: malformed ones are never taken on
            except (WeightsUnavailable, MalformedWeights, NotChallengeable) as exc:
                if row["hash"] not in self._serve_refused:
                    self._serve_refused.add(row["hash"])
                    self.out(f"not taking jobs on model {row['name']}: {exc}")
                continue
            key = compute_storage.model_servers.key(compute_storage.server_key(model, me))
            if self.rpc.call("state_getStorage", "0x" + key.hex()) is not None:
                self._serving.add(row["hash"])
                continue
            try:
                self.submit("compute.serve_model", (model, True), False)
            except BttError as exc:
                self.out(f"cannot take jobs on model {row['name']} yet: {exc}")
                continue
            self._serving.add(row["hash"])
            self.out(f"taking jobs on model {row['name']} (its weights are on the node)")

    def _spec(self, job: dict[str, Any]) -> JobSpec:
        model = job["model"]
        if model not in self.models:
            self.models = {row["hash"]: model_spec(row) for row in self.rpc.call("btt_models")}
        if model not in self.models:
            raise CannotServe(f"job {job['id']} names model {model}, which the node does not list")
        seed = parse_hash(job["inputSeed"]) if job["inputSeed"] else bytes(32)
        inputs = None
        private = job.get("private")
        if private is not None:
            return self._private_spec(job, private, self.models[model])
        if not job["inputSeed"]:
            fetched = fetch_inputs(self.rpc, job["id"])  # the node asks its peers when it lacks them
            if fetched is None:
                raise NotYet(f"job {job['id']}: the requester's inputs have not reached the node yet")
            inputs = tuple(fetched)
        return JobSpec(job["id"], self.models[model], seed, parse_hash(job["inputRoot"]), job["items"], inputs)

    def _private_spec(self, job: dict[str, Any], private: dict[str, Any], model: ModelSpec) -> JobSpec:
        """A private job's spec: its items sealed to this provider's key, once the clinic gave their root."""
        if self.box is None:
            raise CannotServe(f"job {job['id']} is private and this miner has no box key")
        if private["providerKey"] != self.box.public.hex():
            raise CannotServe(f"job {job['id']}'s items are sealed to another box key ({private['providerKey']})")
        if private["sealedRoot"] is None:
            raise NotYet(f"job {job['id']}: the clinic has not sealed its items to this provider yet")
        fetched = fetch_inputs(self.rpc, job["id"])
        if fetched is None:
            raise NotYet(f"job {job['id']}: the clinic's sealed items have not reached the node yet")
        spec = PrivateSpec(self.box, parse_hash(private["clinicKey"]), self.genesis_hash())
        return JobSpec(job["id"], model, bytes(32), parse_hash(private["sealedRoot"]), job["items"], tuple(fetched),
                       spec)

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
                unflagged = sorted(set(result.flagged) - set((job.get("private") or {}).get("flagged", ())))
                if unflagged:  # said before committing: the chain pays for them unless one is shown to open
                    self._submit(jid, "flag", "compute.flag_items", (jid, tuple(unflagged)),
                                 f"{len(unflagged)} items do not open with this provider's key")
                    return
                self._submit(jid, "commit", "compute.commit_result", (jid, result.commitment))
            elif a["state"] == "committed" and (a["sampleIndices"] or (job.get("private") and a["sampleSeed"])):
                indices = list(a["sampleIndices"])
                kept = self.engine.get(jid)
                if kept is None:
                    raise CannotServe(f"no result is kept for job {jid} (its data is lost): it cannot be revealed")
                self._reveal(job, kept, indices, f"opened items {indices}")
        except NotYet as exc:
            if jid not in self.waiting:
                self.waiting.add(jid)
                self.out(f"job #{jid}: waiting: {exc}")
        except CannotServe as exc:
            self.given_up.add(jid)
            self.out(f"job #{jid}: cannot serve it: {exc}; its deadline will pass")

    def _reveal(self, job: dict[str, Any], kept: PreparedResult, indices: list[int], detail: str) -> None:
        """Reveal: a public job's sampled items with their inputs; a private job's decoys with each output's secret."""
        jid = job["id"]
        if job.get("private") is not None:
            self._submit(jid, "reveal", "compute.reveal_private_result",
                         (jid, kept.output_root, kept.salt, kept.private_openings(indices)), detail)
        else:
            self._submit(jid, "reveal", "compute.reveal_result",
                         (jid, kept.output_root, kept.salt, kept.openings(indices)), detail)

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
                    self.out(f"job #{jid}: {DONE_WORDS[p.action]} in block #{status['blockNumber']}{detail}")
                    if p.action == "reveal":
                        self.unpublished.add(jid)
                else:
                    self._failed(jid, p.action, f"included but failed: {status.get('error')}")
            elif status is None and time.monotonic() - p.at > RESUBMIT_AFTER_S:
                del self.pending[jid]

    # after the reveal: publish, post when owed, settle disputes ------------------------------------------
    def _after_reveal(self, jid: int) -> None:
        """Keep a revealed result while its assignment is verified, open a late one's sample; forget the result once
        the assignment is final."""
        job = self.rpc.call("btt_job", jid)
        mine = None if job is None else next((a for a in job["assignments"] if a["provider"] == self.address), None)
        kept = self.engine.get(jid)
        if mine is not None and kept is not None and mine["state"] == "late":
            if self.failures.get((jid, "reveal"), 0) < MAX_ATTEMPTS:
                indices = list(mine["sampleIndices"])
                self._reveal(job, kept, indices, f"late, opened items {indices}")
            return
        if job is None or mine is None or kept is None or mine["state"] != "verified":
            self.engine.forget(jid)
            self.unpublished.discard(jid)
            self.rivals.pop(jid, None)
            self._looked_at.pop(jid, None)
            return
        if jid in self.unpublished:
            self._publish(jid, kept.outputs)
        if mine["outputsDueMs"] and not mine["outputsPosted"] and self.failures.get((jid, "post"), 0) < MAX_ATTEMPTS:
            if self.withhold_outputs:
                return
            self._post_outputs(job, kept, int(mine["postedItems"]), int(mine["outputsDueMs"]))
            return
        for other in sorted(self.rivals.get(jid, ())):
            if jid not in self.pending and self.failures.get((jid, "challenge"), 0) < MAX_ATTEMPTS:
                self._check_rival(job, other, kept.inputs, kept.outputs)

    def _post_outputs(self, job: dict[str, Any], kept: PreparedResult, posted: int, due_ms: int) -> None:
        """Send every chunk still missing at once, in order; chunks after the first skip the dry run (each depends
        on the one before, still in the pool). The last one is watched: all landed when it did."""
        jid = job["id"]
        chunks = output_chunks(kept, self._spec(job).model, posted)
        sent = ""
        for i, (first, items, proof) in enumerate(chunks):
            try:
                sent = self.submit("compute.post_outputs", (jid, first, items, proof), False, i > 0)
            except BttError as exc:
                if i == 0:
                    self._failed(jid, "post", str(exc))
                    return
                break
        detail = f"items {posted} to {kept.items - 1} in {len(chunks)} chunks (due by {clock(due_ms)})"
        self.pending[jid] = Pending("post", sent, time.monotonic(), detail)

    def _publish(self, jid: int, outputs: tuple[bytes, ...]) -> None:
        try:
            row = self.rpc.call("btt_submitOutputs", jid, self.address, ["0x" + o.hex() for o in outputs])
        except BttError as exc:
            n = self.failures.get((jid, "publish"), 0) + 1
            self.failures[(jid, "publish")] = n
            if n >= MAX_ATTEMPTS:
                self.unpublished.discard(jid)
            self.out(f"job #{jid}: the node did not take the outputs ({exc})"
                     + ("; giving up publishing them" if n >= MAX_ATTEMPTS else "; will try again"))
            return
        self.unpublished.discard(jid)
        self.out(f"job #{jid}: published {row['items']} outputs to the node (output root {row['outputRoot'][:18]}...)")

    def _check_rival(self, job: dict[str, Any], other: str, inputs: tuple[bytes, ...],
                     ours: tuple[bytes, ...]) -> None:
        """Challenge the first item where `other`'s outputs differ from ours and re-execution shows theirs
        wrong (where ours is the wrong one, nothing is sent)."""
        jid = job["id"]
        try:
            if assignment_of(job, other)["state"] != "verified":
                self.rivals[jid].discard(other)
                return
        except NotChallengeable:
            self.rivals[jid].discard(other)
            return
        fetched = fetch_outputs(self.rpc, jid, other)
        if fetched is None or len(fetched.outputs) != len(ours):
            return  # not published, not posted yet: try again next tick (unposted, it is slashed anyway)
        self.rivals[jid].discard(other)
        spec = self._spec(job).model
        model = built(spec)
        for i, (theirs, mine) in enumerate(zip(fetched.outputs, ours, strict=True)):
            if theirs == mine or infer(model, [inputs[i]])[0] == theirs:
                continue
            try:
                args = challenge_args(job, spec, decode_address(other), fetched, i, inputs)
            except NotChallengeable as exc:
                self.out(f"job #{jid}: not challenging {other}: {exc}")
                return
            self.out(f"job #{jid}: {other}'s item {i} does not re-execute to its output; challenging it")
            self._submit(jid, "challenge", "compute.challenge", args, f"item {i} of {other}")
            return
        self.out(f"job #{jid}: every item where {other}'s outputs differ from ours re-executes to theirs")

    # reporting ---------------------------------------------------------------------------------------
    def _report(self, number: int, ev: dict[str, Any]) -> None:
        """Say what a compute event means to this provider (`event_words`), and act on the ones that ask for it."""
        if ev.get("module") != "compute":
            return
        said = Said(ev, number, self.btt, self.address)
        name = ev["event"]
        if name == "ResultsDiffer" and self.address in (ev["provider_a"], ev["provider_b"]):
            self.rivals.setdefault(ev["job_id"], set()).add(said.other)
            self._say("rival", said)
            return
        if name == "ChallengeUpheld" and ev["challenger"] == self.address:
            self._say("rival", said)
            return
        if ev.get("provider") != self.address:
            return
        if name in ("DeadlineMissed", "AssignmentStalled", "LateRevealVerified"):
            self.rebond_due |= bool(int(ev["slashed"]))
        self._say("provider", said)

    def _say(self, party: str, said: Said) -> None:
        sentence = say(party, said)
        if sentence is not None:
            self.out(sentence)
