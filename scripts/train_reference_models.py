"""Train, quantise and write the reference models (breast-cancer-v1, digits-conv-v1) into
runtime/compute/reference_models/ as NAME.model.json + NAME.weights, and print their accuracies.

Run: .venv/bin/python -m scripts.train_reference_models [--out DIR] [--check]
Needs the `models` extra (scikit-learn). Seeds are fixed and BLAS runs on one thread, but another CPU or BLAS may
round a sum differently: the committed files are the canonical models (--check says whether this machine
reproduces them byte for byte).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy loads its BLAS

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from btt_chain.models.files import model_paths, write_model  # noqa: E402
from btt_chain.models.train import TRAINERS  # noqa: E402
from runtime.compute.model import macs_per_item, model_hash  # noqa: E402

SHIPPED = ROOT / "runtime" / "compute" / "reference_models"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED, help="directory to write to (default: the shipped one)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; say whether the shipped files are reproduced byte for byte")
    args = parser.parse_args(argv)
    differ = 0
    for name, trainer in TRAINERS.items():
        t = trainer()
        spec, blob = t.quantized.spec, t.quantized.blob
        print(f"{name}: held-out accuracy float {t.float_accuracy:.2%} ({t.float_correct}/{t.cases}), "
              f"int8 {t.int8_accuracy:.2%} ({t.int8_correct}/{t.cases}); {macs_per_item(spec):,} MACs per item, "
              f"weights {len(blob):,} bytes, model hash 0x{model_hash(spec).hex()}")
        if args.check:
            _, blob_path = model_paths(SHIPPED, name)
            same = blob_path.exists() and blob_path.read_bytes() == blob
            print(f"  {'reproduces' if same else 'DIFFERS FROM'} the shipped {blob_path.name}")
            differ += not same
        else:
            for path in write_model(args.out, spec, blob):
                print(f"  wrote {path}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
