"""docs/models.md is what the code does: its test vectors are the ones scripts/model_vectors.py regenerates, the
code's inference reproduces every output they list, and so does the reference that follows the document alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runtime.compute.inference import decode_output, infer
from runtime.compute.model import model_hash, parse_weights, weights_hash
from runtime.compute.model_json import spec_from_json
from scripts.model_vectors import BEGIN, DOC, END, document_block, markdown, parse

from .test_compute_model import ref_infer, ref_model_hash, ref_weights_hash

ROOT = Path(__file__).parents[2]


def doc_vectors() -> list[dict[str, Any]]:
    return parse(document_block(DOC.read_text()))


def test_the_documents_vectors_are_the_codes() -> None:
    text = DOC.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert document_block(text) == markdown(), "regenerate with: .venv/bin/python scripts/model_vectors.py"


def test_the_check_command_agrees() -> None:
    done = subprocess.run([sys.executable, "scripts/model_vectors.py", "--check"], cwd=ROOT, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("index", range(3))
def test_the_code_reproduces_the_documents_outputs(index: int) -> None:
    v = doc_vectors()[index]
    spec = spec_from_json(v["spec"])  # checks the listed modelHash too
    assert "0x" + model_hash(spec).hex() == v["model hash"] == v["spec"]["modelHash"]
    assert "0x" + weights_hash(v["weights"]).hex() == v["spec"]["weightsHash"]
    model = parse_weights(spec, v["weights"])
    assert infer(model, v["inputs"]) == v["outputs"]
    for output in v["outputs"]:
        label, logits = decode_output(output)
        values = [b - 256 if b >= 128 else b for b in logits]
        assert label == values.index(max(values))  # the first largest


@pytest.mark.parametrize("index", range(3))
def test_the_document_alone_reproduces_its_outputs(index: int) -> None:
    v = doc_vectors()[index]
    assert "0x" + ref_weights_hash(v["weights"]).hex() == v["spec"]["weightsHash"]
    assert "0x" + ref_model_hash(v["spec"]).hex() == v["model hash"]
    assert ref_infer(v["spec"], v["weights"], v["inputs"]) == v["outputs"]


def test_the_vectors_cover_what_they_say() -> None:
    dense, conv, edges = doc_vectors()
    kinds = {layer["kind"] for v in (dense, conv, edges) for layer in v["spec"]["layers"]}
    assert kinds == {"dense", "conv2d", "maxpool", "avgpool", "relu", "flatten"}
    assert dense["spec"]["labels"] and dense["weights"].endswith(b"}")  # a metadata section
    first = conv["spec"]["layers"][0]
    assert first["kernel"][0] != first["kernel"][1] and len(set(first["pads"])) > 1 and first["perChannel"]
    assert conv["spec"]["inputZeroPoint"] != 0 and first["weightZeroPoint"] != 0
    assert edges["outputs"][1][0] == 0 and edges["outputs"][1][1] == edges["outputs"][1][6] == 0x7F  # a tie
