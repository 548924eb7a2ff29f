"""Pinned indices: every call, event and error index any spec ever used, recorded in tests/data/pinned_indices.json,
which only grows. A call's (pallet index, call index) is what a signed extrinsic carries; an event's and an error's
are what `System.Events` and a `DispatchError` carry, and wallets, indexers and explorers decode old blocks by them.
So for every spec this node can run: a pallet index always names the same pallet, an index in a pallet always names
the same call (event, error), and a name never moves to another index. A removed call keeps its record (its index
stays taken); a new one must be appended to the record, which this test asks for with the line to append:

    .venv/bin/python -m tests.runtime.test_pinned_indices --append

(FRAME's `#[pallet::call_index]` and `construct_runtime!` indices give the same guarantee by hand.)"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from runtime.specs import PACKAGES, package_module

RECORD = Path(__file__).resolve().parents[1] / "data" / "pinned_indices.json"
Entry = tuple[str, int, str, int, str]
"""(kind: call, event or error; pallet index; pallet name; index in the pallet; name)."""


def entries_of(spec: int) -> list[Entry]:
    """Every call, event and error of spec `spec`'s runtime, with their indices."""
    catalog = package_module(spec, "runtime.metadata.catalog")
    runtime = package_module(spec, "runtime.modules").RUNTIME
    out: list[Entry] = []
    for p in catalog.pallet_sources(runtime):
        out += [("call", p.index, p.name, c.index, c.name) for c in p.calls]
        out += [("event", p.index, p.name, i, e.__name__) for i, e in enumerate(p.events)]
        out += [("error", p.index, p.name, i, e.__name__) for i, e in enumerate(p.errors)]
    return out


def load_record(path: Path = RECORD) -> list[Entry]:
    return [tuple(e) for e in json.loads(path.read_text())]  # type: ignore[misc]


def problems(record: Sequence[Entry], entries: Iterable[Entry], where: str) -> list[str]:
    """What in `entries` breaks the record: an index that names something else, a name at another index, a pallet
    index naming another pallet, or an entry not recorded yet."""
    pallets = {p_index: pallet for _, p_index, pallet, _, _ in record}
    by_index = {(kind, p_index, index): name for kind, p_index, _, index, name in record}
    by_name = {(kind, pallet, name): index for kind, _, pallet, index, name in record}
    out = []
    for kind, p_index, pallet, index, name in entries:
        if pallets.get(p_index, pallet) != pallet:
            out.append(f"{where}: pallet index {p_index} is {pallet}, recorded as {pallets[p_index]}")
            continue
        was = by_index.get((kind, p_index, index))
        moved = by_name.get((kind, pallet, name))
        if was is not None and was != name:
            out.append(f"{where}: {kind} {pallet} #{index} is {name}, recorded as {was} (an index is never reused)")
        elif moved is not None and moved != index:
            out.append(f"{where}: {kind} {pallet}.{name} is #{index}, recorded as #{moved} (a name never moves)")
        elif was is None:
            out.append(f"{where}: {kind} {pallet}.{name} (#{p_index}/{index}) is not recorded: append "
                       f"{json.dumps([kind, p_index, pallet, index, name])} to {RECORD.name} (or run this test's "
                       "module with --append)")
    return out


def test_the_record_names_each_index_once_and_each_name_once() -> None:
    record = load_record()
    assert len({(k, p, i) for k, p, _, i, _ in record}) == len(record)
    assert len({(k, pallet, n) for k, _, pallet, _, n in record}) == len(record)
    assert len({p for _, p, _, _, _ in record}) == len({(p, pallet) for _, p, pallet, _, _ in record})


@pytest.mark.parametrize("spec", sorted(PACKAGES))
def test_every_spec_keeps_the_recorded_indices(spec: int) -> None:
    assert problems(load_record(), entries_of(spec), f"spec {spec}") == []


BALANCES: list[Entry] = [("call", 5, "balances", 0, "transfer_allow_death"), ("call", 5, "balances", 3, "force"),
                         ("event", 5, "balances", 0, "Transfer"), ("error", 5, "balances", 0, "Low")]


@pytest.mark.parametrize(("change", "found"), [
    ([("call", 5, "balances", 0, "transfer_all")],
     "call balances #0 is transfer_all, recorded as transfer_allow_death"),
    ([("call", 5, "balances", 7, "force")], "call balances.force is #7, recorded as #3"),
    ([("event", 5, "balances", 1, "Transfer")], "event balances.Transfer is #1, recorded as #0"),
    ([("error", 5, "assets", 0, "Low")], "pallet index 5 is assets, recorded as balances"),
    ([("call", 5, "balances", 4, "burn")], "call balances.burn (#5/4) is not recorded: append"),
])
def test_a_reused_index_a_moved_name_a_reused_pallet_and_a_new_entry_are_caught(change: list[Entry],
                                                                                found: str) -> None:
    assert problems(BALANCES, BALANCES, "x") == []
    (line,) = problems(BALANCES, BALANCES + change, "x")
    assert line.startswith("x: " + found), line


def test_a_removed_entry_stays_recorded_and_passes() -> None:
    assert problems(BALANCES, BALANCES[1:], "x") == []  # transfer_allow_death gone: its index stays taken


def append_new() -> list[Entry]:
    """Append every entry of every spec that the record lacks (refusing if any spec breaks it otherwise)."""
    record = load_record()
    new: list[Entry] = []
    for spec in sorted(PACKAGES):
        for line in problems(record + new, entries_of(spec), f"spec {spec}"):
            if "is not recorded" not in line:
                raise SystemExit(line)
        known = set(record + new)
        new += [e for e in entries_of(spec) if e not in known and e not in new]
    if new:
        RECORD.write_text(dump(record + new))
    return new


def dump(entries: Sequence[Entry]) -> str:
    return "[\n" + ",\n".join(json.dumps(list(e)) for e in entries) + "\n]\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["--append"]:
        raise SystemExit("usage: python -m tests.runtime.test_pinned_indices --append")
    if not RECORD.exists():
        RECORD.write_text("[]\n")
    added = append_new()
    print(f"{len(added)} entries appended to {RECORD}")
