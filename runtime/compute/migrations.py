"""Migrations of the compute module's records (spec 14).

Version 0 -> 1: the eviction index is keyed by a job's whole price, not its price per unit of work (a job takes the
place of another only if it pays more in all: `market`), and the owners' and each owner's eviction indexes hold the
entries of jobs on owners' models. Each open job no provider committed to is moved from its spec-13 key to its new
one and entered in the owners' indexes. Open jobs posted under spec 13 pay no place rent (they were posted without
a deposit) and are not checked for being unserved: both apply to jobs posted from spec 14 on.
"""

from __future__ import annotations

from runtime.overlay import Overlay

from ..compute import storage
from ..compute.types import JOB_OPEN, Job
from ..migration import Migration
from ..session.migrations import items_after

REKEY_WEIGHT = 40
"""A job re-keyed, in weight units: the job read, its model read for the owner, one entry removed and up to three
written. Of the order of `evidence.migrations.MOVE_WEIGHT` (23, measured) for a record moved, with twice the writes."""


def _owner(state: Overlay, job: Job) -> bytes | None:
    """The owner of `job`'s model, None for a governance model or one no longer registered."""
    reg = storage.models.get(state, job.model)
    return reg.owner if reg is not None and reg.owner != b"\x00" * 32 else None


def _rekey(state: Overlay, job: Job) -> None:
    storage.evictable.remove(state, storage.evictable_key(job.priority, job.rank, job.id))
    key = storage.evictable_key(job.priority, job.price, job.id)
    storage.evictable.put(state, key, b"\x00" * 32)
    reg = storage.models.get(state, job.model)
    if reg is not None and reg.owner != b"\x00" * 32:
        storage.evictable_owned.put(state, key, b"\x00" * 32)
        storage.evictable_by_owner.put(state, reg.owner + key, b"\x00" * 32)


def evictable_by_price(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
    """Each step re-keys up to `limit` open jobs no provider committed to, in deadline-index order from `cursor`
    (the last deadline key done); None once every open job was passed."""
    done = 0
    for key, _ in items_after(state, storage.deadlines, cursor):
        if done == limit:
            return cursor, done
        job = storage.jobs.get(state, int.from_bytes(key[8:16], "big"))
        if job is not None and job.status == JOB_OPEN and not job.committed_any:
            _rekey(state, job)
        cursor = key
        done += 1
    return None, done


def _rekeyed(state: Overlay, job: Job) -> bool:
    """`job` (open, no provider committed) is where `_rekey` puts it: under its new key in the eviction index, not
    under its spec-13 one, and in the owners' indexes for an owner's model. True of every job posted from spec 14 on,
    and of every job a step of this migration passed."""
    key = storage.evictable_key(job.priority, job.price, job.id)
    old = storage.evictable_key(job.priority, job.rank, job.id)
    if not storage.evictable.contains(state, key) or (old != key and storage.evictable.contains(state, old)):
        return False
    owner = _owner(state, job)
    return owner is None or (storage.evictable_owned.contains(state, key)
                             and storage.evictable_by_owner.contains(state, owner + key))


def _count(state: Overlay) -> int:
    """The work left: open jobs no provider committed to that are not yet re-keyed (`_rekeyed`); none once the
    migration ran, and none on a state spec 14 or later wrote. A step passes every open job's deadline entry (the
    committed ones and those re-keyed already too, which it leaves as they are), so it may do more items than this
    counts."""
    left = 0
    for key, _ in storage.deadlines.items(state):
        job = storage.jobs.get(state, int.from_bytes(key[8:16], "big"))
        if job is not None and job.status == JOB_OPEN and not job.committed_any and not _rekeyed(state, job):
            left += 1
    return left


EVICTABLE_BY_PRICE = Migration(
    "compute", 0, 1, "compute: eviction by whole price, owners' eviction indexes", evictable_by_price,
    item_weight=REKEY_WEIGHT, count=_count,
)
