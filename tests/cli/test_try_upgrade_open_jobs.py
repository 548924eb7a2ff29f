"""`btt-chain try-upgrade` over spec 14's re-keying of compute's eviction index, on chains with open jobs: the trial
passes (the migration's count is the work it has left, none once it ran), the migration's effect on the state is the
one the chain itself reaches, and a --workdir that cannot be made is one `error:` line."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from cli.try_upgrade import try_upgrade
from runtime.compute import storage
from runtime.compute.migrations import EVICTABLE_BY_PRICE
from runtime.compute.types import COMMITTED, JOB_OPEN, Assignment
from runtime.context import EMERGENCY
from runtime.overlay import DictState, Overlay
from runtime.specs import running_spec
from runtime.storage_version import storage_version
from tests.cli.test_try_upgrade import args, build_base, fingerprint
from tests.runtime.test_spec14_upgrade import spec13_chain_with_open_jobs
from tests.support.cli_runner import assert_one_error_line, run

REKEY = "compute: eviction by whole price, owners' eviction indexes"


def eviction_indexes(state: Overlay) -> tuple[set[bytes], set[bytes], set[bytes]]:
    return ({k for k, _ in storage.evictable.items(state)}, {k for k, _ in storage.evictable_owned.items(state)},
            {k for k, _ in storage.evictable_by_owner.items(state)})


@pytest.mark.parametrize("to", [14, 16])
def test_a_spec_13_chain_with_open_jobs_passes_every_check_and_its_state_is_the_chains(to: int) -> None:
    chain, jobs, owner = spec13_chain_with_open_jobs()
    before = dict(chain.backend.data)
    trial = try_upgrade(chain.backend, chain.number, b"\x01" * 32, to)
    assert trial.ok, trial.first_fault()
    assert all(c.ok for c in trial.checks)
    assert chain.backend.data == before  # nothing written to what it read
    rekeys = [r for r in trial.migrations if r.name == REKEY]
    assert len(rekeys) == 1  # spec 14's: spec 15's and 16's runner passes it by, compute being past it, unshown
    assert (rekeys[0].counted, rekeys[0].items) == (3, 3)
    assert trial.state is not None and EVICTABLE_BY_PRICE.count(trial.state) == 0

    # the migration's effect is unchanged: the indexes the trial leaves are the ones the chain's own upgrade leaves,
    # every waiting job under its whole price, the owned one in the owners' indexes, no spec-13 key left
    chain.dispatch(EMERGENCY, "system.schedule_spec", 14, chain.number + 2)
    while running_spec(chain.view()) != 14 or storage_version(chain.view(), "compute") != 2:
        chain.run_block([])
    view = chain.view()
    js = [storage.jobs.get(view, j) for j in jobs]
    assert all(j is not None and j.status == JOB_OPEN for j in js)
    keys = {storage.evictable_key(j.priority, j.price, j.id) for j in js if j is not None}
    owned_key = storage.evictable_key(js[1].priority, js[1].price, js[1].id)  # type: ignore[union-attr]
    assert eviction_indexes(view) == (keys, {owned_key}, {owner + owned_key})
    assert eviction_indexes(trial.state) == eviction_indexes(view)


def test_the_count_is_the_work_left_and_a_step_also_passes_the_committed_jobs() -> None:
    """The step passes every open job's deadline entry (its items, which the runner weighs) and re-keys those no
    provider committed to; the count is those not yet re-keyed: all of them before, none after, and none on a state
    the step ran on again."""
    chain, jobs, owner = spec13_chain_with_open_jobs()
    state = Overlay(DictState(dict(chain.backend.data)))
    # a provider committed to the first job: spec 13 took it out of the eviction index
    first = storage.jobs.get(state, jobs[0])
    assert first is not None
    storage.evictable.remove(state, storage.evictable_key(first.priority, first.rank, first.id))
    storage.jobs.put(state, first.id, replace(first, assignments=(
        Assignment(b"\x07" * 32, first.price, COMMITTED, chain.number),)))
    assert storage.open_jobs.get(state) == 3 and EVICTABLE_BY_PRICE.count(state) == 2

    assert EVICTABLE_BY_PRICE.step(state, b"", 1 << 20) == (None, 3)
    assert EVICTABLE_BY_PRICE.count(state) == 0 and storage.open_jobs.get(state) == 3
    js = [storage.jobs.get(state, j) for j in jobs[1:]]
    keys = {storage.evictable_key(j.priority, j.price, j.id) for j in js if j is not None}
    owned_key = storage.evictable_key(js[0].priority, js[0].price, js[0].id)  # type: ignore[union-attr]
    assert eviction_indexes(state) == (keys, {owned_key}, {owner + owned_key})  # the committed job is not there

    done = dict(state.changes())
    assert EVICTABLE_BY_PRICE.step(state, b"", 1 << 20) == (None, 3)  # again: the same entries, nothing changed
    assert dict(state.changes()) == done and EVICTABLE_BY_PRICE.count(state) == 0

    # a step that stopped short leaves work its count finds
    halfway = Overlay(DictState(dict(chain.backend.data)))
    assert EVICTABLE_BY_PRICE.count(halfway) == 3
    cursor, items = EVICTABLE_BY_PRICE.step(halfway, b"", 1)
    assert cursor is not None and items == 1 and EVICTABLE_BY_PRICE.count(halfway) == 2


def test_the_recorded_spec_11_network_with_open_jobs_upgrades_to_spec_14_and_16(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The recorded network's databases hold open jobs: the re-keying counts those it has to re-key and does them, and
    every check passes (it reported 'leaves 4 items undone' and exited 1: the count was the open jobs, which stay
    open; to spec 16, three times)."""
    from btt_chain.testnet.manifest import load_manifest
    from btt_chain.testnet.upgrade import unpack

    plan = load_manifest("upgrade").upgrade
    assert plan is not None
    unpack(plan, tmp_path)
    chain = str(tmp_path / "chain-spec.json")
    before = fingerprint(tmp_path / "v0")
    for to in ("14", "16"):
        code, out, err = run(capsys, "try-upgrade", "--chain", chain, "--base-path", str(tmp_path / "v0"), "--to", to,
                             "--json")
        assert code == 0, err
        report = json.loads(out)
        assert report["ok"] and all(c["ok"] for c in report["checks"]), report["checks"]
        rekeys = [m for m in report["migrations"] if m["name"] == REKEY]
        # the jobs providers committed to are passed, not re-keyed: the items the step did, not the work counted
        assert 0 < rekeys[0]["counted"] <= rekeys[0]["items"]
        assert len(rekeys) == 1  # spec 14's; spec 15's and 16's pass it by (compute is past it) and do not show it
    code, out, _ = run(capsys, "try-upgrade", "--chain", chain, "--base-path", str(tmp_path / "v0"), "--to", "14")
    assert code == 0 and "BROKEN" not in out and "undone" not in out
    assert fingerprint(tmp_path / "v0") == before


@pytest.mark.parametrize(("workdir", "why"), [
    ("/proc/btt-no-such-dir", "No such file or directory"),
    ("/dev/null/sub", "Not a directory"),
])
def test_a_workdir_that_cannot_be_made_is_one_error_line(
    workdir: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "base"
    build_base(base, 11)
    before = fingerprint(base)
    code, _, err = run(capsys, *args(base, "--workdir", workdir))
    assert_one_error_line(code, err, f"cannot make a directory for the copy of the database in --workdir {workdir}")
    assert why in err
    assert fingerprint(base) == before
