"""ONNX import: graphs built here with onnx.helper (QLinearConv + MaxPool + QLinearMatMul, the MatMulInteger
pattern; uint8 and int8) import and run on the chain's integer kernels like onnx's own reference evaluator (the
numpy reference of the ONNX semantics) runs them; unsupported operators and attributes are refused by name; the
reference models export to ONNX and import back to the same model hash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from btt_chain.models.imported import agreement  # noqa: E402
from btt_chain.models.onnx_export import is_exact, to_onnx, write_onnx  # noqa: E402
from btt_chain.models.onnx_import import OnnxImportError, import_onnx, import_onnx_model, onnx_reference  # noqa: E402
from btt_chain.models.quantize import predict_int8  # noqa: E402
from runtime.compute.inference import run  # noqa: E402
from runtime.compute.model import CONV2D, DENSE, FLATTEN, MAXPOOL, RELU, model_hash  # noqa: E402
from runtime.compute.reference import reference_model  # noqa: E402

OPSET = 19


class Graph:
    """A small builder of QOperator graphs: constants by value, nodes in order."""

    def __init__(self, unsigned: bool) -> None:
        self.unsigned = unsigned
        self.act = np.uint8 if unsigned else np.int8
        self.nodes: list[Any] = []
        self.inits: list[Any] = []

    def const(self, name: str, value: Any, dtype: Any) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def zp(self, name: str, int8_zp: int) -> str:
        """An activation zero point given in int8 terms (uint8 graphs add 128)."""
        return self.const(name, int8_zp + (128 if self.unsigned else 0), self.act)

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=name, **attrs))
        return output

    def model(self, input_shape: list[Any], output: str, outputs_shape: list[Any]) -> Any:
        graph = helper.make_graph(self.nodes, "test",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
                                  [helper.make_tensor_value_info(output, TensorProto.FLOAT, outputs_shape)], self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = 9
        onnx.checker.check_model(m)
        return m


def conv_graph(unsigned: bool, seed: int = 1, extra: list[tuple[str, dict[str, Any]]] | None = None,
               conv_attrs: dict[str, Any] | None = None, softmax: bool = False) -> Any:
    """x (1, 2, 8, 8) -> Q -> QLinearConv 3x3 pad 1 (4 channels, per-channel scales, bias) -> MaxPool 2x2 ->
    QLinearConv 3x3 stride 2 -> Reshape (batch, -1) -> QLinearMatMul (16 -> 5) -> DQ [-> Softmax]."""
    rng = np.random.default_rng(seed)
    g = Graph(unsigned)
    w_dtype = np.uint8 if unsigned else np.int8
    w_off = 128 if unsigned else 0

    def weights(shape: tuple[int, ...]) -> Any:
        return (rng.integers(-100, 101, shape) + w_off).astype(w_dtype)

    x_s = g.const("x_s", 0.02, np.float32)
    g.node("QuantizeLinear", ["x", x_s, g.zp("x_zp", -3)], "xq", "quantize")
    attrs = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], **(conv_attrs or {})}
    g.node("QLinearConv", ["xq", x_s, "x_zp", g.const("w1", weights((4, 2, 3, 3)), w_dtype),
                           g.const("w1_s", rng.uniform(0.002, 0.01, 4), np.float32),
                           g.const("w1_zp", w_off, w_dtype), g.const("y1_s", 0.05, np.float32), g.zp("y1_zp", -128),
                           g.const("b1", rng.integers(-300, 300, 4), np.int32)], "c1", "conv1", **attrs)
    g.node("MaxPool", ["c1"], "p1", "pool1", kernel_shape=[2, 2], strides=[2, 2])
    g.node("QLinearConv", ["p1", "y1_s", "y1_zp", g.const("w2", weights((4, 4, 3, 3)), w_dtype),
                           g.const("w2_s", 0.004, np.float32), g.const("w2_zp", w_off + 1, w_dtype),
                           g.const("y2_s", 0.08, np.float32), g.zp("y2_zp", 10)], "c2", "conv2", kernel_shape=[3, 3],
           strides=[2, 2], pads=[1, 1, 1, 1])
    g.node("Reshape", ["c2", g.const("flat", [-1, 16], np.int64)], "f", "flatten")
    last = g.node("QLinearMatMul", ["f", "y2_s", "y2_zp", g.const("w3", weights((16, 5)), w_dtype),
                                    g.const("w3_s", rng.uniform(0.003, 0.006, 5), np.float32),
                                    g.const("w3_zp", w_off, w_dtype), g.const("y3_s", 0.1, np.float32),
                                    g.zp("y3_zp", 5)], "m", "dense")
    for op, kw in extra or []:
        last = g.node(op, [last] + kw.pop("inputs", []), f"{op}_out", kw.pop("name", op.lower()), **kw)
    last = g.node("DequantizeLinear", [last, "y3_s", "y3_zp"], "logits", "dequantize")
    if softmax:
        last = g.node("Softmax", [last], "probs", "prob", axis=1)
    return g.model(["batch", 2, 8, 8], last, ["batch", 5])


def matmul_integer_graph(unsigned: bool, seed: int = 2) -> Any:
    """x (1, 12) -> Q -> MatMulInteger -> Add int32 -> Cast -> Mul (per column) -> Add float -> Q -> DQ -> Relu ->
    Q -> MatMulInteger -> Cast -> Mul (scalar) -> Q -> DQ."""
    rng = np.random.default_rng(seed)
    g = Graph(unsigned)
    w_dtype = np.uint8 if unsigned else np.int8
    w_off = 128 if unsigned else 0
    x_s = g.const("x_s", 0.03, np.float32)
    g.node("QuantizeLinear", ["x", x_s, g.zp("x_zp", 7)], "xq", "quantize")
    g.node("MatMulInteger", ["xq", g.const("w1", rng.integers(-90, 91, (12, 8)) + w_off, w_dtype), "x_zp",
                             g.const("w1_zp", w_off - 2, w_dtype)], "a1", "mm1")
    g.node("Add", [g.const("b1", rng.integers(-500, 500, 8), np.int32), "a1"], "a1b", "bias1")
    g.node("Cast", ["a1b"], "a1f", "cast1", to=TensorProto.FLOAT)
    g.node("Mul", ["a1f", g.const("s1", rng.uniform(1e-4, 3e-4, 8), np.float32)], "y1", "scale1")
    g.node("Add", ["y1", g.const("fb1", rng.normal(0, 0.2, 8), np.float32)], "y1b", "fbias1")
    y1_s = g.const("y1_s", 0.04, np.float32)
    g.node("QuantizeLinear", ["y1b", y1_s, g.zp("y1_zp", -20)], "q1", "requant1")
    g.node("DequantizeLinear", ["q1", y1_s, "y1_zp"], "d1", "dq1")
    g.node("Relu", ["d1"], "r1", "relu1")
    g.node("QuantizeLinear", ["r1", y1_s, "y1_zp"], "q1r", "q_relu1")
    g.node("MatMulInteger", ["q1r", g.const("w2", rng.integers(-120, 121, (8, 3)) + w_off, w_dtype), "y1_zp"], "a2",
           "mm2")
    g.node("Cast", ["a2"], "a2f", "cast2", to=TensorProto.FLOAT)
    g.node("Mul", [g.const("s2", 0.0007, np.float32), "a2f"], "y2", "scale2")
    y2_s = g.const("y2_s", 0.05, np.float32)
    g.node("QuantizeLinear", ["y2", y2_s, g.zp("y2_zp", 0)], "q2", "requant2")
    g.node("DequantizeLinear", ["q2", y2_s, "y2_zp"], "logits", "dequantize")
    return g.model(["batch", 12], "logits", ["batch", 3])


def compare_with_reference(model: Any, x: np.ndarray, out_scale: float, out_zp8: int) -> tuple[float, float, int]:
    """(share of equal predicted classes, share of equal int8 logits, largest logit difference) of the import
    against onnx's evaluator. Logits may differ by one where a requantised value falls next to a half (ONNX rounds
    in float32, half to even; the chain in integers, half up; a float bias is rounded into the int32 bias), and a
    hidden difference of one can grow through the next layer's weights."""
    imported = import_onnx_model(model, "t", ("a", "b", "c", "d", "e")[: model.graph.output[0].type.tensor_type.shape
                                                                          .dim[1].dim_value])
    ref: Any = ReferenceEvaluator(model)
    expected = np.concatenate([ref.run(None, {"x": x[i:i + 1].astype(np.float32)})[0] for i in range(len(x))])
    q = imported.input_qparams.quantize(x)  # type: ignore[union-attr]
    ours = run(imported.model, q.astype(np.int64))
    expected_q = np.rint(expected / out_scale).astype(np.int64) + out_zp8
    diff = np.abs(ours - expected_q)
    same = float(np.mean(np.argmax(ours, axis=1) == np.argmax(expected, axis=1)))
    return same, float(np.mean(diff == 0)), int(diff.max())


@pytest.mark.parametrize("unsigned", [False, True], ids=["int8", "uint8"])
def test_qlinear_conv_pool_matmul_graph_matches_the_onnx_reference(unsigned: bool) -> None:
    model = conv_graph(unsigned)
    imported = import_onnx_model(model, "conv-test", ("a", "b", "c", "d", "e"))
    kinds = [layer.kind for layer in imported.spec.layers]
    assert kinds == [CONV2D, MAXPOOL, CONV2D, FLATTEN, DENSE]
    assert imported.spec.input_zp == -3 and imported.spec.layers[0].per_channel
    assert imported.spec.layers[2].weight_zp == 1 and not imported.spec.layers[2].per_channel
    assert ("uint8 tensors became int8 (values and zero points minus 128)" in imported.notes) == unsigned
    x = np.random.default_rng(5).normal(0, 1.2, (300, 2, 8, 8))
    same, equal, diff = compare_with_reference(model, x, 0.1, 5)
    assert same >= 0.97 and equal >= 0.98 and diff <= 2, (same, equal, diff)


@pytest.mark.parametrize("unsigned", [False, True], ids=["int8", "uint8"])
def test_matmul_integer_pattern_matches_the_onnx_reference(unsigned: bool) -> None:
    model = matmul_integer_graph(unsigned)
    imported = import_onnx_model(model, "mm-test", ("a", "b", "c"))
    assert [layer.kind for layer in imported.spec.layers] == [DENSE, RELU, DENSE]
    assert imported.spec.layers[0].per_channel and not imported.spec.layers[2].per_channel
    assert imported.spec.layers[0].weight_zp == -2
    x = np.random.default_rng(6).normal(0, 1.5, (400, 12))
    same, equal, diff = compare_with_reference(model, x, 0.05, 0)
    assert same >= 0.97 and equal >= 0.98 and diff <= 3, (same, equal, diff)


def test_int8_and_uint8_variants_import_to_the_same_model() -> None:
    a = import_onnx_model(conv_graph(False), "same", ())
    b = import_onnx_model(conv_graph(True), "same", ())
    assert model_hash(a.spec) == model_hash(b.spec)


def test_agreement_report_against_float_semantics_and_labels(tmp_path: Path) -> None:
    model = conv_graph(False)
    path = tmp_path / "conv.onnx"
    onnx.save(model, str(path))
    imported = import_onnx(path, labels=("a", "b", "c", "d", "e"))
    assert imported.spec.name == "conv"
    x = np.random.default_rng(8).normal(0, 1.2, (200, 2, 8, 8))
    y = np.argmax(onnx_reference(path)(x), axis=1)
    report = agreement(imported, x, y, {"the ONNX reference evaluator": onnx_reference(path)})
    assert report.agreement("the ONNX graph in float semantics") >= 0.8
    assert report.agreement("the ONNX reference evaluator") >= 0.97
    assert report.accuracy(report.int8_predicted) == report.agreement("the ONNX reference evaluator")
    text = "\n".join(report.lines())
    assert "the same class for" in text and "against the labels" in text


# --- refusals --------------------------------------------------------------------------------------------------


def test_an_unsupported_operator_is_refused_with_its_name() -> None:
    with pytest.raises(OnnxImportError) as exc:
        import_onnx_model(conv_graph(False, softmax=True), "t")
    assert str(exc.value).startswith("operator Softmax (node 'prob') is not supported; supported: QuantizeLinear")


@pytest.mark.parametrize(
    "conv_attrs, fragment",
    [
        ({"dilations": [2, 2], "pads": [2, 2, 2, 2]}, "QLinearConv (node 'conv1'): dilations [2, 2] are not supported"),
        ({"auto_pad": "SAME_UPPER", "pads": None}, "auto_pad SAME_UPPER is not supported"),
        ({"kernel_shape": [3, 3], "group": 2}, "group 2 is not supported"),
    ],
)
def test_unsupported_conv_attributes_are_refused(conv_attrs: dict[str, Any], fragment: str) -> None:
    attrs = {k: v for k, v in conv_attrs.items() if v is not None}
    model = conv_graph(False, conv_attrs=attrs)
    if conv_attrs.get("pads", 0) is None:
        for a in list(model.graph.node[1].attribute):
            if a.name == "pads":
                model.graph.node[1].attribute.remove(a)
    with pytest.raises(OnnxImportError) as exc:
        import_onnx_model(model, "t")
    assert fragment in str(exc.value)


def _edit(model: Any, node_name: str, **attrs: Any) -> Any:
    node = next(n for n in model.graph.node if n.name == node_name)
    for key, value in attrs.items():
        for a in list(node.attribute):
            if a.name == key:
                node.attribute.remove(a)
        node.attribute.append(helper.make_attribute(key, value))
    return model


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda m: _edit(m, "pool1", ceil_mode=1, kernel_shape=[3, 3]), "ceil_mode 1 is not supported"),
        (lambda m: _edit(m, "pool1", pads=[1, 1, 1, 1]), "MaxPool (node 'pool1'): pads [1, 1, 1, 1] are not supported"),
        (lambda m: _edit(m, "pool1", dilations=[2, 2]), "MaxPool (node 'pool1'): dilations [2, 2]"),
        (lambda m: _edit(m, "pool1", foo=1), "MaxPool (node 'pool1'): attribute 'foo' is not supported"),
    ],
)
def test_unsupported_pool_attributes_are_refused(edit: Any, fragment: str) -> None:
    model = edit(conv_graph(False))
    with pytest.raises(OnnxImportError) as exc:
        import_onnx_model(model, "t")
    assert fragment in str(exc.value)


def test_other_refusals_name_what_is_wrong() -> None:
    m = conv_graph(False, extra=[("Relu", {"name": "relu_q"})])
    with pytest.raises(OnnxImportError, match=r"Relu \(node 'relu_q'\): Relu on a quantised int8 tensor with zero "
                                              r"point 5 computes max\(q, 0\)"):
        import_onnx_model(m, "t")
    m = conv_graph(False)
    m.graph.node[1].domain = "com.microsoft"
    with pytest.raises(OnnxImportError, match=r"operator com.microsoft.QLinearConv \(node 'conv1'\) is not supported"):
        import_onnx_model(m, "t")
    m = conv_graph(False)  # a branch: the quantised input also feeds a second reader
    m.graph.node.append(helper.make_node("MaxPool", ["xq"], ["side"], name="side", kernel_shape=[2, 2]))
    with pytest.raises(OnnxImportError, match="tensor 'xq' is read 2 times; only a single chain"):
        import_onnx_model(m, "t")
    m = conv_graph(False)
    w1_zp = next(i for i in m.graph.initializer if i.name == "w1_zp")
    w1_zp.CopyFrom(numpy_helper.from_array(np.array([0, 1, 0, 0], dtype=np.int8), "w1_zp"))
    with pytest.raises(OnnxImportError, match="w_zero_point differs between channels"):
        import_onnx_model(m, "t")
    m = conv_graph(False)
    x_zp = next(i for i in m.graph.initializer if i.name == "y1_zp")
    x_zp.CopyFrom(numpy_helper.from_array(np.array(-128, dtype=np.int8), "y1_zp"))
    next(n for n in m.graph.node if n.name == "conv2").input[2] = "x_zp"
    with pytest.raises(OnnxImportError, match="x_zero_point is -3 but the tensor 'p1' has zero point -128"):
        import_onnx_model(m, "t")


def test_reshape_other_than_a_flatten_is_refused() -> None:
    m = conv_graph(False)
    flat = next(i for i in m.graph.initializer if i.name == "flat")
    flat.CopyFrom(numpy_helper.from_array(np.array([-1, 4, 4], dtype=np.int64), "flat"))
    with pytest.raises(OnnxImportError, match=r"Reshape \(node 'flatten'\): a reshape to \[-1, 4, 4\] is not a "):
        import_onnx_model(m, "t")


def test_files_that_are_not_onnx_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07garbage that is not protobuf \xff\xff\xff")
    with pytest.raises(OnnxImportError, match="junk.onnx: not"):
        import_onnx(junk)
    with pytest.raises(OnnxImportError, match="no such file"):
        import_onnx(tmp_path / "missing.onnx")


# --- export and round trip -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["breast-cancer-v1", "digits-conv-v1"])
def test_reference_models_round_trip_through_onnx(tmp_path: Path, name: str) -> None:
    model = reference_model(name)
    assert is_exact(model)
    path = tmp_path / f"{name}.onnx"
    write_onnx(path, model, model.metadata["input"]["scale"])
    imported = import_onnx(path)
    assert model_hash(imported.spec) == model_hash(model.spec)  # labels and metadata travel in metadata_props
    held = model.metadata["heldOut"]
    q = np.frombuffer(bytes.fromhex(held["inputs"]), dtype=np.int8).reshape(held["count"], *model.spec.input_shape)
    ref = onnx_reference(to_onnx(model, model.metadata["input"]["scale"]))
    report = agreement(imported, q, np.array(held["labels"]), {"onnx": ref})
    assert report.agreement("onnx") == 1.0
    assert (predict_int8(model, q) == report.int8_predicted).all()
    assert report.accuracy(report.int8_predicted) == model.metadata["accuracy"]["int8Correct"] / held["count"]


def test_a_quantised_cnn_with_average_pooling_and_relu_round_trips_and_matches_onnx() -> None:
    """Our quantiser's model with avgpool and a ReLU that is not folded (it follows average pooling): exported as
    DequantizeLinear -> AveragePool / Relu -> QuantizeLinear, imported back to the same hash, run like onnx runs it."""
    from btt_chain.models.float_net import Conv2d, Dense, Flatten, FloatLayer, Pool, Relu
    from btt_chain.models.quantize import quantize
    from runtime.compute.model import AVGPOOL

    rng = np.random.default_rng(11)
    layers: list[FloatLayer] = [
        Conv2d(rng.normal(0, 0.4, (3, 1, 3, 3)), rng.normal(0, 0.1, 3), (1, 1), (0, 0, 0, 0)),
        Pool("avg", (2, 2), (2, 2)), Relu(), Flatten(), Dense(rng.normal(0, 0.5, (4, 27)), rng.normal(0, 0.1, 4)),
    ]
    x = rng.normal(0, 1, (240, 1, 8, 8))
    q = quantize("avg-cnn", (1, 8, 8), layers, x[:200], ("a", "b", "c", "d"))
    assert [layer.kind for layer in q.spec.layers][1:3] == [AVGPOOL, RELU]
    proto = to_onnx(q.model, q.input_qparams.scale)
    imported = import_onnx_model(proto, "avg-cnn")
    assert model_hash(imported.spec) == model_hash(q.spec)
    held = q.input_qparams.quantize(x[200:])
    report = agreement(imported, held, None, {"onnx": onnx_reference(proto)})
    assert report.agreement("onnx") >= 0.95  # avgpool rounds half up on the chain, half to even in ONNX
    assert report.agreement("the ONNX graph in float semantics") >= 0.9
