"""The incentives module's books, as whole-state invariants (`runtime/invariants.py` runs them after every block in
tests): points are conserved, and the open round's counters and oracle-group indexes agree with its requests."""

from __future__ import annotations

from collections import Counter

from runtime.overlay import Overlay

from ..incentives import storage
from ..incentives.types import MAX_REQUESTS_PER_EPOCH


def check_points(state: Overlay) -> list[str]:
    """Incentive points are neither created nor lost outside attestation and payment: the points held and the
    points waiting in redemption requests add up to `outstanding_points`; the open round counts its requests, and
    its oracle groups (`check_groups`) agree with them."""
    problems: list[str] = []
    held = sum(p for _, p in storage.points.items(state))
    requests = list(storage.requests.items(state))
    requested = sum(p for _, p in requests)
    outstanding = storage.outstanding_points.get(state)
    if held + requested != outstanding:
        problems.append(f"points held {held} + requested {requested} != outstanding points {outstanding}")
    rnd = storage.open_round.get(state)
    expected = (0, 0) if rnd is None else (rnd.points, rnd.requests)
    if (requested, len(requests)) != expected:
        problems.append(f"requests hold {requested} points of {len(requests)} patients; the open round counts "
                        f"{expected[0]} points of {expected[1]}")
    epochs = {epoch for (epoch, _), _ in requests}
    if rnd is not None and epochs - {rnd.epoch}:
        problems.append(f"requests of epochs {sorted(epochs - {rnd.epoch})} outside the open round {rnd.epoch}")
    if any(p == 0 for _, p in requests):
        problems.append("a request of zero points is stored")
    problems.extend(check_groups(state))
    return problems


def check_groups(state: Overlay) -> list[str]:
    """The open round's oracle groups: every request has exactly one row, in one group's stack of rows 0..n-1; each
    group's row count is its stack's height, and it sits at its slot in the list of groups of that size; those
    lists are dense and counted; the round counts the groups and the largest one's rows; the table holds at most
    MAX_REQUESTS_PER_EPOCH rows; and no index holds an entry of another epoch."""
    problems: list[str] = []
    rnd = storage.open_round.get(state)
    epoch = None if rnd is None else rnd.epoch
    requests = {who for (_, who), _ in storage.requests.items(state)}
    rows = list(storage.group_rows.items(state))
    groups = dict(storage.oracle_groups.items(state))
    by_rows = dict(storage.groups_by_rows.items(state))
    counts = dict(storage.groups_with_rows.items(state))
    stale = {e for (e, *_) in [*(k for k, _ in rows), *groups, *by_rows, *counts]} - {epoch}
    if stale:
        problems.append(f"oracle-group entries of epochs {sorted(stale)} outside the open round {epoch}")
        return problems
    patients = Counter(who for _, who in rows)
    if set(patients) != requests or any(n > 1 for n in patients.values()):
        problems.append(f"{len(rows)} group rows for {len(requests)} requests: each request must have one row")
    heights = Counter(oracle for (_, oracle, _), _ in rows)
    for (_, oracle, n), _ in rows:
        group = groups.get((epoch, oracle))
        if group is None or n >= group.rows:
            problems.append(f"row {n} of oracle {oracle.hex()} is outside its group")
    sizes: Counter[int] = Counter()
    for (_, oracle), group in groups.items():
        sizes[group.rows] += 1
        if group.rows == 0 or heights[oracle] != group.rows:
            problems.append(f"oracle {oracle.hex()}'s group counts {group.rows} rows, its stack holds "
                            f"{heights[oracle]}")
        if by_rows.get((epoch, group.rows, group.slot)) != oracle:
            problems.append(f"oracle {oracle.hex()}'s group is not at slot {group.slot} of the groups of "
                            f"{group.rows} rows")
    if {(e, n): c for (e, n), c in counts.items()} != {(epoch, n): c for n, c in sizes.items()}:
        problems.append(f"groups counted by size {sorted(counts.items())} != groups by size {sorted(sizes.items())}")
    for (_, n, slot), _ in by_rows.items():
        if slot >= counts.get((epoch, n), 0):
            problems.append(f"slot {slot} of the groups of {n} rows is past their count")
    if len(by_rows) != len(groups):
        problems.append(f"{len(by_rows)} entries in the groups-by-size lists for {len(groups)} groups")
    expected = (0, 0) if rnd is None else (rnd.groups, rnd.largest)
    if (len(groups), max(sizes, default=0)) != expected:
        problems.append(f"{len(groups)} groups, the largest of {max(sizes, default=0)} rows; the open round counts "
                        f"{expected[0]} groups, the largest of {expected[1]}")
    if len(rows) > MAX_REQUESTS_PER_EPOCH:
        problems.append(f"the table holds {len(rows)} rows, more than {MAX_REQUESTS_PER_EPOCH}")
    return problems
