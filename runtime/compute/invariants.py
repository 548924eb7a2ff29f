"""The compute module's books, as whole-state invariants (FRAME's `try_state`): every counter and index compute
keeps beside its job records agrees with the records themselves.

`check_books` returns one line per broken rule, each starting with the rule's name (`RULES` states them all).
`runtime/invariants.py` runs it with the other modules' checks. It reads the whole compute state (every job,
provider, index entry and posted chunk), so it costs O(state): it runs after every block of every test chain
(`tests/support/runtime_builder.py`), the randomized runs included, and wherever a test calls `check_invariants`;
a node never runs it on the block import path.

Two rules hold only while the parameters they read stay put (`PARAMETER_RULES`, `check_parameter_rules`), and what
compute holds of each account (`held_by_compute`) equals its reserved balance only where nothing else is reserved:
runs that know so (the randomized marketplace run) check them too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from btt_chain.primitives.hashing import ZERO_HASH
from runtime.overlay import Overlay

from ..compute import costs, credit, market, params, posted_inputs, reassign, rent, storage
from ..compute.assignment_state import COUNTED, COUNTERS
from ..compute.holds import floor_problems
from ..compute.private import holds_decoys
from ..compute.types import (
    ASSIGNED,
    ASSIGNMENT_STATES,
    AT_RISK_STATES,
    COMMITTED,
    JOB_CANCELLED,
    JOB_DONE,
    JOB_EVICTED,
    JOB_OPEN,
    JOB_STATES,
    LATE,
    MISSED,
    OPEN_STATES,
    PRIVATE_UNSEALED,
    SETTLED,
    STALLED,
    VERIFIED,
    VOID,
    Assignment,
    Job,
)
from ..params.storage import get_param
from ..system import storage as system

RULES: dict[str, str] = {
    "compute.private": "a private job's record belongs to a job with one place and neither an input root nor a seed; "
                       "its reveal deposit is held only while the job is open; its revealed decoys are exactly its "
                       "decoy count, in order, and their cases are held exactly while the job is open",
    "compute.jobs": "each job is stored under its id, below `next_job_id`, on a registered model, with a known "
                    "status and at most `redundancy` assignments of distinct providers, assignment k escrowing "
                    "`Job.portion(k)`",
    "compute.job_status": "a closed job holds no open assignment; a done job is fully assigned (no place vacant); "
                          "a cancelled job holds no assignment but stalled ones (and a private job its clinic "
                          "never sealed, its void one), an evicted job none that committed",
    "compute.assignment_fields": "a verified or late assignment has its closing time; a late one its sample; a "
                                 "committed one has its last reveal slot exactly when its sample is drawn; only a "
                                 "verified one holds a posting deposit; posted items never exceed the job's, and "
                                 "the outputs are complete exactly when all are posted",
    "compute.open_jobs": "`open_jobs` counts the open jobs",
    "compute.open_by_requester": "`open_by_requester` counts each requester's open jobs (no entry at zero)",
    "compute.open_by_owner": "`open_by_owner` counts the open jobs on each owner's registered models (no entry at "
                             "zero; governance models are not counted), and `open_on_owner_models` all of them",
    "compute.queue": "the queue holds exactly the open jobs with a vacant place (never assigned, or stalled), "
                     "each at its priority and rank",
    "compute.evictable": "the eviction index holds exactly the open jobs no provider has committed to, each at its "
                         "priority and whole price; the owners' and each owner's indexes exactly those of them on "
                         "owners' models",
    "compute.deadlines": "the deadline index holds exactly the open jobs, each at its deadline",
    "compute.samples_waiting": "`samples_waiting` counts the entries of the sample queue",
    "compute.sample_waiting": "every committed assignment whose sample is not drawn waits once in the sample queue, "
                              "under its sample start; an entry is such a commit, or one that expired undrawn "
                              "(missed); no group is empty",
    "compute.commit_due": "the commit index holds exactly the assigned assignments, each at its last commit slot",
    "compute.reveal_due": "the reveal index holds exactly the committed assignments whose sample is drawn, each at "
                          "its last reveal slot",
    "compute.maturing": "the maturity index holds exactly the verified assignments, each at its closing time",
    "compute.late_reveals": "the late-reveal index holds exactly the late assignments, each at its late-reveal time",
    "compute.posted_chunks": "posted chunks belong to verified assignments only, numbered from 0, as many as their "
                             "posted items fill, each as full as the chunk plan says",
    "compute.posted_inputs": "a job owes its inputs on chain (spec 17) only while it is open or a result of it is "
                             "verified, and only with its requester's own inputs (an input root and no seed, or a "
                             "private job drawn); at most all its items are posted, in chunks numbered from 0 as the "
                             "chunk plan cuts them, and no chunk is held without the entry; a public job owing its "
                             "inputs has no provider before all are on chain, nor a private job a committed one",
    "compute.providers": "every assignment's provider is registered; a provider's counters (`active`, `at_risk`, "
                         "`completed`, `failed`, `frauds` by `assignment_state.COUNTED`) equal what its assignments "
                         "add up to, `assigned` less `stalled` equals its assignments that did not stall, and its "
                         "stalled entries still in jobs are at most `stalled`; `active` is within its capacity",
    "compute.outages": "outage records are providers'",
    "compute.escrow": "each account's reserved balance covers what compute holds of it: its open jobs' unassigned "
                      "escrow, its assignments' escrow while not final nor late, their unspent posting deposits, "
                      "its open jobs' rent deposits and its models' deposits",
    "compute.rent": "a place's rent is held for open jobs only",
    "compute.reassign": "only an open job keeps the provider that failed its place out of its draw",
    "compute.pending_credit": "credit waiting to mature belongs to a settled assignment, once, and is positive",
    "compute.credit_totals": "each epoch's credit total (spec 20) is the sum of the providers' history buckets of that "
                             "epoch, for every epoch at or above the floor (while compute's migration 3 -> 4 runs, "
                             "of the providers it has passed), and none is kept below the floor",
    "compute.model_servers": "a model served by declaration is an owner's registered model, served by a registered "
                             "provider",
}
"""Rule name -> what it states. A broken rule's line starts with its name."""

PARAMETER_RULES: dict[str, str] = {
    "compute.bond_floor": "a provider's total held (`holds.held`) is the sum of the holds of its assignments at "
                          "risk, no other assignment has a hold of its own, and its active bond covers that total "
                          "(after every slash and missed-deadline fee)",
    "compute.fee_cap": "no provider was charged more missed-deadline fees in an epoch than "
                       "`compute.max_missed_per_epoch`",
}
"""Rules that hold while the parameters they read stay as they were (`check_parameter_rules`): governance may lower
the fee cap in an epoch with fees charged, and a validator's offence may slash a bond that also covers compute holds
(`bonds.slash`), and the state is sound; so they are not part of the books, and a run that keeps those parameters
fixed (and slashes no validator) checks them."""


def check_books(state: Overlay) -> list[str]:
    """Every broken rule of compute's books, one readable line each (empty when they hold)."""
    jobs = list(storage.jobs.items(state))
    problems: list[str] = []
    problems += _jobs(state, jobs)
    open_jobs = [j for _, j in jobs if j.status == JOB_OPEN]
    problems += _market(state, open_jobs)
    by_job = {j.id: j for _, j in jobs}
    problems += _samples(state, by_job)
    problems += _windows(state, by_job)
    problems += _posted_chunks(state, by_job)
    problems += _posted_inputs(state, by_job)
    problems += _providers(state, by_job.values())
    problems += _escrow(state, by_job.values())
    problems += _credit_and_servers(state, by_job)
    problems += _credit_totals(state)
    problems += _private(state, by_job)
    return problems


def _credit_totals(state: Overlay) -> list[str]:
    floor = storage.credit_floor.get(state)
    whole = credit.totals_whole(state)
    passed = None if whole else storage.credit_totals_passed.get(state)  # while the migration runs: its progress
    expected: Counter[int] = Counter()
    for who, history in storage.credit_history.items(state):
        if whole or (passed is not None and who <= passed):
            for b in history:
                if b.epoch >= floor:
                    expected[b.epoch] += b.credit
    stored = dict(storage.credit_totals.items(state))
    problems = [f"compute.credit_totals: epoch {e} totals {stored.get(e, 0)}, its buckets {expected[e]}"
                for e in sorted(set(expected) | {e for e in stored if e >= floor}) if stored.get(e, 0) != expected[e]]
    problems += [f"compute.credit_totals: epoch {e} has a total below the floor ({floor})" for e in stored if e < floor]
    return problems


def _private(state: Overlay, by_job: dict[int, Job]) -> list[str]:
    problems = []
    held_cases = {(int.from_bytes(k[:8], "big"), int.from_bytes(k[8:12], "big"))
                  for k, _ in state.iterate(storage.decoy_cases.prefix) for k in [k[len(storage.decoy_cases.prefix):]]}
    wanted = set()
    for job_id, rec in storage.private_jobs.items(state):
        job = by_job.get(job_id)
        where = f"private job {job_id}"
        if job is None or job.redundancy != 1 or job.input_root != ZERO_HASH or job.input_seed != ZERO_HASH:
            problems.append(f"compute.private: {where} has no job of one place without inputs")
            continue
        if rec.deposit and job.status != JOB_OPEN:
            problems.append(f"compute.private: {where} is closed and still holds its deposit")
        if rec.positions and (len(rec.positions) != rec.decoys or list(rec.positions) != sorted(set(rec.positions))
                              or rec.positions[-1] >= job.items):
            problems.append(f"compute.private: {where} revealed decoys {list(rec.positions)} of {rec.decoys}")
        if holds_decoys(job):
            wanted |= {(job_id, p) for p in rec.positions}
    if held_cases != wanted:
        problems.append(f"compute.private: decoy cases held {sorted(held_cases ^ wanted)[:4]} differ from the "
                        "revealed decoys of the open jobs and the late ones")
    return problems


def check_parameter_rules(state: Overlay) -> list[str]:
    """Every broken rule of `PARAMETER_RULES`, one readable line each, against today's parameters."""
    problems = floor_problems(state, (j for _, j in storage.jobs.items(state)))
    cap = get_param(state, params.MAX_MISSED_PER_EPOCH)
    for who, outage in storage.outages.items(state):
        if outage.charged > cap:
            problems.append(f"compute.fee_cap: 0x{who.hex()} was charged {outage.charged} in epoch {outage.epoch}, "
                            f"above the cap {cap}")
    return problems


def held_by_compute(state: Overlay, jobs: Iterable[Job] | None = None) -> dict[bytes, int]:
    """Account -> what compute holds reserved of it: unassigned escrow of its open jobs, the escrow of its
    assignments neither final nor late (a late one's went back at the deadline), their unspent posting deposits,
    the deposits of the models it registered and of its private jobs' decoy reveals. `jobs`: every job, if the
    caller read them already."""
    held: Counter[bytes] = Counter()
    for job in (j for _, j in storage.jobs.items(state)) if jobs is None else jobs:
        if job.status == JOB_OPEN:
            held[job.requester] += job.unassigned_escrow
        for a in job.assignments:
            if a.state in AT_RISK_STATES and a.state != LATE:
                held[job.requester] += a.portion
            held[job.requester] += a.posting_deposit
    for _, reg in storage.models.items(state):
        if reg.owner != ZERO_HASH:
            held[reg.owner] += reg.deposit
    for job_id, place in rent.place_rents.items(state):
        job = storage.jobs.get(state, job_id)
        if job is not None:
            held[job.requester] += place.deposit
    for job_id, rec in storage.private_jobs.items(state):
        if rec.deposit:
            job = storage.jobs.get(state, job_id)
            if job is not None:
                held[job.requester] += rec.deposit
    return {who: amount for who, amount in held.items() if amount}


# --- the rules ----------------------------------------------------------------------------------------------


def _jobs(state: Overlay, jobs: list[tuple[int, Job]]) -> list[str]:
    problems = []
    next_id = storage.next_job_id.get(state)
    for key, job in jobs:
        where = f"job {key}"
        providers = [a.provider for a in job.assignments]
        if job.id != key or job.id >= next_id:
            problems.append(f"compute.jobs: {where} holds id {job.id} (next id {next_id})")
        if job.status >= len(JOB_STATES) or any(a.state >= len(ASSIGNMENT_STATES) for a in job.assignments):
            problems.append(f"compute.jobs: {where} has an unknown status or assignment state")
            continue
        if not storage.models.contains(state, job.model):
            problems.append(f"compute.jobs: {where} names model 0x{job.model.hex()}, which is not registered")
        if len(providers) > job.redundancy or len(set(providers)) != len(providers):
            problems.append(f"compute.jobs: {where} has {len(providers)} assignments ({len(set(providers))} "
                            f"providers) for redundancy {job.redundancy}")
        if any(a.portion != job.portion(k) for k, a in enumerate(job.assignments)):
            problems.append(f"compute.jobs: {where}: an assignment's escrow is not its share of the price")
        opened = sum(a.state in OPEN_STATES for a in job.assignments)
        status = JOB_STATES[job.status]
        if job.status != JOB_OPEN and opened:
            problems.append(f"compute.job_status: {where} is {status} with {opened} open assignments")
        if job.status == JOB_DONE and not job.fully_assigned:
            problems.append(f"compute.job_status: {where} is done with places {job.vacant()} vacant")
        unsealed = job.status == JOB_CANCELLED and _unsealed(state, job.id)
        if job.status == JOB_CANCELLED and any(a.state != STALLED and not (unsealed and a.state == VOID)
                                               for a in job.assignments):
            problems.append(f"compute.job_status: {where} is cancelled with a provider's assignment")
        if job.status == JOB_EVICTED and job.committed_any:
            problems.append(f"compute.job_status: {where} is evicted and a provider committed to it")
        for a in job.assignments:
            problems += _fields(job, a)
    return problems


def _unsealed(state: Overlay, job_id: int) -> bool:
    rec = storage.private_jobs.get(state, job_id)
    return rec is not None and rec.outcome == PRIVATE_UNSEALED


def _fields(job: Job, a: Assignment) -> list[str]:
    where = f"job {job.id}, provider 0x{a.provider.hex()}"
    state = ASSIGNMENT_STATES[a.state]
    problems = []
    if a.state in (VERIFIED, LATE) and a.matures_ms == 0:
        problems.append(f"compute.assignment_fields: {where} is {state} with no closing time")
    if a.state == LATE and a.sample_seed == ZERO_HASH:
        problems.append(f"compute.assignment_fields: {where} is late with no sample drawn")
    if a.state == COMMITTED and (a.sample_seed == ZERO_HASH) != (a.reveal_by_slot == 0):
        problems.append(f"compute.assignment_fields: {where} is committed with its sample "
                        f"{'not ' if a.sample_seed == ZERO_HASH else ''}drawn and last reveal slot {a.reveal_by_slot}")
    if a.posting_deposit and a.state != VERIFIED:
        problems.append(f"compute.assignment_fields: {where} is {state} and holds a posting deposit "
                        f"{a.posting_deposit}")
    if a.posted_items > job.items or a.outputs_posted != (a.posted_items == job.items):
        problems.append(f"compute.assignment_fields: {where} posted {a.posted_items} of {job.items} items, "
                        f"outputs {'complete' if a.outputs_posted else 'incomplete'}")
    return problems


def _market(state: Overlay, open_jobs: list[Job]) -> list[str]:
    problems = []
    counted = storage.open_jobs.get(state)
    if counted != len(open_jobs):
        problems.append(f"compute.open_jobs: counts {counted}, {len(open_jobs)} jobs are open")
    problems += _same_counts("compute.open_by_requester", dict(storage.open_by_requester.items(state)),
                             Counter(j.requester for j in open_jobs), "holds")
    by_owner: Counter[bytes] = Counter()
    for j in open_jobs:
        reg = storage.models.get(state, j.model)
        if reg is not None and reg.owner != ZERO_HASH:
            by_owner[reg.owner] += 1
    on_owner_models = storage.open_on_owner_models.get(state)
    if on_owner_models != sum(by_owner.values()):
        problems.append(f"compute.open_by_owner: `open_on_owner_models` counts {on_owner_models}, owners' models "
                        f"hold {sum(by_owner.values())} open jobs")
    problems += _same_counts("compute.open_by_owner", dict(storage.open_by_owner.items(state)), by_owner,
                             "its models hold")
    problems += _same_keys("compute.queue", (k for k, _ in storage.queue.items(state)), (
        storage.queue_key(j.priority, j.rank, j.id) for j in open_jobs if j.vacant()),
        lambda k: f"job {int.from_bytes(k[-8:], 'big')}")
    evictable = [j for j in open_jobs if not j.committed_any]
    owners = {j.id: market.owner_of(state, j) for j in evictable}
    problems += _same_keys("compute.evictable", (k for k, _ in storage.evictable.items(state)), (
        storage.evictable_key(j.priority, j.price, j.id) for j in evictable),
        lambda k: f"job {storage.job_of_evictable_key(k)}")
    problems += _same_keys("compute.evictable", (k for k, _ in storage.evictable_owned.items(state)), (
        storage.evictable_key(j.priority, j.price, j.id) for j in evictable if owners[j.id] != ZERO_HASH),
        lambda k: f"job {storage.job_of_evictable_key(k)} (owners' index)")
    problems += _same_keys("compute.evictable", (k for k, _ in storage.evictable_by_owner.items(state)), (
        owners[j.id] + storage.evictable_key(j.priority, j.price, j.id) for j in evictable
        if owners[j.id] != ZERO_HASH),
        lambda k: f"job {storage.job_of_evictable_key(k)} (its owner's index)")
    open_ids = {j.id for j in open_jobs}
    for job_id, _ in rent.place_rents.items(state):
        if job_id not in open_ids:
            problems.append(f"compute.rent: job {job_id} is not open and holds a place's rent")
    for job_id, _ in reassign.excluded.items(state):
        if job_id not in open_ids:
            problems.append(f"compute.reassign: job {job_id} is not open and keeps a provider out")
    problems += _same_keys("compute.deadlines", (k for k, _ in storage.deadlines.items(state)), (
        storage.deadline_key(j.deadline_ms, j.id) for j in open_jobs),
        lambda k: f"job {int.from_bytes(k[8:16], 'big')} at {int.from_bytes(k[:8], 'big')} ms")
    return problems


def _samples(state: Overlay, by_job: dict[int, Job]) -> list[str]:
    problems = []
    groups = list(storage.sample_waiting.items(state))
    entries = [(start, e) for start, group in groups for e in group]
    counted = storage.samples_waiting.get(state)
    if counted != len(entries):
        problems.append(f"compute.samples_waiting: counts {counted}, the sample queue holds {len(entries)}")
    if any(not group for _, group in groups):
        problems.append("compute.sample_waiting: an empty group is stored")
    seen: Counter[tuple[int, bytes]] = Counter((e.job_id, e.provider) for _, e in entries)
    for start, e in entries:
        where = f"job {e.job_id}, provider 0x{e.provider.hex()}"
        job = by_job.get(e.job_id)
        idx = None if job is None else job.assignment_of(e.provider)
        if job is None or idx is None:
            problems.append(f"compute.sample_waiting: {where} waits, and holds no assignment")
            continue
        a = job.assignments[idx]
        if a.state not in (COMMITTED, MISSED) or a.sample_seed != ZERO_HASH or a.sample_from_slot != start:
            problems.append(f"compute.sample_waiting: {where} waits from slot {start}; the assignment is "
                            f"{_name(a.state)}, its sample from slot {a.sample_from_slot}"
                            f"{' drawn' if a.sample_seed != ZERO_HASH else ''}")
    for (job_id, who), n in sorted(seen.items()):
        if n > 1:
            problems.append(f"compute.sample_waiting: job {job_id}, provider 0x{who.hex()} waits {n} times")
    for job in by_job.values():
        for a in job.assignments:
            if a.state == COMMITTED and a.sample_seed == ZERO_HASH and (job.id, a.provider) not in seen:
                problems.append(f"compute.sample_waiting: job {job.id}, provider 0x{a.provider.hex()} committed and "
                                "does not wait for its sample")
    return problems


def _windows(state: Overlay, by_job: dict[int, Job]) -> list[str]:
    def closing(wanted: int) -> Iterable[bytes]:
        return (storage.maturing_key(a.matures_ms, j.id, a.provider)
                for j in by_job.values() for a in j.assignments if a.state == wanted)

    def name(k: bytes) -> str:
        return f"job {int.from_bytes(k[8:16], 'big')}, provider 0x{k[16:].hex()} at {int.from_bytes(k[:8], 'big')} ms"

    def due(k: bytes) -> str:
        return f"job {int.from_bytes(k[8:16], 'big')}, provider 0x{k[16:].hex()} at slot {int.from_bytes(k[:8], 'big')}"

    commits = (storage.due_key(a.commit_by_slot, j.id, a.provider)
               for j in by_job.values() for a in j.assignments if a.state == ASSIGNED)
    reveals = (storage.due_key(a.reveal_by_slot, j.id, a.provider)
               for j in by_job.values() for a in j.assignments if a.state == COMMITTED and a.sample_seed != ZERO_HASH)
    return [
        *_same_keys("compute.commit_due", (k for k, _ in storage.commit_due.items(state)), commits, due),
        *_same_keys("compute.reveal_due", (k for k, _ in storage.reveal_due.items(state)), reveals, due),
        *_same_keys("compute.maturing", (k for k, _ in storage.maturing.items(state)), closing(VERIFIED), name),
        *_same_keys("compute.late_reveals", (k for k, _ in storage.late_reveals.items(state)), closing(LATE), name),
    ]


def _posted_chunks(state: Overlay, by_job: dict[int, Job]) -> list[str]:
    problems = []
    chunks: dict[tuple[int, bytes], dict[int, int]] = {}
    for key, items in storage.posted_chunks.items(state):
        job_id, who, n = int.from_bytes(key[:8], "big"), key[8:40], int.from_bytes(key[40:44], "big")
        chunks.setdefault((job_id, who), {})[n] = len(items)
    for (job_id, who), posted in sorted(chunks.items()):
        job = by_job.get(job_id)
        idx = None if job is None else job.assignment_of(who)
        if job is None or idx is None or job.assignments[idx].state != VERIFIED:
            problems.append(f"compute.posted_chunks: job {job_id}, provider 0x{who.hex()} has {len(posted)} "
                            "chunks on chain and no verified assignment")
    for job in by_job.values():
        reg = storage.models.get(state, job.model)
        for a in job.assignments:
            if a.state != VERIFIED or reg is None:
                continue
            per = costs.chunk_items(reg.spec, storage.private_jobs.get(state, job.id) is not None)
            expected = {n: min(per, a.posted_items - n * per) for n in range(-(-a.posted_items // per))}
            if chunks.get((job.id, a.provider), {}) != expected:
                problems.append(f"compute.posted_chunks: job {job.id}, provider 0x{a.provider.hex()} posted "
                                f"{a.posted_items} items; chunks on chain (number: items) "
                                f"{chunks.get((job.id, a.provider), {})}, expected {expected}")
    return problems


def _posted_inputs(state: Overlay, by_job: dict[int, Job]) -> list[str]:
    problems = []
    chunks: dict[int, dict[int, int]] = {}
    for key, items in posted_inputs.input_chunks.items(state):
        chunks.setdefault(int.from_bytes(key[:8], "big"), {})[int.from_bytes(key[8:12], "big")] = len(items)
    owed = dict(posted_inputs.owed.items(state))
    sources = dict(posted_inputs.inputs_from.items(state))
    sharers = dict(posted_inputs.sharers.items(state))
    for job_id in sorted(set(chunks) - set(owed) - set(sharers)):
        problems.append(f"compute.posted_inputs: job {job_id} holds input chunks and owes no inputs")
    problems += _shared_inputs(by_job, chunks, owed, sources, sharers)
    for job_id, posted in sorted(owed.items()):
        job = by_job.get(job_id)
        where = f"job {job_id}"
        if job is None or not (job.status == JOB_OPEN or any(a.state == VERIFIED for a in job.assignments)):
            problems.append(f"compute.posted_inputs: {where} owes inputs and is neither open nor verified")
            continue
        sealed = storage.private_jobs.get(state, job_id) is not None
        if job.input_seed != ZERO_HASH or (not sealed and job.input_root == ZERO_HASH) or (sealed and not
                                                                                             job.assignments):
            problems.append(f"compute.posted_inputs: {where} owes inputs it cannot have (synthetic, rootless or "
                            "undrawn)")
        if posted > job.items:
            problems.append(f"compute.posted_inputs: {where} has {posted} of {job.items} items posted")
        reg = storage.models.get(state, job.model)
        if reg is not None and job_id not in sources:
            per = posted_inputs.input_chunk_items(reg.spec, sealed)
            expected = {n: min(per, posted - n * per) for n in range(-(-posted // per))}
            if chunks.get(job_id, {}) != expected:
                problems.append(f"compute.posted_inputs: {where} posted {posted} items; chunks (number: items) "
                                f"{chunks.get(job_id, {})}, expected {expected}")
        if posted < job.items and any(a.state in ((COMMITTED, VERIFIED, LATE) if sealed else posted_inputs.HELD)
                                      for a in job.assignments):
            problems.append(f"compute.posted_inputs: {where} has a provider held to it with {posted} of "
                            f"{job.items} inputs on chain")
    return problems


def _shared_inputs(by_job: dict[int, Job], chunks: dict[int, dict[int, int]], owed: dict[int, int],
                   sources: dict[int, int], sharers: dict[int, int]) -> list[str]:
    """Spec 18's references to another job's chunks: each job posted again reads a job holding all its inputs, of the
    same model and item count, holds no chunks of its own, and is counted once in that job's `sharers`."""
    problems = []
    readers: Counter[int] = Counter(sources.values())
    for source in sorted(set(readers) | set(sharers)):
        if readers[source] != sharers.get(source, 0):
            problems.append(f"compute.posted_inputs: job {source}'s chunks are read by {readers[source]} jobs, "
                            f"counted {sharers.get(source, 0)}")
    for job_id, source in sorted(sources.items()):
        job, original = by_job.get(job_id), by_job.get(source)
        where = f"job {job_id}, reading job {source}'s inputs,"
        if job_id in chunks or source in sources:
            problems.append(f"compute.posted_inputs: {where} holds chunks itself or reads through another reader")
        if job is None or original is None or owed.get(job_id) != job.items or \
                (job.model, job.items, job.input_root) != (original.model, original.items, original.input_root):
            problems.append(f"compute.posted_inputs: {where} is not a whole copy of its original's")
        elif sum(chunks.get(source, {}).values()) != original.items:
            problems.append(f"compute.posted_inputs: {where} finds {sum(chunks.get(source, {}).values())} of "
                            f"{original.items} items there")
    return problems


def _providers(state: Overlay, jobs: Iterable[Job]) -> list[str]:
    problems = []
    counts: dict[bytes, Counter[str]] = {}
    for job in jobs:
        for a in job.assignments:
            mine = counts.setdefault(a.provider, Counter())
            mine["stalled entries" if a.state == STALLED else "not stalled"] += 1
            mine.update(COUNTED.get(a.state, ()))
    records = dict(storage.providers.items(state))
    for who in sorted(set(counts) - set(records)):
        problems.append(f"compute.providers: 0x{who.hex()} holds assignments and no provider record")
    for who, p in sorted(records.items()):
        mine = counts.get(who, Counter())
        wrong = [f"{name} {getattr(p, name)} (its assignments add up to {mine[name]})"
                 for name in COUNTERS if getattr(p, name) != mine[name]]
        if p.assigned - p.stalled != mine["not stalled"]:
            wrong.append(f"assigned {p.assigned} less stalled {p.stalled} (its assignments that did not stall are "
                         f"{mine['not stalled']})")
        if mine["stalled entries"] > p.stalled:
            wrong.append(f"stalled {p.stalled} (its stalled entries still in jobs are {mine['stalled entries']})")
        if wrong:
            problems.append(f"compute.providers: 0x{who.hex()} counts " + ", ".join(wrong))
        if p.active > p.capacity:
            problems.append(f"compute.providers: 0x{who.hex()} holds {p.active} open assignments, capacity "
                            f"{p.capacity}")
    for who, _ in storage.outages.items(state):
        if who not in records:
            problems.append(f"compute.outages: 0x{who.hex()} has an outage record and is no provider")
    return problems


def _escrow(state: Overlay, jobs: Iterable[Job]) -> list[str]:
    problems = []
    for who, held in sorted(held_by_compute(state, jobs).items()):
        reserved = system.account.get(state, who).reserved
        if reserved < held:
            problems.append(f"compute.escrow: 0x{who.hex()} has {reserved} reserved; compute holds {held} of it")
    return problems


def _credit_and_servers(state: Overlay, by_job: dict[int, Job]) -> list[str]:
    problems = []
    credited: Counter[tuple[int, bytes]] = Counter()
    for key, pc in storage.pending_credit.items(state):
        job_id, who = int.from_bytes(key[8:16], "big"), key[16:]
        credited[(job_id, who)] += 1
        job = by_job.get(job_id)
        idx = None if job is None else job.assignment_of(who)
        if job is None or idx is None or job.assignments[idx].state != SETTLED or pc.credit <= 0:
            problems.append(f"compute.pending_credit: job {job_id}, provider 0x{who.hex()} waits for {pc.credit} "
                            "credit without a settled assignment")
    for (job_id, who), n in credited.items():
        if n > 1:
            problems.append(f"compute.pending_credit: job {job_id}, provider 0x{who.hex()} waits for credit {n} "
                            "times")
    for key, _ in storage.model_servers.items(state):
        model, who = key[:32], key[32:]
        reg = storage.models.get(state, model)
        if reg is None or reg.owner == ZERO_HASH:
            problems.append(f"compute.model_servers: 0x{who.hex()} serves model 0x{model.hex()}, which is "
                            f"{'not registered' if reg is None else 'governance-registered (served by all)'}")
        if not storage.providers.contains(state, who):
            problems.append(f"compute.model_servers: 0x{who.hex()} serves model 0x{model.hex()} and is no provider")
    return problems


def _name(state: int) -> str:
    return ASSIGNMENT_STATES[state] if state < len(ASSIGNMENT_STATES) else f"in unknown state {state}"


def _same_counts(rule: str, stored: dict[bytes, int], actual: Counter[bytes], holds: str) -> list[str]:
    """A stored count per account against the count of open jobs; no entry may sit at zero."""
    problems = []
    for who in sorted(set(stored) | set(actual)):
        if stored.get(who) == 0:
            problems.append(f"{rule}: 0x{who.hex()} has an entry at zero")
        elif stored.get(who, 0) != actual[who]:
            problems.append(f"{rule}: 0x{who.hex()} counted {stored.get(who, 0)}, {holds} {actual[who]} open jobs")
    return problems


def _same_keys(rule: str, stored: Iterable[bytes], expected: Iterable[bytes], name: Callable[[bytes], str]
               ) -> list[str]:
    """The index entries missing from and extra in `stored` against `expected` (each named by `name(key)`)."""
    have, want = set(stored), set(expected)
    problems = [f"{rule}: missing the entry of {name(k)}" for k in sorted(want - have)]
    problems += [f"{rule}: holds an entry of {name(k)} it should not" for k in sorted(have - want)]
    return problems
