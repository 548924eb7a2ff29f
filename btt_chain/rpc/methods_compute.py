"""RPC methods of the compute marketplace and the work-weighted consensus, read at the head:

`btt_jobs` and `btt_job` (jobs, their assignments, samples and the escrow split they settle to), `btt_jobTerms`
(the least price and the deadline bounds a job must meet now),
`btt_providers` (bond, classes, stats, credit), `btt_models` (registered models), `btt_powerTable` (the
current and following epoch schedules with stake and work shares, and the next slots' leaders) and
`btt_miningSchedule` (the mining pool's emission periods and what has been emitted, paid and held back).

Amounts and credits are decimal strings of base units; shares are exact decimal fractions as strings
("0.5"); weights are also given in parts per 10^18; accounts are SS58 addresses; hashes are 0x-hex.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from btt_chain.node.job_outputs import input_root_of
from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.rpc import params as p
from btt_chain.rpc import runtime_info
from btt_chain.rpc.at import state_view
from btt_chain.rpc.errors import invalid_params
from btt_chain.rpc.paging import SeekableReader, bounded_scan, int_in, state_views, wire_index, wire_of
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from btt_chain.rpc.render import hex0x
from runtime.bonds import logic as bonds
from runtime.compute import credit as compute_credit
from runtime.compute import hook_budget, mining, posted_inputs, rent, weights_source
from runtime.compute import params as cparams
from runtime.compute import storage as compute
from runtime.compute.assignment import min_deadline_ms
from runtime.compute.costs import chunk_plan, min_price, posting_cost, provider_costs
from runtime.compute.emission import schedule_rows, total_emission
from runtime.compute.errors import MalformedWeights
from runtime.compute.market import cheapest_evictable, share_cap
from runtime.compute.model import input_bytes, output_bytes
from runtime.compute.model_json import spec_to_json
from runtime.compute.reasons import assignment_reason, job_reason
from runtime.compute.sample_fix import authors_since, required_authors
from runtime.compute.settlement import split
from runtime.compute.types import (
    ASSIGNMENT_STATES,
    ENERGY_CLASSES,
    JOB_OPEN,
    JOB_STATES,
    MAX_DECOYS,
    MAX_JOB_ITEMS,
    MAX_REDUNDANCY,
    PRIVATE_OUTCOMES,
    REGION_CLASSES,
    Assignment,
    Job,
    PendingCredit,
    Provider,
    RegisteredModel,
)
from runtime.compute.verify import sample_at
from runtime.compute.weights_source import WeightsUnavailable
from runtime.consensus import logic as consensus
from runtime.consensus import storage as consensus_storage
from runtime.consensus.power import SCALE, stake_share, work_share
from runtime.consensus.types import EpochSchedule
from runtime.context import CallContext
from runtime.items import u64_from_key
from runtime.overlay import Overlay
from runtime.params import storage as params
from runtime.system import storage as system

method = REGISTRY.method

DEFAULT_LIMIT = 50
MAX_LIMIT = 50
"""Jobs per `btt_jobs` page (each rendered with its assignments and their splits)."""
JOB_IDS_SCANNED = 2_000
"""Job ids `btt_jobs` reads per call: each one's status, requester and providers are read from its stored form,
and only the listed jobs are decoded."""
OPEN_INDEX_READ = 100_000
"""Keys of the open-jobs index `btt_jobs` reads for the open status (the index holds at most
`compute.max_open_jobs` entries: 1,000 in every preset, 100,000 at most by the parameter's bounds)."""
PROVIDERS_DEFAULT = 100
PROVIDERS_MAX = 100
"""Providers per `btt_providers` page."""
PENDING_SCANNED = 5_000
"""Pending-credit records `btt_providers` reads per call to sum each listed provider's (keys only; the records
of the listed providers are decoded)."""
LEADER_SLOTS = 8
"""Upcoming slots whose leader `btt_powerTable` lists."""


# parameters -----------------------------------------------------------------------------------------


def job_id(value: Any, ctx: RpcContext) -> int:
    return p.u64_id(value, "job id")


def job_status(value: Any, ctx: RpcContext) -> int:
    if not isinstance(value, str) or value not in JOB_STATES:
        raise invalid_params(f"status: expected one of {', '.join(JOB_STATES)}, got {p.describe(value)}")
    return JOB_STATES.index(value)


def limit(value: Any, ctx: RpcContext) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise invalid_params(f"limit: expected an integer from 1 to {MAX_LIMIT}, got {p.describe(value)}")
    return value


# rendering ------------------------------------------------------------------------------------------


class _Params:
    """Reads parameters for the runtime's pure helpers (`split`) that take a call context."""

    def __init__(self, state: Overlay) -> None:
        self.state = state

    def param(self, name: str) -> int:
        return params.get_param(self.state, name)


def fraction(parts: int) -> str:
    """Parts per 10^18 as an exact decimal fraction: 500000000000000000 -> '0.5'."""
    return format_btt(parts, 18)


def ratio(numerator: int, denominator: int) -> str:
    return fraction(numerator * SCALE // denominator) if denominator else "0"


def render_split(figures: tuple[int, int, int, int, int]) -> dict[str, str]:
    burned, provider, development, foundation, reserve = figures
    return {
        "burned": str(burned),
        "provider": str(provider),
        "developmentFund": str(development),
        "foundation": str(foundation),
        "operationalReserve": str(reserve),
    }


def _split(state: Overlay, amount: int) -> tuple[int, int, int, int, int]:
    return split(cast(CallContext, _Params(state)), amount)


def render_assignment(state: Overlay, job: Job, a: Assignment, prefix: int) -> dict[str, Any]:
    sample_size = params.get_param(state, cparams.SAMPLE_SIZE)
    committed = a.commitment != ZERO_HASH
    return {
        "provider": encode_address(a.provider, prefix),
        "portion": str(a.portion),
        "state": ASSIGNMENT_STATES[a.state],
        "reason": assignment_reason(job, a, compute.private_jobs.get(state, job.id)),
        "assignedBlock": a.assigned_block,
        "commitBySlot": a.commit_by_slot,
        "sampleFromSlot": a.sample_from_slot,
        "commitment": hex0x(a.commitment) if committed else None,
        "commitBlock": a.commit_block if committed else None,
        "sampleWaitsForAuthors": _authors_missing(state, a) if committed and a.sample_seed == ZERO_HASH else None,
        "sampleSeed": hex0x(a.sample_seed) if a.sample_seed != ZERO_HASH else None,
        "sampleIndices": list(sample_at(state, job, a, sample_size)),
        "outputRoot": hex0x(a.output_root) if a.output_root != ZERO_HASH else None,
        "maturesMs": a.matures_ms or None,
        "outputsDueMs": a.outputs_due_ms or None,
        "postedItems": a.posted_items,
        "outputsPosted": a.outputs_posted,
        "postingDeposit": str(a.posting_deposit),
        "split": render_split(_split(state, a.portion)),
    }


def _authors_missing(state: Overlay, a: Assignment) -> int:
    """How many more distinct validators must author a block before this commit's sample is fixed."""
    k = required_authors(state, params.get_param(state, cparams.SAMPLE_AUTHORS))
    return max(0, k - authors_since(state, a.sample_from_slot))


def render_private(state: Overlay, job: Job) -> dict[str, Any] | None:
    """What the chain holds and checked of a private job (null for a public one): its decoys, the keys its items
    and results are sealed to, the sealed root, the windows, the decoys revealed and the items flagged."""
    rec = compute.private_jobs.get(state, job.id)
    if rec is None:
        return None
    return {
        "decoys": rec.decoys,
        "decoyCommitment": hex0x(rec.commitment),
        "deposit": str(rec.deposit),
        "clinicKey": hex0x(rec.clinic_key),
        "providerKey": hex0x(rec.provider_key) if rec.provider_key != ZERO_HASH else None,
        "sealedRoot": hex0x(rec.sealed_root) if rec.sealed_root != ZERO_HASH else None,
        "inputsBySlot": rec.inputs_by_slot or None,
        "decoysBySlot": rec.decoys_by_slot or None,
        "decoyPositions": list(rec.positions),
        "flagged": [i for i in range(job.items) if rec.is_flagged(i)],
        "outcome": PRIVATE_OUTCOMES[rec.outcome],
    }


def render_job(state: Overlay, job: Job, prefix: int) -> dict[str, Any]:
    """A job as `btt_job`, `btt_jobs` and the explorer show it. `inputsPosted`: how many of a requester's input items
    are on chain (`compute.post_inputs`, spec 17; a private job's sealed to its current provider, from 0 at each draw),
    or null where none are owed there (a synthetic job, a private job not drawn yet, a job of spec 16)."""
    reg = compute.models.get(state, job.model)
    portions = [job.portion(k) for k in range(job.redundancy)]
    totals = [0, 0, 0, 0, 0]
    for portion in portions:
        for i, v in enumerate(_split(state, portion)):
            totals[i] += v
    return {
        "id": job.id,
        "requester": encode_address(job.requester, prefix),
        "model": hex0x(job.model),
        "modelName": reg.spec.name if reg is not None else None,
        "inputRoot": hex0x(input_root_of(state, job)),
        "inputSeed": hex0x(job.input_seed) if job.input_seed != ZERO_HASH else None,
        "items": job.items,
        "price": str(job.price),
        "redundancy": job.redundancy,
        "deadlineMs": job.deadline_ms,
        "postedBlock": job.posted_block,
        "priority": job.priority,
        "pricePerMac": str(job.rank),
        "status": JOB_STATES[job.status],
        "reason": job_reason(job),
        "assignments": [render_assignment(state, job, a, prefix) for a in job.assignments],
        "unassigned": len(job.vacant()),
        "inputsPosted": posted_inputs.owed.get(state, job.id),
        "private": render_private(state, job),
        "split": render_split((totals[0], totals[1], totals[2], totals[3], totals[4])),
    }


_STATUS, _REQUESTER, _ASSIGNMENTS = (wire_index(Job, f) for f in ("status", "requester", "assignments"))
_PROVIDER = wire_index(Assignment, "provider")


def _job_matches(wire: Any, status: int | None, requester: bytes | None, provider: bytes | None) -> bool:
    """Whether a stored job's wire form passes the filters (read without building the Job)."""
    if status is not None and wire[_STATUS] != status:
        return False
    if requester is not None and wire[_REQUESTER] != requester:
        return False
    return provider is None or any(a[_PROVIDER] == provider for a in wire[_ASSIGNMENTS])


# methods --------------------------------------------------------------------------------------------


@method(
    "btt_jobs",
    optional("status", job_status),
    optional("requester", p.account),
    optional("provider", p.account),
    optional("limit", limit, DEFAULT_LIMIT),
    optional("at", p.block_hash),
    optional("before", job_id),
)
def btt_jobs(
    ctx: RpcContext, status: int | None, requester: bytes | None, provider: bytes | None, count: int,
    at: bytes | None, before: int | None,
) -> list[dict[str, Any]]:
    """Jobs newest first with ids below `before` (default: all), filtered by status, requester and provider (one
    of its assignments); at most `limit` (default and at most 50). One call reads at most 2,000 jobs: the open
    status takes them from the open-jobs index (every open job, newest first: the index holds at most
    `compute.max_open_jobs`, 1,000 in every preset), the others from ids [before - 2,000, before). To page on,
    pass the last id listed as `before` if the page is full, else (not the open status) `before` - 2,000
    (nothing is left below 0)."""
    reader, state = state_views(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    total = compute.next_job_id.get(state)
    top = total if before is None else min(before, total)
    if status == JOB_OPEN:
        index = bounded_scan(reader, compute.deadlines.prefix, OPEN_INDEX_READ).items
        ids: Iterable[int] = sorted((i for i in (u64_from_key(k[-8:]) for k, _ in index) if i < top),
                                    reverse=True)[:JOB_IDS_SCANNED]
    else:
        ids = range(top - 1, max(top - JOB_IDS_SCANNED, 0) - 1, -1)
    out = []
    for i in ids:
        raw = state.get(compute.jobs.key(i))
        if raw is None or not _job_matches(wire_of(Job, raw), status, requester, provider):
            continue
        out.append(render_job(state, compute.jobs.get(state, i), prefix))
        if len(out) >= count:
            break
    return out


@method("btt_job", Param("id", job_id), optional("at", p.block_hash))
def btt_job(ctx: RpcContext, jid: int, at: bytes | None) -> dict[str, Any] | None:
    """One job with its assignments (state, commitment, sample once fixed, split figures), or null; the job and each
    assignment carry `reason`: why it stands where it does and where its money went (`runtime.compute.reasons`)."""
    state = state_view(ctx, at)
    job = compute.jobs.get(state, jid)
    return None if job is None else render_job(state, job, ctx.node.spec.ss58_prefix)


def _pending_credit(reader: SeekableReader, state: Overlay, accounts: set[bytes]) -> tuple[dict[bytes, int], bool]:
    """Pending credit of each of `accounts`, from at most PENDING_SCANNED records (keys end with the provider:
    only theirs are decoded), and whether every record was read."""
    out: dict[bytes, int] = {}
    scan = bounded_scan(reader, compute.pending_credit.prefix, PENDING_SCANNED)
    for key, raw in scan.items:
        who = key[-32:]
        if who in accounts:
            out[who] = out.get(who, 0) + compute.pending_credit.codec.decode(raw).credit
    return out, scan.next is None


def credit_rules(state: Overlay) -> Any:
    """The credit rules of the spec that runs the next block (spec 20 counts nothing below `compute.credit_floor`)."""
    return runtime_info.module_of(runtime_info.reading_runtime(state), compute_credit.__name__)


def current_epoch(state: Overlay) -> int:
    return consensus.epoch_of(state, system.slot.get(state))


def render_provider(state: Overlay, who: bytes, pr: Provider, epoch: int, window: int, pending: int, complete: bool,
                    prefix: int) -> dict[str, Any]:
    matured = compute.epoch_credit.get(state, who) or PendingCredit(0, 0)
    return {
        "account": encode_address(who, prefix),
        "bond": str(bonds.bonded(state, who)),
        "registered": pr.capacity > 0,
        "capacity": pr.capacity,
        "active": pr.active,
        "region": REGION_CLASSES[pr.region],
        "energy": ENERGY_CLASSES[pr.energy].upper(),
        "regionFactorBps": params.get_param(state, cparams.region_factor(pr.region)),
        "energyFactorBps": params.get_param(state, cparams.energy_factor(pr.energy)),
        "stats": {"assigned": pr.assigned, "completed": pr.completed, "failed": pr.failed,
                  "frauds": pr.frauds},
        "onTimeBps": pr.on_time_bps(),
        "onTimeRatio": ratio(pr.on_time_bps(), 10_000),
        "credit": {
            "recent": str(credit_rules(state).recent_credit(state, who, epoch, window)),
            "epoch": str(matured.credit),
            "epochBurned": str(matured.burned),
            "pending": str(pending),
            "pendingComplete": complete,
        },
    }


@method(
    "btt_providers",
    optional("account", p.account),
    optional("at", p.block_hash),
    optional("limit", int_in("limit", 1, PROVIDERS_MAX), PROVIDERS_DEFAULT),
    optional("after", p.account),
)
def btt_providers(
    ctx: RpcContext, only: bytes | None, at: bytes | None, count: int, after: bytes | None
) -> list[dict[str, Any]]:
    """Providers in account order (or just `account`), a page at a time: at most `limit` (default and at most 100)
    after the account `after` (the last of the previous page; found by a seek); including those that left
    (`registered` false, capacity 0, statistics kept): bond, capacity, classes, stats, on-time ratio and credit:
    `recent` matured over the work window, `epoch` matured and awaiting the next mining distribution,
    `pending` still inside the challenge window, summed from at most 5,000 pending records per call
    (`pendingComplete` false if there were more)."""
    reader, state = state_views(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    epoch = current_epoch(state)
    window = params.get_param(state, cparams.WORK_WINDOW)
    if only is not None:
        found = compute.providers.get(state, only)
        rows = [] if found is None else [(only, found)]
    else:
        n = len(compute.providers.prefix)
        after_key = None if after is None else compute.providers.key(after)
        scan = bounded_scan(reader, compute.providers.prefix, count, after_key)
        rows = [(k[n:], compute.providers.codec.decode(v)) for k, v in scan.items]
    pending, complete = _pending_credit(reader, state, {who for who, _ in rows})
    return [render_provider(state, who, pr, epoch, window, pending.get(who, 0), complete, prefix) for who, pr in rows]


MODELS_LISTED = 1_000
"""Models `btt_models` lists per call (each registered by a referendum or with a deposit)."""


@method("btt_models", optional("at", p.block_hash), optional("after", p.any_hash))
def btt_models(ctx: RpcContext, at: bytes | None, after: bytes | None) -> list[dict[str, Any]]:
    """Registered models in hash order after the hash `after` (found by a seek), at most 1,000 per call (page on with
    the last one's hash): hash, name, the spec in its JSON form (layers, shapes, zero points, labels, weights hash
    and size: docs/models.md), the work of one item, the owner and deposit (null owner: governance), and whether
    this node holds the weights."""
    reader, _ = state_views(ctx, at)
    n = len(compute.models.prefix)
    start = None if after is None else compute.models.key(after)
    scan = bounded_scan(reader, compute.models.prefix, MODELS_LISTED, start)
    out = []
    for key, raw in scan.items:
        reg = compute.models.codec.decode(raw)
        out.append(render_model(key[n:], reg, ctx.node.spec.ss58_prefix))
    return out


def render_model(model_hash: bytes, reg: RegisteredModel, prefix: int) -> dict[str, Any]:
    """A registered model as RPC shows it (one source for `btt_models` and `btt_model`)."""
    spec = reg.spec
    return {
        "hash": hex0x(model_hash),
        "name": spec.name,
        "spec": spec_to_json(spec),
        "labels": list(spec.labels),
        "weightsHash": hex0x(spec.weights_hash),
        "weightsSize": spec.weights_size,
        "weightsHeld": weights_source.has(spec),
        "macsPerItem": reg.macs_per_item,
        "inputBytes": input_bytes(spec),
        "outputBytes": output_bytes(spec),
        "owner": None if reg.owner == ZERO_HASH else encode_address(reg.owner, prefix),
        "deposit": str(reg.deposit),
    }


@method("btt_model", Param("model", p.any_hash), optional("at", p.block_hash))
def btt_model(ctx: RpcContext, model: bytes, at: bytes | None) -> dict[str, Any]:
    """One registered model by hash (as a row of `btt_models`), with the metadata of its weights blob when this
    node holds it (class names, input preprocessing, held-out accuracy: what the owner published; not verified)."""
    state = state_view(ctx, at)
    reg = compute.models.get(state, model)
    if reg is None:
        raise invalid_params(f"model: no model {hex0x(model)} is registered")
    row = render_model(model, reg, ctx.node.spec.ss58_prefix)
    try:
        meta = weights_source.model(reg.spec).metadata
    except (WeightsUnavailable, MalformedWeights):
        meta = None
    row["metadata"] = None if meta is None else {k: v for k, v in meta.items() if k != "heldOut"}
    return row


def _count(name: str, lo: int, hi: int) -> Any:
    def parse(value: Any, ctx: RpcContext) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise invalid_params(f"{name}: expected an integer from {lo} to {hi}, got {p.describe(value)}")
        return value

    return parse


@method(
    "btt_jobTerms",
    Param("model", p.any_hash),
    Param("items", _count("items", 1, MAX_JOB_ITEMS)),
    optional("redundancy", _count("redundancy", 1, MAX_REDUNDANCY), 1),
    optional("at", p.block_hash),
    optional("decoys", _count("decoys", 0, MAX_DECOYS), 0),
)
def btt_job_terms(ctx: RpcContext, model: bytes, items: int, redundancy: int, at: bytes | None,
                  decoys: int) -> dict[str, Any]:
    """What `compute.post_job` accepts for a job of `items` items of `model` at the block `at`: the least price
    (every provider's commit, reveal and output posting fees; with `decoys`, what `compute.post_private_job` takes
    for a private job of that many decoys among the items: its one provider's commit and reveal of every decoy), the
    deadline bounds, the price per multiply-accumulate a price would rank at is `price // (redundancy x items x
    macsPerItem)`, and the room in the market (open jobs, the cap, the share one model owner's jobs or one provider
    may hold, the open jobs on this model's owner's models, and the cheapest job a new one could evict: one no
    provider has committed to, which a job paying more in all takes the place of), and the place's rent a job posted
    now pays (`placeRent`: base units per slot held, at the room's occupancy with it, and the deposit reserved with
    the price: the rate for `holdSlots`; the rent for the slots held is burned at the close, the rest released), and
    `catchingUp`: null, or the due step the start of block `at` stopped in (spec 19: posts are refused until the next
    blocks' starts finish the work waiting)."""
    state = state_view(ctx, at)
    reg = compute.models.get(state, model)
    if reg is None:
        raise invalid_params(f"model: no model {hex0x(model)} is registered")
    if decoys and (redundancy != 1 or decoys >= items):
        raise invalid_params(f"decoys: a private job has one provider and fewer decoys than items ({items})")
    cheapest = cheapest_evictable(state)
    place = rent.quote(state, decoys > 0)
    return {
        "minPrice": str(min_price(state, reg.spec, items, redundancy, decoys)),
        "providerCosts": str(provider_costs(state, reg.spec, items)),
        "postingCost": str(posting_cost(state, reg.spec, items, decoys > 0)),
        "chunks": len(chunk_plan(reg.spec, items, decoys > 0)),
        "minDeadlineMs": min_deadline_ms(state, decoys > 0),
        "maxDeadlineMs": params.get_param(state, cparams.MAX_DEADLINE),
        "macsPerItem": reg.macs_per_item,
        "openJobs": compute.open_jobs.get(state),
        "maxOpenJobs": params.get_param(state, cparams.MAX_OPEN_JOBS),
        "maxOpenJobsPerRequester": params.get_param(state, cparams.MAX_OPEN_JOBS_PER_REQUESTER),
        "maxOpenShare": share_cap(state),
        "ownerOpenJobs": None if reg.owner == ZERO_HASH else compute.open_by_owner.get(state, reg.owner),
        "cheapestEvictable": None if cheapest is None else {
            "job": cheapest[2], "price": str(cheapest[1]), "priority": cheapest[0],
        },
        "placeRent": {
            "ratePerSlot": str(place.rate), "deposit": str(place.deposit),
            "holdSlots": rent.hold_slots(state, decoys > 0),
        },
        "catchingUp": _catching_up(state),
    }


def _catching_up(state: Overlay) -> str | None:
    step = hook_budget.backlog.get(state)
    return hook_budget.STEPS[step - 1] if step else None


def render_schedule(schedule: EpochSchedule | None, prefix: int) -> dict[str, Any] | None:
    if schedule is None:
        return None
    table = schedule.table
    total = schedule.total_weight
    return {
        "epoch": schedule.epoch,
        "seed": hex0x(schedule.seed),
        "totalWeight": str(total),
        "validators": [
            {
                "account": encode_address(e.account, prefix),
                "sessionKey": hex0x(e.session_key),
                "bond": str(e.bond),
                "credit": str(e.credit),
                "weight": str(e.weight),
                "stakeShare": fraction(stake_share(e, table)),
                "workShare": fraction(work_share(e, table)),
                "leaderShare": ratio(e.weight, total),
            }
            for e in table
        ],
    }


@method("btt_powerTable", optional("at", p.block_hash))
def btt_power_table(ctx: RpcContext, at: bytes | None) -> dict[str, Any]:
    """The current and following epoch schedules (weights in parts per 10^18: 1/2 stake share +
    1/2 min(work share, stake share)) and the leaders of the next slots."""
    state = state_view(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    current = consensus_storage.current.get(state)
    following = consensus_storage.following.get(state)
    accounts: dict[bytes, bytes] = {}
    for schedule in (current, following):
        for e in schedule.table if schedule is not None else ():
            accounts.setdefault(e.session_key, e.account)
    head_slot = system.slot.get(state)
    leaders = []
    for slot in range(head_slot + 1, head_slot + 1 + LEADER_SLOTS):
        key = consensus.leader_of_slot(state, slot)
        leaders.append(
            {
                "slot": slot,
                "epoch": consensus.epoch_of(state, slot),
                "sessionKey": hex0x(key) if key is not None else None,
                "account": encode_address(accounts[key], prefix) if key in accounts else None,
            }
        )
    return {
        "epoch": current_epoch(state),
        "epochSlots": consensus_storage.epoch_slots.get(state),
        "scale": str(SCALE),
        "current": render_schedule(current, prefix),
        "following": render_schedule(following, prefix),
        "nextLeaders": leaders,
    }


@method("btt_miningSchedule", optional("at", p.block_hash))
def btt_mining_schedule(ctx: RpcContext, at: bytes | None) -> dict[str, Any]:
    """The mining pool's emission periods in epochs, the current epoch, and emitted (budgeted) so far, paid
    (`compute.total_rewarded`), held back by the per-credit cap, and the pool's balance."""
    state = state_view(ctx, at)
    periods = mining.periods(state)
    epoch_ms = consensus_storage.epoch_ms(state)
    rows = schedule_rows(periods, epoch_ms) if periods and epoch_ms > 0 else []
    epoch = current_epoch(state)
    rewarded = compute.rewarded_epochs.get(state)
    return {
        "epochMs": epoch_ms,
        "currentEpoch": epoch,
        "currentPeriod": next((r.index for r in rows if r.first_epoch <= epoch <= r.last_epoch), None),
        "rewardedEpochs": rewarded,
        "periods": [
            {
                "index": r.index,
                "firstEpoch": r.first_epoch,
                "lastEpoch": r.last_epoch,
                "epochs": r.epochs,
                "amount": str(r.amount),
                "perEpoch": str(r.per_epoch),
            }
            for r in rows
        ],
        "totalEmission": str(total_emission(periods)),
        "emitted": str(mining.emitted_through(state, rewarded)),
        "paid": str(compute.total_rewarded.get(state)),
        "heldBack": str(compute.held_back.get(state)),
        "poolBalance": str(system.account.get(state, module_account(mining.POOL)).free),
    }
