"""Who gets the marketplace's room: the per-requester, per-owner and per-provider bounds, and eviction.

Spam must cost more than it blocks. So a job pays at least its providers' fees (`costs.min_price`) and rent for
every slot it holds its place (`rent`), one requester holds at most `compute.max_open_jobs_per_requester` open jobs,
waiting jobs are assigned by price per unit of work (stakers' jobs first), and when the chain holds
`compute.max_open_jobs` a new job that pays more in all than the cheapest job no provider has committed to yet
(waiting, or assigned and not committed) takes its place: that job is closed as evicted and its whole price released
(its rent for the slots it held is burned), and a provider assigned to it is released too, owing nothing and owed
nothing (`AssignmentWithdrawn`). Eviction compares whole prices, like with like: a place is a whole job whatever its
size, and spec 13's comparison per multiply-accumulate let a one-item job on a one-MAC model evict a clinic's
256-item job for a 3,887th of its price. A job that took another's place cannot be cancelled, so eviction is never
just a fee.

No one holds more than a bounded share of the room. With `compute.max_open_share_bps` of `compute.max_open_jobs` as
the share: the jobs on models one owner registered hold at most the share, and one provider holds at most the share
of open assignments (and never more than its capacity). The jobs on all owner-registered models together hold at
most `compute.max_owner_models_share_bps` of the room. A full share is evictable like the room: a new job on an
owner's model takes the place of the cheapest job without a commit within the share that is full (its owner's, or
all owners'), if it pays more in all; and a job nobody is able to serve closes after `compute.unserved_wait_ms`
(`unserved`), so Sybil owners cannot park jobs nobody takes in the owners' share to their deadlines.

A job's rank (its place in the assignment queue) is its price per provider per multiply-accumulate:
price // (redundancy x items x MACs per item), in base units. Other jobs are evicted before stakers' jobs, and a
staker's job only by another staker's.
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


def owner_room_at(state: Overlay, reg: RegisteredModel, priority: bool, price: int) -> int | None:
    """A new job on `reg` (of this priority and price) and the owners' shares: None if it fits its owner's share and
    the owner models' share; else the id of the job it takes the place of within the share that is full, which must
    be one no provider committed to that pays less in all (a staker's only for a staker's). OwnerShareFull if there
    is none. A governance model has no owner and no share."""
    if reg.owner == ZERO_HASH:
        return None
    held, cap = storage.open_by_owner.get(state, reg.owner), share_cap(state)
    if held >= cap:
        found = _cheapest(state, storage.evictable_by_owner, reg.owner)
        if _outranks(found, priority, price):
            return found[2]  # type: ignore[index]
        raise errors.OwnerShareFull(
            f"the models of owner 0x{reg.owner.hex()} hold {held} open jobs, the most one owner's models may ({cap}, "
            f"compute.max_open_share_bps of compute.max_open_jobs), and {_cheapest_text(found)}; this job pays "
            f"{price}: offer more, post on another model, or wait for one to close"
        )
    held, cap = storage.open_on_owner_models.get(state), owner_models_cap(state)
    if held >= cap:
        found = _cheapest(state, storage.evictable_owned)
        if _outranks(found, priority, price):
            return found[2]  # type: ignore[index]
        raise errors.OwnerShareFull(
            f"the models owners registered hold {held} open jobs, the most they may together ({cap}, "
            f"compute.max_owner_models_share_bps of compute.max_open_jobs), and {_cheapest_text(found)}; this job "
            f"pays {price}: offer more, post on a model governance registered, or wait for one to close"
        )
    return None


def _cheapest(state: Overlay, item: StorageMap[bytes], owner: bytes = b"") -> tuple[bool, int, int] | None:
    """(priority, price, job id) of the first entry of an eviction index (under `owner`), or None."""
    for key, _ in state.iterate(item.prefix + owner):
        rest = key[len(item.prefix) + len(owner):]
        return rest[0] == 1, int.from_bytes(rest[1:17], "big"), storage.job_of_evictable_key(rest)
    return None


def _outranks(victim: tuple[bool, int, int] | None, priority: bool, price: int) -> bool:
    """A new job of this priority and price takes the place of `victim`: it pays more in all, and a staker's job
    makes way only for another staker's."""
    return victim is not None and price > victim[1] and (priority or not victim[0])


def _cheapest_text(victim: tuple[bool, int, int] | None) -> str:
    if victim is None:
        return "every one of them has a provider's commit"
    return f"the cheapest without a commit pays {victim[1]} in all" + (" and is a staker's" if victim[0] else "")


def cheapest_evictable(state: Overlay) -> tuple[bool, int, int] | None:
    """(priority, price, job id) of the cheapest job no provider has committed to yet, or None."""
    return _cheapest(state, storage.evictable)


def room_at(state: Overlay, priority: bool, price: int) -> int:
    """The chain is full: the id of the cheapest job no provider committed to (other jobs before stakers'), if a new
    job of this priority and whole price pays more in all (a staker's job only by another staker's). MarketFull if
    there is none."""
    victim = cheapest_evictable(state)
    if _outranks(victim, priority, price):
        return victim[2]  # type: ignore[index]
    raise errors.MarketFull(
        f"the chain holds the most open jobs it may and {_cheapest_text(victim)}; this job pays {price} in all: "
        "offer more, or try again later"
    )


def owner_of(state: Overlay, job: Job) -> bytes:
    """The owner of `job`'s model (all zeros for a governance model, or a model no longer registered)."""
    reg = storage.models.get(state, job.model)
    return ZERO_HASH if reg is None else reg.owner


def _count(state: Overlay, item: StorageMap[int], who: bytes, by: int) -> None:
    held = item.get(state, who) + by
    if held > 0:
        item.put(state, who, held)
    else:
        item.remove(state, who)


def _evictable(state: Overlay, job: Job, owner: bytes, present: bool) -> None:
    """Put `job` into (or take it out of) the eviction indexes: the global one, and for an owner's model the owners'
    and its owner's."""
    key = storage.evictable_key(job.priority, job.price, job.id)
    entries = [(storage.evictable, key)]
    if owner != ZERO_HASH:
        entries += [(storage.evictable_owned, key), (storage.evictable_by_owner, owner + key)]
    for item, k in entries:
        if present:
            item.put(state, k, ZERO_HASH)
        else:
            item.remove(state, k)


def index(state: Overlay, job: Job) -> None:
    """A new job waits in the queue and may be evicted until a provider commits to it."""
    storage.queue.put(state, storage.queue_key(job.priority, job.rank, job.id), b"\x00" * 32)
    owner = owner_of(state, job)
    _evictable(state, job, owner, True)
    _count(state, storage.open_by_requester, job.requester, 1)
    if owner != ZERO_HASH:
        _count(state, storage.open_by_owner, owner, 1)
        storage.open_on_owner_models.put(state, storage.open_on_owner_models.get(state) + 1)


def requeue(state: Overlay, job: Job) -> None:
    """A place of `job` is vacant again (its provider stalled): it waits in the queue for another provider."""
    storage.queue.put(state, storage.queue_key(job.priority, job.rank, job.id), b"\x00" * 32)


def first_committed(state: Overlay, job: Job) -> None:
    """A provider committed to `job`: it can no longer be evicted."""
    _evictable(state, job, owner_of(state, job), False)


def unindex(state: Overlay, job: Job) -> None:
    """The job left the open set."""
    storage.queue.remove(state, storage.queue_key(job.priority, job.rank, job.id))
    owner = owner_of(state, job)
    _evictable(state, job, owner, False)
    _count(state, storage.open_by_requester, job.requester, -1)
    if owner != ZERO_HASH:
        _count(state, storage.open_by_owner, owner, -1)
        storage.open_on_owner_models.put(state, storage.open_on_owner_models.get(state) - 1)
