"""Calls dispatched inside a call (a batch's calls, a proxy's call): decoded, weighed on the state they meet, checked
against the filters of every proxy around them, and run with the extrinsic's fee hidden.

Filters: a proxy runs its call under its proxy type's filter, and every call dispatched inside it (through a batch,
another proxy, any depth) is checked against that filter and every other one around it, since all of them stay on
the stack until the outer call returns. So a NonTransfer proxy's authority never widens by nesting (stricter than
FRAME, whose proxy call starts a fresh origin for the account it acts for).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar

from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call
from runtime.context import CallContext, Origin
from runtime.dispatch import DecodedCall, Runtime
from runtime.errors import BadArguments
from runtime.overlay import Overlay

from ..utility import errors

CallFilter = Callable[[DecodedCall], None]
"""Raises the DispatchError that refuses a call (a proxy type's filter), else returns."""

_filters: ContextVar[tuple[CallFilter, ...]] = ContextVar("call_filters", default=())
"""The filters of the proxies around the call being dispatched, outermost first (the runtime is synchronous)."""


_DECODED: dict[tuple[int, Call], tuple[Runtime, DecodedCall]] = {}
"""(id of the runtime, call) -> (that runtime, the call decoded): a batch's calls are weighed when the extrinsic is
checked and again when they run, and decoding is most of a small call's cost. Calls and decoded calls are immutable
values; an entry counts only for the very runtime that made it; emptied at DECODED_KEPT entries."""
DECODED_KEPT = 16_384


def decode(runtime: Runtime, call: Call) -> DecodedCall:
    """`runtime.decode_call(call)`, remembered."""
    key = (id(runtime), call)
    found = _DECODED.get(key)
    if found is not None and found[0] is runtime:
        return found[1]
    decoded = runtime.decode_call(call)
    if len(_DECODED) >= DECODED_KEPT:
        _DECODED.clear()
    _DECODED[key] = (runtime, decoded)
    return decoded


def decode_calls(ctx: CallContext, calls: Sequence[Call]) -> list[DecodedCall]:
    """Every call decoded by this runtime's table (the extrinsic's decoding checked them already: this only fails for
    a call carried inside a value decoded under another table)."""
    try:
        return [decode(ctx.runtime, c) for c in calls]
    except (DecodeError, InvalidExtrinsic) as exc:
        raise BadArguments(str(exc)) from None


def weight_of_calls(runtime: Runtime, state: Overlay, calls: Sequence[Call]) -> int:
    """What the calls weigh on `state`, together (0 for one that does not decode: its batch then fails). Total, so
    usable as an `extra_weight`."""
    total = 0
    for c in calls:
        try:
            total += runtime.weight(state, decode(runtime, c))
        except (DecodeError, InvalidExtrinsic):
            continue
    return total


def check_filters(decoded: DecodedCall) -> None:
    """Raise the refusal of the first proxy filter around us that refuses `decoded`."""
    for allow in _filters.get():
        allow(decoded)


def weigh(ctx: CallContext, decoded: DecodedCall, budget: int) -> int:
    """`decoded`'s weight on the state it meets now; CallWeightExceeded where that is more than `budget` (what is left
    of what the enclosing call paid for its calls)."""
    weight = ctx.runtime.weight(ctx.state, decoded)
    if weight > budget:
        raise errors.CallWeightExceeded(
            f"{decoded.full_name} weighs {weight} on the state it meets; {budget} of what was paid for is left")
    return weight


def dispatch(ctx: CallContext, origin: Origin, decoded: DecodedCall, extra_filter: CallFilter | None = None,
             hide_fee: bool = True) -> None:
    """Run `decoded` as `origin` after every filter around it (and `extra_filter`, which then stays on for everything
    it dispatches) allows it. Its DispatchError passes on; the caller's snapshot undoes its writes.

    `hide_fee`: the call sees `CallContext.fee` 0 (one fee paid for many calls is nobody's in particular)."""
    check_filters(decoded)
    if extra_filter is not None:
        extra_filter(decoded)
    token = _filters.set((*_filters.get(), extra_filter)) if extra_filter is not None else None
    fee = ctx.fee
    if hide_fee:
        ctx.fee = 0
    try:
        ctx.runtime.dispatch(ctx, origin, decoded)
    finally:
        ctx.fee = fee
        if token is not None:
            _filters.reset(token)
