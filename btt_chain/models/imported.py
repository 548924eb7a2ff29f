"""What an import produces (the chain's model, its blob, how to quantise a float input, and optionally a float
reference of the source model) and the agreement report of the int8 model against that reference on data."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from btt_chain.models.files import ModelFileError
from btt_chain.models.quantize import QParams, predict_int8
from runtime.compute.model import Model, ModelSpec, encode_weights, parse_weights, validate_spec, with_weights

FloatReference = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]
"""Float inputs (n, *input_shape) -> scores (n, classes) of the source model."""


class ModelImportError(ModelFileError):
    """A model file to import is malformed or uses what the chain's models cannot express."""


@dataclass(frozen=True, eq=False)
class Imported:
    """An imported model: `model.spec` names `blob`; `input_qparams` quantises float inputs when known."""

    model: Model
    blob: bytes
    input_qparams: QParams | None = None
    float_reference: FloatReference | None = None
    notes: tuple[str, ...] = field(default=())
    """What the import changed on the way (e.g. uint8 shifted to int8), for the report."""

    @property
    def spec(self) -> ModelSpec:
        return self.model.spec


def build(spec: ModelSpec, params: dict[int, dict[str, Any]], metadata: dict[str, Any] | None = None) -> tuple[
        Model, bytes]:
    """The parsed model and blob of an unhashed `spec` and its tensors; ModelImportError naming the problem."""
    try:
        blob = encode_weights(spec, params, metadata)
        spec = with_weights(spec, blob)
        validate_spec(spec)
        return parse_weights(spec, blob), blob
    except ValueError as exc:
        raise ModelImportError(str(exc)) from None


@dataclass(frozen=True)
class Agreement:
    """Predicted classes of the int8 model and (when there is one) the float reference on the same cases."""

    cases: int
    int8_predicted: npt.NDArray[np.int64]
    float_predicted: npt.NDArray[np.int64] | None
    labels: npt.NDArray[np.int64] | None

    @property
    def agreement(self) -> float | None:
        if self.float_predicted is None or not self.cases:
            return None
        return float(np.mean(self.int8_predicted == self.float_predicted))

    def accuracy(self, predicted: npt.NDArray[np.int64] | None) -> float | None:
        if predicted is None or self.labels is None or not self.cases:
            return None
        return float(np.mean(predicted == self.labels))

    def lines(self) -> list[str]:
        out = [f"agreement report on {self.cases} cases:"]
        if self.agreement is not None:
            same = int((self.int8_predicted == self.float_predicted).sum())
            out.append(f"  int8 and float predict the same class for {same}/{self.cases} ({self.agreement:.2%})")
        else:
            out.append("  no float reference for this model: int8 predictions only")
        if self.labels is not None:
            for what, pred in (("float", self.float_predicted), ("int8", self.int8_predicted)):
                acc = self.accuracy(pred)
                if acc is not None:
                    out.append(f"  {what} accuracy against the labels: {acc:.2%}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"cases": self.cases, "agreement": self.agreement,
                "floatAccuracy": self.accuracy(self.float_predicted),
                "int8Accuracy": self.accuracy(self.int8_predicted)}


def load_cases(path: Path) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64] | None]:
    """(x, y or None) from an .npz holding `x` (float or int8 inputs) and optionally `y` (class indices)."""
    if not path.is_file():
        raise ModelImportError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise ModelImportError(f"{path}: not a readable .npz (not a zip archive of arrays)")
    try:
        with np.load(path, allow_pickle=False) as data:
            files = list(data.files)
            x = np.asarray(data["x"]) if "x" in files else None
            y = np.asarray(data["y"]) if "y" in files else None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelImportError(f"{path}: not a readable .npz ({exc})") from None
    if x is None:
        raise ModelImportError(f"{path}: the cases file has no array 'x' (it has: {', '.join(files) or 'none'})")
    if x.dtype.kind not in "fiu":
        raise ModelImportError(f"{path}: array 'x' must hold numbers, got {x.dtype}")
    if y is not None:
        if y.dtype.kind not in "iu" or y.ndim != 1 or len(y) != len(x):
            raise ModelImportError(f"{path}: array 'y' must be one integer class per case of 'x' ({len(x)})")
        y = y.astype(np.int64)
    return x, y


def agreement(imported: Imported, x: npt.NDArray[Any], y: npt.NDArray[np.int64] | None = None) -> Agreement:
    """Run the int8 model (and the float reference, if any) on cases `x`: floats are quantised with the model's
    input quantisation, int8 values are taken as they are."""
    shape = imported.spec.input_shape
    if x.ndim < 2 or x[0].size != int(np.prod(shape)) or not len(x):
        raise ModelImportError(f"the cases 'x' have shape {tuple(x.shape)}; each case must be {tuple(shape)}")
    x = x.reshape(len(x), *shape)
    qp = imported.input_qparams
    if x.dtype.kind == "f":
        if qp is None:
            raise ModelImportError("the model does not say how to quantise float inputs (no input scale): give int8 "
                               "cases in 'x'")
        q = qp.quantize(x)
        xf: npt.NDArray[np.float64] | None = x.astype(np.float64)
    else:
        if x.min() < -128 or x.max() > 127:
            raise ModelImportError("integer cases in 'x' must be int8 values (-128 to 127)")
        q = x.astype(np.int8)
        xf = qp.dequantize(q) if qp is not None else None
    int8_pred = predict_int8(imported.model, q)
    float_pred = None
    if imported.float_reference is not None and xf is not None:
        float_pred = np.argmax(imported.float_reference(xf), axis=1).astype(np.int64)
    return Agreement(len(x), int8_pred, float_pred, y)
