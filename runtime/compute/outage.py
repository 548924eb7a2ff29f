"""What a missed deadline costs a provider: being offline is not fraud, and hiding a fraud is.

An assignment still open at its job's deadline ends there (`jobs.expire`): the requester gets its escrow back and
the provider a missed-deadline mark (`failed`). What the provider's bond pays depends on how far it got:

- never committed (offline, or its commit window missed): the missed-deadline fee, and the pause.
- committed, but its sample was never drawn (too few distinct block authors before the deadline: the chain's
  doing, not the provider's): nothing.
- committed and its sample drawn, not revealed: the assignment turns `late`, and the pause. Here an honest
  provider that went down and a cheat that saw its sample would expose a faked result and keeps quiet look the
  same, and the cheat must not get away with a fee. So the assignment keeps its hold on the bond, and the
  provider may still open its sample until `compute.late_reveal_ms` after the deadline: a valid opening shows the
  work was honest and costs the missed-deadline fee (no pay, no credit: the requester was refunded); an opening
  that shows a wrong item costs the fixed fraud slash; no valid opening by then costs the fixed withholding
  slash (`compute.withheld_slash`, as large as the fraud slash). A miner that was down for minutes comes back
  with its result on disk and opens it.

The fee: `compute.missed_deadline_fee_bps` of the assignment's escrow, and all fees of one provider in one epoch
at most `compute.max_missed_per_epoch`; it is never taken from the bond that covers the fixed slashes of the
provider's assignments not yet final (`providers.bond_floor`), so a fraud still costs its full slash after any
number of misses. It is burned, like every slash: the requester gets its escrow back in full and nothing more, so
nobody earns from a provider's miss and nobody has a reason to cause one (nor can a requester set a provider up
to miss: a job is posted only with a deadline that leaves room for the whole timetable, and assigned only while
`assignment.work_slots` are left before it).

The pause: a provider that missed a deadline it could have met is not assigned new work for
`compute.missed_pause_ms` from then, so an offline provider stops collecting jobs it cannot do and requesters'
jobs go to others. It ends early when the provider shows it is back: a commit, or a reveal (late ones included)
that is not refused; and a miss of an assignment whose commit window closed before the provider last showed it
was up (one handed to it while it was down) does not pause it again. After the pause the provider is drawn again
as before (while its bond still covers the minimum and one more slash, like any provider).

Not an outage case: outputs owed after a reveal (demanded, or a dispute) and not posted before
`compute.outputs_due_ms` cost the withholding slash (`challenge.mature`): a provider that knows a challenge is
coming could otherwise leave cheaply.
"""

from __future__ import annotations

from btt_chain.primitives.hashing import ZERO_HASH
from runtime.bonds import logic as bonds
from runtime.compute import assignment_state, events, params, providers, settlement, storage
from runtime.compute.types import COMMITTED, FRAUD, LATE, MISSED, Assignment, Job, Outage
from runtime.consensus.logic import epoch_of
from runtime.context import CallContext

BPS = 10_000


def charge_fee(ctx: CallContext, who: bytes, portion: int) -> int:
    """Burn the missed-deadline fee of an assignment with escrow `portion` from `who`'s bond, within the epoch's
    cap and above the bond floor; returns what was burned."""
    state = ctx.state
    epoch = epoch_of(state, ctx.env.slot)
    record = storage.outages.get(state, who) or Outage(epoch, 0, 0)
    charged = record.charged if record.epoch == epoch else 0
    spare = bonds.bonded(state, who) - providers.bond_floor(state, who)
    fee = min(portion * ctx.param(params.MISSED_FEE) // BPS, ctx.param(params.MAX_MISSED_PER_EPOCH) - charged, spare)
    burned = 0
    if fee > 0:
        burned, _ = settlement.slash(ctx, who, fee, None)
    storage.outages.put(state, who, record.replace(epoch=epoch, charged=charged + burned))
    return burned


def pause(ctx: CallContext, who: bytes, last_chance_slot: int) -> None:
    """No new assignment for `who` until `compute.missed_pause_ms` from now, unless it committed or revealed
    something after `last_chance_slot` (the last slot it could have acted on the missed assignment): then it is up,
    and the miss is a leftover of its outage."""
    record = storage.outages.get(ctx.state, who) or Outage(epoch_of(ctx.state, ctx.env.slot), 0, 0)
    if record.seen_slot > last_chance_slot:
        return
    until = ctx.env.timestamp_ms + ctx.param(params.MISSED_PAUSE)
    storage.outages.put(ctx.state, who, record.replace(paused_until_ms=max(until, record.paused_until_ms)))


def resume(ctx: CallContext, who: bytes) -> None:
    """`who` committed or revealed: it is up, so a pause from an earlier miss ends now (noted only for a provider
    that has missed a deadline)."""
    record = storage.outages.get(ctx.state, who)
    if record is not None:
        paused = min(record.paused_until_ms, ctx.env.timestamp_ms)
        storage.outages.put(ctx.state, who, record.replace(paused_until_ms=paused, seen_slot=ctx.env.slot))


def missed(ctx: CallContext, job: Job, a: Assignment) -> Assignment:
    """The deadline passed with `a` open (assigned or committed): the mark, the fee and the pause where the
    provider had its chance, and a late-reveal time where its sample was drawn (the fee then waits for the late
    reveal: until it lands this assignment holds its slash in the bond, which no fee may touch). Returns `a` as it
    ends; the caller refunds the portion."""
    if a.state == COMMITTED and a.sample_seed != ZERO_HASH:
        reveal_by = job.deadline_ms + ctx.param(params.LATE_REVEAL)
        late = assignment_state.move(ctx, job, a, LATE, matures_ms=reveal_by)
        pause(ctx, a.provider, ctx.env.slot)  # it could have revealed until now
        ctx.emit(events.DeadlineMissed(job.id, a.provider, a.portion, 0))
        ctx.emit(events.RevealOverdue(job.id, a.provider, reveal_by))
        return late
    ended = assignment_state.move(ctx, job, a, MISSED)  # before the fee: its slash no longer holds the bond
    fee = 0
    if a.state != COMMITTED:  # a commit whose sample was never drawn had nothing to open: no fee, no pause
        fee = charge_fee(ctx, a.provider, a.portion)
        pause(ctx, a.provider, a.commit_by_slot)
    ctx.emit(events.DeadlineMissed(job.id, a.provider, a.portion, fee))
    return ended


def late_reveal(ctx: CallContext, job: Job, idx: int, a: Assignment, bad: int | None) -> None:
    """A late assignment opened its sample (`a` carries the revealed root): `bad` is the first sampled item that
    did not re-execute to its output, None if all did. Honest work ends it with the missed-deadline fee; a wrong
    item costs the fixed fraud slash. The requester already has its refund either way."""
    if bad is None:
        missed = assignment_state.move(ctx, job, a, MISSED, matures_ms=0)  # before the fee, as at a deadline
        fee = charge_fee(ctx, a.provider, a.portion)
        ctx.emit(events.LateRevealVerified(job.id, a.provider, a.output_root, fee))
        _put(ctx, job, idx, missed)
        return
    fraud = assignment_state.move(ctx, job, a, FRAUD, matures_ms=0)  # the miss counted at the deadline: a fraud
    burned, reward = settlement.slash(ctx, a.provider, ctx.param(params.FRAUD_SLASH), None)
    ctx.emit(events.FraudDetected(job.id, a.provider, bad, burned + reward, 0))
    _put(ctx, job, idx, fraud)


def close_late_reveals(ctx: CallContext) -> None:
    """Every late assignment whose late-reveal time has ended without a valid opening loses the fixed
    withholding slash."""
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
        burned, reward = settlement.slash(ctx, a.provider, ctx.param(params.WITHHELD_SLASH), None)
        missed = assignment_state.move(ctx, job, a, MISSED, matures_ms=0)  # out of the late-reveal index
        ctx.emit(events.RevealWithheld(job.id, a.provider, burned + reward))
        _put(ctx, job, idx, missed)


def _put(ctx: CallContext, job: Job, idx: int, a: Assignment) -> None:
    assignments = list(job.assignments)
    assignments[idx] = a
    storage.jobs.put(ctx.state, job.id, job.replace(assignments=tuple(assignments)))
