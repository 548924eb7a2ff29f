"""The compute module's work at the start of every block, in this order: the epoch's credit maturity and
mining distribution, expiry of overdue jobs and of jobs nobody is able to serve (`unserved`), commit windows that
closed (the jobs go back to the market) and reveal windows that closed (`progress`), late-reveal times that ended,
challenge windows that closed, samples fixed by this block's randomness, and assignment (which fills the places the
stalls left vacant in this same block).

Since spec 19 the work is weighed and bounded (`hook_budget`): at most `compute.hook_max_weight` a block, charged to
the block before its extrinsics (the epoch's distribution, which needs every provider's claim at once, is charged
whatever it costs, once its credits have matured); what does not fit waits for the next block's start, and the
module's calls from accounts wait with it, but a party's obligations (`hook_budget.OBLIGATIONS`)."""

from __future__ import annotations

from runtime.context import CallContext

from ..compute import (
    assignment,
    challenge,
    events,
    hook_budget,
    jobs,
    mining,
    outage,
    params,
    progress,
    sample_fix,
    storage,
    unserved,
)
from ..compute.hook_budget import HookBudget
from ..consensus.logic import epoch_of

DUE_STEPS = (jobs.expire, unserved.close_due, progress.stall_due, progress.reveal_due, outage.close_late_reveals,
             challenge.mature)
"""The steps of `hook_budget.STEPS` after the epoch's credits, in that order."""


def on_initialize(ctx: CallContext) -> None:
    if ctx.env.speculative:
        return
    state = ctx.state
    budget = HookBudget(ctx.param(params.HOOK_MAX_WEIGHT))
    stopped = 0
    epoch = epoch_of(state, ctx.env.slot)
    if epoch > storage.epoch.get(state):  # the first block of an epoch, or the blocks its credits carry into
        if mining.mature_credits(ctx, epoch, budget):
            mining.distribute_rewards(ctx, epoch, budget)
            storage.epoch.put(state, epoch)
        else:
            stopped = 1
    for i, step in enumerate(DUE_STEPS if not stopped else ()):
        step(ctx, budget)
        if budget.short:
            stopped = i + 2
            break
    sample_fix.fix_samples(ctx, budget)  # the block's author is noted whatever the budget
    assignment.assign_queued(ctx, budget)
    if stopped:
        ctx.emit(events.WorkCarried(stopped - 1, budget.used))
        hook_budget.backlog.put(state, stopped)
    elif hook_budget.backlog.get(state):
        hook_budget.backlog.kill(state)
    ctx.initialize_weight += budget.used
