"""Commit, reveal and the sample's verdict: every node re-executes the sampled items during block import.

A provider commits H(output root, salt) within the commit window the chain fixed at assignment. Its sample is
fixed later, by randomness no coalition lacking an honest validator knew at commit time (`sample_fix`). The
reveal opens the sampled items with Merkle paths into the job's input root and the committed output root; the
runtime re-runs the model on them. One differs: the provider's bond loses the assignment's hold (`holds`) and the
requester is refunded. All equal: the assignment is `verified` and enters its challenge window (`challenge`):
payment, burn and work credit come only when the window closes with no fault shown. A reveal after the deadline
(an assignment `late`: its sample was drawn and the provider went quiet) earns nothing; it only decides what the
miss costs (`outage`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from btt_chain.primitives.merkle import verify_merkle_proof
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..balances import logic as balances
from ..compute import (
    assignment_state,
    challenge,
    errors,
    events,
    holds,
    market,
    outage,
    params,
    posted_inputs,
    private,
    reassign,
    settlement,
    storage,
)
from ..compute.inference import infer
from ..compute.jobs import close_if_ended, get_open_job
from ..compute.model import input_bytes
from ..compute.models import built, get_model
from ..compute.sampling import sample_indices
from ..compute.types import (
    ASSIGNED,
    ASSIGNMENT_STATES,
    COMMITTED,
    FRAUD,
    LATE,
    STALLED,
    Assignment,
    Job,
    Opening,
)

__all__ = ["commit", "result_commitment", "reveal", "sample_at", "sample_of"]


def result_commitment(output_root: bytes, salt: bytes) -> bytes:
    """What a provider commits to: H(output root, salt)."""
    return blake2b_256(b"btt-result" + output_root + salt)


def sample_of(job: Job, a: Assignment, sample_size: int) -> tuple[int, ...]:
    """The item indices an assignment's reveal must open (empty until its sample seed is fixed)."""
    if a.sample_seed == ZERO_HASH:
        return ()
    return sample_indices(a.sample_seed, job.items, sample_size)


def sample_at(state: Overlay, job: Job, a: Assignment, sample_size: int) -> tuple[int, ...]:
    """The item indices an assignment's reveal must open as the chain holds them: a public job's drawn sample, a
    private job's revealed decoys (`private.sample`); empty until its sample seed is fixed."""
    if a.sample_seed == ZERO_HASH:
        return ()
    decoys = private.sample(state, job)
    return sample_of(job, a, sample_size) if decoys is None else decoys


def _assignment(ctx: CallContext, job: Job, who: bytes, state: int) -> tuple[int, Assignment]:
    idx = job.assignment_of(who)
    if idx is None:
        raise errors.NotAssigned()
    a = job.assignments[idx]
    if a.state != state:
        raise errors.WrongState(f"the assignment is {ASSIGNMENT_STATES[a.state]}")
    if ctx.env.timestamp_ms >= job.deadline_ms:
        raise errors.DeadlinePassed()
    return idx, a


def _put_assignment(ctx: CallContext, job: Job, idx: int, a: Assignment) -> Job:
    assignments = list(job.assignments)
    assignments[idx] = a
    job = job.replace(assignments=tuple(assignments))
    storage.jobs.put(ctx.state, job.id, job)
    return job


def commit(ctx: CallContext, who: bytes, job_id: int, commitment: bytes) -> None:
    job = get_open_job(ctx, job_id)
    mine = job.assignment_of(who)
    if mine is not None and job.assignments[mine].state == STALLED:
        raise errors.CommitWindowClosed(
            f"the commit window of this assignment closed at slot {job.assignments[mine].commit_by_slot}; the job "
            "went back to the market"
        )
    idx, a = _assignment(ctx, job, who, ASSIGNED)
    private.require_sealed(ctx.state, job)
    if ctx.env.slot > a.commit_by_slot:
        raise errors.CommitWindowClosed(
            f"the commit window of this assignment closed at slot {a.commit_by_slot} (this block is slot "
            f"{ctx.env.slot}); the job went back to the market"
        )
    committed = assignment_state.move(ctx, job, a, COMMITTED, commitment=commitment, commit_block=ctx.env.number)
    if not job.committed_any:
        market.first_committed(ctx.state, job)
    _put_assignment(ctx, job, idx, committed)
    outage.resume(ctx, who)
    ctx.emit(events.ResultCommitted(job_id, who, a.sample_from_slot))


Checker = Callable[[CallContext, Job, Assignment, bytes, bytes, Sequence[Any]], "int | None"]
"""Checks a reveal's openings (refusing bad ones) and returns the first item whose output is wrong, or None."""


def reveal(
    ctx: CallContext, who: bytes, job_id: int, output_root: bytes, salt: bytes, openings: Sequence[Any],
    check: Checker | None = None,
) -> None:
    """Open the sampled items. Bad openings are refused (nothing changes); valid openings get a verdict. A late
    assignment (its deadline passed after the sample was drawn) may still be opened until its late-reveal time:
    `outage` has that verdict. A public job's openings are `Opening`s (`check_openings`); a private job's are
    checked by `private.check_openings` (its call passes that)."""
    secret = private.record(ctx.state, job_id) is not None
    if secret != (check is not None):
        how = "private: reveal it with compute.reveal_private_result" if secret else \
            "public: reveal it with compute.reveal_result"
        raise errors.NotPrivate(f"job {job_id} is {how}")
    check = check or check_openings
    job = storage.jobs.get(ctx.state, job_id)
    mine = None if job is None else job.assignment_of(who)
    if job is not None and mine is not None and job.assignments[mine].state == LATE:
        a = job.assignments[mine]
        bad = check(ctx, job, a, output_root, salt, openings)
        outage.late_reveal(ctx, job, mine, a.replace(output_root=output_root), bad)
        outage.resume(ctx, who)
        return
    job = get_open_job(ctx, job_id)
    idx, a = _assignment(ctx, job, who, COMMITTED)
    if a.sample_seed == ZERO_HASH:
        raise errors.SampleNotFixed(
            f"the sample waits for blocks by enough distinct validators from slot {a.sample_from_slot} on; reveal "
            "once it is fixed"
        )
    bad = check(ctx, job, a, output_root, salt, openings)
    outage.resume(ctx, who)
    a = a.replace(output_root=output_root)
    if bad is None:
        job = _put_assignment(ctx, job, idx, challenge.verified(ctx, job, a))
        challenge.check_agreement(ctx, job, idx)
        job = storage.jobs.get(ctx.state, job_id)
        close_if_ended(ctx, job)
    else:
        inputs = posted_inputs.held(ctx.state, job)  # pinned before the job can close and release them
        job = _put_assignment(ctx, job, idx, _fraud(ctx, job, a, bad))
        close_if_ended(ctx, job)
        reassign.reassign(ctx, job, a.provider, a.portion, inputs)  # the place's work goes to another provider


def check_openings(
    ctx: CallContext, job: Job, a: Assignment, output_root: bytes, salt: bytes, openings: Sequence[Opening]
) -> int | None:
    """Refuse openings that do not open the committed root at the sampled items; otherwise re-execute them and
    return the first item whose output differs (None if every one matches)."""
    if result_commitment(output_root, salt) != a.commitment:
        raise errors.CommitmentMismatch()
    indices = sample_of(job, a, ctx.param(params.SAMPLE_SIZE))
    if tuple(o.index for o in openings) != indices:
        raise errors.BadOpenings(f"open exactly the sampled items {list(indices)}, in that order")
    reg = get_model(ctx.state, job.model)
    width = input_bytes(reg.spec)
    for o in openings:
        if len(o.input) != width:
            raise errors.BadOpenings(f"item {o.index}: an input of this model is {width} bytes")
        if not verify_merkle_proof(job.input_root, o.input, o.index, job.items, o.input_proof):
            raise errors.BadOpenings(f"item {o.index}: the input's path does not lead to the job's input root")
        if not verify_merkle_proof(output_root, o.output, o.index, job.items, o.output_proof):
            raise errors.BadOpenings(f"item {o.index}: the output's path does not lead to the output root")
    outputs = infer(built(reg.spec), [o.input for o in openings])
    return next((o.index for o, out in zip(openings, outputs, strict=True) if o.output != out), None)


def _fraud(ctx: CallContext, job: Job, a: Assignment, item: int) -> Assignment:
    burned, reward = settlement.slash(ctx, a.provider, holds.hold_of(ctx.state, job.id, a.provider), None)
    balances.unreserve(ctx, job.requester, a.portion)
    moved = assignment_state.move(ctx, job, a, FRAUD)
    ctx.emit(events.FraudDetected(job.id, a.provider, item, burned + reward, a.portion))
    return moved
