"""Integer inference against its weight: what re-executing a model costs a node, beside `infer_weight`.

Run: python -m bench.inference_bench [--repeats N] [--batches 1,8,64] [--only NAME,...] [--layers]

For a ladder of models from the smallest allowed (one input, one dense output: one multiply-accumulate an item)
to the largest allowed (MAX_MACS_PER_ITEM as dense layers, as convolutions, as 32 layers), and models built to
cost the most per multiply-accumulate (one-wide layers, a convolution padded far beyond its input, big pools),
`infer` is timed on batches of 1, 8 and 64 items (random weights and inputs, fixed seeds; `repeats` runs after
an untimed one) and printed beside `infer_weight` (1 unit = 1 microsecond on the reference host). The fastest
run is the one least disturbed by other work on the machine: the weight must stay above it on every row, with
a margin (weight/fastest; weight/median shows the noise). Then taking each model's blob into use:
`validate_spec` and `parse_weights` (hashing and checking it), beside `weights_load_weight`; then the speed of
single dense and conv2d layers in ns a multiply-accumulate per batch size. With --layers, each layer's time on a
batch of 64.
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from runtime.compute import inference
from runtime.compute.inference import infer
from runtime.compute.model import (
    AVGPOOL,
    CONV2D,
    DENSE,
    FLATTEN,
    LAYER_KINDS,
    MAXPOOL,
    RELU,
    LayerSpec,
    Model,
    ModelSpec,
    encode_weights,
    input_bytes,
    macs_per_item,
    parse_weights,
    shapes,
    tensor_bytes,
    tensor_layout,
    validate_spec,
    with_weights,
)
from runtime.compute.weights import infer_weight, weights_load_weight

BATCHES = (1, 8, 64)
REPEATS = 5


def _conv(out: int, k: int = 3, pad: int = 1, stride: int = 1) -> LayerSpec:
    return LayerSpec(CONV2D, out, (k, k), (stride, stride), (pad, pad, pad, pad))


def _pool(kind: int, k: int, stride: int) -> LayerSpec:
    return LayerSpec(kind, kernel=(k, k), stride=(stride, stride))


def _spec(name: str, input_shape: tuple[int, ...], layers: Sequence[LayerSpec]) -> ModelSpec:
    spec = ModelSpec(name, input_shape, 0, tuple(layers), (), bytes(32), 0)
    return spec.replace(weights_size=tensor_bytes(spec) + 4)


RELU_ = LayerSpec(RELU)
FLAT = LayerSpec(FLATTEN)


def _dense(out: int) -> LayerSpec:
    return LayerSpec(DENSE, out)


LADDER: tuple[ModelSpec, ...] = (
    _spec("smallest", (1,), [_dense(1)]),
    _spec("breast-cancer", (30,), [_dense(16), RELU_, _dense(2)]),
    _spec("digits-conv", (1, 8, 8), [_conv(8), RELU_, _pool(MAXPOOL, 2, 2), FLAT, _dense(10)]),
    _spec("mlp-256", (256,), [_dense(256), RELU_, _dense(10)]),
    _spec("dense-1024", (1024,), [_dense(1024), RELU_, _dense(10)]),
    _spec("conv-mid", (3, 16, 16), [_conv(32), RELU_, _pool(MAXPOOL, 2, 2), _conv(64), RELU_,
                                    _pool(AVGPOOL, 2, 2), FLAT, _dense(10)]),
    _spec("largest-dense", (1024,), [_dense(4096), RELU_, _dense(1016), RELU_, _dense(10)]),
    _spec("largest-conv", (1, 32, 32), [_conv(16), RELU_, _conv(32), RELU_, _pool(MAXPOOL, 2, 2), _conv(44), RELU_,
                                        _pool(MAXPOOL, 2, 2), FLAT, _dense(10)]),
    _spec("deep-dense-32", (1024,), [_dense(700), *[RELU_, _dense(700)] * 14, RELU_, _dense(10), RELU_]),
    _spec("deep-conv-32", (1, 32, 32), [_conv(8), RELU_, *[_conv(8), RELU_] * 13, _pool(MAXPOOL, 16, 16), FLAT,
                                        _dense(10), RELU_]),
    _spec("narrow-dense-32", (1,), [_dense(4096), RELU_, _dense(1), RELU_] * 8),
    _spec("narrow-conv-32", (1, 32, 32), [*[_conv(1)] * 30, FLAT, _dense(2)]),
    _spec("padded-conv", (1024, 1, 1), [LayerSpec(CONV2D, 1, (1, 1), (16, 16), (16, 16, 16, 16)), FLAT, _dense(2)]),
    _spec("pool-heavy", (1, 32, 32), [_conv(64, 1, 0), _pool(MAXPOOL, 16, 1), _pool(AVGPOOL, 16, 1), FLAT, _dense(2)]),
)
"""From the smallest allowed model to the largest, then the costliest per multiply-accumulate."""


def random_blob(spec: ModelSpec, seed: int = 0) -> bytes:
    """A blob of `spec` with random weights and scales that keep most outputs in range."""
    rng = np.random.default_rng(seed)
    params: dict[int, dict[str, np.ndarray]] = {}
    for slot in tensor_layout(spec):
        t = params.setdefault(slot.layer, {})
        if slot.name == "weights":
            t["weights"] = rng.integers(-128, 128, slot.shape, dtype=np.int8)
        elif slot.name == "bias":
            t["bias"] = rng.integers(-5000, 5000, slot.shape, dtype=np.int32)
        elif slot.name == "multiplier":
            t["multiplier"] = rng.integers(1 << 29, 1 << 31, slot.shape)
        else:
            fan_in = math.prod(t["weights"].shape[1:])
            t["shift"] = np.full(slot.shape, 23 + (fan_in * 128 * 128).bit_length() - 8)
    return encode_weights(spec, params)


def build(spec: ModelSpec, seed: int = 0, validate: bool = True) -> tuple[ModelSpec, bytes, Model]:
    blob = random_blob(spec, seed)
    spec = with_weights(spec, blob)
    if validate:
        validate_spec(spec)
    return spec, blob, parse_weights(spec, blob)


def timed_us(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(fastest, median) microseconds of `repeats` calls after an untimed one. The fastest is the least
    disturbed by other work on the machine: what the weights are fitted to, with a margin."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1e6, statistics.median(times) * 1e6


@dataclass(frozen=True)
class Row:
    name: str
    macs: int
    layers: int
    batch: int
    fastest_us: float
    median_us: float
    weight: int

    @property
    def ns_per_mac(self) -> float:
        return self.fastest_us * 1000 / (self.macs * self.batch)

    @property
    def ratio(self) -> float:
        """Weight over the fastest time: the margin."""
        return self.weight / self.fastest_us


def infer_rows(specs: Sequence[ModelSpec] = LADDER, batches: Sequence[int] = BATCHES,
               repeats: int = REPEATS) -> list[Row]:
    """Each model's measured infer time (median, microseconds) beside its weight, per batch size."""
    rows = []
    for i, base in enumerate(specs):
        spec, _, model = build(base, i)
        rng = np.random.default_rng(100 + i)
        for batch in batches:
            items = [rng.integers(0, 256, input_bytes(spec), dtype=np.uint8).tobytes() for _ in range(batch)]
            fastest, median = timed_us(functools.partial(infer, model, items), repeats)
            rows.append(Row(spec.name, macs_per_item(spec), len(spec.layers), batch, fastest, median,
                            infer_weight(spec, batch)))
    return rows


def load_rows(specs: Sequence[ModelSpec] = LADDER, repeats: int = REPEATS) -> list[tuple[str, int, float, int]]:
    """(name, blob bytes, fastest us of validate_spec + parse_weights, weights_load_weight) per model."""
    rows = []
    for i, base in enumerate(specs):
        spec, blob, _ = build(base, i)

        def load(spec: ModelSpec = spec, blob: bytes = blob) -> None:
            validate_spec(spec)
            parse_weights(spec, blob)

        fastest = timed_us(load, repeats)[0]
        rows.append((spec.name, len(blob), fastest, weights_load_weight(spec)))
    return rows


def layer_rows(spec: ModelSpec, batch: int = 64, repeats: int = REPEATS) -> list[tuple[str, float]]:
    """(layer kind, measured us) of each layer of `spec` on a batch, fed its real input activation."""
    spec, _, model = build(spec)
    x = np.random.default_rng(7).integers(-128, 128, (batch, *spec.input_shape), dtype=np.int8)
    zp = spec.input_zp
    out = []
    for layer, p in zip(spec.layers, model.params, strict=True):
        one = Model(ModelSpec("one", x.shape[1:], zp, (layer,), (), bytes(32), 0), (p,))
        step = functools.partial(inference.run, one, x)
        out.append((LAYER_KINDS[layer.kind], timed_us(step, repeats)[0]))
        x = step()
        if layer.kind in (DENSE, CONV2D):
            zp = layer.output_zp
    return out


KERNELS: tuple[tuple[str, tuple[int, ...], LayerSpec], ...] = (
    ("dense 1024->4096", (1024,), _dense(4096)),
    ("dense 4096->1016", (4096,), _dense(1016)),
    ("dense 256->256", (256,), _dense(256)),
    ("conv 1->16 3x3 32x32", (1, 32, 32), _conv(16)),
    ("conv 16->32 3x3 32x32", (16, 32, 32), _conv(32)),
    ("conv 32->44 3x3 16x16", (32, 16, 16), _conv(44)),
    ("conv 8->8 3x3 32x32", (8, 32, 32), _conv(8)),
)
"""Single weight layers whose speed (ns a multiply-accumulate) the bench reports per batch size."""


def kernel_rows(batches: Sequence[int] = BATCHES, repeats: int = REPEATS) -> list[tuple[str, int, float]]:
    """(layer, batch, ns a multiply-accumulate: the layer alone, requantisation included) per layer and batch."""
    rows = []
    for name, shape, layer in KERNELS:
        spec, _, one = build(_spec(name, shape, [layer]), validate=False)  # one layer: not a whole model
        macs = macs_per_item(spec)
        for batch in batches:
            x = np.random.default_rng(batch).integers(-128, 128, (batch, *shape), dtype=np.int8)
            us = timed_us(functools.partial(inference.run, one, x), repeats)[0]
            rows.append((name, batch, us * 1000 / (macs * batch)))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inference_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument("--only", default="", help="model names, comma-separated")
    parser.add_argument("--layers", action="store_true", help="each layer's time on a batch of 64")
    args = parser.parse_args(argv)
    specs = [s for s in LADDER if not args.only or s.name in args.only.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    print(f"{'model':<16} {'MACs/item':>10} {'layers':>6} {'batch':>5} {'fastest us':>11} {'median us':>10} "
          f"{'ns/MAC':>7} {'weight':>9} {'weight/fastest':>14} {'weight/median':>13}")
    rows = infer_rows(specs, batches, args.repeats)
    for r in rows:
        print(f"{r.name:<16} {r.macs:>10,} {r.layers:>6} {r.batch:>5} {r.fastest_us:>11,.0f} {r.median_us:>10,.0f} "
              f"{r.ns_per_mac:>7.2f} {r.weight:>9,} {r.ratio:>14.2f} {r.weight / r.median_us:>13.2f}")
    print(f"lowest weight/fastest: {min(r.ratio for r in rows):.2f}, lowest weight/median: "
          f"{min(r.weight / r.median_us for r in rows):.2f}")
    print(f"\n{'model':<16} {'blob bytes':>10} {'load us':>12} {'weight':>9} {'weight/fastest':>14}"
          "   (validate_spec + parse_weights; weight: weights_load_weight)")
    reg = load_rows(specs, args.repeats)
    for name, size, us, weight in reg:
        print(f"{name:<16} {size:>10,} {us:>12,.0f} {weight:>9,} {weight / us:>14.2f}")
    print(f"lowest weight/fastest: {min(w / us for _, _, us, w in reg):.2f}")
    print(f"\n{'kernel (ns a multiply-accumulate)':<34}" + "".join(f"{'batch ' + str(b):>10}" for b in batches))
    speeds = kernel_rows(batches, args.repeats)
    for name, *_ in KERNELS:
        print(f"{name:<34}" + "".join(f"{ns:>10.2f}" for n, _, ns in speeds if n == name))
    if args.layers:
        for spec in specs:
            dims = shapes(spec)
            print(f"\n{spec.name}: batch of 64, per layer")
            for i, (kind, us) in enumerate(layer_rows(spec, 64, args.repeats)):
                print(f"  {i:>2} {kind:<8} {dims[i]!s:>16} -> {dims[i + 1]!s:<16} {us:>10,.0f} us")


if __name__ == "__main__":
    main()
