"""`btt-chain model example` (issue 53): the files "Bringing a model" takes as the reader's own, made by a command.
The ONNX model and the cases pass every import check (the int8 model agrees with the graph's float semantics and
onnx's own evaluator on all cases, the stated accuracy holds), the steps run as written in a fresh shell with the
.venv's `btt-chain`, and every refusal (files already there, no onnx package, a name that is a path) changes
nothing on disk."""

from __future__ import annotations

import builtins
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx")

from btt_chain.models.example import CASES_FILE, ExampleExists, write_example  # noqa: E402
from btt_chain.models.imported import agreement, load_cases  # noqa: E402
from btt_chain.models.onnx_import import OnnxImportError, import_onnx, onnx_reference  # noqa: E402
from btt_chain.primitives.errors import ConfigError  # noqa: E402
from runtime.compute.inference import decode_output, infer  # noqa: E402
from runtime.compute.reference import reference_model  # noqa: E402
from tests.support.cli_runner import assert_one_error_line, run, succeed  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BTT_CHAIN = Path(sys.executable).parent / "btt-chain"
"""The .venv's `btt-chain`, as the docs' `B=.venv/bin/btt-chain`."""


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_example_passes_the_import_checks(tmp_path: Path) -> None:
    made = write_example(tmp_path)
    assert made.onnx == tmp_path / "my-model.onnx" and made.cases == tmp_path / CASES_FILE
    assert sorted(snapshot(tmp_path)) == ["cases.npz", "my-model.onnx"]  # no temporary file left
    imported = import_onnx(made.onnx, None, None)
    assert imported.spec.name == "my-model" and imported.spec.labels == made.labels == ("malignant", "benign")
    x, y = load_cases(made.cases)
    assert x.dtype == np.int8 and x.shape == (made.count, *imported.spec.input_shape) and y is not None
    report = agreement(imported, x, y, {"onnx": onnx_reference(made.onnx)})
    doc = report.to_json()
    text = json.dumps(doc)
    assert "onnx" in text
    assert f"{made.count}/{made.count}" in "\n".join(report.lines()), report.lines()  # every case agrees
    # the chain's integer inference on the cases: the accuracy the shipped model states for them
    reference = reference_model("breast-cancer-v1")
    correct = sum(decode_output(out)[0] == int(label)
                  for out, label in zip(infer(imported.model, [row.tobytes() for row in x]), y, strict=True))
    assert correct / made.count == pytest.approx(reference.metadata["accuracy"]["int8"], abs=1e-4), text


def test_existing_files_are_refused_and_left_as_they_were(tmp_path: Path) -> None:
    (tmp_path / CASES_FILE).write_bytes(b"the reader's own cases")
    before = snapshot(tmp_path)
    with pytest.raises(ExampleExists, match="cases.npz already there: give --force"):
        write_example(tmp_path)
    assert snapshot(tmp_path) == before  # not even the ONNX file beside it
    made = write_example(tmp_path, overwrite=True)
    assert load_cases(made.cases)[0].shape[0] == made.count


def test_without_onnx_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_onnx(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "onnx")
    monkeypatch.setattr(builtins, "__import__", no_onnx)
    out = tmp_path / "out"
    with pytest.raises(OnnxImportError, match=r"\./scripts/bootstrap models"):
        write_example(out)
    assert not out.exists()


@pytest.mark.parametrize("name", ["", "../escape", ".hidden", "a/b"])
def test_a_name_that_is_not_a_plain_file_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="plain file name"):
        write_example(tmp_path, name)
    assert snapshot(tmp_path) == {} and snapshot(tmp_path.parent / "escape") == {}


def shell(line: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """One docs line in a fresh shell: no inherited RPC or password variables, a home of its own, B set."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "B": str(BTT_CHAIN), "LANG": "C.UTF-8"}
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_docs_steps_run_as_written_in_a_fresh_shell(tmp_path: Path) -> None:
    """The offline steps of "Bringing a model" (the docs page's block up to `register`, which needs a node: the
    README's test runs those against a devnet), each line as the page gives it (`model inspect` left out here: it
    reads the same file `model run` does, and each command costs a 2 s start)."""
    if not os.access(BTT_CHAIN, os.X_OK):
        pytest.skip(f"no {BTT_CHAIN}: the package is not installed in this interpreter's environment")
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    steps = [
        ("$B model example", "wrote my-model.onnx"),
        ("$B model import my-model.onnx --out models/ --data cases.npz", "the same class for 113/113 (100.00%)"),
        ("$B model run models/my-model.model.json --cases cases.npz", "accuracy: 108/113 (95.58%)"),
    ]
    for line, says in steps:
        done = shell(line, work, home)
        assert done.returncode == 0 and says in done.stdout, (line, done.stdout[-2000:], done.stderr[-2000:])


def test_the_command_refuses_in_one_error_line_and_writes_json(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = json.loads(succeed(capsys, "model", "example", "--out", str(tmp_path / "d"), "--name", "mine", "--json"))
    assert out == {"onnx": str(tmp_path / "d" / "mine.onnx"), "cases": str(tmp_path / "d" / "cases.npz"),
                   "labels": ["malignant", "benign"], "cases_count": 113}
    before = snapshot(tmp_path)
    code, _out, err = run(capsys, "model", "example", "--out", str(tmp_path / "d"), "--name", "mine")
    assert_one_error_line(code, err, "already there: give --force")
    assert snapshot(tmp_path) == before
    assert "wrote" in succeed(capsys, "model", "example", "--out", str(tmp_path / "d"), "--name", "mine", "--force")
