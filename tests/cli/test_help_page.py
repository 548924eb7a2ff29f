"""docs/cli.md: every command and subcommand's `--help` (lazily loaded groups included), the same text at any terminal
width and on any machine, never a stand-in for a command that cannot load, and the file on disk is what the generator
writes now."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from btt_chain.primitives.errors import ConfigError
from cli import help_page
from cli.lazy import LazyGroup
from cli.main import COMMANDS
from scripts.gen_docs import COMMAND

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "cli.md"


@pytest.fixture(scope="module")
def commands() -> list[help_page.CommandHelp]:
    return help_page.walk()


@pytest.fixture(scope="module")
def page(commands: list[help_page.CommandHelp]) -> str:
    return help_page.render(commands)


def test_the_walk_reaches_every_command_and_each_group_lists_its_children(
    commands: list[help_page.CommandHelp],
) -> None:
    paths = [c.path for c in commands]
    assert len(paths) == len(set(paths)) and paths[0] == "btt-chain"
    assert {p.split()[1] for p in paths[1:]} == set(COMMANDS)  # every lazily loaded top-level command
    by_path = {c.path: c for c in commands}
    for c in commands:
        children = [p for p in paths if p.rsplit(" ", 1)[0] == c.path and p != c.path]
        if children:  # a group: its help lists each child, in the walk's order
            listed = [p.rsplit(" ", 1)[1] for p in children]
            assert "Commands:" in c.help and listed == sorted(listed), c.path
            assert all(by_path[p].depth == c.depth + 1 for p in children)
    assert "btt-chain query account" in by_path and "btt-chain key generate" in by_path  # nested, lazy groups


def test_the_help_is_what_a_wide_terminal_shows(commands: list[help_page.CommandHelp]) -> None:
    real = subprocess.run([sys.executable, "-m", "cli", "asset", "accept", "--help"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "200"}, check=True).stdout
    (shown,) = [c.help for c in commands if c.path == "btt-chain asset accept"]
    assert shown.rstrip() == real.rstrip()


def test_the_page_is_the_same_at_any_width_and_home_and_directory(page: str, tmp_path: Path) -> None:
    script = "import sys; from cli.help_page import render; sys.stdout.write(render())"
    env = {**os.environ, "COLUMNS": "40", "LINES": "10", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    other = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env,
                           check=True).stdout
    assert other == page


def test_a_command_that_cannot_load_here_is_refused_not_documented() -> None:
    group = LazyGroup("tools", lazy={"fast": "plyvel.not_a_module:command"})  # a node dependency's module
    with pytest.raises(ConfigError, match="tools fast.*cannot load here"):
        help_page.walk(group, "tools")


def test_help_naming_the_home_directory_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    command = click.Command("export", help=f"Writes to {tmp_path}/exports.")
    with pytest.raises(ConfigError, match="home directory"):
        help_page.render(help_page.walk(command, "tool"))
    assert "Writes to ~/exports." in help_page.render(help_page.walk(click.Command("x", help="Writes to ~/exports.")))


def test_docs_cli_md_is_current(page: str) -> None:
    if not PAGE.is_file() or PAGE.read_text(encoding="utf-8") != page:
        pytest.fail(f"docs/cli.md is stale: regenerate with {COMMAND}", pytrace=False)
