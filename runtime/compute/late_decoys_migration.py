"""Compute 2 -> 3 (spec 16): the late private assignments whose decoys spec 15 dropped open nothing.

Spec 15 removed a private job's revealed decoy cases when the job closed, also when its one assignment was late (its
reveal window or the deadline passed after its sample was drawn): the late reveal, which is checked on those cases,
could then land in no block, and the provider was slashed as withholding at its late-reveal time. Spec 16 keeps the
cases until the late assignment resolves (`private.holds_decoys`). An assignment still late at the upgrade whose
cases are gone cannot be checked by anyone: the chain lost them, not the provider. This migration makes its sample
the empty set (the record's revealed positions cleared), so its late reveal opens nothing and ends as honest late
work: the missed-deadline fee, no pay (the clinic was refunded at the deadline) and no work credit, as for a job
whose clinic never revealed its decoys. One item per late-reveal entry, public or private.
"""

from __future__ import annotations

from runtime.overlay import Overlay

from ..compute import storage
from ..compute.types import JOB_OPEN
from ..migration import Migration
from ..session.migrations import items_after

ITEM_WEIGHT = 15
"""A late-reveal entry looked at, in weight units: the job and its private record read, one decoy key looked up, the
record written where it lost its cases (as `hold_migration.RECORD_WEIGHT`, the same reads and write)."""


def _lost_decoys(state: Overlay, job_id: int) -> bool:
    """Whether `job_id` is a closed private job with revealed decoys none of whose cases the state holds."""
    job = storage.jobs.get(state, job_id)
    rec = storage.private_jobs.get(state, job_id)
    if job is None or rec is None or job.status == JOB_OPEN or not rec.positions:
        return False
    return storage.decoy_cases.get(state, storage.decoy_key(job_id, rec.positions[0])) is None


def open_nothing(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
    """Each step looks at up to `limit` late-reveal entries from `cursor` (the last key done), in key order; None
    once every one was passed."""
    done = 0
    for key, _ in items_after(state, storage.late_reveals, cursor):
        if done == limit:
            return cursor, done
        job_id = int.from_bytes(key[8:16], "big")
        if _lost_decoys(state, job_id):
            rec = storage.private_jobs.get(state, job_id)
            assert rec is not None  # _lost_decoys read it
            storage.private_jobs.put(state, job_id, rec.replace(positions=()))
        cursor = key
        done += 1
    return None, done


def _count(state: Overlay) -> int:
    return sum(1 for key, _ in storage.late_reveals.items(state) if _lost_decoys(state, int.from_bytes(key[8:16],
                                                                                                          "big")))


LATE_DECOYS = Migration(
    "compute", 2, 3, "compute: late private assignments whose decoys spec 15 dropped open nothing", open_nothing,
    item_weight=ITEM_WEIGHT, count=_count,
)
