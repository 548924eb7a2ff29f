"""Models for tests: dense MLPs with random int8 weights built from a seed (for attacks that need a model of a
given shape: many classes, the largest valid, ...), their blobs held by a test weights source that this process
installs on first use (beside the shipped reference models)."""

from __future__ import annotations

import numpy as np

from runtime.compute import weights_source
from runtime.compute.model import DENSE, RELU, LayerSpec, ModelSpec, encode_weights, with_weights
from runtime.compute.reference import reference_spec

MODEL_NAME = "breast-cancer-v1"
"""The reference model most tests post jobs on (30 features, 2 classes)."""


class TestWeights:
    """The shipped blobs plus the blobs tests made."""

    __test__ = False  # not a pytest class

    def __init__(self) -> None:
        self.blobs: dict[bytes, bytes] = {}
        self.shipped = weights_source.shipped()

    def get_weights(self, weights_hash: bytes) -> bytes | None:
        return self.blobs.get(weights_hash) or self.shipped.get_weights(weights_hash)


_SOURCE: TestWeights | None = None


def test_weights() -> TestWeights:
    """The installed test source (installed now if it is not)."""
    global _SOURCE
    if _SOURCE is None:
        _SOURCE = TestWeights()
    weights_source.install(_SOURCE)
    return _SOURCE


def dense_blob(name: str, widths: tuple[int, ...], seed: int = 0, shift: int = 40) -> tuple[ModelSpec, bytes]:
    """A dense model of `widths` (input first) with ReLU between layers and random weights, and its blob (not held
    anywhere)."""
    rng = np.random.default_rng(seed)
    layers: list[LayerSpec] = []
    params = {}
    for i, out in enumerate(widths[1:]):
        params[len(layers)] = {
            "weights": rng.integers(-128, 128, (out, widths[i])),
            "bias": rng.integers(-1000, 1000, out),
            "multiplier": np.array([1 << 30]),
            "shift": np.array([shift]),
        }
        layers.append(LayerSpec(DENSE, out))
        if i < len(widths) - 2:
            layers.append(LayerSpec(RELU))
    spec = ModelSpec(name, (widths[0],), 0, tuple(layers), (), bytes(32), 0)
    blob = encode_weights(spec, params)
    return with_weights(spec, blob), blob


def dense_model(name: str, widths: tuple[int, ...], seed: int = 0) -> ModelSpec:
    """`dense_blob`'s spec, with its blob held by the test weights source."""
    spec, blob = dense_blob(name, widths, seed)
    test_weights().blobs[spec.weights_hash] = blob
    return spec


def reference(name: str = MODEL_NAME) -> ModelSpec:
    return reference_spec(name)
