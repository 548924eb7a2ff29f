"""A model spec as JSON, the form people and tools read and write (`NAME.model.json` beside `NAME.weights`):

{"name": "breast-cancer-v1", "inputShape": [30], "inputZeroPoint": 0,
 "layers": [{"kind": "dense", "out": 16, "weightZeroPoint": 0, "outputZeroPoint": -128, "perChannel": true},
            {"kind": "relu"}, ...,
            {"kind": "conv2d", "out": 8, "kernel": [3, 3], "stride": [1, 1], "pads": [1, 1, 1, 1], ...},
            {"kind": "maxpool", "kernel": [2, 2], "stride": [2, 2]}, {"kind": "flatten"}],
 "labels": ["malignant", "benign"], "weightsHash": "0x...", "weightsSize": 1234}

Keys a layer kind does not take are refused, as are unknown keys; `modelHash` may be given and must then match.
"""

from __future__ import annotations

from typing import Any

from ..compute.model import (
    CONV2D,
    LAYER_KINDS,
    POOL_KINDS,
    WEIGHT_KINDS,
    LayerSpec,
    ModelSpec,
    model_hash,
    validate_spec,
)

_LAYER_KEYS = {"kind", "out", "kernel", "stride", "pads", "weightZeroPoint", "outputZeroPoint", "perChannel"}
_SPEC_KEYS = {"name", "inputShape", "inputZeroPoint", "layers", "labels", "weightsHash", "weightsSize", "modelHash"}


def layer_to_json(layer: LayerSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": LAYER_KINDS[layer.kind]}
    if layer.kind in WEIGHT_KINDS:
        out["out"] = layer.out
    if layer.kernel:
        out["kernel"], out["stride"] = list(layer.kernel), list(layer.stride)
    if layer.pads:
        out["pads"] = list(layer.pads)
    if layer.kind in WEIGHT_KINDS:
        out.update(weightZeroPoint=layer.weight_zp, outputZeroPoint=layer.output_zp, perChannel=layer.per_channel)
    return out


def spec_to_json(spec: ModelSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "inputShape": list(spec.input_shape),
        "inputZeroPoint": spec.input_zp,
        "layers": [layer_to_json(layer) for layer in spec.layers],
        "labels": list(spec.labels),
        "weightsHash": "0x" + spec.weights_hash.hex(),
        "weightsSize": spec.weights_size,
        "modelHash": "0x" + model_hash(spec).hex(),
    }


def _ints(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(type(v) is int for v in value):
        raise ValueError(f"{what} must be a list of integers")
    return tuple(value)


def layer_from_json(value: Any, i: int) -> LayerSpec:
    if not isinstance(value, dict):
        raise ValueError(f"layer {i} must be an object")
    unknown = sorted(set(value) - _LAYER_KEYS)
    if unknown:
        raise ValueError(f"layer {i}: unknown key {unknown[0]!r}")
    kind_name = value.get("kind")
    if kind_name not in LAYER_KINDS:
        raise ValueError(f"layer {i}: kind must be one of {', '.join(LAYER_KINDS)}, got {kind_name!r}")
    kind = LAYER_KINDS.index(kind_name)
    windowed = kind == CONV2D or kind in POOL_KINDS
    per_channel = value.get("perChannel", False)
    if type(per_channel) is not bool:
        raise ValueError(f"layer {i}: perChannel must be true or false")
    fields: dict[str, Any] = {"kind": kind, "per_channel": per_channel}
    for key, attr in (("out", "out"), ("weightZeroPoint", "weight_zp"), ("outputZeroPoint", "output_zp")):
        v = value.get(key, 0)
        if type(v) is not int:
            raise ValueError(f"layer {i}: {key} must be an integer")
        fields[attr] = v
    if windowed:
        fields["kernel"] = _ints(value.get("kernel"), f"layer {i}: kernel")
        fields["stride"] = _ints(value.get("stride", [1, 1]), f"layer {i}: stride")
    else:
        for key in ("kernel", "stride"):
            if key in value:
                raise ValueError(f"layer {i}: a {kind_name} layer takes no {key}")
    if kind == CONV2D:
        fields["pads"] = _ints(value.get("pads", [0, 0, 0, 0]), f"layer {i}: pads")
    elif "pads" in value:
        raise ValueError(f"layer {i}: a {kind_name} layer takes no pads")
    return LayerSpec(**fields)


def spec_from_json(value: Any) -> ModelSpec:
    """The spec `value` describes; ValueError naming the first problem (shapes and limits included)."""
    if not isinstance(value, dict):
        raise ValueError("a model spec must be a JSON object")
    unknown = sorted(set(value) - _SPEC_KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}")
    name = value.get("name")
    if not isinstance(name, str):
        raise ValueError("name must be a string")
    layers = value.get("layers")
    if not isinstance(layers, list):
        raise ValueError("layers must be a list")
    labels = value.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ValueError("labels must be a list of strings")
    wh = value.get("weightsHash")
    if not isinstance(wh, str) or not wh.startswith("0x") or len(wh) != 66:
        raise ValueError("weightsHash must be 0x and 64 hex digits")
    try:
        weights_hash = bytes.fromhex(wh[2:])
    except ValueError:
        raise ValueError("weightsHash must be 0x and 64 hex digits") from None
    size = value.get("weightsSize")
    if type(size) is not int:
        raise ValueError("weightsSize must be an integer")
    zp = value.get("inputZeroPoint", 0)
    if type(zp) is not int:
        raise ValueError("inputZeroPoint must be an integer")
    spec = ModelSpec(name, _ints(value.get("inputShape"), "inputShape"), zp,
                     tuple(layer_from_json(v, i) for i, v in enumerate(layers)), tuple(labels), weights_hash, size)
    validate_spec(spec)
    given = value.get("modelHash")
    if given is not None and given != "0x" + model_hash(spec).hex():
        raise ValueError(f"modelHash {given} is not this spec's hash 0x{model_hash(spec).hex()}")
    return spec
