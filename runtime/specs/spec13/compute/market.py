"""Who gets the marketplace's room: a job's price per unit of work, the per-requester, per-owner and per-provider
bounds, and eviction.

Spam must cost more than it blocks. So a job pays at least its providers' fees (`costs.min_price`), one
requester holds at most `compute.max_open_jobs_per_requester` open jobs, waiting jobs are assigned by price
per unit of work (stakers' jobs first, as before), and when the chain holds `compute.max_open_jobs` a new
job that pays more per unit of work than the cheapest job no provider has committed to yet (waiting, or assigned
and not committed) takes its place: that job is closed as evicted and its whole price released, and a provider
assigned to it is released too, owing nothing and owed nothing (it had committed to nothing; `AssignmentWithdrawn`).
To keep a clinic out, one must outbid it on every open slot, and the jobs that outbid it get computed and paid for,
or stall and go back to the market at a fee per stall (`outage`); a job that took another's place cannot be
cancelled, so eviction is never just a fee.

No one holds more than a bounded share of the room. With `compute.max_open_share_bps` of `compute.max_open_jobs`
as the share: the jobs on models one owner registered hold at most the share, and one provider holds at most the
share of open assignments (and never more than its capacity). The jobs on all owner-registered models together hold
at most `compute.max_owner_models_share_bps` of the room: an owner's model is served only by the providers that
declare it (`models.serve`), so jobs on it can wait with nobody to take them, and owners cost only their deposits
to multiply. Jobs on models governance registered are not bounded per model: every provider serves them, so they
are computed (and paid for), stall at a fee and move on, or wait only while every provider is busy.

A job's rank is its price per provider per multiply-accumulate: price // (redundancy x items x MACs per item),
in base units. Other jobs are evicted before stakers' jobs, and a staker's job only by another staker's.
"""

from __future__ import annotations

from btt_chain.primitives.hashing import ZERO_HASH
from runtime.overlay import Overlay

from ..compute import errors, params, storage
from ..compute.storage import U128_MAX
from ..compute.types import Job, RegisteredModel
from ..items import StorageMap
from ..params.storage import get_param

BPS = 10_000


def rank(price: int, redundancy: int, items: int, macs_per_item: int) -> int:
    """Base units a job pays each provider per multiply-accumulate (capped at u128)."""
    return min(U128_MAX, price // (redundancy * items * max(1, macs_per_item)))


def share_cap(state: Overlay) -> int:
    """The most open jobs one owner's models, or open assignments one provider, may hold (at least 1)."""
    return max(1, get_param(state, params.MAX_OPEN_JOBS) * get_param(state, params.MAX_OPEN_SHARE) // BPS)


def check_requester(state: Overlay, who: bytes, cap: int) -> None:
    held = storage.open_by_requester.get(state, who)
    if held >= cap:
        raise errors.TooManyOpenJobs(
            f"this account holds {held} open jobs, the most one requester may ({cap}); wait for one to close"
        )


def owner_models_cap(state: Overlay) -> int:
    """The most open jobs all owner-registered models together may hold (at least 1)."""
    return max(1, get_param(state, params.MAX_OPEN_JOBS) * get_param(state, params.MAX_OWNER_MODELS_SHARE) // BPS)


def check_owner(state: Overlay, reg: RegisteredModel) -> None:
    """A new job on `reg` fits its owner's share and the owner models' share (a governance model has no owner and
    no share)."""
    if reg.owner == ZERO_HASH:
        return
    held, cap = storage.open_by_owner.get(state, reg.owner), share_cap(state)
    if held >= cap:
        raise errors.OwnerShareFull(
            f"the models of owner 0x{reg.owner.hex()} hold {held} open jobs, the most one owner's models may ({cap}, "
            f"compute.max_open_share_bps of compute.max_open_jobs); post on another model, or wait for one to close"
        )
    held, cap = storage.open_on_owner_models.get(state), owner_models_cap(state)
    if held >= cap:
        raise errors.OwnerShareFull(
            f"the models owners registered hold {held} open jobs, the most they may together ({cap}, "
            "compute.max_owner_models_share_bps of compute.max_open_jobs); post on a model governance registered, or "
            "wait for one to close"
        )


def cheapest_evictable(state: Overlay) -> tuple[bool, int, int] | None:
    """(priority, rank, job id) of the cheapest job no provider has committed to yet, or None."""
    for key, _ in storage.evictable.items(state):
        return key[0] == 1, int.from_bytes(key[1:17], "big"), storage.job_of_evictable_key(key)
    return None


def room_at(state: Overlay, priority: bool, new_rank: int) -> int:
    """The chain is full: the id of the cheapest job no provider committed to (other jobs before stakers'), if a new
    job of this priority and rank outranks it: a higher rank, and a staker's job only by another staker's.
    MarketFull if there is none."""
    victim = cheapest_evictable(state)
    if victim is not None and new_rank > victim[1] and (priority or not victim[0]):
        return victim[2]
    cheapest = "every open job has a provider's commit" if victim is None else (
        f"the cheapest job without a commit pays {victim[1]} base units per multiply-accumulate"
        + (" and is a staker's" if victim[0] else "")
    )
    raise errors.MarketFull(
        f"the chain holds the most open jobs it may and {cheapest}; this job pays {new_rank}: offer more per unit "
        "of work, or try again later"
    )


def _owner(state: Overlay, job: Job) -> bytes:
    reg = storage.models.get(state, job.model)
    return ZERO_HASH if reg is None else reg.owner


def _count(state: Overlay, item: StorageMap[int], who: bytes, by: int) -> None:
    held = item.get(state, who) + by
    if held > 0:
        item.put(state, who, held)
    else:
        item.remove(state, who)


def index(state: Overlay, job: Job) -> None:
    """A new job waits in the queue and may be evicted until a provider commits to it."""
    storage.queue.put(state, storage.queue_key(job.priority, job.rank, job.id), b"\x00" * 32)
    storage.evictable.put(state, storage.evictable_key(job.priority, job.rank, job.id), b"\x00" * 32)
    _count(state, storage.open_by_requester, job.requester, 1)
    owner = _owner(state, job)
    if owner != ZERO_HASH:
        _count(state, storage.open_by_owner, owner, 1)
        storage.open_on_owner_models.put(state, storage.open_on_owner_models.get(state) + 1)


def requeue(state: Overlay, job: Job) -> None:
    """A place of `job` is vacant again (its provider stalled): it waits in the queue for another provider."""
    storage.queue.put(state, storage.queue_key(job.priority, job.rank, job.id), b"\x00" * 32)


def first_committed(state: Overlay, job: Job) -> None:
    """A provider committed to `job`: it can no longer be evicted."""
    storage.evictable.remove(state, storage.evictable_key(job.priority, job.rank, job.id))


def unindex(state: Overlay, job: Job) -> None:
    """The job left the open set."""
    storage.queue.remove(state, storage.queue_key(job.priority, job.rank, job.id))
    storage.evictable.remove(state, storage.evictable_key(job.priority, job.rank, job.id))
    _count(state, storage.open_by_requester, job.requester, -1)
    owner = _owner(state, job)
    if owner != ZERO_HASH:
        _count(state, storage.open_by_owner, owner, -1)
        storage.open_on_owner_models.put(state, storage.open_on_owner_models.get(state) - 1)
