"""Deterministic integer inference: the useful work a provider performs and every node re-executes.

Only integer numpy arithmetic is used (int8 data, int64 accumulators saturated to int32), so the bytes are the
same on every machine. docs/models.md states each layer's arithmetic with test vectors. In short, with zp the
current zero point (the input's, then each weight layer's output zero point):

- dense / conv2d: acc = bias + sum((x - zp) * (w - weight_zp)), saturated to int32 (conv pads with zp);
  y = clamp(output_zp + round_shift(acc * multiplier, shift), -128, 127), where round_shift(v, 0) = v and
  round_shift(v, s) = (v + 2**(s-1)) >> s (arithmetic shift: rounds half up).
- maxpool: the window's maximum. avgpool: floor((2 * sum + n) / (2 * n)) over the window's n values.
- relu: max(x, zp). flatten: channel-major.

An output item is one byte holding the argmax of the final int8 vector (ties to the lowest index) followed by
that vector's bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from runtime.compute.model import (
    AVGPOOL,
    CONV2D,
    DENSE,
    FLATTEN,
    MAXPOOL,
    RELU,
    LayerParams,
    LayerSpec,
    Model,
    input_bytes,
)

INT8_MIN = -128
INT8_MAX = 127
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

I64 = npt.NDArray[np.int64]


def requantise(acc: I64, p: LayerParams, output_zp: int, channel_axis: int) -> I64:
    """int32-saturated accumulators -> int8 values (as int64) with the layer's multiplier(s) and shift(s)."""
    acc = np.clip(acc, INT32_MIN, INT32_MAX)
    shape = [1] * acc.ndim
    shape[channel_axis] = -1
    m = p.multiplier.reshape(shape) if p.multiplier.size > 1 else p.multiplier[0]
    s = p.shift.reshape(shape) if p.shift.size > 1 else p.shift[0]
    prod = acc * m
    half = np.where(s > 0, np.left_shift(np.int64(1), np.maximum(s, 1) - 1), 0)
    y = np.right_shift(prod + half, s)
    return np.clip(y + output_zp, INT8_MIN, INT8_MAX)


def _windows(x: I64, kh: int, kw: int, sh: int, sw: int) -> I64:
    """(n, c, h, w) -> (n, c, oh, ow, kh, kw) views of every window."""
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x, shape=(n, c, oh, ow, kh, kw), strides=(s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]), writeable=False)


def dense(x: I64, layer: LayerSpec, p: LayerParams, zp: int) -> I64:
    w = p.weights.astype(np.int64) - layer.weight_zp
    acc = (x - zp) @ w.T + p.bias.astype(np.int64)
    return requantise(acc, p, layer.output_zp, 1)


def conv2d(x: I64, layer: LayerSpec, p: LayerParams, zp: int) -> I64:
    top, left, bottom, right = layer.pads
    centred = np.pad(x - zp, ((0, 0), (0, 0), (top, bottom), (left, right)))
    kh, kw = layer.kernel
    win = _windows(np.ascontiguousarray(centred), kh, kw, *layer.stride)  # (n, c, oh, ow, kh, kw)
    n, c, oh, ow = win.shape[:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    w = (p.weights.astype(np.int64) - layer.weight_zp).reshape(layer.out, c * kh * kw)
    acc = (cols @ w.T + p.bias.astype(np.int64)).reshape(n, oh, ow, layer.out).transpose(0, 3, 1, 2)
    return requantise(acc, p, layer.output_zp, 1)


def pool(x: I64, layer: LayerSpec) -> I64:
    kh, kw = layer.kernel
    win = _windows(np.ascontiguousarray(x), kh, kw, *layer.stride)
    if layer.kind == MAXPOOL:
        return win.max(axis=(4, 5))
    count = kh * kw
    total = win.sum(axis=(4, 5))
    return np.floor_divide(2 * total + count, 2 * count)


def run(model: Model, x: I64) -> I64:
    """The final int8 vectors (as int64, shape (n, classes)) of a batch `x` shaped (n, *input_shape)."""
    zp = model.spec.input_zp
    for layer, p in zip(model.spec.layers, model.params, strict=True):
        if layer.kind == DENSE:
            assert p is not None
            x, zp = dense(x, layer, p, zp), layer.output_zp
        elif layer.kind == CONV2D:
            assert p is not None
            x, zp = conv2d(x, layer, p, zp), layer.output_zp
        elif layer.kind in (MAXPOOL, AVGPOOL):
            x = pool(x, layer)
        elif layer.kind == RELU:
            x = np.maximum(x, np.int64(zp))
        elif layer.kind == FLATTEN:
            x = x.reshape(x.shape[0], -1)
    return x


def infer(model: Model, inputs: Sequence[bytes]) -> list[bytes]:
    """Run `model` on a batch of input items and return one output item per input, in order.

    Raises ValueError if an item is not `input_bytes(model.spec)` bytes long.
    """
    width = input_bytes(model.spec)
    for i, item in enumerate(inputs):
        if not isinstance(item, bytes) or len(item) != width:
            size = len(item) if isinstance(item, (bytes, bytearray)) else type(item).__name__
            raise ValueError(f"input item {i} must be {width} bytes, got {size}")
    if not inputs:
        return []
    x = np.frombuffer(b"".join(inputs), dtype=np.int8).astype(np.int64)
    x = x.reshape(len(inputs), *model.spec.input_shape)
    logits = run(model, x).astype(np.int8)
    labels = np.argmax(logits, axis=1).astype(np.uint8)
    return [bytes([int(c)]) + row.tobytes() for c, row in zip(labels, logits, strict=True)]


def infer_one(model: Model, item: bytes) -> bytes:
    """The output item of a single input item."""
    return infer(model, [item])[0]


def decode_output(output: bytes) -> tuple[int, bytes]:
    """(class index, logits) of an output item."""
    return output[0], output[1:]
