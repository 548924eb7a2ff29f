"""`btt-chain model import|inspect|run`: each command's success, and every mistake (missing file, wrong
extension, malformed ONNX or .npz, unsupported operator, bad items) is one `error:` line and a non-zero exit,
never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from btt_chain.models.npz_format import write_npz  # noqa: E402
from btt_chain.models.onnx_export import to_onnx, write_onnx  # noqa: E402
from runtime.compute.model import model_hash  # noqa: E402
from runtime.compute.reference import reference_model  # noqa: E402
from tests.support.cli_runner import assert_one_error_line, run  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[2] / "runtime" / "compute" / "reference_models"
BC = "breast-cancer-v1"
DIGITS = "digits-conv-v1"


def held_out(name: str) -> tuple[np.ndarray, np.ndarray]:
    model = reference_model(name)
    held = model.metadata["heldOut"]
    x = np.frombuffer(bytes.fromhex(held["inputs"]), dtype=np.int8).reshape(held["count"], *model.spec.input_shape)
    return x, np.array(held["labels"])


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("model-cli")
    out: dict[str, Path] = {}
    bc = reference_model(BC)
    out["onnx"] = d / "bc.onnx"
    write_onnx(out["onnx"], bc, bc.metadata["input"]["scale"])
    out["npz"] = d / "digits.npz"
    write_npz(out["npz"], reference_model(DIGITS), 1 / 16)
    x, y = held_out(BC)
    out["cases"] = d / "bc-cases.npz"
    np.savez(out["cases"], x=x, y=y)
    out["float_cases"] = d / "bc-float.npz"
    np.savez(out["float_cases"], x=(x.astype(np.float64) - bc.spec.input_zp) * bc.metadata["input"]["scale"], y=y)
    proto = to_onnx(bc, bc.metadata["input"]["scale"])
    proto.graph.node.append(onnx.helper.make_node("Softmax", ["logits"], ["probs"], name="prob", axis=1))
    proto.graph.output[0].name = "probs"
    out["softmax"] = d / "softmax.onnx"
    onnx.save(proto, str(out["softmax"]))
    out["garbage"] = d / "garbage.onnx"
    out["garbage"].write_bytes(b"\x0a\x05hello this is not a model \xff\xfe")
    out["txt"] = d / "model.txt"
    out["txt"].write_text("hello")
    out["bad_npz"] = d / "bad.npz"
    np.savez(out["bad_npz"], input_shape=[4], input_zero_point=0, layer0_kind="dense")
    return out


def test_import_onnx_writes_the_model_and_reports_agreement(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                              files: dict[str, Path]) -> None:
    code, out, err = run(capsys, "model", "import", str(files["onnx"]), "--out", str(tmp_path), "--name", BC,
                         "--data", str(files["float_cases"]))
    assert code == 0, err
    shipped = reference_model(BC)
    assert f"model hash     0x{model_hash(shipped.spec).hex()}" in out  # the export round-trips
    assert "MACs per item  528" in out and "weights size   10,225 bytes" in out
    assert "agreement on 113 cases:" in out and "the same class for 113/113 (100.00%)" in out
    assert "accuracy of the int8 model against the labels: 95.58%" in out
    assert (tmp_path / f"{BC}.model.json").exists() and (tmp_path / f"{BC}.weights").exists()


def test_import_npz_with_json_output(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                     files: dict[str, Path]) -> None:
    code, out, err = run(capsys, "model", "import", str(files["npz"]), "--out", str(tmp_path), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["name"] == DIGITS and doc["macsPerItem"] == 25_280
    assert doc["modelHash"] == "0x" + model_hash(reference_model(DIGITS).spec).hex()


def test_inspect_shows_layers_and_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "model", "inspect", str(SHIPPED / f"{DIGITS}.model.json"))
    assert code == 0, err
    assert "conv2d   1x8x8 -> 8x8x8" in out and "dense    64 -> 10" in out
    assert "held-out accuracy: float" in out and "on 359 cases" in out
    code, out, _ = run(capsys, "model", "inspect", str(SHIPPED / f"{BC}.model.json"), "--json")
    assert code == 0 and json.loads(out)["accuracy"]["heldOutCases"] == 113


def test_run_decodes_labels(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    x, _ = held_out(BC)
    spec = str(SHIPPED / f"{BC}.model.json")
    code, out, err = run(capsys, "model", "run", spec, "--input", "0x" + x[0].tobytes().hex(), "--input",
                         x[1].tobytes().hex())
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("0: ") and ("malignant" in lines[0] or "benign" in lines[0])
    code, out, err = run(capsys, "model", "run", spec, "--cases", str(files["cases"]))
    assert code == 0, err
    assert out.strip().splitlines()[-1] == "accuracy: 108/113 (95.58%)"
    code, out, err = run(capsys, "model", "run", spec, "--cases", str(files["float_cases"]), "--json")
    assert code == 0, err
    assert json.loads(out)["accuracy"] == {"correct": 108, "cases": 113}


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["model", "import", "{missing}.onnx"], "no such file"),
        (["model", "import", "{txt}"], "must end in .onnx or .npz"),
        (["model", "import", "{garbage}"], "not an ONNX model"),
        (["model", "import", "{softmax}"], "operator Softmax (node 'prob') is not supported; supported:"),
        (["model", "import", "{bad_npz}"], "array 'layer0_weights' is missing"),
        (["model", "import", "{missing}.npz"], "no such file"),
        (["model", "import", "{onnx}", "--data", "{missing}.npz"], "no such file"),
        (["model", "import", "{onnx}", "--data", "{txt}"], "not a readable .npz"),
        (["model", "import", "{onnx}", "--data", "{bad_npz}"], "has no array 'x'"),
        (["model", "import", "{onnx}", "--labels", "a,b,c"], "3 labels for 2 classes"),
        (["model", "import", "{onnx}", "--labels", "a,,b"], "--labels must be class names"),
        (["model", "import", "{npz}", "--data", "{cases}"], "each case must be (1, 8, 8)"),
        (["model", "import"], "Missing argument 'FILE'"),
        (["model", "inspect", "{missing}.model.json"], "no such file"),
        (["model", "inspect", "{txt}"], "a model is given by its spec file"),
        (["model", "inspect", "{nojson}"], "not JSON"),
        (["model", "inspect", "{noweights}"], "no such file (the weights of"),
        (["model", "inspect", "{badweights}"], "the weights do not match the spec's weights hash"),
        (["model", "run", "{bc}"], "give the items with --input HEX"),
        (["model", "run", "{bc}", "--input", "00", "--cases", "{cases}"], "not both or neither"),
        (["model", "run", "{bc}", "--input", "zz"], "--input must be hex digits"),
        (["model", "run", "{bc}", "--input", "00"], "one item of 30 bytes"),
        (["model", "run", "{digits}", "--cases", "{cases}"], "each case in 'x' must be [1, 8, 8]"),
        (["model", "run", "{bc}", "--cases", "{missing}.npz"], "no such file"),
        (["model", "fly"], "No such command 'fly'"),
    ],
)
def test_mistakes_give_one_clear_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path],
                                      argv: list[str], fragment: str) -> None:
    paths = {k: str(v) for k, v in files.items()}
    paths["missing"] = str(tmp_path / "missing")
    paths["bc"] = str(SHIPPED / f"{BC}.model.json")
    paths["digits"] = str(SHIPPED / f"{DIGITS}.model.json")
    (tmp_path / "x.model.json").write_text("{not json")
    paths["nojson"] = str(tmp_path / "x.model.json")
    shutil.copy(SHIPPED / f"{BC}.model.json", tmp_path / "lonely.model.json")
    paths["noweights"] = str(tmp_path / "lonely.model.json")
    shutil.copy(SHIPPED / f"{BC}.model.json", tmp_path / "bad.model.json")
    blob = bytearray((SHIPPED / f"{BC}.weights").read_bytes())
    blob[10] ^= 1
    (tmp_path / "bad.weights").write_bytes(bytes(blob))
    paths["badweights"] = str(tmp_path / "bad.model.json")
    code, _, err = run(capsys, *[a.format(**paths) for a in argv])
    assert_one_error_line(code, err, fragment)
