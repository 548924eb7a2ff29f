"""Malformed ONNX files are one clear error (issue 43, item 4): seeded random mutations of the shipped models'
ONNX export, of its bytes (flipped, cut, inserted) and of its graph (operators, inputs, attributes, tensor types,
shapes and data, the graph input, metadata), either import or raise the import's error (OnnxImportError, or the
ModelImportError it derives from) with a one-line message:
never KeyError, ValueError, ZeroDivisionError or RecursionError out of onnx, numpy or the importer. A sample goes
through `btt-chain model import` as well. The mutations that once escaped are pinned by name below."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import numpy_helper  # noqa: E402

from btt_chain.models.imported import ModelImportError  # noqa: E402
from btt_chain.models.onnx_export import to_onnx  # noqa: E402
from btt_chain.models.onnx_import import OnnxImportError, import_onnx, import_onnx_model  # noqa: E402
from runtime.compute.reference import reference_model  # noqa: E402
from tests.support.cli_runner import assert_one_error_line, run  # noqa: E402

MODELS = ("breast-cancer-v1", "digits-conv-v1")
OPS = ("QLinearConv", "QLinearMatMul", "MatMulInteger", "MaxPool", "AveragePool", "Relu", "Flatten", "Reshape",
       "QuantizeLinear", "DequantizeLinear", "Add", "Cast", "Mul", "Constant", "Softmax")
TENSOR_TYPES = (1, 2, 3, 5, 6, 7, 10, 11, 16)
ATTRIBUTES: tuple[tuple[str, Any], ...] = (("axis", 1), ("kernel_shape", [2, 2]), ("strides", [0, 1]),
                                          ("pads", [1, 1, 1, 1]), ("group", 2), ("auto_pad", "SAME_UPPER"),
                                          ("allowzero", 1), ("to", 7), ("value", 3))


def export(name: str) -> Any:
    model = reference_model(name)
    return to_onnx(model, model.metadata["input"]["scale"])


def _node(rng: random.Random, g: Any) -> Any:
    return rng.choice(g.node) if g.node else None


def mutate(rng: random.Random, proto: Any) -> None:
    """One random change to the graph that a careless or hostile exporter could make."""
    g = proto.graph
    node, kind = _node(rng, g), rng.randrange(12)
    if kind == 0 and node is not None:
        node.op_type = rng.choice(OPS)
    elif kind == 1 and node is not None and node.input:
        node.input[rng.randrange(len(node.input))] = rng.choice([t.name for t in g.initializer] + ["x", "nope", ""])
    elif kind == 2 and g.initializer:
        rng.choice(g.initializer).data_type = rng.choice(TENSOR_TYPES)
    elif kind == 3 and g.initializer:
        t = rng.choice(g.initializer)
        if t.dims:
            t.dims[rng.randrange(len(t.dims))] = rng.choice([0, 1, 2, 3, 7, 16, 1000])
        else:
            t.dims.append(rng.choice([0, 1, 2, 5]))
    elif kind == 4 and g.initializer:
        t = rng.choice(g.initializer)
        t.raw_data = t.raw_data[:rng.randrange(len(t.raw_data) + 1)]
    elif kind == 5 and node is not None:
        if node.attribute and rng.random() < 0.7:
            a = rng.choice(node.attribute)
            if a.ints:
                a.ints[rng.randrange(len(a.ints))] = rng.choice([-1, 0, 1, 2, 3, 100])
            elif a.type == onnx.AttributeProto.INT:
                a.i = rng.choice([-1, 0, 1, 2, 5])
        else:
            name, value = rng.choice(ATTRIBUTES)
            node.attribute.append(onnx.helper.make_attribute(name, value))
    elif kind == 6 and g.node:
        del g.node[rng.randrange(len(g.node))]
    elif kind == 7 and node is not None and node.input:
        del node.input[rng.randrange(len(node.input))]
    elif kind == 8:
        tensor_type = g.input[0].type.tensor_type
        dim = tensor_type.shape.dim[rng.randrange(len(tensor_type.shape.dim))]
        if rng.random() < 0.5:
            dim.dim_value = rng.choice([0, 1, 2, 3, 30, 64])
        else:
            dim.dim_param = "N"
        if rng.random() < 0.3:
            tensor_type.elem_type = rng.choice(TENSOR_TYPES)
    elif kind == 9:
        del proto.metadata_props[:]
        entry = proto.metadata_props.add()
        entry.key = rng.choice(["labels", "btt.metadata"])
        entry.value = rng.choice(['[1,2]', '{}', '["a"]', "null", "[[[", '{"a":1}', "[" * 5000])
    elif kind == 10 and node is not None and node.output:
        node.output[0] = rng.choice(["y", "logits", node.input[0] if node.input else "z", "q0"])
    elif kind == 11 and g.initializer:
        t = rng.choice(g.initializer)
        try:
            values = numpy_helper.to_array(t)
        except Exception:  # an earlier mutation made it unreadable: that is the importer's to report
            return
        if values.size:
            flat = values.reshape(-1).copy()
            if flat.dtype.kind == "f":
                flat[rng.randrange(flat.size)] = rng.choice([0.0, -1.0, np.nan, np.inf, 1e30, 1e-30])
            elif flat.dtype.kind in "iu":
                info = np.iinfo(flat.dtype)
                flat[rng.randrange(flat.size)] = rng.choice([info.min, info.max, 0])
            t.CopyFrom(numpy_helper.from_array(flat.reshape(values.shape), t.name))


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 4, 8])):
        pos, kind = rng.randrange(len(out)), rng.random()
        if kind < 0.6:
            out[pos] = rng.randrange(256)
        elif kind < 0.8:
            del out[pos:pos + rng.randrange(1, 16)]
        else:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
    return bytes(out)


def outcome(path: Path) -> str:
    """"ok", or the import error's message (one line: OnnxImportError, or the ModelImportError it derives from when
    the graph's model breaks a rule of the chain's models); any other exception fails the test with its file."""
    try:
        import_onnx(path)
    except ModelImportError as exc:
        message = str(exc)
        assert message and "\n" not in message, f"{path}: {message!r}"
        return message
    except Exception as exc:
        raise AssertionError(f"{path} raised {type(exc).__name__}: {exc}") from exc
    return "ok"


@pytest.mark.parametrize("name", MODELS)
def test_mutated_graphs_import_or_are_one_clear_error(tmp_path: Path, name: str) -> None:
    base = export(name)
    rng = random.Random(f"graph-{name}")
    refused = 0
    for i in range(400):
        proto = copy.deepcopy(base)
        for _ in range(rng.choice([1, 1, 2, 3])):
            mutate(rng, proto)
        path = tmp_path / f"{name}-graph-{i}.onnx"
        try:
            onnx.save(proto, str(path))
        except Exception:  # a mutation protobuf cannot even serialise: nothing to import
            continue
        refused += outcome(path) != "ok"
        path.unlink()
    assert refused > 200  # the mutations reach the importer's checks, not only the ok path


@pytest.mark.parametrize("name", MODELS)
def test_mutated_bytes_import_or_are_one_clear_error(tmp_path: Path, name: str) -> None:
    data = export(name).SerializeToString()
    rng = random.Random(f"bytes-{name}")
    for i in range(300):
        path = tmp_path / f"{name}-bytes-{i}.onnx"
        path.write_bytes(mutate_bytes(rng, data))
        outcome(path)
        path.unlink()


def test_the_command_says_one_line_for_mutated_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = export("digits-conv-v1")
    rng = random.Random("cli")
    for i in range(25):
        proto = copy.deepcopy(base)
        for _ in range(2):
            mutate(rng, proto)
        path = tmp_path / f"m{i}.onnx"
        onnx.save(proto, str(path))
        code, _, err = run(capsys, "model", "import", str(path), "--out", str(tmp_path / "out"))
        if code != 0:
            assert_one_error_line(code, err, "")


def _set_ints(attribute: str, values: list[int], op: str) -> Callable[[Any], None]:
    def edit(proto: Any) -> None:
        node = next(n for n in proto.graph.node if n.op_type == op)
        attr = next(a for a in node.attribute if a.name == attribute)
        attr.ints[:] = values
    return edit


def _cut_initializer(proto: Any) -> None:
    t = next(t for t in proto.graph.initializer if t.name == "w0")
    t.raw_data = t.raw_data[: len(t.raw_data) // 2]


def _deep_labels(proto: Any) -> None:
    entry = proto.metadata_props.add()
    entry.key, entry.value = "labels", "[" * 5000


def _string_constant(proto: Any) -> None:
    proto.graph.node.insert(0, onnx.helper.make_node("Constant", [], ["c"], name="c", value="x"))


@pytest.mark.parametrize("edit, fragment", [
    (_set_ints("strides", [0, 1], "QLinearConv"), "QLinearConv (node 'conv0'): strides [0, 1] must be at least 1"),
    (_set_ints("strides", [1, 0], "MaxPool"), "MaxPool (node 'maxpool2'): strides [1, 0] and kernel_shape"),
    (_cut_initializer, "initializer 'w0' cannot be read (ValueError: "),
    (_deep_labels, "metadata_props 'labels' and 'btt.metadata' must be JSON"),
    (_string_constant, "Constant (node 'c'): only a Constant with a 'value' tensor is supported"),
])
def test_mutations_that_once_escaped(edit: Callable[[Any], None], fragment: str) -> None:
    """ZeroDivisionError (a zero stride), ValueError (a tensor's data shorter than its shape), RecursionError
    (labels nested deeper than the parser goes) and a Constant whose `value` is a string: each named."""
    proto = export("digits-conv-v1")
    edit(proto)
    with pytest.raises(OnnxImportError) as exc:
        import_onnx_model(proto, "m")
    assert fragment in str(exc.value), str(exc.value)
