"""docs/parameters.md's table is the btt-21m preset's: every parameter, value, bounds, unit and track (the table
moved from the README to its own page with issue 53)."""

from __future__ import annotations

from pathlib import Path

from scripts.param_table import table

PAGE = Path(__file__).parents[2] / "docs" / "parameters.md"


def test_the_parameters_page_lists_every_parameter_as_the_preset_has_it() -> None:
    text = PAGE.read_text()
    inside = text.split("<!-- params:begin -->\n", 1)[1].split("\n<!-- params:end -->", 1)[0]
    assert inside.splitlines() == table("btt-21m"), "regenerate with: .venv/bin/python scripts/param_table.py"
