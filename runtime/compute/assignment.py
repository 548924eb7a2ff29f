"""Assignment: bond-weighted draws from randomness fixed after the job was included, and the timetable the
chain fixes for each assignment at that moment.

The timetable is the chain's, not the provider's. A provider that chose when to commit could wait for a commit
slot after which the next k block authors (public an epoch ahead in the leader schedule) are all its
accomplices, and know its sample before committing. So at assignment (slot s) the chain fixes:

- the commit window: slots s .. s + `compute.commit_window_slots` - 1 (`commit_by_slot` is the last); a commit
  in any later block is refused;
- the sample start: the first slot of the second epoch after the one `commit_by_slot` falls in. At any moment
  in epoch e the schedules of e and e + 1 are known and nothing later, so when the provider commits (at the
  latest in the epoch of `commit_by_slot`) nobody knows who leads the slots from the sample start on. The sample
  is fixed by the first k distinct authors of blocks from that slot on (`sample_fix`).

An assignment therefore needs, in the worst case, `work_slots` slots from assignment to reveal: its commit
window, up to two epochs to the sample start and one more for k distinct authors and the reveal. A job is
assigned only while that much time is left before its deadline (a provider is never handed work it could not
finish), and a job is accepted only with a deadline that leaves room for it (`min_deadline_ms`).

Assignment runs at the start of every block, in queue order (stakers' jobs first, then by price per unit of
work: `market`). Draws use the consensus randomness, which already holds this block's reveal, so neither the
requester nor the block author can choose the worker.
"""

from __future__ import annotations

from itertools import islice

from btt_chain.primitives.hashing import blake2b_256
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..compute import (
    assignment_state,
    events,
    holds,
    hook_budget,
    params,
    posted_inputs,
    private,
    providers,
    reassign,
    storage,
)
from ..compute.hook_budget import HookBudget
from ..compute.models import serves
from ..compute.types import ASSIGNED, Assignment, Provider
from ..consensus import logic as consensus_logic
from ..consensus import storage as consensus
from ..params.storage import get_param

BPS = 10_000


def epoch_slots(state: Overlay) -> int:
    return consensus.epoch_slots.get(state)


def sample_start(state: Overlay, commit_by_slot: int) -> int:
    """The first slot whose author may help fix the sample of a commit made at `commit_by_slot` or earlier: the
    start of the second epoch after that slot's (a chain without epochs, only test chains: the next slot)."""
    per = epoch_slots(state)
    if not per:
        return commit_by_slot + 1
    return (consensus_logic.epoch_of(state, commit_by_slot) + 2) * per


def work_slots(state: Overlay) -> int:
    """Slots from assignment to reveal in the worst case: the commit window, two epochs to the sample start, and
    one more epoch for the distinct authors and the reveal (a chain without epochs counts the window for each)."""
    window = get_param(state, params.COMMIT_WINDOW)
    return window + 3 * (epoch_slots(state) or window)


def private_slots(state: Overlay, is_private: bool) -> int:
    """The slots a private job's assignment adds before its commit window: the clinic's to seal its items to the
    provider drawn (`private.inputs_window`); none for a public job."""
    return private.inputs_window(state) if is_private else 0


def min_deadline_ms(state: Overlay, is_private: bool = False) -> int:
    """The shortest deadline a job may be posted with: the parameter, and room for one commit window of waiting
    in the queue plus `work_slots` (and a private job's sealing window)."""
    slot_ms = consensus.slot_ms.get(state)
    room = (work_slots(state) + private_slots(state, is_private) + get_param(state, params.COMMIT_WINDOW)) * slot_ms
    return max(get_param(state, params.MIN_DEADLINE), room)


def assign_queued(ctx: CallContext, weight: HookBudget) -> None:
    """Give queued jobs providers for their vacant places (never assigned, or stalled: `progress`), drawn by bond and
    record (`draw_weight`) among those that can take one more (and are not paused after a miss: `outage`), whose
    bond covers what they hold plus the place's hold (`holds.hold_for`, fixed now), that serve the job's model
    (`models.serves`) and did not fail the place a reposted job carries (`reassign`), up to the per-block limit; a
    job whose deadline leaves less than `work_slots` waits (and expires, refunded, if nobody takes it). A provider
    that stalled on a place is not drawn for the job while its stalled entry holds that place. It reads as much of
    the queue, and draws as many places, as `weight` (the start of block's budget, spec 19) has room for: the jobs it
    does not reach wait, as those past the per-block limit do."""
    state = ctx.state
    queued = [k for k, _ in islice(storage.queue.items(state), weight.room(hook_budget.QUEUE_READ))]
    if not queued:
        return
    weight.charge(len(queued) * hook_budget.QUEUE_READ)
    budget = ctx.param(params.MAX_ASSIGNMENTS_PER_BLOCK)
    pool = {c.account: c for c in providers.eligible(state, ctx.env.timestamp_ms)}
    weight.charge(len(pool) * hook_budget.PROVIDER_READ)
    randomness = consensus.randomness.get(state)
    slot = ctx.env.slot
    latest = ctx.env.timestamp_ms + work_slots(state) * consensus.slot_ms.get(state)
    commit_by = slot + ctx.param(params.COMMIT_WINDOW) - 1
    sample_from = sample_start(state, commit_by)
    sealing = private_slots(state, True)
    record = (ctx.param(params.RECORD_WEIGHT), ctx.param(params.RECORD_PRIOR))
    for key in queued:
        if budget == 0 or not pool:
            return
        job = storage.jobs.get(state, int.from_bytes(key[-8:], "big"))
        secret = storage.private_jobs.get(state, job.id) is not None
        extra = sealing if secret else 0
        if job.posted_block >= ctx.env.number or job.deadline_ms < latest + extra * consensus.slot_ms.get(state):
            continue
        if not posted_inputs.drawable(state, job):  # its requester has not put all its inputs on chain (spec 17)
            continue
        job_commit_by = commit_by + extra
        job_sample_from = sample_start(state, job_commit_by) if secret else sample_from
        assignments = list(job.assignments)
        taken = {a.provider for a in assignments}
        failed = reassign.excluded.get(state, job.id)  # a reposted place never goes back to who failed it
        reg = storage.models.get(state, job.model)
        changed = False
        for k in job.vacant():
            if not budget:
                break
            hold = holds.hold_for(state, job, job.portion(k))  # everyone in the pool has free capacity
            candidates = sorted((acct, draw_weight(c.bond, c.provider, record)) for acct, c in pool.items()
                                if acct not in taken and acct != failed and c.covers(hold) and reg is not None
                                and serves(state, reg, job.model, acct)
                                and (not secret or storage.box_keys.get(state, acct) is not None))
            if not candidates:
                break
            if not weight.take(hook_budget.DRAW_PLACE):
                budget = 0  # what is left of this block's start: the rest wait in the queue
                break
            draw = blake2b_256(b"btt-assign" + randomness + job.id.to_bytes(8, "big") + k.to_bytes(1, "big"))
            chosen = _weighted(candidates, int.from_bytes(draw, "big"))
            c = pool[chosen]
            c.provider = assignment_state.enter_assigned(state, job.id, chosen, c.provider, job_commit_by, hold)
            c.held += hold
            if not providers.can_take_one_more(state, c):
                del pool[chosen]
            placed = Assignment(chosen, job.portion(k), ASSIGNED, ctx.env.number, job_commit_by, job_sample_from)
            if secret:
                private.assigned(state, job.id, chosen, slot, job_sample_from)
            if k < len(assignments):
                assignments[k] = placed
            else:
                assignments.append(placed)
            taken.add(chosen)
            budget -= 1
            changed = True
            ctx.emit(events.JobAssigned(job.id, chosen, job.portion(k), job_commit_by, job_sample_from))
        if changed:
            job = job.replace(assignments=tuple(assignments))
            storage.jobs.put(state, job.id, job)
        if job.fully_assigned:
            storage.queue.remove(state, key)


def draw_weight(bond: int, provider: Provider, record: tuple[int, int]) -> int:
    """A provider's weight in the draw: its bond, raised by its record of verified work up to
    `compute.record_weight_bps` of it. The record scores settled assignments less misses and four times the frauds
    (at least 0); the raise is that share times score / (score + `compute.record_prior`), so a provider with a long
    clean record is drawn up to (1 + share) times as often per unit of bond as a newcomer, and a newcomer, with no
    record, keeps its bond's weight: at least 1 / (1 + share) of a veteran's per unit of bond, never nothing."""
    most, prior = record
    score = max(0, provider.completed - provider.failed - 4 * provider.frauds)
    if not score or not most:
        return bond
    return bond + bond * most * score // (BPS * (score + max(1, prior)))


def _weighted(candidates: list[tuple[bytes, int]], draw: int) -> bytes:
    total = sum(w for _, w in candidates)
    point = draw % total
    for acct, w in candidates:
        if point < w:
            return acct
        point -= w
    raise AssertionError("unreachable: draw below total weight")
