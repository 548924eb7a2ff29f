"""`bench upgrade`: the synthetic spec-11 state is what spec 11 reads and both migrations take it whole, the figures
reach the printed rows, and the weight follows the fastest run with the margin."""

from __future__ import annotations

import pytest

from bench.upgrade_bench import Block, Figures, largest_step, measure, spec11_state, weight_of
from runtime.evidence.migrations import REPORTS_V0
from runtime.overlay import DictState, Overlay
from runtime.specs import package_module, runtime_of
from tests.support.cli_runner import run


def test_the_synthetic_state_is_spec_11s_and_every_item_is_one_of_a_migration() -> None:
    state = Overlay(DictState(spec11_state(1_200, 300)))
    old_session = package_module(11, "runtime.session.storage")
    assert len(old_session.validators.get(state)) == len(old_session.queued.get(state)) == 1_000
    assert not list(old_session.key_owner.items(state))
    assert len(list(REPORTS_V0.items(state))) == 300
    session_m, evidence_m = runtime_of(12).migrations
    assert session_m.count(state) == 1_200 and evidence_m.count(state) == 300


def test_measure_prints_each_migrations_figures_and_a_weight_from_the_fastest_run() -> None:
    figures = measure(200, 150, 2, 1_000_000)
    assert [f.name for f in figures] == [m.name for m in runtime_of(12).migrations]
    assert [f.items for f in figures] == [200, 150]
    for f in figures:
        assert len(f.runs) == 2 and f.weight == weight_of(sum(f.fastest)) >= 1
        assert sum(b.items for b in f.blocks) == f.items  # the stepped run did them all
        labels = [label for label, _ in f.rows()]
        assert labels == [f.name, f"{f.name}: weight", f"{f.name}: in such steps"]


def test_the_weight_is_the_fastest_run_times_the_margin_rounded_up_and_the_step_fits_the_budget() -> None:
    f = Figures("m", 10, ((3.0, 7.0), (2.0, 2.0), (9.0, 9.0)), 40, 1_000_000, (Block(10, 0.001, 0.001),))
    assert f.fastest == (2.0, 2.0) and f.weight == 6  # 4.0 x 1.3 = 5.2, rounded up
    assert f.median == 10.0
    assert largest_step(6, 1_000_000) == (750_000 - 10) // 6
    assert largest_step(10**9, 100_000) == 1  # a step does at least one item


def test_the_command_runs_and_prints_both_migrations(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "bench", "upgrade", "--validators", "30", "--offences", "20", "--runs", "1")
    assert code == 0, err
    for m in runtime_of(12).migrations:
        assert f"{m.name}: weight" in out
