"""The demo clinic: posts jobs as fast as the providers take them (and no faster than `--every`), and reports how
each one settles.

With a `CaseBook` (the held-out cases a trained model's owner published) every job carries real cases: the
clinic posts their Merkle root, then the cases themselves on chain (`compute.post_inputs`, in the chain's chunks,
sent at once as the job's post lands; from spec 17 a job is drawn for no provider before all its inputs are on chain,
and every node serves them from there), and reports each result's outputs decoded into class labels beside the
cases' recorded diagnoses. A chunk that fails or is dropped is sent again from what the chain holds. It also hands the
cases to its node (`btt_submitJobInputs`): the node's copy outlives the chain's, which leaves the state once no
result of the job can be challenged; on a chain of spec 16 (nothing owed on chain: the job's `inputsPosted` is null)
that copy is the only one, from where the assigned provider's node fetches them. Without one, a job is synthetic: its
inputs are SHAKE-256(seed, index) (`runtime.compute.inputs`), the clinic sends only the seed and the chain derives the
input root.

Once a provider's sample is verified, the clinic fetches that provider's full outputs from its node
(`btt_jobOutputs`), re-executes every item and, if one is wrong, challenges it (`compute.challenge`) while
the challenge window is open. Outputs it cannot fetch within `demand_after_s` it demands on chain
(`compute.demand_outputs`): the provider must post them or be slashed.

The pacing rule (`hold_reason`), read from the chain before each post: the clinic posts only when no post of its
own is on its way into a block, none of its open jobs still waits for a provider (so it posts as fast as the
providers take its jobs, and a provider that frees a slot finds one waiting), it holds fewer open jobs than
`compute.max_open_jobs_per_requester`, and the market has room for a job of its price (`btt_jobTerms`). A post the
chain refuses anyway is logged once, and the next try waits twice as long as the one before (from `--every`, up
to `BACKOFF_MAX_S`) until a post lands again.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from btt_chain.miner.audit import (
    NotChallengeable,
    assignment_of,
    audit_outputs,
    challenge_args,
    fetch_outputs,
    job_model,
    true_outputs,
)
from btt_chain.miner.cases import CaseBook, agreement
from btt_chain.miner.event_words import Said, say
from btt_chain.miner.watch import EventWatcher, Output, RpcCaller, Submit, btt
from btt_chain.primitives.address import decode_address
from btt_chain.primitives.errors import BttError, ConfigError
from btt_chain.primitives.hashing import ZERO_HASH, merkle_root
from btt_chain.primitives.merkle import merkle_levels, merkle_range_proof
from runtime.compute.model import ModelSpec
from runtime.compute.posted_inputs import input_chunk_plan

DROPPED_AFTER_S = 30.0
"""A post the node no longer knows after this long is counted as dropped."""
DEMAND_AFTER_S = 5.0
"""Outputs of a verified result that no node serves after this long are demanded on chain."""
MAX_WAITING = 1
"""Open jobs of the clinic's own that may wait for a provider at once: one, so a provider that frees a slot finds
work, and the clinic posts no faster than the providers take its jobs."""
BACKOFF_MAX_S = 300.0
"""The longest wait before the next try after refused posts (the wait doubles with each refusal in a row)."""
JOBS_PAGE = 50
"""Jobs per `btt_jobs` call (the most it answers)."""
INPUT_TRIES = 5
"""Times the clinic sends a job's missing input chunks before it gives that job's inputs up."""


@dataclass
class OutputsCheck:
    """A verified result of one of the clinic's jobs whose outputs are still to be checked."""

    job_id: int
    provider: str
    since: float
    demanded: bool = False


@dataclass
class InputsOwed:
    """A job of the clinic's own cases whose inputs it is putting on chain (spec 17)."""

    inputs: tuple[bytes, ...]
    spec: ModelSpec
    sent: dict[str, float] = field(default_factory=dict)
    """Chunks sent and not yet seen in a block, by extrinsic hash, with when they were sent."""
    tries: int = 0
    """Times the missing chunks were sent."""


def input_chunk_args(job_id: int, items: Sequence[bytes], spec: ModelSpec, sealed: bool = False,
                     posted: int = 0) -> list[tuple[Any, ...]]:
    """`compute.post_inputs`'s arguments for every chunk of a job's input items (a private job's sealed to its
    provider) from item `posted` on (what the chain holds already), cut as the chain's plan cuts them, each with its
    range proof to the root over all the items."""
    levels = merkle_levels(list(items))
    return [(job_id, first, tuple(items[first:first + n]), merkle_range_proof(levels, first, n))
            for first, n in input_chunk_plan(spec, len(items), sealed) if first + n > posted]


def send_chunks(submit: Submit, chunks: Sequence[tuple[Any, ...]], wait_last: bool) -> list[str]:
    """Send `compute.post_inputs` chunks at once, in order: the first dry-run against the head, the rest not (each
    follows the one before, still in the pool); `wait_last`: the last is watched into its block (all landed when it
    did). The hashes sent; a refusal of the first raises, of a later one ends the sending (the chain's count says
    where to go on)."""
    sent: list[str] = []
    for i, args in enumerate(chunks):
        last = i == len(chunks) - 1
        try:
            sent.append(submit("compute.post_inputs", args, wait_last and last, i > 0))
        except BttError:
            if i == 0 or (wait_last and last):
                raise
            break
    return sent


@dataclass(frozen=True)
class JobTerms:
    model: bytes
    model_name: str
    items: int
    price: int
    redundancy: int = 1
    deadline_ms: int = 180_000


def default_deadline_ms(rpc: RpcCaller, model: bytes, items: int, redundancy: int, decoys: int = 0) -> int:
    """A deadline with room to spare: twice the shortest the chain accepts now (`btt_jobTerms`; for a private job of
    `decoys` decoys, its own), within its longest."""
    terms = rpc.call("btt_jobTerms", "0x" + model.hex(), items, redundancy, None, decoys) if decoys else \
        rpc.call("btt_jobTerms", "0x" + model.hex(), items, redundancy)
    return min(int(terms["maxDeadlineMs"]), 2 * int(terms["minDeadlineMs"]))


def resolve_model(rpc: RpcCaller, name: str) -> tuple[bytes, str]:
    """A registered model's (hash, name) by name or by 0x hash."""
    rows = rpc.call("btt_models")
    for row in rows:
        if name in (row["name"], row["hash"]):
            return bytes.fromhex(row["hash"][2:]), row["name"]
    known = ", ".join(r["name"] for r in rows) or "none"
    raise ConfigError(f"no model {name!r} is registered on this chain (registered: {known})")


def parse_seed(text: str) -> bytes:
    """`random`, or 32 bytes of hex (with or without 0x); never the zero hash (that means "not synthetic")."""
    if text == "random":
        return secrets.token_bytes(32)
    raw = text[2:] if text.startswith(("0x", "0X")) else text
    try:
        seed = bytes.fromhex(raw)
    except ValueError:
        raise ConfigError(f"--seed {text!r} is not hex: give 64 hex digits or `random`") from None
    if len(seed) != 32:
        raise ConfigError(f"--seed must be 32 bytes (64 hex digits), got {len(seed)}")
    if seed == ZERO_HASH:
        raise ConfigError("--seed must not be all zeros (a zero seed means the job is not synthetic)")
    return seed


@dataclass(frozen=True)
class MarketView:
    """What the clinic reads before a post, at one head: its own open jobs and the market's room (`btt_jobTerms`)."""

    held: int
    """This clinic's open jobs (counted up to `max_held`)."""
    waiting: tuple[int, ...]
    """Of them, the jobs with a provider still to be assigned."""
    max_held: int
    """`compute.max_open_jobs_per_requester`."""
    open_jobs: int
    """Open jobs on the chain, everyone's."""
    max_open_jobs: int
    """`compute.max_open_jobs`."""
    price: int
    """What the clinic's job pays in all, in base units."""
    cheapest_price: int | None
    """What the cheapest job no provider has committed to pays in all (a job paying more takes its place), or
    None."""
    spendable: int | None = None
    """The clinic's spendable balance (None: not looked at)."""
    needed: int = 0
    """What a post reserves now: the price and the place's rent deposit (`btt_jobTerms` placeRent)."""
    budget_left: int | None = None
    """What is left of the clinic's budget (`--budget`: the prices and rent of its posts), or None."""


@dataclass(frozen=True)
class Hold:
    """Why the clinic does not post now."""

    kind: str
    """`in flight`, `waiting`, `at most` or `market full`: the last two are logged once, the first two never."""
    text: str


ROUTINE_HOLDS = frozenset({"in flight", "waiting"})
"""Holds of the pacing's ordinary rhythm: not worth a line."""


def hold_reason(view: MarketView, in_flight: int) -> Hold | None:
    """The pacing rule: why the clinic must not post now, or None if it may."""
    if in_flight:
        return Hold("in flight", "a post of this clinic is on its way into a block")
    if view.held >= view.max_held:
        return Hold("at most", f"this clinic holds {view.held} open jobs, the most one requester may "
                               f"({view.max_held}); the next post waits for one to close")
    if view.budget_left is not None and view.budget_left < view.needed:
        return Hold("budget", f"this clinic's budget has {view.budget_left} base units left and a post reserves "
                              f"{view.needed} (the price and the place's rent deposit); it posts no more")
    if view.spendable is not None and view.spendable < view.needed:
        return Hold("low balance", f"a post reserves {view.needed} base units (the price and the place's rent "
                                   f"deposit) and the account can spend {view.spendable}; top it up")
    if len(view.waiting) >= MAX_WAITING:
        return Hold("waiting", f"job #{view.waiting[0]} still waits for a provider")
    if view.open_jobs >= view.max_open_jobs and (view.cheapest_price is None or view.price <= view.cheapest_price):
        return Hold("market full", f"the chain holds the most open jobs it may ({view.max_open_jobs}) and none this "
                                   "clinic's job outbids; the next post waits for room")
    return None


def refusal_name(text: str) -> str:
    """The module error a refusal names (`compute.TooManyOpenJobs`), or the whole text: refusals of one name are
    logged once in a row."""
    found = re.search(r"\b[a-z_]+\.[A-Z][A-Za-z]+\b", text)
    return found.group(0) if found else text


def post_args(terms: JobTerms, seed: bytes) -> tuple[Any, ...]:
    """Arguments of `compute.post_job` for a synthetic job (input root left to the chain)."""
    return (terms.model, ZERO_HASH, seed, terms.items, terms.price, terms.redundancy, terms.deadline_ms)


def case_args(terms: JobTerms, inputs: Sequence[bytes]) -> tuple[Any, ...]:
    """Arguments of `compute.post_job` for a job of real cases: their Merkle root, no seed."""
    return (terms.model, merkle_root(list(inputs)), ZERO_HASH, len(inputs), terms.price, terms.redundancy,
            terms.deadline_ms)


class ClinicLoop:
    """Posts jobs as the pacing rule allows and follows their outcome through the block events."""

    def __init__(
        self,
        rpc: RpcCaller,
        address: str,
        terms: JobTerms,
        submit: Submit,
        out: Output,
        decimals: int = 18,
        symbol: str = "BTT",
        seed_source: Callable[[], bytes] = lambda: secrets.token_bytes(32),
        demand_after_s: float = DEMAND_AFTER_S,
        cases: CaseBook | None = None,
        every_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        budget: int | None = None,
    ) -> None:
        self.rpc = rpc
        self.address = address
        self.terms = terms
        self.submit = submit
        self.out = out
        self.decimals = decimals
        self.symbol = symbol
        self.seed_source = seed_source
        self.mine: set[int] = set()
        """Jobs of this clinic that have not closed yet."""
        self.posted = 0
        self.in_flight: dict[str, float] = {}
        """Submitted post_job extrinsics not yet seen in a block, with when they were sent."""
        self.watcher: EventWatcher | None = None
        self.demand_after_s = demand_after_s
        self.checks: dict[tuple[int, str], OutputsCheck] = {}
        """Verified results of this clinic's jobs whose outputs are not checked yet."""
        self.settling: set[int] = set()
        """Jobs of this clinic with results in their challenge window (reported until they are final)."""
        self._ended: set[int] = set()
        """Settling jobs where an assignment just became final: look whether any is still verified."""
        self.cases = cases
        self._next_case = 0
        self._unposted: dict[bytes, list[tuple[tuple[bytes, ...], tuple[int, ...]]]] = {}
        """Case batches sent in a post not yet seen in a block, by input root."""
        self.batches: dict[int, tuple[tuple[bytes, ...], tuple[int, ...]]] = {}
        """This clinic's jobs of real cases: their inputs and true labels."""
        self.owing: dict[int, InputsOwed] = {}
        """This clinic's jobs of real cases whose inputs are not all on chain yet (spec 17)."""
        self.every_s = every_s
        """The shortest time between two posts."""
        self.clock = clock
        self.next_post_at = clock()
        self._gate_head = -1
        """The head at which the pacing rule was last looked at (not again before the next block)."""
        self.hold: Hold | None = None
        """What held the last post back, if anything."""
        self._said: set[str] = set()
        """Kinds of hold already logged (each once)."""
        self.refused = 0
        """Posts the chain refused (dry run or block), in all."""
        self.budget = budget
        """The most this clinic may spend on its posts in all (prices and rent), or None."""
        self.spent = 0
        """What its landed posts cost: their prices (`JobPosted`) and the rent burned (`PlaceRentPaid`)."""
        self.refused_in_row = 0
        self._refusal: str | None = None
        """The name of the last refusal logged (a repeat in a row is not)."""

    def btt(self, amount: int | str) -> str:
        return btt(amount, self.decimals, self.symbol)

    def post(self) -> str:
        if self.watcher is None:
            self.watcher = EventWatcher(self.rpc)
        if self.cases is None:
            args = post_args(self.terms, self.seed_source())
        else:
            inputs, labels = self.cases.batch(self._next_case, self.terms.items)
            self._next_case += self.terms.items
            args = case_args(self.terms, inputs)
            self._unposted.setdefault(args[1], []).append((inputs, labels))
        xt_hash = self.submit("compute.post_job", args, False)
        self.posted += 1
        self.in_flight[xt_hash] = self.clock()
        return xt_hash

    def run(self, should_stop: Callable[[], bool], every_s: float, count: int | None = None,
            interval: float = 0.5) -> None:
        """Post jobs as the pacing rule allows, at most one every `every_s` seconds (`count` of them, or until
        stopped), reporting outcomes."""
        self.every_s = every_s
        down = False
        while not should_stop():
            try:
                self.tick(count)
                down = False
            except (BttError, OSError) as exc:
                if not down:
                    self.out(f"cannot read the chain: {exc}; retrying")
                    down = True
            if (count is not None and self.posted >= count and not self.in_flight and not self.mine
                    and not self.checks):
                return
            time.sleep(interval)

    def tick(self, count: int | None = None) -> None:
        """Report what the new blocks did; then post if it is time and the pacing rule allows it (looked at once a
        block while it holds the post back). A read that fails raises; a post the chain refuses does not."""
        self.report()
        if (count is not None and self.posted >= count) or self.clock() < self.next_post_at:
            return
        assert self.watcher is not None
        head = self.watcher.last
        if head == self._gate_head:
            return
        self._gate_head = head
        hold = hold_reason(self.market_view(), len(self.in_flight))
        if hold is not None and hold.kind not in ROUTINE_HOLDS and hold.kind not in self._said:
            self._said.add(hold.kind)
            self.out(f"not posting: {hold.text} (said once: the clinic keeps to this bound from now on)")
        self.hold = hold
        if hold is not None:
            return
        try:
            self.post()
        except BttError as exc:
            self._refused(str(exc))
            return
        self.next_post_at = self.clock() + self.every_s

    def market_view(self) -> MarketView:
        """This clinic's open jobs and the market's room, read at the head."""
        at = self.rpc.call("chain_getBlockHash")
        terms = self.rpc.call("btt_jobTerms", "0x" + self.terms.model.hex(), self.terms.items, self.terms.redundancy,
                              at)
        max_held = int(terms["maxOpenJobsPerRequester"])
        jobs: list[dict[str, Any]] = []
        while len(jobs) < max_held:
            page = self.rpc.call("btt_jobs", "open", self.address, None, JOBS_PAGE, at,
                                 jobs[-1]["id"] if jobs else None)
            jobs += page
            if len(page) < JOBS_PAGE:
                break
        cheapest = terms.get("cheapestEvictable")
        spendable = int(self.rpc.call("btt_account", self.address, at)["spendable"])
        needed = self.terms.price + int(terms["placeRent"]["deposit"])
        return MarketView(
            held=len(jobs),
            waiting=tuple(sorted(j["id"] for j in jobs if j["unassigned"] > 0)),
            max_held=max_held,
            open_jobs=int(terms["openJobs"]),
            max_open_jobs=int(terms["maxOpenJobs"]),
            price=self.terms.price,
            cheapest_price=None if cheapest is None else int(cheapest["price"]),
            spendable=spendable,
            needed=needed,
            budget_left=None if self.budget is None else self.budget - self.spent,
        )

    def _refused(self, text: str) -> None:
        """The chain refused a post: wait twice as long as after the last refusal; say so once per kind in a row."""
        self.refused += 1
        self.refused_in_row += 1
        wait = min(BACKOFF_MAX_S, self.every_s * 2 ** self.refused_in_row)
        self.next_post_at = self.clock() + wait
        name = refusal_name(text)
        if name != self._refusal:
            self._refusal = name
            self.out(f"a post was refused: {text}; the next try waits {wait:.0f} s, twice as long after each "
                     f"refusal in a row (at most {BACKOFF_MAX_S:.0f} s); repeats of {name} are not logged")

    def _landed(self) -> None:
        """A post of this clinic's landed: the back-off is over."""
        if self.refused_in_row:
            self.out(f"posting again after {self.refused_in_row} refused posts in a row")
        self.refused_in_row = 0
        self._refusal = None

    def report(self) -> None:
        """Report what the blocks since the last call did to this clinic's jobs."""
        if self.watcher is None:
            self.watcher = EventWatcher(self.rpc)
        for xt_hash, at in list(self.in_flight.items()):
            status = self.rpc.call("btt_extrinsicStatus", xt_hash)
            if status is not None and status.get("status") == "included":
                del self.in_flight[xt_hash]
                if not status.get("success"):
                    self.posted -= 1
                    self._refused(f"the post failed in block #{status['blockNumber']}: {status.get('error')}")
            elif status is None and self.clock() - at > DROPPED_AFTER_S:
                del self.in_flight[xt_hash]
                self.out(f"a job post ({xt_hash}) was dropped by the node")
        for number, ev in self.watcher.new_events():
            self._report(number, ev)
        for jid in list(self.owing):
            self._follow_inputs(jid)
        for key in list(self.checks):
            self._check_outputs(self.checks[key])
        for jid in list(self.settling - self.mine):
            if not any(k[0] == jid for k in self.checks) and jid in self._ended:
                self._ended.discard(jid)
                job = self.rpc.call("btt_job", jid)
                if job is None or all(a["state"] != "verified" for a in job["assignments"]):
                    self.settling.discard(jid)
                    self.batches.pop(jid, None)

    # checking outputs --------------------------------------------------------------------------------
    def _check_outputs(self, check: OutputsCheck) -> None:
        """Fetch, re-execute, challenge a wrong item; demand outputs nobody serves. Done: dropped from checks."""
        jid, who = check.job_id, check.provider
        job = self.rpc.call("btt_job", jid)
        try:
            a = assignment_of(job, who) if job is not None else None
        except NotChallengeable:
            a = None
        if a is None or a["state"] != "verified":
            self.checks.pop((jid, who), None)
            return
        fetched = fetch_outputs(self.rpc, jid, who)
        if fetched is None:
            waited = self.clock() - check.since
            if not check.demanded and not a["outputsDueMs"] and waited >= self.demand_after_s:
                check.demanded = True
                self.submit("compute.demand_outputs", (jid, decode_address(who)), False)
                self.out(f"job #{jid}: no node serves the outputs of {who} after {waited:.0f} s; demanded them on "
                         "chain")
            return
        self.checks.pop((jid, who), None)
        batch = self.batches.get(jid)
        given = None if batch is None else batch[0]
        try:
            spec = job_model(self.rpc, job)
            result = audit_outputs(job, spec, fetched, true_outputs(job, spec, given))
            if result.ok:
                self.out(f"job #{jid}: checked the outputs of {who}: all {result.items} items re-execute correctly")
                if batch is not None and self.cases is not None:
                    ag = agreement(fetched.outputs, batch[1])
                    self.out(f"job #{jid}: {who} read {len(batch[1])} real cases: {ag.summary(self.cases)}; "
                             f"{self.cases.stated()}")
                return
            if not result.root_ok:
                self.out(f"job #{jid}: the outputs served for {who} do not give its output root")
                return
            item = result.wrong[0]
            args = challenge_args(job, spec, decode_address(who), fetched, item, given)
        except NotChallengeable as exc:
            self.out(f"job #{jid}: cannot check the outputs of {who}: {exc}")
            return
        self.submit("compute.challenge", args, False)
        self.out(f"job #{jid}: {len(result.wrong)} of {result.items} outputs of {who} are WRONG (item {item} first); "
                 f"challenged item {item}")

    def _hand_over_cases(self, jid: int) -> str:
        """For a job of real cases: put its cases on chain (spec 17: the job is drawn once they all are), or on a
        chain that owes none there give them to the node (the provider's node fetches them from there)."""
        if self.cases is None:
            return "synthetic items"
        job = self.rpc.call("btt_job", jid)
        root = bytes.fromhex(job["inputRoot"][2:]) if job else b""
        waiting = self._unposted.get(root)
        if not waiting:
            return "items (not posted by this run: its cases are not at hand)"
        inputs, labels = waiting.pop(0)
        if not waiting:
            del self._unposted[root]
        self.batches[jid] = (inputs, labels)
        posted = job.get("inputsPosted")
        if posted is not None:  # spec 17: on chain, or no provider is drawn
            self.owing[jid] = InputsOwed(tuple(inputs), job_model(self.rpc, job))
            self._send_inputs(jid, int(posted))
        try:  # the node keeps a copy past the job's end (the chain drops them once no result can be challenged)
            self.rpc.call("btt_submitJobInputs", jid, ["0x" + x.hex() for x in inputs])
        except BttError as exc:
            if posted is None:  # the node is where the provider gets them: not handed over is not done
                raise
            self.out(f"job #{jid}: the node keeps no copy of its cases ({exc}); the chain holds them")
        if posted is None:
            return "real held-out cases"
        return "real held-out cases (being put on chain: the job is drawn once they all are)"

    def _send_inputs(self, jid: int, posted: int) -> None:
        """Send every chunk of the job's inputs the chain does not hold yet (from item `posted` on), at once."""
        owed = self.owing[jid]
        owed.tries += 1
        chunks = input_chunk_args(jid, owed.inputs, owed.spec, False, posted)
        try:
            sent = send_chunks(self.submit, chunks, False)
        except BttError as exc:
            self.out(f"job #{jid}: its input items from {posted} on were not sent: {exc}")
            return
        now = self.clock()
        owed.sent.update((h, now) for h in sent)

    def _follow_inputs(self, jid: int) -> None:
        """Once no chunk of the job is on its way, read what the chain holds: all there (say so), the job gone, or
        send what is missing again (at most `INPUT_TRIES` times)."""
        owed = self.owing[jid]
        for xt_hash, at in list(owed.sent.items()):
            status = self.rpc.call("btt_extrinsicStatus", xt_hash)
            if status is not None and status.get("status") == "included":
                del owed.sent[xt_hash]
            elif status is None and self.clock() - at > DROPPED_AFTER_S:
                del owed.sent[xt_hash]
        if owed.sent:
            return
        job = self.rpc.call("btt_job", jid)
        posted = None if job is None or job["status"] != "open" else job.get("inputsPosted")
        if posted is None:  # the job closed (or owes nothing on chain)
            del self.owing[jid]
            return
        items = len(owed.inputs)
        if int(posted) >= items:
            del self.owing[jid]
            chunks = len(input_chunk_plan(owed.spec, items))
            self.out(f"job #{jid}: its {items} input items are on chain ({chunks} chunk{'s' * (chunks > 1)}): "
                     "every node serves them, and a provider may be drawn for it")
            return
        if owed.tries >= INPUT_TRIES:
            del self.owing[jid]
            self.out(f"job #{jid}: {posted} of its {items} input items are on chain after {owed.tries} tries; giving "
                     "up (no provider is drawn for it: it waits until evicted, its deadline passes or it is cancelled)")
            return
        self._send_inputs(jid, int(posted))

    def _report(self, number: int, ev: dict[str, Any]) -> None:
        """Say what a compute event means to this clinic (`event_words`), and keep its books by it."""
        if ev.get("module") != "compute":
            return
        name = ev["event"]
        jid = int(ev.get("job_id", -1))
        if name == "RequesterLowBalance":
            if ev.get("who") == self.address:
                self._say(Said(ev, number, self.btt, self.address))
            return
        if name == "JobPosted":
            if ev.get("requester") == self.address:
                self.spent += int(ev["price"])
                self.mine.add(jid)
                self._landed()
                kind = self._hand_over_cases(jid)
                self.out(
                    f"posted job #{jid} in block #{number}: {ev['items']} {kind} of {self.terms.model_name}, "
                    f"price {self.btt(ev['price'])} escrowed"
                )
            return
        if jid not in self.mine and jid not in self.settling:
            return
        if name in ("JobReceipt", "ChallengeUpheld", "OutputsWithheld", "ResultVoided", "FraudDetected"):
            self._ended.add(jid)
        if name == "SampleVerified":
            self.settling.add(jid)
            self.checks[(jid, ev["provider"])] = OutputsCheck(jid, ev["provider"], self.clock())
            return  # said once its outputs are checked
        if name == "PlaceRentPaid":
            self.spent += int(ev["burned"])
        elif name == "JobClosed":
            self.mine.discard(jid)
            if jid not in self.settling:
                self.batches.pop(jid, None)
        self._say(Said(ev, number, self.btt, self.address))

    def _say(self, said: Said) -> None:
        sentence = say("requester", said)
        if sentence is not None:
            self.out(sentence)
