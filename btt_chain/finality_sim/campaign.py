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
from btt_chain.finality_sim.generator import MAX_OUTAGE_EPOCHS, generate
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
    outage_epochs: int = 0
    """The longest partition or node outage of the schedule, in epochs."""
    rotations: int = 0
    losses: int = 0
    """Restarts that lost the signing records or every file."""


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
    conflicted_nodes: int = 0
    alarmed_nodes: int = 0
    convicted: list[Fraction] = field(default_factory=list)
    """The convicted share of stake of every conflict and alarm."""
    outage_delays: dict[int, int] = field(default_factory=dict)
    """The worst finality delay after GST, by the longest outage of a schedule (bucketed)."""
    longest_outage: int = 0
    rotations: int = 0
    losses: int = 0

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
        self.conflicted_nodes += v.conflicted_nodes
        self.alarmed_nodes += v.alarmed_nodes
        self.convicted.extend(v.coverages)
        self.longest_outage = max(self.longest_outage, r.outage_epochs)
        self.rotations += r.rotations
        self.losses += r.losses
        if v.delay is not None:
            bucket = _bucket(r.outage_epochs)
            self.outage_delays[bucket] = max(self.outage_delays.get(bucket, 0), v.delay)

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
            "alarms": {"nodes_that_finalized_a_conflict": self.conflicted_nodes, "of_them_alarmed": self.alarmed_nodes},
            "convicted_share_of_stake": _shares(self.convicted),
            "outages": {"longest_epochs": self.longest_outage,
                        "worst_delay_after_gst_by_longest_outage": {
                            f">= {b} epochs": d for b, d in sorted(self.outage_delays.items())}},
            "key_rotations": self.rotations,
            "restarts_losing_files": self.losses,
            "evidence_min_offender_stake": None if self.coverage is None else round(float(self.coverage), 4),
            "evidence_min_margin": None if self.margin is None else round(float(self.margin), 4),
            "violations": [
                {"seed": f.seed, "index": f.index, "kinds": sorted({v.kind for v in f.violations}),
                 "first": f.violations[0].detail,
                 "shrunk_schedule": None if f.shrunk is None else f.shrunk.to_json()}
                for f in self.failures
            ],
        }


OUTAGE_BUCKETS = (0, 4, 16, 64, 128, 256)


def _bucket(epochs: int) -> int:
    return max(b for b in OUTAGE_BUCKETS if epochs >= b)


def _shares(shares: list[Fraction]) -> dict[str, Any]:
    """The convicted shares of stake, summed up: how many conflicts, the smallest, and a histogram by tenths."""
    if not shares:
        return {"conflicts": 0}
    tenths: dict[str, int] = {}
    for f in shares:
        low = min(9, int(f * 10))
        key = f"{low / 10:.1f}-{(low + 1) / 10:.1f}"
        tenths[key] = tenths.get(key, 0) + 1
    return {"conflicts": len(shares), "min": round(float(min(shares)), 4), "histogram": dict(sorted(tenths.items()))}


def outage_epochs(s: Schedule) -> int:
    """The longest partition or node outage of `s`, in whole epochs."""
    spans = [p.end - p.start for p in s.partitions] + [r.up - r.down for r in s.restarts]
    return max(spans, default=0) // s.epoch_ticks


def run_schedule(schedule: Schedule, rules: Rules | None = None) -> Verdict:
    return check(Simulation(schedule, rules).run())


def run_index(seed_index: tuple[int, int], rules: Rules | None = None,
              max_outage: int = MAX_OUTAGE_EPOCHS) -> RunResult:
    seed, index = seed_index
    s = generate(seed, index, max_outage)
    return RunResult(index, s.byzantine_third, run_schedule(s, rules), outage_epochs(s), len(s.rotations),
                     sum(1 for r in s.restarts if r.lose))


def run_campaign(schedules: int, seed: int, workers: int, progress: Callable[[int], None] | None = None,
                 rules: Rules | None = None, max_outage: int = MAX_OUTAGE_EPOCHS) -> Report:
    """Run schedules 0..schedules-1 of `seed` on `workers` processes (with `rules`, the node's by default; long
    outages of at most `max_outage` epochs); shrink the first failures."""
    report = Report(seed)
    jobs = [(seed, i) for i in range(schedules)]
    for done, result in enumerate(_map(partial(run_index, rules=rules, max_outage=max_outage), jobs, workers), 1):
        report.add(result)
        if progress is not None:
            progress(done)
    report.failures.sort(key=lambda f: f.index)
    report.failures = [shrink_failure(f, rules, max_outage=max_outage) if i < SHRUNK_AT_MOST else f
                       for i, f in enumerate(report.failures)]
    return report


def shrink_failure(f: Failure, rules: Rules | None = None, budget: int = SHRINK_BUDGET,
                   max_outage: int = MAX_OUTAGE_EPOCHS) -> Failure:
    """`f` with its schedule shrunk while it still fails one of the same ways."""
    kinds = {v.kind for v in f.violations}

    def fails(s: Schedule) -> bool:
        return any(v.kind in kinds for v in run_schedule(s, rules).violations)

    return Failure(f.seed, f.index, f.violations, shrink(generate(f.seed, f.index, max_outage), fails, budget))


def _map(run: Callable[[tuple[int, int]], RunResult], jobs: list[tuple[int, int]],
         workers: int) -> Iterable[RunResult]:
    if workers <= 1:
        yield from map(run, jobs)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap_unordered(run, jobs, chunksize=8)
