"""`python -m bench.hook_bench` in its smallest configuration: each of its five figures printed from work that really
fell due (the bench asserts every place assigned, stalled, committed and sampled), so a rule change that breaks it
is seen."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_hook_bench_prints_its_five_figures_for_a_few_jobs() -> None:
    out = subprocess.run([sys.executable, "-m", "bench.hook_bench", "--jobs", "6", "--runs", "1"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "6 jobs waiting, no provider, every block", "6 jobs expiring in one block",
        "6 places assigned in one block", "6 places stalling in one block (nobody else to draw)",
        "6 reveals missed in one block (each place posted again)"]
    figure = re.compile(r": [0-9.]+ ms \(-?[0-9]+ us an item beyond a block with nothing due, [0-9.]+ ms\); "
                        r"weight charged [0-9,]+ \([0-9.]+x the time\)$")
    for line in lines:
        assert figure.search(line), line


def test_a_job_count_the_bench_cannot_set_up_is_one_line() -> None:
    out = subprocess.run([sys.executable, "-m", "bench.hook_bench", "--jobs", "5000"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and out.stderr.strip().splitlines() == [
        "--jobs 5000: give 1 to 1024 (one provider takes every place in one block)"]
