"""Storage of the proxy module."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT

from ..items import HashedMap
from ..proxy.types import ProxyRecord

M = "proxy"

NONE = ProxyRecord((), 0)
"""An account without proxies (never stored: the map's default, as FRAME's ValueQuery gives it)."""

proxies: HashedMap[ProxyRecord] = HashedMap(
    M, "proxies", ProxyRecord, ACCOUNT, "Twox64Concat", default=NONE,
    doc="The accounts that may act for an account, and the deposit reserved for them.")
"""delegator -> its proxies and their deposit (FRAME's `Proxy.Proxies`, a ValueQuery under the same key:
`api.query.proxy.proxies(account)` reads `[definitions, deposit]`, empty for an account without proxies)."""
