"""Whole-state invariants (FRAME's `try_state`): balances and issuance here, and each module's books in its own
`invariants` (compute's counters and indexes, incentive points). They read the whole state, so they run after every
block of every test chain (`tests/support/runtime_builder.py`) and where a test calls them, never on a node's block
import path."""

from __future__ import annotations

from runtime.overlay import Overlay

from .compute.invariants import check_books
from .incentives.invariants import check_points
from .system import storage as system


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
    problems.extend(check_points(state))
    problems.extend(check_books(state))
    return problems
