"""Build the reference models' decoy data (btt_chain/models/decoy_data/NAME.npz): each model's training split and
published held-out split in its int8 input encoding, and the clusters per class calibrated on the training split
(btt_chain.models.decoy_sources).

Run: .venv/bin/python -m scripts.build_decoy_sources [--out DIR] [--check]
Needs the `models` extra (scikit-learn). --check writes nothing and says whether the shipped files hold what a
build gives.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from btt_chain.models.decoy_sources import BREAST_CANCER, DIGITS, build_source, parse_source, write_source  # noqa: E402

SHIPPED = ROOT / "btt_chain" / "models" / "decoy_data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED, help="directory to write to (default: the shipped one)")
    parser.add_argument("--check", action="store_true", help="write nothing; compare with the shipped files")
    args = parser.parse_args(argv)
    differ = 0
    for name in (BREAST_CANCER, DIGITS):
        source = build_source(name)
        figures = (f"{name}: {len(source.fit_inputs)} fit rows, {len(source.published)} published held-out rows, "
                   f"clusters per class {source.components}")
        if args.check:
            with np.load(args.out / f"{name}.npz", allow_pickle=False) as data:
                shipped = parse_source(name, {k: np.asarray(data[k]) for k in data.files}).arrays()
            same = all(np.array_equal(shipped[k], v) for k, v in source.arrays().items())
            differ += not same
            print(f"{figures}: {'same as shipped' if same else 'DIFFERS from the shipped file'}")
        else:
            print(f"{figures}: wrote {write_source(source, args.out)}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
