"""Models of the compute marketplace: an architecture spec plus a trained weights blob.

A model is identified by `model_hash(spec)`: the hash of its spec, which carries the weights blob's hash
(`weights_hash`) and size, so the id covers both. The spec (small: layers, shapes, zero points, class labels) is
in the chain's state; the blob (weights, biases, requantisation multipliers and shifts, and a metadata section)
lives outside it, in each node's content store, and travels between nodes by `weights_hash`.

Blob layout (all little-endian, no padding), for each weight layer (dense, conv2d) in order:
  weights     int8   dense (out, in); conv2d (out_channels, in_channels, kernel_h, kernel_w), row-major
  bias        int32  (out,)
  multiplier  int32  (out,) if the layer is per-channel, else (1,); each 0 <= m < 2**31
  shift       uint8  as many as multipliers; each 0 <= s <= MAX_SHIFT
then a u32 length L and L bytes of UTF-8 JSON (an object; L may be 0): metadata for people and tools (input
preprocessing, accuracy), never read on the verification path. The blob's size is exactly that.

`weights_hash(blob)` and its chunks are `btt_chain.primitives.weights_chunks`' (the node's content store uses them
too, below the runtime).

The arithmetic of every layer is in `runtime.compute.inference` and, with test vectors, in docs/models.md.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from btt_chain.primitives.codec import BOOL, HASH, U8, U16, U64, Field, ListOf, Nested, Struct, Text
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import HASH_LEN
from btt_chain.primitives.weights_chunks import MAX_WEIGHTS_BYTES as MAX_WEIGHTS_BYTES
from btt_chain.primitives.weights_chunks import WEIGHTS_CHUNK as WEIGHTS_CHUNK
from btt_chain.primitives.weights_chunks import chunk_hashes as chunk_hashes
from btt_chain.primitives.weights_chunks import weights_hash as weights_hash
from btt_chain.primitives.weights_chunks import weights_hash_of_chunks as weights_hash_of_chunks

if TYPE_CHECKING:
    from ..metadata.registry import Registry

DENSE, CONV2D, MAXPOOL, AVGPOOL, RELU, FLATTEN = range(6)
LAYER_KINDS = ("dense", "conv2d", "maxpool", "avgpool", "relu", "flatten")
WEIGHT_KINDS = (DENSE, CONV2D)
POOL_KINDS = (MAXPOOL, AVGPOOL)

MAX_LAYERS = 32
"""Layers a spec may list."""
MAX_DIM = 4096
"""The most features, channels, rows or columns of any activation."""
MAX_KERNEL = 16
"""The largest kernel side of a convolution or pooling."""
MAX_STRIDE = 16
MAX_PAD = 16
MAX_INPUT_BYTES = 1024
"""One input item is one int8 per input value; a job's items are at most this many bytes (MAX_ITEM_BYTES)."""
MAX_CLASSES = 256
"""The final layer's width: the output item is its argmax (one byte) followed by its int8 logits."""
MAX_MACS_PER_ITEM = 1 << 23
"""Multiply-accumulates one item may cost (8,388,608): what every node re-executes on import is bounded."""
MAX_ACTIVATION = 1 << 16
"""Values in any intermediate activation (65,536): what one item holds in memory at once is bounded."""
MAX_SHIFT = 62
"""The largest requantisation shift."""
MULTIPLIER_LIMIT = 1 << 31
"""Requantisation multipliers are 0 <= m < 2**31."""
MAX_NAME_LEN = 64
MAX_LABEL_LEN = 32
MAX_METADATA_BYTES = 64 * 1024

Shape = tuple[int, ...]
Int8Array = npt.NDArray[np.int8]
Int32Array = npt.NDArray[np.int32]


class ZeroPoint(Field):
    """An int8 zero point: SCALE `i8`, its two's-complement byte (in the msgpack wire form the byte as 0 to 255, -1 is
    255, since `codec.unpack` refuses negative integers)."""

    name = "zero point"

    def to_wire(self, value: Any) -> Any:
        if type(value) is not int or not -128 <= value <= 127:
            raise DecodeError(f"a zero point must be -128 to 127, got {value!r}")
        return value & 0xFF

    def from_wire(self, wire: Any) -> Any:
        if type(wire) is not int or not 0 <= wire <= 255:
            raise DecodeError(f"a zero point is carried as a byte (0 to 255), got {wire!r}")
        return wire - 256 if wire >= 128 else wire

    def encode_scale(self, value: Any) -> bytes:
        return bytes((self.to_wire(value),))

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        if pos >= len(data):
            raise DecodeError("expected a zero point, found the end of the input")
        wire = data[pos]
        return (wire - 256 if wire >= 128 else wire), pos + 1

    SCALE_TYPE_NAME = "i8"

    def scale_type(self, reg: Registry) -> int:
        """Its type in the metadata (`runtime.metadata.types`): `i8`."""
        return reg.primitive("i8")


ZP = ZeroPoint()


@dataclass(frozen=True)
class LayerSpec(Struct):
    """One layer. Weight layers (dense, conv2d) have parameters in the blob; the others have none.

    dense:   input (n,) -> (out,)
    conv2d:  input (c, h, w) -> (out, h', w'), kernel (kh, kw), stride (sh, sw), pads (top, left, bottom, right)
             filled with the input's zero point
    maxpool, avgpool: input (c, h, w) -> (c, h', w'), kernel, stride; no padding
    relu:    same shape: max(x, the input's zero point)
    flatten: (c, h, w) -> (c*h*w,) in channel-major order (as ONNX's NCHW)
    """

    kind: int
    out: int = 0
    """dense: output features; conv2d: output channels; 0 for other kinds."""
    kernel: tuple[int, ...] = ()
    """(kernel_h, kernel_w) for conv2d and pools, else ()."""
    stride: tuple[int, ...] = ()
    """(stride_h, stride_w) for conv2d and pools, else ()."""
    pads: tuple[int, ...] = ()
    """(top, left, bottom, right) for conv2d, else ()."""
    weight_zp: int = 0
    """Weight layers: the zero point of the int8 weights (one per tensor)."""
    output_zp: int = 0
    """Weight layers: the zero point of the int8 output; other layers keep their input's zero point."""
    per_channel: bool = False
    """Weight layers: one requantisation multiplier and shift per output channel, else one for the layer."""
    WIRE = (
        ("kind", U8),
        ("out", U16),
        ("kernel", ListOf(U8, 2)),
        ("stride", ListOf(U8, 2)),
        ("pads", ListOf(U8, 4)),
        ("weight_zp", ZP),
        ("output_zp", ZP),
        ("per_channel", BOOL),
    )


@dataclass(frozen=True)
class ModelSpec(Struct):
    """What a model is: its architecture and quantisation, its class labels, and its weights blob by hash."""

    name: str
    """Human-readable name, e.g. "breast-cancer-v1"."""
    input_shape: tuple[int, ...]
    """(features,) or (channels, height, width): one input item is their product of int8 values, row-major."""
    input_zp: int
    """The zero point of the int8 input."""
    layers: tuple[LayerSpec, ...]
    labels: tuple[str, ...]
    """Class names in logit order (one per output), or () for unnamed classes."""
    weights_hash: bytes
    weights_size: int
    WIRE = (
        ("name", Text(MAX_NAME_LEN)),
        ("input_shape", ListOf(U16, 3)),
        ("input_zp", ZP),
        ("layers", ListOf(Nested(LayerSpec), MAX_LAYERS)),
        ("labels", ListOf(Text(MAX_LABEL_LEN), MAX_CLASSES)),
        ("weights_hash", HASH),
        ("weights_size", U64),
    )


@dataclass(frozen=True, eq=False)
class LayerParams:
    """A weight layer's parameters, read-only: weights int8, bias int32, multiplier int64 (values < 2**31),
    shift int64 (values <= MAX_SHIFT); multiplier and shift have one entry per output channel or one in all."""

    weights: Int8Array
    bias: Int32Array
    multiplier: npt.NDArray[np.int64]
    shift: npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Model:
    """A spec with its parsed blob: `params[i]` is layer i's LayerParams (None for layers without weights)."""

    spec: ModelSpec
    params: tuple[LayerParams | None, ...]
    metadata: dict[str, Any] = field(default_factory=dict)


class UnknownModel(KeyError):
    """No reference model has this name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown model"


# --- shapes and costs ----------------------------------------------------------------------------------------


def _window(size: int, kernel: int, stride: int, before: int, after: int) -> int:
    span = size + before + after - kernel
    if span < 0:
        raise ValueError(f"a kernel of {kernel} does not fit an input of {size} (padded {before}+{after})")
    return span // stride + 1


def layer_output_shape(layer: LayerSpec, shape: Shape) -> Shape:
    """The activation shape after `layer` given its input `shape`; ValueError if the layer does not fit."""
    kind = layer.kind
    if kind == DENSE:
        if len(shape) != 1:
            raise ValueError(f"dense takes a vector, got shape {shape} (flatten first)")
        return (layer.out,)
    if kind in (CONV2D, MAXPOOL, AVGPOOL):
        if len(shape) != 3:
            raise ValueError(f"{LAYER_KINDS[kind]} takes (channels, height, width), got shape {shape}")
        c, h, w = shape
        kh, kw = layer.kernel
        sh, sw = layer.stride
        top, left, bottom, right = layer.pads if kind == CONV2D else (0, 0, 0, 0)
        return (layer.out if kind == CONV2D else c, _window(h, kh, sh, top, bottom), _window(w, kw, sw, left, right))
    if kind == RELU:
        return shape
    if kind == FLATTEN:
        return (math.prod(shape),)
    raise ValueError(f"unknown layer kind {kind}")


def shapes(spec: ModelSpec) -> list[Shape]:
    """The activation shapes: the input's, then each layer's output (unchecked beyond fitting)."""
    out = [tuple(spec.input_shape)]
    for layer in spec.layers:
        out.append(layer_output_shape(layer, out[-1]))
    return out


def layer_macs(layer: LayerSpec, in_shape: Shape, out_shape: Shape) -> int:
    """Multiply-accumulates of one item through `layer` (pools count one per window element)."""
    if layer.kind == DENSE:
        return in_shape[0] * layer.out
    if layer.kind == CONV2D:
        return math.prod(out_shape) * in_shape[0] * layer.kernel[0] * layer.kernel[1]
    if layer.kind in POOL_KINDS:
        return math.prod(out_shape) * layer.kernel[0] * layer.kernel[1]
    return math.prod(out_shape)


def macs_per_item(spec: ModelSpec) -> int:
    """Multiply-accumulates one input item costs through the whole model."""
    dims = shapes(spec)
    return sum(layer_macs(layer, dims[i], dims[i + 1]) for i, layer in enumerate(spec.layers))


def weight_layer_count(spec: ModelSpec) -> int:
    return sum(1 for layer in spec.layers if layer.kind in WEIGHT_KINDS)


def input_bytes(spec: ModelSpec) -> int:
    """The size of one input item: one int8 per input value."""
    return math.prod(spec.input_shape)


def classes(spec: ModelSpec) -> int:
    """The final layer's width."""
    return shapes(spec)[-1][0]


def output_bytes(spec: ModelSpec) -> int:
    """The size of one output item: the argmax byte and one int8 logit per class."""
    return 1 + classes(spec)


# --- the blob's layout ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorSlot:
    """Where one tensor of one weight layer sits in the blob."""

    layer: int
    name: str
    """"weights", "bias", "multiplier" or "shift"."""
    dtype: np.dtype[Any]
    shape: Shape
    offset: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


WEIGHT_DTYPE = np.dtype("<i1")
BIAS_DTYPE = np.dtype("<i4")
MULTIPLIER_DTYPE = np.dtype("<i4")
SHIFT_DTYPE = np.dtype("<u1")


def tensor_layout(spec: ModelSpec) -> list[TensorSlot]:
    """Every tensor of the blob in order, with its offset (the metadata section follows the last)."""
    dims = shapes(spec)
    slots: list[TensorSlot] = []
    offset = 0
    for i, layer in enumerate(spec.layers):
        if layer.kind not in WEIGHT_KINDS:
            continue
        in_shape = dims[i]
        w_shape = (layer.out, in_shape[0]) if layer.kind == DENSE else (layer.out, in_shape[0], *layer.kernel)
        n_scale = layer.out if layer.per_channel else 1
        for name, dtype, shape in (("weights", WEIGHT_DTYPE, w_shape), ("bias", BIAS_DTYPE, (layer.out,)),
                                   ("multiplier", MULTIPLIER_DTYPE, (n_scale,)), ("shift", SHIFT_DTYPE, (n_scale,))):
            slot = TensorSlot(i, name, dtype, tuple(shape), offset)
            slots.append(slot)
            offset += slot.nbytes
    return slots


def tensor_bytes(spec: ModelSpec) -> int:
    """Bytes of the blob before its metadata section."""
    layout = tensor_layout(spec)
    return layout[-1].offset + layout[-1].nbytes if layout else 0


# --- validation ----------------------------------------------------------------------------------------------


def _check_int(value: Any, lo: int, hi: int, what: str) -> None:
    if type(value) is not int or not lo <= value <= hi:
        raise ValueError(f"{what} must be an integer from {lo} to {hi}, got {value!r}")


def _check_layer(i: int, layer: LayerSpec) -> None:
    where = f"layer {i}"
    _check_int(layer.kind, 0, len(LAYER_KINDS) - 1, f"{where} kind")
    where = f"layer {i} ({LAYER_KINDS[layer.kind]})"
    kind = layer.kind
    weighted = kind in WEIGHT_KINDS
    windowed = kind in (CONV2D, MAXPOOL, AVGPOOL)
    if type(layer.per_channel) is not bool:
        raise ValueError(f"{where} per_channel must be true or false")
    if weighted:
        _check_int(layer.out, 1, MAX_DIM, f"{where} output width")
        _check_int(layer.weight_zp, -128, 127, f"{where} weight zero point")
        _check_int(layer.output_zp, -128, 127, f"{where} output zero point")
    elif layer.out or layer.weight_zp or layer.output_zp or layer.per_channel:
        raise ValueError(f"{where} takes no output width, zero points or per-channel flag")
    if windowed:
        if len(layer.kernel) != 2 or len(layer.stride) != 2:
            raise ValueError(f"{where} needs a kernel and a stride of 2 values each")
        for v in layer.kernel:
            _check_int(v, 1, MAX_KERNEL, f"{where} kernel side")
        for v in layer.stride:
            _check_int(v, 1, MAX_STRIDE, f"{where} stride")
    elif layer.kernel or layer.stride:
        raise ValueError(f"{where} takes no kernel or stride")
    if kind == CONV2D:
        if len(layer.pads) != 4:
            raise ValueError(f"{where} needs 4 pads (top, left, bottom, right)")
        for v in layer.pads:
            _check_int(v, 0, MAX_PAD, f"{where} pad")
    elif layer.pads:
        raise ValueError(f"{where} takes no pads")


def validate_spec(spec: ModelSpec) -> None:
    """Raise ValueError unless `spec` describes a model that fits every limit (shapes, work, sizes)."""
    if not isinstance(spec.name, str) or not spec.name or len(spec.name) > MAX_NAME_LEN or not spec.name.isprintable():
        raise ValueError(f"model name must be 1 to {MAX_NAME_LEN} printable characters")
    shape = tuple(spec.input_shape)
    if len(shape) not in (1, 3):
        raise ValueError(f"the input shape is (features,) or (channels, height, width), got {shape}")
    for v in shape:
        _check_int(v, 1, MAX_DIM, "an input dimension")
    if math.prod(shape) > MAX_INPUT_BYTES:
        raise ValueError(f"an input item is at most {MAX_INPUT_BYTES} values, got {math.prod(shape)}")
    _check_int(spec.input_zp, -128, 127, "the input zero point")
    if not spec.layers:
        raise ValueError("a model needs at least one layer")
    if len(spec.layers) > MAX_LAYERS:
        raise ValueError(f"a model has at most {MAX_LAYERS} layers, got {len(spec.layers)}")
    for i, layer in enumerate(spec.layers):
        if not isinstance(layer, LayerSpec):
            raise ValueError(f"layer {i} is not a layer")
        _check_layer(i, layer)
    if all(layer.kind not in WEIGHT_KINDS for layer in spec.layers):
        raise ValueError("a model needs at least one dense or conv2d layer")
    for i, layer in enumerate(spec.layers):
        try:
            nxt = layer_output_shape(layer, shape)
        except ValueError as exc:
            raise ValueError(f"layer {i} ({LAYER_KINDS[layer.kind]}): {exc}") from None
        for v in nxt:
            if not 1 <= v <= MAX_DIM:
                raise ValueError(f"layer {i} ({LAYER_KINDS[layer.kind]}) makes a dimension of {v} "
                                 f"(1 to {MAX_DIM} allowed)")
        if math.prod(nxt) > MAX_ACTIVATION:
            raise ValueError(f"layer {i} ({LAYER_KINDS[layer.kind]}) makes {math.prod(nxt)} values (at most "
                             f"{MAX_ACTIVATION})")
        shape = nxt
    if len(shape) != 1:
        raise ValueError(f"the last layer must give a vector of class scores, got shape {shape} (flatten it)")
    if not 1 <= shape[0] <= MAX_CLASSES:
        raise ValueError(f"a model has 1 to {MAX_CLASSES} classes, got {shape[0]}")
    if spec.labels and len(spec.labels) != shape[0]:
        raise ValueError(f"{len(spec.labels)} labels for {shape[0]} classes")
    for label in spec.labels:
        if not isinstance(label, str) or not 1 <= len(label) <= MAX_LABEL_LEN or not label.isprintable():
            raise ValueError(f"class labels are 1 to {MAX_LABEL_LEN} printable characters, got {label!r}")
    macs = macs_per_item(spec)
    if macs > MAX_MACS_PER_ITEM:
        raise ValueError(f"one item costs {macs:,} multiply-accumulates (at most {MAX_MACS_PER_ITEM:,})")
    if type(spec.weights_hash) is not bytes or len(spec.weights_hash) != HASH_LEN:
        raise ValueError(f"the weights hash must be {HASH_LEN} bytes")
    least = tensor_bytes(spec) + 4
    if least > MAX_WEIGHTS_BYTES:
        raise ValueError(f"the weights take {least:,} bytes with the metadata length (at most {MAX_WEIGHTS_BYTES:,})")
    _check_int(spec.weights_size, least, min(MAX_WEIGHTS_BYTES, least + MAX_METADATA_BYTES),
               "the weights size (tensors, then a 4-byte metadata length and the metadata)")


# --- hashes, blobs -------------------------------------------------------------------------------------------


def model_hash(spec: ModelSpec) -> bytes:
    """A model's id: blake2b-256 of its spec's canonical encoding (which holds the weights hash and size)."""
    return spec.hash()


def encode_weights(spec: ModelSpec, params: dict[int, dict[str, Any]], metadata: dict[str, Any] | None = None) -> bytes:
    """The blob of `spec` (its weights hash and size are ignored) from per-layer tensors: `params[i]` maps
    "weights", "bias", "multiplier", "shift" to integer arrays of the layout's shapes. ValueError on a wrong
    shape or a value out of range."""
    parts = []
    for slot in tensor_layout(spec):
        given = params.get(slot.layer, {}).get(slot.name)
        if given is None:
            raise ValueError(f"layer {slot.layer} has no {slot.name}")
        arr = np.asarray(given)
        if arr.dtype.kind not in "iu":
            raise ValueError(f"layer {slot.layer} {slot.name} must be integers, got {arr.dtype}")
        if tuple(arr.shape) != slot.shape:
            raise ValueError(f"layer {slot.layer} {slot.name} must have shape {slot.shape}, got {tuple(arr.shape)}")
        lo, hi = _range(slot.name)
        if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
            raise ValueError(f"layer {slot.layer} {slot.name} values must be {lo} to {hi}")
        parts.append(np.ascontiguousarray(arr.astype(slot.dtype)).tobytes())
    meta = json.dumps(metadata or {}, sort_keys=True, separators=(",", ":")).encode() if metadata else b""
    if len(meta) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata of {len(meta)} bytes is over {MAX_METADATA_BYTES}")
    return b"".join(parts) + struct.pack("<I", len(meta)) + meta


def _range(name: str) -> tuple[int, int]:
    return {"weights": (-128, 127), "bias": (-(2**31), 2**31 - 1), "multiplier": (0, MULTIPLIER_LIMIT - 1),
            "shift": (0, MAX_SHIFT)}[name]


def with_weights(spec: ModelSpec, blob: bytes) -> ModelSpec:
    """`spec` naming `blob` as its weights."""
    return spec.replace(weights_hash=weights_hash(blob), weights_size=len(blob))


def parse_weights(spec: ModelSpec, blob: bytes) -> Model:
    """The model of a valid `spec` and its blob; ValueError if the blob is not the spec's (hash, size, layout,
    value ranges, metadata)."""
    if len(blob) != spec.weights_size:
        raise ValueError(f"the weights are {len(blob)} bytes, the spec says {spec.weights_size}")
    if weights_hash(blob) != spec.weights_hash:
        raise ValueError("the weights do not match the spec's weights hash")
    layout = tensor_layout(spec)
    end = tensor_bytes(spec)
    (meta_len,) = struct.unpack_from("<I", blob, end)
    if end + 4 + meta_len != len(blob):
        raise ValueError(f"the metadata section says {meta_len} bytes, the blob has {len(blob) - end - 4} after the "
                         "tensors")
    metadata: dict[str, Any] = {}
    if meta_len:
        try:
            metadata = json.loads(blob[end + 4:].decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):  # 64 KiB of "[" nests too deep for json
            raise ValueError("the metadata section is not UTF-8 JSON") from None
        if not isinstance(metadata, dict):
            raise ValueError("the metadata section must be a JSON object")
    tensors: dict[int, dict[str, np.ndarray]] = {}
    for slot in layout:
        arr = np.frombuffer(blob, dtype=slot.dtype, count=math.prod(slot.shape), offset=slot.offset).reshape(slot.shape)
        lo, hi = _range(slot.name)
        if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
            raise ValueError(f"layer {slot.layer} {slot.name} values must be {lo} to {hi}")
        tensors.setdefault(slot.layer, {})[slot.name] = arr
    params: list[LayerParams | None] = []
    for i in range(len(spec.layers)):
        t = tensors.get(i)
        if t is None:
            params.append(None)
            continue
        p = LayerParams(t["weights"].astype(np.int8), t["bias"].astype(np.int32), t["multiplier"].astype(np.int64),
                        t["shift"].astype(np.int64))
        for arr in (p.weights, p.bias, p.multiplier, p.shift):
            arr.setflags(write=False)
        params.append(p)
    return Model(spec, tuple(params), metadata)

