"""The incentives module's books, as whole-state invariants (`runtime/invariants.py` runs them after every block in
tests): points are conserved, the open round's counters and oracle-group indexes agree with its requests, and what
each oracle attested each patient, the home oracles and the oracles' epoch tallies agree with the attestations."""

from __future__ import annotations

from collections import Counter
from typing import Any

from runtime.overlay import Overlay

from ..consensus import logic as consensus
from ..incentives import storage
from ..incentives.types import MAX_REQUESTS_PER_EPOCH
from ..items import StorageMap
from ..system import storage as system


def check_points(state: Overlay) -> list[str]:
    """Incentive points are neither created nor lost outside attestation and payment: the points held and the
    points waiting in redemption requests add up to `outstanding_points`; the open round counts its requests, and
    its oracle groups (`check_groups`) agree with them; and the attestations' records agree (`check_attested`)."""
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
    problems.extend(check_attested(state))
    return problems


def check_attested(state: Overlay) -> list[str]:
    """What oracles attested (issue 52): `attested` holds, for each (patient, oracle), the points of that oracle's
    attestations of the patient; every attested patient has a home oracle that attested it, and no other account
    has one; a home the patient did not choose has attested it the most points; a choice is kept only with a home;
    and an oracle's epoch tally is above zero, at most what it has attested in all and of no epoch after the head's.
    Skipped while a migration is under way: the upgrade to incentives' storage version 1 fills `attested` and
    recomputes the homes over several blocks (`migrations.py`)."""
    if system.migration.get(state) is not None:
        return []
    problems: list[str] = []
    items = _module_items(state, (storage.evidence, storage.attested, storage.home_oracle, storage.home_chosen,
                                  storage.oracle_tally))
    expected: dict[tuple[bytes, bytes], int] = {}
    decode = storage.evidence.codec.decode
    for _, raw in items[storage.evidence.prefix]:
        a = decode(raw)
        expected[(a.patient, a.oracle)] = expected.get((a.patient, a.oracle), 0) + a.points
    attested: dict[tuple[bytes, bytes], int] = {
        (k[:32], k[32:]): storage.attested.codec.decode(raw) for k, raw in items[storage.attested.prefix]}
    for pair in sorted(expected.keys() | attested.keys()):
        if attested.get(pair, 0) != expected.get(pair, 0):
            problems.append(f"oracle {pair[1].hex()} attested patient {pair[0].hex()} {expected.get(pair, 0)} points; "
                            f"`attested` holds {attested.get(pair, 0)}")
    oracles_of: dict[bytes, dict[bytes, int]] = {}
    for (patient, oracle), n in attested.items():
        oracles_of.setdefault(patient, {})[oracle] = n
    homes: dict[bytes, bytes] = {k: storage.home_oracle.codec.decode(raw)
                                 for k, raw in items[storage.home_oracle.prefix]}
    chosen = {k for k, _ in items[storage.home_chosen.prefix]}
    for patient, oracles in oracles_of.items():
        home = homes.get(patient)
        if home is None or oracles.get(home, 0) == 0:
            problems.append(f"patient {patient.hex()}'s home oracle {home and home.hex()} has not attested it")
        elif patient not in chosen and oracles[home] != max(oracles.values()):
            problems.append(f"patient {patient.hex()}'s home oracle attested it {oracles[home]} points, another "
                            f"{max(oracles.values())}, and the patient did not choose it")
    for patient in sorted(homes.keys() - oracles_of.keys()):
        problems.append(f"account {patient.hex()} has a home oracle and no attestation")
    for patient in sorted(chosen - homes.keys()):
        problems.append(f"account {patient.hex()} chose a home oracle and has none")
    by_oracle: dict[bytes, int] = {}
    for (_, oracle), n in attested.items():
        by_oracle[oracle] = by_oracle.get(oracle, 0) + n
    head = consensus.epoch_of(state, system.slot.get(state))
    for oracle, raw in items[storage.oracle_tally.prefix]:
        tally = storage.oracle_tally.codec.decode(raw)
        if not 0 < tally.points <= by_oracle.get(oracle, 0) or tally.epoch > head:
            problems.append(f"oracle {oracle.hex()}'s tally of epoch {tally.epoch} counts {tally.points} points; it "
                            f"attested {by_oracle.get(oracle, 0)} in all, and the head is in epoch {head}")
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


def _module_items(state: Overlay, maps: tuple[StorageMap[Any], ...]) -> dict[bytes, list[tuple[bytes, bytes]]]:
    """Each map's prefix -> its (key after the prefix, raw value) pairs, read in one pass over the module's keys
    (a pass per map would read the whole module, or the whole state of a test chain, once each)."""
    wanted: dict[bytes, list[tuple[bytes, bytes]]] = {m.prefix: [] for m in maps}
    module = maps[0].prefix[:16]  # twox128 of the module's name: every item's prefix starts with it
    for key, raw in state.iterate(module):
        found = wanted.get(key[:32])
        if found is not None:
            found.append((key[32:], raw))
    return wanted
