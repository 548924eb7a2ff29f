"""Spec 13 -> 14 on a chain spec 13 made (issue 52): the parameters spec 14's rules read are added with the btt-21m
figures, and the eviction index spec 13 keyed by price per unit of work is keyed by whole price with the owners'
indexes beside it, so that compute's books hold under spec 14's rules after the migration and every job spec 13
left waiting can still be evicted by a job paying more in all."""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.hashing import ZERO_HASH
from genesis.loader import load_chain_spec
from runtime.compute import market, storage
from runtime.compute.model import model_hash
from runtime.compute.types import JOB_EVICTED
from runtime.context import EMERGENCY
from runtime.invariants import check_invariants
from runtime.params import storage as params
from runtime.params.migrations import ADDED_SPEC14, BOUNDS_SPEC14
from runtime.specs import running_spec
from runtime.storage_version import storage_version
from tests.runtime.test_compute import MODEL, min_price
from tests.support.models import dense_model
from tests.support.runtime_builder import UNIT, GenesisBuilder, assert_ok


def test_the_added_parameters_are_the_btt_21m_presets() -> None:
    live = {p.name: p for p in load_chain_spec("btt-21m").parameters}
    for name, entry in ADDED_SPEC14.items():
        p = live[name]
        assert (entry["value"], entry["min"], entry["max"], entry["unit"]) == (p.value, p.min, p.max, p.unit), name
    for name, bounds in BOUNDS_SPEC14.items():
        assert (bounds["min"], bounds["max"]) == (live[name].min, live[name].max), name


def spec13_chain_with_open_jobs() -> tuple[Any, list[int], bytes]:
    """A spec-13 chain with three jobs waiting (one on an owner's model): (chain, job ids, the model's owner). Spec 13
    ranks per unit of work: the big job pays the most in all and the least per multiply-accumulate."""
    chain = GenesisBuilder(balances={"alice": 1_000, "bob": 1_000, "charlie": 100_000, "dave": 10_000},
                           params={"compute.max_open_jobs": 3}).build(spec=13)
    tiny = dense_model("tiny-13", (2, 2))
    assert_ok(chain.submit("dave", "compute.register_model", tiny))
    owned = model_hash(tiny)
    floor = min_price(chain, items=1)
    chain.broken_on_purpose = {"compute.evictable"}  # spec 14's books read a spec-13 index until the migration
    jobs = []
    for model, items, price, seed in ((MODEL, 64, 40 * floor, 1), (owned, 1, 2 * floor, 2), (MODEL, 1, 3 * floor, 3)):
        jobs.append(storage.next_job_id.get(chain.view()))
        assert_ok(chain.submit("charlie", "compute.post_job", model, ZERO_HASH, bytes([seed]) * 32, items, price, 1,
                               600_000))
    # spec 13's genesis never had spec 14's parameters: take them out as it would have stored them
    for name in ADDED_SPEC14:
        for item in (params.value, params.bounds, params.unit, params.limits):
            chain.backend.data.pop(item.key(name), None)
    owner = storage.models.get(chain.view(), owned).owner  # type: ignore[union-attr]
    return chain, jobs, owner


def test_a_spec_13_chain_with_waiting_jobs_upgrades_and_its_jobs_are_evictable_by_whole_price() -> None:
    chain, jobs, _ = spec13_chain_with_open_jobs()
    floor = min_price(chain, items=1)
    chain.dispatch(EMERGENCY, "system.schedule_spec", 14, chain.number + 2)
    while running_spec(chain.view()) != 14 or storage_version(chain.view(), "compute") != 2:
        chain.run_block([])
    chain.broken_on_purpose = set()
    view = chain.view()
    assert not check_invariants(view)
    assert storage_version(view, "params") == 1
    assert all(params.value.get(view, name) == entry["value"] for name, entry in ADDED_SPEC14.items())
    fee = "compute.missed_assignment_fee"  # narrowed below the smallest hold: its value brought inside
    assert params.limits.get(view, fee) == (BOUNDS_SPEC14[fee]["min"], BOUNDS_SPEC14[fee]["max"])
    assert BOUNDS_SPEC14[fee]["min"] <= params.value.get(view, fee) <= BOUNDS_SPEC14[fee]["max"]
    assert market.cheapest_evictable(view) == (False, 2 * floor, jobs[1])
    assert market._cheapest(view, storage.evictable_owned) == (False, 2 * floor, jobs[1])
    # a job paying more in all than the cheapest takes its place under spec 14's rule
    assert_ok(chain.submit("charlie", "compute.post_job", MODEL, ZERO_HASH, b"\x09" * 32, 1, 2 * floor + UNIT // 10**6,
                           1, 600_000))
    assert storage.jobs.get(chain.view(), jobs[1]).status == JOB_EVICTED  # type: ignore[union-attr]
