"""Post-training static quantisation: a float network and a calibration set -> a model spec and weights blob that
`runtime.compute.inference` runs unchanged.

- Weights: symmetric int8 per output channel (weight zero point 0, values -127..127), scale max|w| / 127.
- Activations: asymmetric int8 (scale and zero point) over the calibration set's range, widened to hold 0. Every
  tensor between two weight layers shares the first one's output scale and zero point (pooling, ReLU and
  flatten keep them); a ReLU reached through max pooling and flatten only is folded into the range (its
  negative side is never represented: the requantisation's clamp at the zero point is the ReLU).
- Biases: int32 at scale s_in * s_w.
- Requantisation: the real factor s_in * s_w / s_out, taken exactly as a Fraction of the float scales, becomes
  multiplier M in [2**30, 2**31) and shift s with M / 2**s nearest to it among multipliers of 24 significant
  bits (so that M / 2**s is a float32 and the model exports to ONNX exactly); a factor too small for s <= 62
  keeps s = 62 and a smaller M.

Floats are fine here: this is tooling, off the verification path; the result is integers only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from btt_chain.models.float_net import F64, Conv2d, Dense, Flatten, FloatLayer, Pool, Relu, activations
from runtime.compute.inference import run
from runtime.compute.model import (
    AVGPOOL,
    CONV2D,
    DENSE,
    FLATTEN,
    MAX_SHIFT,
    MAXPOOL,
    MULTIPLIER_LIMIT,
    RELU,
    LayerSpec,
    Model,
    ModelSpec,
    encode_weights,
    parse_weights,
    validate_spec,
    with_weights,
)

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
MULTIPLIER_FLOOR = 1 << 30
"""Multipliers are normalised to [2**30, 2**31)."""
MULTIPLIER_BITS = 24
"""Significant bits of the multipliers this quantiser makes: M / 2**s is then exactly a float32, so the model
exports to ONNX (whose scales are float32) and imports back bit for bit; 2**-24 is far finer than int8 needs."""


@dataclass(frozen=True)
class QParams:
    """An int8 quantisation: real = scale * (q - zero_point)."""

    scale: float
    zero_point: int

    def quantize(self, x: npt.ArrayLike) -> npt.NDArray[np.int8]:
        """Float values -> int8: clamp(round_half_even(x / scale) + zero_point, -128, 127)."""
        q = np.round(np.asarray(x, dtype=np.float64) / self.scale) + self.zero_point
        return np.clip(q, -128, 127).astype(np.int8)

    def dequantize(self, q: npt.ArrayLike) -> F64:
        return (np.asarray(q, dtype=np.float64) - self.zero_point) * self.scale

    def to_json(self) -> dict[str, Any]:
        return {"scale": self.scale, "zeroPoint": self.zero_point}


def activation_qparams(lo: float, hi: float) -> QParams:
    """Asymmetric int8 covering [lo, hi] widened to hold 0 (so 0 is exactly representable)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo <= 0.0 or not math.isfinite(hi - lo):
        if not math.isfinite(hi - lo):
            raise ValueError("a calibration range is not finite")
        return QParams(1.0, 0)
    scale = (hi - lo) / 255.0
    zp = int(np.clip(round(-128 - lo / scale), -128, 127))
    return QParams(scale, zp)


def quantize_multiplier(real: Fraction | float, bits: int = 31) -> tuple[int, int]:
    """(M, s) with M / 2**s nearest to `real` >= 0, M in [2**30, 2**31) with at most `bits` significant bits (the
    rest zero), 0 <= s <= MAX_SHIFT. A factor too large for s = 0 is refused; one too small for s = MAX_SHIFT
    keeps that shift with M < 2**30 (possibly 0)."""
    if not 1 <= bits <= 31:
        raise ValueError("a multiplier has 1 to 31 significant bits")
    r = Fraction(real)
    if r < 0:
        raise ValueError(f"a requantisation factor must not be negative, got {float(r)}")
    if r == 0:
        return 0, 0
    # s such that 2**30 <= r * 2**s < 2**31
    s = 30 - (r.numerator.bit_length() - r.denominator.bit_length())
    while r * Fraction(2) ** s >= MULTIPLIER_LIMIT:
        s -= 1
    while r * Fraction(2) ** s < MULTIPLIER_FLOOR:
        s += 1
    if s < 0:
        raise ValueError(f"a requantisation factor of {float(r):.6g} is too large (below 2**31 allowed)")
    s = min(s, MAX_SHIFT)
    exact = r * Fraction(2) ** s
    drop = max(0, int(exact).bit_length() - bits)
    m = round(exact / (1 << drop)) << drop
    if m >= MULTIPLIER_LIMIT:  # rounded up to 2**31
        if s == 0:
            raise ValueError(f"a requantisation factor of {float(r):.6g} is too large (below 2**31 allowed)")
        m, s = m // 2, s - 1
    return int(m), s


def weight_scales(w: F64) -> F64:
    """Symmetric per-output-channel scales max|w| / 127 (1 for an all-zero channel)."""
    amax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    return np.where(amax > 0, amax / 127.0, 1.0)


def quantize_weights(w: F64) -> tuple[npt.NDArray[np.int8], F64]:
    scales = weight_scales(w)
    shape = (-1,) + (1,) * (w.ndim - 1)
    q = np.clip(np.round(w / scales.reshape(shape)), -127, 127).astype(np.int8)
    return q, scales


@dataclass(frozen=True, eq=False)
class Quantized:
    """A quantised model: its parsed form (spec naming the blob), the blob, and the quantisations used."""

    model: Model
    blob: bytes
    input_qparams: QParams
    output_qparams: dict[int, QParams] = field(default_factory=dict)
    """Weight layer index -> the quantisation of its output (and of every tensor up to the next weight layer)."""

    @property
    def spec(self) -> ModelSpec:
        return self.model.spec


def _is_weight(layer: FloatLayer) -> bool:
    return isinstance(layer, Dense | Conv2d)


def _segment_range(layers: list[FloatLayer], acts: list[F64], i: int) -> tuple[float, float]:
    """The float range the output quantisation of weight layer i must cover (see the module docstring)."""
    end = next((k for k in range(i + 1, len(layers)) if _is_weight(layers[k])), len(layers))
    kept = [acts[i + 1]]
    clean = True  # only max pooling and flatten since the weight layer: a ReLU here may be folded
    for j in range(i + 1, end):
        layer = layers[j]
        if isinstance(layer, Relu) and clean:
            kept = [acts[j + 1]]
        else:
            kept.append(acts[j + 1])
            if not (isinstance(layer, Flatten) or isinstance(layer, Pool) and layer.kind == "max"):
                clean = False
    return min(float(a.min()) for a in kept), max(float(a.max()) for a in kept)


def _layer_spec(layer: FloatLayer, out_zp: int) -> LayerSpec:
    if isinstance(layer, Dense):
        return LayerSpec(DENSE, out=layer.weight.shape[0], output_zp=out_zp, per_channel=True)
    if isinstance(layer, Conv2d):
        return LayerSpec(CONV2D, out=layer.weight.shape[0], kernel=tuple(layer.weight.shape[2:]),
                         stride=tuple(layer.stride), pads=tuple(layer.pads), output_zp=out_zp, per_channel=True)
    if isinstance(layer, Pool):
        return LayerSpec(MAXPOOL if layer.kind == "max" else AVGPOOL, kernel=tuple(layer.kernel),
                         stride=tuple(layer.stride))
    return LayerSpec(RELU if isinstance(layer, Relu) else FLATTEN)


def requant_params(s_in: float, s_w: F64, s_out: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per-channel (multipliers, shifts) of the factors s_in * s_w[c] / s_out, computed on exact Fractions."""
    pairs = [quantize_multiplier(Fraction(s_in) * Fraction(float(sw)) / Fraction(s_out), MULTIPLIER_BITS)
             for sw in s_w]
    return np.array([m for m, _ in pairs], dtype=np.int64), np.array([s for _, s in pairs], dtype=np.int64)


def quantize_bias(b: F64, s_in: float, s_w: F64) -> npt.NDArray[np.int64]:
    return np.clip(np.round(b / (s_in * s_w)), INT32_MIN, INT32_MAX).astype(np.int64)


def quantize(name: str, input_shape: tuple[int, ...], layers: list[FloatLayer], calibration: F64,
             labels: tuple[str, ...] = (), input_qparams: QParams | None = None,
             metadata: dict[str, Any] | None = None) -> Quantized:
    """Quantise `layers` with activation ranges from `calibration` (n, *input_shape); `input_qparams` fixes the
    input's quantisation (else calibrated like every activation). ValueError if the result breaks a limit."""
    acts = activations(layers, calibration)
    in_qp = input_qparams or activation_qparams(float(acts[0].min()), float(acts[0].max()))
    current = in_qp
    specs: list[LayerSpec] = []
    params: dict[int, dict[str, Any]] = {}
    out_qps: dict[int, QParams] = {}
    for i, layer in enumerate(layers):
        if isinstance(layer, Dense | Conv2d):
            out_qp = activation_qparams(*_segment_range(layers, acts, i))
            wq, s_w = quantize_weights(layer.weight)
            mult, shift = requant_params(current.scale, s_w, out_qp.scale)
            params[i] = {"weights": wq, "bias": quantize_bias(layer.bias, current.scale, s_w),
                         "multiplier": mult, "shift": shift}
            specs.append(_layer_spec(layer, out_qp.zero_point))
            out_qps[i] = out_qp
            current = out_qp
        else:
            specs.append(_layer_spec(layer, 0))
    spec = ModelSpec(name, tuple(input_shape), in_qp.zero_point, tuple(specs), tuple(labels), bytes(32), 0)
    blob = encode_weights(spec, params, metadata)
    spec = with_weights(spec, blob)
    validate_spec(spec)
    return Quantized(parse_weights(spec, blob), blob, in_qp, out_qps)


def with_metadata(q: Quantized, metadata: dict[str, Any]) -> Quantized:
    """The same model with `metadata` in its blob (a new weights hash, so a new model hash)."""
    params = {i: {"weights": p.weights, "bias": p.bias, "multiplier": p.multiplier, "shift": p.shift}
              for i, p in enumerate(q.model.params) if p is not None}
    blob = encode_weights(q.spec, params, metadata)
    spec = with_weights(q.spec, blob)
    validate_spec(spec)
    return Quantized(parse_weights(spec, blob), blob, q.input_qparams, q.output_qparams)


def predict_int8(model: Model, q_inputs: npt.NDArray[np.int8]) -> npt.NDArray[np.int64]:
    """Predicted classes of int8 inputs (n, *input_shape) through the chain's integer kernels (argmax of the
    int8 logits, ties to the lowest index: what an output item's first byte holds)."""
    x = np.asarray(q_inputs, dtype=np.int8).reshape(len(q_inputs), *model.spec.input_shape)
    return np.argmax(run(model, x), axis=1).astype(np.int64)
