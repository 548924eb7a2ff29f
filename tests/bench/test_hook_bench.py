"""`btt-chain bench hooks` (`python -m bench.hook_bench`) in its smallest configuration: each of its figures printed
from work that really fell due (the bench asserts every place assigned, stalled, committed, sampled, late and
verified, and every credit matured), with the weight charged for it, so a rule change that breaks it is seen; and
the job counts it cannot set up end in one line, through the command and the module alike."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli_runner import run

REPO = Path(__file__).resolve().parents[2]


def test_the_hook_bench_prints_its_eleven_figures_for_a_few_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "bench", "hooks", "--jobs", "4", "--runs", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "4 jobs waiting, no provider, every block", "4 jobs expiring in one block",
        "4 places assigned in one block", "4 places stalling in one block (nobody else to draw)",
        "4 reveals missed in one block (each place posted again)",
        "4 late-reveal times ending in one block (each place slashed)",
        "4 challenge windows closing in one block (each place paid)",
        "4 credits maturing at an epoch's start (one provider paid)",
        "4 providers paid their mining rewards at an epoch's start",
        "4 credits of 4 providers with 720 epochs of history maturing (each paid)",
        "4 credits of one provider with 720 epochs of history maturing (paid)"]
    figure = re.compile(r": [0-9.]+ ms \(-?[0-9]+ us an item beyond a block with nothing due, [0-9.]+ ms\); "
                        r"weight charged ([0-9,]+) \([0-9.]+x the time\)$")
    for line in lines:
        found = figure.search(line)
        assert found, line
        assert int(found.group(1).replace(",", "")) > 0, line  # every kind of work is charged


def test_a_job_count_the_bench_cannot_set_up_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "bench", "hooks", "--jobs", "2000")
    assert code != 0 and "2000" in err and "Traceback" not in err
    out = subprocess.run([sys.executable, "-m", "bench.hook_bench", "--jobs", "5000"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and out.stderr.strip().splitlines() == [
        "--jobs 5000: give 1 to 1024 (one provider takes every place in one block)"]
