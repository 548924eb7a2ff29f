"""When a commit's sample is fixed: only by randomness that no coalition lacking an honest validator knew at
commit time.

A validator knows its own future hash-chain reveals, and the leader schedule is public an epoch ahead, so
one later block's randomness is not enough: its author (perhaps the provider's accomplice) knew it before
the commit. Here a commit made in block c gets its sample at the first block b >= c + `compute.sample_delay_blocks`
such that the blocks c+1 .. b were authored by at least k distinct validators, with
k = min(`compute.sample_authors`, the validators with weight in the block's schedule). The seed is the
chain randomness after block b, which folds in every one of those k authors' reveals; unless all k are in
the coalition, one reveal it could not know went into the seed. A coalition whose leader weight share is w
is the first k distinct authors after a commit with probability at most w**k (README, "Consensus").

What stays: the k-th author sees the randomness before publishing its block and may withhold it, as in
RANDAO; each withheld slot buys one more draw and costs that block's fees and tips.

Bookkeeping: commits wait grouped by commit block. While any wait, each block moves its author to the
front of `recent_authors` (distinct authors, newest first, with the last block each authored). If v is the
last block of the k-th entry, every group with commit block below v has seen k distinct authors since its
commit; groups are keyed in block order, so a block fixes a prefix of them. A sample never fixed before
the job's deadline is never drawn: the assignment expires unpaid and unslashed (no fallback a coalition
could steer towards).
"""

from __future__ import annotations

from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from runtime.compute import errors, params, storage
from runtime.compute.types import COMMITTED, MAX_SAMPLE_AUTHORS, MAX_SAMPLES_DUE, JobProvider, RecentAuthor
from runtime.consensus import storage as consensus
from runtime.context import CallContext
from runtime.overlay import Overlay


def sample_seed(randomness: bytes, job_id: int, provider: bytes) -> bytes:
    return blake2b_256(b"btt-sample-seed" + randomness + job_id.to_bytes(8, "big") + provider)


def enqueue(ctx: CallContext, entry: JobProvider) -> None:
    """A commit in this block waits for its sample."""
    state = ctx.state
    count = storage.samples_waiting.get(state)
    if count >= MAX_SAMPLES_DUE:
        raise errors.WrongState("too many commits wait for their sample; commit in a later block")
    group = storage.sample_waiting.get(state, ctx.env.number) or ()
    storage.sample_waiting.put(state, ctx.env.number, (*group, entry))
    storage.samples_waiting.put(state, count + 1)


def required_authors(state: Overlay, k: int) -> int:
    """k distinct authors, or every validator with weight in the current schedule if there are fewer."""
    schedule = consensus.current.get(state)
    scheduled = 1 if schedule is None else len({e.session_key for e in schedule.table if e.weight}) or 1
    return max(1, min(k, scheduled, MAX_SAMPLE_AUTHORS))


def note_author(state: Overlay, author: bytes, number: int) -> tuple[RecentAuthor, ...]:
    """Move this block's author to the front of the recent-authors list."""
    recent = [r for r in storage.recent_authors.get(state) if r.author != author]
    updated = (RecentAuthor(author, number), *recent[: MAX_SAMPLE_AUTHORS - 1])
    storage.recent_authors.put(state, updated)
    return updated


def fix_samples(ctx: CallContext) -> None:
    """At the start of a block (after consensus folded its reveal into the randomness): fix the samples of
    every waiting commit that now has k distinct authors after it."""
    state = ctx.state
    if storage.samples_waiting.get(state) == 0:
        return
    number = ctx.env.number
    recent = note_author(state, ctx.env.author, number)
    k = required_authors(state, ctx.param(params.SAMPLE_AUTHORS))
    if len(recent) < k:
        return
    horizon = min(recent[k - 1].block, number - ctx.param(params.SAMPLE_DELAY) + 1)
    # commit blocks below `horizon` saw k distinct authors after them and are at least the delay behind
    ready = []
    for commit_block, group in storage.sample_waiting.items(state):
        if commit_block >= horizon:
            break
        ready.append((commit_block, group))
    if not ready:
        return
    randomness = consensus.randomness.get(state)
    fixed = 0
    for commit_block, group in ready:
        storage.sample_waiting.remove(state, commit_block)
        fixed += len(group)
        for entry in group:
            job = storage.jobs.get(state, entry.job_id)
            idx = None if job is None else job.assignment_of(entry.provider)
            if job is None or idx is None:
                continue
            a = job.assignments[idx]
            if a.state != COMMITTED or a.sample_seed != ZERO_HASH:
                continue  # expired meanwhile: nothing to sample
            assignments = list(job.assignments)
            assignments[idx] = a.replace(sample_seed=sample_seed(randomness, job.id, entry.provider))
            storage.jobs.put(state, job.id, job.replace(assignments=tuple(assignments)))
    storage.samples_waiting.put(state, storage.samples_waiting.get(state) - fixed)
