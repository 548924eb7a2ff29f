"""A clinic's private job driven through a node, step by step as the chain moves (issue 51): post it, seal its items
to the provider drawn and give the root, then every sealed item on chain in the same sealing window
(`compute.post_inputs`, spec 17: the provider commits only once all are there, and reads them from any node; on a
chain of spec 16 they go to the node instead, from where the provider's node fetches them), reveal the decoys once
the provider committed, and read the results sealed back to the clinic, each real
case's diagnosis beside the label the clinic's file gave it. Where a real case's output is wrong (the clinic runs the
model on its own cases), it opens that one case on chain (`compute.open_case`), which discloses it.

`tick` does at most one step per call (the sealed root and the sealed items' chunks, sent at once, are one) and returns
when the job has ended and its results are read (or cannot be). The order file (`PrivateOrder.save`) is written before
each step that needs it later; what of the sealed items is on chain is read from the chain (the job's
`inputsPosted`), so a driver resumed from the file sends only the chunks still missing.

A job whose provider failed its place the clinic posts again (`PrivateClinicLoop`), so that no provider learns from
the two jobs which items are the cases: while the decoys were never disclosed, the repost holds the very same items
(cases and decoys) in a fresh random order under a fresh commitment, so that the two jobs show the same plaintexts;
once they were (revealed on chain, where everyone reads them), the decoys are fresh, and every provider that was
handed those items knows the cases: the clinic never seals them to one of those again (the chain cannot keep a
provider out of a private job, so the clinic lets that place lapse, at the missed-assignment fee, and posts again)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from btt_chain.miner.audit import fetch_outputs, parse_hash
from btt_chain.miner.clinic import input_chunk_args, send_chunks
from btt_chain.miner.private_order import OrderError, PrivateOrder, mix, shuffled
from btt_chain.miner.watch import Output, RpcCaller, Submit
from btt_chain.primitives.address import decode_address
from btt_chain.primitives.errors import BttError
from btt_chain.primitives.merkle import merkle_levels, merkle_proof
from btt_chain.primitives.sealed_cases import BoxKeypair, BoxPublicKey, shared_key
from runtime.compute import storage as compute_storage
from runtime.compute.inference import infer
from runtime.compute.model import ModelSpec
from runtime.compute.models import built

ENDED = ("settled", "fraud", "missed", "void", "late", "stalled")
FAILED_PLACE = ("fraud", "late", "missed")
"""How a private job's one place ends without the clinic's results: the chain cannot post its cases again (they are
sealed to that provider: `reassign` skips a private job), so the clinic does, sealed to the provider drawn next."""
MAX_DECLINED = 3
"""Places the clinic lets lapse for one set of cases (each drew a provider that knows which items are the cases; each
costs the missed-assignment fee) before it gives those cases up."""
DEMAND_AFTER_S = 10.0
"""Sealed results no node serves this long after the reveal are demanded on chain."""


def ensure_clinic_key(rpc: RpcCaller, submit: Submit, address: str, keypair: BoxKeypair, out: Output) -> None:
    """Set the clinic's box key on chain unless it is set to this one already (results are sealed to it)."""
    raw = rpc.call("state_getStorage", "0x" + compute_storage.box_keys.key(decode_address(address)).hex())
    if raw is not None and parse_hash(raw) == keypair.public.raw:
        return
    submit("compute.set_box_key", (keypair.public.raw,), True)
    out(f"box key {keypair.public.hex()[:18]}... set: providers seal this clinic's results to it")


def posted_job_id(rpc: RpcCaller, xt_hash: str) -> int:
    """The id of the job the included extrinsic `xt_hash` posted (its `JobPosted` event)."""
    status = rpc.call("btt_extrinsicStatus", xt_hash)
    if not status or status.get("status") != "included" or not status.get("success"):
        raise OrderError(f"the post {xt_hash} did not land: {status}")
    for ev in rpc.call("btt_events", status["blockHash"], status["index"]):
        if ev.get("event") == "JobPosted" and ev.get("phase") == status["index"]:
            return int(ev["job_id"])
    raise OrderError(f"the post {xt_hash} landed without a JobPosted event")


@dataclass
class PrivateJobDriver:
    """Drives one private order through a node."""

    rpc: RpcCaller
    submit: Submit
    out: Output
    keypair: BoxKeypair
    order: PrivateOrder
    path: Path
    genesis: bytes
    spec: ModelSpec
    labels_of: Callable[[int], str] = str
    handed: bool = False
    revealed: bool = False
    results: list[bytes | None] | None = None
    opened: set[int] = field(default_factory=set)
    waiting_since: float | None = None
    demanded: bool = False
    done: bool = False
    ended_as: str = ""
    decline: frozenset[str] = frozenset()
    """Providers this order's items are never sealed to: they know which of them are the cases (a job of the same
    cases they held had its decoys disclosed). One drawn gets no sealed root: its place lapses (`declined`)."""
    declined: bool = False
    sealed_to: list[str] = field(default_factory=list)
    """Every provider the items were sealed to (a stalled place is drawn again within the job)."""
    disclosed: bool = False
    """The decoys were revealed on chain, or a reveal carrying them was sent: everyone may know them."""
    disclosed_cases: set[int] = field(default_factory=set)
    """Real cases opened on chain (or sent to be): public."""
    inputs_refused: str = ""
    """The last refusal of the sealed items' chunks said (a repeat is not)."""

    @property
    def job_id(self) -> int:
        if self.order.job_id is None:
            raise OrderError("the order is not posted yet")
        return self.order.job_id

    def post(self, price: int, deadline_ms: int) -> int:
        """Post the order (saved first where `path` says, then as `job-<id>.json` beside it); the job id."""
        o = self.order
        self.order.save(self.path)  # the secrets exist on disk before anything depends on them
        xt = self.submit("compute.post_private_job",
                         (o.model, len(o.items), len(o.positions), o.commitment(), price, deadline_ms), True)
        o.job_id = posted_job_id(self.rpc, xt)
        pending, self.path = self.path, self.path.parent / f"job-{o.job_id}.json"
        o.save(self.path)
        if pending != self.path:
            pending.unlink(missing_ok=True)
        self.out(f"posted private job #{o.job_id}: {len(o.items)} items ({len(o.real)} cases, {len(o.positions)} "
                 f"decoys), order kept in {self.path}")
        return o.job_id

    def tick(self) -> bool:
        """One step; True once the job has ended and what can be read of it was read."""
        if self.done:
            return True
        job = self.rpc.call("btt_job", self.job_id)
        if job is None or job.get("private") is None:
            raise OrderError(f"job {self.job_id} is not a private job on this chain")
        priv = job["private"]
        if priv.get("outcome") == "checked" or priv.get("decoyPositions"):
            self.disclosed = True
        if not job["assignments"]:
            return self._closed_unassigned(job)
        a = job["assignments"][0]
        if a["state"] == "assigned":
            self._seal(job, priv)
        elif a["state"] == "committed" and not self.revealed and priv["outcome"] == "pending":
            self._reveal(priv)
        elif a["state"] == "verified" and self.results is None:
            self._read(job, a)
        if job["status"] != "open" and a["state"] in ENDED + ("verified",):
            if self.results is None and a["outputRoot"] is not None:
                self._read(job, a)
            verified_and_read = a["state"] == "verified" and self.results is not None and not self.opened
            if a["state"] != "verified" or verified_and_read:
                # a verified result read and found right leaves the clinic nothing to do: it is paid when its
                # challenge window closes
                self.done = True
                self.ended_as = a["state"]
                after = "; the provider is paid when its challenge window closes" if verified_and_read else ""
                self.out(f"private job #{self.job_id}: {a['state']} (decoys {priv['outcome']}){after}")
        return self.done

    def _closed_unassigned(self, job: dict[str, Any]) -> bool:
        if job["status"] != "open":
            self.done = True
            self.ended_as = job["status"]
            self.out(f"private job #{self.job_id}: {job['status']} before a provider took it")
        return self.done

    def _seal(self, job: dict[str, Any], priv: dict[str, Any]) -> None:
        key = parse_hash(priv["providerKey"])
        provider = job["assignments"][0]["provider"]
        if provider in self.decline:
            if not self.declined:
                self.declined = True
                self.out(f"private job #{self.job_id}: provider {provider} was drawn, and it knows which items are the "
                         "cases (it held them in a job whose decoys were revealed): not sealing them to it; its place "
                         "lapses at the end of its commit window (the missed-assignment fee) and they are posted again")
            return
        if priv["sealedRoot"] is None:
            if self.order.provider_key != key:
                self.order.provider_key = key
                self.order.save(self.path)
                self.handed = False
            root = self.order.sealed_root(self.genesis, key)
            if provider not in self.sealed_to:  # before the root goes: from now on it may hold the items
                self.sealed_to.append(provider)
            try:
                self.submit("compute.submit_sealed_inputs", (self.job_id, root), True)
            except BttError as exc:
                self.out(f"private job #{self.job_id}: sealing not accepted yet ({exc})")
                return
            self.out(f"private job #{self.job_id}: sealed its {len(self.order.items)} items to provider "
                     f"{job['assignments'][0]['provider']} (key {priv['providerKey'][:18]}...)")
        posted = job.get("inputsPosted")
        if posted is not None:  # spec 17: the sealed items go on chain, in this sealing window
            if self.order.provider_key == key and int(posted) < len(self.order.items):
                self._post_sealed(key, int(posted), priv)
            return
        if priv["sealedRoot"] is None:
            return
        if not self.handed and self.order.provider_key == key:
            sealed = self.order.sealed(self.genesis, key)
            self.rpc.call("btt_submitJobInputs", self.job_id, ["0x" + x.hex() for x in sealed])
            self.handed = True
            self.out(f"private job #{self.job_id}: the sealed items are with the node; only the provider opens them")

    def _post_sealed(self, key: bytes, posted: int, priv: dict[str, Any]) -> None:
        """Send every chunk of the sealed items the chain does not hold yet (from item `posted` on) at once, the last
        watched into its block; a refusal is said once and the chunks are sent again at the next tick, from the
        chain's count, while the sealing window (to slot `inputsBySlot`) is open."""
        sealed = self.order.sealed(self.genesis, key)
        chunks = input_chunk_args(self.job_id, sealed, self.spec, True, posted)
        try:
            sent = send_chunks(self.submit, chunks, True)
        except BttError as exc:
            if str(exc) != self.inputs_refused:
                self.inputs_refused = str(exc)
                self.out(f"private job #{self.job_id}: its sealed items from {posted} on are not on chain yet ({exc}); "
                         f"trying again until slot {priv.get('inputsBySlot')}, when its sealing window closes")
            return
        if len(sent) == len(chunks):
            resumed = f" from item {posted} on" if posted else ""
            self.out(f"private job #{self.job_id}: its {len(sealed)} sealed items are on chain ({len(chunks)} "
                     f"chunk{'s' * (len(chunks) > 1)} sent{resumed}): only the provider opens them, and it may commit "
                     "now")

    def _reveal(self, priv: dict[str, Any]) -> None:
        key = self.order.provider_key
        if key is None:
            raise OrderError(f"job {self.job_id}: committed, but this order never sealed its items")
        openings = self.order.decoy_openings(self.genesis, key)
        self.disclosed = True  # a reveal sent is public even where it does not land
        self.submit("compute.reveal_decoys", (self.job_id, self.order.salt, openings), True)
        self.revealed = True
        self.out(f"private job #{self.job_id}: revealed its {len(openings)} decoys (positions "
                 f"{list(self.order.positions)}); every node re-seals them")

    def _read(self, job: dict[str, Any], a: dict[str, Any]) -> None:
        fetched = fetch_outputs(self.rpc, self.job_id, a["provider"])
        if fetched is None:  # the node asks its peers; a later tick finds them, or the chain once demanded
            self._demand_if_withheld(a)
            return
        self.results = self.order.read_results(self.genesis, self.keypair, fetched.outputs)
        self._report(fetched.outputs, a)

    def _demand_if_withheld(self, a: dict[str, Any]) -> None:
        """Sealed outputs no node serves `DEMAND_AFTER_S` after the reveal are demanded on chain: the provider posts
        them (still sealed) or loses the withholding slash."""
        now = time.monotonic()
        if self.waiting_since is None:
            self.waiting_since = now
        if self.demanded or a["state"] != "verified" or a["outputsDueMs"] or now - self.waiting_since < DEMAND_AFTER_S:
            return
        try:
            self.submit("compute.demand_outputs", (self.job_id, decode_address(a["provider"])), True)
        except BttError as exc:
            self.out(f"private job #{self.job_id}: demanding the outputs failed: {exc}")
            return
        self.demanded = True
        self.out(f"private job #{self.job_id}: no node serves the sealed results: demanded them on chain (the "
                 "provider posts them, still sealed, or is slashed)")

    def _report(self, sealed: Sequence[bytes], a: dict[str, Any]) -> None:
        assert self.results is not None
        real = self.order.real
        truth = infer(built(self.spec), [self.order.items[i] for i in real])
        wrong = [i for i, t in zip(real, truth, strict=True) if self.results[i] != t]
        agree = total = 0
        for i in real:
            out = self.results[i]
            label = self.order.labels[i] if i < len(self.order.labels) else None
            if out is None or label is None:
                continue
            total += 1
            agree += out[0] == label
        shown = ", ".join(f"{i}:{self.labels_of(o[0]) if o else '?'}" for i, o in
                          ((i, self.results[i]) for i in real[:8]))
        read = sum(r is not None for r in self.results)
        self.out(f"private job #{self.job_id}: read {read} of {len(self.results)} results sealed to this clinic; "
                 f"diagnoses {shown}{' ...' if len(real) > 8 else ''}"
                 + (f"; {agree} of {total} agree with the cases' labels" if total else ""))
        if wrong and a["state"] == "verified":
            self._open_case(wrong[0], sealed)

    def _open_case(self, index: int, sealed: Sequence[bytes]) -> None:
        key = self.order.provider_key
        assert key is not None
        levels_in = merkle_levels(self.order.sealed(self.genesis, key))
        levels_out = merkle_levels(list(sealed))
        args = (self.job_id, index, self.order.items[index],
                self.order.item_esk(self.genesis, index, BoxPublicKey(key)), merkle_proof(levels_in, index),
                sealed[index], shared_key(sealed[index], self.keypair), merkle_proof(levels_out, index))
        self.disclosed_cases.add(index)
        try:
            self.submit("compute.open_case", args, True)
        except BttError as exc:
            self.out(f"private job #{self.job_id}: opening case {index} failed: {exc}")
            return
        self.opened.add(index)
        self.out(f"private job #{self.job_id}: case {index}'s output was wrong; opened it on chain (the case and its "
                 "output are now public) and the provider was slashed")


def cases_of(order: PrivateOrder, leave_out: Collection[int] = ()) -> tuple[list[bytes], list[int | None]]:
    """An order's real cases and their labels (its decoys and the items `leave_out` left out), in order."""
    labels = order.labels or [None] * len(order.items)
    keep = [i for i in order.real if i not in leave_out]
    return [order.items[i] for i in keep], [labels[i] for i in keep]


@dataclass
class PrivateClinicLoop:
    """The demo clinic of private jobs: one job at a time, each of `cases` from `next_cases` and `decoys` decoys,
    driven to its end (`PrivateJobDriver`), then the next; with `count`, that many and exit. A job whose provider
    failed it is posted again (`again`: the module docstring says how)."""

    rpc: RpcCaller
    submit: Submit
    out: Output
    keypair: BoxKeypair
    genesis: bytes
    spec: ModelSpec
    model: bytes
    price: int
    deadline_ms: int
    order_dir: Path
    next_cases: Callable[[int], tuple[list[bytes], list[int | None]]]
    next_decoys: Callable[[list[bytes], list[int | None], int], tuple[list[bytes], list[int | None]]]
    cases: int
    decoys: int
    labels_of: Callable[[int], str] = str
    driver: PrivateJobDriver | None = None
    finished: int = 0
    informed: set[str] = field(default_factory=set)
    """Providers that know which items of the current cases are the cases: never sealed to again."""
    holding: set[str] = field(default_factory=set)
    """Providers handed the current items (the current cases and decoys) whose decoys were never disclosed."""
    declined: int = 0
    """Places let lapse for the current cases (`MAX_DECLINED`)."""
    pending: PrivateOrder | None = None
    """The failed job's cases to post next (`again`), kept until the post lands."""
    public: set[bytes] = field(default_factory=set)
    """Decoys of the current cases revealed on chain: never posted beside them again."""

    def start(self, again: PrivateOrder | None = None) -> PrivateJobDriver:
        """Post the next order: `again` (a failed job's cases, as `again` made it) or fresh cases with fresh decoys."""
        if again is None:
            cases, labels = self.next_cases(self.cases)
            decoys, decoy_labels = self.next_decoys(cases, labels, self.decoys)
            order = mix(self.model, cases, decoys, labels, decoy_labels)
        else:
            order = again
        driver = PrivateJobDriver(self.rpc, self.submit, self.out, self.keypair, order,
                                  self.order_dir / f"pending-{order.salt.hex()[:16]}.json", self.genesis, self.spec,
                                  self.labels_of, decline=frozenset(self.informed))
        driver.post(self.price, self.deadline_ms)
        return driver

    def _forget(self) -> None:
        self.informed, self.holding, self.declined, self.public = set(), set(), 0, set()

    def again(self, ended: PrivateJobDriver) -> PrivateOrder | None:
        """What to post after `ended`'s job: its cases again where its provider failed its place (or the clinic let
        the place of a provider that knew them lapse), else None (the next cases).

        Never the same cases beside fresh decoys while the old ones were not revealed: a provider that saw both jobs
        (or two that talk) would take the items common to both for the cases. While its decoys were never disclosed,
        the very same items in a fresh order (`shuffled`): both jobs show the same plaintexts. Once they were (they are
        on chain for everyone), fresh decoys, never one of those revealed, and the providers that held the items join
        `informed`. Cases opened on chain (public) are left out."""
        failed = ended.ended_as in FAILED_PLACE
        lapsed = ended.declined and not failed
        if not failed and not lapsed:
            self._forget()
            return None
        job = f"private job #{ended.job_id}"
        self.holding.update(ended.sealed_to)
        self.declined += lapsed
        if self.declined > MAX_DECLINED:
            self.out(f"{job}: {self.declined} providers drawn for these cases knew which items are the cases; giving "
                     "them up (posting them again would keep paying the missed-assignment fee)")
            self._forget()
            return None
        why = f"its provider failed it ({ended.ended_as})" if failed else "its place lapsed"
        if not ended.disclosed:
            self.out(f"{job}: {why}; posting the same cases again with the same decoys in a fresh order (they were "
                     "never revealed: no provider can tell the cases from them by comparing the jobs), sealed to the "
                     "provider drawn next")
            return shuffled(ended.order)
        self.informed |= self.holding
        self.holding = set()
        self.public.update(ended.order.items[p] for p in ended.order.positions)
        cases, labels = cases_of(ended.order, ended.disclosed_cases)
        if not cases:
            self.out(f"{job}: {why}; its one case was opened on chain: nothing left to post again")
            self._forget()
            return None
        decoys, decoy_labels = self.next_decoys(cases, labels, self.decoys)
        if self.public.intersection(decoys):  # they would point the cases out to anyone reading the chain
            self.out(f"{job}: {why}; the decoys at hand were revealed on chain already: not posting these cases "
                     "again (give fresh decoys)")
            self._forget()
            return None
        self.out(f"{job}: {why}; posting the same cases again with fresh decoys (its decoys were revealed on chain) "
                 f"in a fresh order, sealed to the provider drawn next but never to the {len(self.informed)} that "
                 "held them (they know which items are the cases; the chain cannot keep them out of the draw)")
        return shuffled(mix(self.model, cases, decoys, labels, decoy_labels))

    def run(self, should_stop: Callable[[], bool], interval: float, count: int | None = None) -> None:
        while not should_stop():
            try:
                if self.driver is None or self.driver.done:
                    if self.driver is not None:
                        self.pending = self.again(self.driver)
                        if self.pending is None:
                            self.finished += 1
                        self.driver = None
                    if count is not None and self.finished >= count:
                        return
                    self.driver = self.start(self.pending)  # a post that fails is tried again, the same order
                    self.pending = None
                else:
                    self.driver.tick()
            except BttError as exc:
                self.out(f"clinic: {exc}; trying again")
            time.sleep(interval)
