"""Import of a statically quantised ONNX model (QOperator form) into the chain's int8 model.

Supported, as one chain of layers from the graph's single float input to its single output:

- QuantizeLinear on the input (its scale and zero point become the model's input quantisation);
- QLinearConv (-> conv2d; int32 bias B; per-tensor or per-output-channel weight scale; one weight zero point);
- QLinearMatMul (-> dense without bias), or the integer pattern MatMulInteger -> [Add int32 bias] -> Cast(float)
  -> Mul(scale, scalar or per column) -> [Add float bias] -> QuantizeLinear (-> dense);
- MaxPool, AveragePool, Flatten (axis 1), Reshape to (batch, -1), on int8 tensors or between a DequantizeLinear
  and a QuantizeLinear of the same scale and zero point;
- Relu between such a DequantizeLinear and QuantizeLinear, or on an int8 tensor whose zero point is 0 (both are
  the chain's max(x, zero point));
- DequantizeLinear at the end (the output is then the final int8 vector's dequantisation; argmax is unchanged).

uint8 activations and weights become int8 exactly: values and zero points minus 128. Each requantisation factor
x_scale * w_scale / y_scale is taken exactly from the float32 scales and becomes a 31-bit multiplier and shift.
Any other operator, domain or attribute value is refused with a message naming it and the node.

Rounding differs from ONNX's in one respect: ONNX rounds the requantised value half to even in float32, the
chain rounds half up in exact integers; an output may differ by one where a value falls on (or, in float32, next
to) a half. The agreement report shows how often that changes a predicted class.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from btt_chain.models.imported import FloatReference, Imported, ModelImportError, build, float_semantics
from btt_chain.models.quantize import QParams, quantize_multiplier
from runtime.compute.model import AVGPOOL, CONV2D, DENSE, FLATTEN, MAXPOOL, RELU, LayerSpec, ModelSpec

LABELS_KEY = "labels"
METADATA_KEY = "btt.metadata"
REFERENCE_OPSET = 19
SUPPORTED = ("QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger", "Add", "Cast",
             "Mul", "MaxPool", "AveragePool", "Relu", "Flatten", "Reshape")
_FLOAT = 1
_UINT8 = 2
_INT8 = 3


class OnnxImportError(ModelImportError):
    """An ONNX model cannot be imported; the message names the operator, node, attribute or tensor at fault."""


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise OnnxImportError("ONNX needs the onnx package, which the model tooling brings: ./scripts/bootstrap models "
                              "(into .venv)") from None
    return onnx


@dataclass
class _State:
    """Where the walk along the chain is: the current tensor and what it holds."""

    tensor: str
    kind: str
    """"input" (the float graph input), "q" (int8 values), "dq" (a DequantizeLinear's float view of int8 values),
    then the MatMulInteger pattern's "acc" (int32), "accf" (after Cast), "scaled" (after Mul), "biased"."""
    shape: tuple[int, ...]
    zp: int = 0
    scale: float = 1.0
    unsigned: bool = False
    """The ONNX tensor is uint8 (the chain's int8 values are these minus 128)."""
    pending: dict[str, Any] = field(default_factory=dict)
    """The MatMulInteger pattern's dense layer under construction."""
    dq_ops: int = 0


@dataclass(frozen=True)
class _QLinear:
    """What QLinearConv and QLinearMatMul share: zero points, output scale, requantisation."""

    w_zp: int
    y_zp: int
    y_scale: float
    y_unsigned: bool
    per_channel: bool
    multiplier: npt.NDArray[np.int64]
    shift: npt.NDArray[np.int64]
    factors: npt.NDArray[np.float64]
    unsigned: bool
    """An activation was uint8."""


class _Importer:
    def __init__(self, model: Any) -> None:
        self.onnx = _onnx()
        self.graph = model.graph
        self.consts: dict[str, npt.NDArray[Any]] = {}
        for init in self.graph.initializer:
            self.consts[init.name] = self.tensor(init, f"initializer '{init.name}'")
        self.layers: list[LayerSpec] = []
        self.params: dict[int, dict[str, Any]] = {}
        self.factors: dict[int, npt.NDArray[np.float64]] = {}
        self.input_qp: QParams | None = None
        self.notes: list[str] = []
        self.uses: dict[str, int] = {}
        for node in self.graph.node:
            for name in node.input:
                if name:
                    self.uses[name] = self.uses.get(name, 0) + 1
        for out in self.graph.output:
            self.uses[out.name] = self.uses.get(out.name, 0) + 1

    # --- helpers -----------------------------------------------------------------------------------------------

    def tensor(self, proto: Any, what: str) -> npt.NDArray[Any]:
        """A TensorProto's values; OnnxImportError when its type, dimensions and data do not agree."""
        try:
            return np.asarray(self.onnx.numpy_helper.to_array(proto))
        except Exception as exc:  # onnx raises ValueError, KeyError, TypeError ... on a malformed tensor
            raise OnnxImportError(f"{what} cannot be read ({_first_line(exc)})") from None

    def fail(self, node: Any, message: str) -> OnnxImportError:
        return OnnxImportError(f"{node.op_type} (node '{node.name or '?'}'): {message}")

    def attrs(self, node: Any, allowed: dict[str, Any]) -> dict[str, Any]:
        out = dict(allowed)
        for a in node.attribute:
            if a.name not in allowed:
                raise self.fail(node, f"attribute '{a.name}' is not supported")
            v = self.onnx.helper.get_attribute_value(a)
            out[a.name] = v.decode() if isinstance(v, bytes) else v
        return out

    def const(self, node: Any, i: int, what: str, optional: bool = False) -> npt.NDArray[Any] | None:
        name = node.input[i] if i < len(node.input) else ""
        if not name:
            if optional:
                return None
            raise self.fail(node, f"input {what} is missing")
        if name not in self.consts:
            raise self.fail(node, f"input {what} ('{name}') must be a constant (an initializer or a Constant node)")
        return self.consts[name]

    def need(self, node: Any, i: int, what: str) -> npt.NDArray[Any]:
        value = self.const(node, i, what)
        assert value is not None
        return value

    def scale(self, node: Any, arr: npt.NDArray[Any], what: str, count: int = 1) -> npt.NDArray[np.float64]:
        """A positive finite float32 scale, scalar or (count,)."""
        if arr.dtype != np.float32:
            raise self.fail(node, f"{what} must be float32, got {arr.dtype}")
        flat = arr.reshape(-1).astype(np.float64)
        if arr.ndim > 1 or flat.size not in {1, count}:
            raise self.fail(node, f"{what} must be a scalar{f' or {count} values' if count > 1 else ''}, got shape "
                                  f"{arr.shape}")
        if not (np.isfinite(flat).all() and (flat > 0).all()):
            raise self.fail(node, f"{what} must be positive and finite")
        return flat

    def zero_point(self, node: Any, arr: npt.NDArray[Any] | None, what: str, count: int = 1,
                   default_unsigned: bool = True) -> tuple[int, bool]:
        """(int8 zero point, the tensor is uint8) of a scalar (or all-equal per-channel) zero point."""
        if arr is None:
            return (-128 if default_unsigned else 0), default_unsigned
        if arr.dtype not in (np.uint8, np.int8):
            raise self.fail(node, f"{what} must be int8 or uint8, got {arr.dtype}")
        flat = arr.reshape(-1).astype(np.int64)
        if arr.ndim > 1 or flat.size not in {1, count}:
            raise self.fail(node, f"{what} must be a scalar{f' or {count} values' if count > 1 else ''}")
        if (flat != flat[0]).any():
            raise self.fail(node, f"{what} differs between channels; the chain has one weight zero point per layer")
        unsigned = arr.dtype == np.uint8
        return int(flat[0]) - (128 if unsigned else 0), unsigned

    def weights8(self, node: Any, arr: npt.NDArray[Any], what: str) -> npt.NDArray[np.int64]:
        if arr.dtype == np.uint8:
            return arr.astype(np.int64) - 128
        if arr.dtype == np.int8:
            return arr.astype(np.int64)
        raise self.fail(node, f"{what} must be int8 or uint8, got {arr.dtype}")

    def check_input_zp(self, node: Any, st: _State, zp: int, unsigned: bool, what: str) -> None:
        if unsigned != st.unsigned:
            raise self.fail(node, f"{what} is {'uint8' if unsigned else 'int8'} but the tensor '{st.tensor}' is "
                                  f"{'uint8' if st.unsigned else 'int8'}")
        if zp != st.zp:
            off = 128 if unsigned else 0
            raise self.fail(node, f"{what} is {zp + off} but the tensor '{st.tensor}' has zero point {st.zp + off}; "
                                  "the chain requires a tensor's readers to use its zero point")

    def add_weight_layer(self, layer: LayerSpec, params: dict[str, Any], factors: npt.NDArray[np.float64]) -> None:
        self.params[len(self.layers)] = params
        self.factors[len(self.layers)] = factors
        self.layers.append(layer)

    def requant(self, node: Any, x_scale: float, w_scale: npt.NDArray[np.float64], y_scale: float) -> tuple[
            npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        reals = [Fraction(x_scale) * Fraction(float(w)) / Fraction(y_scale) for w in w_scale]
        try:
            pairs = [quantize_multiplier(r) for r in reals]
        except ValueError as exc:
            raise self.fail(node, str(exc)) from None
        return (np.array([m for m, _ in pairs], dtype=np.int64), np.array([s for _, s in pairs], dtype=np.int64),
                np.array([float(r) for r in reals]))

    def qlinear(self, node: Any, st: _State, out: int, names: tuple[str, str, str]) -> _QLinear:
        """The scales and zero points of QLinearConv and QLinearMatMul (inputs 1, 2 and 4 to 7, named as the
        operator names them), checked, with the requantisation they make."""
        x, w, y = names
        x_scale = float(self.scale(node, self.need(node, 1, f"{x}_scale"), f"{x}_scale")[0])
        x_zp, x_unsigned = self.zero_point(node, self.need(node, 2, f"{x}_zero_point"), f"{x}_zero_point")
        self.check_input_zp(node, st, x_zp, x_unsigned, f"{x}_zero_point")
        w_scale = self.scale(node, self.need(node, 4, f"{w}_scale"), f"{w}_scale", out)
        w_zp, _ = self.zero_point(node, self.need(node, 5, f"{w}_zero_point"), f"{w}_zero_point", out)
        y_scale = float(self.scale(node, self.need(node, 6, f"{y}_scale"), f"{y}_scale")[0])
        y_zp, y_unsigned = self.zero_point(node, self.need(node, 7, f"{y}_zero_point"), f"{y}_zero_point")
        mult, shift, reals = self.requant(node, x_scale, w_scale, y_scale)
        return _QLinear(w_zp, y_zp, y_scale, y_unsigned, w_scale.size > 1, mult, shift,
                        np.broadcast_to(reals, (out,)).copy(), x_unsigned or y_unsigned)

    # --- the walk ----------------------------------------------------------------------------------------------

    def input_state(self) -> _State:
        inputs = [i for i in self.graph.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise OnnxImportError(f"the graph must have exactly one input, it has {len(inputs)}: "
                                  f"{', '.join(i.name for i in inputs) or 'none'}")
        if len(self.graph.output) != 1:
            raise OnnxImportError(f"the graph must have exactly one output, it has {len(self.graph.output)}")
        x = inputs[0]
        tt = x.type.tensor_type
        if tt.elem_type != _FLOAT:
            type_name = self.onnx.TensorProto.DataType.Name(tt.elem_type) \
                if tt.elem_type in self.onnx.TensorProto.DataType.values() else f"element type {tt.elem_type}"
            raise OnnxImportError(f"the graph input '{x.name}' must be float32 (QuantizeLinear makes it int8), got "
                                  f"{type_name}")
        dims = list(tt.shape.dim)
        if len(dims) not in (2, 4):
            raise OnnxImportError(f"the graph input '{x.name}' must be (batch, features) or (batch, channels, height, "
                                  f"width), got {len(dims)} dimensions")
        shape = []
        for i, d in enumerate(dims[1:], start=1):
            if not d.HasField("dim_value") or d.dim_value < 1:
                raise OnnxImportError(f"dimension {i} of the graph input '{x.name}' must be a fixed size, got "
                                      f"{d.dim_param or d.dim_value!r}")
            shape.append(int(d.dim_value))
        return _State(x.name, "input", tuple(shape))

    def run(self) -> _State:
        st = self.input_state()
        self.input_shape = st.shape
        for index, node in enumerate(self.graph.node):
            if not node.name:
                node.name = f"#{index}"
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                self.constant(node)
                continue
            if node.domain not in ("", "ai.onnx"):
                raise OnnxImportError(f"operator {node.domain}.{node.op_type} (node '{node.name}') is not supported; "
                                      f"supported: {', '.join(SUPPORTED)} (the ai.onnx domain)")
            if node.op_type not in SUPPORTED:
                raise OnnxImportError(f"operator {node.op_type} (node '{node.name}') is not supported; supported: "
                                      f"{', '.join(SUPPORTED)}")
            act = [i for i, name in enumerate(node.input) if name == st.tensor]
            if not act:
                raise self.fail(node, f"does not read the previous layer's output '{st.tensor}'; only a single chain "
                                      "of layers is supported")
            if self.uses.get(st.tensor, 0) != 1:
                raise self.fail(node, f"tensor '{st.tensor}' is read {self.uses.get(st.tensor, 0)} times; only a "
                                      "single chain of layers is supported")
            outputs = [o for o in node.output if o]
            if len(outputs) != 1 or node.output[0] != outputs[0]:
                raise self.fail(node, "only the first output may be used")
            if node.op_type in ("Add", "Mul"):
                if len(node.input) != 2:
                    raise self.fail(node, "takes two inputs")
                st = self.apply(node, st, 1 - act[0])
            else:
                if act != [0]:
                    raise self.fail(node, "the previous layer's output must be its first input")
                for i, name in enumerate(node.input[1:], start=1):
                    if name and name not in self.consts:
                        raise self.fail(node, f"input {i} ('{name}') must be a constant (an initializer or a "
                                              "Constant node)")
                st = self.apply(node, st)
            st.tensor = outputs[0]
        out = self.graph.output[0].name
        if st.tensor != out:
            raise OnnxImportError(f"the graph output '{out}' is not the end of the chain of layers ('{st.tensor}')")
        if st.kind not in ("q", "dq"):
            raise OnnxImportError(f"the graph output '{out}' must be int8 values or their DequantizeLinear; the "
                                  "MatMulInteger pattern must end in QuantizeLinear" if st.kind != "input" else
                                  f"the graph output '{out}' is the float input: there are no layers")
        if len(st.shape) != 1:
            raise OnnxImportError(f"the graph output '{out}' must be a vector of class scores per case, got shape "
                                  f"{st.shape}; flatten it")
        return st

    def apply(self, node: Any, st: _State, *other: int) -> _State:
        """The node's operator on `st`. What no check of the operator names (an attribute of another type, a
        tensor of a shape no check foresaw) is still one OnnxImportError naming the node."""
        try:
            return getattr(self, "op_" + node.op_type)(node, st, *other)  # type: ignore[no-any-return]
        except OnnxImportError:
            raise
        except Exception as exc:
            raise self.fail(node, f"malformed ({_first_line(exc)})") from None

    def constant(self, node: Any) -> None:
        attrs = self.attrs(node, {"value": None})
        if attrs["value"] is None or len(node.output) != 1:
            raise self.fail(node, "only a Constant with a 'value' tensor is supported")
        if not isinstance(attrs["value"], self.onnx.TensorProto):
            raise self.fail(node, "only a Constant with a 'value' tensor is supported")
        self.consts[node.output[0]] = self.tensor(attrs["value"], f"the value of Constant (node '{node.name}')")

    # --- operators ---------------------------------------------------------------------------------------------

    def op_QuantizeLinear(self, node: Any, st: _State) -> _State:
        attrs = self.attrs(node, {"axis": 1, "saturate": 1, "block_size": 0, "output_dtype": 0})
        if attrs["block_size"]:
            raise self.fail(node, "blocked quantisation (block_size) is not supported")
        scale = float(self.scale(node, self.need(node, 1, "y_scale"), "y_scale")[0])
        zp_arr = self.const(node, 2, "y_zero_point", optional=True)
        if zp_arr is None and attrs["output_dtype"] not in (0, _UINT8, _INT8):
            raise self.fail(node, "output_dtype must be int8 or uint8")
        zp, unsigned = self.zero_point(node, zp_arr, "y_zero_point", default_unsigned=attrs["output_dtype"] != _INT8)
        if unsigned:
            self._note_unsigned()
        if st.kind == "input":
            self.input_qp = QParams(scale, zp)
            return _State(st.tensor, "q", st.shape, zp, scale, unsigned)
        if st.kind == "dq":
            if (scale, zp, unsigned) != (st.scale, st.zp, st.unsigned):
                raise self.fail(node, f"re-quantises to scale {scale:.6g} and zero point {zp} from {st.scale:.6g} and "
                                      f"{st.zp}; between DequantizeLinear and QuantizeLinear the scale, zero point and "
                                      "type must stay the same")
            return _State(st.tensor, "q", st.shape, zp, scale, unsigned)
        if st.kind in ("scaled", "biased"):
            p = st.pending
            out = p["weights"].shape[0]
            mul = p["mul"]
            reals = [Fraction(float(m)) / Fraction(scale) for m in mul]
            try:
                pairs = [quantize_multiplier(r) for r in reals]
            except ValueError as exc:
                raise self.fail(node, str(exc)) from None
            bias = p["bias"].astype(np.float64)
            if p["float_bias"] is not None:
                bias = bias + np.round(p["float_bias"] / np.broadcast_to(mul, (out,)))
            if np.abs(bias).max(initial=0) >= 2**31:
                raise self.fail(node, "the bias does not fit int32 at the accumulator's scale")
            per_channel = len(pairs) > 1
            self.add_weight_layer(
                LayerSpec(DENSE, out=out, weight_zp=p["weight_zp"], output_zp=zp, per_channel=per_channel),
                {"weights": p["weights"], "bias": bias.astype(np.int64),
                 "multiplier": np.array([m for m, _ in pairs]), "shift": np.array([s for _, s in pairs])},
                np.broadcast_to(np.array([float(r) for r in reals]), (out,)).copy())
            return _State(st.tensor, "q", (out,), zp, scale, unsigned)
        raise self.fail(node, "QuantizeLinear must quantise the float input, follow a DequantizeLinear, or end the "
                              "MatMulInteger pattern")

    def _note_unsigned(self) -> None:
        note = "uint8 tensors became int8 (values and zero points minus 128)"
        if note not in self.notes:
            self.notes.append(note)

    def op_DequantizeLinear(self, node: Any, st: _State) -> _State:
        attrs = self.attrs(node, {"axis": 1, "block_size": 0})
        if attrs["block_size"]:
            raise self.fail(node, "blocked quantisation (block_size) is not supported")
        if st.kind != "q":
            raise self.fail(node, "must read int8 values")
        scale = float(self.scale(node, self.need(node, 1, "x_scale"), "x_scale")[0])
        zp, unsigned = self.zero_point(node, self.const(node, 2, "x_zero_point", optional=True), "x_zero_point",
                                       default_unsigned=st.unsigned)
        self.check_input_zp(node, st, zp, unsigned, "x_zero_point")
        return _State(st.tensor, "dq", st.shape, zp, scale, unsigned)

    def op_QLinearConv(self, node: Any, st: _State) -> _State:
        attrs = self.attrs(node, {"auto_pad": "NOTSET", "dilations": None, "group": 1, "kernel_shape": None,
                                  "pads": None, "strides": None})
        if st.kind != "q":
            raise self.fail(node, "must read int8 values (QuantizeLinear first)")
        if len(st.shape) != 3:
            raise self.fail(node, f"takes (channels, height, width), got shape {st.shape}")
        w = self.need(node, 3, "w")
        if w.ndim != 4 or w.shape[1] != st.shape[0]:
            raise self.fail(node, f"weights w must be (out, {st.shape[0]}, kh, kw), got shape {w.shape}")
        out, _, kh, kw = (int(v) for v in w.shape)
        if attrs["group"] != 1:
            raise self.fail(node, f"group {attrs['group']} is not supported (only 1)")
        if attrs["dilations"] is not None and list(attrs["dilations"]) != [1, 1]:
            raise self.fail(node, f"dilations {list(attrs['dilations'])} are not supported (only 1)")
        if attrs["kernel_shape"] is not None and list(attrs["kernel_shape"]) != [kh, kw]:
            raise self.fail(node, f"kernel_shape {list(attrs['kernel_shape'])} is not the weights' {[kh, kw]}")
        pads = list(attrs["pads"]) if attrs["pads"] is not None else [0, 0, 0, 0]
        self._auto_pad(node, attrs["auto_pad"], pads)
        strides = list(attrs["strides"]) if attrs["strides"] is not None else [1, 1]
        if len(pads) != 4 or len(strides) != 2:
            raise self.fail(node, "pads must be 4 values and strides 2")
        if min(strides) < 1 or min(pads) < 0:
            raise self.fail(node, f"strides {strides} must be at least 1 and pads {pads} not negative")
        ops = self.qlinear(node, st, out, ("x", "w", "y"))
        b = self.const(node, 8, "B", optional=True)
        if b is not None and (b.dtype != np.int32 or b.shape != (out,)):
            raise self.fail(node, f"bias B must be int32 of shape ({out},), got {b.dtype} {b.shape}")
        layer = LayerSpec(CONV2D, out=out, kernel=(kh, kw), stride=(int(strides[0]), int(strides[1])),
                          pads=(int(pads[0]), int(pads[1]), int(pads[2]), int(pads[3])), weight_zp=ops.w_zp,
                          output_zp=ops.y_zp, per_channel=ops.per_channel)
        self.add_weight_layer(layer, {"weights": self.weights8(node, w, "weights w"),
                                      "bias": np.zeros(out, np.int64) if b is None else b.astype(np.int64),
                                      "multiplier": ops.multiplier, "shift": ops.shift}, ops.factors)
        if ops.unsigned or w.dtype == np.uint8:
            self._note_unsigned()
        _, h, wd = st.shape
        oh = (h + pads[0] + pads[2] - kh) // strides[0] + 1
        ow = (wd + pads[1] + pads[3] - kw) // strides[1] + 1
        return _State(st.tensor, "q", (out, oh, ow), ops.y_zp, ops.y_scale, ops.y_unsigned)

    def _auto_pad(self, node: Any, auto_pad: str, pads: list[int]) -> None:
        if auto_pad == "VALID" and not any(pads):
            return
        if auto_pad != "NOTSET":
            raise self.fail(node, f"auto_pad {auto_pad} is not supported (only NOTSET with explicit pads)")

    def _dense_input(self, node: Any, st: _State, b: npt.NDArray[Any], what: str) -> int:
        if st.kind != "q":
            raise self.fail(node, "must read int8 values (QuantizeLinear first)")
        if len(st.shape) != 1:
            raise self.fail(node, f"takes a vector per case, got shape {st.shape} (Flatten first)")
        if b.ndim != 2 or b.shape[0] != st.shape[0]:
            raise self.fail(node, f"{what} must be ({st.shape[0]}, out), got shape {b.shape}")
        return int(b.shape[1])

    def op_QLinearMatMul(self, node: Any, st: _State) -> _State:
        self.attrs(node, {})
        b = self.need(node, 3, "b")
        out = self._dense_input(node, st, b, "b")
        ops = self.qlinear(node, st, out, ("a", "b", "y"))
        layer = LayerSpec(DENSE, out=out, weight_zp=ops.w_zp, output_zp=ops.y_zp, per_channel=ops.per_channel)
        self.add_weight_layer(layer, {"weights": self.weights8(node, b, "b").T.copy(), "bias": np.zeros(out, np.int64),
                                      "multiplier": ops.multiplier, "shift": ops.shift}, ops.factors)
        if ops.unsigned or b.dtype == np.uint8:
            self._note_unsigned()
        return _State(st.tensor, "q", (out,), ops.y_zp, ops.y_scale, ops.y_unsigned)

    def op_MatMulInteger(self, node: Any, st: _State) -> _State:
        self.attrs(node, {})
        b = self.need(node, 1, "B")
        out = self._dense_input(node, st, b, "B")
        a_zp, a_unsigned = self.zero_point(node, self.const(node, 2, "a_zero_point", optional=True), "a_zero_point",
                                           default_unsigned=st.unsigned)
        self.check_input_zp(node, st, a_zp, a_unsigned, "a_zero_point")
        b_zp_arr = self.const(node, 3, "b_zero_point", optional=True)
        b_zp, _ = self.zero_point(node, b_zp_arr, "b_zero_point", out, default_unsigned=b.dtype == np.uint8)
        if a_unsigned or b.dtype == np.uint8:
            self._note_unsigned()
        pending = {"weights": self.weights8(node, b, "B").T.copy(), "weight_zp": b_zp, "bias": np.zeros(out, np.int64),
                   "mul": None, "float_bias": None, "int_bias": False}
        return _State(st.tensor, "acc", (out,), st.zp, st.scale, st.unsigned, pending)

    def _vector(self, node: Any, arr: npt.NDArray[Any], out: int, what: str) -> npt.NDArray[Any]:
        flat = arr.reshape(-1)
        if arr.ndim > 2 or flat.size not in (1, out) or (arr.ndim == 2 and arr.shape[0] != 1):
            raise self.fail(node, f"{what} must be a scalar or {out} values (one per output), got shape {arr.shape}")
        return np.broadcast_to(flat, (out,)).copy()

    def op_Add(self, node: Any, st: _State, other: int) -> _State:
        self.attrs(node, {})
        value = self.need(node, other, "the added constant")
        out = st.shape[0] if st.shape else 0
        p = st.pending
        if st.kind == "acc" and not p["int_bias"]:
            if value.dtype != np.int32:
                raise self.fail(node, f"the bias added to MatMulInteger's output must be int32, got {value.dtype}")
            p["bias"] = p["bias"] + self._vector(node, value, out, "the bias").astype(np.int64)
            p["int_bias"] = True
            return _State(st.tensor, "acc", st.shape, st.zp, st.scale, st.unsigned, p)
        if st.kind == "scaled":
            if value.dtype != np.float32:
                raise self.fail(node, f"the float bias must be float32, got {value.dtype}")
            p["float_bias"] = self._vector(node, value, out, "the bias").astype(np.float64)
            return _State(st.tensor, "biased", st.shape, st.zp, st.scale, st.unsigned, p)
        raise self.fail(node, "Add is supported only as a bias in the MatMulInteger pattern (int32 right after "
                              "MatMulInteger, or float32 after the Mul that scales it)")

    def op_Cast(self, node: Any, st: _State) -> _State:
        attrs = self.attrs(node, {"to": None, "saturate": 1, "round_mode": "up"})
        if st.kind != "acc" or attrs["to"] != _FLOAT:
            raise self.fail(node, "Cast is supported only to float32 right after MatMulInteger (and its int32 bias)")
        return _State(st.tensor, "accf", st.shape, st.zp, st.scale, st.unsigned, st.pending)

    def op_Mul(self, node: Any, st: _State, other: int) -> _State:
        self.attrs(node, {})
        if st.kind != "accf":
            raise self.fail(node, "Mul is supported only in the MatMulInteger pattern, scaling its float32 output")
        value = self.need(node, other, "the scale")
        if value.dtype != np.float32:
            raise self.fail(node, f"the scale must be float32, got {value.dtype}")
        mul = self._vector(node, value, st.shape[0], "the scale").astype(np.float64)
        if not (np.isfinite(mul).all() and (mul > 0).all()):
            raise self.fail(node, "the scale must be positive and finite")
        p = st.pending
        p["mul"] = mul if value.size > 1 else mul[:1]
        return _State(st.tensor, "scaled", st.shape, st.zp, st.scale, st.unsigned, p)

    def _pool(self, node: Any, st: _State, kind: int) -> _State:
        allowed = {"auto_pad": "NOTSET", "ceil_mode": 0, "dilations": None, "kernel_shape": None, "pads": None,
                   "strides": None}
        allowed.update({"storage_order": 0} if kind == MAXPOOL else {"count_include_pad": 0})
        attrs = self.attrs(node, allowed)
        if st.kind not in ("q", "dq"):
            raise self.fail(node, "must read int8 values or their DequantizeLinear")
        if len(st.shape) != 3:
            raise self.fail(node, f"takes (channels, height, width), got shape {st.shape}")
        if attrs["kernel_shape"] is None or len(attrs["kernel_shape"]) != 2:
            raise self.fail(node, "kernel_shape must be 2 values")
        kh, kw = (int(v) for v in attrs["kernel_shape"])
        strides = [int(v) for v in attrs["strides"]] if attrs["strides"] is not None else [1, 1]
        pads = list(attrs["pads"]) if attrs["pads"] is not None else [0, 0, 0, 0]
        if any(pads):
            raise self.fail(node, f"pads {pads} are not supported (pooling has no padding on the chain)")
        self._auto_pad(node, attrs["auto_pad"], pads)
        if attrs["dilations"] is not None and list(attrs["dilations"]) != [1, 1]:
            raise self.fail(node, f"dilations {list(attrs['dilations'])} are not supported (only 1)")
        if len(strides) != 2:
            raise self.fail(node, "strides must be 2 values")
        if min(strides) < 1 or min(kh, kw) < 1:
            raise self.fail(node, f"strides {strides} and kernel_shape {[kh, kw]} must be at least 1")
        c, h, w = st.shape
        if kh > h or kw > w:
            raise self.fail(node, f"a kernel of {[kh, kw]} does not fit the input {[h, w]}")
        if attrs["ceil_mode"] and ((h - kh) % strides[0] or (w - kw) % strides[1]):
            raise self.fail(node, "ceil_mode 1 is not supported where the windows do not tile the input exactly")
        # count_include_pad only matters with padding, which is refused above
        self.layers.append(LayerSpec(kind, kernel=(kh, kw), stride=(strides[0], strides[1])))
        if kind == AVGPOOL:
            note = "AveragePool rounds half up on the chain (ONNX's QuantizeLinear after it rounds half to even)"
            if note not in self.notes:
                self.notes.append(note)
        return _State(st.tensor, st.kind, (c, (h - kh) // strides[0] + 1, (w - kw) // strides[1] + 1), st.zp,
                      st.scale, st.unsigned)

    def op_MaxPool(self, node: Any, st: _State) -> _State:
        return self._pool(node, st, MAXPOOL)

    def op_AveragePool(self, node: Any, st: _State) -> _State:
        return self._pool(node, st, AVGPOOL)

    def op_Relu(self, node: Any, st: _State) -> _State:
        self.attrs(node, {})
        if st.kind == "q":
            if st.unsigned or st.zp != 0:
                zp = st.zp + (128 if st.unsigned else 0)
                raise self.fail(node, f"Relu on a quantised {'uint8' if st.unsigned else 'int8'} tensor with zero "
                                      f"point {zp} computes max(q, 0), not a ReLU of the real values; put it between "
                                      "DequantizeLinear and QuantizeLinear, or fold it into the quantisation range")
        elif st.kind != "dq":
            raise self.fail(node, "must read int8 values or their DequantizeLinear")
        self.layers.append(LayerSpec(RELU))
        return _State(st.tensor, st.kind, st.shape, st.zp, st.scale, st.unsigned)

    def _flatten(self, st: _State) -> _State:
        if len(st.shape) == 3:
            self.layers.append(LayerSpec(FLATTEN))
        return _State(st.tensor, st.kind, (int(np.prod(st.shape)),), st.zp, st.scale, st.unsigned)

    def op_Flatten(self, node: Any, st: _State) -> _State:
        attrs = self.attrs(node, {"axis": 1})
        if attrs["axis"] != 1:
            raise self.fail(node, f"axis {attrs['axis']} is not supported (only 1: one vector per case)")
        if st.kind not in ("q", "dq"):
            raise self.fail(node, "must read int8 values or their DequantizeLinear")
        return self._flatten(st)

    def op_Reshape(self, node: Any, st: _State) -> _State:
        attrs = self.attrs(node, {"allowzero": 0})
        if attrs["allowzero"]:
            raise self.fail(node, "allowzero 1 is not supported")
        if st.kind not in ("q", "dq"):
            raise self.fail(node, "must read int8 values or their DequantizeLinear")
        target = [int(v) for v in self.need(node, 1, "shape").reshape(-1)]
        size = int(np.prod(st.shape))
        if len(target) != 2 or target[0] not in (0, 1, -1) or target[1] not in (-1, size) or target == [-1, -1]:
            raise self.fail(node, f"a reshape to {target} is not a flatten to (batch, {size}); only that is supported")
        return self._flatten(st)


def _first_line(exc: BaseException) -> str:
    """`Type: first line of the message`, for an error from onnx or numpy retold in one line."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def load_onnx(path: Path) -> Any:
    """The ONNX model in `path`, checked by onnx's checker; OnnxImportError if it is not one."""
    onnx = _onnx()
    if not path.is_file():
        raise OnnxImportError(f"{path}: no such file")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # onnx raises DecodeError, ValueError, ... from protobuf
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "cannot parse it"
        raise OnnxImportError(f"{path}: not an ONNX model ({first})") from None
    if not model.graph.node and not model.graph.input:
        raise OnnxImportError(f"{path}: not an ONNX model (no graph)")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxImportError(f"{path}: not a valid ONNX model ({first})") from None
    return model


def _props(model: Any) -> tuple[tuple[str, ...] | None, dict[str, Any] | None]:
    """Class labels and blob metadata from the model's metadata_props ("labels", "btt.metadata"), if valid."""
    props = {p.key: p.value for p in model.metadata_props}
    labels: tuple[str, ...] | None = None
    metadata: dict[str, Any] | None = None
    try:
        value = json.loads(props.get(LABELS_KEY, "null"))
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            labels = tuple(value)
        value = json.loads(props.get(METADATA_KEY, "null"))
        if isinstance(value, dict):
            metadata = value
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise OnnxImportError(f"the model's metadata_props '{LABELS_KEY}' and '{METADATA_KEY}' must be JSON (nested "
                              "no deeper than the parser goes)") from None
    return labels, metadata


def import_onnx_model(model: Any, name: str, labels: tuple[str, ...] | None = None,
                      metadata: dict[str, Any] | None = None) -> Imported:
    """The chain's model of an ONNX ModelProto (see the module docstring); OnnxImportError naming what is not
    supported. Labels and metadata default to the model's metadata_props ("labels", "btt.metadata"). Any other
    failure on a malformed graph is an OnnxImportError too, never a traceback."""
    try:
        return _import_model(model, name, labels, metadata)
    except ModelImportError:
        raise
    except Exception as exc:  # a malformed graph that no check names (the checks name what they foresee)
        raise OnnxImportError(f"malformed ONNX model ({_first_line(exc)})") from None


def _import_model(model: Any, name: str, labels: tuple[str, ...] | None,
                  metadata: dict[str, Any] | None) -> Imported:
    imp = _Importer(model)
    imp.run()
    if not any(layer.kind in (DENSE, CONV2D) for layer in imp.layers):
        raise OnnxImportError("the graph has no QLinearConv, QLinearMatMul or MatMulInteger layer")
    assert imp.input_qp is not None
    file_labels, file_metadata = _props(model)
    labels = labels if labels is not None else file_labels or ()
    metadata = metadata if metadata is not None else file_metadata
    spec = ModelSpec(name, imp.input_shape, imp.input_qp.zero_point, tuple(imp.layers), labels, bytes(32), 0)
    parsed, blob = build(spec, imp.params, metadata)
    reference: FloatReference = float_semantics(parsed, imp.input_qp, imp.factors)
    return Imported(parsed, blob, imp.input_qp, reference, tuple(imp.notes), "the ONNX graph in float semantics")


def import_onnx(path: Path, name: str | None = None, labels: tuple[str, ...] | None = None,
                metadata: dict[str, Any] | None = None) -> Imported:
    """The chain's model of the ONNX file at `path` (name defaults to the graph's file stem)."""
    model = load_onnx(path)
    return import_onnx_model(model, name or path.name.removesuffix(".onnx"), labels, metadata)


def onnx_reference(path_or_model: Any) -> FloatReference:
    """The ONNX graph's own outputs through onnx's reference evaluator (its quantised semantics), case by case."""
    onnx = _onnx()
    from onnx.reference import ReferenceEvaluator

    model = path_or_model if not isinstance(path_or_model, (str, Path)) else onnx.load(str(path_or_model))
    try:
        session = ReferenceEvaluator(model)
    except Exception:  # an opset whose operators the evaluator lacks: try the oldest it has for them all
        try:
            session = ReferenceEvaluator(onnx.version_converter.convert_version(model, REFERENCE_OPSET))
        except Exception as exc:
            raise OnnxImportError(f"onnx's reference evaluator cannot run this model ({str(exc).splitlines()[0]})") \
                from None
    input_name = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}][0]

    def run(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        rows = []
        for i in range(len(x)):
            outputs: Any = session.run(None, {input_name: x[i:i + 1].astype(np.float32)})
            rows.append(np.asarray(outputs[0], dtype=np.float64))
        return np.concatenate(rows).reshape(len(x), -1) if rows else np.zeros((0, 0))

    return run
