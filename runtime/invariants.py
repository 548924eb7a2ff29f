"""Whole-state invariants, checked after every block in tests (and by `btt-chain` tools on demand)."""

from __future__ import annotations

from runtime.overlay import Overlay
from runtime.system import storage as system


def check_invariants(state: Overlay) -> list[str]:
    """Return every violated invariant as a readable line; empty when the state is sound."""
    problems: list[str] = []
    held = 0
    for who, acc in system.account.items(state):
        held += acc.free + acc.reserved
        if acc.frozen > acc.free:
            problems.append(f"account {who.hex()}: frozen {acc.frozen} exceeds free {acc.free}")
    issuance = system.total_issuance.get(state)
    expected = system.genesis_supply.get(state) - system.total_burned.get(state)
    if held != issuance:
        problems.append(f"sum of balances {held} != total issuance {issuance}")
    if issuance != expected:
        problems.append(f"total issuance {issuance} != genesis supply minus burns {expected}")
    return problems
