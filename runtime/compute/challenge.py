"""The challenge window: faked items are caught outside the sample too.

A verified assignment (its sample re-executed correctly) waits `compute.challenge_window_ms` before it is
paid and credited; a redundant job's assignments also wait for the job's deadline, so every provider's
reveal is in before anyone is paid. Until then:

- anyone may `challenge` one item: its input's Merkle path must lead to the job's input root and its
  output's path to the provider's revealed output root. The chain re-executes the item; if the output is
  wrong the provider's bond loses `compute.fraud_slash_bps`, the challenger gets `slashing.reporter_bps`
  of that, and the requester its escrow back. A challenge that shows no fault fails and costs its fee.
- the requester may `demand` the provider's outputs: the provider must `post` them all on chain within
  `compute.outputs_due_ms` (checked against its output root) or lose `compute.withheld_slash_bps` of its
  bond and its payment. Withholding outputs is therefore no shelter for faked items.
- two providers of one job whose output roots differ both owe their outputs (a dispute). For a synthetic
  job the chain settles the dispute as soon as both are posted: it re-executes the first item where they
  differ and slashes whoever is wrong. For other jobs anyone settles it with a challenge (the inputs are
  the requester's). A dispute still open when the window closes voids both: nobody is paid or slashed,
  the requester gets its escrow back.
"""

from __future__ import annotations

from collections.abc import Sequence

from btt_chain.primitives.hashing import ZERO_HASH, merkle_root
from btt_chain.primitives.merkle import verify_merkle_proof
from runtime.balances import logic as balances
from runtime.compute import errors, events, params, storage
from runtime.compute.inference import infer, input_bytes, output_bytes
from runtime.compute.inputs import synthetic_input
from runtime.compute.jobs import built, get_model
from runtime.compute.settlement import count_outcome, settle, slash_bond
from runtime.compute.types import FRAUD, REVEALED_STATES, VERIFIED, VOID, Assignment, Job
from runtime.context import CallContext

NOBODY = ZERO_HASH
"""The challenger recorded when the chain settles a dispute by itself."""


# --- entering and leaving the window ------------------------------------------------------------------


def verified(ctx: CallContext, job: Job, a: Assignment) -> Assignment:
    """The sample matched: release the provider's capacity and start the challenge window."""
    matures = ctx.env.timestamp_ms + ctx.param(params.CHALLENGE_WINDOW)
    if job.redundancy > 1:
        matures = max(matures, job.deadline_ms)
    p = storage.providers.get(ctx.state, a.provider)
    if p is not None:
        storage.providers.put(ctx.state, a.provider, p.replace(active=p.active - 1))
    storage.maturing.put(ctx.state, storage.maturing_key(matures, job.id, a.provider), ZERO_HASH)
    ctx.emit(events.SampleVerified(job.id, a.provider, a.output_root, matures))
    return a.replace(state=VERIFIED, matures_ms=matures)


def mature(ctx: CallContext) -> None:
    """Close every challenge window that has ended. First a provider that withheld the outputs it owed is
    slashed; then each remaining one is paid, or voided if a rival root is still standing."""
    state = ctx.state
    now = ctx.env.timestamp_ms
    due = []
    for key, _ in storage.maturing.items(state):
        if int.from_bytes(key[:8], "big") > now:
            break
        due.append(key)
    for key in due:
        storage.maturing.remove(state, key)
    for withheld_pass in (True, False):
        for key in due:
            job = storage.jobs.get(state, int.from_bytes(key[8:16], "big"))
            idx = None if job is None else job.assignment_of(key[16:])
            if job is None or idx is None or job.assignments[idx].state != VERIFIED:
                continue
            a = job.assignments[idx]
            withheld = bool(a.outputs_due_ms) and not a.outputs_posted
            if withheld != withheld_pass:
                continue
            if withheld:
                slashed, _ = slash_bond(ctx, a.provider, ctx.param(params.WITHHELD_SLASH), None)
                balances.unreserve(ctx, job.requester, a.portion)
                count_outcome(ctx, a.provider, "frauds")
                ctx.emit(events.OutputsWithheld(job.id, a.provider, slashed, a.portion))
                a = a.replace(state=FRAUD)
            elif _rivals(job, idx):
                balances.unreserve(ctx, job.requester, a.portion)
                ctx.emit(events.ResultVoided(job.id, a.provider, a.portion))
                a = a.replace(state=VOID)
            else:
                a = settle(ctx, job, a, get_model(ctx, job.model).macs_per_item)
            storage.posted_outputs.remove(state, storage.posted_key(job.id, a.provider))
            _put(ctx, job, idx, a)


# --- disputes between redundant providers ---------------------------------------------------------------


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
    involved = (*rivals, idx)
    for i in rivals:
        ctx.emit(events.ResultsDiffer(job.id, job.assignments[i].provider, job.assignments[idx].provider))
    for i in involved:
        _owe_outputs(ctx, storage.jobs.get(ctx.state, job.id), i)
    # one closing time for the whole dispute: nobody's window may close while a rival's outputs are still due
    job = storage.jobs.get(ctx.state, job.id)
    involved = tuple(
        i for i, a in enumerate(job.assignments) if a.state == VERIFIED and (a.outputs_due_ms or a.outputs_posted)
    )
    if not involved:
        return
    common = max(job.assignments[i].matures_ms for i in involved)
    for i in involved:
        a = job.assignments[i]
        if a.state == VERIFIED and a.matures_ms != common:
            _reschedule(ctx, job, a, common)
            _put(ctx, job, i, a.replace(matures_ms=common))
            job = storage.jobs.get(ctx.state, job.id)


def _owe_outputs(ctx: CallContext, job: Job, idx: int) -> None:
    a = job.assignments[idx]
    if a.state != VERIFIED or a.outputs_posted or a.outputs_due_ms:
        return
    due = ctx.env.timestamp_ms + ctx.param(params.OUTPUTS_DUE)
    matures = max(a.matures_ms, due + ctx.param(params.OUTPUTS_DUE))
    _reschedule(ctx, job, a, matures)
    _put(ctx, job, idx, a.replace(outputs_due_ms=due, matures_ms=matures))
    ctx.emit(events.OutputsDemanded(job.id, a.provider, due))


def _settle_disputes(ctx: CallContext, job: Job) -> None:
    """A synthetic job's disputes between posted outputs: re-execute the first differing item of each pair."""
    if job.input_seed == ZERO_HASH:
        return
    spec = get_model(ctx, job.model).spec
    changed = True
    while changed:
        changed = False
        job = storage.jobs.get(ctx.state, job.id)
        posted = {
            i: storage.posted_outputs.get(ctx.state, storage.posted_key(job.id, a.provider))
            for i, a in enumerate(job.assignments) if a.state == VERIFIED and a.outputs_posted
        }
        for i in posted:
            for j in posted:
                if j <= i or job.assignments[i].output_root == job.assignments[j].output_root:
                    continue
                out_i, out_j = posted[i], posted[j]
                item = next(n for n, (x, y) in enumerate(zip(out_i, out_j, strict=True)) if x != y)
                truth = infer(built(spec), [synthetic_input(job.input_seed, item, input_bytes(spec))])[0]
                wrong = [k for k, out in ((i, out_i), (j, out_j)) if out[item] != truth]
                for k in wrong:
                    other = j if k == i else i
                    reporter = job.assignments[other].provider if other not in wrong else None
                    _uphold(ctx, storage.jobs.get(ctx.state, job.id), k, item, reporter)
                changed = True
                break
            if changed:
                break


# --- calls ------------------------------------------------------------------------------------------------


def _verified_assignment(ctx: CallContext, job_id: int, provider: bytes) -> tuple[Job, int, Assignment]:
    job = storage.jobs.get(ctx.state, job_id)
    if job is None:
        raise errors.UnknownJob(f"no job {job_id}")
    idx = job.assignment_of(provider)
    if idx is None:
        raise errors.NotAssigned(f"0x{provider.hex()} holds no assignment of job {job_id}")
    a = job.assignments[idx]
    if a.state != VERIFIED:
        raise errors.WrongState("only a verified assignment inside its challenge window can be challenged")
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
    job, idx, a = _verified_assignment(ctx, job_id, provider)
    if index >= job.items:
        raise errors.BadChallenge(f"job {job_id} has items 0 to {job.items - 1}, not {index}")
    spec = get_model(ctx, job.model).spec
    if len(item_input) != input_bytes(spec):
        raise errors.BadChallenge(f"an input of this model is {input_bytes(spec)} bytes")
    if not verify_merkle_proof(job.input_root, item_input, index, job.items, input_proof):
        raise errors.BadChallenge(f"item {index}: the input's path does not lead to the job's input root")
    if not verify_merkle_proof(a.output_root, output, index, job.items, output_proof):
        raise errors.BadChallenge(f"item {index}: the output's path does not lead to the provider's output root")
    if infer(built(spec), [item_input])[0] == output:
        raise errors.ChallengeFailed(f"item {index} re-executes to the committed output")
    _uphold(ctx, job, idx, index, challenger)


def demand(ctx: CallContext, who: bytes, job_id: int, provider: bytes) -> None:
    job, idx, a = _verified_assignment(ctx, job_id, provider)
    if who != job.requester:
        raise errors.NotRequester()
    if a.outputs_posted:
        raise errors.WrongState("the outputs are already on chain")
    if a.outputs_due_ms:
        raise errors.WrongState("the outputs are already demanded")
    _owe_outputs(ctx, job, idx)


def post(ctx: CallContext, who: bytes, job_id: int, outputs: Sequence[bytes]) -> None:
    job, idx, a = _verified_assignment(ctx, job_id, who)
    if a.outputs_posted:
        raise errors.WrongState("the outputs are already on chain")
    if len(outputs) != job.items:
        raise errors.BadOutputs(f"job {job_id} has {job.items} output items, got {len(outputs)}")
    width = output_bytes(get_model(ctx, job.model).spec)
    if any(len(o) != width for o in outputs):
        raise errors.BadOutputs(f"an output of this model is {width} bytes")
    if merkle_root(list(outputs)) != a.output_root:
        raise errors.BadOutputs("the outputs' Merkle root is not the revealed output root")
    storage.posted_outputs.put(ctx.state, storage.posted_key(job_id, who), tuple(outputs))
    _put(ctx, job, idx, a.replace(outputs_posted=True))
    ctx.emit(events.OutputsPosted(job_id, who, len(outputs)))
    _settle_disputes(ctx, storage.jobs.get(ctx.state, job_id))


# --- helpers ----------------------------------------------------------------------------------------------


def _uphold(ctx: CallContext, job: Job, idx: int, item: int, challenger: bytes | None) -> None:
    """A fault shown: slash, reward the challenger from the slash, refund the requester, no pay, no credit."""
    a = job.assignments[idx]
    burned, reward = slash_bond(ctx, a.provider, ctx.param(params.FRAUD_SLASH), challenger)
    balances.unreserve(ctx, job.requester, a.portion)
    count_outcome(ctx, a.provider, "frauds")
    storage.maturing.remove(ctx.state, storage.maturing_key(a.matures_ms, job.id, a.provider))
    storage.posted_outputs.remove(ctx.state, storage.posted_key(job.id, a.provider))
    _put(ctx, job, idx, a.replace(state=FRAUD))
    ctx.emit(events.ChallengeUpheld(
        job.id, a.provider, item, challenger or NOBODY, burned + reward, reward, a.portion
    ))


def _reschedule(ctx: CallContext, job: Job, a: Assignment, matures: int) -> None:
    if matures == a.matures_ms:
        return
    storage.maturing.remove(ctx.state, storage.maturing_key(a.matures_ms, job.id, a.provider))
    storage.maturing.put(ctx.state, storage.maturing_key(matures, job.id, a.provider), ZERO_HASH)


def _put(ctx: CallContext, job: Job, idx: int, a: Assignment) -> None:
    assignments = list(job.assignments)
    assignments[idx] = a
    storage.jobs.put(ctx.state, job.id, job.replace(assignments=tuple(assignments)))
