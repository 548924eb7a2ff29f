"""Errors of the proxy module (FRAME's, at FRAME's indices, then btt's own)."""

from __future__ import annotations

from runtime.errors import ModuleError


class ProxyError(ModuleError):
    MODULE = "proxy"


class TooMany(ProxyError):
    """The account has as many proxies as proxy.max_proxies allows."""


class NotFound(ProxyError):
    """The account has no such proxy (delegate, type and delay)."""


class NotProxy(ProxyError):
    """The sender is not a proxy of that account (of that type, where one was forced)."""


class Unproxyable(ProxyError):
    """The proxy's type does not allow this call (a NonTransfer proxy moves no money, by any route)."""


class Duplicate(ProxyError):
    """The account has this proxy already."""


class NoPermission(ProxyError):
    """A proxy may add or remove only proxies of no more power than its own, and only an Any proxy removes them all."""


class Unannounced(ProxyError):
    """The proxy has a delay, and this chain has no announcements to wait for."""


class NoSelfProxy(ProxyError):
    """An account cannot be its own proxy."""


class DelayNotSupported(ProxyError):
    """This chain has no announcements (FRAME's proxy.announce): a proxy's delay must be 0."""


ERRORS = (
    TooMany,
    NotFound,
    NotProxy,
    Unproxyable,
    Duplicate,
    NoPermission,
    Unannounced,
    NoSelfProxy,
    DelayNotSupported,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): FRAME's 0-7, then btt's; append only."""
