"""compute models: spec validation and limits, the JSON form, the weights blob and its chunk-tree hash, and the
integer kernels against a slow reference written from docs/models.md alone (pure Python, no numpy, no project
code), on hand-picked edge cases and on random models."""

from __future__ import annotations

import copy
import hashlib
import math
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from btt_chain.primitives.errors import DecodeError
from runtime.compute import inference, weights
from runtime.compute.inference import decode_output, infer, infer_one
from runtime.compute.model import (
    AVGPOOL,
    CONV2D,
    DENSE,
    FLATTEN,
    MAX_ACTIVATION,
    MAX_CLASSES,
    MAX_DIM,
    MAX_KERNEL,
    MAX_LABEL_LEN,
    MAX_LAYERS,
    MAX_MACS_PER_ITEM,
    MAX_METADATA_BYTES,
    MAX_NAME_LEN,
    MAX_PAD,
    MAX_SHIFT,
    MAX_STRIDE,
    MAX_WEIGHTS_BYTES,
    MAXPOOL,
    RELU,
    WEIGHTS_CHUNK,
    LayerSpec,
    Model,
    ModelSpec,
    chunk_hashes,
    encode_weights,
    input_bytes,
    macs_per_item,
    model_hash,
    output_bytes,
    parse_weights,
    shapes,
    tensor_bytes,
    tensor_layout,
    validate_spec,
    weights_hash,
    weights_hash_of_chunks,
    with_weights,
)
from runtime.compute.model_json import spec_from_json, spec_to_json

# --- the reference: docs/models.md, followed literally ---------------------------------------------------------

KINDS = ("dense", "conv2d", "maxpool", "avgpool", "relu", "flatten")


def ref_weights_hash(blob: bytes) -> bytes:
    chunks = b"".join(hashlib.blake2b(blob[i:i + 65536], digest_size=32).digest() for i in range(0, len(blob), 65536))
    return hashlib.blake2b(b"btt-weights" + len(blob).to_bytes(8, "little") + chunks, digest_size=32).digest()


def ref_model_hash(spec: dict[str, Any]) -> bytes:
    """blake2b-256 of the spec's SCALE encoding, written from docs/models.md (lists and strings under 64 items)."""
    def vec(items: list[bytes]) -> bytes:
        assert len(items) < 64
        return bytes([len(items) << 2]) + b"".join(items)

    def text(s: str) -> bytes:
        return vec([bytes([b]) for b in s.encode()])

    def layer(d: dict[str, Any]) -> bytes:
        return b"".join((
            bytes([KINDS.index(d["kind"])]), d.get("out", 0).to_bytes(2, "little"),
            vec([bytes([k]) for k in d.get("kernel", [])]), vec([bytes([k]) for k in d.get("stride", [])]),
            vec([bytes([k]) for k in d.get("pads", [])]),
            bytes([d.get("weightZeroPoint", 0) & 0xFF, d.get("outputZeroPoint", 0) & 0xFF]),
            b"\x01" if d.get("perChannel", False) else b"\x00",
        ))
    encoded = b"".join((
        text(spec["name"]), vec([n.to_bytes(2, "little") for n in spec["inputShape"]]),
        bytes([spec["inputZeroPoint"] & 0xFF]), vec([layer(d) for d in spec["layers"]]),
        vec([text(label) for label in spec["labels"]]), bytes.fromhex(spec["weightsHash"][2:]),
        spec["weightsSize"].to_bytes(8, "little"),
    ))
    return hashlib.blake2b(encoded, digest_size=32).digest()


def _out_size(size: int, kernel: int, stride: int, before: int, after: int) -> int:
    return (size + before + after - kernel) // stride + 1


def ref_layers(spec: dict[str, Any], blob: bytes) -> list[tuple[dict[str, Any], tuple[int, ...], Any]]:
    """(layer, its input shape, its (weights, bias, multipliers, shifts) or None) for each layer, read from the
    blob; asserts that the blob is exactly its tensors, a u32 length and that much metadata."""
    pos = 0

    def take(count: int, size: int, signed: bool) -> list[int]:
        nonlocal pos
        values = [int.from_bytes(blob[pos + i * size:pos + (i + 1) * size], "little", signed=signed)
                  for i in range(count)]
        pos += count * size
        return values

    shape = tuple(spec["inputShape"])
    plan = []
    for d in spec["layers"]:
        kind = d["kind"]
        params = None
        if kind in ("dense", "conv2d"):
            per_weight = 1 if kind == "dense" else d["kernel"][0] * d["kernel"][1]
            n_scale = d["out"] if d["perChannel"] else 1
            params = (take(d["out"] * shape[0] * per_weight, 1, True), take(d["out"], 4, True),
                      take(n_scale, 4, True), take(n_scale, 1, False))
        plan.append((d, shape, params))
        if kind == "dense":
            shape = (d["out"],)
        elif kind == "flatten":
            shape = (math.prod(shape),)
        elif kind != "relu":
            c, h, w = shape
            pads = d.get("pads", [0, 0, 0, 0])
            shape = (d["out"] if kind == "conv2d" else c,
                     _out_size(h, d["kernel"][0], d["stride"][0], pads[0], pads[2]),
                     _out_size(w, d["kernel"][1], d["stride"][1], pads[1], pads[3]))
    (meta_len,) = struct.unpack_from("<I", blob, pos)
    assert pos + 4 + meta_len == len(blob)
    return plan


def ref_requantise(acc: int, m: int, s: int, output_zp: int) -> int:
    acc = max(-(2**31), min(2**31 - 1, acc))
    v = acc * m
    if s > 0:
        v = (v + 2 ** (s - 1)) >> s
    return max(-128, min(127, output_zp + v))


def ref_item(plan: list[tuple[dict[str, Any], tuple[int, ...], Any]], zp: int, item: bytes) -> bytes:
    x = [b - 256 if b >= 128 else b for b in item]  # flat, row-major in the current shape
    for d, shape, params in plan:
        kind = d["kind"]
        if kind == "dense":
            weights, bias, mult, shifts = params
            n, wzp, ozp = shape[0], d["weightZeroPoint"], d["outputZeroPoint"]
            y = []
            for o in range(d["out"]):
                acc = bias[o] + sum((x[i] - zp) * (weights[o * n + i] - wzp) for i in range(n))
                ch = o if d["perChannel"] else 0
                y.append(ref_requantise(acc, mult[ch], shifts[ch], ozp))
            x, zp = y, ozp
        elif kind in ("conv2d", "maxpool", "avgpool"):
            c, h, w = shape
            kh, kw = d["kernel"]
            sh, sw = d["stride"]
            top, left, bottom, right = d.get("pads", [0, 0, 0, 0])
            oh, ow = _out_size(h, kh, sh, top, bottom), _out_size(w, kw, sw, left, right)

            def at(ch: int, r: int, col: int) -> int:
                return x[(ch * h + r) * w + col] if 0 <= r < h and 0 <= col < w else zp  # noqa: B023

            y = []
            if kind == "conv2d":
                weights, bias, mult, shifts = params
                wzp, ozp = d["weightZeroPoint"], d["outputZeroPoint"]
                for o in range(d["out"]):
                    ch_scale = o if d["perChannel"] else 0
                    for r in range(oh):
                        for col in range(ow):
                            acc = bias[o]
                            for ch in range(c):
                                for i in range(kh):
                                    for j in range(kw):
                                        xv = at(ch, r * sh + i - top, col * sw + j - left)
                                        acc += (xv - zp) * (weights[((o * c + ch) * kh + i) * kw + j] - wzp)
                            y.append(ref_requantise(acc, mult[ch_scale], shifts[ch_scale], ozp))
                x, zp = y, ozp
            else:
                for ch in range(c):
                    for r in range(oh):
                        for col in range(ow):
                            window = [at(ch, r * sh + i, col * sw + j) for i in range(kh) for j in range(kw)]
                            if kind == "maxpool":
                                y.append(max(window))
                            else:
                                y.append((2 * sum(window) + len(window)) // (2 * len(window)))
                x = y
        elif kind == "relu":
            x = [max(v, zp) for v in x]
        # flatten: x is already flat, channel-major
    return bytes([x.index(max(x))]) + bytes(v & 0xFF for v in x)


def ref_infer(spec: dict[str, Any], blob: bytes, items: list[bytes]) -> list[bytes]:
    """The output items of `items` through the model of JSON spec `spec` and blob `blob`, by the document."""
    assert ref_weights_hash(blob).hex() == spec["weightsHash"][2:] and len(blob) == spec["weightsSize"]
    plan = ref_layers(spec, blob)
    return [ref_item(plan, spec["inputZeroPoint"], item) for item in items]


# --- building models -----------------------------------------------------------------------------------------

Params = dict[int, dict[str, Any]]


def make(name: str, input_shape: tuple[int, ...], layers: list[LayerSpec], params: Params, input_zp: int = 0,
         metadata: dict[str, Any] | None = None) -> tuple[ModelSpec, bytes]:
    """A valid spec naming its blob."""
    spec = ModelSpec(name, input_shape, input_zp, tuple(layers), (), bytes(32), 0)
    blob = encode_weights(spec, params, metadata)
    spec = with_weights(spec, blob)
    validate_spec(spec)
    return spec, blob


def random_params(spec: ModelSpec, rng: np.random.Generator, mode: str = "typical") -> Params:
    """Tensors for every weight layer of `spec`. "typical": scales that keep outputs mostly in range; "extreme":
    edge values (int8 ends, int32 ends, multipliers 0 and 2**31-1, shifts 0 and 62) mixed in."""
    params: Params = {}
    for slot in tensor_layout(spec):
        if slot.name == "weights":
            arr = rng.integers(-128, 128, slot.shape)
            if mode == "extreme":
                arr = np.where(rng.random(slot.shape) < 0.3, rng.choice([-128, 127], slot.shape), arr)
        elif slot.name == "bias":
            arr = rng.integers(-5000, 5000, slot.shape)
            if mode == "extreme":
                arr = np.where(rng.random(slot.shape) < 0.3, rng.choice([-(2**31), 2**31 - 1], slot.shape), arr)
        elif slot.name == "multiplier":
            arr = rng.integers(1 << 29, 1 << 31, slot.shape)
            if mode == "extreme":
                arr = rng.choice([0, 1, 2**31 - 1, 1 << 30, 12345], slot.shape)
        else:
            fan_in = math.prod(params[slot.layer]["weights"].shape[1:])
            base = 31 + max(1, (fan_in * 128 * 128).bit_length() - 8)
            arr = rng.integers(max(0, base - 3), min(MAX_SHIFT, base + 2) + 1, slot.shape)
            if mode == "extreme":
                arr = rng.choice([0, 1, 31, 61, 62], slot.shape)
        params.setdefault(slot.layer, {})[slot.name] = arr
    return params


@st.composite
def models(draw: st.DrawFn) -> tuple[ModelSpec, bytes, list[bytes]]:
    """A random valid model, its blob and a batch of inputs (1 to 20 items)."""
    zp = draw(st.integers(-128, 127))
    conv = draw(st.booleans())
    layers: list[LayerSpec] = []
    if conv:
        shape: tuple[int, ...] = (draw(st.integers(1, 3)), draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    else:
        shape = (draw(st.integers(1, 12)),)
    input_shape = shape

    def weight_fields() -> dict[str, Any]:
        return {"weight_zp": draw(st.sampled_from([0, -128, 127, 5])) if draw(st.booleans()) else 0,
                "output_zp": draw(st.integers(-128, 127)), "per_channel": draw(st.booleans())}

    if conv:
        for _ in range(draw(st.integers(1, 3))):
            c, h, w = shape
            kind = draw(st.sampled_from([CONV2D, CONV2D, MAXPOOL, AVGPOOL, RELU]))
            if kind == RELU:
                layers.append(LayerSpec(RELU))
                continue
            pads = tuple(draw(st.integers(0, 2)) for _ in range(4)) if kind == CONV2D else (0, 0, 0, 0)
            kernel = (draw(st.integers(1, min(4, h + pads[0] + pads[2]))),
                      draw(st.integers(1, min(4, w + pads[1] + pads[3]))))
            stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
            if kind == CONV2D:
                layer = LayerSpec(CONV2D, draw(st.integers(1, 5)), kernel, stride, pads, **weight_fields())
            else:
                layer = LayerSpec(kind, kernel=kernel, stride=stride)
            layers.append(layer)
            shape = shapes(ModelSpec("s", shape, 0, (layer,), (), bytes(32), 0))[-1]
        layers.append(LayerSpec(FLATTEN))
    for _ in range(draw(st.integers(1, 2))):
        layers.append(LayerSpec(DENSE, draw(st.integers(1, 6)), **weight_fields()))
        if draw(st.booleans()):
            layers.append(LayerSpec(RELU))
    spec = ModelSpec("random", input_shape, zp, tuple(layers), (), bytes(32), 0)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    params = random_params(spec, rng, draw(st.sampled_from(["typical", "typical", "extreme"])))
    spec, blob = make("random", input_shape, layers, params, zp)
    n = draw(st.sampled_from([1, 2, 20]))
    width = input_bytes(spec)
    items = [rng.integers(0, 256, width, dtype=np.uint8).tobytes() for _ in range(n)]
    items[0] = bytes(rng.choice([0x80, 0x7F], width).astype(np.uint8))  # the int8 ends
    return spec, blob, items


def reference_outputs(spec: ModelSpec, blob: bytes, items: list[bytes]) -> list[bytes]:
    return ref_infer(spec_to_json(spec), blob, items)


KERNEL_SETTINGS = [
    {},  # as shipped
    {"TAPS_MAX_K": 0, "TAPS_MIN_ROWS": 10**9, "WIDEN_ROWS": 1, "BLOCK": 7, "ACC_CHUNK": 3},  # by rows, widened
    {"TAPS_MAX_K": 0, "TAPS_MIN_ROWS": 10**9, "WIDEN_ROWS": 10**9, "BLOCK": 50, "FOLD_SHIFT": -1},  # int8 weights
    {"TAPS_MIN_ROWS": 0, "TAPS_MIN_LENGTH": 0, "BLOCK": 7, "ACC_CHUNK": 3,  # by taps, tiny blocks and slices
     "CLAMP_SMALL": 0, "CLAMP_CHUNK": 5},
]
"""Block sizes and path thresholds: none may change a single output."""


@contextmanager
def kernel_settings(values: dict[str, int]) -> Iterator[None]:
    """The kernels with other block sizes and path thresholds (they must not change a single output)."""
    saved = {name: getattr(inference, name) for name in values}
    for name, value in values.items():
        setattr(inference, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(inference, name, value)


def check(spec: ModelSpec, blob: bytes, items: list[bytes],
          settings: list[dict[str, int]] = KERNEL_SETTINGS) -> list[bytes]:
    """infer == the reference, under every kernel setting; returns the outputs."""
    model = parse_weights(spec, blob)
    expected = reference_outputs(spec, blob, items)
    for values in settings:
        with kernel_settings(values):
            assert infer(model, items) == expected, values
    return expected


# --- kernels against the reference -----------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_random_models_match_the_reference(case: tuple[ModelSpec, bytes, list[bytes]]) -> None:
    check(*case)


def dense_model(n_in: int, out: int, w: Any, bias: Any, mult: Any, shift: Any, *, input_zp: int = 0,
                weight_zp: int = 0, output_zp: int = 0, per_channel: bool = False) -> tuple[ModelSpec, bytes]:
    layer = LayerSpec(DENSE, out, weight_zp=weight_zp, output_zp=output_zp, per_channel=per_channel)
    return make("dense", (n_in,), [layer], {0: {"weights": np.array(w).reshape(out, n_in), "bias": np.array(bias),
                                                "multiplier": np.array(mult), "shift": np.array(shift)}}, input_zp)


def logits(spec: ModelSpec, blob: bytes, item: bytes) -> list[int]:
    out = check(spec, blob, [item])[0]
    return [b - 256 if b >= 128 else b for b in out[1:]]


def test_int32_saturation_before_scaling() -> None:
    # acc = 2**31 - 1 + 1,024 * 127 * 127 saturates: / 2**24 it is 128 (unsaturated it would be 129), - 128 = 0
    spec, blob = dense_model(1024, 1, [127] * 1024, [2**31 - 1], [1], [24], output_zp=-128)
    assert logits(spec, blob, bytes([127]) * 1024) == [0]
    # acc = -2**31 - 1,024 * 127 * 128 saturates: / 2**24 it is -128 (unsaturated -129), + 127 = -1
    spec, blob = dense_model(1024, 1, [-128] * 1024, [-(2**31)], [1], [24], output_zp=127)
    assert logits(spec, blob, bytes([127]) * 1024) == [-1]
    # (2**31 - 1 + 2**30) >> 31 = 1 and (-2**31 + 2**30) >> 31 = -1: the shift floors
    spec, blob = dense_model(1, 2, [127, -128], [2**31 - 1, -(2**31)], [1], [31])
    assert logits(spec, blob, bytes([127])) == [1, -1]
    # the largest product: (2**31 - 1) * (2**31 - 1) = 2**62 - 2**32 + 1, then >> 55 is 128 (clamped), >> 62 is 1
    spec, blob = dense_model(2, 1, [127, 127], [2**31 - 1], [2**31 - 1], [55])
    assert logits(spec, blob, bytes([127, 127])) == [127]
    spec, blob = dense_model(2, 1, [127, 127], [2**31 - 1], [2**31 - 1], [62])
    assert logits(spec, blob, bytes([127, 127])) == [1]


def test_shift_and_multiplier_extremes() -> None:
    for mult, shift in [(0, 0), (0, 62), (1, 0), (2**31 - 1, 0), (2**31 - 1, 62), (1, 62), (3, 1)]:
        spec, blob = dense_model(3, 4, np.arange(12) * 21 - 128, [0, 1, -1, 2**20], [mult], [shift])
        logits(spec, blob, bytes([5, 250, 128]))


def test_round_half_up_on_ties() -> None:
    # acc = bias (inputs 0, zp 0): with m = 1, s = 1: 3 -> 2 (1.5 up), -3 -> -1 (-1.5 up), 1 -> 1, -1 -> 0
    spec, blob = dense_model(1, 4, [0, 0, 0, 0], [3, -3, 1, -1], [1], [1])
    assert logits(spec, blob, bytes([0])) == [2, -1, 1, 0]


def test_per_channel_and_per_tensor_scales() -> None:
    w = [[10, -10, 3], [-7, 100, 127], [-128, 0, 1]]
    bias = [100, -200, 300]
    per_tensor = dense_model(3, 3, w, bias, [1 << 30], [38], input_zp=3, weight_zp=-2, output_zp=-5)
    per_channel = dense_model(3, 3, w, bias, [1 << 30, 1 << 29, 2**31 - 1], [38, 36, 40], input_zp=3, weight_zp=-2,
                              output_zp=-5, per_channel=True)
    item = bytes([7, 200, 33])
    assert logits(*per_tensor, item) != logits(*per_channel, item)


def test_weight_zero_point_is_subtracted_from_every_weight() -> None:
    # weights all equal to weight_zp: every product is 0, the output is the bias's requantisation
    spec, blob = dense_model(4, 2, [[-7] * 4, [-7] * 4], [64, -64], [1 << 30], [31], weight_zp=-7, output_zp=1)
    assert logits(spec, blob, bytes([127, 128, 3, 99])) == [33, -31]


def test_argmax_ties_go_to_the_lowest_index() -> None:
    spec, blob = dense_model(1, 5, [0] * 5, [0, 7, 3, 7, 7], [1], [0])
    out = check(spec, blob, [bytes([9])])[0]
    assert decode_output(out) == (1, bytes([0, 7, 3, 7, 7]))
    spec, blob = dense_model(1, 3, [0] * 3, [-128] * 3, [1], [0])
    assert check(spec, blob, [bytes([9])])[0] == bytes([0, 0x80, 0x80, 0x80])


def conv_model(input_shape: tuple[int, int, int], layers: list[LayerSpec], seed: int, input_zp: int = 0,
               mode: str = "typical") -> tuple[ModelSpec, bytes]:
    spec = ModelSpec("conv", input_shape, input_zp, tuple(layers), (), bytes(32), 0)
    return make("conv", input_shape, layers, random_params(spec, np.random.default_rng(seed), mode), input_zp)


def items_for(spec: ModelSpec, n: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, input_bytes(spec), dtype=np.uint8).tobytes() for _ in range(n)]


def test_conv_non_square_kernel_and_stride_asymmetric_pads_per_channel_zero_points() -> None:
    layers = [LayerSpec(CONV2D, 5, (3, 2), (2, 1), (0, 2, 1, 3), weight_zp=-3, output_zp=-20, per_channel=True),
              LayerSpec(RELU), LayerSpec(MAXPOOL, kernel=(2, 3), stride=(1, 2)),
              LayerSpec(CONV2D, 3, (1, 3), (1, 3), (2, 0, 0, 1), weight_zp=4, output_zp=9),
              LayerSpec(AVGPOOL, kernel=(2, 1), stride=(2, 2)), LayerSpec(FLATTEN),
              LayerSpec(DENSE, 4, weight_zp=-1, output_zp=2, per_channel=True)]
    spec, blob = conv_model((2, 9, 7), layers, 1, input_zp=-17)
    assert shapes(spec)[1] == (5, 4, 11) and shapes(spec)[4] == (3, 5, 2)
    check(spec, blob, items_for(spec, 3, 2))


def test_a_small_convolutional_network() -> None:
    # one input channel, 3x3 (9 products an output), then 8 channels (72), on a batch big enough to widen
    layers = [LayerSpec(CONV2D, 8, (3, 3), (1, 1), (1, 1, 1, 1), output_zp=-128, per_channel=True),
              LayerSpec(CONV2D, 6, (3, 3), (1, 1), (1, 1, 1, 1), weight_zp=2, output_zp=3),
              LayerSpec(AVGPOOL, kernel=(2, 2), stride=(2, 2)), LayerSpec(FLATTEN), LayerSpec(DENSE, 10)]
    spec, blob = conv_model((1, 6, 6), layers, 3, input_zp=-128)
    check(spec, blob, items_for(spec, 20, 4))


def test_batches_of_one_and_many() -> None:
    layers = [LayerSpec(DENSE, 17, weight_zp=3, output_zp=-9, per_channel=True), LayerSpec(RELU),
              LayerSpec(DENSE, 5, output_zp=4)]
    spec = ModelSpec("b", (40,), 11, tuple(layers), (), bytes(32), 0)
    spec, blob = make("b", (40,), layers, random_params(spec, np.random.default_rng(5)), 11)
    items = items_for(spec, 70, 6)
    model = parse_weights(spec, blob)
    batch = check(spec, blob, items)
    assert [infer_one(model, item) for item in items] == batch
    assert infer(model, items[:1]) == batch[:1] and infer(model, []) == []


def test_avgpool_rounds_half_up_on_negative_sums() -> None:
    # input (1, 1, 8) with zero point 0, windows of 2 then of 4: floor((2 * sum + n) / (2 * n))
    values = [-1, -2, -3, -3, 5, -6, -128, -127]  # sums -3 (-1.5 -> -1), -6 (-3), -1 (-0.5 -> 0), -255 (-127.5 -> -127)
    layers = [LayerSpec(AVGPOOL, kernel=(1, 2), stride=(1, 2)), LayerSpec(FLATTEN),
              LayerSpec(DENSE, 4, weight_zp=0, output_zp=0, per_channel=True)]
    identity = {"weights": np.eye(4, dtype=np.int64), "bias": np.zeros(4, np.int64),
                "multiplier": np.ones(4, np.int64), "shift": np.zeros(4, np.int64)}
    spec, blob = make("avg", (1, 1, 8), layers, {2: identity})
    item = bytes(v & 0xFF for v in values)
    assert logits(spec, blob, item) == [-1, -3, 0, -127]
    layers[0] = LayerSpec(AVGPOOL, kernel=(1, 4), stride=(1, 2))  # -9/4 -> -2 (-2.25), -7/4 -> -2 (-1.75), -256/4
    spec, blob = make("avg", (1, 1, 8), layers[:2] + [LayerSpec(DENSE, 3, per_channel=True)],
                      {2: {"weights": np.eye(3, dtype=np.int64), "bias": np.zeros(3, np.int64),
                           "multiplier": np.ones(3, np.int64), "shift": np.zeros(3, np.int64)}})
    assert logits(spec, blob, item) == [-2, -2, -64]  # -64 exactly


def test_sums_beyond_int32_are_exact() -> None:
    # 65,536 products of 255 * -255 each: -4,261,478,400, beyond int32 (summed in slices of ACC_CHUNK); saturated to
    # -2**31, / 2**24 = -128, + 127 = -1 (a wrapped int32 sum would be positive and give 127)
    layers = [LayerSpec(CONV2D, 256, (1, 1), (1, 1), (0, 0, 0, 0), output_zp=-128),
              LayerSpec(CONV2D, 1, (16, 16), (1, 1), (0, 0, 0, 0), weight_zp=127, output_zp=127),
              LayerSpec(FLATTEN)]
    ones = {"multiplier": np.array([1]), "shift": np.array([24])}
    spec, blob = make("wide", (1, 16, 16), layers, {
        0: {"weights": np.zeros((256, 1, 1, 1), np.int64), "bias": np.full(256, 2**31 - 1),  # -128 + 256: 127
            "multiplier": np.array([1]), "shift": np.array([23])},
        1: {"weights": np.full((1, 256, 16, 16), -128), "bias": np.zeros(1, np.int64), **ones}})
    assert macs_per_item(spec) == 2 * 65536 + 1  # flatten counts its one value
    items = items_for(spec, 20, 7)  # every output is the same: the first layer's are 127 whatever the input
    settings = [{**v, "ACC_CHUNK": 10_000} if "ACC_CHUNK" in v else v for v in KERNEL_SETTINGS]  # 7 slices, not 21,846
    assert check(spec, blob, items[:1], settings) == [bytes([0, 0xFF])]
    for values in settings:
        with kernel_settings(values):
            assert set(infer(parse_weights(spec, blob), items)) == {bytes([0, 0xFF])}, values


def test_inference_is_deterministic_and_does_not_depend_on_the_batch() -> None:
    layers = [LayerSpec(CONV2D, 6, (3, 3), (1, 1), (1, 1, 1, 1), weight_zp=1, output_zp=-7, per_channel=True),
              LayerSpec(MAXPOOL, kernel=(2, 2), stride=(2, 2)), LayerSpec(FLATTEN), LayerSpec(DENSE, 3)]
    spec, blob = conv_model((2, 8, 8), layers, 8, input_zp=5)
    items = items_for(spec, 40, 9)
    first = infer(parse_weights(spec, blob), items)
    again = parse_weights(spec, bytes(blob))
    assert infer(again, items) == first == infer(again, items)
    assert infer(again, items[::-1]) == first[::-1]
    assert [infer_one(again, item) for item in items[:5]] == first[:5]
    assert all(len(out) == output_bytes(spec) == 4 for out in first)


def test_infer_refuses_items_of_the_wrong_size() -> None:
    spec, blob = dense_model(3, 2, [1] * 6, [0, 0], [1], [0])
    model = parse_weights(spec, blob)
    with pytest.raises(ValueError, match="input item 1 must be 3 bytes, got 4"):
        infer(model, [b"abc", b"abcd"])
    with pytest.raises(ValueError, match="input item 0 must be 3 bytes, got str"):
        infer(model, ["abc"])  # type: ignore[list-item]


# --- the spec: validation and limits ---------------------------------------------------------------------------

CONV_LAYERS = (LayerSpec(CONV2D, 4, (3, 3), (1, 1), (1, 1, 1, 1), weight_zp=-2, output_zp=-128, per_channel=True),
               LayerSpec(RELU), LayerSpec(MAXPOOL, kernel=(2, 2), stride=(2, 2)), LayerSpec(FLATTEN),
               LayerSpec(DENSE, 3, output_zp=4))
BASE = ModelSpec("base", (1, 8, 8), -128, CONV_LAYERS, ("a", "b", "c"), bytes(32), 0)
BASE = BASE.replace(weights_size=tensor_bytes(BASE) + 4)


def layer(i: int, **changes: Any) -> tuple[LayerSpec, ...]:
    return tuple(lay.replace(**changes) if j == i else lay for j, lay in enumerate(CONV_LAYERS))


def dense_stack(*widths: int, input_shape: tuple[int, ...] = (1024,)) -> ModelSpec:
    spec = ModelSpec("stack", input_shape, 0, tuple(LayerSpec(DENSE, w) for w in widths), (), bytes(32), 0)
    return spec.replace(weights_size=tensor_bytes(spec) + 4)


BAD_SPECS: list[tuple[str, Any, str]] = [
    ("empty name", BASE.replace(name=""), "model name must be 1 to 64 printable"),
    ("long name", BASE.replace(name="x" * (MAX_NAME_LEN + 1)), "model name"),
    ("control character in name", BASE.replace(name="a\nb"), "model name"),
    ("2-d input", BASE.replace(input_shape=(8, 8)), "the input shape is (features,) or (channels"),
    ("zero input dimension", BASE.replace(input_shape=(1, 0, 8)), "an input dimension must be an integer from 1"),
    ("input dimension over MAX_DIM", BASE.replace(input_shape=(MAX_DIM + 1,)), "an input dimension"),
    ("input over MAX_INPUT_BYTES", BASE.replace(input_shape=(1, 32, 33)), "at most 1024 values, got 1056"),
    ("input zero point 128", BASE.replace(input_zp=128), "the input zero point must be an integer from -128"),
    ("input zero point not an int", BASE.replace(input_zp=True), "the input zero point"),
    ("no layers", BASE.replace(layers=()), "at least one layer"),
    ("over MAX_LAYERS", dense_stack(*[4] * (MAX_LAYERS + 1)), "at most 32 layers, got 33"),
    ("not a layer", BASE.replace(layers=(*CONV_LAYERS[:4], "dense")), "layer 4 is not a layer"),
    ("unknown kind", BASE.replace(layers=layer(1, kind=6)), "layer 1 kind must be an integer from 0 to 5"),
    ("no output width", BASE.replace(layers=layer(0, out=0)), "layer 0 (conv2d) output width"),
    ("output width over MAX_DIM", BASE.replace(layers=layer(4, out=MAX_DIM + 1)), "layer 4 (dense) output width"),
    ("weight zero point", BASE.replace(layers=layer(0, weight_zp=128)), "layer 0 (conv2d) weight zero point"),
    ("output zero point", BASE.replace(layers=layer(4, output_zp=-129)), "layer 4 (dense) output zero point"),
    ("per_channel not a bool", BASE.replace(layers=layer(0, per_channel=1)), "per_channel must be true or false"),
    ("relu with a width", BASE.replace(layers=layer(1, out=3)), "layer 1 (relu) takes no output width"),
    ("relu with a zero point", BASE.replace(layers=layer(1, output_zp=3)), "takes no output width, zero points"),
    ("pool per channel", BASE.replace(layers=layer(2, per_channel=True)), "layer 2 (maxpool) takes no output"),
    ("one kernel side", BASE.replace(layers=layer(0, kernel=(3,))), "needs a kernel and a stride of 2 values"),
    ("kernel 0", BASE.replace(layers=layer(2, kernel=(0, 2))), "layer 2 (maxpool) kernel side must be an integer"),
    ("kernel over MAX_KERNEL", BASE.replace(layers=layer(0, kernel=(MAX_KERNEL + 1, 3))), "kernel side"),
    ("stride 0", BASE.replace(layers=layer(0, stride=(1, 0))), "layer 0 (conv2d) stride must be an integer from 1"),
    ("stride over MAX_STRIDE", BASE.replace(layers=layer(2, stride=(MAX_STRIDE + 1, 1))), "stride must be"),
    ("three pads", BASE.replace(layers=layer(0, pads=(1, 1, 1))), "needs 4 pads (top, left, bottom, right)"),
    ("pad over MAX_PAD", BASE.replace(layers=layer(0, pads=(0, MAX_PAD + 1, 0, 0))), "layer 0 (conv2d) pad"),
    ("pool with pads", BASE.replace(layers=layer(2, pads=(0, 0, 0, 0))), "layer 2 (maxpool) takes no pads"),
    ("dense with a kernel", BASE.replace(layers=layer(4, kernel=(1, 1), stride=(1, 1))), "takes no kernel or stride"),
    ("no weight layer", BASE.replace(layers=(LayerSpec(FLATTEN),)), "at least one dense or conv2d layer"),
    ("dense on an image", BASE.replace(layers=(LayerSpec(DENSE, 3),)), "dense takes a vector, got shape (1, 8, 8)"),
    ("conv on a vector", dense_stack(4).replace(layers=CONV_LAYERS), "conv2d takes (channels, height, width)"),
    ("kernel larger than the input", BASE.replace(layers=layer(0, kernel=(11, 3))), "a kernel of 11 does not fit"),
    ("dimension over MAX_DIM", BASE.replace(input_shape=(1, 1, 1000), layers=(
        LayerSpec(CONV2D, 5, (1, 1), (1, 1), (0, 0, 0, 0)), LayerSpec(FLATTEN), LayerSpec(DENSE, 2))),
     "layer 1 (flatten) makes a dimension of 5000"),
    ("activation over MAX_ACTIVATION", BASE.replace(input_shape=(1, 32, 32), layers=(
        LayerSpec(CONV2D, 65, (1, 1), (1, 1), (0, 0, 0, 0)), LayerSpec(FLATTEN), LayerSpec(DENSE, 2))),
     "layer 0 (conv2d) makes 66560 values (at most 65536)"),
    ("an image at the end", BASE.replace(layers=CONV_LAYERS[:3], labels=()), "the last layer must give a vector"),
    ("over MAX_CLASSES", dense_stack(MAX_CLASSES + 1), "1 to 256 classes, got 257"),
    ("labels for other classes", BASE.replace(labels=("a", "b")), "2 labels for 3 classes"),
    ("empty label", BASE.replace(labels=("a", "", "c")), "class labels are 1 to 32 printable"),
    ("long label", BASE.replace(labels=("a", "b", "c" * (MAX_LABEL_LEN + 1))), "class labels"),
    ("over MAX_MACS_PER_ITEM", dense_stack(4096, 2048, 10), "costs 12,603,392 multiply-accumulates (at most"),
    ("short weights hash", BASE.replace(weights_hash=bytes(31)), "the weights hash must be 32 bytes"),
    ("weights size too small", BASE.replace(weights_size=tensor_bytes(BASE) + 3), "the weights size (tensors"),
    ("weights size over the metadata", BASE.replace(weights_size=tensor_bytes(BASE) + 5 + MAX_METADATA_BYTES),
     "the weights size"),
    ("tensors over MAX_WEIGHTS_BYTES", dense_stack(2048, 3070, 1), "the weights take 8,408,077 bytes"),
]


@pytest.mark.parametrize(("spec", "message"), [pytest.param(s, m, id=i) for i, s, m in BAD_SPECS])
def test_bad_specs_are_refused_with_a_clear_message_and_left_unchanged(spec: ModelSpec, message: str) -> None:
    before = copy.deepcopy(spec)
    with pytest.raises(ValueError) as info:
        validate_spec(spec)
    assert message in str(info.value)
    assert spec == before


def sized(spec: ModelSpec, metadata: int = 0) -> ModelSpec:
    return spec.replace(weights_size=tensor_bytes(spec) + 4 + metadata)


DENSE_HEAVY = sized(ModelSpec("dense-heavy", (1024,), 0, (
    LayerSpec(DENSE, 4096), LayerSpec(RELU), LayerSpec(DENSE, 1016), LayerSpec(RELU), LayerSpec(DENSE, 10)),
    (), bytes(32), 0))
"""Near both MAX_MACS_PER_ITEM and MAX_WEIGHTS_BYTES."""
POOL2 = LayerSpec(MAXPOOL, kernel=(2, 2), stride=(2, 2))
CONV_HEAVY = sized(ModelSpec("conv-heavy", (1, 32, 32), 0, (
    LayerSpec(CONV2D, 16, (3, 3), (1, 1), (1, 1, 1, 1)), LayerSpec(RELU),
    LayerSpec(CONV2D, 32, (3, 3), (1, 1), (1, 1, 1, 1)), LayerSpec(RELU), POOL2,
    LayerSpec(CONV2D, 44, (3, 3), (1, 1), (1, 1, 1, 1)), LayerSpec(RELU), POOL2,
    LayerSpec(FLATTEN), LayerSpec(DENSE, 10)), (), bytes(32), 0))
"""Near MAX_MACS_PER_ITEM."""


def test_limits_are_inclusive() -> None:
    validate_spec(BASE)
    validate_spec(dense_stack(*[4] * MAX_LAYERS))
    validate_spec(dense_stack(MAX_CLASSES))
    validate_spec(sized(BASE, MAX_METADATA_BYTES))
    validate_spec(sized(BASE.replace(input_shape=(1, 32, 32), labels=())))
    validate_spec(sized(BASE.replace(labels=(), layers=(
        LayerSpec(CONV2D, MAX_DIM, (MAX_KERNEL, 8), (MAX_STRIDE, 1), (MAX_PAD, 0, 0, 0)), LayerSpec(FLATTEN),
        LayerSpec(DENSE, 2)))))
    widest = sized(BASE.replace(input_shape=(1, 32, 32), layers=(
        LayerSpec(CONV2D, 64, (1, 1), (1, 1), (0, 0, 0, 0)), LayerSpec(MAXPOOL, kernel=(16, 16), stride=(16, 16)),
        LayerSpec(FLATTEN), LayerSpec(DENSE, 3))))
    validate_spec(widest)
    assert shapes(widest)[1] == (64, 32, 32) and math.prod(shapes(widest)[1]) == MAX_ACTIVATION
    validate_spec(DENSE_HEAVY)
    assert MAX_MACS_PER_ITEM - 20_000 < macs_per_item(DENSE_HEAVY) <= MAX_MACS_PER_ITEM
    assert MAX_WEIGHTS_BYTES - 3_000 < DENSE_HEAVY.weights_size <= MAX_WEIGHTS_BYTES
    validate_spec(CONV_HEAVY)
    assert MAX_MACS_PER_ITEM - 200_000 < macs_per_item(CONV_HEAVY) <= MAX_MACS_PER_ITEM
    assert max(math.prod(s) for s in shapes(CONV_HEAVY)) == 32 * 32 * 32
    assert MAX_WEIGHTS_BYTES == MAX_MACS_PER_ITEM == 1 << 23


def test_spec_wire_round_trip_with_negative_zero_points() -> None:
    spec = BASE.replace(input_zp=-128, layers=layer(4, weight_zp=-1, output_zp=-77))
    decoded = ModelSpec.decode(spec.encode())
    assert decoded == spec and model_hash(decoded) == model_hash(spec) == ref_model_hash(spec_to_json(spec))
    encoded = spec.encode()
    zp_at = 1 + len(spec.name) + 1 + 2 * len(spec.input_shape)  # after the name and the shape
    assert encoded[zp_at] == 0x80
    with pytest.raises(DecodeError, match="input_zp"):
        ModelSpec.decode(encoded[:zp_at])  # cut at the zero point
    with pytest.raises(DecodeError, match="trailing"):
        ModelSpec.decode(encoded + b"\x00")


def test_every_spec_field_changes_the_model_hash() -> None:
    variants = [BASE, BASE.replace(name="base2"), BASE.replace(input_zp=0), BASE.replace(labels=("a", "b", "d")),
                BASE.replace(weights_hash=bytes([1]) * 32), BASE.replace(weights_size=BASE.weights_size + 1),
                BASE.replace(layers=layer(0, weight_zp=-1)), BASE.replace(layers=layer(0, output_zp=-127)),
                BASE.replace(layers=layer(0, per_channel=False)), BASE.replace(layers=layer(0, pads=(1, 1, 1, 0))),
                BASE.replace(layers=layer(2, stride=(2, 1)))]
    assert len({model_hash(v) for v in variants}) == len(variants)


# --- the JSON form ---------------------------------------------------------------------------------------------


def test_json_round_trip() -> None:
    for spec in (BASE, dense_stack(7, 2), BASE.replace(labels=(), input_zp=17)):
        value = spec_to_json(spec)
        assert value["modelHash"] == "0x" + model_hash(spec).hex()
        assert spec_from_json(copy.deepcopy(value)) == spec
        del value["modelHash"]
        assert spec_from_json(value) == spec
    value = spec_to_json(BASE)
    assert value["layers"][0] == {"kind": "conv2d", "out": 4, "kernel": [3, 3], "stride": [1, 1], "pads": [1, 1, 1, 1],
                                  "weightZeroPoint": -2, "outputZeroPoint": -128, "perChannel": True}
    assert value["layers"][1] == {"kind": "relu"} and value["layers"][2] == {"kind": "maxpool", "kernel": [2, 2],
                                                                             "stride": [2, 2]}


def _json_with(change: Any) -> Any:
    value = spec_to_json(BASE)
    change(value)
    return value


BAD_JSON: list[tuple[str, Any, str]] = [
    ("not an object", [], "a model spec must be a JSON object"),
    ("unknown key", _json_with(lambda v: v.update(extra=1)), "unknown key 'extra'"),
    ("name not a string", _json_with(lambda v: v.update(name=5)), "name must be a string"),
    ("layers not a list", _json_with(lambda v: v.update(layers={})), "layers must be a list"),
    ("labels not strings", _json_with(lambda v: v.update(labels=[1, 2, 3])), "labels must be a list of strings"),
    ("short hash", _json_with(lambda v: v.update(weightsHash="0x00")), "weightsHash must be 0x and 64 hex digits"),
    ("hash not hex", _json_with(lambda v: v.update(weightsHash="0x" + "zz" * 32)), "weightsHash must be 0x"),
    ("size not an int", _json_with(lambda v: v.update(weightsSize="12")), "weightsSize must be an integer"),
    ("zero point a float", _json_with(lambda v: v.update(inputZeroPoint=1.0)), "inputZeroPoint must be an integer"),
    ("input shape of strings", _json_with(lambda v: v.update(inputShape=["1"])), "inputShape must be a list of int"),
    ("layer not an object", _json_with(lambda v: v["layers"].__setitem__(1, "relu")), "layer 1 must be an object"),
    ("unknown layer key", _json_with(lambda v: v["layers"][1].update(size=2)), "layer 1: unknown key 'size'"),
    ("unknown kind", _json_with(lambda v: v["layers"][1].update(kind="gelu")), "kind must be one of dense, conv2d"),
    ("relu with a kernel", _json_with(lambda v: v["layers"][1].update(kernel=[1, 1])), "a relu layer takes no kernel"),
    ("pool with pads", _json_with(lambda v: v["layers"][2].update(pads=[0, 0, 0, 0])), "a maxpool layer takes no pads"),
    ("perChannel not a bool", _json_with(lambda v: v["layers"][0].update(perChannel=1)), "perChannel must be true"),
    ("out not an int", _json_with(lambda v: v["layers"][4].update(out=3.0)), "layer 4: out must be an integer"),
    ("kernel not ints", _json_with(lambda v: v["layers"][0].update(kernel=[3, "3"])), "kernel must be a list of int"),
    ("a limit", _json_with(lambda v: v["layers"][0].update(kernel=[17, 3])), "kernel side must be an integer from 1"),
    ("wrong model hash", _json_with(lambda v: v.update(modelHash="0x" + "00" * 32)), "is not this spec's hash"),
]


@pytest.mark.parametrize(("value", "message"), [pytest.param(v, m, id=i) for i, v, m in BAD_JSON])
def test_bad_json_is_refused_with_a_clear_message_and_left_unchanged(value: Any, message: str) -> None:
    before = copy.deepcopy(value)
    with pytest.raises(ValueError) as info:
        spec_from_json(value)
    assert message in str(info.value)
    assert value == before


# --- the blob --------------------------------------------------------------------------------------------------


def base_blob(metadata: dict[str, Any] | None = None) -> tuple[ModelSpec, bytes, Params]:
    params = random_params(BASE, np.random.default_rng(11))
    blob = encode_weights(BASE, params, metadata)
    return with_weights(BASE, blob), blob, params


def test_blob_layout_and_parse() -> None:
    spec, blob, params = base_blob({"accuracy": "97%", "preprocessing": [1, 2]})
    layout = tensor_layout(spec)
    assert [(s.layer, s.name, s.shape, s.offset) for s in layout] == [
        (0, "weights", (4, 1, 3, 3), 0), (0, "bias", (4,), 36), (0, "multiplier", (4,), 52), (0, "shift", (4,), 68),
        (4, "weights", (3, 64), 72), (4, "bias", (3,), 264), (4, "multiplier", (1,), 276), (4, "shift", (1,), 280)]
    meta = b'{"accuracy":"97%","preprocessing":[1,2]}'
    assert tensor_bytes(spec) == 281 and blob[281:] == struct.pack("<I", len(meta)) + meta
    assert blob[36:40] == struct.pack("<i", int(params[0]["bias"][0]))
    model = parse_weights(spec, blob)
    assert isinstance(model, Model) and model.metadata == {"accuracy": "97%", "preprocessing": [1, 2]}
    assert [p is None for p in model.params] == [False, True, True, True, False]
    for i, p in enumerate(model.params):
        if p is None:
            continue
        for name in ("weights", "bias", "multiplier", "shift"):
            arr = getattr(p, name)
            assert np.array_equal(arr, params[i][name]) and not arr.flags.writeable
    assert parse_weights(*base_blob()[:2]).metadata == {}


def retouched(blob: bytes, offset: int, data: bytes) -> tuple[ModelSpec, bytes]:
    """`blob` with `data` written at `offset` (negative: from the end), and BASE naming it."""
    b = bytearray(blob)
    b[offset:offset + len(data) or None] = data
    return with_weights(BASE, bytes(b)), bytes(b)


def test_bad_blobs_are_refused() -> None:
    spec, blob, _ = base_blob()
    with pytest.raises(ValueError, match="the weights are 286 bytes, the spec says 285"):
        parse_weights(spec, blob + b"\0")
    with pytest.raises(ValueError, match="do not match the spec's weights hash"):
        parse_weights(spec, blob[:-5] + b"\x01" + blob[-4:])
    cases = [
        (52, struct.pack("<i", -1), "layer 0 multiplier values must be 0 to 2147483647"),
        (52, struct.pack("<I", 2**31), "layer 0 multiplier values must be 0 to 2147483647"),
        (280, bytes([MAX_SHIFT + 1]), "layer 4 shift values must be 0 to 62"),
        (-4, struct.pack("<I", 1), "the metadata section says 1 bytes, the blob has 0"),
    ]
    for offset, data, message in cases:
        with pytest.raises(ValueError, match=message):
            parse_weights(*retouched(blob, offset, data))
    for meta, message in [(b"\xff\xfe", "not UTF-8 JSON"), (b"{'a': 1}", "not UTF-8 JSON"), (b"[1]", "JSON object"),
                          (b"[" * 60_000, "not UTF-8 JSON")]:
        bad = blob[:-4] + struct.pack("<I", len(meta)) + meta
        with pytest.raises(ValueError, match=message):
            parse_weights(with_weights(BASE, bad), bad)


def test_encode_weights_refuses_what_parse_would() -> None:
    params = random_params(BASE, np.random.default_rng(12))

    def with_tensor(layer: int, name: str, value: Any) -> Params:
        p = copy.deepcopy(params)
        p[layer][name] = value
        return p

    cases = [
        ({0: params[0]}, "layer 4 has no weights"),
        (with_tensor(0, "weights", np.zeros((4, 9), np.int64)),
         r"layer 0 weights must have shape \(4, 1, 3, 3\), got \(4, 9\)"),
        (with_tensor(0, "bias", np.zeros(4)), "layer 0 bias must be integers, got float64"),
        (with_tensor(4, "weights", np.full((3, 64), 128)), "layer 4 weights values must be -128 to 127"),
        (with_tensor(0, "bias", np.full(4, 2**31)), "layer 0 bias values must be -2147483648 to 2147483647"),
        (with_tensor(0, "multiplier", np.full(4, -1)), "layer 0 multiplier values must be 0 to 2147483647"),
        (with_tensor(4, "shift", np.array([63])), "layer 4 shift values must be 0 to 62"),
    ]
    for p, message in cases:
        with pytest.raises(ValueError, match=message):
            encode_weights(BASE, p)
    with pytest.raises(ValueError, match="metadata of 65544 bytes is over 65536"):
        encode_weights(BASE, params, {"x": "y" * MAX_METADATA_BYTES})


def test_weights_hash_is_a_tree_of_64_kib_chunks() -> None:
    layers = [LayerSpec(DENSE, 300), LayerSpec(DENSE, 2)]
    spec = ModelSpec("big", (256,), 0, tuple(layers), (), bytes(32), 0)
    spec, blob = make("big", (256,), layers, random_params(spec, np.random.default_rng(13)))
    assert WEIGHTS_CHUNK < len(blob) < 2 * WEIGHTS_CHUNK
    hashes = chunk_hashes(blob)
    assert len(hashes) == 2 and hashes[0] == hashlib.blake2b(blob[:65536], digest_size=32).digest()
    assert weights_hash(blob) == weights_hash_of_chunks(len(blob), hashes) == ref_weights_hash(blob)
    assert spec.weights_hash == weights_hash(blob)
    tampered = bytearray(blob)
    tampered[WEIGHTS_CHUNK + 10] ^= 1
    other = chunk_hashes(bytes(tampered))
    assert other[0] == hashes[0] and other[1] != hashes[1]
    assert weights_hash(bytes(tampered)) != spec.weights_hash
    with pytest.raises(ValueError, match="do not match"):
        parse_weights(spec, bytes(tampered))
    assert parse_weights(spec, blob).spec is spec
    # the boundaries: exactly one chunk, one byte over, and the size is in the hash
    assert len(chunk_hashes(bytes(WEIGHTS_CHUNK))) == 1 and len(chunk_hashes(bytes(WEIGHTS_CHUNK + 1))) == 2
    assert weights_hash(bytes(4)) != weights_hash(bytes(5))
    assert weights_hash(bytes(4)) == ref_weights_hash(bytes(4))


# --- what re-executing and registering weigh ---------------------------------------------------------------------


def test_infer_weight_follows_the_work() -> None:
    small, big = dense_stack(8, 2), DENSE_HEAVY
    assert weights.infer_weight(small, 0) == 0
    for spec in (small, big, CONV_HEAVY, BASE):
        ladder = [weights.infer_weight(spec, n) for n in (1, 2, 8, 64)]
        assert ladder == sorted(set(ladder)) and ladder == [weights.infer_weight(spec, n) for n in (1, 2, 8, 64)]
    assert weights.infer_weight(big, 1) > 8 * weights.infer_weight(small, 1)
    # at least the products at the cheapest rate, and the fixed cost of every layer
    assert weights.infer_weight(big, 64) >= 64 * macs_per_item(big) * weights.MAC_PS // 10**6
    assert weights.infer_weight(small, 1) >= weights.INFER_CALL + 2 * weights.WEIGHT_LAYER
    # a spec whose layers do not fit weighs more than any valid one
    unfit = BASE.replace(layers=(LayerSpec(DENSE, 3),))
    assert weights.infer_weight(unfit, 1) > weights.infer_weight(big, 64) > weights.infer_weight(CONV_HEAVY, 1)


def test_registering_and_loading_weights_are_total() -> None:
    assert weights.register_model_weight(BASE) == weights.REGISTER_MODEL + weights.SPEC_LAYER * len(BASE.layers)
    load = weights.weights_load_weight(BASE)
    assert load == (weights.LOAD_BLOB + weights.LOAD_LAYER * len(BASE.layers)
                    + -(-BASE.weights_size // weights.MODEL_BYTES_PER_WEIGHT))
    assert weights.weights_load_weight(DENSE_HEAVY) > load + MAX_WEIGHTS_BYTES // 2 // weights.MODEL_BYTES_PER_WEIGHT
    huge, largest = BASE.replace(weights_size=2**64 - 1), BASE.replace(weights_size=MAX_WEIGHTS_BYTES)
    assert weights.weights_load_weight(huge) == weights.weights_load_weight(largest)


def test_call_weights_use_the_item_sizes() -> None:
    spec = CONV_HEAVY
    width = input_bytes(spec) + output_bytes(spec)
    assert (input_bytes(spec), output_bytes(spec)) == (1024, 11)
    assert weights.challenge_weight(spec, 16) == (weights.CHALLENGE + 2 * 4 * weights.NODE_HASH
                                                  + weights.item_bytes_weight(width) + weights.weights_load_weight(spec)
                                                  + weights.infer_weight(spec, 1))
    assert weights.reveal_weight(spec, 16, 8) == (weights.REVEAL + 8 * weights.OPENING + 8 * 2 * 4 * weights.NODE_HASH
                                                  + weights.item_bytes_weight(8 * width)
                                                  + weights.weights_load_weight(spec) + weights.infer_weight(spec, 8))
    assert weights.chunk_weight(spec, 16, 4, dispute=True) - weights.chunk_weight(spec, 16, 4) == (
        weights.item_bytes_weight(2 * 16 * 11) + weights.weights_load_weight(spec) + weights.infer_weight(spec, 1))
    assert weights.post_job_weight(spec, 100, True) == (weights.POST_JOB + 100 * (weights.SYNTHETIC_ITEM +
                                                        weights.NODE_HASH) + weights.item_bytes_weight(100 * 1024))
    assert weights.post_job_weight(spec, 100, False) == weights.POST_JOB
