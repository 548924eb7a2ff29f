"""Print the test vectors of docs/models.md from the code, or check the document against them.

Run: .venv/bin/python scripts/model_vectors.py           (prints the block between the markers)
     .venv/bin/python scripts/model_vectors.py --check   (exit 1 if docs/models.md differs)

Every weight, scale and input is drawn from SHAKE-256 of a fixed label (not from a numpy generator, whose
streams may change between versions), so the vectors depend on nothing but the code under test.
"""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runtime.compute.inference import infer
from runtime.compute.model import (
    AVGPOOL,
    CONV2D,
    DENSE,
    FLATTEN,
    MAXPOOL,
    RELU,
    LayerSpec,
    ModelSpec,
    encode_weights,
    model_hash,
    parse_weights,
    tensor_layout,
    validate_spec,
    with_weights,
)
from runtime.compute.model_json import spec_to_json

DOC = Path(__file__).parents[1] / "docs" / "models.md"
BEGIN, END = "<!-- vectors:begin -->\n", "<!-- vectors:end -->\n"
KEY_WIDTH = 13
HEX_PER_LINE = 128


def draw(label: str, n: int) -> bytes:
    """`n` bytes of SHAKE-256("btt-model-vectors/" + label)."""
    return hashlib.shake_256(b"btt-model-vectors/" + label.encode()).digest(n)


def draw_ints(label: str, n: int, lo: int, hi: int) -> np.ndarray:
    """`n` integers from lo to hi (inclusive): 8 drawn bytes each, as a u64 modulo the range's size."""
    raw = np.frombuffer(draw(label, 8 * n), dtype="<u8")
    return np.array([lo + int(v) % (hi - lo + 1) for v in raw], dtype=np.int64)


@dataclass(frozen=True)
class Vector:
    title: str
    about: str
    spec: ModelSpec
    blob: bytes
    inputs: tuple[bytes, ...]
    outputs: tuple[bytes, ...]


def build(name: str, input_shape: tuple[int, ...], input_zp: int, layers: list[LayerSpec],
          overrides: dict[tuple[int, str], Any] | None = None, labels: tuple[str, ...] = (),
          metadata: dict[str, Any] | None = None) -> tuple[ModelSpec, bytes]:
    """A model whose tensors are drawn under `name` (weights -128..127, biases +-2**12, multipliers 2**29..2**31-1,
    shifts scaled to the layer's fan-in), with `overrides` (layer, tensor) -> values put in instead."""
    spec = ModelSpec(name, input_shape, input_zp, tuple(layers), labels, bytes(32), 0)
    params: dict[int, dict[str, Any]] = {}
    fan_in: dict[int, int] = {}
    for slot in tensor_layout(spec):
        count = int(np.prod(slot.shape))
        label = f"{name}/{slot.layer}/{slot.name}"
        given = (overrides or {}).get((slot.layer, slot.name))
        if slot.name == "weights":
            fan_in[slot.layer] = int(np.prod(slot.shape[1:]))
        if given is not None:
            values = np.array(given, dtype=np.int64)
        elif slot.name == "weights":
            values = draw_ints(label, count, -128, 127)
        elif slot.name == "bias":
            values = draw_ints(label, count, -(2**12), 2**12)
        elif slot.name == "multiplier":
            values = draw_ints(label, count, 2**29, 2**31 - 1)
        else:
            base = 31 + (fan_in[slot.layer] * 2**14).bit_length() - 11
            values = draw_ints(label, count, base - 2, base + 1)
        params.setdefault(slot.layer, {})[slot.name] = values.reshape(slot.shape)
    blob = encode_weights(spec, params, metadata)
    spec = with_weights(spec, blob)
    validate_spec(spec)
    return spec, blob


def vector(title: str, about: str, spec: ModelSpec, blob: bytes, inputs: list[bytes]) -> Vector:
    outputs = infer(parse_weights(spec, blob), inputs)
    return Vector(title, about, spec, blob, tuple(inputs), tuple(outputs))


def signed(values: list[int]) -> bytes:
    return bytes(v & 0xFF for v in values)


def vectors() -> list[Vector]:
    out = []

    spec, blob = build("vector-dense", (6,), -3, [
        LayerSpec(DENSE, 5, weight_zp=2, output_zp=-10), LayerSpec(RELU),
        LayerSpec(DENSE, 3, weight_zp=-1, output_zp=4, per_channel=True)], labels=("low", "mid", "high"),
        metadata={"about": "docs/models.md test vector"})
    inputs = [draw("vector-dense/input/0", 6), draw("vector-dense/input/1", 6), signed([-128] * 6), signed([127] * 6)]
    out.append(vector("Vector 1: dense", "Two dense layers with a ReLU between: per-tensor scales, then per-channel; "
                      "zero points on the input, the weights and the outputs; class labels and a metadata section.",
                      spec, blob, inputs))

    spec, blob = build("vector-conv", (2, 6, 5), 5, [
        LayerSpec(CONV2D, 3, (3, 2), (2, 1), (1, 0, 2, 1), weight_zp=-4, output_zp=-20, per_channel=True),
        LayerSpec(RELU), LayerSpec(MAXPOOL, kernel=(2, 2), stride=(1, 2)),
        LayerSpec(CONV2D, 4, (1, 2), (1, 1), (0, 1, 0, 0), weight_zp=3, output_zp=7),
        LayerSpec(AVGPOOL, kernel=(2, 1), stride=(2, 1)), LayerSpec(FLATTEN),
        LayerSpec(DENSE, 3, weight_zp=6, output_zp=-2, per_channel=True)])
    inputs = [draw(f"vector-conv/input/{i}", 60) for i in range(3)]
    out.append(vector("Vector 2: convolution and pools", "A convolution with a non-square kernel and stride and "
                      "asymmetric pads, per-channel scales and non-zero zero points; ReLU; max pooling; a second "
                      "convolution; average pooling; flatten; dense.", spec, blob, inputs))

    big = 2**31 - 1
    spec, blob = build("vector-saturation", (1, 2, 4), 0, [
        LayerSpec(AVGPOOL, kernel=(1, 2), stride=(1, 2)), LayerSpec(FLATTEN),
        LayerSpec(DENSE, 6, per_channel=True)], overrides={
            (2, "weights"): [[1, 0, 0, 0]] + [[127] * 4] * 2 + [[-128] * 4] * 2 + [[2, -2, 1, -1]],
            (2, "bias"): [0, big, big, -big - 1, -big - 1, 7],
            (2, "multiplier"): [1, big, 0, big, 1, 12345],
            (2, "shift"): [0, 62, 0, 31, 62, 5]})
    inputs = [signed([-1, -2, -3, -3, 5, -6, -128, -127]), signed([127] * 8), signed([-128] * 8),
              signed([0, 1, 2, 3, 4, 5, 6, 7])]
    out.append(vector("Vector 3: saturation and edges", "Average pooling of negative sums (-1.5 rounds to -1, -127.5 "
                      "to -127), then one dense layer whose channels hit the edges: int32 saturation of the "
                      "accumulator, shifts of 0 and 62, multipliers of 0 and 2**31 - 1, clamping at both ends, "
                      "and ties in the argmax.", spec, blob, inputs))
    return out


def _wrapped(key: str, text: str) -> list[str]:
    chunks = [text[i:i + HEX_PER_LINE] for i in range(0, len(text), HEX_PER_LINE)] or [""]
    return [f"{key:<{KEY_WIDTH}}{chunks[0]}"] + [" " * KEY_WIDTH + c for c in chunks[1:]]


def _spec_lines(spec: ModelSpec) -> list[str]:
    """The spec's JSON form, a layer a line."""
    j = spec_to_json(spec)
    head = json.dumps({k: j[k] for k in ("name", "inputShape", "inputZeroPoint")})
    lines = [head[:-1] + ', "layers": [']
    last = len(j["layers"]) - 1
    lines += [f"  {json.dumps(layer)}{',' if i < last else '],'}" for i, layer in enumerate(j["layers"])]
    lines.append(json.dumps({k: j[k] for k in ("labels", "weightsHash")})[1:-1] + ",")
    lines.append(json.dumps({k: j[k] for k in ("weightsSize", "modelHash")})[1:])
    return [f"{'spec' if i == 0 else '':<{KEY_WIDTH}}{line}" for i, line in enumerate(lines)]


def render(v: Vector) -> str:
    lines = [f"### {v.title}", "", textwrap.fill(v.about, 115), "", "```"]
    lines += _spec_lines(v.spec)
    lines += _wrapped("model hash", "0x" + model_hash(v.spec).hex())
    lines += _wrapped("weights", v.blob.hex())
    for item, output in zip(v.inputs, v.outputs, strict=True):
        lines += _wrapped("input", item.hex())
        lines += _wrapped("output", output.hex())
    lines.append("```")
    return "\n".join(lines) + "\n"


def markdown() -> str:
    """The block between the markers of docs/models.md."""
    return "\n".join(render(v) for v in vectors())


def parse(block: str) -> list[dict[str, Any]]:
    """The vectors of a rendered block: per vector, "spec" (JSON), "model hash", "weights" (bytes), and "inputs" and
    "outputs" (lists of bytes). What a test reads back from the document."""
    found: list[dict[str, Any]] = []
    for fenced in block.split("```\n")[1::2]:
        fields: list[tuple[str, str]] = []
        for line in fenced.splitlines():
            key, value = line[:KEY_WIDTH].strip(), line[KEY_WIDTH:]
            if key:
                fields.append((key, value))
            else:
                fields[-1] = (fields[-1][0], fields[-1][1] + value)
        values = dict(fields)
        found.append({"spec": json.loads(values["spec"]), "model hash": values["model hash"],
                      "weights": bytes.fromhex(values["weights"]),
                      "inputs": [bytes.fromhex(v) for k, v in fields if k == "input"],
                      "outputs": [bytes.fromhex(v) for k, v in fields if k == "output"]})
    return found


def document_block(text: str) -> str:
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def main(argv: list[str]) -> int:
    block = markdown()
    if "--check" not in argv:
        print(block, end="")
        return 0
    if document_block(DOC.read_text()) != block:
        print(f"{DOC} is out of date: regenerate its vectors with scripts/model_vectors.py", file=sys.stderr)
        return 1
    print(f"{DOC}: the vectors are the code's")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
