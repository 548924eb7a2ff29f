"""Storage of the proxy module."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT

from ..items import HashedMap
from ..proxy.types import ProxyRecord

M = "proxy"

proxies: HashedMap[ProxyRecord] = HashedMap(
    M, "proxies", ProxyRecord, ACCOUNT, "Twox64Concat",
    doc="The accounts that may act for an account, and the deposit reserved for them.")
"""delegator -> its proxies and their deposit (FRAME's `Proxy.Proxies`, the same key: `api.query.proxy.proxies`)."""
