"""Models for tests: random-weight models of a given shape (`btt_chain.models.random_model`: many classes, the
largest valid, ...), their blobs held by a weights source this process installs on first use beside the shipped
reference models."""

from __future__ import annotations

from btt_chain.models.random_model import HeldWeights, dense_chain
from runtime.compute import weights_source
from runtime.compute.model import ModelSpec
from runtime.compute.reference import reference_spec

MODEL_NAME = "breast-cancer-v1"
"""The reference model most tests post jobs on (30 features, 2 classes)."""

_SOURCE: HeldWeights | None = None


def test_weights() -> HeldWeights:
    """The installed test source (installed now if it is not)."""
    global _SOURCE
    if _SOURCE is None:
        _SOURCE = HeldWeights()
    weights_source.install(_SOURCE)
    return _SOURCE


test_weights.__test__ = False  # type: ignore[attr-defined]  (not a pytest test)


def dense_blob(name: str, widths: tuple[int, ...], seed: int = 0) -> tuple[ModelSpec, bytes]:
    """A dense model of `widths` (input first) with random weights, and its blob (not held anywhere)."""
    return dense_chain(name, widths, seed)


def dense_model(name: str, widths: tuple[int, ...], seed: int = 0) -> ModelSpec:
    """`dense_blob`'s spec, with its blob held by the test weights source."""
    spec, blob = dense_blob(name, widths, seed)
    return test_weights().add(spec, blob)


def reference(name: str = MODEL_NAME) -> ModelSpec:
    return reference_spec(name)
