"""The compute module's work at the start of every block, in this order: the epoch's credit maturity and
mining distribution, expiry of overdue jobs and of jobs nobody is able to serve (`unserved`), commit windows that
closed (the jobs go back to the market) and reveal windows that closed (`progress`), late-reveal times that ended,
challenge windows that closed, samples fixed by this block's randomness, and assignment (which fills the places the
stalls left vacant in this same block)."""

from __future__ import annotations

from runtime.context import CallContext

from ..compute import assignment, challenge, jobs, mining, outage, progress, sample_fix, storage, unserved
from ..consensus.logic import epoch_of


def on_initialize(ctx: CallContext) -> None:
    if ctx.env.speculative:
        return
    state = ctx.state
    epoch = epoch_of(state, ctx.env.slot)
    if epoch > storage.epoch.get(state):
        mining.mature_credits(ctx, epoch)
        mining.distribute_rewards(ctx, epoch)
        storage.epoch.put(state, epoch)
    jobs.expire(ctx)
    unserved.close_due(ctx)
    progress.stall_due(ctx)
    progress.reveal_due(ctx)
    outage.close_late_reveals(ctx)
    challenge.mature(ctx)
    sample_fix.fix_samples(ctx)
    assignment.assign_queued(ctx)
