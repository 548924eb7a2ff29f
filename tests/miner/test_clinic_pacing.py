"""The demo clinic paces itself to what its miners serve (issue 42, item 6): the clinic and a miner of
`--demo-economy` run against an in-process dev node block by block, on a clock of one second a block (the dev
slot), as long as ten minutes of chain time. Before the pacing rule the clinic posted every 4 s while one miner
took about 2 jobs an epoch, and after about three minutes every post was refused (`TooManyOpenJobs`) every 4 s.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from btt_chain.miner.clinic import (
    BACKOFF_MAX_S,
    ClinicLoop,
    JobTerms,
    MarketView,
    default_deadline_ms,
    hold_reason,
    refusal_name,
    resolve_model,
)
from btt_chain.miner.demo import CLINIC_EVERY_S, CLINIC_ITEMS
from btt_chain.miner.engine import MinerEngine
from btt_chain.miner.rpc_loop import MinerLoop, ProviderOptions
from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.keys import dev_keypair
from genesis.loader import canonical_json, load_chain_spec_doc
from tests.functional.framework import free_port
from tests.miner.test_miner_loop import UNIT, DevChain

MINER_CAPACITY = ProviderOptions().capacity
"""The demo miner's capacity (`btt-chain miner` registers with the default)."""


@contextmanager
def dev_chain(tmp_path: Path, params: dict[str, int]) -> Iterator[DevChain]:
    """An in-process dev node (alice validates) on the dev preset with `params` changed."""
    doc = load_chain_spec_doc("dev")
    for name, value in params.items():
        doc["parameters"][name]["value"] = value
    spec = tmp_path / "dev.json"
    spec.write_bytes(canonical_json(doc))
    node = Node(NodeConfig(chain=str(spec), base_path=None, tmp=True, validator_key=dev_keypair("alice"),
                           rpc_port=free_port()))
    try:
        yield DevChain(node)
    finally:
        node.close()


class Demo:
    """The demo's miner (alice) and clinic on one node; each block both tick, then the block is authored and the
    clinic's clock moves on by one slot."""

    def __init__(self, dev: DevChain, tmp_path: Path, clinic: str = "ferdie", price: int = UNIT) -> None:
        self.dev = dev
        self.now = 0.0
        self.mlines: list[str] = []
        self.lines: list[str] = []
        self.miner = MinerLoop(dev.rpc, dev.address("alice"), MinerEngine(tmp_path / "miner"),
                               dev.submitter(dev_keypair("alice")), self.mlines.append)
        self.miner.ensure_registered(ProviderOptions())
        model, name = resolve_model(dev.rpc, "breast-cancer-v1")
        deadline = default_deadline_ms(dev.rpc, model, CLINIC_ITEMS, 1)
        self.clinic = ClinicLoop(dev.rpc, dev.address(clinic), JobTerms(model, name, CLINIC_ITEMS, price, 1, deadline),
                                 dev.submitter(dev_keypair(clinic)), self.lines.append, every_s=CLINIC_EVERY_S,
                                 clock=lambda: self.now)

    def block(self) -> None:
        self.miner.tick()
        self.clinic.tick()
        self.dev.author()
        self.now += 1.0

    def jobs(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            page = self.dev.rpc.call("btt_jobs", None, None, None, 50, None, out[-1]["id"] if out else None)
            out += page
            if len(page) < 50:
                return out


def test_the_clinic_posts_as_fast_as_its_miner_serves_and_is_never_refused(tmp_path: Path) -> None:
    with dev_chain(tmp_path, {}) as dev:
        demo = Demo(dev, tmp_path)
        views: list[MarketView] = []
        for _ in range(600):  # ten minutes of dev slots, three times as long as the unpaced clinic lasted
            demo.block()
            views.append(demo.clinic.market_view())
        jobs = demo.jobs()
    bound = views[0].max_held
    assert max(v.held for v in views) <= MINER_CAPACITY + 1 < bound  # never near the per-requester bound
    assert max(len(v.waiting) for v in views) <= 1  # one job waits for the miner at most
    assert sum(1 for v in views if v.waiting) > 100  # ... and the miner mostly has one to take when a slot frees
    assert demo.clinic.refused == 0 and not [x for x in demo.lines if "refused" in x or "not posting" in x]
    assert len(jobs) == demo.clinic.posted and {j["requester"] for j in jobs} == {dev.address("ferdie")}
    closed = [j for j in jobs if j["status"] != "open"]
    assert Counter(j["status"] for j in closed) == {"done": len(closed)}  # every job settled, none expired
    # a done job's result is settled, or verified and still in its challenge window
    assert Counter(a["state"] for j in closed for a in j["assignments"]).keys() <= {"settled", "verified"}
    # the clinic posted what the miner could serve (about 2 an epoch of 20 slots), not one every 4 s (150)
    assert len(closed) >= 40 and demo.clinic.posted <= len(closed) + MINER_CAPACITY + 1 < 600 // CLINIC_EVERY_S // 2


def test_the_clinic_stops_at_the_per_requester_bound_and_says_so_once(tmp_path: Path) -> None:
    with dev_chain(tmp_path, {"compute.max_open_jobs_per_requester": 2}) as dev:
        demo = Demo(dev, tmp_path)
        held = []
        for _ in range(150):
            demo.block()
            held.append(demo.clinic.market_view().held)
        jobs = demo.jobs()
    assert max(held) == 2 and demo.clinic.refused == 0
    (said,) = [x for x in demo.lines if "not posting" in x]
    assert "holds 2 open jobs, the most one requester may (2)" in said
    assert sum(j["status"] == "done" for j in jobs) >= 4


def test_a_refused_post_is_said_once_and_the_next_try_backs_off(tmp_path: Path) -> None:
    with dev_chain(tmp_path, {}) as dev:
        demo = Demo(dev, tmp_path, price=1)  # below the floor: every post is refused by the dry run
        tries: list[int] = []
        for second in range(130):
            before = demo.clinic.refused
            demo.block()
            if demo.clinic.refused > before:
                tries.append(second)
        refusals = [x for x in demo.lines if "refused" in x]
        assert tries == [0, 8, 24, 56, 120]  # waits of 8, 16, 32 and 64 s, not a try every 4 s
        assert len(refusals) == 1 and "the next try waits 8 s" in refusals[0], demo.lines
        assert "compute.PriceTooLow" in refusals[0]
        assert demo.clinic.posted == 0

        demo.clinic.terms = dataclasses.replace(demo.clinic.terms, price=UNIT)
        demo.now += BACKOFF_MAX_S
        for _ in range(2):
            demo.block()
    assert demo.clinic.posted == 1 and demo.clinic.refused == 5
    assert demo.lines[-2:] == ["posting again after 5 refused posts in a row", demo.lines[-1]]
    assert demo.lines[-1].startswith("posted job #0")


def test_a_clinic_that_cannot_pay_a_post_holds_it_says_so_once_and_posts_once_topped_up(tmp_path: Path) -> None:
    with dev_chain(tmp_path, {}) as dev:
        demo = Demo(dev, tmp_path, clinic="penniless")
        for _ in range(20):
            demo.block()
        assert demo.clinic.posted == 0 and demo.clinic.refused == 0  # nothing sent, nothing charged
        (said,) = [x for x in demo.lines if "not posting" in x]
        assert "the account can spend 0; top it up" in said
        dev.submitter(dev_keypair("alice"))("balances.transfer_allow_death",
                                             (dev_keypair("penniless").public, 10 * UNIT), True)
        for _ in range(3):
            demo.block()
    assert demo.clinic.posted == 1 and any(x.startswith("posted job #0") for x in demo.lines)


def test_a_clinic_posts_no_more_than_its_budget(tmp_path: Path) -> None:
    with dev_chain(tmp_path, {}) as dev:
        demo = Demo(dev, tmp_path)
        demo.clinic.budget = 2 * UNIT + UNIT // 2  # two posts of 1 BTT and their rent, not three
        for _ in range(120):
            demo.block()
    assert demo.clinic.posted == 2 and demo.clinic.refused == 0
    (said,) = [x for x in demo.lines if "not posting" in x]
    assert "budget" in said and demo.clinic.spent <= demo.clinic.budget


VIEW = MarketView(held=3, waiting=(), max_held=32, open_jobs=10, max_open_jobs=1000, price=100, cheapest_price=50)


@pytest.mark.parametrize("changes, in_flight, kind", [
    ({}, 0, None),
    ({}, 1, "in flight"),
    ({"held": 32}, 0, "at most"),
    ({"held": 32, "waiting": (7,)}, 0, "at most"),
    ({"waiting": (7,)}, 0, "waiting"),
    ({"open_jobs": 1000}, 0, None),  # full, but this job outbids the cheapest waiting one: the chain evicts it
    ({"open_jobs": 1000, "cheapest_price": 100}, 0, "market full"),
    ({"open_jobs": 1000, "cheapest_price": None}, 0, "market full"),
    ({"spendable": 150, "needed": 150}, 0, None),
    ({"spendable": 149, "needed": 150}, 0, "low balance"),
    ({"budget_left": 149, "needed": 150}, 0, "budget"),
    ({"budget_left": 150, "needed": 150, "spendable": 10**30}, 0, None),
])
def test_the_pacing_rule(changes: dict[str, Any], in_flight: int, kind: str | None) -> None:
    view = MarketView(**{**VIEW.__dict__, **changes})
    hold = hold_reason(view, in_flight)
    assert (None if hold is None else hold.kind) == kind


def test_refusals_are_named_by_their_module_error() -> None:
    assert refusal_name("not sent: the call would fail: compute.TooManyOpenJobs: this account holds 32 open "
                        "jobs (nothing was charged)") == "compute.TooManyOpenJobs"
    assert refusal_name("pool is full") == "pool is full"
