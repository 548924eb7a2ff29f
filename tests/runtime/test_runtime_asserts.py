"""No new `assert` in the live runtime. Under `python -O` an assert vanishes, so a rule written as one is a rule a
node may run without: the state transition would then differ between nodes. The runtime raises its own errors
instead (a `DispatchError` for a call, `InvalidBlock`-worthy errors for a block). The asserts left (KNOWN) check
invariants no transaction can reach without a broken one elsewhere; they go when their files next change for a new
spec (each file is shared with a frozen spec until then). Frozen specs (`runtime/specs/`) are history and not
scanned."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KNOWN = {
    "runtime/compute/inference.py": 3,
    "runtime/compute/late_decoys_migration.py": 1,
    "runtime/compute/private.py": 3,
    "runtime/compute/progress.py": 1,
    "runtime/consensus/logic.py": 1,
    "runtime/transfer_native.py": 1,
}
"""File -> asserts it may still hold (only ever lowered)."""


def asserts_in(root: Path) -> Counter[str]:
    found: Counter[str] = Counter()
    for path in sorted((root / "runtime").rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[:2] == ("runtime", "specs"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Assert):
                found[rel.as_posix()] += 1
    return found


def over_the_known(found: Counter[str]) -> list[str]:
    return [f"{f}: {n} asserts, at most {KNOWN.get(f, 0)}: raise the runtime's own error instead"
            for f, n in sorted(found.items()) if n > KNOWN.get(f, 0)]


def test_no_new_assert_in_the_live_runtime() -> None:
    found = asserts_in(ROOT)
    assert over_the_known(found) == []
    # an assert removed lowers its file's allowance here, so that it cannot come back unnoticed
    assert {f: n for f, n in found.items() if n} == KNOWN


def test_a_new_assert_is_caught(tmp_path: Path) -> None:
    (tmp_path / "runtime" / "compute").mkdir(parents=True)
    (tmp_path / "runtime" / "specs" / "spec11").mkdir(parents=True)
    (tmp_path / "runtime" / "balances.py").write_text("def f(x):\n    assert x > 0\n    return x\n")
    (tmp_path / "runtime" / "compute" / "private.py").write_text("assert True\n" * 4)
    (tmp_path / "runtime" / "specs" / "spec11" / "old.py").write_text("assert True\n")  # history: not scanned
    assert over_the_known(asserts_in(tmp_path)) == [
        "runtime/balances.py: 1 asserts, at most 0: raise the runtime's own error instead",
        "runtime/compute/private.py: 4 asserts, at most 3: raise the runtime's own error instead",
    ]
