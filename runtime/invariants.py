"""Whole-state invariants, checked after every block in tests (and by `btt-chain` tools on demand)."""

from __future__ import annotations

from runtime.incentives import storage as incentives
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
    problems.extend(check_points(state))
    return problems


def check_points(state: Overlay) -> list[str]:
    """Incentive points are neither created nor lost outside attestation and payment: the points held and the
    points waiting in redemption requests add up to `outstanding_points`, and the open round counts its requests."""
    problems: list[str] = []
    held = sum(p for _, p in incentives.points.items(state))
    requests = list(incentives.requests.items(state))
    requested = sum(p for _, p in requests)
    outstanding = incentives.outstanding_points.get(state)
    if held + requested != outstanding:
        problems.append(f"points held {held} + requested {requested} != outstanding points {outstanding}")
    rnd = incentives.open_round.get(state)
    expected = (0, 0) if rnd is None else (rnd.points, rnd.requests)
    if (requested, len(requests)) != expected:
        problems.append(f"requests hold {requested} points of {len(requests)} patients; the open round counts "
                        f"{expected[0]} points of {expected[1]}")
    epochs = {epoch for (epoch, _), _ in requests}
    if rnd is not None and epochs - {rnd.epoch}:
        problems.append(f"requests of epochs {sorted(epochs - {rnd.epoch})} outside the open round {rnd.epoch}")
    return problems
