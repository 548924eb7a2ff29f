"""Deterministic integer inference: the useful work a provider performs and every node re-executes.

Only integer numpy arithmetic is used, so the bytes are the same on every machine. docs/models.md states each
layer's arithmetic with test vectors; in short, with zp the current zero point (the input's, then each weight
layer's output zero point):

- dense / conv2d: acc = bias + sum((x - zp) * (w - weight_zp)), exact, then saturated to int32 (conv pads with
  zp); y = clamp(output_zp + round_shift(acc * multiplier, shift), -128, 127), where round_shift(v, 0) = v and
  round_shift(v, s) = (v + 2**(s-1)) >> s (arithmetic shift: rounds half up).
- maxpool: the window's maximum. avgpool: floor((2 * sum + n) / (2 * n)) over the window's n values.
- relu: max(x, zp). flatten: channel-major.

An output item is one byte holding the argmax of the final int8 vector (ties to the lowest index) followed by
that vector's bytes.

How it stays exact and fast. Activations are int8 between layers. A weight layer's products are summed by
`np.einsum` in int32 (numpy's integer matmul has no vectorised loop; einsum's has), over slices of at most
ACC_CHUNK products: a slice's sum is below ACC_CHUNK * 255 * 255 < 2**31 in magnitude, so it cannot overflow;
slices, the bias and the weight zero point's term are added in int64, where acc * multiplier (< 2**62) and the
rounding term fit too. The products are laid out one of two ways (the choice changes no result, only which
of einsum's loops is long): by rows, each output's products adjacent (`_sum_rows`, for a few rows of long
products: dense layers on small batches), or by taps, each product index's values over all outputs adjacent
(`_sum_taps`, for short products or many rows: convolutions, large batches). A convolution lays its windows out
(im2col) a block at a time, so memory stays bounded whatever the batch. Pools are separable: the rows'
windows, then the columns'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..compute.model import (
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
    output_bytes,
)

__all__ = ["decode_output", "infer", "infer_one", "input_bytes", "output_bytes", "run"]

INT8_MIN = -128
INT8_MAX = 127
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

ACC_CHUNK = 32_768
"""Products summed in int32 at once: 32,768 * 255 * 255 = 2,130,739,200 < 2**31, so a sum of centred values
cannot overflow."""
TAPS_MIN_LENGTH = 256
"""A layer sums by taps (see `_sum_taps`) only if its rows (items, or output positions) or its outputs per row
are at least this many (the length of einsum's inner loop there), and then if it has fewer products per output
than TAPS_MAX_K or at least TAPS_MIN_ROWS rows (where transposing its weights costs little beside the
products); else by rows (`_sum_rows`)."""
TAPS_MAX_K = 32
TAPS_MIN_ROWS = 64
WIDEN_ROWS = 16
"""Summing by rows, the weights are widened to int32 once from this many rows on; below it einsum reads them as
the int8 they are (a copy of every weight would cost more than the few rows' products)."""
FOLD_SHIFT = 54
"""See `requantise`."""
CLAMP_CHUNK = 1 << 14
"""Values clamped at once (see `_clamp`)..."""
CLAMP_SMALL = 1024
"""...unless there are at most this many."""
BLOCK = 1 << 20
"""int32 values of laid-out inputs or of accumulators held at once (4 MiB)."""

I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Acc = npt.NDArray[np.int32] | npt.NDArray[np.int64]


def _by_taps(k: int, rows: int, out: int) -> bool:
    return max(rows, out) >= TAPS_MIN_LENGTH and (k < TAPS_MAX_K or rows >= TAPS_MIN_ROWS)


def _sum_rows(cols: I32, w: npt.NDArray[np.int8] | I32, weight_zp: int) -> Acc:
    """sum_k cols[r, k] * (w[n, k] - weight_zp), exactly, as (r, n), with the products of each output adjacent in
    memory (einsum's inner loop runs over k); `weight_zp` is 0 if `w` is centred already. int32 if one slice
    and no zero point term, else int64."""
    k = cols.shape[1]
    acc: Acc = np.einsum("rk,nk->rn", cols[:, :ACC_CHUNK], w[:, :ACC_CHUNK], dtype=np.int32, optimize=False)
    if k > ACC_CHUNK or weight_zp:
        acc = acc.astype(np.int64)
    for lo in range(ACC_CHUNK, k, ACC_CHUNK):
        acc += np.einsum("rk,nk->rn", cols[:, lo:lo + ACC_CHUNK], w[:, lo:lo + ACC_CHUNK], dtype=np.int32,
                         optimize=False)
    if weight_zp:
        acc -= weight_zp * cols.sum(axis=1, dtype=np.int64)[:, None]
    return acc


def _sum_taps(taps: I32, wt: I32) -> Acc:
    """sum_k taps[k, r] * wt[k, n], exactly, as (r, n) (possibly a transposed view), one product index k at a time
    over all outputs (einsum's inner loop runs over the longer of r and n): fast when k is small or the rows
    many. `wt` is centred. int32 if one slice, else int64."""
    k, rows = taps.shape
    spec = "kr,kn->nr" if rows >= wt.shape[1] else "kr,kn->rn"
    acc: Acc = np.einsum(spec, taps[:ACC_CHUNK], wt[:ACC_CHUNK], dtype=np.int32, optimize=False)
    if k > ACC_CHUNK:
        acc = acc.astype(np.int64)
    for lo in range(ACC_CHUNK, k, ACC_CHUNK):
        acc += np.einsum(spec, taps[lo:lo + ACC_CHUNK], wt[lo:lo + ACC_CHUNK], dtype=np.int32, optimize=False)
    return acc.T if spec == "kr,kn->nr" else acc


def _weights_by_rows(p: LayerParams, layer: LayerSpec, rows: int) -> tuple[npt.NDArray[np.int8] | I32, int]:
    """The weights as (out, k) for `_sum_rows` and the zero point still to subtract: widened and centred once if
    `rows` will read them, else the int8 weights as they are."""
    w = p.weights.reshape(layer.out, -1)
    if rows < WIDEN_ROWS:
        return w, layer.weight_zp
    w32 = w.astype(np.int32)
    if layer.weight_zp:
        w32 -= layer.weight_zp
    return w32, 0


def _weights_by_taps(p: LayerParams, layer: LayerSpec) -> I32:
    """The weights as (k, out) int32, centred, for `_sum_taps`."""
    wt = p.weights.reshape(layer.out, -1).T.astype(np.int32, order="C")
    if layer.weight_zp:
        wt -= layer.weight_zp
    return wt


def _may_saturate(p: LayerParams, k: int) -> bool:
    """Whether bias + a sum of k centred products can leave int32 (|each product| <= 255 * 255); if not, the
    saturation is skipped: it could not change a value."""
    return k * 255 * 255 + int(np.abs(p.bias.astype(np.int64)).max()) > INT32_MAX


def requantise(acc: Acc, p: LayerParams, output_zp: int, saturate: bool = True) -> I8:
    """Accumulators (rows, out) without bias -> int8 outputs: bias added, saturated to int32 (if `saturate`),
    scaled by the layer's multiplier(s) and shift(s), rounded half up, offset by `output_zp` and clamped.

    Up to a shift of FOLD_SHIFT the rounding term and the zero point are added in one step before the shift:
    (v + 2**(s-1) + zp * 2**s) >> s = ((v + 2**(s-1)) >> s) + zp exactly, and |v| + 2**53 + 128 * 2**54 < 2**63.
    """
    y: I64 = np.add(acc, p.bias, dtype=np.int64)
    if saturate:
        _clamp(y, INT32_MIN, INT32_MAX, y)
    if p.multiplier.size == 1:
        m, s = int(p.multiplier[0]), int(p.shift[0])
        y *= m
        if s <= FOLD_SHIFT:
            y += (1 << s >> 1) + output_zp * (1 << s)
            if s:
                y >>= s
        else:
            y += 1 << s >> 1
            y >>= s
            y += output_zp
    else:
        y *= p.multiplier
        half = np.left_shift(1, p.shift) >> 1  # 2**(s-1), or 0 for s = 0
        if int(p.shift.max()) <= FOLD_SHIFT:
            y += half + output_zp * np.left_shift(1, p.shift)
            y >>= p.shift
        else:
            y += half
            y >>= p.shift
            y += output_zp
    out = np.empty_like(y, dtype=np.int8)
    _clamp(y, INT8_MIN, INT8_MAX, out)  # in range: the cast to int8 is exact
    return out


def _clamp(y: npt.NDArray[np.signedinteger[Any]], lo: int, hi: int, out: npt.NDArray[np.signedinteger[Any]]) -> None:
    """out = min(max(y, lo), hi), `y` serving as scratch, for arrays of one memory layout. Against arrays of the
    bounds, a chunk at a time: numpy's maximum and minimum against a scalar run several times slower."""
    if y.size <= CLAMP_SMALL:  # where the call overhead dominates
        np.maximum(y, lo, out=y)
        np.minimum(y, hi, out=out, casting="unsafe")
        return
    assert (y.flags.c_contiguous and out.flags.c_contiguous) or (y.flags.f_contiguous and out.flags.f_contiguous)
    flat, dest = y.ravel(order="A"), out.ravel(order="A")  # views, element for element alike
    size = min(flat.size, CLAMP_CHUNK)
    low, high = np.full(size, lo, y.dtype), np.full(size, hi, y.dtype)
    for start in range(0, flat.size, size):
        part = flat[start:start + size]
        np.maximum(part, low[:part.size], out=part)
        np.minimum(part, high[:part.size], out=dest[start:start + size], casting="unsafe")


def dense(x: I8, layer: LayerSpec, p: LayerParams, zp: int) -> I8:
    """(n, in) -> (n, out)."""
    n, k = x.shape
    out = np.empty((n, layer.out), np.int8)
    by_taps = _by_taps(k, n, layer.out)
    if by_taps:
        wt = _weights_by_taps(p, layer)
    else:
        w, weight_zp = _weights_by_rows(p, layer, n)
    saturate = _may_saturate(p, k)
    step = max(1, BLOCK // max(k, layer.out))
    for lo in range(0, n, step):
        xc = x[lo:lo + step].astype(np.int32)
        xc -= zp
        acc = _sum_taps(np.ascontiguousarray(xc.T), wt) if by_taps else _sum_rows(xc, w, weight_zp)
        out[lo:lo + step] = requantise(acc, p, layer.output_zp, saturate)
    return out


def _padded(x: I8, pads: tuple[int, ...], zp: int) -> I32:
    """x - zp (int32), padded with zeros (the zero point's centred value)."""
    top, left, bottom, right = pads
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + top + bottom, w + left + right), np.int32)
    inner = out[:, :, top:top + h, left:left + w]
    inner[...] = x
    inner -= zp
    return out


def _windows(x: I32, kh: int, kw: int, sh: int, sw: int) -> I32:
    """(n, c, h, w) -> (n, c, oh, ow, kh, kw) views of every window."""
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    s = x.strides
    return np.lib.stride_tricks.as_strided(  # type: ignore[no-any-return]
        x, shape=(n, c, oh, ow, kh, kw), strides=(s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]), writeable=False)


def conv2d(x: I8, layer: LayerSpec, p: LayerParams, zp: int) -> I8:
    """(n, c, h, w) -> (n, out, oh, ow), a group of items at a time (their padded input, laid-out windows and
    accumulators within BLOCK values, or one item), and one item's output rows a few at a time if its windows
    exceed BLOCK."""
    kh, kw = layer.kernel
    sh, sw = layer.stride
    top, left, bottom, right = layer.pads
    n, c, h, w = x.shape
    ph, pw = h + top + bottom, w + left + right
    oh, ow = (ph - kh) // sh + 1, (pw - kw) // sw + 1
    k = c * kh * kw
    by_taps = _by_taps(k, n * oh * ow, layer.out)
    saturate = _may_saturate(p, k)
    if by_taps:
        wt = _weights_by_taps(p, layer)
    else:
        weights, weight_zp = _weights_by_rows(p, layer, n * oh * ow)
    per_row = ow * max(k, layer.out)
    group = max(1, BLOCK // max(c * ph * pw, oh * per_row))
    rows = max(1, BLOCK // per_row)
    out = np.empty((n, layer.out, oh, ow), np.int8)
    for lo in range(0, n, group):
        win = _windows(_padded(x[lo:lo + group], layer.pads, zp), kh, kw, sh, sw)  # (items, c, oh, ow, kh, kw)
        for r in range(0, oh, rows):
            part = win[:, :, r:r + rows]
            if by_taps:  # a copy: (c, kh, kw) by (items, rows, ow)
                acc = _sum_taps(part.transpose(1, 4, 5, 0, 2, 3).reshape(k, -1), wt)
            else:  # a copy: (items, rows, ow) by (c, kh, kw)
                acc = _sum_rows(part.transpose(0, 2, 3, 1, 4, 5).reshape(-1, k), weights, weight_zp)
            y = requantise(acc, p, layer.output_zp, saturate)  # (items * rows * ow, out)
            out[lo:lo + group, :, r:r + rows] = y.T.reshape(layer.out, part.shape[0], part.shape[2], ow).transpose(
                1, 0, 2, 3)
    return out


def pool(x: I8, layer: LayerSpec) -> I8:
    """(n, c, h, w) -> (n, c, oh, ow): each window's maximum or rounded mean, the rows' windows first."""
    kh, kw = layer.kernel
    sh, sw = layer.stride
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    span_h, span_w = (oh - 1) * sh + 1, (ow - 1) * sw + 1
    rows_used = x[:, :, :span_h + kh - 1]
    if layer.kind == MAXPOOL:
        across = rows_used[..., 0:span_w:sw].copy()
        for j in range(1, kw):
            np.maximum(across, rows_used[..., j:j + span_w:sw], out=across)
        out = across[:, :, 0:span_h:sh].copy()
        for i in range(1, kh):
            np.maximum(out, across[:, :, i:i + span_h:sh], out=out)
        return out
    total = rows_used[..., 0:span_w:sw].astype(np.int32)
    for j in range(1, kw):
        total += rows_used[..., j:j + span_w:sw]
    sums = total[:, :, 0:span_h:sh].copy()
    for i in range(1, kh):
        sums += total[:, :, i:i + span_h:sh]
    count = kh * kw
    sums *= 2
    sums += count
    return np.floor_divide(sums, 2 * count).astype(np.int8)  # |2 * sum + n| <= 65,792: int32 is ample


def run(model: Model, x: I8) -> I8:
    """The final int8 vectors (shape (n, classes)) of a batch `x` shaped (n, *input_shape)."""
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
        elif layer.kind == RELU:  # in place, except on the (read-only) input
            if not x.flags.writeable:
                x = x.copy()
            _clamp(x, zp, INT8_MAX, x)
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
    x = np.frombuffer(b"".join(inputs), dtype=np.int8).reshape(len(inputs), *model.spec.input_shape)
    logits = run(model, x)
    labels = np.argmax(logits, axis=1).astype(np.uint8)
    return [bytes([int(c)]) + row.tobytes() for c, row in zip(labels, logits, strict=True)]


def infer_one(model: Model, item: bytes) -> bytes:
    """The output item of a single input item."""
    return infer(model, [item])[0]


def decode_output(output: bytes) -> tuple[int, bytes]:
    """(class index, logits) of an output item."""
    return output[0], output[1:]

