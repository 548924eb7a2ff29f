"""Write runtime/params/added_specNN.json: every parameter of the btt-21m preset that the preset at REV lacked, and
every one whose bounds changed since, in base units as the chain stores them (the params migration of the new spec
writes them to a running chain).

    python scripts/added_params.py REV [NN]     # REV: the previous spec's release; NN: the new spec (the newest)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from genesis.loader import load_chain_spec  # noqa: E402


def main(rev: str, new_spec: int) -> None:
    old_spec = json.loads(subprocess.run(["git", "show", f"{rev}:genesis/presets/btt-21m.json"], cwd=REPO, check=True,
                                         capture_output=True, text=True).stdout)
    old = old_spec["parameters"]
    spec = load_chain_spec("btt-21m")
    added = {p.name: {"value": p.value, "min": p.min, "max": p.max, "unit": p.unit}
             for p in spec.parameters if p.name not in old}
    now = json.loads((REPO / "genesis" / "presets" / "btt-21m.json").read_text())["parameters"]
    bounds = {p.name: {"min": p.min, "max": p.max} for p in spec.parameters
              if p.name in old and (old[p.name]["min"], old[p.name]["max"]) != (now[p.name]["min"], now[p.name]["max"])}
    out = REPO / "runtime" / "params" / f"added_spec{new_spec}.json"
    out.write_text(json.dumps({"added": dict(sorted(added.items())), "bounds": dict(sorted(bounds.items()))},
                              indent=2) + "\n")
    print(f"{len(added)} parameters added ({', '.join(sorted(added))}), {len(bounds)} with new bounds "
          f"({', '.join(sorted(bounds))}): {out.relative_to(REPO)}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    from runtime.specs import NEWEST

    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else NEWEST)
