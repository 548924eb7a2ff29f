"""The .npz form of an int8 model: the chain's spec and tensors as named numpy arrays (docs/model-import.md).

    input_shape                 int, 1 or 3 values: (features,) or (channels, height, width)
    input_zero_point            int scalar, -128..127
    input_scale                 optional float scalar > 0: real input = input_scale * (q - input_zero_point)
    layer{i}_kind               str scalar: dense, conv2d, maxpool, avgpool, relu or flatten (i = 0, 1, ...)
    layer{i}_weights            dense and conv2d: int8 values, (out, in) or (out, in_channels, kh, kw)
    layer{i}_bias               int32 values, (out,)
    layer{i}_multiplier         int values 0..2**31-1, (out,) per channel or (1,) per tensor
    layer{i}_shift              int values 0..62, the multiplier's shape
    layer{i}_weight_zero_point  optional int scalar (default 0)
    layer{i}_output_zero_point  int scalar
    layer{i}_stride             conv2d and pools: optional 2 ints (default 1, 1 for conv2d, the kernel for pools)
    layer{i}_pads               conv2d: optional 4 ints, top, left, bottom, right (default 0)
    layer{i}_kernel             maxpool and avgpool: 2 ints
    labels                      optional str, one per class
    name                        optional str scalar
    metadata                    optional str scalar: a JSON object (goes into the blob's metadata section)

Anything else, a missing array, a wrong dtype, shape or value is refused with a message naming the array.
Files are read with allow_pickle=False.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from btt_chain.models.imported import NPZ_READ_ERRORS, Imported, ModelImportError, build, npz_read_failure
from btt_chain.models.quantize import QParams
from runtime.compute.model import (
    CONV2D,
    DENSE,
    LAYER_KINDS,
    MAX_LAYERS,
    MAX_SHIFT,
    MULTIPLIER_LIMIT,
    POOL_KINDS,
    WEIGHT_KINDS,
    LayerSpec,
    Model,
    ModelSpec,
    tensor_layout,
    validate_spec,
)

_LAYER_ARRAY = re.compile(r"layer(0|[1-9][0-9]*)_([a-z_]+)")
_TOP = {"input_shape", "input_zero_point", "input_scale", "labels", "name", "metadata"}
_WEIGHT_ARRAYS = {"kind", "weights", "bias", "multiplier", "shift", "weight_zero_point", "output_zero_point"}
_ARRAYS_OF = {
    "dense": _WEIGHT_ARRAYS,
    "conv2d": _WEIGHT_ARRAYS | {"stride", "pads"},
    "maxpool": {"kind", "kernel", "stride"},
    "avgpool": {"kind", "kernel", "stride"},
    "relu": {"kind"},
    "flatten": {"kind"},
}
_RANGES = {"weights": (-128, 127), "bias": (-(2**31), 2**31 - 1), "multiplier": (0, MULTIPLIER_LIMIT - 1),
           "shift": (0, MAX_SHIFT)}


class NpzFormatError(ModelImportError):
    """An .npz model is malformed; the message names the array."""


def _int_scalar(arrays: dict[str, npt.NDArray[Any]], key: str, lo: int, hi: int, default: int | None = None) -> int:
    if key not in arrays:
        if default is None:
            raise NpzFormatError(f"array '{key}' is missing")
        return default
    a = arrays[key]
    if a.dtype.kind not in "iu" or a.size != 1 or a.ndim > 1:
        raise NpzFormatError(f"array '{key}' must be one integer, got {a.dtype} of shape {a.shape}")
    v = int(a.reshape(-1)[0])
    if not lo <= v <= hi:
        raise NpzFormatError(f"array '{key}' must be from {lo} to {hi}, got {v}")
    return v


def _ints(arrays: dict[str, npt.NDArray[Any]], key: str, count: int | tuple[int, ...],
          default: tuple[int, ...] | None = None) -> tuple[int, ...]:
    if key not in arrays:
        if default is None:
            raise NpzFormatError(f"array '{key}' is missing")
        return default
    a = arrays[key]
    counts = (count,) if isinstance(count, int) else count
    if a.dtype.kind not in "iu" or a.ndim != 1 or len(a) not in counts:
        want = " or ".join(str(c) for c in counts)
        raise NpzFormatError(f"array '{key}' must be {want} integers, got {a.dtype} of shape {a.shape}")
    return tuple(int(v) for v in a)


def _text(arrays: dict[str, npt.NDArray[Any]], key: str) -> str | None:
    if key not in arrays:
        return None
    a = arrays[key]
    if a.dtype.kind != "U" or a.size != 1 or a.ndim > 1:
        raise NpzFormatError(f"array '{key}' must be one string, got {a.dtype} of shape {a.shape}")
    return str(a.reshape(-1)[0])


def _read(path: Path) -> dict[str, npt.NDArray[Any]]:
    if not path.is_file():
        raise NpzFormatError(f"{path}: no such file")
    try:
        if not zipfile.is_zipfile(path):
            raise NpzFormatError(f"{path}: not a readable .npz (not a zip archive of arrays)")
        with np.load(path, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except FileNotFoundError:
        raise NpzFormatError(f"{path}: no such file") from None
    except NpzFormatError:
        raise
    except NPZ_READ_ERRORS as exc:
        if isinstance(exc, ValueError) and "pickle" in str(exc):
            raise NpzFormatError(f"{path}: holds object arrays (pickles), which are refused") from None
        raise NpzFormatError(npz_read_failure(path, exc)) from None


def _layer_names(arrays: dict[str, npt.NDArray[Any]]) -> list[str]:
    """Each layer's kind, in order; refuses unknown arrays and gaps in the numbering."""
    kinds: dict[int, str] = {}
    indices: set[int] = set()
    for key in sorted(arrays):
        if key in _TOP:
            continue
        m = _LAYER_ARRAY.fullmatch(key)
        if m is None:
            raise NpzFormatError(f"unknown array '{key}' (see docs/model-import.md)")
        indices.add(int(m.group(1)))
    for i in sorted(indices):
        if i >= MAX_LAYERS:
            raise NpzFormatError(f"array 'layer{i}_kind': a model has at most {MAX_LAYERS} layers")
        kind = _text(arrays, f"layer{i}_kind")
        if kind is None:
            raise NpzFormatError(f"array 'layer{i}_kind' is missing (layer {i} has other arrays)")
        if kind not in LAYER_KINDS:
            raise NpzFormatError(f"array 'layer{i}_kind' must be one of {', '.join(LAYER_KINDS)}, got {kind!r}")
        kinds[i] = kind
    if not kinds:
        raise NpzFormatError("array 'layer0_kind' is missing: the file has no layers")
    for i in range(max(kinds) + 1):
        if i not in kinds:
            raise NpzFormatError(f"array 'layer{i}_kind' is missing (layers are numbered 0, 1, ... without gaps)")
    for key in arrays:
        m = _LAYER_ARRAY.fullmatch(key)
        if m is not None and m.group(2) not in _ARRAYS_OF[kinds[int(m.group(1))]]:
            raise NpzFormatError(f"array '{key}' does not belong to a {kinds[int(m.group(1))]} layer")
    return [kinds[i] for i in range(len(kinds))]


def _layer(arrays: dict[str, npt.NDArray[Any]], i: int, kind_name: str) -> LayerSpec:
    p = f"layer{i}_"
    kind = LAYER_KINDS.index(kind_name)
    if kind in WEIGHT_KINDS:
        w = arrays.get(p + "weights")
        if w is None:
            raise NpzFormatError(f"array '{p}weights' is missing")
        if w.ndim != (2 if kind == DENSE else 4):
            raise NpzFormatError(f"array '{p}weights' of a {kind_name} layer must have {2 if kind == DENSE else 4} "
                                 f"dimensions, got shape {w.shape}")
        m = arrays.get(p + "multiplier")
        if m is None:
            raise NpzFormatError(f"array '{p}multiplier' is missing")
        out = int(w.shape[0])
        if m.ndim != 1 or len(m) not in (1, out):
            raise NpzFormatError(f"array '{p}multiplier' must have shape ({out},) per channel or (1,) per tensor, "
                                 f"got {m.shape}")
        fields: dict[str, Any] = {
            "kind": kind, "out": out, "per_channel": m.ndim == 1 and len(m) == out and out > 1,
            "weight_zp": _int_scalar(arrays, p + "weight_zero_point", -128, 127, 0),
            "output_zp": _int_scalar(arrays, p + "output_zero_point", -128, 127),
        }
        if kind == CONV2D:
            fields.update(kernel=tuple(int(v) for v in w.shape[2:]), stride=_ints(arrays, p + "stride", 2, (1, 1)),
                          pads=_ints(arrays, p + "pads", 4, (0, 0, 0, 0)))
        return LayerSpec(**fields)
    if kind in POOL_KINDS:
        kernel = _ints(arrays, p + "kernel", 2)
        return LayerSpec(kind, kernel=kernel, stride=_ints(arrays, p + "stride", 2, kernel))
    return LayerSpec(kind)


def _tensors(arrays: dict[str, npt.NDArray[Any]], spec: ModelSpec) -> dict[int, dict[str, Any]]:
    params: dict[int, dict[str, Any]] = {}
    for slot in tensor_layout(spec):
        key = f"layer{slot.layer}_{slot.name}"
        a = arrays.get(key)
        if a is None:
            raise NpzFormatError(f"array '{key}' is missing")
        if a.dtype.kind not in "iu":
            raise NpzFormatError(f"array '{key}' must hold integers, got {a.dtype}")
        if tuple(a.shape) != slot.shape:
            raise NpzFormatError(f"array '{key}' must have shape {slot.shape}, got {tuple(a.shape)}")
        lo, hi = _RANGES[slot.name]
        if a.size and (int(a.min()) < lo or int(a.max()) > hi):
            raise NpzFormatError(f"array '{key}' values must be {lo} to {hi}, got {int(a.min())} to {int(a.max())}")
        params.setdefault(slot.layer, {})[slot.name] = a.astype(np.int64)
    return params


def import_npz(path: Path, name: str | None = None, labels: tuple[str, ...] | None = None) -> Imported:
    """The model in the .npz at `path` (`name` and `labels` override the file's); NpzFormatError naming the
    array at fault."""
    arrays = _read(path)
    kinds = _layer_names(arrays)
    shape = _ints(arrays, "input_shape", (1, 3))
    zp = _int_scalar(arrays, "input_zero_point", -128, 127)
    qp = None
    if "input_scale" in arrays:
        s = arrays["input_scale"]
        if s.dtype.kind != "f" or s.size != 1 or s.ndim > 1 or not float(s.reshape(-1)[0]) > 0 \
                or not np.isfinite(s).all():
            raise NpzFormatError(f"array 'input_scale' must be one positive float, got {s.dtype} {s.reshape(-1)[:3]}")
        qp = QParams(float(s.reshape(-1)[0]), zp)
    if labels is None and "labels" in arrays:
        a = arrays["labels"]
        if a.dtype.kind != "U" or a.ndim != 1:
            raise NpzFormatError(f"array 'labels' must be a list of strings, got {a.dtype} of shape {a.shape}")
        labels = tuple(str(v) for v in a)
    metadata: dict[str, Any] | None = None
    meta_text = _text(arrays, "metadata")
    if meta_text is not None:
        try:
            metadata = json.loads(meta_text)
        except ValueError:
            raise NpzFormatError("array 'metadata' is not JSON") from None
        if not isinstance(metadata, dict):
            raise NpzFormatError("array 'metadata' must hold a JSON object")
    model_name = name or _text(arrays, "name") or path.name.removesuffix(".npz")
    layers = tuple(_layer(arrays, i, k) for i, k in enumerate(kinds))
    spec = ModelSpec(model_name, shape, zp, layers, labels or (), bytes(32), 0)
    try:
        validate_spec(spec.replace(weights_size=4 + sum(s.nbytes for s in tensor_layout(spec))))
    except ValueError as exc:
        raise NpzFormatError(str(exc)) from None
    model, blob = build(spec, _tensors(arrays, spec), metadata)
    return Imported(model, blob, qp)


def npz_arrays(model: Model, input_scale: float | None = None) -> dict[str, npt.NDArray[Any]]:
    """The arrays of `model` in the .npz form (the inverse of `import_npz`)."""
    spec = model.spec
    out: dict[str, npt.NDArray[Any]] = {
        "name": np.array(spec.name), "input_shape": np.array(spec.input_shape, dtype=np.int64),
        "input_zero_point": np.array(spec.input_zp, dtype=np.int64),
    }
    if input_scale is not None:
        out["input_scale"] = np.array(input_scale, dtype=np.float64)
    if spec.labels:
        out["labels"] = np.array(spec.labels)
    if model.metadata:
        out["metadata"] = np.array(json.dumps(model.metadata, sort_keys=True, separators=(",", ":")))
    for i, (layer, p) in enumerate(zip(spec.layers, model.params, strict=True)):
        pre = f"layer{i}_"
        out[pre + "kind"] = np.array(LAYER_KINDS[layer.kind])
        if p is not None:
            out.update({pre + "weights": p.weights, pre + "bias": p.bias, pre + "multiplier": p.multiplier,
                        pre + "shift": p.shift, pre + "weight_zero_point": np.array(layer.weight_zp),
                        pre + "output_zero_point": np.array(layer.output_zp)})
        if layer.kind == CONV2D:
            out[pre + "stride"], out[pre + "pads"] = np.array(layer.stride), np.array(layer.pads)
        elif layer.kind in POOL_KINDS:
            out[pre + "kernel"], out[pre + "stride"] = np.array(layer.kernel), np.array(layer.stride)
    return out


def write_npz(path: Path, model: Model, input_scale: float | None = None) -> None:
    """Write `model` in the .npz form."""
    arrays: dict[str, Any] = npz_arrays(model, input_scale)  # Any: numpy's stubs read ** as allow_pickle
    np.savez(path, **arrays)
