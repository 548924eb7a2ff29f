"""Batch rules: the three ways to run a list of calls (stop at the first failure, all or nothing, every one)."""

from __future__ import annotations

from btt_chain.primitives.errors import DispatchError
from btt_chain.primitives.extrinsic import Call
from runtime.context import CallContext, Origin
from runtime.errors import BadOrigin

from ..executive import dispatch_error_value
from ..utility import errors, events, nested

MAX_CALLS_PARAM = "utility.max_calls"
MAX_BATCH_CALLS = 4096
"""Wire bound on a batch's call list (the decoder refuses more, for free); `utility.max_calls` is the real limit and
its bounds stay within this one."""

STOP, ALL, FORCE = "batch", "batch_all", "force_batch"


def run_batch(ctx: CallContext, origin: Origin, calls: tuple[Call, ...], mode: str) -> None:
    """Run `calls` in order as `origin`, each in a snapshot of its own, by `mode`'s rule for a failure: STOP ends the
    batch (`BatchInterrupted`), ALL fails the whole call with the call's error (the executive then undoes every call
    before it too), FORCE goes on (`ItemFailed`)."""
    if origin.kind == "none":
        raise BadOrigin("a batch is never an inherent")
    limit = ctx.param(MAX_CALLS_PARAM)
    if len(calls) > limit:
        raise errors.TooManyCalls(f"{len(calls)} calls, at most {limit}")
    decoded = nested.decode_calls(ctx, calls)
    # what the batch paid for its calls: their weights on the state it started on, as the executive weighed them
    budget = sum(ctx.runtime.weight(ctx.state, d) for d in decoded)
    failed = False
    state = ctx.state
    for index, call in enumerate(decoded):
        n_events = len(ctx.events)
        state.begin()
        try:
            budget -= nested.weigh(ctx, call, budget)
            nested.dispatch(ctx, origin, call)
        except DispatchError as exc:
            state.rollback()
            del ctx.events[n_events:]
            if mode == ALL:
                raise
            if mode == STOP:
                ctx.emit(events.BatchInterrupted(index, dispatch_error_value(exc)))
                return
            failed = True
            ctx.emit(events.ItemFailed(dispatch_error_value(exc)))
            continue
        state.commit()
        ctx.emit(events.ItemCompleted())
    ctx.emit(events.BatchCompletedWithErrors() if failed else events.BatchCompleted())
