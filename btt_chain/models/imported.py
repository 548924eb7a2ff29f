"""What an import produces (the chain's model, its blob, how to quantise a float input, and optionally a float
reference of the source model) and the agreement report of the int8 model against that reference on data."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from btt_chain.models.files import ModelFileError
from btt_chain.models.float_net import F64, Conv2d, Pool, conv2d, pool
from btt_chain.models.quantize import QParams, predict_int8
from runtime.compute.model import (
    AVGPOOL,
    DENSE,
    FLATTEN,
    MAXPOOL,
    RELU,
    Model,
    ModelSpec,
    encode_weights,
    parse_weights,
    validate_spec,
    with_weights,
)

FloatReference = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]
"""Float inputs (n, *input_shape) -> scores (n, classes) of the source model."""


class ModelImportError(ModelFileError):
    """A model file to import is malformed or uses what the chain's models cannot express."""


NPZ_READ_ERRORS: tuple[type[Exception], ...] = (
    OSError, EOFError, ValueError, zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error)
"""What numpy and zipfile raise on a malformed .npz: besides a bad archive or array (BadZipFile, EOFError,
ValueError), NotImplementedError for a compression method zipfile lacks, RuntimeError for an encrypted member and
zlib.error for corrupt deflate data."""


def npz_read_failure(path: Path, exc: Exception) -> str:
    """The one line saying why the .npz at `path` could not be read."""
    if isinstance(exc, NotImplementedError):
        reason = ("its arrays use a zip compression method other than stored, deflate, bzip2 or lzma; write it with "
                  "numpy.savez or numpy.savez_compressed")
    else:
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
    return f"{path}: not a readable .npz ({reason})"


@dataclass(frozen=True, eq=False)
class Imported:
    """An imported model: `model.spec` names `blob`; `input_qparams` quantises float inputs when known."""

    model: Model
    blob: bytes
    input_qparams: QParams | None = None
    float_reference: FloatReference | None = None
    notes: tuple[str, ...] = field(default=())
    """What the import changed on the way (e.g. uint8 shifted to int8), for the report."""
    reference_name: str = "float semantics"
    """What `float_reference` computes, for the report."""

    @property
    def spec(self) -> ModelSpec:
        return self.model.spec


def float_semantics(model: Model, input_qp: QParams, factors: dict[int, F64] | None = None) -> FloatReference:
    """The model in float semantics: weights dequantised exactly, activations neither rounded nor requantised,
    only saturated to their int8 ranges (so a ReLU folded into a quantisation range stays a ReLU). `factors[i]`
    is weight layer i's real requantisation factor per output channel (default: its multiplier / 2**shift).
    Values are carried on the int8 scale of each tensor (real value = scale * (v - zero point))."""
    spec = model.spec

    def run(x: F64) -> F64:
        v = np.clip(np.asarray(x, dtype=np.float64) / input_qp.scale + input_qp.zero_point, -128.0, 127.0)
        zp = float(spec.input_zp)
        for i, (layer, p) in enumerate(zip(spec.layers, model.params, strict=True)):
            if p is not None:
                w = p.weights.astype(np.float64) - layer.weight_zp
                if factors is not None and i in factors:
                    r = np.asarray(factors[i], dtype=np.float64)
                else:
                    r = p.multiplier.astype(np.float64) / np.exp2(p.shift.astype(np.float64))
                r = np.broadcast_to(r, (layer.out,))
                if layer.kind == DENSE:
                    acc = (v - zp) @ w.T + p.bias
                    y = acc * r
                else:
                    conv = Conv2d(w, p.bias.astype(np.float64), (layer.stride[0], layer.stride[1]),
                                  (layer.pads[0], layer.pads[1], layer.pads[2], layer.pads[3]))
                    y = conv2d(v - zp, conv) * r.reshape(1, -1, 1, 1)
                v = np.clip(y + layer.output_zp, -128.0, 127.0)
                zp = float(layer.output_zp)
            elif layer.kind in (MAXPOOL, AVGPOOL):
                v = pool(v, Pool("max" if layer.kind == MAXPOOL else "avg", (layer.kernel[0], layer.kernel[1]),
                                 (layer.stride[0], layer.stride[1])))
            elif layer.kind == RELU:
                v = np.maximum(v, zp)
            elif layer.kind == FLATTEN:
                v = v.reshape(v.shape[0], -1)
        return v

    return run


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
    """Predicted classes of the int8 model and of each reference (name -> predictions) on the same cases."""

    cases: int
    int8_predicted: npt.NDArray[np.int64]
    references: dict[str, npt.NDArray[np.int64]]
    labels: npt.NDArray[np.int64] | None

    def agreement(self, name: str) -> float:
        return float(np.mean(self.int8_predicted == self.references[name])) if self.cases else 1.0

    def accuracy(self, predicted: npt.NDArray[np.int64]) -> float | None:
        if self.labels is None or not self.cases:
            return None
        return float(np.mean(predicted == self.labels))

    def lines(self) -> list[str]:
        out = [f"agreement on {self.cases} cases:"]
        if not self.references:
            out.append("  no float reference for this model: int8 predictions only")
        for name, pred in self.references.items():
            same = int((self.int8_predicted == pred).sum())
            out.append(f"  int8 model and {name}: the same class for {same}/{self.cases} ({self.agreement(name):.2%})")
        if self.labels is not None:
            for name, pred in (*self.references.items(), ("the int8 model", self.int8_predicted)):
                acc = self.accuracy(pred)
                if acc is not None:
                    out.append(f"  accuracy of {name} against the labels: {acc:.2%}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"cases": self.cases,
                "references": {name: {"agreement": self.agreement(name), "accuracy": self.accuracy(pred)}
                               for name, pred in self.references.items()},
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
    except NPZ_READ_ERRORS as exc:
        raise ModelImportError(npz_read_failure(path, exc)) from None
    if x is None:
        raise ModelImportError(f"{path}: the cases file has no array 'x' (it has: {', '.join(files) or 'none'})")
    if x.dtype.kind not in "fiu":
        raise ModelImportError(f"{path}: array 'x' must hold numbers, got {x.dtype}")
    if y is not None:
        if y.dtype.kind not in "iu" or y.ndim != 1 or len(y) != len(x):
            raise ModelImportError(f"{path}: array 'y' must be one integer class per case of 'x' ({len(x)})")
        y = y.astype(np.int64)
    return x, y


def agreement(imported: Imported, x: npt.NDArray[Any], y: npt.NDArray[np.int64] | None = None,
              extra: dict[str, FloatReference] | None = None) -> Agreement:
    """Run the int8 model, its float reference (if any) and the `extra` references on cases `x`: floats are
    quantised with the model's input quantisation, int8 values are taken as they are."""
    shape = imported.spec.input_shape
    if x.ndim < 2 or not len(x) or x[0].size != int(np.prod(shape)):
        raise ModelImportError(f"the cases 'x' have shape {tuple(x.shape)}; each case must be {tuple(shape)}")
    x = x.reshape(len(x), *shape)
    qp = imported.input_qparams
    xf: F64 | None
    if x.dtype.kind == "f":
        if qp is None:
            raise ModelImportError("the model does not say how to quantise float inputs (no input scale): give int8 "
                                   "cases in 'x'")
        q = qp.quantize(x)
        xf = x.astype(np.float64)
    else:
        if x.min() < -128 or x.max() > 127:
            raise ModelImportError("integer cases in 'x' must be int8 values (-128 to 127)")
        q = x.astype(np.int8)
        xf = qp.dequantize(q) if qp is not None else None
    if y is not None and len(y) != len(x):
        raise ModelImportError(f"the labels 'y' must be one per case ({len(x)}), got {len(y)}")
    references: dict[str, npt.NDArray[np.int64]] = {}
    refs = dict(extra or {})
    if imported.float_reference is not None:
        refs = {imported.reference_name: imported.float_reference, **refs}
    if xf is not None:
        for name, ref in refs.items():
            references[name] = np.argmax(ref(xf), axis=1).astype(np.int64)
    return Agreement(len(x), predict_int8(imported.model, q), references, y)
