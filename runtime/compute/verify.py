"""Commit, reveal and the verdict: every node re-executes the sampled items during block import.

A provider commits H(output root, salt). The randomness of the block `compute.sample_delay_blocks` after
the commit fixes which items are sampled (not the commit block's own reveal: its author knows that one in
advance, and a provider that leads the block could tune its fakes to it); if the provider's own validator
key authored that block, the first later block by another author fixes it. The reveal opens the sampled
items with Merkle paths into the job's input root and the committed output root; the runtime re-runs
the model on them. All equal: a receipt, the payment split and burned, work credit. One differs: the
provider's bond is slashed and the requester refunded.
"""

from __future__ import annotations

from collections.abc import Sequence

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.amounts import UNIT
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from btt_chain.primitives.merkle import verify_merkle_proof
from runtime.balances import logic as balances
from runtime.bonds import logic as bonds
from runtime.bonds import storage as bond_storage
from runtime.compute import errors, events, params, storage
from runtime.compute.inference import infer, input_bytes
from runtime.compute.jobs import built, close, get_model, get_open_job
from runtime.compute.sampling import sample_indices
from runtime.compute.types import (
    ASSIGNED,
    COMMITTED,
    FRAUD,
    JOB_DONE,
    MAX_SAMPLES_DUE,
    OPEN_STATES,
    SETTLED,
    Assignment,
    Job,
    JobProvider,
    Opening,
    PendingCredit,
)
from runtime.consensus import storage as consensus
from runtime.context import CallContext
from runtime.overlay import Overlay
from runtime.session import storage as session

BPS = 10_000
MAX_SAMPLE_DEFERRAL = 64
"""Blocks a sample waits for an author other than the provider's own validator key before it is fixed anyway
(the other validators may be offline; the job's deadline must not pass because of it)."""


def result_commitment(output_root: bytes, salt: bytes) -> bytes:
    """What a provider commits to: H(output root, salt)."""
    return blake2b_256(b"btt-result" + output_root + salt)


def sample_seed(randomness: bytes, job_id: int, provider: bytes) -> bytes:
    return blake2b_256(b"btt-sample-seed" + randomness + job_id.to_bytes(8, "big") + provider)


def sample_of(job: Job, a: Assignment, sample_size: int) -> tuple[int, ...]:
    """The item indices an assignment's reveal must open (empty until its sample seed is fixed)."""
    if a.sample_seed == ZERO_HASH:
        return ()
    return sample_indices(a.sample_seed, job.items, sample_size)


def _assignment(ctx: CallContext, job: Job, who: bytes, state: int) -> tuple[int, Assignment]:
    idx = job.assignment_of(who)
    if idx is None:
        raise errors.NotAssigned()
    a = job.assignments[idx]
    if a.state != state:
        raise errors.WrongState(f"the assignment is {('assigned', 'committed', 'settled', 'fraud', 'missed')[a.state]}")
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
    idx, a = _assignment(ctx, job, who, ASSIGNED)
    due = ctx.env.number + ctx.param(params.SAMPLE_DELAY)
    waiting = storage.sample_due.get(ctx.state, due) or ()
    if len(waiting) >= MAX_SAMPLES_DUE:
        raise errors.WrongState("too many commits wait for that block's randomness; commit in a later block")
    storage.sample_due.put(ctx.state, due, (*waiting, JobProvider(job_id, who)))
    _put_assignment(ctx, job, idx, a.replace(state=COMMITTED, commitment=commitment, commit_block=ctx.env.number))
    ctx.emit(events.ResultCommitted(job_id, who, due))


def fix_samples(ctx: CallContext) -> None:
    """At the start of a block, fix the samples of the commits waiting for this block's randomness."""
    state = ctx.state
    number = ctx.env.number
    waiting = storage.sample_due.get(state, number)
    if not waiting:
        return
    randomness = consensus.randomness.get(state)
    deferred = []
    for entry in waiting:
        job = storage.jobs.get(state, entry.job_id)
        idx = job.assignment_of(entry.provider)
        if idx is None:
            continue
        a = job.assignments[idx]
        if a.state != COMMITTED or a.sample_seed != ZERO_HASH:
            continue
        if _signs_with(state, entry.provider, ctx.env.author) and _others_lead(state, ctx.env.author):
            if number < a.commit_block + ctx.param(params.SAMPLE_DELAY) + MAX_SAMPLE_DEFERRAL:
                # this block's reveal is the provider's own: it knew it before committing, so wait for a block
                # by someone else (whose reveal it cannot know)
                deferred.append(entry)
                continue
        _put_assignment(ctx, job, idx, a.replace(sample_seed=sample_seed(randomness, job.id, entry.provider)))
    storage.sample_due.remove(state, number)
    if deferred:
        later = storage.sample_due.get(state, number + 1) or ()
        storage.sample_due.put(state, number + 1, (*later, *deferred)[:MAX_SAMPLES_DUE])


def _signs_with(state: Overlay, provider: bytes, session_key: bytes) -> bool:
    """Whether `session_key` (a block's author) is the provider's own validator key."""
    if provider == session_key:
        return True
    registration = bond_storage.validators.get(state, provider)
    if registration is not None and registration.session_key == session_key:
        return True
    return any(v.account == provider and v.session_key == session_key for v in session.validators.get(state))


def _others_lead(state: Overlay, author: bytes) -> bool:
    """Whether another validator has weight in this epoch's schedule (on a one-validator chain nobody else
    could fix the sample, and that validator controls every reveal anyway)."""
    schedule = consensus.current.get(state)
    return schedule is not None and any(e.weight and e.session_key != author for e in schedule.table)


def reveal(
    ctx: CallContext, who: bytes, job_id: int, output_root: bytes, salt: bytes, openings: Sequence[Opening]
) -> None:
    """Open the sampled items. Bad openings are refused (nothing changes); valid openings get a verdict."""
    job = get_open_job(ctx, job_id)
    idx, a = _assignment(ctx, job, who, COMMITTED)
    if a.sample_seed == ZERO_HASH:
        raise errors.SampleNotFixed(f"reveal after block {a.commit_block + ctx.param(params.SAMPLE_DELAY)}")
    if result_commitment(output_root, salt) != a.commitment:
        raise errors.CommitmentMismatch()
    indices = sample_of(job, a, ctx.param(params.SAMPLE_SIZE))
    if tuple(o.index for o in openings) != indices:
        raise errors.BadOpenings(f"open exactly the sampled items {list(indices)}, in that order")
    reg = get_model(ctx, job.model)
    width = input_bytes(reg.spec)
    for o in openings:
        if len(o.input) != width:
            raise errors.BadOpenings(f"item {o.index}: an input of this model is {width} bytes")
        if not verify_merkle_proof(job.input_root, o.input, o.index, job.items, o.input_proof):
            raise errors.BadOpenings(f"item {o.index}: the input's path does not lead to the job's input root")
        if not verify_merkle_proof(output_root, o.output, o.index, job.items, o.output_proof):
            raise errors.BadOpenings(f"item {o.index}: the output's path does not lead to the output root")
    outputs = infer(built(reg.spec), [o.input for o in openings])
    bad = next((o.index for o, out in zip(openings, outputs, strict=True) if o.output != out), None)
    a = a.replace(output_root=output_root)
    if bad is None:
        job = _put_assignment(ctx, job, idx, _settle(ctx, job, a, reg.macs_per_item))
    else:
        job = _put_assignment(ctx, job, idx, _fraud(ctx, job, a, bad))
    if len(job.assignments) == job.redundancy and all(x.state not in OPEN_STATES for x in job.assignments):
        close(ctx, job, JOB_DONE, 0)


def split(ctx: CallContext, payment: int) -> tuple[int, int, int, int, int]:
    """(burned, provider, development fund, foundation, operational reserve) of a payment, to the base unit:
    the burn first, then the rest by shares; rounding dust goes to the operational reserve."""
    burned = payment * ctx.param(params.PAYMENT_BURN) // BPS
    rest = payment - burned
    provider = rest * ctx.param(params.PROVIDER_SHARE) // BPS
    development = rest * ctx.param(params.DEVELOPMENT_SHARE) // BPS
    foundation = rest * ctx.param(params.FOUNDATION_SHARE) // BPS
    return burned, provider, development, foundation, rest - provider - development - foundation


def _settle(ctx: CallContext, job: Job, a: Assignment, macs_per_item: int) -> Assignment:
    burned, provider, development, foundation, reserve = split(ctx, a.portion)
    if burned:
        balances.slash_reserved(ctx, job.requester, burned)
    for dest, amount in (
        (a.provider, provider),
        (module_account("development_fund"), development),
        (module_account("foundation"), foundation),
        (module_account("operational_reserve"), reserve),
    ):
        if amount:
            balances.slash_reserved(ctx, job.requester, amount, dest)
    credit = min(macs_per_item * job.items, burned * ctx.param(params.CREDIT_PER_BURNED) // UNIT)
    if credit:
        mature = ctx.env.timestamp_ms + ctx.param(params.CREDIT_MATURITY)
        key = storage.pending_credit_key(mature, job.id, a.provider)
        storage.pending_credit.put(ctx.state, key, PendingCredit(credit, burned))
    p = storage.providers.get(ctx.state, a.provider)
    storage.providers.put(ctx.state, a.provider, p.replace(active=p.active - 1, completed=p.completed + 1))
    ctx.emit(
        events.JobReceipt(job.id, a.provider, job.model, job.items, a.output_root, a.portion, burned, provider, credit)
    )
    return a.replace(state=SETTLED)


def _fraud(ctx: CallContext, job: Job, a: Assignment, item: int) -> Assignment:
    slashed = _slash(ctx, a.provider, ctx.param(params.FRAUD_SLASH))
    balances.unreserve(ctx, job.requester, a.portion)
    p = storage.providers.get(ctx.state, a.provider)
    storage.providers.put(ctx.state, a.provider, p.replace(active=p.active - 1, frauds=p.frauds + 1))
    ctx.emit(events.FraudDetected(job.id, a.provider, item, slashed, a.portion))
    return a.replace(state=FRAUD)


def missed(ctx: CallContext, job: Job, a: Assignment) -> None:
    """The deadline passed with this assignment open: a mark against the provider, and a slash if it had
    committed and its sample was drawn (it saw its sample and chose not to open it). A commit whose sample
    block came at or after the deadline never had a sample to open. The caller refunds the portion."""
    withheld = a.state == COMMITTED and a.sample_seed != ZERO_HASH
    slashed = _slash(ctx, a.provider, ctx.param(params.WITHHELD_SLASH)) if withheld else 0
    p = storage.providers.get(ctx.state, a.provider)
    storage.providers.put(ctx.state, a.provider, p.replace(active=p.active - 1, failed=p.failed + 1))
    ctx.emit(events.DeadlineMissed(job.id, a.provider, a.portion, slashed))


def _slash(ctx: CallContext, provider: bytes, bps: int) -> int:
    # The whole bond, unbonding chunks included: a provider that starts unbonding after it was assigned
    # must not escape the slash (bonds.slash reaches the chunks too).
    led = bonds.get_ledger(ctx.state, provider)
    amount = 0 if led is None else led.total * bps // BPS
    if amount == 0:
        return 0
    burned, reward = bonds.slash(ctx, provider, amount, None)
    return burned + reward
