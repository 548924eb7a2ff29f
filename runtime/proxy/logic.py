"""Proxy rules: add and remove an account's delegates with their deposit, and make a call for the account."""

from __future__ import annotations

from btt_chain.primitives.errors import DispatchError
from btt_chain.primitives.extrinsic import Call
from runtime.context import CallContext, Origin

from ..balances import logic as balances
from ..executive import dispatch_error_value
from ..proxy import errors, events, filters, storage
from ..proxy.types import OK, DispatchResultValue, ProxyDefinition, ProxyRecord
from ..utility import nested

DEPOSIT_BASE_PARAM = "proxy.deposit_base"
DEPOSIT_FACTOR_PARAM = "proxy.deposit_factor"
MAX_PROXIES_PARAM = "proxy.max_proxies"


def deposit_for(ctx: CallContext, count: int) -> int:
    """What `count` proxies hold reserved: the base and the factor per proxy (nothing for none)."""
    if count == 0:
        return 0
    return ctx.param(DEPOSIT_BASE_PARAM) + ctx.param(DEPOSIT_FACTOR_PARAM) * count


def _settle_deposit(ctx: CallContext, who: bytes, old: int, new: int) -> None:
    if new > old:
        balances.reserve(ctx, who, new - old)
    elif new < old:
        balances.unreserve(ctx, who, old - new)


def add(ctx: CallContext, who: bytes, delegate: bytes, proxy_type: int, delay: int) -> None:
    if delay != 0:
        raise errors.DelayNotSupported(f"delay {delay}")
    if delegate == who:
        raise errors.NoSelfProxy()
    record = storage.proxies.get(ctx.state, who)
    definition = ProxyDefinition(delegate, proxy_type, delay)
    if definition in record.definitions:
        raise errors.Duplicate()
    limit = ctx.param(MAX_PROXIES_PARAM)
    if len(record.definitions) >= limit:
        raise errors.TooMany(f"{len(record.definitions)} proxies, at most {limit}")
    definitions = tuple(sorted((*record.definitions, definition), key=lambda d: d.order))
    # FRAME's rule: the deposit follows the count at today's parameters (more or less than before)
    deposit = deposit_for(ctx, len(definitions))
    _settle_deposit(ctx, who, record.deposit, deposit)
    storage.proxies.put(ctx.state, who, ProxyRecord(definitions, deposit))
    ctx.emit(events.ProxyAdded(who, delegate, proxy_type, delay))


def remove(ctx: CallContext, who: bytes, delegate: bytes, proxy_type: int, delay: int) -> None:
    record = storage.proxies.get(ctx.state, who)
    definition = ProxyDefinition(delegate, proxy_type, delay)
    if definition not in record.definitions:
        raise errors.NotFound()
    definitions = tuple(d for d in record.definitions if d != definition)
    # removing never takes more (FRAME's may, where the parameters rose): a removal cannot fail for want of money
    deposit = min(record.deposit, deposit_for(ctx, len(definitions))) if definitions else 0
    _settle_deposit(ctx, who, record.deposit, deposit)
    if definitions:
        storage.proxies.put(ctx.state, who, ProxyRecord(definitions, deposit))
    else:
        storage.proxies.remove(ctx.state, who)
    ctx.emit(events.ProxyRemoved(who, delegate, proxy_type, delay))


def remove_all(ctx: CallContext, who: bytes) -> None:
    """Every proxy of `who` goes and its whole deposit returns (nothing to do for an account with none)."""
    record = storage.proxies.get(ctx.state, who)
    if not record.definitions:
        return
    storage.proxies.remove(ctx.state, who)
    balances.unreserve(ctx, who, record.deposit)
    for d in record.definitions:
        ctx.emit(events.ProxyRemoved(who, d.delegate, d.proxy_type, d.delay))


def find(ctx: CallContext, real: bytes, delegate: bytes, force_type: int | None) -> ProxyDefinition:
    """The first of `real`'s proxies that `delegate` is (of `force_type`, where given)."""
    for d in storage.proxies.get(ctx.state, real).definitions:
        if d.delegate == delegate and (force_type is None or d.proxy_type == force_type):
            return d
    raise errors.NotProxy()


def proxy(ctx: CallContext, who: bytes, real: bytes, force_type: int | None, call: Call) -> None:
    """Make `call` as `real` under the proxy's filter. Its failure (a refusal by the filter included) is undone and
    reported in ProxyExecuted; the proxy call itself succeeds, as FRAME's does."""
    definition = find(ctx, real, who, force_type)
    if definition.delay:
        raise errors.Unannounced()
    (decoded,) = nested.decode_calls(ctx, (call,))
    state = ctx.state
    n_events = len(ctx.events)
    state.begin()
    try:
        nested.dispatch(ctx, Origin.signed(real), decoded, filters.filter_for(definition.proxy_type), hide_fee=False)
    except DispatchError as exc:
        state.rollback()
        del ctx.events[n_events:]
        ctx.emit(events.ProxyExecuted(DispatchResultValue(False, dispatch_error_value(exc))))
        return
    state.commit()
    ctx.emit(events.ProxyExecuted(OK))
