"""Freeze a spec's rules beside the newest: write into `runtime/specs/specNN/` every runtime file that differs at a
git revision from the working tree's, with its imports made relative the way the live runtime's are, so that the
package `runtime.specs.specNN` overlays the live runtime with exactly those files (`runtime/specs/__init__.py`).

    python scripts/freeze_spec.py REV NN        # e.g. the commit of spec 11's last release and 11

What it writes is the spec's specification against the newest: `diff -r runtime/specs/specNN <the same files under
runtime/>` shows every rule and record that changed since. Files shared by every spec (`runtime.specs.SHARED`) are
never frozen: they must not change meaning between specs. Freeze only the spec the live runtime is about to leave: an
older spec's package reads its own folder, then each newer spec's (`runtime.specs.folder_chain`), so a file it shares
with the next spec is frozen once, there, and its modules that came later are listed once, too. Also:
`python scripts/freeze_spec.py --relativize` rewrites the live runtime's own imports (run once, when the layout was
introduced).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUNTIME = REPO / "runtime"
sys.path.insert(0, str(REPO))

from runtime.specs import ABSENT_FILE, SHARED  # noqa: E402

BACKPORTED: dict[int, frozenset[str]] = {
    11: frozenset({
        "system/calls.py", "system/errors.py", "system/events.py", "system/storage.py", "system/types.py",
        "executive.py", "items.py", "compute/weights_source.py",
    }),
    16: frozenset({
        "evidence/logic.py", "multisig/calls.py", "multisig/logic.py", "compute/outage.py", "incentives/migrations.py",
    }),
}
"""Files a spec runs as the live runtime has them although they changed since its release: spec 11 takes the upgrade
machinery (`system.schedule_spec`, `cancel_spec`, their events, errors and storage; the executive's upgrade step),
without which a spec-11 chain could never schedule its upgrade, and the weights source every spec shares. No spec-11
block used any of it, so every spec-11 block executes as it did (tests/node/test_recorded_chain.py). Spec 16 takes
spec 17's evidence check and multisig decoding, which judge each block by the running spec's own rules (a
`register_validator` authorization in its old form under spec 16; a call carried as bytes by spec 16's table), so
spec 16 gives every verdict its own release gave; and two files whose change since is a docstring or an import's
form."""

IMPORT = re.compile(r"^(\s*)from runtime((?:\.\w+)+) import ", re.M)
PLAIN = re.compile(r"^(\s*)import runtime((?:\.\w+)+)( as \w+)?$", re.M)


def relativize(source: str, rel_path: Path) -> str:
    """`source` of runtime/`rel_path` with every import of a per-spec runtime module made relative."""
    depth = len(rel_path.parts) - 1  # runtime/x.py: 0 levels below runtime; runtime/a/x.py and runtime/a/__init__.py: 1

    def sub(m: re.Match[str]) -> str:
        indent, dotted = m.group(1), m.group(2)
        target = "runtime" + dotted
        if target in SHARED or any(target.startswith(s + ".") for s in SHARED if s != "runtime"):
            return m.group(0)
        return f"{indent}from {'.' * (depth + 1)}{dotted[1:]} import "

    out = IMPORT.sub(sub, source)
    if PLAIN.search(out):
        raise SystemExit(f"{rel_path}: a plain `import runtime...` cannot be made relative; use `from ... import`")
    return out


def relativize_live() -> None:
    for path in sorted(RUNTIME.rglob("*.py")):
        rel = path.relative_to(RUNTIME)
        if rel.parts[0] == "specs" or module_name(rel) in SHARED:
            continue
        text = path.read_text()
        new = relativize(text, rel)
        if new != text:
            path.write_text(new)
            print(f"relative imports: runtime/{rel}")


def module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["runtime", *parts])


def freeze(rev: str, spec: int) -> None:
    out = RUNTIME / "specs" / f"spec{spec}"
    listed = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, "runtime"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout.split()
    written = 0
    for name in listed:
        rel = Path(name).relative_to("runtime")
        if not name.endswith(".py") or rel.parts[0] == "specs" or module_name(rel) in SHARED:
            continue
        if rel.as_posix() in BACKPORTED.get(spec, ()):
            stale = out / rel
            if stale.exists():
                stale.unlink()
            continue
        old = subprocess.run(["git", "show", f"{rev}:{name}"], cwd=REPO, check=True, capture_output=True,
                             text=True).stdout
        old = relativize(old, rel)
        live = RUNTIME / rel
        if live.exists() and live.read_text() == old:
            continue
        target = out / rel
        if target.exists() and target.read_text() != old:
            print(f"spec {spec}: runtime/{rel} kept (edited after freezing: compare with {rev} by hand)")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(old)
        written += 1
        print(f"spec {spec}: runtime/{rel}")
    known = {Path(name).relative_to("runtime").with_suffix("").as_posix() for name in listed if name.endswith(".py")}
    added = sorted(
        rel.with_suffix("").as_posix() for rel in (p.relative_to(RUNTIME) for p in RUNTIME.rglob("*.py"))
        if rel.parts[0] != "specs" and rel.parts[-1] != "__init__.py" and module_name(rel) not in SHARED
        and rel.with_suffix("").as_posix() not in known
    )
    absent = out / ABSENT_FILE
    if added:
        out.mkdir(parents=True, exist_ok=True)
        absent.write_text("".join(f"{a}\n" for a in added))
        print(f"spec {spec}: {len(added)} modules it did not have listed in {absent.relative_to(REPO)}")
    elif absent.exists():
        absent.unlink()
    print(f"{written} files frozen into {out.relative_to(REPO)}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--relativize"]:
        relativize_live()
    elif len(sys.argv) == 3:
        freeze(sys.argv[1], int(sys.argv[2]))
    else:
        raise SystemExit(__doc__)
