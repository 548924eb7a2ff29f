"""`btt-chain simulate finality`: bad arguments are one `error:` line; a short run prints its figures as JSON; a
schedule printed by a violation replays from its file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btt_chain.finality_sim.generator import generate
from tests.support.cli_runner import assert_one_error_line, run, succeed


@pytest.mark.parametrize(("argv", "fragment"), [
    (("--schedules", "0"), "--schedules must be at least 1"),
    (("--seed", "-1"), "--seed must not be negative"),
    (("--workers", "0"), "--workers must be between 1 and 64"),
    (("--schedules", "many"), "'many' is not a valid integer"),
    (("--replay", "/nonexistent/schedule.json"), "cannot read /nonexistent/schedule.json"),
])
def test_bad_arguments_are_one_error_line(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
                                          fragment: str) -> None:
    code, _, err = run(capsys, "simulate", "finality", *argv)
    assert_one_error_line(code, err, fragment)


def test_a_file_that_is_not_a_schedule(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "schedule.json"
    path.write_text('{"seed": 1}')
    code, _, err = run(capsys, "simulate", "finality", "--replay", str(path))
    assert_one_error_line(code, err, "is not a schedule printed by `btt-chain simulate finality`")


def test_a_short_run_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    figures = json.loads(succeed(capsys, "simulate", "finality", "--schedules", "4", "--workers", "1", "--json"))
    assert figures["schedules"] == 4 and figures["honest_majority_schedules"] == 3
    assert figures["violations"] == [] and figures["finality_delay_after_gst_epochs"]["worst"] is not None


def test_a_schedule_replays_from_its_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "schedule.json"
    path.write_text(generate(1, 3).to_json())
    doc = json.loads(succeed(capsys, "simulate", "finality", "--replay", str(path), "--json"))
    assert (doc["seed"], doc["index"], doc["violations"]) == (1, 3, [])
