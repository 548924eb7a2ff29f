"""Jobs nobody is able to serve close early instead of holding a place to their deadline.

A job on an owner's model is drawn only among the providers that declare the model (`models.serve`), and a private
job only among providers with a box key; with none, the job would wait to its deadline (up to seven days) holding a
place, and five Sybil owners could hold the owners' share of the room that way for the price of their deposits. So
every `compute.unserved_wait_ms` a job with a vacant place and no provider working on it is checked: if no registered
provider is able to serve it (one with capacity that serves its model, holds a box key for a private job, holds no
place of it yet and did not fail the place it posts again: `reassign`), it closes as unserved and what no verified
result earned goes back to its requester, as at its deadline. A provider that is only busy or paused is able to
serve: the job then waits, evictable, as any job does.
"""

from __future__ import annotations

from btt_chain.primitives.codec import HASH
from btt_chain.primitives.hashing import ZERO_HASH
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..compute import params, reassign, storage
from ..compute.types import JOB_OPEN, JOB_UNSERVED, OPEN_STATES, Job
from ..items import StorageMap, u64_key

unserved_checks: StorageMap[bytes] = StorageMap("compute", "unserved_checks", HASH, key_size=16)
"""Open jobs by the time of their next check (u64 ms, then job id u64) -> zero hash (spec 14). One entry per job
posted since spec 14; an entry of a job that closed meanwhile is dropped at its time."""


def check_key(at_ms: int, job_id: int) -> bytes:
    return u64_key(at_ms) + u64_key(job_id)


def watch(ctx: CallContext, job: Job) -> None:
    """A new job is checked `compute.unserved_wait_ms` from now, and every as long after while it is open."""
    unserved_checks.put(ctx.state, check_key(ctx.env.timestamp_ms + ctx.param(params.UNSERVED_WAIT), job.id),
                        ZERO_HASH)


def able_to_serve(state: Overlay, job: Job) -> bool:
    """Some registered provider could be drawn for a vacant place of `job` once it is free: capacity, the model
    served, a box key for a private job, and no place of this job held already."""
    reg = storage.models.get(state, job.model)
    if reg is None:
        return False
    holding = {a.provider for a in job.assignments}
    failed = reassign.excluded.get(state, job.id)  # the provider that failed the place this job posts again
    if failed is not None:
        holding.add(failed)
    private = storage.private_jobs.get(state, job.id) is not None
    if reg.owner == ZERO_HASH:
        candidates = (who for who, p in storage.providers.items(state) if p.capacity)
    else:
        n = len(storage.model_servers.prefix) + 32
        candidates = (key[n:] for key, _ in state.iterate(storage.model_servers.prefix + job.model))
    for who in candidates:
        if who in holding or (private and storage.box_keys.get(state, who) is None):
            continue
        provider = storage.providers.get(state, who)
        if provider is not None and provider.capacity:
            return True
    return False


def close_due(ctx: CallContext) -> None:
    """Check every job whose time has come: close it as unserved if it waits for a provider nobody is able to be,
    else check it again after another `compute.unserved_wait_ms`."""
    from ..compute import jobs  # jobs watches new jobs through this module

    state = ctx.state
    now = ctx.env.timestamp_ms
    due = []
    for key, _ in unserved_checks.items(state):
        if int.from_bytes(key[:8], "big") > now:
            break
        due.append(key)
    wait = ctx.param(params.UNSERVED_WAIT)
    for key in due:
        unserved_checks.remove(state, key)
        job = storage.jobs.get(state, int.from_bytes(key[8:16], "big"))
        if job is None or job.status != JOB_OPEN:
            continue
        working = any(a.state in OPEN_STATES for a in job.assignments)
        if job.vacant() and not working and not able_to_serve(state, job):
            jobs.close(ctx, job, JOB_UNSERVED, job.unassigned_escrow)
            continue
        unserved_checks.put(state, check_key(now + wait, job.id), ZERO_HASH)
