"""The layering of docs/layout.md as a test: every import in the node's own folders (module level or inside a
function) runs the allowed way, so that a wrong arrow fails here instead of growing an import circle.

- `btt_chain.primitives`: the leaf (nothing of ours but itself);
- `runtime`, `storage`, `p2p`: the primitives only (the runtime is pure; storage knows bytes and keys; p2p knows bytes
  and peers, never runtime rules);
- `genesis`: the runtime and storage (it builds the genesis state and its tree, and loads a genesis state file
  straight into the store);
- `btt_chain` (the node): runtime, storage, p2p and genesis;
- `cli`, `bench`, `tests`: anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("btt_chain", "runtime", "storage", "p2p", "genesis", "cli", "bench", "tests")
PRIMITIVES = "btt_chain.primitives"
ALLOWED = {
    PRIMITIVES: (PRIMITIVES,),
    "runtime": ("runtime", PRIMITIVES),
    "storage": ("storage", PRIMITIVES),
    "p2p": ("p2p", PRIMITIVES),
    "genesis": ("genesis", "runtime", "storage", PRIMITIVES),
    "btt_chain": ("btt_chain", "runtime", "storage", "p2p", "genesis"),
}
"""Layer -> the layers (module prefixes) its modules may import."""


def layer_of(module: str) -> str:
    return PRIMITIVES if module == PRIMITIVES or module.startswith(PRIMITIVES + ".") else module.split(".")[0]


def imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, module) of every absolute import of ours in `path` (relative ones stay inside its package)."""
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            # each name may be a module (`from btt_chain import primitives`) or an attribute: the prefix decides
            found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
    return [(line, m) for line, m in found if m.split(".")[0] in OURS]


def wrong_arrows(root: Path) -> list[str]:
    out = []
    for top in ALLOWED:
        if top == PRIMITIVES:
            continue
        for path in sorted((root / top).rglob("*.py")):
            module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
            allowed = ALLOWED[layer_of(module)]
            for line, target in imports(path, module):
                if not any(target == a or target.startswith(a + ".") for a in allowed):
                    out.append(f"{path.relative_to(root)}:{line}: {layer_of(module)} imports {target}")
    return out


def test_every_import_runs_the_allowed_way() -> None:
    assert wrong_arrows(ROOT) == []


@pytest.mark.parametrize(("where", "line", "layer"), [
    ("storage/bad.py", "from runtime.compute.model import WEIGHTS_CHUNK", "storage"),
    ("btt_chain/primitives/bad.py", "import btt_chain.node.chain", PRIMITIVES),
    ("runtime/bad.py", "def f():\n    from btt_chain.node import service", "runtime"),
    ("p2p/bad.py", "from genesis import loader", "p2p"),
    ("genesis/bad.py", "from cli.main import main", "genesis"),
    ("btt_chain/node/bad.py", "from cli import log_config", "btt_chain"),
    ("btt_chain/primitives/bad.py", "from ..node import chain", PRIMITIVES),
])
def test_a_wrong_arrow_is_caught(tmp_path: Path, where: str, line: str, layer: str) -> None:
    """Each kind of wrong import, at module level, inside a function, or relative, in a tree of one file."""
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(line + "\n")
    (found,) = wrong_arrows(tmp_path)
    assert found.startswith(f"{where}:") and f": {layer} imports " in found


def test_the_allowed_arrows_pass(tmp_path: Path) -> None:
    for where, line in (("storage/ok.py", "from btt_chain.primitives.hashing import blake2b_256"),
                        ("genesis/ok.py", "from storage.state_tree import StateTree"),
                        ("btt_chain/node/ok.py", "from runtime.modules import RUNTIME\nfrom . import chain"),
                        ("runtime/compute/ok.py", "from ..system import storage")):
        path = tmp_path / where
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(line + "\n")
    assert wrong_arrows(tmp_path) == []
