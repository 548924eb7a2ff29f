"""Many schedules on several processes, summed up into the figures `btt-chain simulate finality` prints, with every
violation's replay seed and its shrunk schedule."""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from typing import Any

from btt_chain.finality_sim.checks import LIVENESS_BOUND, Verdict, Violation, check
from btt_chain.finality_sim.engine import Simulation
from btt_chain.finality_sim.generator import generate
from btt_chain.finality_sim.node import Rules
from btt_chain.finality_sim.schedule import Schedule
from btt_chain.finality_sim.shrink import shrink

SHRUNK_AT_MOST = 3
"""Failing schedules shrunk per campaign (the rest are listed with their seeds)."""
SHRINK_BUDGET = 400
"""Runs one shrink may spend."""


@dataclass(frozen=True)
class RunResult:
    index: int
    byzantine_third: bool
    verdict: Verdict


@dataclass(frozen=True)
class Failure:
    seed: int
    index: int
    violations: tuple[Violation, ...]
    shrunk: Schedule | None = None


@dataclass
class Report:
    seed: int
    honest_runs: int = 0
    byzantine_runs: int = 0
    epochs: int = 0
    delays: list[int] = field(default_factory=list)
    conflicts: dict[bool, list[int]] = field(default_factory=lambda: {False: [0, 0, 0], True: [0, 0, 0]})
    """By schedule class (>= 1/3 Byzantine?): [conflicting pairs, schedules with one, alarms]."""
    coverage: Fraction | None = None
    margin: Fraction | None = None
    failures: list[Failure] = field(default_factory=list)

    def add(self, r: RunResult) -> None:
        v = r.verdict
        if r.byzantine_third:
            self.byzantine_runs += 1
        else:
            self.honest_runs += 1
        self.epochs += v.epochs
        if v.delay is not None:
            self.delays.append(v.delay)
        counts = self.conflicts[r.byzantine_third]
        counts[0] += v.conflicts
        counts[1] += v.conflicts > 0
        counts[2] += v.alarms
        if v.coverage is not None:
            self.coverage = v.coverage if self.coverage is None else min(self.coverage, v.coverage)
        if v.margin is not None:
            self.margin = v.margin if self.margin is None else min(self.margin, v.margin)
        if v.violations:
            self.failures.append(Failure(self.seed, r.index, v.violations))

    def figures(self) -> dict[str, Any]:
        delays = sorted(self.delays)
        return {
            "seed": self.seed,
            "schedules": self.honest_runs + self.byzantine_runs,
            "honest_majority_schedules": self.honest_runs,
            "byzantine_third_schedules": self.byzantine_runs,
            "epochs_simulated": self.epochs,
            "liveness_bound_epochs": LIVENESS_BOUND,
            "finality_delay_after_gst_epochs": {
                "worst": delays[-1] if delays else None,
                "mean": round(sum(delays) / len(delays), 3) if delays else None,
                "p99": delays[min(len(delays) - 1, math.ceil(0.99 * len(delays)) - 1)] if delays else None,
                "histogram": {str(d): delays.count(d) for d in sorted(set(delays))},
            },
            "conflicting_finalizations": {
                name: dict(zip(("pairs", "schedules", "alarms"), self.conflicts[byzantine], strict=True))
                for name, byzantine in (("honest_majority", False), ("byzantine_third", True))
            },
            "evidence_min_offender_stake": None if self.coverage is None else round(float(self.coverage), 4),
            "evidence_min_margin": None if self.margin is None else round(float(self.margin), 4),
            "violations": [
                {"seed": f.seed, "index": f.index, "kinds": sorted({v.kind for v in f.violations}),
                 "first": f.violations[0].detail,
                 "shrunk_schedule": None if f.shrunk is None else f.shrunk.to_json()}
                for f in self.failures
            ],
        }


def run_schedule(schedule: Schedule, rules: Rules | None = None) -> Verdict:
    return check(Simulation(schedule, rules).run())


def run_index(seed_index: tuple[int, int], rules: Rules | None = None) -> RunResult:
    seed, index = seed_index
    s = generate(seed, index)
    return RunResult(index, s.byzantine_third, run_schedule(s, rules))


def run_campaign(schedules: int, seed: int, workers: int, progress: Callable[[int], None] | None = None,
                 rules: Rules | None = None) -> Report:
    """Run schedules 0..schedules-1 of `seed` on `workers` processes (with `rules`, the node's by default); shrink
    the first failures."""
    report = Report(seed)
    jobs = [(seed, i) for i in range(schedules)]
    for done, result in enumerate(_map(partial(run_index, rules=rules), jobs, workers), 1):
        report.add(result)
        if progress is not None:
            progress(done)
    report.failures.sort(key=lambda f: f.index)
    report.failures = [shrink_failure(f, rules) if i < SHRUNK_AT_MOST else f for i, f in enumerate(report.failures)]
    return report


def shrink_failure(f: Failure, rules: Rules | None = None, budget: int = SHRINK_BUDGET) -> Failure:
    """`f` with its schedule shrunk while it still fails one of the same ways."""
    kinds = {v.kind for v in f.violations}

    def fails(s: Schedule) -> bool:
        return any(v.kind in kinds for v in run_schedule(s, rules).violations)

    return Failure(f.seed, f.index, f.violations, shrink(generate(f.seed, f.index), fails, budget))


def _map(run: Callable[[tuple[int, int]], RunResult], jobs: list[tuple[int, int]],
         workers: int) -> Iterable[RunResult]:
    if workers <= 1:
        yield from map(run, jobs)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap_unordered(run, jobs, chunksize=8)
