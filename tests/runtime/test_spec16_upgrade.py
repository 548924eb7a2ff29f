"""Spec 15 -> 16 on a chain spec 15 made: spec 15 dropped a private job's decoy cases when the job closed with its
assignment late, so no late reveal of it could land and the honest late provider was slashed as withholding. Spec
16 keeps them until the late assignment resolves, and its migration (compute 2 -> 3) lets the late assignments spec
15 left uncheckable open nothing: their reveal ends as honest late work (the fee, no slash, no credit)."""

from __future__ import annotations

from runtime.compute import storage
from runtime.compute.late_decoys_migration import LATE_DECOYS
from runtime.compute.types import FRAUD, LATE, MISSED, PRIVATE_CHECKED
from runtime.context import EMERGENCY
from runtime.specs import running_spec
from runtime.storage_version import storage_version
from tests.runtime.test_compute_private_random import held_decoys, late_chain, late_private_job
from tests.support.private_jobs import job_of, record_of


def test_a_late_private_job_spec_15_left_uncheckable_opens_nothing_after_the_upgrade() -> None:
    chain = late_chain(spec=15)
    assert chain.runtime.spec_version == 15 and storage_version(chain.view(), "compute") == 2
    chain, clinic, worker, left = late_private_job(chain=chain)
    assert job_of(chain, left).assignments[0].state == LATE
    assert held_decoys(chain, left) == [] and record_of(chain, left).positions == tuple(sorted(clinic.positions))
    assert LATE_DECOYS.count(chain.view()) == 1
    chain.dispatch(EMERGENCY, "system.schedule_spec", 16, chain.number + 2)
    while running_spec(chain.view()) != 16 or storage_version(chain.view(), "compute") != 3:
        chain.run_block([])
        assert job_of(chain, left).assignments[0].state == LATE, "the late-reveal time ended before the upgrade"
    assert LATE_DECOYS.count(chain.view()) == 0
    rec = record_of(chain, left)
    assert rec.positions == () and rec.outcome == PRIVATE_CHECKED  # nothing left to check; the rest as it was
    bond = chain.account("bob").reserved
    out = worker.reveal(left)  # it opens nothing now
    assert out.success, out.error
    assert job_of(chain, left).assignments[0].state == MISSED
    (verified,) = [e for e in chain.events() if type(e).__name__ == "LateRevealVerified"]  # spec 16's own class
    assert bond - chain.account("bob").reserved == verified.slashed  # the fee, not the hold
    # a job of the upgraded chain keeps its decoys past its close and is checked on them
    chain, clinic, worker, job = late_private_job(skip_a_decoy=True, chain=chain, seed=8)
    assert held_decoys(chain, job) == sorted(clinic.positions)
    assert worker.reveal(job).success
    assert job_of(chain, job).assignments[0].state == FRAUD and held_decoys(chain, job) == []


def test_the_migration_touches_nothing_else() -> None:
    """On a spec-16 chain (nothing dropped) the migration finds nothing: a late private job still holding its cases
    is passed by and nothing is written."""
    chain, _, _, job = late_private_job()
    assert held_decoys(chain, job)
    assert LATE_DECOYS.count(chain.view()) == 0
    view = chain.view()
    cursor, done = LATE_DECOYS.step(view, b"", 10)
    assert cursor is None and done == len(list(storage.late_reveals.items(view))) == 1
    assert not view.changes()
