"""The compute marketplace driven at random through its whole life: posts (some evicting others from a full
market, assigned or not), cancels, commits (honest and faked; some never come, so the job moves on), reveals (on time,
after the reveal window and never: one provider dozes), demands,
output chunks on time and late, challenges, unbonding attempts; with place rent, the record-weighted draw and
failed places posted again (spec 14). After every block the test chain checks the
whole-state invariants, compute's books among them (`runtime.compute.invariants.check_books`: open-job counts,
queue, eviction and deadline indexes, the sample queue, maturity and late-reveal indexes, posted chunks, every
provider's counters). This run keeps the parameters fixed, so it also checks the rules that hold while they stay put
(`check_parameter_rules`: each provider's total held is the sum of its at-risk assignments' holds and its bond covers
it after every slash and fee, no provider charged more missed-deadline fees in an epoch than the cap), and, since its
requesters reserve nothing else, that each requester's reserved balance is exactly what compute holds of it
(`held_by_compute`), and that the explorer's reserve rows (`btt_chain.rpc.explorer_reserves`) add up to every
requester's and provider's reserved balance (every tenth block).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.merkle import merkle_levels, merkle_proof
from btt_chain.rpc.explorer_reserves import reserve_rows
from runtime.compute import storage
from runtime.compute.invariants import check_parameter_rules, held_by_compute
from runtime.compute.types import ASSIGNED, COMMITTED, JOB_EVICTED, JOB_OPEN, LATE, STALLED, VERIFIED
from runtime.overlay import Overlay
from runtime.system import storage as system
from tests.runtime.test_compute import MODEL, Worker, make_chain, min_price, register
from tests.support.runtime_builder import UNIT, TestChain, acct

PROVIDERS = ("bob", "eve", "ferdie")
DOZY = "eve"
"""Reveals seldom: its deadlines pass after its sample was drawn, and it opens the sample late, if at all."""
REQUESTERS = ("charlie", "dave")
BLOCKS = 220


def check_run(chain: TestChain) -> None:
    view: Overlay = chain.view()
    assert check_parameter_rules(view) == []
    held = held_by_compute(view)
    for r in REQUESTERS:
        assert chain.account(r).reserved == held.get(acct(r), 0), r
    if system.number.get(view) % 10 == 0:  # the explorer's rows (issue 53) add up to every reserved balance
        for name in (*REQUESTERS, *PROVIDERS):
            found = reserve_rows(view, acct(name))
            assert found.complete and found.unattributed == 0, (name, found)


def planner(planned: list[tuple[str, str, tuple[object, ...]]]) -> Callable[..., None]:
    def plan(who: str, kind: str, name: str, *args: object) -> None:
        planned.append((who, kind, (name, *args)))

    return plan


@dataclass
class Run:
    """What a random run did: the chain, successful calls by kind, the events' names, and the calls refused before
    their fee by kind (`refused`, with the reasons' first words)."""

    chain: TestChain
    done: dict[str, int] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    refused: dict[str, int] = field(default_factory=dict)


def random_market(seed: int = 24_2026, blocks: int = BLOCKS, outages: tuple[int, ...] = (0, 0, 0, 2_000),
                  each_block: Callable[[TestChain], None] = lambda chain: None,
                  params: dict[str, int] | None = None) -> Run:
    """The run: `outages` are the times between blocks drawn from (ms); `each_block` checks more after every block;
    `params` set more parameters."""
    chain = make_chain(
        balances={"alice": 1_000, "bob": 5_000, "charlie": 100_000, "dave": 100_000, "eve": 5_000, "ferdie": 5_000},
        params={"compute.max_open_jobs": 5, "compute.max_open_jobs_per_requester": 4,
                "compute.commit_window_slots": 3, "compute.reveal_window_slots": 3, "compute.outputs_due_ms": 6_000,
                "compute.challenge_window_ms": 8_000, "compute.max_open_share_bps": 4_000,
                "compute.place_rent": UNIT // 10_000, "compute.record_weight_bps": 10_000,
                "compute.unserved_wait_ms": 60_000, **(params or {})},
    )
    run = Run(chain)
    done, seen = run.done, run.seen
    chain.burns_name_their_source = True  # every fee, rent and slash burned is named by the module that made it
    for name in PROVIDERS:  # ferdie fakes item 0 of every job: his bond can take many slashes
        register(chain, name, capacity=3, bond=(40 if name == "ferdie" else 5) * 25 * UNIT)
    rng = random.Random(seed)
    fakes = {name: frozenset({0}) if name == "ferdie" else frozenset() for name in PROVIDERS}
    floor = min_price(chain, 16, 2)
    for _ in range(blocks):
        view = chain.view()
        jobs = [j for _, j in storage.jobs.items(view)]
        nonces: dict[str, int] = {}
        planned: list[tuple[str, str, tuple[object, ...]]] = []
        plan = planner(planned)

        if rng.random() < 0.5:
            plan(rng.choice(REQUESTERS), "post", "compute.post_job", MODEL, ZERO_HASH, rng.randbytes(32),
                 rng.choice((4, 16)), rng.choice((floor, 3 * floor, 10 * floor)), rng.choice((1, 2)), 30_000)
        for job in jobs:
            requester = next(n for n in REQUESTERS if acct(n) == job.requester)
            if job.status == JOB_OPEN and all(a.state == STALLED for a in job.assignments) and rng.random() < 0.03:
                plan(requester, "cancel", "compute.cancel_job", job.id)
            for a in job.assignments:
                name = next(n for n in PROVIDERS if acct(n) == a.provider)
                worker = Worker(chain, name, fake=fakes[name])
                if a.state == ASSIGNED and job.status == JOB_OPEN and rng.random() < 0.6:
                    plan(name, "commit", "compute.commit_result", job.id, worker.commitment(job.id))
                elif a.state == COMMITTED and job.status == JOB_OPEN and worker.sample(job.id) and \
                        rng.random() < (0.05 if name == DOZY else 0.8):
                    plan(name, "reveal", "compute.reveal_result", *worker.reveal_args(job.id))
                elif a.state == LATE and rng.random() < 0.3:
                    plan(name, "late_reveal", "compute.reveal_result", *worker.reveal_args(job.id))
                elif a.state == VERIFIED and a.outputs_due_ms and not a.outputs_posted and rng.random() < 0.6:
                    first, part, proof = worker.chunks(job.id)[0]
                    plan(name, "post_outputs", "compute.post_outputs", job.id, first, part, proof)
                elif a.state == VERIFIED and not a.outputs_due_ms and rng.random() < 0.15:
                    plan(requester, "demand", "compute.demand_outputs", job.id, a.provider)
                elif a.state == VERIFIED and fakes[name] and rng.random() < 0.3:
                    inputs, outputs = worker.items(job.id)
                    plan("alice", "challenge", "compute.challenge", job.id, a.provider, 0, inputs[0], outputs[0],
                         merkle_proof(merkle_levels(inputs), 0), merkle_proof(merkle_levels(outputs), 0))
        if rng.random() < 0.05:
            plan(rng.choice(PROVIDERS), "unbond", "bonds.unbond", rng.choice((UNIT, 25 * UNIT, 100 * UNIT)))
        xts, kinds = [], []
        for who, kind, call in planned:
            nonce = nonces.setdefault(who, chain.account(who).nonce)
            xts.append(chain.sign(who, *call, nonce=nonce))  # type: ignore[arg-type]
            nonces[who] = nonce + 1
            kinds.append(kind)
        ex = chain.begin_block()
        for xt, kind in zip(xts, kinds, strict=True):
            try:
                out = chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
            except InvalidExtrinsic as exc:
                # a nonce left behind by a refused predecessor (the wallet would sign again), or a refusal
                why = " ".join(str(exc).split()[:2])
                run.refused[why] = run.refused.get(why, 0) + 1
                continue
            done[kind] = done.get(kind, 0) + out.success
        chain.end_block()
        seen.update(type(e).__name__ for e in chain.events())
        check_run(chain)
        each_block(chain)
        chain.advance_time(rng.choice(outages))
    return run


def test_the_marketplace_books_balance_through_a_random_run() -> None:
    run = random_market()
    done, seen = run.done, run.seen
    # the run exercised the marketplace, not just refusals
    for kind in ("post", "commit", "reveal", "late_reveal", "demand", "post_outputs", "challenge", "cancel"):
        assert done.get(kind, 0) > 0, (kind, done)
    assert any(j.status == JOB_EVICTED for _, j in storage.jobs.items(run.chain.view())), "no eviction happened"
    assert {"AssignmentStalled", "RevealMissed", "JobEvicted", "PlaceRentPaid", "JobReassigned"} <= seen, seen
