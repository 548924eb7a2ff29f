"""The two files "Bringing a model" starts from, for a reader who has no model of their own yet (issue 53):
`my-model.onnx`, a statically quantised ONNX model of two classes (the shipped breast-cancer model, exported as
`onnx_export` writes any chain model: the QOperator form `model import` reads), and `cases.npz`, its held-out cases
(int8 inputs `x`, recorded classes `y`: what `model import --data`, `model run --cases` and `job clinic --cases`
read). `btt-chain model example --out DIR` writes them.

Both are written to temporary names first and renamed into place only when both are complete, so a failure (no
onnx package, a full disk) leaves the directory as it was; existing files are replaced only when asked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from btt_chain.primitives.errors import ConfigError

SOURCE_MODEL = "breast-cancer-v1"
"""The shipped model the example is exported from (30 features, classes benign and malignant)."""
DEFAULT_NAME = "my-model"
CASES_FILE = "cases.npz"


class ExampleExists(ConfigError):
    """The example's files are already in the directory (give --force to replace them)."""


@dataclass(frozen=True)
class ExampleFiles:
    """What `write_example` wrote: the ONNX model, the cases, the model's class names and the number of cases."""

    onnx: Path
    cases: Path
    labels: tuple[str, ...]
    count: int


def example_paths(out_dir: Path, name: str = DEFAULT_NAME) -> tuple[Path, Path]:
    """Where `write_example` writes: (DIR/NAME.onnx, DIR/cases.npz)."""
    return out_dir / f"{name}.onnx", out_dir / CASES_FILE


def write_example(out_dir: Path, name: str = DEFAULT_NAME, overwrite: bool = False) -> ExampleFiles:
    """Write NAME.onnx and cases.npz into `out_dir` (made if missing); refuse, changing nothing, when either exists
    and `overwrite` is false. Needs the onnx package (the `models` extra)."""
    from btt_chain.models.onnx_export import to_onnx
    from btt_chain.models.onnx_import import _onnx
    from runtime.compute.reference import reference_model

    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"the model's name must be a plain file name, got {name!r}")
    onnx = _onnx()  # before anything is written: without the package, nothing is
    onnx_path, cases_path = example_paths(out_dir, name)
    present = [p for p in (onnx_path, cases_path) if p.exists()]
    if present and not overwrite:
        raise ExampleExists(f"{', '.join(str(p) for p in present)} already there: give --force to replace "
                            f"{'it' if len(present) == 1 else 'them'}, or another --out")
    model = reference_model(SOURCE_MODEL)
    held = model.metadata["heldOut"]
    x = np.frombuffer(bytes.fromhex(held["inputs"]), dtype=np.int8).reshape(held["count"], *model.spec.input_shape)
    y = np.array(held["labels"], dtype=np.int64)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp_onnx = onnx_path.with_name(f".{onnx_path.name}.{os.getpid()}.tmp")
    tmp_cases = cases_path.with_name(f".{cases_path.name}.{os.getpid()}.tmp")
    try:
        onnx.save(to_onnx(model, model.metadata["input"]["scale"]), str(tmp_onnx))
        with open(tmp_cases, "wb") as f:  # a file object: np.savez would add .npz to a name
            np.savez(f, x=x, y=y)
        os.replace(tmp_onnx, onnx_path)
        os.replace(tmp_cases, cases_path)
    finally:
        tmp_onnx.unlink(missing_ok=True)
        tmp_cases.unlink(missing_ok=True)
    return ExampleFiles(onnx_path, cases_path, tuple(model.spec.labels), int(held["count"]))
