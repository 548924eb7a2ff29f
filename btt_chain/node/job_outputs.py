"""Job outputs on the node: accepted only when they are a revealed result on chain, served with Merkle paths.

A provider reveals only its output root on chain; the outputs themselves reach the requester (and any
challenger) through nodes. A node keeps a provider's outputs only if their Merkle root is that provider's
revealed output root for the job, each item has the model's output width and there is one per item, so
nobody can fill the store with junk: each (job, provider) has exactly one acceptable set. The store is
bounded (`storage.outputs`); when it is full, the entries whose assignment has left its challenge window
are dropped to make room (a set still open to challenges is never dropped for another). Outputs the
provider posted on chain (`compute.posted_chunks`) are served too, and so are a requester's job's inputs
once all of them are on chain (`compute.post_inputs`, spec 17: a private job's sealed to its provider).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from btt_chain.primitives.errors import BttError
from btt_chain.primitives.hashing import ZERO_HASH, merkle_root
from btt_chain.primitives.merkle import merkle_levels, merkle_proof
from runtime.compute import posted_inputs
from runtime.compute import storage as compute
from runtime.compute.inputs import synthetic_inputs
from runtime.compute.model import input_bytes, output_bytes
from runtime.compute.types import JOB_OPEN, MAX_JOB_ITEMS, SEAL_BYTES, VERIFIED, Assignment, Job
from runtime.overlay import Overlay
from storage.kv import KeyValueStore
from storage.outputs import DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, OutputsStore, OutputsStoreFull

SOURCE_NODE = "node"
SOURCE_CHAIN = "chain"
INPUTS = b"\xff" * 32
"""The store's key, in place of a provider, for a requester's job's input items (no account is all 0xff: an
ed25519 key of that encoding is not a valid point)."""


class OutputsRejected(BttError):
    """The outputs are not the provider's revealed result for this job (or the node cannot keep them)."""


class OutputsNotKept(OutputsRejected):
    """The outputs are valid, but the node's outputs store is full of sets still open to challenges."""


class StateSource(Protocol):
    def state(self) -> Overlay: ...


@dataclass(frozen=True)
class FoundOutputs:
    job: Job
    assignment: Assignment
    outputs: tuple[bytes, ...]
    source: str
    """`node` (this node's store) or `chain` (posted on chain with `compute.post_outputs`)."""

    @property
    def root(self) -> bytes:
        return self.assignment.output_root


@dataclass(frozen=True)
class ItemOpening:
    """One item of a result with its Merkle paths (the input only where the node can produce it)."""

    index: int
    output: bytes
    output_proof: tuple[bytes, ...]
    input: bytes | None
    input_proof: tuple[bytes, ...] | None


def revealed_assignment(state: Overlay, job_id: int, provider: bytes) -> tuple[Job, Assignment]:
    """The job and the provider's assignment, if it has revealed an output root; OutputsRejected otherwise."""
    job = compute.jobs.get(state, job_id)
    if job is None:
        raise OutputsRejected(f"no job {job_id} on this chain")
    idx = job.assignment_of(provider)
    if idx is None:
        raise OutputsRejected(f"0x{provider.hex()} holds no assignment of job {job_id}")
    a = job.assignments[idx]
    if a.output_root == ZERO_HASH:
        raise OutputsRejected(f"the provider has not revealed an output root for job {job_id} yet")
    return job, a


def is_private(state: Overlay, job_id: int) -> bool:
    return compute.private_jobs.get(state, job_id) is not None


def input_root_of(state: Overlay, job: Job) -> bytes:
    """The root a requester's job's input items are checked against: its input root, or for a private job the root
    over its items sealed to its provider (zero until the clinic gave it)."""
    rec = compute.private_jobs.get(state, job.id)
    return job.input_root if rec is None else rec.sealed_root


def _check_items(state: Overlay, job: Job, kind: str, items: Sequence[bytes]) -> None:
    """`items` are one `kind` ("input" or "output") item per item of `job`, each of the model's width (for a private
    job, sealed: 48 bytes more)."""
    if len(items) != job.items:
        raise OutputsRejected(f"job {job.id} has {job.items} {kind} items, got {len(items)}")
    reg = compute.models.get(state, job.model)
    if reg is None:
        raise OutputsRejected(f"job {job.id} names a model this chain does not hold")
    width = input_bytes(reg.spec) if kind == "input" else output_bytes(reg.spec)
    if is_private(state, job.id):
        width += SEAL_BYTES
        kind = f"sealed {kind}"
    bad = next((i for i, x in enumerate(items) if len(x) != width), None)
    if bad is not None:
        raise OutputsRejected(f"{kind} {bad} is {len(items[bad])} bytes; an {kind} of this model is {width} bytes")


def check_outputs(state: Overlay, job_id: int, provider: bytes, outputs: Sequence[bytes]) -> tuple[Job, Assignment]:
    """The outputs are exactly the provider's revealed result: one per item, the model's width, the root."""
    job, a = revealed_assignment(state, job_id, provider)
    _check_items(state, job, "output", outputs)
    if merkle_root(list(outputs)) != a.output_root:
        raise OutputsRejected(
            f"the outputs' Merkle root is not the output root 0x{a.output_root.hex()} the provider revealed"
        )
    return job, a


def check_inputs(state: Overlay, job_id: int, inputs: Sequence[bytes]) -> Job:
    """The inputs are exactly a requester's job's: one per item, the model's input width, the input root."""
    job = compute.jobs.get(state, job_id)
    if job is None:
        raise OutputsRejected(f"no job {job_id} on this chain")
    if job.input_seed != ZERO_HASH:
        raise OutputsRejected(f"job {job_id} is synthetic: its inputs follow from its seed")
    root = input_root_of(state, job)
    if root == ZERO_HASH:
        raise OutputsRejected(f"job {job_id} is private and its clinic has not given the sealed root yet")
    _check_items(state, job, "input", inputs)
    if merkle_root(list(inputs)) != root:
        raise OutputsRejected(f"the inputs' Merkle root is not job {job_id}'s input root 0x{root.hex()}")
    return job


POSTED_INPUTS_CACHE_BYTES = 32 * 2**20
"""Chain-posted inputs kept decoded, by job and root, up to this many bytes of items: a job's are read from its chunks
in the state (up to ~4.4 MB) once, not at every request of the RPC, a peer or an opening."""


class JobOutputs:
    """The node's outputs (and requesters' job inputs): verified against the head state before they are kept or
    served."""

    def __init__(
        self, chain: StateSource, kv: KeyValueStore, max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES, posted_cache_bytes: int = POSTED_INPUTS_CACHE_BYTES,
    ) -> None:
        self.chain = chain
        self.store = OutputsStore(kv, max_entries, max_bytes)
        self._posted: OrderedDict[tuple[int, bytes], tuple[bytes, ...]] = OrderedDict()
        """Chain-posted inputs decoded, by (job, the root they were checked against), least recently used first: the
        same root is the same items (each chunk was proved against it when posted)."""
        self._posted_bytes = 0
        self._posted_limit = posted_cache_bytes
        self._posted_lock = threading.Lock()

    def accept(self, job_id: int, provider: bytes, outputs: Sequence[bytes]) -> FoundOutputs:
        """Keep the outputs if they are the provider's revealed result; OutputsRejected (nothing kept) if not."""
        if len(outputs) > MAX_JOB_ITEMS:
            raise OutputsRejected(f"at most {MAX_JOB_ITEMS} output items, got {len(outputs)}")
        state = self.chain.state()
        job, a = check_outputs(state, job_id, provider, outputs)
        items = tuple(bytes(o) for o in outputs)
        try:
            self._put(state, job_id, provider, a.output_root, items)
        except OutputsStoreFull as exc:
            raise OutputsNotKept(str(exc)) from None
        return FoundOutputs(job, a, items, SOURCE_NODE)

    def find(self, job_id: int, provider: bytes) -> FoundOutputs | None:
        """The provider's outputs from this node's store or from the chain, if either holds them for the
        root the chain now shows (a stored set whose reveal a reorganisation undid is not served)."""
        state = self.chain.state()
        try:
            job, a = revealed_assignment(state, job_id, provider)
        except OutputsRejected:
            return None
        kept = self.store.get(job_id, provider)
        if kept is not None and kept.root == a.output_root and len(kept.outputs) == job.items:
            return FoundOutputs(job, a, kept.outputs, SOURCE_NODE)
        if a.outputs_posted:
            posted = tuple(compute.posted_outputs(state, job_id, provider))
            if len(posted) == job.items:
                return FoundOutputs(job, a, posted, SOURCE_CHAIN)
        return None

    def accept_inputs(self, job_id: int, inputs: Sequence[bytes]) -> Job:
        """Keep a requester's job's inputs if they give its input root; OutputsRejected (nothing kept) if not."""
        if len(inputs) > MAX_JOB_ITEMS:
            raise OutputsRejected(f"at most {MAX_JOB_ITEMS} input items, got {len(inputs)}")
        state = self.chain.state()
        job = check_inputs(state, job_id, inputs)
        try:
            self._put(state, job_id, INPUTS, input_root_of(state, job), tuple(bytes(x) for x in inputs))
        except OutputsStoreFull as exc:
            raise OutputsNotKept(str(exc)) from None
        return job

    def find_inputs(self, job_id: int) -> tuple[Job, tuple[bytes, ...]] | None:
        """A requester's job's inputs if this node holds them or the chain carries all of them (`compute.post_inputs`,
        checked against the root when posted); a synthetic job's are never stored. A private job's are its sealed
        items, for its current provider: a draw after a stall drops the items posted for the provider before."""
        state = self.chain.state()
        job = compute.jobs.get(state, job_id)
        if job is None or job.input_seed != ZERO_HASH:
            return None
        kept = self.store.get(job_id, INPUTS)
        if kept is not None and kept.root == input_root_of(state, job) and len(kept.outputs) == job.items:
            return job, kept.outputs
        posted = posted_inputs.owed.get(state, job_id)
        if posted is None or posted < job.items:  # the chain's count first: inputs it has let go are not served
            return None
        key = (job_id, input_root_of(state, job))
        with self._posted_lock:
            items = self._posted.get(key)
            if items is not None:
                self._posted.move_to_end(key)
                return job, items
        items = tuple(posted_inputs.posted_inputs(state, job_id))
        if len(items) != job.items:
            return None
        self._remember_posted(key, items)
        return job, items

    def _remember_posted(self, key: tuple[int, bytes], items: tuple[bytes, ...]) -> None:
        size = sum(map(len, items))
        if size > self._posted_limit:
            return
        with self._posted_lock:
            if key in self._posted:
                return
            self._posted[key] = items
            self._posted_bytes += size
            while self._posted_bytes > self._posted_limit:
                _, dropped = self._posted.popitem(last=False)
                self._posted_bytes -= sum(map(len, dropped))

    def wants_inputs(self, job_id: int) -> bool:
        """Whether `job_id` is a requester's job (whose inputs a peer may hold)."""
        job = compute.jobs.get(self.chain.state(), job_id)
        return job is not None and job.input_seed == ZERO_HASH

    def has_revealed(self, job_id: int, provider: bytes) -> bool:
        try:
            revealed_assignment(self.chain.state(), job_id, provider)
        except OutputsRejected:
            return False
        return True

    def opening(self, found: FoundOutputs, index: int) -> ItemOpening:
        """Item `index` with its output path to the provider's root, and for a synthetic job its input and
        the input's path to the job's input root."""
        out_levels = merkle_levels(found.outputs)
        job = found.job
        item_input: bytes | None = None
        input_proof: tuple[bytes, ...] | None = None
        inputs: Sequence[bytes] | None = None
        if job.input_seed != ZERO_HASH:
            reg = compute.models.get(self.chain.state(), job.model)
            if reg is not None:
                inputs = synthetic_inputs(job.input_seed, job.items, input_bytes(reg.spec))
        else:
            held = self.find_inputs(job.id)
            inputs = None if held is None else held[1]
        if inputs is not None:
            item_input, input_proof = inputs[index], merkle_proof(merkle_levels(list(inputs)), index)
        return ItemOpening(index, found.outputs[index], merkle_proof(out_levels, index), item_input, input_proof)

    # bounds ------------------------------------------------------------------------------------------
    def _put(self, state: Overlay, job_id: int, provider: bytes, root: bytes, outputs: tuple[bytes, ...]) -> None:
        try:
            self.store.put(job_id, provider, root, outputs)
            return
        except OutputsStoreFull:
            self.evict(state)
        self.store.put(job_id, provider, root, outputs)

    def evict(self, state: Overlay | None = None) -> int:
        """Drop every kept entry whose assignment is no longer in its challenge window (or no longer on
        chain); the number dropped."""
        state = state or self.chain.state()
        dropped = 0
        for job_id, provider in self.store.keys():
            job = compute.jobs.get(state, job_id)
            if provider == INPUTS and job is not None and (
                    job.status == JOB_OPEN or any(a.state == VERIFIED for a in job.assignments)):
                continue  # inputs are kept while the job is open or any result can still be challenged
            idx = None if job is None else job.assignment_of(provider)
            if job is None or idx is None or job.assignments[idx].state != VERIFIED:
                self.store.remove(job_id, provider)
                dropped += 1
        return dropped
