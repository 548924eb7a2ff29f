"""Float networks of the layer kinds the chain runs (dense, conv2d, max/avg pooling, ReLU, flatten), in float64
numpy: what training produces, what quantisation calibrates on, and the float side of an import's agreement
report. Shapes are those of `runtime.compute.model` (NCHW, channel-major flatten)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass
class Dense:
    """y = x @ weight.T + bias; weight (out, in)."""

    weight: F64
    bias: F64


@dataclass
class Conv2d:
    """Cross-correlation, weight (out, in, kh, kw), zero padding (top, left, bottom, right)."""

    weight: F64
    bias: F64
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass(frozen=True)
class Pool:
    """Max or average pooling without padding."""

    kind: str
    """"max" or "avg"."""
    kernel: tuple[int, int]
    stride: tuple[int, int]


@dataclass(frozen=True)
class Relu:
    pass


@dataclass(frozen=True)
class Flatten:
    pass


FloatLayer = Dense | Conv2d | Pool | Relu | Flatten


def windows(x: F64, kh: int, kw: int, sh: int, sw: int) -> F64:
    """(n, c, h, w) -> read-only (n, c, oh, ow, kh, kw) views of every window."""
    return np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]


def im2col(x: F64, kh: int, kw: int, stride: tuple[int, int], pads: tuple[int, int, int, int]) -> tuple[F64, int, int]:
    """Padded (n, c, h, w) -> columns (n*oh*ow, c*kh*kw) in (c, kh, kw) order, with oh and ow."""
    top, left, bottom, right = pads
    xp = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right))))
    win = windows(xp, kh, kw, *stride)
    n, c, oh, ow = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw), oh, ow


def conv2d(x: F64, layer: Conv2d) -> F64:
    out, _, kh, kw = layer.weight.shape
    cols, oh, ow = im2col(x, kh, kw, layer.stride, layer.pads)
    y = cols @ layer.weight.reshape(out, -1).T + layer.bias
    return np.ascontiguousarray(y.reshape(x.shape[0], oh, ow, out).transpose(0, 3, 1, 2))


def pool(x: F64, layer: Pool) -> F64:
    win = windows(np.ascontiguousarray(x), *layer.kernel, *layer.stride)
    return win.max(axis=(4, 5)) if layer.kind == "max" else win.mean(axis=(4, 5))


def apply(layer: FloatLayer, x: F64) -> F64:
    """One layer on a batch."""
    if isinstance(layer, Dense):
        return x @ layer.weight.T + layer.bias
    if isinstance(layer, Conv2d):
        return conv2d(x, layer)
    if isinstance(layer, Pool):
        return pool(x, layer)
    if isinstance(layer, Relu):
        return np.maximum(x, 0.0)
    return x.reshape(x.shape[0], -1)


def activations(layers: list[FloatLayer], x: F64) -> list[F64]:
    """The batch `x` (n, *input_shape), then every layer's output."""
    out = [np.asarray(x, dtype=np.float64)]
    for layer in layers:
        out.append(apply(layer, out[-1]))
    return out


def forward(layers: list[FloatLayer], x: F64) -> F64:
    """The final scores (n, classes) of a batch."""
    return activations(layers, x)[-1]


def predict(layers: list[FloatLayer], x: F64) -> npt.NDArray[np.int64]:
    """Predicted class per item (argmax of the scores, ties to the lowest index)."""
    return np.argmax(forward(layers, x), axis=1).astype(np.int64)
