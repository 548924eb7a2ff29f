"""Outputs on chain: the requester's demand, and the provider posting its outputs chunk by chunk.

Any job's outputs can be posted: they go in the chunks of `costs.chunk_plan`, in order, each with a range proof
(at most two hashes per tree level) to the provider's revealed output root, accumulated in state until all are
there. Each chunk must land before the outputs' due time: a chunk after it is refused (`OutputsLate`), so
outputs posted too late for anyone to check count as withheld, and their provider is slashed when its window
closes. Once the last chunk is in, the window lasts at least a full `compute.challenge_window_ms` from that
block, for every party of a dispute alike.

A requester that demands outputs reserves their posting fees (`costs.posting_cost`) as a deposit: each chunk's
inclusion fee is paid back to the provider from it, and what is left returns to the requester when the
assignment is final. Outputs owed because of a dispute are posted at the provider's own cost; the price of
every job covers it (`costs.min_price`).
"""

from __future__ import annotations

from collections.abc import Sequence

from btt_chain.primitives.merkle import verify_merkle_range
from runtime.context import CallContext

from ..balances import logic as balances
from ..compute import assignment_state, challenge, costs, errors, events, params, storage
from ..compute.models import get_model
from ..compute.types import FRAUD


def demand(ctx: CallContext, who: bytes, job_id: int, provider: bytes) -> None:
    job, idx, a = challenge.verified_assignment(ctx, job_id, provider, "owe its outputs")
    if who != job.requester:
        raise errors.NotRequester()
    if a.outputs_posted:
        raise errors.WrongState("the outputs are already on chain")
    if a.outputs_due_ms:
        raise errors.WrongState("the outputs are already demanded")
    spec = get_model(ctx.state, job.model).spec
    sealed = storage.private_jobs.get(ctx.state, job_id) is not None  # a private job's outputs: sealed to its clinic
    deposit = costs.posting_cost(ctx.state, spec, job.items, sealed)
    balances.reserve(ctx, who, deposit)
    challenge.owe_outputs(ctx, job, idx, deposit)


def post(ctx: CallContext, who: bytes, job_id: int, first: int, outputs: Sequence[bytes],
         proof: Sequence[bytes]) -> None:
    job = storage.jobs.get(ctx.state, job_id)
    mine = None if job is None else job.assignment_of(who)
    if job is not None and mine is not None:
        a = job.assignments[mine]
        if a.state == FRAUD and a.outputs_due_ms and not a.outputs_posted:
            raise errors.OutputsLate(
                f"the outputs were due before {a.outputs_due_ms} ms and were counted as withheld when they were "
                "not all on chain by then"
            )
    job, idx, a = challenge.verified_assignment(ctx, job_id, who, "post outputs")
    if a.outputs_posted:
        raise errors.WrongState("the outputs are already on chain")
    now = ctx.env.timestamp_ms
    if a.outputs_due_ms and now >= a.outputs_due_ms:
        raise errors.OutputsLate(
            f"the outputs were due before {a.outputs_due_ms} ms (this block is at {now}): posted now, nobody "
            "would have a window to check them; they count as withheld when the challenge window closes"
        )
    spec = get_model(ctx.state, job.model).spec
    if first != a.posted_items:
        raise errors.BadOutputs(f"chunks go in order: post the one from item {a.posted_items}, not {first}")
    sealed = storage.private_jobs.get(ctx.state, job_id) is not None
    per = costs.chunk_items(spec, sealed)
    expected = min(per, job.items - first)
    if len(outputs) != expected:
        raise errors.BadOutputs(f"the chunk from item {first} holds {expected} items, got {len(outputs)}")
    width = costs.output_width(spec, sealed)
    if any(len(o) != width for o in outputs):
        raise errors.BadOutputs(f"an output of this model is {width} bytes")
    if not verify_merkle_range(a.output_root, outputs, first, job.items, proof):
        raise errors.BadOutputs(
            f"items {first}..{first + expected - 1}: the range proof does not lead to the revealed output root"
        )
    storage.posted_chunks.put(ctx.state, storage.chunk_key(job_id, who, first // per), tuple(outputs))
    reimbursed = min(ctx.fee, a.posting_deposit)
    if reimbursed:
        balances.slash_reserved(ctx, job.requester, reimbursed, who)
    posted = first + expected
    complete = posted == job.items
    a = a.replace(posted_items=posted, outputs_posted=complete, posting_deposit=a.posting_deposit - reimbursed)
    ctx.emit(events.OutputsPosted(job_id, who, first, expected, posted, reimbursed))
    if not complete:
        challenge.put(ctx, job, idx, a)
        return
    a = assignment_state.extend(ctx, job, a, now + ctx.param(params.CHALLENGE_WINDOW))
    challenge.put(ctx, job, idx, a)
    challenge.align_dispute(ctx, job_id)
    ctx.emit(events.OutputsComplete(job_id, who, job.items, storage.jobs.get(ctx.state, job_id).assignments[idx]
                                    .matures_ms))
    challenge.settle_disputes(ctx, storage.jobs.get(ctx.state, job_id))
