"""Dispatchable calls of the proxy module, at FRAME's call indices, with their weights."""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.codec import ADDRESS, U32, Nested
from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import NOTHING, CallDef, ModuleDef, Runtime, spends_by_state, spends_calls
from runtime.overlay import Overlay

from ..proxy import logic
from ..proxy.types import MAX_PROXIES, PROXY_TYPE, OptionalProxyType

PROXY_WEIGHT = 400
"""The proxy's own work, at its worst (FRAME weighs it at MaxProxies too): the real account's proxies read and decoded
(up to the wire bound, 100), a snapshot, ProxyExecuted; plus the weight of the call it makes (`call_weight`).
Measured by `python -m bench.utility_proxy_bench`: 159-166 us beyond a remark's with 99 proxies, 13-23 with one."""
CHANGE_WEIGHT = 700
"""Adding or removing one proxy, at its worst: the record of up to 100 proxies read, sorted, encoded and written, the
deposit moved. Measured (the same bench): 271-301 us beyond a remark's with 99 proxies, 23 with one."""
REMOVE_ALL_WEIGHT = 120 + 5 * MAX_PROXIES
"""Removing every proxy: the record and the deposit, and an event per proxy (at most the wire bound's). Measured (the
same bench): 204-212 us beyond a remark's for 99."""


def proxy(ctx: CallContext, origin: Origin, real: bytes, force_proxy_type: int | None, call: Call) -> None:
    """Make `call` as `real`, which made the caller its proxy (of `force_proxy_type`, where given), within what that
    proxy's type allows. The call's result, a refusal included, is in ProxyExecuted."""
    logic.proxy(ctx, ensure_signed(origin), real, force_proxy_type, call)


def add_proxy(ctx: CallContext, origin: Origin, delegate: bytes, proxy_type: int, delay: int) -> None:
    """Make `delegate` a proxy of the caller, of `proxy_type` (Any, NonTransfer, Governance, Staking); `delay` must
    be 0. Reserves proxy.deposit_base once and proxy.deposit_factor per proxy; at most proxy.max_proxies."""
    logic.add(ctx, ensure_signed(origin), delegate, proxy_type, delay)


def remove_proxy(ctx: CallContext, origin: Origin, delegate: bytes, proxy_type: int, delay: int) -> None:
    """Remove one of the caller's proxies; its part of the deposit returns (all of it with the last one)."""
    logic.remove(ctx, ensure_signed(origin), delegate, proxy_type, delay)


def remove_proxies(ctx: CallContext, origin: Origin) -> None:
    """Remove every proxy of the caller; the whole deposit returns."""
    logic.remove_all(ctx, ensure_signed(origin))


def call_weight(runtime: Runtime, state: Overlay, args: tuple[Any, ...]) -> int:
    """The weight of the call the proxy makes (0 if it does not decode: the proxy then fails)."""
    try:
        return runtime.weight(state, runtime.decode_call(args[2]))
    except (DecodeError, InvalidExtrinsic):
        return 0


_DELEGATE = ("delegate", ADDRESS)
_TYPE = ("proxy_type", PROXY_TYPE)
_DELAY = ("delay", U32)

MODULE = ModuleDef(
    index=21,
    name="proxy",
    calls=(
        CallDef(0, "proxy", (("real", ADDRESS), ("force_proxy_type", OptionalProxyType()), ("call", Nested(Call))),
                PROXY_WEIGHT, proxy, proxy.__doc__ or "", extra_weight=call_weight,
                spends=spends_calls("call", payer="real")),
        CallDef(1, "add_proxy", (_DELEGATE, _TYPE, _DELAY), CHANGE_WEIGHT, add_proxy, add_proxy.__doc__ or "",
                spends=spends_by_state("the proxy deposit: proxy.deposit_base + proxy.deposit_factor a proxy")),
        CallDef(2, "remove_proxy", (_DELEGATE, _TYPE, _DELAY), CHANGE_WEIGHT, remove_proxy, remove_proxy.__doc__ or "",
                spends=NOTHING),
        CallDef(3, "remove_proxies", (), REMOVE_ALL_WEIGHT, remove_proxies, remove_proxies.__doc__ or "",
                spends=NOTHING),
    ),
)
"""Index 21, after utility (20). FRAME's create_pure (4), kill_pure (5) and the announcements (6-9) are not
offered."""
