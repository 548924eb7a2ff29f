"""Deterministic integer inference: the useful work a provider performs and every node re-executes.

An input item is `input_bytes(spec)` = layers[0] bytes read as int8. Each weight layer computes
acc = x @ W.T + b in int64, then y = clip(acc >> shift, -128, 127) (an arithmetic shift, i.e. floor
division by 2**shift), then ReLU on hidden layers only. The output of an item is one byte holding the
argmax of the final logits (ties go to the lowest index) followed by the logits as int8 bytes. Only
integer dtypes appear, so the bytes are the same on every machine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from runtime.compute.model import Model, ModelSpec

INT8_MIN = -128
INT8_MAX = 127


def input_bytes(spec: ModelSpec) -> int:
    """The size of one input item: one int8 per input unit."""
    return spec.layers[0]


def output_bytes(spec: ModelSpec) -> int:
    """The size of one output item: the argmax byte and one int8 logit per class."""
    return 1 + spec.layers[-1]


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
    x = np.frombuffer(b"".join(inputs), dtype=np.int8).reshape(len(inputs), width).astype(np.int64)
    last = len(model.weights) - 1
    for i, (w, b, shift) in enumerate(zip(model.weights, model.biases, model.spec.shifts, strict=True)):
        acc = x @ w.astype(np.int64).T + b.astype(np.int64)
        x = np.clip(np.right_shift(acc, np.int64(shift)), INT8_MIN, INT8_MAX)
        if i != last:
            x = np.maximum(x, np.int64(0))
    logits = x.astype(np.int8)
    classes = np.argmax(logits, axis=1).astype(np.uint8)
    return [bytes([int(c)]) + row.tobytes() for c, row in zip(classes, logits, strict=True)]


def infer_one(model: Model, item: bytes) -> bytes:
    """The output item of a single input item."""
    return infer(model, [item])[0]
