"""Integer MLP models of the compute marketplace: spec, seed-derived weights, model hash and reference models.

A model is a stack of fully connected int8 layers. Its spec (name, seed, layer widths, one requantisation
shift per weight layer) is all that travels on chain; the weights follow from the seed by SHAKE-256, so
every node builds the same model bit for bit and a model is identified by `model_hash`.

Weights of layer i (0-based) with widths (in, out) are the first out*in bytes of
SHAKE-256(b"btt-model" || seed || u8(i)), read as int8 in row-major (out, in) order; its biases are the
next `out` bytes of the same stream, read as int8 and widened to int32.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from btt_chain.primitives.codec import HASH, U8, U16, ListOf, Struct, Text
from btt_chain.primitives.hashing import HASH_LEN, blake2b_256

MAX_LAYERS = 8
"""Widths a spec may list (input and output included), so at most 7 weight layers."""
MAX_WIDTH = 1024
"""The widest layer a spec may have."""
MAX_SHIFT = 31
"""The largest requantisation shift."""
MAX_NAME_LEN = 64
"""Characters in a model name."""

WEIGHT_DTYPE = np.dtype("<i1")
"""Weights: int8 (byte order is moot for one byte, stated for symmetry)."""
BIAS_DTYPE = np.dtype("<i4")
"""Biases: little-endian int32."""
MODEL_DOMAIN = b"btt-model"

Int8Array = npt.NDArray[np.int8]
Int32Array = npt.NDArray[np.int32]


@dataclass(frozen=True)
class ModelSpec(Struct):
    """What defines a model: the weights are derived from `seed`, so the spec is the whole model."""

    name: str
    """Human-readable name, e.g. "dental-caries-v1"."""
    seed: bytes
    """32 bytes from which the weights are derived."""
    layers: tuple[int, ...]
    """Layer widths from input to output, e.g. (64, 32, 16, 5): one input item is layers[0] int8 values."""
    shifts: tuple[int, ...]
    """Arithmetic right shift applied to each weight layer's int64 accumulator before clipping to int8."""
    WIRE = (
        ("name", Text(MAX_NAME_LEN)),
        ("seed", HASH),
        ("layers", ListOf(U16, MAX_LAYERS)),
        ("shifts", ListOf(U8, MAX_LAYERS - 1)),
    )


@dataclass(frozen=True, eq=False)
class Model:
    """A built model: its spec and read-only weight (out, in) int8 and bias (out,) int32 arrays per layer."""

    spec: ModelSpec
    weights: tuple[Int8Array, ...]
    biases: tuple[Int32Array, ...]


class UnknownModel(KeyError):
    """No reference model has this name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown model"


def validate_spec(spec: ModelSpec) -> None:
    """Raise ValueError unless `spec` describes a model that can be built and run within the limits."""
    if not isinstance(spec.name, str) or not spec.name or len(spec.name) > MAX_NAME_LEN:
        raise ValueError(f"model name must be 1 to {MAX_NAME_LEN} characters")
    if type(spec.seed) is not bytes or len(spec.seed) != HASH_LEN:
        raise ValueError(f"model seed must be {HASH_LEN} bytes")
    layers, shifts = tuple(spec.layers), tuple(spec.shifts)
    if len(layers) < 2:
        raise ValueError(f"a model needs at least 2 layer widths (input and output), got {len(layers)}")
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"a model may list at most {MAX_LAYERS} layer widths, got {len(layers)}")
    for width in layers:
        if type(width) is not int or not 1 <= width <= MAX_WIDTH:
            raise ValueError(f"layer widths must be integers from 1 to {MAX_WIDTH}, got {width!r}")
    if len(shifts) != len(layers) - 1:
        raise ValueError(f"{len(layers) - 1} weight layers need as many shifts, got {len(shifts)}")
    for shift in shifts:
        if type(shift) is not int or not 0 <= shift <= MAX_SHIFT:
            raise ValueError(f"shifts must be integers from 0 to {MAX_SHIFT}, got {shift!r}")


def build_model(spec: ModelSpec) -> Model:
    """Derive the weights and biases of `spec` from its seed (see the module docstring)."""
    validate_spec(spec)
    weights: list[Int8Array] = []
    biases: list[Int32Array] = []
    for i, (n_in, n_out) in enumerate(zip(spec.layers[:-1], spec.layers[1:], strict=True)):
        stream = hashlib.shake_256(MODEL_DOMAIN + spec.seed + i.to_bytes(1, "big")).digest(n_out * n_in + n_out)
        w = np.frombuffer(stream, dtype=WEIGHT_DTYPE, count=n_out * n_in).reshape(n_out, n_in).astype(np.int8)
        b = np.frombuffer(stream, dtype=WEIGHT_DTYPE, offset=n_out * n_in).astype(np.int32)
        w.setflags(write=False)
        b.setflags(write=False)
        weights.append(w)
        biases.append(b)
    return Model(spec, tuple(weights), tuple(biases))


def model_hash(model: Model) -> bytes:
    """The model's id: blake2b-256 of the spec encoding followed by each layer's weight then bias bytes."""
    parts = [model.spec.encode()]
    for w, b in zip(model.weights, model.biases, strict=True):
        parts.append(np.ascontiguousarray(w, dtype=WEIGHT_DTYPE).tobytes())
        parts.append(np.ascontiguousarray(b, dtype=BIAS_DTYPE).tobytes())
    return blake2b_256(b"".join(parts))


def macs_per_item(spec: ModelSpec) -> int:
    """Multiply-accumulates one input item costs: the sum of in*out over the weight layers."""
    return sum(a * b for a, b in zip(spec.layers[:-1], spec.layers[1:], strict=True))


CARIES_CLASSES = ("none", "enamel", "dentin", "pulp", "restoration")
"""Output classes of "dental-caries-v1", in logit order."""

REFERENCE_MODELS: dict[str, ModelSpec] = {
    "dental-caries-v1": ModelSpec(
        name="dental-caries-v1",
        seed=blake2b_256(b"btt-reference-model/dental-caries-v1"),
        layers=(64, 32, 16, len(CARIES_CLASSES)),
        shifts=(10, 8, 7),
    ),
}
"""Models that ship with the package, by name. Changing one changes its hash: add a new name instead."""


@functools.cache
def reference_model(name: str) -> Model:
    """The built reference model called `name`; raises UnknownModel (a KeyError) listing the known names."""
    spec = REFERENCE_MODELS.get(name)
    if spec is None:
        raise UnknownModel(f"unknown reference model {name!r}; known: {', '.join(sorted(REFERENCE_MODELS))}")
    return build_model(spec)


@functools.cache
def _reference_hashes() -> dict[bytes, str]:
    return {model_hash(reference_model(name)): name for name in REFERENCE_MODELS}


def model_by_hash(h: bytes) -> Model | None:
    """The reference model whose `model_hash` is `h`, or None."""
    name = _reference_hashes().get(h)
    return None if name is None else reference_model(name)
