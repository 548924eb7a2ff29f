"""Jobs: post (price reserved), cancel before assignment, assignment by bond-weighted draws from randomness
fixed after the job was included, and expiry at the deadline.

Assignment runs at the start of every block, in queue order: jobs of 90-day-or-longer stakers first, then
by id. Draws use the consensus randomness, which already holds this block's reveal, so neither the
requester nor the block author can choose the worker.
"""

from __future__ import annotations

import functools

from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from runtime.balances import logic as balances
from runtime.compute import errors, events, params, providers, storage
from runtime.compute.inference import input_bytes
from runtime.compute.inputs import input_root, synthetic_inputs
from runtime.compute.model import Model, ModelSpec, build_model
from runtime.compute.types import (
    JOB_CANCELLED,
    JOB_EXPIRED,
    JOB_OPEN,
    MAX_REDUNDANCY,
    MISSED,
    OPEN_STATES,
    Assignment,
    Job,
    RegisteredModel,
)
from runtime.consensus import storage as consensus
from runtime.context import CallContext
from runtime.staking import logic as staking


@functools.lru_cache(maxsize=32)
def built(spec: ModelSpec) -> Model:
    """The model of a registered spec (weights regenerated from its seed once per process)."""
    return build_model(spec)


def get_model(ctx: CallContext, model_hash: bytes) -> RegisteredModel:
    reg = storage.models.get(ctx.state, model_hash)
    if reg is None:
        raise errors.UnknownModel(f"no model 0x{model_hash.hex()} is registered")
    return reg


def get_open_job(ctx: CallContext, job_id: int) -> Job:
    job = storage.jobs.get(ctx.state, job_id)
    if job is None:
        raise errors.UnknownJob(f"no job {job_id}")
    if job.status != JOB_OPEN:
        raise errors.JobNotOpen(f"job {job_id} is closed")
    return job


def post(
    ctx: CallContext,
    who: bytes,
    model: bytes,
    root: bytes,
    seed: bytes,
    items: int,
    price: int,
    redundancy: int,
    deadline_ms: int,
) -> int:
    """Post a job and reserve its price. A synthetic job gives `seed` and the chain derives its input root."""
    state = ctx.state
    reg = get_model(ctx, model)
    max_items = ctx.param(params.MAX_ITEMS)
    if not 1 <= items <= max_items:
        raise errors.BadJob(f"items must be 1 to {max_items}, got {items}")
    max_redundancy = min(ctx.param(params.MAX_REDUNDANCY), MAX_REDUNDANCY)
    if not 1 <= redundancy <= max_redundancy:
        raise errors.BadJob(f"redundancy must be 1 to {max_redundancy}, got {redundancy}")
    lo, hi = ctx.param(params.MIN_DEADLINE), ctx.param(params.MAX_DEADLINE)
    if not lo <= deadline_ms <= hi:
        raise errors.BadJob(f"the deadline must be {lo} to {hi} ms from now, got {deadline_ms}")
    if price < redundancy:
        raise errors.BadJob("the price must give every assignment at least one base unit")
    if seed != ZERO_HASH:
        derived = input_root(synthetic_inputs(seed, items, input_bytes(reg.spec)))
        if root not in (ZERO_HASH, derived):
            raise errors.BadJob("the input root does not match the inputs the seed generates")
        root = derived
    elif root == ZERO_HASH:
        raise errors.BadJob("give the root of the inputs, or a seed for synthetic inputs")
    if storage.open_jobs.get(state) >= ctx.param(params.MAX_OPEN_JOBS):
        raise errors.BadJob("the chain holds the most open jobs it may; try again later")
    balances.reserve(ctx, who, price)
    job_id = storage.next_job_id.get(state)
    priority = staking.benefits(state, who).compute_priority
    deadline = ctx.env.timestamp_ms + deadline_ms
    job = Job(job_id, who, model, root, seed, items, price, redundancy, deadline, ctx.env.number, priority, JOB_OPEN)
    storage.jobs.put(state, job_id, job)
    storage.next_job_id.put(state, job_id + 1)
    storage.queue.put(state, storage.queue_key(priority, job_id), ZERO_HASH)
    storage.deadlines.put(state, storage.deadline_key(deadline, job_id), ZERO_HASH)
    storage.open_jobs.put(state, storage.open_jobs.get(state) + 1)
    ctx.emit(events.JobPosted(job_id, who, model, items, price, deadline))
    return job_id


def cancel(ctx: CallContext, who: bytes, job_id: int) -> None:
    """The requester withdraws a job no provider has been assigned to; the price is released."""
    job = get_open_job(ctx, job_id)
    if job.requester != who:
        raise errors.NotRequester()
    if job.assignments:
        raise errors.AlreadyAssigned()
    close(ctx, job, JOB_CANCELLED, job.price)


def close(ctx: CallContext, job: Job, status: int, refund: int) -> None:
    """Take `job` out of the open set with `status`, releasing `refund` of its escrow to the requester."""
    state = ctx.state
    if refund:
        balances.unreserve(ctx, job.requester, refund)
    storage.queue.remove(state, storage.queue_key(job.priority, job.id))
    storage.deadlines.remove(state, storage.deadline_key(job.deadline_ms, job.id))
    storage.open_jobs.put(state, storage.open_jobs.get(state) - 1)
    storage.jobs.put(state, job.id, job.replace(status=status))
    ctx.emit(events.JobClosed(job.id, status, refund))


def assign_queued(ctx: CallContext) -> None:
    """Give queued jobs providers, drawn by bond among those with free capacity, up to the per-block limit."""
    state = ctx.state
    queued = [k for k, _ in storage.queue.items(state)]
    if not queued:
        return
    budget = ctx.param(params.MAX_ASSIGNMENTS_PER_BLOCK)
    pool = {c.account: c for c in providers.eligible(state, ctx.param(params.MIN_PROVIDER_BOND))}
    randomness = consensus.randomness.get(state)
    for key in queued:
        if budget == 0 or not pool:
            return
        job = storage.jobs.get(state, int.from_bytes(key[1:], "big"))
        if job.posted_block >= ctx.env.number:
            continue
        assignments = list(job.assignments)
        taken = {a.provider for a in assignments}
        while len(assignments) < job.redundancy and budget:
            candidates = sorted((acct, c.bond) for acct, c in pool.items() if acct not in taken)
            if not candidates:
                break
            k = len(assignments)
            draw = blake2b_256(b"btt-assign" + randomness + job.id.to_bytes(8, "big") + k.to_bytes(1, "big"))
            chosen = _weighted(candidates, int.from_bytes(draw, "big"))
            c = pool[chosen]
            c.provider = c.provider.replace(active=c.provider.active + 1, assigned=c.provider.assigned + 1)
            storage.providers.put(state, chosen, c.provider)
            if c.provider.active >= c.provider.capacity:
                del pool[chosen]
            assignments.append(Assignment(chosen, job.portion(k), 0, ctx.env.number))
            taken.add(chosen)
            budget -= 1
            ctx.emit(events.JobAssigned(job.id, chosen, job.portion(k)))
        if len(assignments) != len(job.assignments):
            storage.jobs.put(state, job.id, job.replace(assignments=tuple(assignments)))
        if len(assignments) == job.redundancy:
            storage.queue.remove(state, key)


def _weighted(candidates: list[tuple[bytes, int]], draw: int) -> bytes:
    total = sum(w for _, w in candidates)
    point = draw % total
    for acct, w in candidates:
        if point < w:
            return acct
        point -= w
    raise AssertionError("unreachable: draw below total weight")


def expire(ctx: CallContext) -> None:
    """Close every open job whose deadline has passed: refund what no verified result earned, and mark
    providers that did not deliver. A provider that committed but never revealed also loses
    `compute.withheld_slash_bps` of its bond: withholding a reveal must not be a free way out of a bad sample."""
    from runtime.compute import verify

    state = ctx.state
    now = ctx.env.timestamp_ms
    due = []
    for key, _ in storage.deadlines.items(state):
        if int.from_bytes(key[:8], "big") > now:
            break
        due.append(int.from_bytes(key[8:16], "big"))
    for job_id in due:
        job = storage.jobs.get(state, job_id)
        refund = job.unassigned_escrow
        assignments = list(job.assignments)
        for i, a in enumerate(assignments):
            if a.state not in OPEN_STATES:
                continue
            verify.missed(ctx, job, a)
            assignments[i] = a.replace(state=MISSED)
            refund += a.portion
        close(ctx, job.replace(assignments=tuple(assignments)), JOB_EXPIRED, refund)
