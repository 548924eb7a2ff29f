"""The challenge window: faked items are caught outside the sample too.

A verified assignment (its sample re-executed correctly) waits `compute.challenge_window_ms` before it is
paid and credited; a redundant job's assignments also wait for the job's deadline, so every provider's
reveal is in before anyone is paid. Until then:

- anyone may `challenge` one item: its input's Merkle path must lead to the job's input root and its
  output's path to the provider's revealed output root. The chain re-executes the item; if the output is
  wrong the provider's bond loses the assignment's hold (`holds`), the challenger gets `slashing.reporter_bps`
  of that, and the requester its escrow back. A challenge that shows no fault fails and costs its fee.
- the requester may demand the provider's outputs (`outputs`): the provider must post them all on chain before
  `compute.outputs_due_ms` has passed, or lose the assignment's hold and its payment. Outputs
  posted after their due time are refused and count as withheld; once all are on chain, challengers get a full
  window from that moment (maturity is never earlier than the last chunk's time plus the window).
- two providers of one job whose output roots differ both owe their outputs (a dispute), and share one
  closing time, the latest of theirs. For a synthetic job the chain settles the dispute as soon as both are
  posted: it re-executes the first item where they differ and slashes whoever is wrong. For other jobs anyone
  settles it with a challenge (the inputs are the requester's). A party that does not post in time is slashed
  as withholding and the other paid; a dispute still open when the window closes voids both: nobody is paid
  or slashed, the requester gets its escrow back.
"""

from __future__ import annotations

from collections.abc import Sequence

from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.merkle import verify_merkle_proof
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..balances import logic as balances
from ..compute import (
    assignment_state,
    errors,
    events,
    holds,
    hook_budget,
    params,
    posted_inputs,
    reassign,
    settlement,
    storage,
)
from ..compute.hook_budget import HookBudget
from ..compute.inference import infer
from ..compute.inputs import synthetic_input
from ..compute.model import input_bytes
from ..compute.models import built, get_model
from ..compute.types import FRAUD, REVEALED_STATES, VERIFIED, VOID, Assignment, Job

NOBODY = ZERO_HASH
"""The challenger recorded when the chain settles a dispute by itself."""


# --- entering and leaving the window ------------------------------------------------------------------


def verified(ctx: CallContext, job: Job, a: Assignment) -> Assignment:
    """The sample matched: the assignment is verified (the provider's capacity is free again) and its challenge
    window starts."""
    matures = ctx.env.timestamp_ms + ctx.param(params.CHALLENGE_WINDOW)
    if job.redundancy > 1:
        matures = max(matures, job.deadline_ms)
    moved = assignment_state.move(ctx, job, a, VERIFIED, matures_ms=matures)
    ctx.emit(events.SampleVerified(job.id, a.provider, a.output_root, matures))
    return moved


def _window_of(state: Overlay, key: bytes) -> tuple[Job, int] | None:
    """The job and index of the verified assignment whose window closes at maturity-index entry `key` (None for an
    entry of no such assignment, or whose assignment moved on earlier in this block)."""
    job = storage.jobs.get(state, int.from_bytes(key[8:16], "big"))
    idx = None if job is None else job.assignment_of(key[16:])
    if job is None or idx is None:
        return None
    a = job.assignments[idx]
    if a.state != VERIFIED or storage.maturing_key(a.matures_ms, job.id, a.provider) != key:
        return None
    return job, idx


def mature(ctx: CallContext, budget: HookBudget) -> None:
    """Close every challenge window that has ended, the earliest first, as far as `budget` goes (spec 19). First a
    provider that withheld the outputs it owed is slashed; then each remaining one is paid, or voided if a rival
    root is still standing. Each move takes its assignment out of the maturity index (`assignment_state.move`)."""
    state = ctx.state
    now = ctx.env.timestamp_ms
    due = []
    stray = []
    for key, _ in storage.maturing.items(state):
        if int.from_bytes(key[:8], "big") > now:
            break
        if _window_of(state, key) is None:
            stray.append(key)  # an entry of no window: never while the books hold
        elif budget.take(hook_budget.WINDOW_CLOSE):
            due.append(key)
        else:
            break
    for key in stray:
        storage.maturing.remove(state, key)
    for withheld_pass in (True, False):
        for key in due:
            found = _window_of(state, key)
            if found is None:
                continue  # it moved in the first pass
            job, idx = found
            a = job.assignments[idx]
            withheld = bool(a.outputs_due_ms) and not a.outputs_posted
            if withheld != withheld_pass:
                continue
            if withheld:
                burned, reward = settlement.slash(ctx, a.provider, holds.hold_of(state, job.id, a.provider), None)
                balances.unreserve(ctx, job.requester, a.portion)
                moved = assignment_state.move(ctx, job, a, FRAUD)
                ctx.emit(events.OutputsWithheld(job.id, a.provider, burned + reward, a.portion))
            elif _rivals(job, idx):
                balances.unreserve(ctx, job.requester, a.portion)
                moved = assignment_state.move(ctx, job, a, VOID)
                ctx.emit(events.ResultVoided(job.id, a.provider, a.portion))
            else:
                moved = settlement.settle(ctx, job, a, get_model(state, job.model).macs_per_item)
            put(ctx, job, idx, moved)


# --- owed outputs and disputes between redundant providers ------------------------------------------------


def _rivals(job: Job, idx: int) -> list[int]:
    """Other assignments of the job whose output root differs from this one's and is not proven wrong."""
    root = job.assignments[idx].output_root
    return [
        i for i, b in enumerate(job.assignments)
        if i != idx and b.state in REVEALED_STATES and b.output_root != root
    ]


def check_agreement(ctx: CallContext, job: Job, idx: int) -> None:
    """After a reveal: if its root differs from another revealed root of the job, both owe their outputs."""
    rivals = _rivals(job, idx)
    if not rivals:
        return
    for i in rivals:
        ctx.emit(events.ResultsDiffer(job.id, job.assignments[i].provider, job.assignments[idx].provider))
    for i in (*rivals, idx):
        job = storage.jobs.get(ctx.state, job.id)
        a = job.assignments[i]
        if a.state == VERIFIED and not a.outputs_posted and not a.outputs_due_ms:
            owe_outputs(ctx, job, i, 0)
    align_dispute(ctx, job.id)


def owe_outputs(ctx: CallContext, job: Job, idx: int, deposit: int) -> None:
    """The provider of assignment `idx` must post all its outputs within `compute.outputs_due_ms`; its window
    lasts at least that long. `deposit` (reserved from the requester) pays back its posting fees."""
    a = job.assignments[idx]
    due = ctx.env.timestamp_ms + ctx.param(params.OUTPUTS_DUE)
    a = assignment_state.extend(ctx, job, a, due).replace(outputs_due_ms=due,
                                                          posting_deposit=a.posting_deposit + deposit)
    put(ctx, job, idx, a)
    ctx.emit(events.OutputsDemanded(job.id, a.provider, due, deposit))


def align_dispute(ctx: CallContext, job_id: int) -> None:
    """One closing time for everyone who owes or posted outputs in a job: nobody's window may close while a
    rival's outputs are still due or still open to challenge."""
    job = storage.jobs.get(ctx.state, job_id)
    involved = [
        i for i, a in enumerate(job.assignments) if a.state == VERIFIED and (a.outputs_due_ms or a.outputs_posted)
    ]
    if len(involved) < 2:
        return
    common = max(job.assignments[i].matures_ms for i in involved)
    for i in involved:
        job = storage.jobs.get(ctx.state, job_id)
        put(ctx, job, i, assignment_state.extend(ctx, job, job.assignments[i], common))


def settle_disputes(ctx: CallContext, job: Job) -> None:
    """A synthetic job's disputes between fully posted outputs: re-execute the first differing item of each pair
    and slash whoever is wrong."""
    if job.input_seed == ZERO_HASH:
        return
    spec = get_model(ctx.state, job.model).spec
    changed = True
    while changed:
        changed = False
        job = storage.jobs.get(ctx.state, job.id)
        posted = [i for i, a in enumerate(job.assignments) if a.state == VERIFIED and a.outputs_posted]
        for i in posted:
            for j in posted:
                if j <= i or job.assignments[i].output_root == job.assignments[j].output_root:
                    continue
                out_i = list(storage.posted_outputs(ctx.state, job.id, job.assignments[i].provider))
                out_j = list(storage.posted_outputs(ctx.state, job.id, job.assignments[j].provider))
                item = next(n for n, (x, y) in enumerate(zip(out_i, out_j, strict=True)) if x != y)
                truth = infer(built(spec), [synthetic_input(job.input_seed, item, input_bytes(spec))])[0]
                wrong = [k for k, out in ((i, out_i), (j, out_j)) if out[item] != truth]
                for k in wrong:
                    other = j if k == i else i
                    reporter = job.assignments[other].provider if other not in wrong else None
                    uphold(ctx, storage.jobs.get(ctx.state, job.id), k, item, reporter)
                changed = True
                break
            if changed:
                break


# --- the challenge call -----------------------------------------------------------------------------------


def verified_assignment(
    ctx: CallContext, job_id: int, provider: bytes, what: str = "be challenged"
) -> tuple[Job, int, Assignment]:
    job = storage.jobs.get(ctx.state, job_id)
    if job is None:
        raise errors.UnknownJob(f"no job {job_id}")
    idx = job.assignment_of(provider)
    if idx is None:
        raise errors.NotAssigned(f"0x{provider.hex()} holds no assignment of job {job_id}")
    a = job.assignments[idx]
    if a.state != VERIFIED or ctx.env.timestamp_ms >= a.matures_ms:  # the window's end is settled by a block's
        # start (spec 19: maybe a later block's, while work waits)
        raise errors.WrongState(f"only a verified assignment inside its challenge window can {what}")
    return job, idx, a


def challenge(
    ctx: CallContext,
    challenger: bytes,
    job_id: int,
    provider: bytes,
    index: int,
    item_input: bytes,
    output: bytes,
    input_proof: Sequence[bytes],
    output_proof: Sequence[bytes],
) -> None:
    job, idx, a = verified_assignment(ctx, job_id, provider)
    if storage.private_jobs.get(ctx.state, job_id) is not None:
        raise errors.NotPrivate(f"job {job_id} is private: its clinic opens one case with compute.open_case")
    if index >= job.items:
        raise errors.BadChallenge(f"job {job_id} has items 0 to {job.items - 1}, not {index}")
    spec = get_model(ctx.state, job.model).spec
    if len(item_input) != input_bytes(spec):
        raise errors.BadChallenge(f"an input of this model is {input_bytes(spec)} bytes")
    if not verify_merkle_proof(job.input_root, item_input, index, job.items, input_proof):
        raise errors.BadChallenge(f"item {index}: the input's path does not lead to the job's input root")
    if not verify_merkle_proof(a.output_root, output, index, job.items, output_proof):
        raise errors.BadChallenge(f"item {index}: the output's path does not lead to the provider's output root")
    if infer(built(spec), [item_input])[0] == output:
        raise errors.ChallengeFailed(f"item {index} re-executes to the committed output")
    uphold(ctx, job, idx, index, challenger)


# --- helpers ----------------------------------------------------------------------------------------------


def uphold(ctx: CallContext, job: Job, idx: int, item: int, challenger: bytes | None) -> None:
    """A fault shown: the assignment's hold slashed (the challenger's reward from it), the requester refunded, no
    pay, no credit; the place's work is posted again for another provider (`reassign`)."""
    a = job.assignments[idx]
    inputs = posted_inputs.held(ctx.state, job)  # pinned before the assignment's end can release them
    burned, reward = settlement.slash(ctx, a.provider, holds.hold_of(ctx.state, job.id, a.provider), challenger)
    balances.unreserve(ctx, job.requester, a.portion)
    put(ctx, job, idx, assignment_state.move(ctx, job, a, FRAUD))
    ctx.emit(events.ChallengeUpheld(
        job.id, a.provider, item, challenger or NOBODY, burned + reward, reward, a.portion
    ))
    reassign.reassign(ctx, storage.jobs.get(ctx.state, job.id) or job, a.provider, a.portion, inputs)


def put(ctx: CallContext, job: Job, idx: int, a: Assignment) -> None:
    assignments = list(job.assignments)
    assignments[idx] = a
    storage.jobs.put(ctx.state, job.id, job.replace(assignments=tuple(assignments)))
