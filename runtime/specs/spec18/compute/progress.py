"""Assignments that stopped moving: at the start of every block, every assignment whose commit window closed
without a commit stalls and its place goes back to the market, and every committed assignment whose reveal window
closed without a reveal turns late (what each costs the provider is `outage`'s).

So a provider holds a job only while it works on it: a place it does not commit to is another provider's within
`compute.commit_window_slots`, and a sample it does not open ends its part of the job within
`compute.reveal_window_slots` of being fixed, long before a deadline that may be days away. Both indexes are keyed by
slot, so a block reads only the entries that fall due.
"""

from __future__ import annotations

from btt_chain.primitives.hashing import ZERO_HASH
from runtime.context import CallContext

from ..compute import jobs, market, outage, posted_inputs, private, reassign, storage
from ..compute.types import (
    ASSIGNED,
    COMMITTED,
    JOB_DONE,
    JOB_EXPIRED,
    JOB_OPEN,
    SETTLED,
    VERIFIED,
    Assignment,
    Job,
)
from ..items import StorageMap


def _due(ctx: CallContext, index: StorageMap[bytes], wanted: int) -> list[tuple[Job, int]]:
    """(job, index of the assignment) of the entries of `index` whose slot is before this block's, each an open
    job's assignment in state `wanted` at that slot; an entry of anything else (never while the books hold) is
    dropped."""
    out = []
    stray = []
    for key, _ in index.items(ctx.state):
        slot = int.from_bytes(key[:8], "big")
        if slot >= ctx.env.slot:
            break
        job = storage.jobs.get(ctx.state, int.from_bytes(key[8:16], "big"))
        idx = None if job is None else job.assignment_of(key[16:])
        a = None if job is None or idx is None else job.assignments[idx]
        if job is None or idx is None or a is None or job.status != JOB_OPEN or a.state != wanted or \
                slot != (a.commit_by_slot if wanted == ASSIGNED else a.reveal_by_slot):
            stray.append(key)
        else:
            out.append((job, idx))
    for key in stray:
        index.remove(ctx.state, key)
    return out


def stall_due(ctx: CallContext) -> None:
    """Every assignment whose last commit slot has passed without a commit stalls; its job waits in the queue for
    another provider (drawn in this block's assignment, which runs after this)."""
    for job, idx in _due(ctx, storage.commit_due, ASSIGNED):
        job = _fresh(ctx, job)
        if private.unsealed(ctx, job, job.assignments[idx]):
            continue  # the clinic never sealed the items to the provider: its fault, not the provider's
        job = _put(ctx, job, idx, outage.stalled(ctx, job, job.assignments[idx]))
        market.requeue(ctx.state, job)
        if (job.input_seed == ZERO_HASH and job.input_root != ZERO_HASH  # a public job of its requester's own inputs,
                and not posted_inputs.owes(ctx.state, job.id)  # posted before spec 17, nobody else working on it or
                and not any(x.state in posted_inputs.HELD for x in job.assignments)):  # done: it owes them from now
            posted_inputs.owe(ctx.state, job.id)


def reveal_due(ctx: CallContext) -> None:
    """Every committed assignment whose last reveal slot has passed without a reveal turns late; a job with nothing
    left open or vacant then closes (done if some provider's result verified, else expired), and the late place's
    work is posted again for another provider (`reassign`)."""
    for job, idx in _due(ctx, storage.reveal_due, COMMITTED):
        job = _fresh(ctx, job)
        a = job.assignments[idx]
        inputs = posted_inputs.held(ctx.state, job)  # pinned before the job can close and release them
        job = _put(ctx, job, idx, outage.reveal_missed(ctx, job, a))
        verified = any(x.state in (VERIFIED, SETTLED) for x in job.assignments)
        jobs.close_if_ended(ctx, job, JOB_DONE if verified else JOB_EXPIRED)
        reassign.reassign(ctx, job, a.provider, a.portion, inputs)  # the place's work goes to another provider


def _fresh(ctx: CallContext, job: Job) -> Job:
    """`job` as stored now: another of its assignments due in this block may have moved it (never closed it: this
    one is still open)."""
    stored = storage.jobs.get(ctx.state, job.id)
    assert stored is not None
    return stored


def _put(ctx: CallContext, job: Job, idx: int, a: Assignment) -> Job:
    assignments = list(job.assignments)
    assignments[idx] = a
    job = job.replace(assignments=tuple(assignments))
    storage.jobs.put(ctx.state, job.id, job)
    return job
