"""The README's parameter table is the btt-21m preset's: every parameter, value, bounds, unit and track."""

from __future__ import annotations

from pathlib import Path

from scripts.param_table import table


def test_the_readme_lists_every_parameter_as_the_preset_has_it() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    inside = readme.split("<!-- params:begin -->\n", 1)[1].split("\n<!-- params:end -->", 1)[0]
    assert inside.splitlines() == table("btt-21m"), "regenerate with: .venv/bin/python scripts/param_table.py"
