"""Models with random int8 weights, for benchmarks and tests that need a model of a given shape (the largest the
chain allows, many classes, deep stacks): every value is drawn from a seeded generator, so a ladder is the same on
every run. They classify nothing; the reference models in `runtime.compute.reference` are the trained ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from runtime.compute.model import (
    CONV2D,
    DENSE,
    FLATTEN,
    RELU,
    LayerSpec,
    ModelSpec,
    encode_weights,
    shapes,
    with_weights,
)

SHIFT = 40
"""With multiplier 2**30 a layer keeps acc / 2**10: activations stay in range for widths up to a few thousand."""


def _params(rng: np.random.Generator, w_shape: tuple[int, ...], out: int) -> dict[str, Any]:
    return {"weights": rng.integers(-128, 128, w_shape), "bias": rng.integers(-1000, 1000, out),
            "multiplier": np.array([1 << 30]), "shift": np.array([SHIFT])}


def random_model(name: str, input_shape: tuple[int, ...], plan: Sequence[tuple[str, int]], seed: int = 0
                 ) -> tuple[ModelSpec, bytes]:
    """A model of `plan` — ("dense", width) or ("conv3", channels: a 3x3 convolution with padding 1) — with a ReLU
    after every layer but the last (and a flatten before the first dense layer after convolutions), and its
    blob."""
    rng = np.random.default_rng(seed)
    layers: list[LayerSpec] = []
    params: dict[int, dict[str, Any]] = {}
    shape = tuple(input_shape)
    for i, (kind, width) in enumerate(plan):
        if kind == "dense" and len(shape) == 3:
            layers.append(LayerSpec(FLATTEN))
            shape = (int(np.prod(shape)),)
        if kind == "dense":
            params[len(layers)] = _params(rng, (width, shape[0]), width)
            layers.append(LayerSpec(DENSE, width))
        elif kind == "conv3":
            params[len(layers)] = _params(rng, (width, shape[0], 3, 3), width)
            layers.append(LayerSpec(CONV2D, width, (3, 3), (1, 1), (1, 1, 1, 1)))
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
        shape = tuple(shapes(ModelSpec(name, input_shape, 0, tuple(layers), (), bytes(32), 0))[-1])
        if i < len(plan) - 1:
            layers.append(LayerSpec(RELU))
    spec = ModelSpec(name, tuple(input_shape), 0, tuple(layers), (), bytes(32), 0)
    blob = encode_weights(spec, params)
    return with_weights(spec, blob), blob


def dense_chain(name: str, widths: Sequence[int], seed: int = 0) -> tuple[ModelSpec, bytes]:
    """A dense model of `widths` (input first)."""
    return random_model(name, (widths[0],), [("dense", w) for w in widths[1:]], seed)


class HeldWeights:
    """A weights source of the shipped models and blobs added here (install it with `weights_source.install`)."""

    def __init__(self, blobs: dict[bytes, bytes] | None = None) -> None:
        from runtime.compute import weights_source

        self.blobs: dict[bytes, bytes] = dict(blobs or {})
        self.shipped = weights_source.shipped()

    def add(self, spec: ModelSpec, blob: bytes) -> ModelSpec:
        self.blobs[spec.weights_hash] = blob
        return spec

    def get_weights(self, weights_hash: bytes) -> bytes | None:
        return self.blobs.get(weights_hash) or self.shipped.get_weights(weights_hash)
