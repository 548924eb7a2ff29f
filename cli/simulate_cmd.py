"""`btt-chain simulate`: randomized adversarial simulations of the node's consensus rules, in one process."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from btt_chain.primitives.errors import ConfigError
from cli.output import print_fields, print_json

MAX_WORKERS = 64


@click.group()
def simulate() -> None:
    """Run the node's own consensus rules under simulated networks and adversaries, and print figures."""


@simulate.command()
@click.option("--schedules", type=int, default=1000, show_default=True,
              help="Random schedules to run (every fourth gives the Byzantine validators >= 1/3 of the stake).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed of the schedules: (seed, index) replays one.")
@click.option("--workers", type=int, default=2, show_default=True, help="Processes running schedules.")
@click.option("--max-outage-epochs", "max_outage", type=int, default=300, show_default=True,
              help="Longest outage (a partition no side holds 2/3 of) a long-outage schedule draws (16 at least).")
@click.option("--replay", type=click.Path(dir_okay=False, path_type=Path),
              help="Run the one schedule in this JSON file (as a violation prints it) and print its verdict.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def finality(schedules: int, seed: int, workers: int, max_outage: int, replay: Path | None, as_json: bool) -> None:
    """Finality (Casper FFG, the vote rule, signed-vote records, fork choice) on simulated validators, observers and
    Byzantine validators, through delays, drops, partitions (one schedule in 16 a long outage of up to
    --max-outage-epochs), restarts that may lose the signing records or every file, key rotations (a Byzantine
    coalition's on one fork only) and set changes, then GST: prints safety, accountability, alarm and liveness figures,
    and every violation's seed with its schedule shrunk. Exits 1 on a violation."""
    if schedules < 1:
        raise ConfigError(f"--schedules must be at least 1 (got {schedules})")
    if seed < 0:
        raise ConfigError(f"--seed must not be negative (got {seed})")
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {MAX_WORKERS} (got {workers})")
    if not 16 <= max_outage <= 10_000:
        raise ConfigError(f"--max-outage-epochs must be between 16 and 10000 (got {max_outage})")
    if replay is not None:
        _replay(replay, as_json)
        return
    from btt_chain.finality_sim.campaign import run_campaign

    step = max(1, schedules // 10)

    def progress(done: int) -> None:
        if done % step == 0 or done == schedules:
            click.echo(f"simulated {done} of {schedules} schedules", err=True)

    started = time.monotonic()
    report = run_campaign(schedules, seed, workers, progress, max_outage=max_outage)
    figures = report.figures()
    figures["workers"] = workers
    figures["wall_seconds"] = round(time.monotonic() - started, 1)
    if as_json:
        print_json(figures)
    else:
        _print_figures(figures)
    if report.failures:
        raise SystemExit(1)


def _replay(path: Path, as_json: bool) -> None:
    from btt_chain.finality_sim.campaign import run_schedule
    from btt_chain.finality_sim.schedule import Schedule

    try:
        schedule = Schedule.from_json(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a schedule printed by `btt-chain simulate finality` ({exc})") from None
    problems = schedule.problems()
    if problems:
        raise ConfigError(f"{path}: {problems[0]}")
    verdict = run_schedule(schedule)
    doc = {"seed": schedule.seed, "index": schedule.index, "epochs": verdict.epochs,
           "finality_delay_after_gst_epochs": verdict.delay, "conflicting_finalizations": verdict.conflicts,
           "alarms": verdict.alarms, "violations": [{"kind": v.kind, "detail": v.detail} for v in verdict.violations]}
    if as_json:
        print_json(doc)
    else:
        print_fields([(k.replace("_", " "), v) for k, v in doc.items() if k != "violations"])
        for v in verdict.violations:
            click.echo(f"violation: {v.kind}: {v.detail}")
    if verdict.violations:
        raise SystemExit(1)


def _shares(s: dict[str, Any]) -> str:
    if not s.get("conflicts"):
        return "-"
    histogram = ", ".join(f"{k}: {v}" for k, v in s["histogram"].items())
    return f"{s['conflicts']} conflicts and alarms, smallest {s['min']} ({histogram})"


def _conflicts(c: dict[str, int]) -> str:
    return f"{c['pairs']} conflicting finalized pairs in {c['schedules']} schedules, {c['alarms']} alarms"


def _print_figures(f: dict[str, Any]) -> None:
    delay = f["finality_delay_after_gst_epochs"]
    conflicts = f["conflicting_finalizations"]
    coverage = f["evidence_min_offender_stake"]
    rows: list[tuple[str, Any]] = [
        ("seed", f["seed"]),
        ("schedules run", f"{f['schedules']} ({f['honest_majority_schedules']} honest-majority, "
                          f"{f['byzantine_third_schedules']} with >= 1/3 Byzantine stake)"),
        ("epochs simulated", f["epochs_simulated"]),
        ("finality delay after GST", f"worst {delay['worst']}, mean {delay['mean']}, p99 {delay['p99']} epochs "
                                     f"(bound B = {f['liveness_bound_epochs']})"),
        ("delay histogram", ", ".join(f"{d}: {n}" for d, n in delay["histogram"].items()) or "-"),
        ("conflicts, >= 1/3 Byzantine", _conflicts(conflicts["byzantine_third"])),
        ("conflicts, honest-majority", _conflicts(conflicts["honest_majority"])),
        ("evidence coverage", "-" if coverage is None else
         f"offenders hold >= {coverage} of the stake, {f['evidence_min_margin']} above the 1/3 (less churn) "
         "required"),
        ("convicted share by conflict", _shares(f["convicted_share_of_stake"])),
        ("alarms", f"{f['alarms']['of_them_alarmed']} of the {f['alarms']['nodes_that_finalized_a_conflict']} honest "
                   "nodes that finalized a conflicting checkpoint raised the alarm"),
        ("outages", f"longest {f['outages']['longest_epochs']} epochs; worst delay after GST by longest outage: " +
         (", ".join(f"{k}: {v}" for k, v in f["outages"]["worst_delay_after_gst_by_longest_outage"].items()) or "-")),
        ("changes", f"{f['key_rotations']} key rotations, {f['restarts_losing_files']} restarts that lost files"),
        ("violations", len(f["violations"])),
        ("wall time", f"{f['wall_seconds']} s on {f['workers']} workers"),
    ]
    print_fields(rows)
    for v in f["violations"]:
        click.echo(f"violation: seed {v['seed']} index {v['index']}: {', '.join(v['kinds'])}: {v['first']}")
        if v["shrunk_schedule"] is not None:
            click.echo(f"  shrunk schedule (replay with --replay FILE): {json.dumps(json.loads(v['shrunk_schedule']))}")
