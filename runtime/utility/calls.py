"""Dispatchable calls of the utility module, at FRAME's call indices, with their weights."""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.codec import ListOf, Nested
from btt_chain.primitives.extrinsic import Call
from runtime.context import CallContext, Origin
from runtime.dispatch import CallDef, ModuleDef, Runtime, spends_calls
from runtime.overlay import Overlay

from ..utility import logic, nested

BATCH_WEIGHT = 40
"""A batch's own work: its limit read, its calls decoded again (remembered since the extrinsic was checked), its
closing event. Measured: within a few microseconds of a remark's (`python -m bench.utility_proxy_bench`)."""
PER_CALL_WEIGHT = 30
"""Each call's overhead in a batch: weighed again on the state it meets, a snapshot opened and closed, its
ItemCompleted. Measured by `python -m bench.utility_proxy_bench` on the reference host: 3.0 to 4.6 us a call (6 to 13
with other helpers' work on the host), so a transfer in a batch (100 + 30) costs no less than one sent alone (100)."""


def batch(ctx: CallContext, origin: Origin, calls: tuple[Call, ...]) -> None:
    """Dispatch `calls` in order from the caller's origin; stop at the first that fails (BatchInterrupted with its
    index and error: the calls before it stay done), else BatchCompleted. At most utility.max_calls calls."""
    logic.run_batch(ctx, origin, calls, logic.STOP)


def batch_all(ctx: CallContext, origin: Origin, calls: tuple[Call, ...]) -> None:
    """Dispatch `calls` in order from the caller's origin, atomically: if one fails, the whole call fails with its
    error and none of them is kept."""
    logic.run_batch(ctx, origin, calls, logic.ALL)


def force_batch(ctx: CallContext, origin: Origin, calls: tuple[Call, ...]) -> None:
    """Dispatch every one of `calls` from the caller's origin, whatever fails: ItemFailed for each failure (its own
    writes undone), then BatchCompletedWithErrors or BatchCompleted."""
    logic.run_batch(ctx, origin, calls, logic.FORCE)


def calls_weight(runtime: Runtime, state: Overlay, args: tuple[Any, ...]) -> int:
    """A batch pays for each of its calls (their weights on the state it starts on) and their overhead."""
    calls: tuple[Call, ...] = args[0]
    return PER_CALL_WEIGHT * len(calls) + nested.weight_of_calls(runtime, state, calls)


_CALLS = (("calls", ListOf(Nested(Call), logic.MAX_BATCH_CALLS)),)
_SPENDS = spends_calls("calls")
_SPENDS_MAY_FAIL = spends_calls("calls", may_fail=True)
"""`batch` stops at a failed call (BatchInterrupted), `force_batch` goes past it (ItemFailed): either succeeds."""

MODULE = ModuleDef(
    index=20,
    name="utility",
    calls=(
        CallDef(0, "batch", _CALLS, BATCH_WEIGHT, batch, batch.__doc__ or "", extra_weight=calls_weight,
                spends=_SPENDS_MAY_FAIL),
        CallDef(2, "batch_all", _CALLS, BATCH_WEIGHT, batch_all, batch_all.__doc__ or "", extra_weight=calls_weight,
                spends=_SPENDS),
        CallDef(4, "force_batch", _CALLS, BATCH_WEIGHT, force_batch, force_batch.__doc__ or "",
                extra_weight=calls_weight, spends=_SPENDS_MAY_FAIL),
    ),
)
"""Index 20, the next free one after timestamp (19). FRAME's as_derivative (1) and dispatch_as (3) are left free."""
