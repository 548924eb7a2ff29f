"""Migrations of the params module: the parameters a spec's rules read that an older spec's genesis never defined.

Version 0 -> 1 (spec 14): the parameters of the market, oracle and house rules of issue 52 are written with the
values, bounds and units of `added_spec14.json` ("added", in base units: the figures of the btt-21m preset, which a
test holds this file to); a parameter already present (a chain whose genesis had it) is left as it is. The
parameters whose bounds spec 14 narrowed ("bounds": `compute.missed_assignment_fee` must stay below the smallest
bond hold) get the new bounds and genesis range, and their value is brought inside them. Governance changes them
afterwards like any other.

Version 1 -> 2 (spec 15): the same for `added_spec15.json`, the parameters of issue 53 (the utility module's batch
limit, the proxy module's deposits and limit, and those other rules of spec 15 read). Both files are written by
`scripts/added_params.py` from the btt-21m preset against the previous spec's release.
"""

from __future__ import annotations

import json
from pathlib import Path

from runtime.overlay import Overlay

from ..migration import Migration, StepFn
from ..params import storage

WRITE_WEIGHT = 30
"""A parameter written: four small records (value, bounds, unit, limits) under one prefix."""


def _table(spec: int) -> tuple[dict[str, dict[str, object]], dict[str, dict[str, int]]]:
    table = json.loads((Path(__file__).parent / f"added_spec{spec}.json").read_text())
    return table["added"], table["bounds"]


ADDED_SPEC14, BOUNDS_SPEC14 = _table(14)
"""Name -> {"value", "min", "max" (base units or counts), "unit"} of every parameter spec 14 added; name -> {"min",
"max"} of every parameter whose bounds spec 14 changed."""
ADDED_SPEC15, BOUNDS_SPEC15 = _table(15)
"""The same for spec 15."""
ADDED_IN: dict[int, dict[str, dict[str, object]]] = {14: ADDED_SPEC14, 15: ADDED_SPEC15}
"""Spec -> the parameters it added (a chain born at an older spec has none of them at genesis: `genesis.loader`)."""


def _missing(state: Overlay, added: dict[str, dict[str, object]], bounds: dict[str, dict[str, int]]) -> list[str]:
    """Parameters still to write: the added ones not present, then the narrowed ones not at their new bounds."""
    fresh = [name for name in sorted(added) if storage.value.get(state, name) is None]
    narrowed = [name for name in sorted(bounds) if storage.value.get(state, name) is not None
                and storage.limits.get(state, name) != (bounds[name]["min"], bounds[name]["max"])]
    return fresh + narrowed


def _writer(added: dict[str, dict[str, object]], bounds: dict[str, dict[str, int]]) -> StepFn:
    def write(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
        """Write up to `limit` of the parameters still to write; None once none is left."""
        missing = _missing(state, added, bounds)
        for name in missing[:limit]:
            if name in added and storage.value.get(state, name) is None:
                entry = added[name]
                lo, hi = int(entry["min"]), int(entry["max"])  # type: ignore[call-overload]
                storage.value.put(state, name, int(entry["value"]))  # type: ignore[call-overload]
                storage.unit.put(state, name, str(entry["unit"]))
            else:
                lo, hi = bounds[name]["min"], bounds[name]["max"]
                value = storage.value.get(state, name)
                storage.value.put(state, name, min(max(0 if value is None else value, lo), hi))
            storage.bounds.put(state, name, (lo, hi))
            storage.limits.put(state, name, (lo, hi))
        done = min(limit, len(missing))
        return (None if done == len(missing) else b"\x01"), done

    return write


add_spec14_parameters = _writer(ADDED_SPEC14, BOUNDS_SPEC14)
add_spec15_parameters = _writer(ADDED_SPEC15, BOUNDS_SPEC15)

ADD_SPEC14_PARAMETERS = Migration(
    "params", 0, 1, "params: the parameters spec 14's rules read", add_spec14_parameters, item_weight=WRITE_WEIGHT,
    count=lambda state: len(_missing(state, ADDED_SPEC14, BOUNDS_SPEC14)),
)
ADD_SPEC15_PARAMETERS = Migration(
    "params", 1, 2, "params: the parameters spec 15's rules read", add_spec15_parameters, item_weight=WRITE_WEIGHT,
    count=lambda state: len(_missing(state, ADDED_SPEC15, BOUNDS_SPEC15)),
)
