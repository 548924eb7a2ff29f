"""The README is a map and the pages it leads to are there: at most 300 lines, an index that names every required
topic, every page under docs/ reachable from it, and every relative link of README.md, SECURITY.md,
CONTRIBUTING.md and docs/*.md leading to a file that exists (and to a heading of it when the link names one).

Anchors are GitHub's: a heading's rendered text in lower case, everything but letters, digits, `_`, `-` and spaces
dropped, spaces made `-`, and `-1`, `-2`, ... after a repeated one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
MAX_README_LINES = 300
PAGES = sorted([README, REPO / "SECURITY.md", REPO / "CONTRIBUTING.md", *(REPO / "docs").glob("*.md")])

REQUIRED = {
    "docs/own-network.md": "run a 3-validator network",
    "docs/own-network.md#rotating-a-validators-session-key-moving-its-signing-to-a-new-machine": "rotate a key",
    "docs/backup-restore.md": "back up and restore a validator",
    "docs/warp-sync.md": "join by warp",
    "docs/upgrades.md": "upgrade the runtime",
    "docs/costs.md": "what things cost",
    "docs/compute.md#post-a-job-and-read-its-result": "post a job and read its result",
    "docs/model-import.md#bringing-your-own-model": "bring a model",
    "docs/private-cases.md": "keep cases private",
    "docs/rpc.md": "the RPC reference",
    "docs/cli.md": "the CLI reference",
    "docs/metrics.md": "metrics",
    "docs/security.md": "the security model",
    "SECURITY.md": "report a vulnerability",
    "CONTRIBUTING.md#reporting-a-bug": "report a bug",
}
"""README link target -> the "How do I ..." entry it serves."""

FENCE = re.compile(r"^\s*```.*?^\s*```[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """The text without fenced blocks and code spans, where nothing is a link or a heading."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading's text (its links read as their text, its code spans as their content)."""
    text = LINK.sub(lambda m: m.group(1), heading)
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor, repeats numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for m in HEADING.finditer(FENCE.sub("", text)):
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(text: str) -> list[str]:
    """The targets of the page's links and images, in order."""
    return [m.group(2) for m in LINK.finditer(prose(text))]


def is_external(target: str) -> bool:
    return re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) is not None


def broken_links(page: Path) -> list[str]:
    """Each relative link of `page` whose file (or heading) is not there, as 'target: why'."""
    problems = []
    for target in links(page.read_text()):
        if is_external(target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            problems.append(f"{target}: no such file")
        elif anchor and dest.is_file() and dest.suffix == ".md" and anchor not in anchors(dest.read_text()):
            problems.append(f"{target}: no heading with that anchor in {dest.name}")
    return problems


# --- the pages ---------------------------------------------------------------------------------------------------


def test_the_readme_is_a_map_of_at_most_300_lines() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines: move a topic to a page under docs/"


def test_the_readme_index_names_every_required_topic() -> None:
    targets = set(links(README.read_text()))
    missing = {t: what for t, what in REQUIRED.items() if t not in targets}
    assert not missing, f"the README's index lost: {missing}"


def test_every_docs_page_is_reachable_from_the_readme() -> None:
    targets = {t.partition("#")[0] for t in links(README.read_text())}
    pages = {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")}
    assert not pages - targets, f"pages the README's map does not lead to: {sorted(pages - targets)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert not broken_links(page), f"{page.relative_to(REPO)}: {broken_links(page)}"


# --- the checker, attacked -----------------------------------------------------------------------------------------


def test_slugs_are_githubs() -> None:
    assert slug("Joining a long-lived network: `--sync warp`") == "joining-a-long-lived-network---sync-warp"
    assert slug("Rotating a validator's session key (moving its signing to a new machine)") == \
        "rotating-a-validators-session-key-moving-its-signing-to-a-new-machine"
    assert slug("The .npz form (`btt_chain/models/npz_format.py`)") == "the-npz-form-btt_chainmodelsnpz_formatpy"
    assert slug("[`btt-chain asset`](#x): assets") == "btt-chain-asset-assets"
    assert anchors("# A\n## A\n```\n# A\n```\n### A\n") == {"a", "a-1", "a-2"}


def test_a_broken_file_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# Title\n\n## A part\n")
    page = tmp_path / "a.md"
    page.write_text(
        "[ok](docs/b.md) [ok](docs/b.md#a-part) [ok](#here) [ok](https://example.org/x) ![ok](docs/b.md)\n"
        "`[not a link](nowhere.md)`\n```\n[not a link](nowhere.md)\n```\n# Here\n"
        "[bad](docs/c.md) [bad](docs/b.md#no-part) [bad](#nowhere) ![bad](docs/missing.png)\n"
    )
    assert broken_links(page) == [
        "docs/c.md: no such file",
        "docs/b.md#no-part: no heading with that anchor in b.md",
        "#nowhere: no heading with that anchor in a.md",
        "docs/missing.png: no such file",
    ]
