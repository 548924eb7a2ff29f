"""The proxy module's books, as whole-state invariants (`runtime/invariants.py` runs them): every account's proxies
are a non-empty, ordered list of distinct delegates other than itself, within the wire bound, and its reserved balance
holds at least their deposit."""

from __future__ import annotations

from runtime.overlay import Overlay

from ..proxy import storage
from ..proxy.types import MAX_PROXIES
from ..system import storage as system


def check_proxies(state: Overlay) -> list[str]:
    problems = []
    for who, record in storage.proxies.items(state):
        orders = [d.order for d in record.definitions]
        if not orders or len(orders) > MAX_PROXIES or orders != sorted(set(orders)):
            problems.append(f"proxy.proxies: 0x{who.hex()} lists {len(orders)} proxies, not a sorted set of 1 to "
                            f"{MAX_PROXIES}")
        if any(d.delegate == who for d in record.definitions):
            problems.append(f"proxy.proxies: 0x{who.hex()} is its own proxy")
        reserved = system.account.get(state, who).reserved
        if reserved < record.deposit:
            problems.append(f"proxy.deposit: 0x{who.hex()} has {reserved} reserved, its proxies hold {record.deposit}")
    return problems
