"""Print the parameter table of docs/parameters.md from a preset: name, value, bounds, unit, track, share group.

Run: .venv/bin/python scripts/param_table.py [PRESET]
(tests/genesis/test_readme_params.py keeps docs/parameters.md equal to the btt-21m preset)
"""

from __future__ import annotations

import sys

from btt_chain.primitives.amounts import format_btt
from genesis.loader import load_chain_spec
from runtime.params.groups import group_of


def table(preset: str = "btt-21m") -> list[str]:
    spec = load_chain_spec(preset)
    rows = ["| parameter | value | min | max | unit | track |", "|---|---|---|---|---|---|"]
    for p in spec.parameters:
        show = format_btt if p.unit == "btt" else str
        track = p.track + (f", share of {group_of(p.name)}" if group_of(p.name) else "")
        rows.append(f"| `{p.name}` | {show(p.value)} | {show(p.min)} | {show(p.max)} | {p.unit} | {track} |")
    return rows


if __name__ == "__main__":
    print("\n".join(table(*sys.argv[1:2])))
