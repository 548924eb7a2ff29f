"""Export of a chain model to ONNX in the form `onnx_import` reads (opset 19, QOperator), so that a model can be
run by the ecosystem's tools and imported back to the same model hash.

Every int8 tensor is exported with scale 1 and the chain's zero point, so that a weight layer's requantisation
factor is its weight scale: conv2d -> QLinearConv (weight scale M / 2**s per channel), dense -> MatMulInteger,
Add (int32 bias), Cast, Mul (M / 2**s), QuantizeLinear; maxpool -> MaxPool on int8; flatten -> Flatten;
relu and avgpool -> DequantizeLinear, Relu or AveragePool, QuantizeLinear; the output is the final int8 vector
through DequantizeLinear. The input's QuantizeLinear carries the real input scale when it is known. The class
labels and the blob's metadata travel in the model's metadata_props ("labels", "btt.metadata").

The export is exact when every M / 2**s is a float32 (what `btt_chain.models.quantize` makes); ONNX then differs
from the chain only where a requantised value falls exactly on a half (ONNX rounds half to even, the chain up).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from btt_chain.models.onnx_import import LABELS_KEY, METADATA_KEY, OnnxImportError, _onnx
from runtime.compute.model import AVGPOOL, CONV2D, DENSE, FLATTEN, MAXPOOL, RELU, Model

OPSET = 19
"""QuantizeLinear and DequantizeLinear of opset 19 are the oldest onnx's reference evaluator implements."""


def is_exact(model: Model) -> bool:
    """Whether every requantisation factor M / 2**s of `model` is a float32 (then the export is exact)."""
    for p in model.params:
        if p is None:
            continue
        factors = p.multiplier.astype(np.float64) / np.exp2(p.shift.astype(np.float64))
        if (factors.astype(np.float32).astype(np.float64) != factors).any():
            return False
    return True


def to_onnx(model: Model, input_scale: float | None = None) -> Any:
    """The ONNX ModelProto of `model`; OnnxImportError if a multiplier is 0 (ONNX scales must be positive)."""
    onnx = _onnx()
    helper, numpy_helper, tp = onnx.helper, onnx.numpy_helper, onnx.TensorProto
    spec = model.spec
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: Any, dtype: Any) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    one = const("one", 1.0, np.float32)
    zps: dict[int, str] = {}

    def zp_name(zp: int) -> str:
        if zp not in zps:
            zps[zp] = const(f"zp_{zp}".replace("-", "m"), zp, np.int8)
        return zps[zp]

    scale = 1.0 if input_scale is None else input_scale
    nodes.append(helper.make_node("QuantizeLinear", ["x", const("input_scale", scale, np.float32),
                                                     zp_name(spec.input_zp)], ["q_in"], name="quantize_input"))
    cur, zp = "q_in", spec.input_zp
    for i, (layer, p) in enumerate(zip(spec.layers, model.params, strict=True)):
        out = f"q{i}"
        if p is not None:
            if (p.multiplier == 0).any():
                raise OnnxImportError(f"layer {i} has a zero multiplier, which an ONNX scale cannot express")
            factors = (p.multiplier.astype(np.float64) / np.exp2(p.shift.astype(np.float64))).astype(np.float32)
            factors_arr = factors if layer.per_channel else factors.reshape(())
            if layer.kind == CONV2D:
                ins = [cur, one, zp_name(zp), const(f"w{i}", p.weights, np.int8),
                       const(f"w{i}_scale", factors_arr, np.float32), zp_name(layer.weight_zp), one,
                       zp_name(layer.output_zp), const(f"b{i}", p.bias, np.int32)]
                nodes.append(helper.make_node("QLinearConv", ins, [out], name=f"conv{i}", kernel_shape=list(
                    layer.kernel), strides=list(layer.stride), pads=list(layer.pads)))
            else:
                assert layer.kind == DENSE
                nodes += [
                    helper.make_node("MatMulInteger", [cur, const(f"w{i}", p.weights.T, np.int8), zp_name(zp),
                                                       zp_name(layer.weight_zp)], [f"acc{i}"], name=f"dense{i}"),
                    helper.make_node("Add", [f"acc{i}", const(f"b{i}", p.bias, np.int32)], [f"accb{i}"],
                                     name=f"dense{i}_bias"),
                    helper.make_node("Cast", [f"accb{i}"], [f"accf{i}"], to=tp.FLOAT, name=f"dense{i}_cast"),
                    helper.make_node("Mul", [f"accf{i}", const(f"m{i}", factors_arr, np.float32)], [f"y{i}"],
                                     name=f"dense{i}_scale"),
                    helper.make_node("QuantizeLinear", [f"y{i}", one, zp_name(layer.output_zp)], [out],
                                     name=f"dense{i}_requantize"),
                ]
            zp = layer.output_zp
        elif layer.kind == MAXPOOL:
            nodes.append(helper.make_node("MaxPool", [cur], [out], name=f"maxpool{i}", kernel_shape=list(layer.kernel),
                                          strides=list(layer.stride)))
        elif layer.kind == FLATTEN:
            nodes.append(helper.make_node("Flatten", [cur], [out], name=f"flatten{i}", axis=1))
        else:
            op = "Relu" if layer.kind == RELU else "AveragePool"
            assert layer.kind in (RELU, AVGPOOL)
            attrs = {} if layer.kind == RELU else {"kernel_shape": list(layer.kernel), "strides": list(layer.stride)}
            nodes += [
                helper.make_node("DequantizeLinear", [cur, one, zp_name(zp)], [f"f{i}"], name=f"dequantize{i}"),
                helper.make_node(op, [f"f{i}"], [f"g{i}"], name=f"{op.lower()}{i}", **attrs),
                helper.make_node("QuantizeLinear", [f"g{i}", one, zp_name(zp)], [out], name=f"quantize{i}"),
            ]
        cur = out
    nodes.append(helper.make_node("DequantizeLinear", [cur, one, zp_name(zp)], ["logits"], name="dequantize_output"))
    classes = len(spec.labels) or None
    graph = helper.make_graph(
        nodes, spec.name,
        [helper.make_tensor_value_info("x", tp.FLOAT, ["batch", *spec.input_shape])],
        [helper.make_tensor_value_info("logits", tp.FLOAT, ["batch", classes])], inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="btt-chain",
                              doc_string=f"btt-chain model {spec.name}")
    proto.ir_version = 8
    props = {LABELS_KEY: json.dumps(list(spec.labels))} if spec.labels else {}
    if model.metadata:
        props[METADATA_KEY] = json.dumps(model.metadata, sort_keys=True, separators=(",", ":"))
    helper.set_model_props(proto, props)
    onnx.checker.check_model(proto)
    return proto


def write_onnx(path: Path, model: Model, input_scale: float | None = None) -> None:
    """Write `model` as an ONNX file."""
    onnx = _onnx()
    onnx.save(to_onnx(model, input_scale), str(path))
