"""An assignment's states and the one function that moves it between them, with every counter and index the move
touches.

A provider's record counts its assignments by state (`COUNTED`): `active` the open ones (assigned, committed: the
provider still owes the work), `at_risk` those that may still cost it a slash (open, verified, late: each holds its
hold of the bond, `holds`, from `enter_assigned` until the move that drops it from `at_risk` releases it), and one
outcome each for the ended ones (`completed` settled, `failed` missed or late, `frauds` fraud; a void one counts
nowhere); `assigned` counts every assignment it was ever given, and `stalled` the commit windows it let close (a
stalled entry's place in its job is given to the next provider drawn, so `stalled` is kept as a plain count). Five
indexes hold the assignments of one state: the commit index (`storage.commit_due`) the assigned ones, by their last
commit slot; the reveal index (`storage.reveal_due`) the committed ones whose sample is fixed, by their last reveal
slot (entered where the sample is fixed, `sample_fix`: that is no change of state); the maturity index
(`storage.maturing`) the verified ones, by the end of their challenge window; the
late-reveal index (`storage.late_reveals`) the late ones, by the end of their late-reveal time; the sample queue
(`storage.sample_waiting`) the commits whose sample is not drawn yet (an entry stays until its group is drawn, even
when the commit expired meanwhile: `sample_fix` skips it). A final state (settled, fraud, missed, void, stalled) also
returns the requester's unspent posting deposit and drops the posted outputs.

`TRANSITIONS` lists every move the module makes and what it does to the provider's record; `move` is the one place
an assignment changes state, and `enter_assigned` the one place a new one is counted. The money of a move (payment,
slash, fee, refund) depends on why it happened and stays with the caller: `settlement`, `verify`, `challenge`,
`outage`, `jobs`. The job-level indexes (open counts, queue, eviction and deadline indexes) move with the job, in
`jobs.post`, `jobs.close`, `market` and `assignment`. `runtime.compute.invariants` checks, after every test block,
that all of them agree with the jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from btt_chain.primitives.hashing import ZERO_HASH
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..balances import logic as balances
from ..compute import holds, sample_fix, storage
from ..compute.types import (
    ASSIGNED,
    ASSIGNMENT_STATES,
    COMMITTED,
    FRAUD,
    LATE,
    MISSED,
    SETTLED,
    STALLED,
    VERIFIED,
    VOID,
    Assignment,
    Job,
    JobProvider,
    Provider,
)

COUNTERS = ("active", "at_risk", "completed", "failed", "frauds")
"""The provider record's counters an assignment's state decides."""
MOVED = (*COUNTERS, "stalled")
"""The counters a move may change."""

COUNTED: dict[int, tuple[str, ...]] = {
    ASSIGNED: ("active", "at_risk"),
    COMMITTED: ("active", "at_risk"),
    VERIFIED: ("at_risk",),
    LATE: ("at_risk", "failed"),
    SETTLED: ("completed",),
    MISSED: ("failed",),
    FRAUD: ("frauds",),
    VOID: (),
    STALLED: (),
}
"""State -> the provider's counters an assignment in it adds one to (a stalled one is in `stalled`, moved by its
transition: its entry does not stay in the job)."""

FINAL_STATES = (SETTLED, FRAUD, MISSED, VOID, STALLED)
"""States an assignment never leaves: nothing of it is held any more (no hold, no deposit, no posted outputs)."""


@dataclass(frozen=True)
class Move:
    """What one transition does to the provider's record (its indexes follow from the two states)."""

    why: str
    active: int = 0
    at_risk: int = 0
    completed: int = 0
    failed: int = 0
    frauds: int = 0
    stalled: int = 0

    def changes(self, p: Provider) -> dict[str, int]:
        """The counters of `p` this move changes, at their new values."""
        return {name: getattr(p, name) + getattr(self, name) for name in MOVED if getattr(self, name)}


TRANSITIONS: dict[tuple[int, int], Move] = {
    (ASSIGNED, COMMITTED): Move("the provider committed within its window"),
    (ASSIGNED, STALLED): Move("the commit window closed without a commit: the job goes back to the market",
                              active=-1, at_risk=-1, stalled=1),
    (ASSIGNED, VOID): Move("the job was evicted by a better-paying one before the provider committed", active=-1,
                           at_risk=-1),
    (ASSIGNED, MISSED): Move("the deadline passed without a commit", active=-1, at_risk=-1, failed=1),
    (COMMITTED, MISSED): Move("the deadline passed before the sample was drawn", active=-1, at_risk=-1, failed=1),
    (COMMITTED, LATE): Move("the reveal window or the deadline passed after the sample was drawn, before the reveal",
                            active=-1, failed=1),
    (COMMITTED, VERIFIED): Move("the sampled items re-executed to their outputs", active=-1),
    (COMMITTED, FRAUD): Move("a sampled item did not re-execute to its output", active=-1, at_risk=-1, frauds=1),
    (VERIFIED, SETTLED): Move("the challenge window closed with no fault shown", at_risk=-1, completed=1),
    (VERIFIED, FRAUD): Move("a challenge was upheld, or owed outputs were not posted in time", at_risk=-1,
                            frauds=1),
    (VERIFIED, VOID): Move("the window closed on a dispute nobody settled", at_risk=-1),
    (LATE, MISSED): Move("a late reveal opened honest work, or none came by the late-reveal time", at_risk=-1),
    (LATE, FRAUD): Move("a late reveal opened a wrong item: the miss counted at the deadline turns out a fraud",
                        at_risk=-1, failed=-1, frauds=1),
}
"""(from, to) -> what the move does to the provider's counters: every move an assignment can make."""


def enter_assigned(state: Overlay, job_id: int, who: bytes, provider: Provider, commit_by_slot: int, hold: int
                   ) -> Provider:
    """`who` (record `provider`) was given a new assignment of job `job_id`, to commit by `commit_by_slot`, holding
    `hold` of its bond (`holds.hold_for`): one more assigned, the counts of an assigned one, the hold, and its place
    in the commit index."""
    holds.add(state, job_id, who, hold)  # before the record counts it: see `holds.held`
    updated = provider.replace(assigned=provider.assigned + 1,
                               **{name: getattr(provider, name) + 1 for name in COUNTED[ASSIGNED]})
    storage.providers.put(state, who, updated)
    storage.commit_due.put(state, storage.due_key(commit_by_slot, job_id, who), ZERO_HASH)
    return updated


def move(ctx: CallContext, job: Job, a: Assignment, new: int, **changes: Any) -> Assignment:
    """`a`, an assignment of `job`, moves to state `new` (with `changes` to its other fields): the provider's counters
    move as `TRANSITIONS` says, the index of the state it leaves drops it and the index of the state it enters
    takes it, a move out of `at_risk` releases the assignment's hold of the bond (a slash of it reads `holds.hold_of`
    first), and a final state returns the requester's unspent posting deposit and drops the posted outputs.
    Returns the assignment as it is now; putting it into the job record is the caller's.

    Entering `committed` can be refused (the sample queue is full: WrongState) before anything is written."""
    step = TRANSITIONS.get((a.state, new))
    if step is None:
        raise AssertionError(f"an assignment does not move from {ASSIGNMENT_STATES[a.state]} to "
                             f"{ASSIGNMENT_STATES[new]}")
    state = ctx.state
    moved = a.replace(state=new, **changes)
    if new == COMMITTED:
        sample_fix.enqueue(ctx, JobProvider(job.id, a.provider), a.sample_from_slot)
    if step.at_risk < 0:
        holds.release(state, job.id, a.provider)  # before the record stops counting it: see `holds.held`
    p = storage.providers.get(state, a.provider)
    counters = {} if p is None else step.changes(p)
    if p is not None and counters:
        storage.providers.put(state, a.provider, p.replace(**counters))
    if a.state == ASSIGNED:
        storage.commit_due.remove(state, storage.due_key(a.commit_by_slot, job.id, a.provider))
    elif a.state == COMMITTED and a.reveal_by_slot:
        storage.reveal_due.remove(state, storage.due_key(a.reveal_by_slot, job.id, a.provider))
    elif a.state == VERIFIED:
        storage.maturing.remove(state, storage.maturing_key(a.matures_ms, job.id, a.provider))
    elif a.state == LATE:
        storage.late_reveals.remove(state, storage.maturing_key(a.matures_ms, job.id, a.provider))
    if new == VERIFIED:
        storage.maturing.put(state, storage.maturing_key(moved.matures_ms, job.id, a.provider), ZERO_HASH)
    elif new == LATE:
        storage.late_reveals.put(state, storage.maturing_key(moved.matures_ms, job.id, a.provider), ZERO_HASH)
    if new in FINAL_STATES:
        if a.posting_deposit:
            balances.unreserve(ctx, job.requester, a.posting_deposit)
        storage.remove_posted(state, job.id, a.provider)
        moved = moved.replace(posting_deposit=0)
    return moved


def extend(ctx: CallContext, job: Job, a: Assignment, matures: int) -> Assignment:
    """Verified `a` with its challenge window closing no earlier than `matures` (moved in the maturity index)."""
    if matures <= a.matures_ms:
        return a
    storage.maturing.remove(ctx.state, storage.maturing_key(a.matures_ms, job.id, a.provider))
    storage.maturing.put(ctx.state, storage.maturing_key(matures, job.id, a.provider), ZERO_HASH)
    return a.replace(matures_ms=matures)
