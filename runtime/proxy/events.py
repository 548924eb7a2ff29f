"""Events of the proxy module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from btt_chain.primitives.codec import ACCOUNT, U32, Nested
from runtime.events import Event

from ..proxy.types import PROXY_TYPE, DispatchResultValue


@dataclass(frozen=True)
class ProxyExecuted(Event):
    """A proxy made its call for the account: `result` Ok, or the call's error (its writes undone)."""

    MODULE: ClassVar[str] = "proxy"
    result: DispatchResultValue
    WIRE = (("result", Nested(DispatchResultValue)),)

    def to_json(self, render_account: Any) -> dict[str, Any]:
        from ..utility.events import named_error

        out = super().to_json(render_account)
        return out if self.result.ok else named_error(out, self.result.error)


@dataclass(frozen=True)
class ProxyAdded(Event):
    """`delegator` made `delegatee` its proxy of `proxy_type`."""

    MODULE: ClassVar[str] = "proxy"
    delegator: bytes
    delegatee: bytes
    proxy_type: int
    delay: int
    WIRE = (("delegator", ACCOUNT), ("delegatee", ACCOUNT), ("proxy_type", PROXY_TYPE), ("delay", U32))


@dataclass(frozen=True)
class ProxyRemoved(Event):
    """`delegatee` is no longer `delegator`'s proxy of `proxy_type` (one event per proxy, remove_proxies too)."""

    MODULE: ClassVar[str] = "proxy"
    delegator: bytes
    delegatee: bytes
    proxy_type: int
    delay: int
    WIRE = (("delegator", ACCOUNT), ("delegatee", ACCOUNT), ("proxy_type", PROXY_TYPE), ("delay", U32))


EVENTS = (
    ProxyExecuted,
    ProxyAdded,
    ProxyRemoved,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove. (FRAME's PureCreated and Announced,
its indices 1 and 2, are not offered: clients read the metadata's indices.)"""
