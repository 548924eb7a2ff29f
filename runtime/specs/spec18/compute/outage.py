"""What a missed assignment costs a provider: being offline is not fraud, and hiding a fraud is; and holding a job
without working on it costs the same per job however many one holds.

Each step of an assignment has its window, and a provider that lets one close pays for each assignment it missed:

- no commit by the end of its commit window (`compute.commit_window_slots`): the assignment *stalls* (`stalled`).
  Its place in the job goes back to the market at once (`progress`): another provider is drawn in the same block,
  or the job waits in the queue. The provider pays the missed-assignment fee and is paused.
- committed, its sample fixed, and no reveal within `compute.reveal_window_slots` of the block that fixed it (or by
  the deadline, whichever is first): the assignment turns `late` (`reveal_missed`, or `missed` at the deadline),
  its escrow goes back to the requester at once, and the provider is paused. Here an honest provider that went
  down and a cheat that saw its sample would expose a faked result and keeps quiet look the same, and the cheat
  must not get away with a fee. So the assignment keeps its hold on the bond (`holds`), and the provider may still
  open its sample until `compute.late_reveal_ms` after that: a valid opening shows the work was honest and costs the
  missed-assignment fee (no pay, no credit: the requester was refunded); an opening that shows a wrong item costs
  the hold, as a fraud; no valid opening by then costs the hold too, as withholding. A miner that was down for
  minutes comes back with its result on disk and opens it.
- committed, but its sample was never drawn by the deadline (too few distinct block authors: the chain's doing,
  not the provider's): nothing.

The fee of one missed assignment: the fixed `compute.missed_assignment_fee`, never capped, plus
`compute.missed_deadline_fee_bps` of the assignment's escrow, which all of one provider's misses in one epoch pay at
most `compute.max_missed_per_epoch` of (a provider offline with many valuable jobs loses a bounded share of them; a
provider holding jobs it never works on pays the fixed fee for every one, every window). It is never taken from the
bond that covers the holds of the provider's assignments not yet final (`providers.bond_floor`), so a fraud still
costs its full hold after any number of misses (a missed assignment's own hold is released first, and the fixed fee
is bounded below the smallest hold, so the fee is always there to take). It is burned, like every slash:
the requester gets its escrow back in full and nothing more, so nobody earns from a provider's miss and nobody has a
reason to cause one (nor can a requester set a provider up to miss by timing: a job is posted only with a deadline
that leaves room for the whole timetable, and assigned only while `assignment.work_slots` are left before it; nor by
giving a root and withholding the items behind it: from spec 17 a requester's own inputs are on chain before a
provider is held to them, `posted_inputs`).

The pause: a provider that missed a window it could have met is not assigned new work for
`compute.missed_pause_ms` from then, twice that after a second pause with no commit or reveal between them, and so
on up to `compute.max_missed_pause_ms`; so an offline provider stops collecting jobs it cannot do, its requesters'
jobs go to others, and a long outage costs a few rounds of fees, not one per pause. It ends early when the provider
shows it is back: a commit, or a reveal (late ones included) that is not refused; and a miss of an assignment whose
window closed before the provider last showed it was up (one handed to it while it was down) does not pause it again.
Misses while it is paused do not lengthen the pause.

Not an outage case: outputs owed after a reveal (demanded, or a dispute) and not posted before
`compute.outputs_due_ms` cost the withholding slash (`challenge.mature`): a provider that knows a challenge is
coming could otherwise leave cheaply.
"""

from __future__ import annotations

from btt_chain.primitives.hashing import ZERO_HASH
from runtime.context import CallContext

from ..balances import logic as balances
from ..bonds import logic as bonds
from ..compute import assignment_state, events, holds, params, private, providers, settlement, storage
from ..compute.types import COMMITTED, FRAUD, LATE, MISSED, STALLED, Assignment, Job, Outage
from ..consensus.logic import epoch_of

BPS = 10_000
MAX_DOUBLINGS = 16
"""A pause doubles at most this many times (a storage-safe bound on the shift; `compute.max_missed_pause_ms` is the
rule)."""


def charge_fee(ctx: CallContext, who: bytes, portion: int) -> int:
    """Burn the fee of one missed assignment with escrow `portion` from `who`'s bond: the fixed missed-assignment
    fee, plus the escrow-proportional part within the epoch's cap, all above what the provider's assignments hold
    (`providers.bond_floor`); returns what was burned."""
    state = ctx.state
    epoch = epoch_of(state, ctx.env.slot)
    record = storage.outages.get(state, who) or Outage(epoch, 0, 0)
    charged = record.charged if record.epoch == epoch else 0
    proportional = max(0, min(portion * ctx.param(params.MISSED_FEE) // BPS,
                              ctx.param(params.MAX_MISSED_PER_EPOCH) - charged))
    spare = max(0, bonds.bonded(state, who) - providers.bond_floor(state, who))
    fixed = min(ctx.param(params.MISSED_ASSIGNMENT_FEE), spare)
    proportional = min(proportional, spare - fixed)
    burned = 0
    if fixed + proportional > 0:
        burned, _ = settlement.slash(ctx, who, fixed + proportional, None)
    storage.outages.put(state, who, record.replace(epoch=epoch, charged=charged + min(burned, proportional)))
    return burned


def pause(ctx: CallContext, who: bytes, last_chance_slot: int) -> None:
    """No new assignment for `who` for a while, unless it committed or revealed something after `last_chance_slot`
    (the last slot it could have acted on the missed assignment): then it is up, and the miss is a leftover of its
    outage. The first pause lasts `compute.missed_pause_ms`, each one after it without a commit or reveal between
    them twice the one before, up to `compute.max_missed_pause_ms`; a miss while paused changes nothing."""
    now = ctx.env.timestamp_ms
    record = storage.outages.get(ctx.state, who) or Outage(epoch_of(ctx.state, ctx.env.slot), 0, 0)
    if record.seen_slot > last_chance_slot or record.paused_until_ms > now:
        return
    base = ctx.param(params.MISSED_PAUSE)
    longest = max(base, ctx.param(params.MAX_MISSED_PAUSE))
    length = min(base << min(record.strikes, MAX_DOUBLINGS), longest)
    storage.outages.put(ctx.state, who, record.replace(paused_until_ms=now + length, strikes=record.strikes + 1))


def resume(ctx: CallContext, who: bytes) -> None:
    """`who` committed or revealed: it is up, so a pause from an earlier miss ends now, and the next pause is a
    first one again (noted only for a provider that has missed something)."""
    record = storage.outages.get(ctx.state, who)
    if record is not None:
        paused = min(record.paused_until_ms, ctx.env.timestamp_ms)
        storage.outages.put(ctx.state, who, record.replace(paused_until_ms=paused, seen_slot=ctx.env.slot,
                                                           strikes=0))


def stalled(ctx: CallContext, job: Job, a: Assignment) -> Assignment:
    """Assigned `a` let its commit window close: it stalls (its place goes back to the market: the caller's), pays
    the missed-assignment fee and is paused. Returns `a` as it ends."""
    ended = assignment_state.move(ctx, job, a, STALLED)  # before the fee: its hold of the bond is released
    fee = charge_fee(ctx, a.provider, a.portion)
    pause(ctx, a.provider, a.commit_by_slot)
    ctx.emit(events.AssignmentStalled(job.id, a.provider, fee))
    return ended


def reveal_missed(ctx: CallContext, job: Job, a: Assignment) -> Assignment:
    """Committed `a`, its sample fixed, let its reveal window close: it turns late now (the requester gets its
    escrow back at once; the provider may open its sample until the late-reveal time, and pays then), and the
    provider is paused. Returns `a` as it ends; the caller puts it in the job."""
    reveal_by = ctx.env.timestamp_ms + ctx.param(params.LATE_REVEAL)
    late = assignment_state.move(ctx, job, a, LATE, matures_ms=reveal_by)
    balances.unreserve(ctx, job.requester, a.portion)
    pause(ctx, a.provider, a.reveal_by_slot)
    ctx.emit(events.RevealMissed(job.id, a.provider, a.portion))
    ctx.emit(events.RevealOverdue(job.id, a.provider, reveal_by))
    return late


def missed(ctx: CallContext, job: Job, a: Assignment) -> Assignment:
    """The deadline passed with `a` open (assigned or committed): the mark, the fee and the pause where the
    provider had its chance, and a late-reveal time where its sample was drawn (the fee then waits for the late
    reveal: until it lands this assignment keeps its hold of the bond, which no fee may touch). Returns `a` as it
    ends; the caller refunds the portion."""
    if a.state == COMMITTED and a.sample_seed != ZERO_HASH:
        reveal_by = job.deadline_ms + ctx.param(params.LATE_REVEAL)
        late = assignment_state.move(ctx, job, a, LATE, matures_ms=reveal_by)
        pause(ctx, a.provider, ctx.env.slot)  # it could have revealed until now
        ctx.emit(events.DeadlineMissed(job.id, a.provider, a.portion, 0))
        ctx.emit(events.RevealOverdue(job.id, a.provider, reveal_by))
        return late
    ended = assignment_state.move(ctx, job, a, MISSED)  # before the fee: its hold of the bond is released
    fee = 0
    if a.state != COMMITTED:  # a commit whose sample was never drawn had nothing to open: no fee, no pause
        fee = charge_fee(ctx, a.provider, a.portion)
        pause(ctx, a.provider, a.commit_by_slot)
    ctx.emit(events.DeadlineMissed(job.id, a.provider, a.portion, fee))
    return ended


def late_reveal(ctx: CallContext, job: Job, idx: int, a: Assignment, bad: int | None) -> None:
    """A late assignment opened its sample (`a` carries the revealed root): `bad` is the first sampled item that
    did not re-execute to its output, None if all did. Honest work ends it with the missed-deadline fee; a wrong
    item costs the assignment's hold. The requester already has its refund either way."""
    if bad is None:
        missed = assignment_state.move(ctx, job, a, MISSED, matures_ms=0)  # before the fee, as at a deadline
        fee = charge_fee(ctx, a.provider, a.portion)
        ctx.emit(events.LateRevealVerified(job.id, a.provider, a.output_root, fee))
        private.late_resolved(ctx, _put(ctx, job, idx, missed))
        return
    hold = holds.hold_of(ctx.state, job.id, a.provider)  # before the move releases it
    fraud = assignment_state.move(ctx, job, a, FRAUD, matures_ms=0)  # the miss counted at the deadline: a fraud
    burned, reward = settlement.slash(ctx, a.provider, hold, None)
    ctx.emit(events.FraudDetected(job.id, a.provider, bad, burned + reward, 0))
    private.late_resolved(ctx, _put(ctx, job, idx, fraud))


def close_late_reveals(ctx: CallContext) -> None:
    """Every late assignment whose late-reveal time has ended without a valid opening loses its hold, as
    withholding."""
    state = ctx.state
    now = ctx.env.timestamp_ms
    due = []
    for key, _ in storage.late_reveals.items(state):
        if int.from_bytes(key[:8], "big") > now:
            break
        due.append(key)
    for key in due:
        job = storage.jobs.get(state, int.from_bytes(key[8:16], "big"))
        idx = None if job is None else job.assignment_of(key[16:])
        a = None if job is None or idx is None else job.assignments[idx]
        if job is None or idx is None or a is None or a.state != LATE or \
                storage.maturing_key(a.matures_ms, job.id, a.provider) != key:
            storage.late_reveals.remove(state, key)  # an entry of no late assignment: never while the books hold
            continue
        burned, reward = settlement.slash(ctx, a.provider, holds.hold_of(state, job.id, a.provider), None)
        missed = assignment_state.move(ctx, job, a, MISSED, matures_ms=0)  # out of the late-reveal index
        ctx.emit(events.RevealWithheld(job.id, a.provider, burned + reward))
        private.late_resolved(ctx, _put(ctx, job, idx, missed))


def _put(ctx: CallContext, job: Job, idx: int, a: Assignment) -> Job:
    assignments = list(job.assignments)
    assignments[idx] = a
    job = job.replace(assignments=tuple(assignments))
    storage.jobs.put(ctx.state, job.id, job)
    return job
