"""Write the generated reference pages: docs/rpc.md from the RPC method registry and btt_chain/rpc/method_docs.py,
docs/cli.md from the commands' `--help`.

Run: .venv/bin/python scripts/gen_docs.py           (writes the pages that changed, and says which)
     .venv/bin/python scripts/gen_docs.py --check   (writes nothing; exit 1 naming the stale pages)
tests/rpc/test_method_docs.py and tests/cli/test_help_page.py fail while a page on disk differs from what this writes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the project's packages are imported from its checkout
    sys.path.insert(0, str(ROOT))

COMMAND = ".venv/bin/python scripts/gen_docs.py"


def _rpc() -> str:
    from btt_chain.rpc.reference_page import render

    return render()


def _cli() -> str:
    from cli.help_page import render

    return render()


PAGES: dict[str, Callable[[], str]] = {"docs/rpc.md": _rpc, "docs/cli.md": _cli}
"""Page (relative to the checkout) -> its text."""


def stale(root: Path = ROOT) -> list[str]:
    """The pages whose file differs from what they render to now (or is missing)."""
    out = []
    for page, render in PAGES.items():
        path = root / page
        if not path.is_file() or path.read_text(encoding="utf-8") != render():
            out.append(page)
    return out


def write(root: Path = ROOT) -> list[str]:
    """Write every page that changed; the pages written."""
    written = []
    for page, render in PAGES.items():
        path = root / page
        text = render()
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(page)
    return written


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        behind = stale()
        for page in behind:
            print(f"{page} is stale: regenerate with {COMMAND}", file=sys.stderr)
        return 1 if behind else 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    written = write()
    print("\n".join(f"wrote {page}" for page in written) or "every page is current")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
