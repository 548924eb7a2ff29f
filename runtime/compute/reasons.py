"""Why a job is in its status and what happened to each of its places and their money, in words: the one source
of the reasons the RPC (`btt_job`, `btt_jobs`), `btt-chain job show` and the explorer's job page give.

A reason is read from the stored records only (the `Job` with its assignments, and a private job's `PrivateJob`),
so it says what the chain enforces at that block, not what a node remembers. An assignment's record keeps enough
to tell how it came to its state: the commitment is set once it committed, the sample seed once its sample was drawn,
the output root once it revealed (a late reveal too), `matures_ms` while verified (kept when a verified one turns
fraud, cleared when a late one ends), and the owed-outputs fields. `ASSIGNMENT_CASES` names every way an assignment
can stand, with the moves of `assignment_state.TRANSITIONS` that lead there (a test holds the two tables together:
a new move without a reason fails it); `JOB_CASES` does the same for the job's statuses.

Two endings look alike in the records and share one text: a fraud shown by an on-time reveal or by a late one (the
requester's escrow came back either way, at the reveal or at the miss). Amounts are not in the texts: each
assignment's escrow is beside its reason in every view, and the events of the block that moved it carry the
figures (`JobClosed`, `DeadlineMissed`, `RevealMissed`, `FraudDetected`, `PlaceRentPaid`...).
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.hashing import ZERO_HASH

from ..compute.types import (
    ASSIGNED,
    COMMITTED,
    FRAUD,
    JOB_CANCELLED,
    JOB_OPEN,
    JOB_STATES,
    LATE,
    MISSED,
    OPEN_STATES,
    PRIVATE_UNREVEALED,
    REVEALED_STATES,
    SETTLED,
    STALLED,
    VERIFIED,
    VOID,
    Assignment,
    Job,
    PrivateJob,
)


@dataclass(frozen=True)
class Case:
    """One way an assignment stands: the moves (from, to) of `assignment_state.TRANSITIONS` that lead to it (none
    for a fresh assignment), and its reason, with `{fields}` of the assignment and its private record filled in."""

    state: int
    moves: tuple[tuple[int, int], ...]
    text: str


_MISSED_FEE = "the missed-assignment fee"
_REFUNDED = "its escrow was refunded to the requester"

ASSIGNMENT_CASES: dict[str, Case] = {
    "assigned": Case(ASSIGNED, (), (
        "assigned: the provider must commit by slot {commit_by_slot}, or the place goes back to the market and it "
        f"pays {_MISSED_FEE}; its escrow stays reserved for the place")),
    "assigned-sealing": Case(ASSIGNED, (), (
        "assigned: waiting for the clinic to seal its items to the provider by slot {inputs_by_slot} (else the job "
        f"closes and the clinic is refunded less {_MISSED_FEE}); the provider then commits by slot "
        "{commit_by_slot}")),
    "committed-unsampled": Case(COMMITTED, ((ASSIGNED, COMMITTED),), (
        "committed: its sample is drawn by the first distinct block authors from slot {sample_from_slot} on; it "
        "must then reveal within its reveal window and before the deadline, or its escrow goes back to the "
        "requester")),
    "committed": Case(COMMITTED, ((ASSIGNED, COMMITTED),), (
        "committed: its sample is drawn; it must reveal by slot {reveal_by_slot} and before the deadline, or its "
        "escrow goes back to the requester and it turns late")),
    "verified": Case(VERIFIED, ((COMMITTED, VERIFIED),), (
        "verified: its sampled items re-executed to its outputs; its escrow is paid (the burn, the provider's share "
        "to the provider, the rest to the funds) when its challenge window closes with no fault shown")),
    "verified-owing": Case(VERIFIED, ((COMMITTED, VERIFIED),), (
        "verified: its sampled items re-executed to its outputs, and it owes its full outputs on chain "
        "({posted_items} of {items} items posted): posted in time, its escrow is paid when its challenge window "
        "closes with no fault shown; not posted in time, its hold of the bond is slashed as withholding and the "
        "requester refunded")),
    "verified-disputed": Case(VERIFIED, ((COMMITTED, VERIFIED),), (
        "verified: its sampled items re-executed to its outputs, but its output root differs from another "
        "provider's: a challenge (for synthetic inputs, the chain itself) shows who is wrong, and a dispute still "
        "open when the window closes voids both (not paid, not slashed, the requester refunded)")),
    "late": Case(LATE, ((COMMITTED, LATE),), (
        "late: its sample was drawn and it did not reveal within its reveal window or by the deadline; "
        f"{_REFUNDED}; it may still open its sample until its late-reveal time: honest work then costs "
        f"{_MISSED_FEE} (no pay, no credit), a wrong item or no opening its hold of the bond")),
    "settled": Case(SETTLED, ((VERIFIED, SETTLED),), (
        "settled: its challenge window closed with no fault shown; its escrow was paid: the burn, the provider's "
        "share to the provider and the rest to the funds, with work credit")),
    "settled-unchecked": Case(SETTLED, ((VERIFIED, SETTLED),), (
        "settled: its challenge window closed with no fault shown; its escrow was paid (the burn, the provider's "
        "share, the funds) without work credit: the clinic did not reveal its decoys, so nothing was checked (its "
        "deposit was burned)")),
    "fraud-sample": Case(FRAUD, ((COMMITTED, FRAUD), (LATE, FRAUD)), (
        "fraud: a sampled item of its reveal (on time or late) did not re-execute to its output; its hold of the "
        f"bond was slashed, nothing paid, {_REFUNDED}")),
    "fraud-flagged": Case(FRAUD, ((COMMITTED, FRAUD),), (
        "fraud: it flagged as not opening a decoy that the clinic's reveal re-sealed; its hold of the bond was "
        f"slashed, nothing paid, {_REFUNDED}")),
    "fraud-challenged": Case(FRAUD, ((VERIFIED, FRAUD),), (
        "fraud: a challenge showed an item that does not re-execute to its committed output; its hold of the bond "
        f"was slashed (the challenger rewarded from it), nothing paid, {_REFUNDED}")),
    "fraud-withheld": Case(FRAUD, ((VERIFIED, FRAUD),), (
        "fraud: it did not post the outputs it owed by their due time (withheld); its hold of the bond was slashed, "
        f"nothing paid, {_REFUNDED}")),
    "missed-uncommitted": Case(MISSED, ((ASSIGNED, MISSED),), (
        f"missed: the deadline passed before it committed; {_REFUNDED} and the provider paid {_MISSED_FEE}")),
    "missed-unsampled": Case(MISSED, ((COMMITTED, MISSED),), (
        "missed: the deadline passed before its sample was drawn (too few distinct block authors: not the "
        f"provider's fault); {_REFUNDED}, no fee")),
    "missed-late-honest": Case(MISSED, ((LATE, MISSED),), (
        "missed: it opened its sample after its reveal window and the work was honest; nothing paid, no credit "
        f"(the requester had its escrow back when it turned late) and it paid {_MISSED_FEE}")),
    "missed-withheld": Case(MISSED, ((LATE, MISSED),), (
        "missed: it never opened its sample by its late-reveal time; its hold of the bond was slashed as "
        "withholding (the requester had its escrow back when it turned late)")),
    "void-withdrawn": Case(VOID, ((ASSIGNED, VOID),), (
        "void: withdrawn, its job was evicted by a job paying more in all before it committed; nothing is owed "
        "either way (no pay, no fee) and the requester had the whole price back")),
    "void-unsealed": Case(VOID, ((ASSIGNED, VOID),), (
        "void: released, the clinic did not give its sealed inputs in time; no pay and no fee for the provider, the "
        f"clinic refunded less {_MISSED_FEE}")),
    "void-disputed": Case(VOID, ((VERIFIED, VOID),), (
        "void: its output root differs from another provider's and nobody settled the dispute before the window "
        f"closed; not paid, not slashed, {_REFUNDED}")),
    "stalled": Case(STALLED, ((ASSIGNED, STALLED),), (
        "stalled: its commit window closed at slot {commit_by_slot} without a commit; the provider paid "
        f"{_MISSED_FEE} and the place went back to the market, its escrow waiting for the next provider")),
    "stalled-closed": Case(STALLED, ((ASSIGNED, STALLED),), (
        "stalled: its commit window closed at slot {commit_by_slot} without a commit; the provider paid "
        f"{_MISSED_FEE}, and the job closed before another provider took the place: {_REFUNDED}")),
}
"""Every way an assignment can stand, by name."""


def _unsealed(job: Job, a: Assignment) -> bool:
    """`a` was released because the clinic never sealed its items: the only void of a cancelled job (a requester
    cancels only a job whose places all stalled)."""
    return job.status == JOB_CANCELLED and a.commitment == ZERO_HASH


def _disputed(job: Job, a: Assignment) -> bool:
    """Another place of `job` holds a revealed root nobody proved wrong that differs from `a`'s."""
    return any(b.state in REVEALED_STATES and b.output_root != a.output_root for b in job.assignments)


def assignment_case(job: Job, a: Assignment, private: PrivateJob | None = None) -> str:
    """The name of the case (`ASSIGNMENT_CASES`) assignment `a` of `job` is in, read from the records; `private` is
    the job's private record (None for a public job)."""
    if a.state == ASSIGNED:
        return "assigned-sealing" if private is not None and private.sealed_root == ZERO_HASH else "assigned"
    if a.state == COMMITTED:
        return "committed" if a.sample_seed != ZERO_HASH else "committed-unsampled"
    if a.state == VERIFIED:
        if a.outputs_due_ms and not a.outputs_posted:
            return "verified-owing"
        return "verified-disputed" if _disputed(job, a) else "verified"
    if a.state == LATE:
        return "late"
    if a.state == SETTLED:
        return "settled-unchecked" if private is not None and private.outcome == PRIVATE_UNREVEALED else "settled"
    if a.state == FRAUD:
        if a.matures_ms:  # it was verified: a late or sampled fraud ends with no window
            return "fraud-withheld" if a.outputs_due_ms and not a.outputs_posted else "fraud-challenged"
        return "fraud-sample" if a.output_root != ZERO_HASH else "fraud-flagged"
    if a.state == MISSED:
        if a.commitment == ZERO_HASH:
            return "missed-uncommitted"
        if a.sample_seed == ZERO_HASH:
            return "missed-unsampled"
        return "missed-late-honest" if a.output_root != ZERO_HASH else "missed-withheld"
    if a.state == VOID:
        if a.commitment != ZERO_HASH:
            return "void-disputed"
        return "void-unsealed" if _unsealed(job, a) else "void-withdrawn"
    if a.state == STALLED:
        return "stalled" if job.status == JOB_OPEN else "stalled-closed"
    raise ValueError(f"assignment state {a.state} has no reason")


def assignment_reason(job: Job, a: Assignment, private: PrivateJob | None = None) -> str:
    """What happened to this place of `job` and to its escrow (refunded to the requester, paid to the provider,
    slashed, fee charged), or what it waits for."""
    case = ASSIGNMENT_CASES[assignment_case(job, a, private)]
    return case.text.format(
        commit_by_slot=a.commit_by_slot, sample_from_slot=a.sample_from_slot, reveal_by_slot=a.reveal_by_slot,
        posted_items=a.posted_items, items=job.items,
        inputs_by_slot=private.inputs_by_slot if private is not None else 0,
    )


# --- jobs ------------------------------------------------------------------------------------------------------

_RENT = "any rent for its place was burned for the slots it held, the rest of its deposit released"

JOB_CASES: dict[str, tuple[str, str]] = {
    "open": ("open", "open: {places}; its price stays reserved and what no verified result earns comes back at the "
                     "close, by its deadline at the latest{evictable}{unserved}"),
    "done": ("done", "done: every place ended before its deadline ({tally}); {rent}"),
    "expired": ("expired", "expired: its deadline passed with places unfinished or never taken, or every place ended "
                           "with no result verified; what no verified result earned was refunded to the requester "
                           "({tally}); {rent}"),
    "cancelled": ("cancelled", "cancelled: the requester withdrew it while no provider held it; its price was "
                               "refunded; {rent}"),
    "cancelled-unsealed": ("cancelled", "cancelled: the clinic did not give its sealed inputs to the provider drawn "
                                        "in time; the provider was released without a fee, the missed-assignment "
                                        "fee was burned from the price and the rest refunded; {rent}"),
    "evicted": ("evicted", "evicted: the room (or its owners' share) was full and a job paying more in all took its "
                           "place before any provider committed; its price was refunded in full{withdrawn}; {rent}"),
    "unserved": ("unserved", "unserved: no registered provider was able to serve it (capacity, its model served, a "
                             "box key for a private job) for compute.unserved_wait_ms; what no verified result "
                             "earned was refunded to the requester ({tally}); {rent}"),
}
"""Every way a job can stand, by name: (its status as `JOB_STATES` names it, its reason with `{fields}` filled in by
`job_reason`)."""


def job_case(job: Job) -> str:
    """The name of the case (`JOB_CASES`) `job` is in."""
    if job.status == JOB_CANCELLED and any(a.state == VOID and _unsealed(job, a) for a in job.assignments):
        return "cancelled-unsealed"
    status = JOB_STATES[job.status] if 0 <= job.status < len(JOB_STATES) else None
    for name, (named, _) in JOB_CASES.items():
        if named == status:
            return name
    raise ValueError(f"job status {job.status} has no reason")


def _tally(job: Job) -> str:
    """Where the places' escrow of a closed job went: paid, waiting for a challenge window, or refunded."""
    settled = sum(a.state == SETTLED for a in job.assignments)
    verified = sum(a.state == VERIFIED for a in job.assignments)
    refunded = job.redundancy - settled - verified
    parts = [f"{settled} of {job.redundancy} places paid for verified work"]
    if verified:
        parts.append(f"{verified} verified, paid when its challenge window closes unless a fault is shown")
    parts.append(f"{refunded} refunded")
    return ", ".join(parts)


def _places(job: Job) -> str:
    vacant = len(job.vacant())
    working = sum(a.state in OPEN_STATES for a in job.assignments)
    verified = sum(a.state == VERIFIED for a in job.assignments)
    parts = [f"{vacant} of {job.redundancy} places wait for a provider"]
    if working:
        parts.append(f"{working} being worked on")
    if verified:
        parts.append(f"{verified} verified")
    ended = job.redundancy - vacant - working - verified
    if ended:
        parts.append(f"{ended} ended (see its assignments)")
    return ", ".join(parts)


def job_reason(job: Job) -> str:
    """Why `job` is in its status (or what it waits for, while open) and where its price went."""
    working = any(a.state in OPEN_STATES for a in job.assignments)
    vacant = bool(job.vacant())
    withdrawn = sum(a.state == VOID for a in job.assignments)
    return JOB_CASES[job_case(job)][1].format(
        places=_places(job), tally=_tally(job), rent=_RENT,
        evictable="" if job.committed_any else
        "; until a provider commits, a job paying more in all may take its place (its price then refunded in full)",
        unserved="; if no registered provider is able to serve it for compute.unserved_wait_ms, it closes unserved"
        if vacant and not working else "",
        withdrawn=f", its {withdrawn} assigned provider{'s' if withdrawn > 1 else ''} withdrawn owing nothing"
        if withdrawn else "",
    )
