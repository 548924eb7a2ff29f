"""Private jobs (spec 13): a clinic's cases sealed to the one provider drawn for them, the provider checked on decoys
the clinic committed to when it posted.

The life of a private job, beside a public job's (`jobs`, `assignment`, `verify`, `challenge`):

1. Post (`post`): the clinic names its box key (`set_box_key`; results are sealed back to it), the item count, how
   many of the items are its decoys and its commitment to them (salt, positions, the decoy cases' hashes:
   `btt_chain.primitives.sealed_cases.decoy_commitment`), and reserves the price and a deposit
   (`compute.missed_assignment_fee`: what a provider forfeits for holding a place without working). A private job
   has one provider: the decoys check it, not a second provider; its case never goes to more than the one drawn.
2. Assignment: only a provider with a box key is drawn; the chain records that key (a later rotation does not move
   it) and gives the clinic `compute.commit_window_slots` to seal every item to it and post the Merkle root over the
   sealed items (`submit_sealed_inputs`); the provider's commit window is as long again and opens after that. A
   clinic that gives no root by then is refunded its price less the missed-assignment fee (burned) and the provider
   released without a penalty (`unsealed`, run where a commit window closes).
3. The provider opens every item, runs the model, commits to its outputs as for any job, and seals the outputs to
   the clinic (off chain). An item that does not open with its key it flags (`flag_items`) before committing: it
   is paid for it unless somebody shows the item opens (a flagged decoy the clinic reveals, or `open_case`).
4. After the commit and before the sample start (`decoys_by_slot`), the clinic reveals its salt, decoy positions,
   and for each decoy its case and ephemeral secret (`reveal_decoys`). Every node re-seals each decoy and checks the
   sealed item against the sealed root, and the whole against the commitment. A reveal that does not check is
   refused and records nothing: a clinic's bad decoy can never count against the provider. A flagged decoy that
   re-seals is the provider's fraud at once.
5. The sample is the decoy positions (`sample`): the provider's reveal opens every decoy, re-executed by every node
   as any sample. A clinic that did not reveal in time loses its deposit (burned) when the sample is drawn
   (`sample_drawn`); the provider's reveal then opens nothing, and it is paid without work credit.
6. The provider's output root is over its outputs sealed to the clinic (binding RESULT), so that nodes can hold and
   pass on the sealed results, checked against the root, without reading them. Its reveal
   (`reveal_private_result`) opens each decoy's output with the secret it sealed it with; every node re-seals it.
   Sealed results no node serves the clinic may demand on chain (`outputs.demand`): they are posted as sealed items,
   48 bytes longer each (`costs.chunk_plan(..., sealed=True)`), or the provider loses the withholding slash.
7. In the challenge window the clinic may open one real case (`open_case`): its case and secret re-seal to the
   sealed item, its sealed output opens with the clinic's key for that item, and the case is re-executed against it;
   this discloses that one case and its output to everyone.

Real cases are never on chain, in a node's store or in any RPC answer: nodes hold the sealed items only (see the
README's threat model). The chance a provider that skips `f` of `n` items escapes `d` decoys is C(n-f, d) / C(n, d)
(`sealed_cases.escape_probability`), provided decoys and cases look alike (`btt_chain.models.decoys`).
"""

from __future__ import annotations

from collections.abc import Sequence

from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.merkle import verify_merkle_proof
from btt_chain.primitives.sealed_cases import (
    CASE,
    RESULT,
    BoxPublicKey,
    SealBinding,
    SealError,
    box_key_problem,
    commitment_problem,
    open_with_shared_key,
    seal_item,
)
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..balances import logic as balances
from ..compute import (
    assignment_state,
    errors,
    events,
    holds,
    jobs,
    params,
    posted_inputs,
    sample_fix,
    settlement,
    storage,
)
from ..compute.inference import infer
from ..compute.model import input_bytes
from ..compute.models import built, get_model
from ..compute.types import (
    ASSIGNED,
    ASSIGNMENT_STATES,
    COMMITTED,
    FRAUD,
    JOB_CANCELLED,
    JOB_OPEN,
    LATE,
    MAX_DECOYS,
    PRIVATE_CHECKED,
    PRIVATE_PENDING,
    PRIVATE_UNREVEALED,
    PRIVATE_UNSEALED,
    VOID,
    Assignment,
    DecoyOpening,
    Job,
    JobProvider,
    PrivateJob,
    PrivateOpening,
)
from ..params.storage import get_param
from ..system import storage as system


def record(state: Overlay, job_id: int) -> PrivateJob | None:
    """The private part of job `job_id`, or None for a public job."""
    return storage.private_jobs.get(state, job_id)


def genesis_hash(state: Overlay) -> bytes:
    """The chain's genesis hash, which every sealed item is bound to (with its job, item and direction)."""
    return system.block_hash.get(state, 0) or ZERO_HASH


def binding(state: Overlay, job_id: int, index: int) -> SealBinding:
    return SealBinding(genesis_hash(state), job_id, index, CASE)


# --- keys and posting -------------------------------------------------------------------------------------


def set_box_key(ctx: CallContext, who: bytes, key: bytes) -> None:
    problem = box_key_problem(key)
    if problem is not None:
        raise errors.BadBoxKey(problem)
    storage.box_keys.put(ctx.state, who, key)
    ctx.emit(events.BoxKeySet(who, key))


def min_decoys(ctx: CallContext, items: int) -> int:
    """The fewest decoys a job of `items` items may have: `compute.sample_size` (what a public job's sample checks),
    or one fewer than its items."""
    return max(1, min(ctx.param(params.SAMPLE_SIZE), items - 1))


def post(
    ctx: CallContext,
    who: bytes,
    model: bytes,
    items: int,
    decoys: int,
    commitment: bytes,
    price: int,
    deadline_ms: int,
) -> int:
    clinic_key = storage.box_keys.get(ctx.state, who)
    if clinic_key is None:
        raise errors.NoBoxKey("set a box key first (compute.set_box_key): the provider seals your results to it")
    if items < 2:
        raise errors.BadJob("a private job has at least two items: one decoy and one case")
    lo, hi = min_decoys(ctx, items), min(MAX_DECOYS, items - 1)
    if not lo <= decoys <= hi:
        raise errors.BadJob(f"a private job of {items} items has {lo} to {hi} decoys, got {decoys}")
    if commitment == ZERO_HASH:
        raise errors.BadJob("give the commitment to the decoys")
    job_id = jobs.post(ctx, who, model, ZERO_HASH, ZERO_HASH, items, price, 1, deadline_ms, decoys)
    deposit = ctx.param(params.MISSED_ASSIGNMENT_FEE)
    balances.reserve(ctx, who, deposit)
    storage.private_jobs.put(ctx.state, job_id, PrivateJob(decoys, commitment, deposit, clinic_key))
    ctx.emit(events.PrivateJobPosted(job_id, decoys, commitment, deposit))
    return job_id


# --- assignment and the sealed inputs ----------------------------------------------------------------------


def inputs_window(state: Overlay) -> int:
    """Slots the clinic has to give its sealed inputs after a provider is drawn (the commit window's length)."""
    return get_param(state, params.COMMIT_WINDOW)


def assigned(state: Overlay, job_id: int, provider: bytes, slot: int, sample_from_slot: int) -> None:
    """A provider was drawn at `slot` for private job `job_id`: its box key is the one the items are sealed to, and
    the clinic's windows start (a place drawn again after a stall starts afresh)."""
    rec = storage.private_jobs.get(state, job_id)
    assert rec is not None
    key = storage.box_keys.get(state, provider)
    assert key is not None  # only providers with a box key are drawn
    storage.private_jobs.put(state, job_id, rec.replace(
        provider_key=key, sealed_root=ZERO_HASH, inputs_by_slot=slot + inputs_window(state) - 1,
        decoys_by_slot=sample_from_slot - 1, positions=(), flagged=b"",
    ))
    posted_inputs.owe(state, job_id)  # the sealed items go on chain by the end of the sealing window (spec 17)


def _assignment(job: Job) -> Assignment:
    if not job.assignments:
        raise errors.NotAssigned(f"job {job.id} has no provider yet")
    return job.assignments[0]


def _private_open_job(ctx: CallContext, job_id: int) -> tuple[Job, PrivateJob]:
    job = jobs.get_open_job(ctx, job_id)
    rec = record(ctx.state, job_id)
    if rec is None:
        raise errors.NotPrivate(f"job {job_id} is not private")
    return job, rec


def submit_sealed_inputs(ctx: CallContext, who: bytes, job_id: int, root: bytes) -> None:
    job, rec = _private_open_job(ctx, job_id)
    if job.requester != who:
        raise errors.NotRequester()
    a = _assignment(job)
    if a.state != ASSIGNED:
        raise errors.WrongState(f"the assignment is {ASSIGNMENT_STATES[a.state]}")
    if rec.sealed_root != ZERO_HASH:
        raise errors.InputsNotSealed("the sealed inputs of this assignment are already given")
    if ctx.env.slot > rec.inputs_by_slot:
        raise errors.InputsNotSealed(
            f"the sealed inputs were due by slot {rec.inputs_by_slot}; the job closes when the commit window does")
    if root == ZERO_HASH:
        raise errors.BadJob("give the Merkle root over the sealed items")
    storage.private_jobs.put(ctx.state, job_id, rec.replace(sealed_root=root))
    ctx.emit(events.InputsSealed(job_id, a.provider, rec.provider_key, root))


def require_sealed(state: Overlay, job: Job) -> None:
    """A provider commits to a private job only once the clinic gave its sealed inputs: the root, and (spec 17) every
    sealed item on chain."""
    rec = record(state, job.id)
    if rec is not None and not _sealed(state, job, rec):
        raise errors.InputsNotSealed(
            f"the clinic has not given the sealed inputs yet (due by slot {rec.inputs_by_slot})")


def _sealed(state: Overlay, job: Job, rec: PrivateJob) -> bool:
    """Whether the clinic gave what the provider needs to work: the sealed root, and the sealed items on chain where
    they are owed (`posted_inputs`)."""
    return rec.sealed_root != ZERO_HASH and posted_inputs.complete(state, job)


def unsealed(ctx: CallContext, job: Job, a: Assignment) -> bool:
    """Where assigned `a`'s commit window closed: if its job is private and the clinic never gave the sealed inputs
    (the root, or from spec 17 every sealed item on chain: `posted_inputs`), the clinic is at fault. The provider is
    released without a fee, the job closed, the missed-assignment fee (at most the price) burned from the price and
    the rest refunded. Whether it was that case."""
    rec = record(ctx.state, job.id)
    if rec is None or _sealed(ctx.state, job, rec):
        return False
    moved = assignment_state.move(ctx, job, a, VOID)
    job = job.replace(assignments=(moved,))
    fee = min(ctx.param(params.MISSED_ASSIGNMENT_FEE), job.price)
    if fee:
        balances.slash_reserved(ctx, job.requester, fee)
    storage.private_jobs.put(ctx.state, job.id, rec.replace(outcome=PRIVATE_UNSEALED))
    ctx.emit(events.InputsNotSealed(job.id, a.provider, fee))
    jobs.close(ctx, job, JOB_CANCELLED, job.price - fee)
    return True


# --- flags and decoys ---------------------------------------------------------------------------------------


def flag_items(ctx: CallContext, who: bytes, job_id: int, indexes: Sequence[int]) -> None:
    job, rec = _private_open_job(ctx, job_id)
    a = _assignment(job)
    if a.provider != who:
        raise errors.NotAssigned()
    if a.state != ASSIGNED:
        raise errors.WrongState("flag items before committing")
    if ctx.env.slot > a.commit_by_slot:  # a block's start stalls it (spec 19: maybe later)
        raise errors.CommitWindowClosed(f"the commit window of this assignment closed at slot {a.commit_by_slot}")
    if rec.sealed_root == ZERO_HASH:
        raise errors.InputsNotSealed("nothing is sealed to you yet")
    if not indexes:
        raise errors.BadJob("name at least one item")
    flagged = bytearray(rec.flagged.ljust((job.items + 7) // 8, b"\0"))
    for i in indexes:
        if not 0 <= i < job.items:
            raise errors.BadJob(f"job {job_id} has items 0 to {job.items - 1}, not {i}")
        if flagged[i // 8] >> (i % 8) & 1:
            raise errors.BadJob(f"item {i} is already flagged")
        flagged[i // 8] |= 1 << (i % 8)
    rec = rec.replace(flagged=bytes(flagged))
    storage.private_jobs.put(ctx.state, job_id, rec)
    ctx.emit(events.ItemsFlagged(job_id, who, len(indexes), rec.flag_count()))


def resealed(state: Overlay, job: Job, rec: PrivateJob, index: int, case: bytes, secret: bytes,
             proof: Sequence[bytes]) -> str | None:
    """Why (case, secret) is not the opening of item `index`'s sealed item under the job's sealed root, or None when
    re-sealing it gives an item whose Merkle path leads there."""
    width = input_bytes(get_model(state, job.model).spec)
    if len(case) != width:
        return f"item {index}: a case of this model is {width} bytes, got {len(case)}"
    if not 0 <= index < job.items:
        return f"job {job.id} has items 0 to {job.items - 1}, not {index}"
    try:
        sealed = seal_item(case, BoxPublicKey(rec.provider_key), secret, binding(state, job.id, index))
    except SealError as exc:
        return f"item {index}: {exc}"
    if not verify_merkle_proof(rec.sealed_root, sealed, index, job.items, proof):
        return f"item {index}: the case and secret do not re-seal to the item under the sealed root"
    return None


def reveal_decoys(ctx: CallContext, who: bytes, job_id: int, salt: bytes, openings: Sequence[DecoyOpening]) -> None:
    job, rec = _private_open_job(ctx, job_id)
    if job.requester != who:
        raise errors.NotRequester()
    a = _assignment(job)
    if a.state != COMMITTED:
        raise errors.WrongState("the decoys are revealed after the provider commits, before its sample is drawn")
    if rec.outcome != PRIVATE_PENDING or ctx.env.slot > rec.decoys_by_slot:
        raise errors.DecoysClosed(f"the decoys were due by slot {rec.decoys_by_slot}" if rec.outcome ==
                                  PRIVATE_PENDING else "the decoys are already revealed")
    positions = tuple(o.index for o in openings)
    if len(positions) != rec.decoys:
        raise errors.BadDecoys(f"reveal all {rec.decoys} decoys, got {len(positions)}")
    problem = commitment_problem(rec.commitment, salt, job.items, positions, [o.case for o in openings])
    if problem is not None:
        raise errors.BadDecoys(problem)
    for o in openings:
        problem = resealed(ctx.state, job, rec, o.index, o.case, o.secret, o.proof)
        if problem is not None:
            raise errors.BadDecoys(problem)
    for o in openings:
        storage.decoy_cases.put(ctx.state, storage.decoy_key(job_id, o.index), o.case)
    rec = rec.replace(positions=positions, outcome=PRIVATE_CHECKED)
    storage.private_jobs.put(ctx.state, job_id, rec)
    ctx.emit(events.DecoysRevealed(job_id, len(positions)))
    lied = next((p for p in positions if rec.is_flagged(p)), None)
    if lied is not None:  # it said this decoy does not open; the reveal just showed it does
        fraud(ctx, job, a, lied)


def fraud(ctx: CallContext, job: Job, a: Assignment, item: int) -> None:
    """The provider is shown to have flagged an item that opens: the assignment's hold slashed, the clinic
    refunded."""
    burned, reward = settlement.slash(ctx, a.provider, holds.hold_of(ctx.state, job.id, a.provider), None)
    balances.unreserve(ctx, job.requester, a.portion)
    if a.sample_seed == ZERO_HASH:  # convicted before its sample was drawn: nothing is left to draw
        sample_fix.dequeue(ctx, JobProvider(job.id, a.provider), a.sample_from_slot)
    moved = assignment_state.move(ctx, job, a, FRAUD)
    job = job.replace(assignments=(moved,))
    storage.jobs.put(ctx.state, job.id, job)
    ctx.emit(events.FraudDetected(job.id, a.provider, item, burned + reward, a.portion))
    jobs.close_if_ended(ctx, job)


def sample(state: Overlay, job: Job) -> tuple[int, ...] | None:
    """The items a private job's reveal opens (its revealed decoys; none if the clinic did not reveal), or None for
    a public job."""
    rec = record(state, job.id)
    return None if rec is None else rec.positions


def result_binding(state: Overlay, job_id: int, index: int) -> SealBinding:
    return SealBinding(genesis_hash(state), job_id, index, RESULT)


def check_openings(ctx: CallContext, job: Job, a: Assignment, output_root: bytes, salt: bytes,
                   openings: Sequence[PrivateOpening]) -> int | None:
    """A private reveal's openings: exactly the revealed decoys, in order; each output re-sealed to the clinic's key
    with the provider's revealed secret must be the leaf its path leads from to the output root. Refuses bad ones;
    otherwise re-executes the decoys and returns the first whose output differs (None if every one matches)."""
    from ..compute.verify import result_commitment, sample_at

    if result_commitment(output_root, salt) != a.commitment:
        raise errors.CommitmentMismatch()
    indices = sample_at(ctx.state, job, a, ctx.param(params.SAMPLE_SIZE))
    if tuple(o.index for o in openings) != indices:
        raise errors.BadOpenings(f"open exactly the decoys {list(indices)}, in that order")
    rec = record(ctx.state, job.id)
    assert rec is not None
    clinic = BoxPublicKey(rec.clinic_key)
    cases = []
    for o in openings:
        try:
            sealed = seal_item(o.output, clinic, o.secret, result_binding(ctx.state, job.id, o.index))
        except SealError as exc:
            raise errors.BadOpenings(f"item {o.index}: {exc}") from None
        if not verify_merkle_proof(output_root, sealed, o.index, job.items, o.output_proof):
            raise errors.BadOpenings(f"item {o.index}: the output sealed to the clinic is not the leaf whose path "
                                     "leads to the output root")
        case = decoy_case(ctx.state, job.id, o.index)
        if case is None:  # never while the books hold: the decoys stay until the job closes and a late assignment
            raise errors.BadOpenings(f"item {o.index}: its decoy case is not held")  # resolves (`holds_decoys`)
        cases.append(case)
    if not openings:
        return None
    outputs = infer(built(get_model(ctx.state, job.model).spec), cases)
    return next((o.index for o, out in zip(openings, outputs, strict=True) if o.output != out), None)


def decoy_case(state: Overlay, job_id: int, index: int) -> bytes | None:
    return storage.decoy_cases.get(state, storage.decoy_key(job_id, index))


def sample_drawn(ctx: CallContext, job: Job) -> None:
    """The sample of `job`'s assignment is being drawn: a clinic that has not revealed its decoys by now loses its
    deposit; the job goes on unchecked (the provider reveals its root, opens nothing, and is paid without credit)."""
    rec = record(ctx.state, job.id)
    if rec is None or rec.outcome != PRIVATE_PENDING:
        return
    if rec.deposit:
        balances.slash_reserved(ctx, job.requester, rec.deposit)
    storage.private_jobs.put(ctx.state, job.id, rec.replace(deposit=0, outcome=PRIVATE_UNREVEALED))
    ctx.emit(events.DecoysNotRevealed(job.id, rec.deposit))


def earns_credit(state: Overlay, job: Job) -> bool:
    """Whether a settled result of `job` earns work credit: every public one; a private one only if its decoys
    were checked."""
    rec = record(state, job.id)
    return rec is None or rec.outcome == PRIVATE_CHECKED


def closed(ctx: CallContext, job: Job) -> None:
    """`job` closed: a private job's deposit goes back to the clinic (unless burned) and its decoy cases leave the
    state (they are in the reveal's block for anyone who wants them), unless its assignment is late: its late reveal
    opens them, so they stay until that resolves (`late_resolved`)."""
    rec = record(ctx.state, job.id)
    if rec is None:
        return
    if rec.deposit:
        balances.unreserve(ctx, job.requester, rec.deposit)
        storage.private_jobs.put(ctx.state, job.id, rec.replace(deposit=0))
    if not _late(job):
        _drop_decoys(ctx, job.id, rec)


def _late(job: Job) -> bool:
    return any(a.state == LATE for a in job.assignments)


def holds_decoys(job: Job) -> bool:
    """Whether the state keeps a private job's revealed decoy cases: while it is open, and while its assignment is
    late after it closed (the late reveal is checked on them; spec 15 dropped them at the close, and refused every
    late reveal)."""
    return job.status == JOB_OPEN or _late(job)


def late_resolved(ctx: CallContext, job: Job) -> None:
    """`job`'s late assignment ended (its late reveal checked, or its late-reveal time over): a closed private job's
    decoy cases leave the state now."""
    rec = record(ctx.state, job.id)
    if rec is not None and not holds_decoys(job):
        _drop_decoys(ctx, job.id, rec)


def _drop_decoys(ctx: CallContext, job_id: int, rec: PrivateJob) -> None:
    for p in rec.positions:
        storage.decoy_cases.remove(ctx.state, storage.decoy_key(job_id, p))


# --- opening a real case --------------------------------------------------------------------------------------


def open_case(
    ctx: CallContext,
    challenger: bytes,
    job_id: int,
    index: int,
    case: bytes,
    secret: bytes,
    input_proof: Sequence[bytes],
    sealed_output: bytes,
    output_key: bytes,
    output_proof: Sequence[bytes],
) -> None:
    """Show that one item of a verified private result is wrong by opening its case to everyone: the case and its
    secret must re-seal to the sealed item. A flagged item that opens is the provider's fault whatever it output;
    another's sealed output (its path leading to the output root) is opened with the clinic's key for that one item
    (`sealed_cases.shared_key`) and compared with the case re-executed."""
    from ..compute import challenge

    job, idx, a = challenge.verified_assignment(ctx, job_id, _assignment_provider(ctx, job_id))
    rec = record(ctx.state, job_id)
    if rec is None:
        raise errors.NotPrivate(f"job {job_id} is not private: challenge its items with compute.challenge")
    problem = resealed(ctx.state, job, rec, index, case, secret, input_proof)
    if problem is not None:
        raise errors.BadChallenge(problem)
    if not rec.is_flagged(index):
        if not verify_merkle_proof(a.output_root, sealed_output, index, job.items, output_proof):
            raise errors.BadChallenge(f"item {index}: the sealed output's path does not lead to the output root")
        try:
            output = open_with_shared_key(sealed_output, output_key, BoxPublicKey(rec.clinic_key),
                                          result_binding(ctx.state, job_id, index))
        except SealError as exc:
            raise errors.BadChallenge(f"item {index}: {exc}") from None
        if infer(built(get_model(ctx.state, job.model).spec), [case])[0] == output:
            raise errors.ChallengeFailed(f"item {index} re-executes to the committed output")
    challenge.uphold(ctx, job, idx, index, challenger)


def _assignment_provider(ctx: CallContext, job_id: int) -> bytes:
    job = storage.jobs.get(ctx.state, job_id)
    if job is None:
        raise errors.UnknownJob(f"no job {job_id}")
    if not job.assignments:
        raise errors.NotAssigned(f"job {job_id} has no provider")
    return job.assignments[0].provider
