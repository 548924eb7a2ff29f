"""Spec 18 -> 19 on a chain spec 18 made: spec 19 weighs and bounds the compute module's start-of-block work
(`runtime.compute.hook_budget`). Its one new parameter, `compute.hook_max_weight`, is written by the params migration
(2 -> 3) in the upgrade's first block, before the compute hook reads it; the backlog marker is absent until work
waits. Under spec 18 a mass expiry lands in one block whatever its size; from the upgrade on, the same work is spread
over blocks. Every block on both sides is checked against that spec's own books."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtime.compute import params as compute_params
from runtime.compute import storage
from runtime.compute.types import JOB_OPEN
from runtime.context import EMERGENCY
from runtime.params import storage as params
from runtime.specs import package_module, running_spec
from tests.runtime.test_compute import DEADLINE, MODEL, PRICE, SEED
from tests.support.runtime_builder import GenesisBuilder, TestChain

hook_budget = package_module(19, "runtime.compute.hook_budget")  # spec 19's own rules (spec 20 is the live runtime)
events = package_module(19, "runtime.compute.events")

PARAMS = {"compute.max_open_jobs": 40, "compute.max_open_jobs_per_requester": 40,
          "compute.unserved_wait_ms": 86_400_000}


@pytest.fixture
def heavy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(hook_budget, "EXPIRE_JOB", 250_000)  # two expiries fill the default budget
    yield


def post_many(chain: TestChain, jobs: int) -> None:
    first = chain.account("charlie").nonce
    chain.run_block([chain.sign("charlie", "compute.post_job", MODEL, bytes(32), SEED, 4, PRICE, 1, DEADLINE,
                                nonce=first + i) for i in range(jobs)])


def open_jobs(chain: TestChain) -> int:
    return sum(1 for _, j in storage.jobs.items(chain.view()) if j.status == JOB_OPEN)


def upgrade(chain: TestChain) -> None:
    chain.dispatch(EMERGENCY, "system.schedule_spec", 19, chain.number + 2)
    while running_spec(chain.view()) != 19:
        chain.run_block([])


def test_spec_18_expires_everything_at_once_and_spec_19_spreads_it_after_the_upgrade(heavy: None) -> None:
    chain = GenesisBuilder(params=dict(PARAMS)).build(18)
    assert chain.runtime.spec_version == 18
    view = chain.view()  # a chain born at spec 18 never had the parameter (the test builder writes every one)
    for item in (params.value, params.bounds, params.limits, params.unit):
        item.remove(view, compute_params.HOOK_MAX_WEIGHT)
    chain.backend.apply(view.changes())
    assert params.value.get(chain.view(), compute_params.HOOK_MAX_WEIGHT) is None
    post_many(chain, 6)
    chain.advance_time(DEADLINE + 1_000)
    chain.run_block([])
    assert open_jobs(chain) == 0  # spec 18: all six in one block, nothing charged
    upgrade(chain)
    view = chain.view()
    assert params.get_param(view, compute_params.HOOK_MAX_WEIGHT) == 500_000
    assert params.limits.get(view, compute_params.HOOK_MAX_WEIGHT) == (10_000, 1_000_000)
    assert hook_budget.backlog.key not in chain.snapshot()
    post_many(chain, 6)
    chain.advance_time(DEADLINE + 1_000)
    left = []
    while open_jobs(chain):
        chain.run_block([])
        left.append(open_jobs(chain))
        carried = [e for e in chain.events() if isinstance(e, events.WorkCarried)]
        assert bool(carried) == bool(left[-1])
    assert left == [4, 2, 0]
