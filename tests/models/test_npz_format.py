"""The .npz form: the shipped models round-trip exactly (same spec, same blob, same model hash), and every
malformed file is refused with a message naming the array at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from btt_chain.models.npz_format import NpzFormatError, import_npz, npz_arrays, write_npz
from runtime.compute.inference import infer
from runtime.compute.model import model_hash
from runtime.compute.reference import reference_model

NAMES = ["breast-cancer-v1", "digits-conv-v1"]


@pytest.mark.parametrize("name", NAMES)
def test_shipped_models_round_trip(tmp_path: Path, name: str) -> None:
    model = reference_model(name)
    path = tmp_path / f"{name}.npz"
    write_npz(path, model, model.metadata["input"]["scale"])
    imported = import_npz(path)
    assert imported.spec == model.spec and model_hash(imported.spec) == model_hash(model.spec)
    assert imported.input_qparams is not None and imported.input_qparams.zero_point == model.spec.input_zp
    data = bytes.fromhex(model.metadata["heldOut"]["inputs"])
    width = len(data) // model.metadata["heldOut"]["count"]
    items = [data[i:i + width] for i in range(0, len(data), width)]
    assert infer(imported.model, items) == infer(model, items)


def test_name_and_labels_can_be_overridden(tmp_path: Path) -> None:
    model = reference_model("breast-cancer-v1")
    path = tmp_path / "m.npz"
    write_npz(path, model)
    imported = import_npz(path, name="bc-renamed", labels=("m", "b"))
    assert imported.spec.name == "bc-renamed" and imported.spec.labels == ("m", "b")
    assert imported.input_qparams is None


def _save(tmp_path: Path, arrays: dict[str, Any]) -> Path:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return path


def _tiny() -> dict[str, Any]:
    return {
        "input_shape": np.array([4]), "input_zero_point": np.array(0),
        "layer0_kind": np.array("dense"), "layer0_weights": np.ones((3, 4), dtype=np.int8),
        "layer0_bias": np.zeros(3, dtype=np.int32), "layer0_multiplier": np.full(3, 1 << 30),
        "layer0_shift": np.full(3, 31), "layer0_output_zero_point": np.array(0),
        "layer1_kind": np.array("relu"), "layer2_kind": np.array("dense"),
        "layer2_weights": np.ones((2, 3), dtype=np.int8), "layer2_bias": np.zeros(2, dtype=np.int32),
        "layer2_multiplier": np.array([1 << 30]), "layer2_shift": np.array([30]),
        "layer2_output_zero_point": np.array(0), "labels": np.array(["no", "yes"]),
    }


def test_a_small_hand_written_model_imports_and_runs(tmp_path: Path) -> None:
    imported = import_npz(_save(tmp_path, _tiny()))
    assert imported.spec.name == "bad" and imported.spec.layers[0].per_channel
    assert not imported.spec.layers[2].per_channel
    # x = 2 everywhere: layer 0 gives 8 * 2**30 >> 31 = 4 per channel, layer 2 gives 12 * 2**30 >> 30 = 12
    assert infer(imported.model, [bytes([2] * 4)]) == [bytes([0, 12, 12])]


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"layer0_weights": None}, "array 'layer0_weights' is missing"),
        ({"input_shape": None}, "array 'input_shape' is missing"),
        ({"layer1_kind": np.array("softmax")}, "array 'layer1_kind' must be one of"),
        ({"layer1_kind": None}, "array 'layer1_kind' is missing"),
        ({"layer0_weights": np.ones((3, 5), dtype=np.int8)}, "array 'layer0_weights' must have shape (3, 4)"),
        ({"layer0_weights": np.full((3, 4), 1.5)}, "array 'layer0_weights' must hold integers"),
        ({"layer0_weights": np.full((3, 4), 300)}, "array 'layer0_weights' values must be -128 to 127"),
        ({"layer0_shift": np.full(3, 63)}, "array 'layer0_shift' values must be 0 to 62"),
        ({"layer0_multiplier": np.full(3, 1 << 31)}, "array 'layer0_multiplier' values"),
        ({"layer0_multiplier": np.full(2, 1 << 30)}, "array 'layer0_multiplier' must have shape (3,)"),
        ({"layer0_bias": np.zeros(4, dtype=np.int32)}, "array 'layer0_bias' must have shape (3,)"),
        ({"layer0_output_zero_point": np.array(200)}, "array 'layer0_output_zero_point' must be from -128 to 127"),
        ({"layer1_weights": np.ones((2, 2), dtype=np.int8)}, "array 'layer1_weights' does not belong to a relu"),
        ({"extra": np.zeros(1)}, "unknown array 'extra'"),
        ({"layer5_kind": np.array("relu")}, "array 'layer3_kind' is missing"),
        ({"metadata": np.array("[1, 2]")}, "array 'metadata' must hold a JSON object"),
        ({"labels": np.array(["a", "b", "c"])}, "3 labels for 2 classes"),
        ({"input_scale": np.array(-1.0)}, "array 'input_scale' must be one positive float"),
        ({"input_zero_point": np.array([1, 2])}, "array 'input_zero_point' must be one integer"),
    ],
)
def test_malformed_files_are_refused_naming_the_array(tmp_path: Path, change: dict[str, Any], fragment: str) -> None:
    arrays = _tiny()
    for key, value in change.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    with pytest.raises(NpzFormatError) as exc:
        import_npz(_save(tmp_path, arrays))
    assert fragment in str(exc.value)


def test_object_arrays_and_non_npz_files_are_refused(tmp_path: Path) -> None:
    arrays = _tiny()
    arrays["labels"] = np.array(["no", {"x": 1}], dtype=object)
    with pytest.raises(NpzFormatError, match="object arrays"):
        import_npz(_save(tmp_path, arrays))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(NpzFormatError, match="not a readable .npz"):
        import_npz(junk)
    with pytest.raises(NpzFormatError, match="no such file"):
        import_npz(tmp_path / "missing.npz")


def test_npz_arrays_name_every_layer() -> None:
    arrays = npz_arrays(reference_model("digits-conv-v1"))
    assert str(arrays["layer0_kind"]) == "conv2d" and list(arrays["layer0_pads"]) == [1, 1, 1, 1]
    assert str(arrays["layer2_kind"]) == "maxpool" and list(arrays["layer2_kernel"]) == [2, 2]
