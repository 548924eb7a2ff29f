"""Migrations of the params module: the parameters a spec's rules read that an older spec's genesis never defined.

Version 0 -> 1 (spec 14): the parameters of the market, oracle and house rules of issue 52 are written with the
values, bounds and units of `added_spec14.json` ("added", in base units: the figures of the btt-21m preset, which a
test holds this file to); a parameter already present (a chain whose genesis had it) is left as it is. The
parameters whose bounds spec 14 narrowed ("bounds": `compute.missed_assignment_fee` must stay below the smallest
bond hold) get the new bounds and genesis range, and their value is brought inside them. Governance changes them
afterwards like any other.
"""

from __future__ import annotations

import json
from pathlib import Path

from runtime.overlay import Overlay

from ..migration import Migration
from ..params import storage

_TABLE = json.loads((Path(__file__).parent / "added_spec14.json").read_text())
ADDED_SPEC14: dict[str, dict[str, object]] = _TABLE["added"]
"""Name -> {"value", "min", "max" (base units or counts), "unit"} of every parameter spec 14 added."""
BOUNDS_SPEC14: dict[str, dict[str, int]] = _TABLE["bounds"]
"""Name -> {"min", "max"} of every parameter whose bounds spec 14 changed."""

WRITE_WEIGHT = 30
"""A parameter written: four small records (value, bounds, unit, limits) under one prefix."""


def _missing(state: Overlay) -> list[str]:
    """Parameters still to write: the added ones not present, then the narrowed ones not at their new bounds."""
    added = [name for name in sorted(ADDED_SPEC14) if storage.value.get(state, name) is None]
    narrowed = [name for name in sorted(BOUNDS_SPEC14) if storage.value.get(state, name) is not None
                and storage.limits.get(state, name) != (BOUNDS_SPEC14[name]["min"], BOUNDS_SPEC14[name]["max"])]
    return added + narrowed


def add_spec14_parameters(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
    """Write up to `limit` of the parameters still to write; None once none is left."""
    missing = _missing(state)
    for name in missing[:limit]:
        if name in ADDED_SPEC14 and storage.value.get(state, name) is None:
            entry = ADDED_SPEC14[name]
            lo, hi = int(entry["min"]), int(entry["max"])  # type: ignore[call-overload]
            storage.value.put(state, name, int(entry["value"]))  # type: ignore[call-overload]
            storage.unit.put(state, name, str(entry["unit"]))
        else:
            lo, hi = BOUNDS_SPEC14[name]["min"], BOUNDS_SPEC14[name]["max"]
            value = storage.value.get(state, name)
            storage.value.put(state, name, min(max(0 if value is None else value, lo), hi))
        storage.bounds.put(state, name, (lo, hi))
        storage.limits.put(state, name, (lo, hi))
    done = min(limit, len(missing))
    return (None if done == len(missing) else b"\x01"), done


ADD_SPEC14_PARAMETERS = Migration(
    "params", 0, 1, "params: the parameters spec 14's rules read", add_spec14_parameters, item_weight=WRITE_WEIGHT,
    count=lambda state: len(_missing(state)),
)
