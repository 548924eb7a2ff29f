"""The node runs without the `models` extra: nothing it loads imports scikit-learn, onnx or the tooling package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_PACKAGES = ["runtime", "storage", "p2p", "btt_chain/node", "btt_chain/primitives", "btt_chain/consensus"]
TOOLING = ("sklearn", "onnx", "onnxruntime", "threadpoolctl", "btt_chain.models")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", NODE_PACKAGES)
def test_node_packages_do_not_import_model_tooling(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imported_modules(path):
            if any(name == t or name.startswith(t + ".") for t in TOOLING):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders, offenders
