"""A place that ended without a verified result goes to another provider, within the job's deadline.

A provider that misses its reveal window (its escrow goes back to the requester at once: `outage.reveal_missed`),
or whose sample or a challenge shows a wrong item (`verify`, `challenge.uphold`), leaves its part of the job undone.
A clinic then had its money back and nothing else; what DePIN users ask of Render and Akash is the work. So the chain
posts that part again, at once, as a new job of one provider on the same inputs, for the refunded portion, with the
original deadline and the requester as its requester: `JobReassigned(job, provider, new job)`. The provider that
failed is never drawn for it (`excluded`). It is a job like any other: it waits, is assigned, pays its place's rent
and can be cancelled by its requester while no provider holds it.

It is not posted again, and `ReassignSkipped` says why, when it cannot be served in time or paid for: a private job
(its items are sealed to the provider that failed; the clinic reposts them sealed to another), a deadline too near
for a whole timetable, a portion below one provider's fees, a requester that cannot pay the place's rent deposit
(`RequesterLowBalance` beside it, with what was needed), or a market that refuses the post (full with nothing it
outbids, the requester's or the owner's share taken).
"""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT
from btt_chain.primitives.errors import DispatchError
from runtime.context import CallContext

from ..balances.locks import refresh_frozen
from ..compute import events, rent, storage
from ..compute.types import Job
from ..items import StorageMap, u64_from_key, u64_key

PRIVATE, DEADLINE, PRICE, BALANCE, REFUSED = range(5)
SKIP_REASONS = ("private job", "deadline too near", "portion below one provider's fees", "requester's balance",
                "the market refused the post")
"""ReassignSkipped.reason -> what it means."""

excluded: StorageMap[bytes] = StorageMap("compute", "reassign_excluded", ACCOUNT, u64_key, u64_from_key)
"""Open job id -> the provider whose failed place it reposts (spec 14): never drawn for it; removed when the job
closes."""


def reassign(ctx: CallContext, job: Job, provider: bytes, portion: int, inputs: int | None = None) -> None:
    """`provider`'s place in `job`, worth `portion` (already refunded to the requester), ended without a verified
    result: post it again for another provider, or say why not. `inputs`: the job whose chunks hold the requester's
    own inputs `job` held on chain (`posted_inputs.held`, pinned before the failure could close the job and release
    them), which the new job reads too (spec 18; spec 17 copied them); a job that owed none posts one that owes none.
    A reassign that posts nothing gives the pin back."""
    from ..compute import posted_inputs

    posted = False
    try:
        posted = _post_again(ctx, job, provider, portion, inputs)
    finally:
        if inputs is not None and not posted:
            posted_inputs.unpin(ctx.state, inputs)


def _post_again(ctx: CallContext, job: Job, provider: bytes, portion: int, inputs: int | None) -> bool:
    from ..compute import assignment, jobs, posted_inputs

    state = ctx.state
    if storage.private_jobs.get(state, job.id) is not None:
        ctx.emit(events.ReassignSkipped(job.id, provider, PRIVATE))
        return False
    left = job.deadline_ms - ctx.env.timestamp_ms
    if left < assignment.min_deadline_ms(state):
        ctx.emit(events.ReassignSkipped(job.id, provider, DEADLINE))
        return False
    needed = portion + rent.quote(state, False).deposit
    if refresh_frozen(ctx, job.requester).spendable < needed:
        ctx.emit(events.ReassignSkipped(job.id, provider, BALANCE))
        ctx.emit(events.RequesterLowBalance(job.requester, needed))
        return False
    new_id = storage.next_job_id.get(state)
    try:  # every refusal of a post comes before it writes anything
        carried = inputs if inputs is not None else posted_inputs.owes(state, job.id)
        jobs.post(ctx, job.requester, job.model, job.input_root, job.input_seed, job.items, portion, 1, left,
                  inputs=carried)
    except DispatchError as exc:
        reason = PRICE if type(exc).__name__ == "PriceTooLow" else REFUSED
        ctx.emit(events.ReassignSkipped(job.id, provider, reason))
        return False
    excluded.put(state, new_id, provider)
    ctx.emit(events.JobReassigned(job.id, provider, new_id))
    return True


def closed(ctx: CallContext, job: Job) -> None:
    """`job` closed: it no longer keeps a provider out."""
    excluded.remove(ctx.state, job.id)
