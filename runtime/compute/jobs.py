"""Jobs: post (price reserved; admission by `market`), eviction, cancel while no provider holds the job, close, and
expiry at the deadline. Assignment is `assignment`'s; what happens to assignments that stop moving, `progress`'s."""

from __future__ import annotations

from btt_chain.primitives.hashing import ZERO_HASH
from runtime.context import CallContext

from ..balances import logic as balances
from ..compute import (
    assignment,
    assignment_state,
    costs,
    errors,
    events,
    hook_budget,
    market,
    outage,
    params,
    posted_inputs,
    private,
    reassign,
    rent,
    storage,
    unserved,
)
from ..compute.hook_budget import HookBudget
from ..compute.inputs import input_root, synthetic_inputs
from ..compute.model import input_bytes
from ..compute.models import get_model
from ..compute.types import (
    ASSIGNED,
    JOB_CANCELLED,
    JOB_DONE,
    JOB_EVICTED,
    JOB_EXPIRED,
    JOB_OPEN,
    MAX_REDUNDANCY,
    OPEN_STATES,
    STALLED,
    VOID,
    Job,
)
from ..staking import logic as staking


def get_open_job(ctx: CallContext, job_id: int) -> Job:
    job = storage.jobs.get(ctx.state, job_id)
    if job is None:
        raise errors.UnknownJob(f"no job {job_id}")
    if job.status != JOB_OPEN:
        raise errors.JobNotOpen(f"job {job_id} is closed")
    if ctx.env.timestamp_ms >= job.deadline_ms:  # open only until a block's start expires it (spec 19: carried)
        raise errors.DeadlinePassed(f"job {job_id}'s deadline passed at {job.deadline_ms} ms")
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
    decoys: int = 0,
    inputs: int | bool = True,
) -> int:
    """Post a job and reserve its price. A synthetic job gives `seed` and the chain derives its input root; a
    private one (`private.post`, with its `decoys`) gives neither: its items are sealed to its provider once one is
    drawn. A job of the requester's own inputs owes them on chain before it is drawn (`posted_inputs`); a reassign
    passes `inputs`: the job whose chunks hold its original's (read, not copied: spec 18), or False where its
    original owed none (spec 16's)."""
    sealed = decoys > 0
    state = ctx.state
    reg = get_model(state, model)
    max_items = ctx.param(params.MAX_ITEMS)
    if not 1 <= items <= max_items:
        raise errors.BadJob(f"items must be 1 to {max_items}, got {items}")
    max_redundancy = min(ctx.param(params.MAX_REDUNDANCY), MAX_REDUNDANCY)
    if not 1 <= redundancy <= max_redundancy:
        raise errors.BadJob(f"redundancy must be 1 to {max_redundancy}, got {redundancy}")
    lo, hi = assignment.min_deadline_ms(state, sealed), ctx.param(params.MAX_DEADLINE)
    if not lo <= deadline_ms <= hi:
        raise errors.BadJob(
            f"the deadline must be {lo} to {hi} ms from now, got {deadline_ms} (an assignment needs its commit "
            "window, two epochs before its sample is drawn, and time to reveal)"
        )
    floor = costs.min_price(state, reg.spec, items, redundancy, decoys)
    if price < floor:
        work = f"commit and open {decoys} decoys of {items} items" if sealed else \
            f"commit, reveal and post the outputs of {items} items"
        raise errors.PriceTooLow(
            f"the price must be at least {floor}: each of the {redundancy} providers pays up to "
            f"{floor // redundancy} in fees to {work}"
        )
    if seed != ZERO_HASH:
        derived = input_root(synthetic_inputs(seed, items, input_bytes(reg.spec)))
        if root not in (ZERO_HASH, derived):
            raise errors.BadJob("the input root does not match the inputs the seed generates")
        root = derived
    elif root == ZERO_HASH and not sealed:
        raise errors.BadJob("give the root of the inputs, or a seed for synthetic inputs")
    market.check_requester(state, who, ctx.param(params.MAX_OPEN_JOBS_PER_REQUESTER))
    priority = staking.benefits(state, who).compute_priority
    rank = market.rank(price, redundancy, items, reg.macs_per_item)
    job_id = storage.next_job_id.get(state)
    victim_id = market.owner_room_at(state, reg, priority, price)
    taken = storage.open_jobs.get(state) + (0 if victim_id is not None else 1)
    if victim_id is None and taken > ctx.param(params.MAX_OPEN_JOBS):
        victim_id, taken = market.room_at(state, priority, price), taken - 1
    place = rent.quote(state, sealed, taken)
    balances.reserve(ctx, who, price + place.deposit)  # the price and the place's rent deposit
    if victim_id is not None:
        evict(ctx, storage.jobs.get(state, victim_id), job_id)
    deadline = ctx.env.timestamp_ms + deadline_ms
    job = Job(job_id, who, model, root, seed, items, price, redundancy, deadline, ctx.env.number, priority, JOB_OPEN,
              rank=rank, took_place=victim_id is not None)
    storage.jobs.put(state, job_id, job)
    storage.next_job_id.put(state, job_id + 1)
    market.index(state, job)
    rent.take(ctx, job_id, place)
    storage.deadlines.put(state, storage.deadline_key(deadline, job_id), ZERO_HASH)
    storage.open_jobs.put(state, storage.open_jobs.get(state) + 1)
    unserved.watch(ctx, job)
    if seed == ZERO_HASH and not sealed and inputs is not False:  # the requester's own inputs: on chain first (17)
        if inputs is not True:  # a reassign's: its original's, on chain already (an int, never a bool here)
            posted_inputs.carry(state, job_id, inputs, items)
        else:
            posted_inputs.owe(state, job_id)
    ctx.emit(events.JobPosted(job_id, who, model, items, price, deadline))
    return job_id


def evict(ctx: CallContext, victim: Job, by: int) -> None:
    """`victim`, which no provider committed to, makes way for job `by`: every provider assigned to it is released
    (its assignment void: no pay, no fee, it had committed to nothing) and the whole price goes back to the
    requester (nothing of it was spent)."""
    assignments = list(victim.assignments)
    for i, a in enumerate(assignments):
        if a.state == ASSIGNED:
            assignments[i] = assignment_state.move(ctx, victim, a, VOID)
            ctx.emit(events.AssignmentWithdrawn(victim.id, a.provider, by))
    close(ctx, victim.replace(assignments=tuple(assignments)), JOB_EVICTED, victim.price)
    ctx.emit(events.JobEvicted(victim.id, by, victim.price))


def cancel(ctx: CallContext, who: bytes, job_id: int) -> None:
    """The requester withdraws a job no provider holds (never assigned, or every provider stalled); the price is
    released."""
    job = get_open_job(ctx, job_id)
    if job.requester != who:
        raise errors.NotRequester()
    if any(a.state != STALLED for a in job.assignments):
        raise errors.AlreadyAssigned()
    if job.took_place:
        raise errors.CannotCancel(f"job {job_id} evicted a waiting job to get its place; it cannot be withdrawn")
    close(ctx, job, JOB_CANCELLED, job.price)


def close(ctx: CallContext, job: Job, status: int, refund: int) -> None:
    """Take `job` out of the open set with `status`, releasing `refund` of its escrow to the requester."""
    state = ctx.state
    if refund:
        balances.unreserve(ctx, job.requester, refund)
    market.unindex(state, job)
    storage.deadlines.remove(state, storage.deadline_key(job.deadline_ms, job.id))
    storage.open_jobs.put(state, storage.open_jobs.get(state) - 1)
    storage.jobs.put(state, job.id, job.replace(status=status))
    rent.settle(ctx, job)
    reassign.closed(ctx, job)
    private.closed(ctx, job)
    posted_inputs.release(state, job.replace(status=status))
    ctx.emit(events.JobClosed(job.id, status, refund))


def close_if_ended(ctx: CallContext, job: Job, status: int = JOB_DONE) -> bool:
    """Close `job` with `status` if every place of it is held and none is open any more (nothing to refund: each
    assignment's escrow went where its end sent it); whether it closed."""
    if job.fully_assigned and all(a.state not in OPEN_STATES for a in job.assignments):
        close(ctx, job, status, 0)
        return True
    return False


def expire(ctx: CallContext, budget: HookBudget) -> None:
    """Close every open job whose deadline has passed, earliest first, as far as `budget` goes (spec 19): refund what
    no verified result earned, and end the assignments still open (`outage.missed`: a mark, the missed-deadline fee,
    and a late-reveal time where the sample was drawn)."""
    state = ctx.state
    now = ctx.env.timestamp_ms
    due = []
    for key, _ in storage.deadlines.items(state):
        if int.from_bytes(key[:8], "big") > now:
            break
        job = storage.jobs.get(state, int.from_bytes(key[8:16], "big"))
        places = sum(1 for a in job.assignments if a.state in OPEN_STATES)
        if not budget.take(hook_budget.EXPIRE_JOB + places * hook_budget.EXPIRE_PLACE):
            break
        due.append(job.id)
    for job_id in due:
        job = storage.jobs.get(state, job_id)
        refund = job.unassigned_escrow
        assignments = list(job.assignments)
        for i, a in enumerate(assignments):
            if a.state not in OPEN_STATES:
                continue
            assignments[i] = outage.missed(ctx, job, a)
            refund += a.portion
        close(ctx, job.replace(assignments=tuple(assignments)), JOB_EXPIRED, refund)
