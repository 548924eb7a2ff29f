"""When a commit's sample is fixed: only by randomness that nobody could know when the commit was made, not the
provider and not any coalition of validators lacking an honest one.

A validator knows its own future hash-chain reveals, and the leader schedule is public an epoch ahead, so the
blocks right after a commit are no source: their authors are known, and may be the provider's accomplices.
Each assignment gets a sample start at assignment (`assignment.sample_start`: the first slot of the second
epoch after its last commit slot), whose leaders nobody knows while the provider may still commit. Its sample
is fixed at the first block b such that the blocks at slots >= the sample start, up to b, were authored by at
least k distinct validators, with k = min(`compute.sample_authors`, the validators with weight in the block's
schedule). The seed is the chain randomness after block b, which folds in all k authors' reveals: unless all k
are in the coalition, a reveal it could not know went into the seed. A coalition whose share of leader weight
is w is the first k distinct authors after a fixed slot with probability at most w**k (README, "Consensus").

What stays: the k-th author sees the randomness before publishing its block and may withhold it, as in
RANDAO; each withheld slot buys one more draw and costs that block's fees and tips. The validators that lead
the last slots of an epoch may also withhold to steer the seed of the schedule the sample start falls in (at
most 2**m schedules for m such slots); the README's bound counts both.

Bookkeeping: commits wait grouped by sample start. While any wait, each block moves its author to the front of
`recent_authors` (distinct authors, newest first, with the last slot each authored). If v is the last slot of
the k-th entry, every group whose sample start is at or below v has seen k distinct authors from its start;
groups are keyed in slot order, so a block fixes a prefix of them. A sample never fixed before the job's
deadline is never drawn: the assignment expires unpaid and unslashed (no fallback a coalition could steer
towards). A fixed sample gives the provider `compute.reveal_window_slots` slots to reveal (`outage.reveal_missed`).
"""

from __future__ import annotations

from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..compute import errors, params, storage
from ..compute.types import COMMITTED, MAX_SAMPLE_AUTHORS, MAX_SAMPLES_DUE, JobProvider, RecentAuthor
from ..consensus import storage as consensus


def sample_seed(randomness: bytes, job_id: int, provider: bytes) -> bytes:
    return blake2b_256(b"btt-sample-seed" + randomness + job_id.to_bytes(8, "big") + provider)


def enqueue(ctx: CallContext, entry: JobProvider, sample_from_slot: int) -> None:
    """A commit in this block waits for the authors from `sample_from_slot` on."""
    state = ctx.state
    count = storage.samples_waiting.get(state)
    if count >= MAX_SAMPLES_DUE:
        raise errors.WrongState("too many commits wait for their sample; commit in a later block")
    group = storage.sample_waiting.get(state, sample_from_slot) or ()
    storage.sample_waiting.put(state, sample_from_slot, (*group, entry))
    storage.samples_waiting.put(state, count + 1)


def dequeue(ctx: CallContext, entry: JobProvider, sample_from_slot: int) -> None:
    """A commit whose sample is no longer wanted (its provider was convicted before the draw) leaves the queue."""
    state = ctx.state
    group = storage.sample_waiting.get(state, sample_from_slot) or ()
    rest = tuple(e for e in group if e != entry)
    if len(rest) == len(group):
        return
    if rest:
        storage.sample_waiting.put(state, sample_from_slot, rest)
    else:
        storage.sample_waiting.remove(state, sample_from_slot)
    storage.samples_waiting.put(state, storage.samples_waiting.get(state) - (len(group) - len(rest)))


def required_authors(state: Overlay, k: int) -> int:
    """k distinct authors, or every validator with weight in the current schedule if there are fewer."""
    schedule = consensus.current.get(state)
    scheduled = 1 if schedule is None else len({e.session_key for e in schedule.table if e.weight}) or 1
    return max(1, min(k, scheduled, MAX_SAMPLE_AUTHORS))


def note_author(state: Overlay, author: bytes, slot: int) -> tuple[RecentAuthor, ...]:
    """Move this block's author to the front of the recent-authors list."""
    recent = [r for r in storage.recent_authors.get(state) if r.author != author]
    updated = (RecentAuthor(author, slot), *recent[: MAX_SAMPLE_AUTHORS - 1])
    storage.recent_authors.put(state, updated)
    return updated


def authors_since(state: Overlay, slot: int) -> int:
    """Distinct validators that authored a block at `slot` or later (as far as the list tracks them)."""
    return sum(1 for r in storage.recent_authors.get(state) if r.slot >= slot)


def fix_samples(ctx: CallContext) -> None:
    """At the start of a block (after consensus folded its reveal into the randomness): fix the samples of
    every waiting commit whose sample start has k distinct authors at or after it."""
    state = ctx.state
    if storage.samples_waiting.get(state) == 0:
        return
    recent = note_author(state, ctx.env.author, ctx.env.slot)
    k = required_authors(state, ctx.param(params.SAMPLE_AUTHORS))
    if len(recent) < k:
        return
    horizon = recent[k - 1].slot
    ready = []
    for sample_from, group in storage.sample_waiting.items(state):
        if sample_from > horizon:
            break
        ready.append((sample_from, group))
    if not ready:
        return
    randomness = consensus.randomness.get(state)
    reveal_by = ctx.env.slot + ctx.param(params.REVEAL_WINDOW)
    fixed = 0
    for sample_from, group in ready:
        storage.sample_waiting.remove(state, sample_from)
        fixed += len(group)
        for entry in group:
            job = storage.jobs.get(state, entry.job_id)
            idx = None if job is None else job.assignment_of(entry.provider)
            if job is None or idx is None:
                continue
            a = job.assignments[idx]
            if a.state != COMMITTED or a.sample_seed != ZERO_HASH:
                continue  # expired meanwhile: nothing to sample
            from ..compute import private  # private -> assignment_state -> sample_fix: import when needed

            private.sample_drawn(ctx, job)
            assignments = list(job.assignments)
            # not a change of state (it stays committed): it enters the reveal index, which `move` leaves
            assignments[idx] = a.replace(sample_seed=sample_seed(randomness, job.id, entry.provider),
                                         reveal_by_slot=reveal_by)
            storage.reveal_due.put(state, storage.due_key(reveal_by, job.id, entry.provider), ZERO_HASH)
            storage.jobs.put(state, job.id, job.replace(assignments=tuple(assignments)))
    storage.samples_waiting.put(state, storage.samples_waiting.get(state) - fixed)
