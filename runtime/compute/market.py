"""Who gets the marketplace's room: a job's price per unit of work, the per-requester bound, and eviction.

Spam must cost more than it blocks. So a job pays at least its providers' fees (`costs.min_price`), one
requester holds at most `compute.max_open_jobs_per_requester` open jobs, waiting jobs are assigned by price
per unit of work (stakers' jobs first, as before), and when the chain holds `compute.max_open_jobs` a new
job that pays more per unit of work than the cheapest job still waiting for its first provider takes its place:
that job is closed as evicted and its whole price released. To keep a clinic out, one must outbid it on every
open slot, and the jobs that outbid it get computed and paid for (a job that took another's place cannot be
cancelled, so eviction is never just a fee).

A job's rank is its price per provider per multiply-accumulate: price // (redundancy x items x MACs per item),
in base units. Other jobs are evicted before stakers' jobs, and a staker's job only by another staker's.
"""

from __future__ import annotations

from runtime.compute import errors, storage
from runtime.compute.storage import U128_MAX
from runtime.compute.types import Job
from runtime.overlay import Overlay


def rank(price: int, redundancy: int, items: int, macs_per_item: int) -> int:
    """Base units a job pays each provider per multiply-accumulate (capped at u128)."""
    return min(U128_MAX, price // (redundancy * items * max(1, macs_per_item)))


def check_requester(state: Overlay, who: bytes, cap: int) -> None:
    held = storage.open_by_requester.get(state, who)
    if held >= cap:
        raise errors.TooManyOpenJobs(
            f"this account holds {held} open jobs, the most one requester may ({cap}); wait for one to close"
        )


def cheapest_waiting(state: Overlay) -> tuple[bool, int, int] | None:
    """(priority, rank, job id) of the cheapest job no provider has been assigned to yet, or None."""
    for key, _ in storage.evictable.items(state):
        return key[0] == 1, int.from_bytes(key[1:17], "big"), storage.job_of_evictable_key(key)
    return None


def room_at(state: Overlay, priority: bool, new_rank: int) -> int:
    """The chain is full: the id of the cheapest waiting job (other jobs before stakers'), if a new job of this
    priority and rank outranks it: a higher rank, and a staker's job only by another staker's. MarketFull if
    there is none."""
    victim = cheapest_waiting(state)
    if victim is not None and new_rank > victim[1] and (priority or not victim[0]):
        return victim[2]
    cheapest = "no job is waiting for its first provider" if victim is None else (
        f"the cheapest waiting job pays {victim[1]} base units per multiply-accumulate"
        + (" and is a staker's" if victim[0] else "")
    )
    raise errors.MarketFull(
        f"the chain holds the most open jobs it may and {cheapest}; this job pays {new_rank}: offer more per unit "
        "of work, or try again later"
    )


def index(state: Overlay, job: Job) -> None:
    """A new job waits in the queue and may be evicted until its first assignment."""
    storage.queue.put(state, storage.queue_key(job.priority, job.rank, job.id), b"\x00" * 32)
    storage.evictable.put(state, storage.evictable_key(job.priority, job.rank, job.id), b"\x00" * 32)
    storage.open_by_requester.put(state, job.requester, storage.open_by_requester.get(state, job.requester) + 1)


def first_assigned(state: Overlay, job: Job) -> None:
    storage.evictable.remove(state, storage.evictable_key(job.priority, job.rank, job.id))


def unindex(state: Overlay, job: Job) -> None:
    """The job left the open set."""
    storage.queue.remove(state, storage.queue_key(job.priority, job.rank, job.id))
    storage.evictable.remove(state, storage.evictable_key(job.priority, job.rank, job.id))
    held = storage.open_by_requester.get(state, job.requester) - 1
    if held > 0:
        storage.open_by_requester.put(state, job.requester, held)
    else:
        storage.open_by_requester.remove(state, job.requester)

