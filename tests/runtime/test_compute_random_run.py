"""The compute marketplace driven at random through its whole life: posts (some evicting others from a full
market), cancels, commits (honest and faked), reveals (on time, late and never: one provider dozes), demands,
output chunks on time and late, challenges, unbonding attempts. After every block the test chain checks the
issuance invariants, and this test checks the marketplace's own books against the jobs themselves:

- the open-job counts (all, and per requester) and the queue and eviction indexes;
- every provider's open and at-risk counts, and a bond that covers a fixed slash for each at-risk assignment
  after every slash and missed-deadline fee (a fee never takes the bond below that floor);
- the sample queue's count, one maturity entry for each verified assignment at its closing time, and one
  late-reveal entry for each late assignment;
- no provider charged more missed-deadline fees in an epoch than the cap;
- posted chunks only for verified assignments, as many as their posted items fill;
- each requester's reserved balance equal to the escrow of its unsettled assignments and unassigned shares plus
  its unspent posting deposits (a late assignment's escrow went back at the deadline).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.merkle import merkle_levels, merkle_proof
from runtime.bonds import storage as bonds
from runtime.compute import costs, storage
from runtime.compute.providers import slash_per_assignment
from runtime.compute.types import (
    ASSIGNED,
    AT_RISK_STATES,
    COMMITTED,
    JOB_EVICTED,
    JOB_OPEN,
    LATE,
    OPEN_STATES,
    VERIFIED,
)
from runtime.overlay import Overlay
from runtime.params.storage import get_param
from tests.runtime.test_compute import MODEL, Worker, make_chain, min_price, register
from tests.support.runtime_builder import UNIT, TestChain, acct

PROVIDERS = ("bob", "eve", "ferdie")
DOZY = "eve"
"""Reveals seldom: its deadlines pass after its sample was drawn, and it opens the sample late, if at all."""
REQUESTERS = ("charlie", "dave")
BLOCKS = 220


def check_books(chain: TestChain) -> None:
    view: Overlay = chain.view()
    jobs = [j for _, j in storage.jobs.items(view)]
    open_jobs = [j for j in jobs if j.status == JOB_OPEN]
    assert storage.open_jobs.get(view) == len(open_jobs)
    for r in REQUESTERS:
        assert storage.open_by_requester.get(view, acct(r)) == sum(j.requester == acct(r) for j in open_jobs)
    assert {storage.job_of_evictable_key(k) for k, _ in storage.evictable.items(view)} == {
        j.id for j in open_jobs if not j.assignments}
    queued = {int.from_bytes(k[-8:], "big") for k, _ in storage.queue.items(view)}
    assert queued == {j.id for j in open_jobs if len(j.assignments) < j.redundancy}
    slash = slash_per_assignment(view)
    for name in PROVIDERS:
        p = storage.providers.get(view, acct(name))
        if p is None:
            continue
        mine = [a for j in jobs for a in j.assignments if a.provider == acct(name)]
        assert p.active == sum(a.state in OPEN_STATES for a in mine), name
        assert p.at_risk == sum(a.state in AT_RISK_STATES for a in mine), name
        led = bonds.ledger.get(view, acct(name))
        assert (0 if led is None else led.active) >= p.at_risk * slash, name  # fees and slashes included
    waiting = sum(len(g) for _, g in storage.sample_waiting.items(view))
    assert storage.samples_waiting.get(view) == waiting
    maturing = {k for k, _ in storage.maturing.items(view)}
    verified = [(j, a) for j in jobs for a in j.assignments if a.state == VERIFIED]
    assert maturing == {storage.maturing_key(a.matures_ms, j.id, a.provider) for j, a in verified}
    late = {k for k, _ in storage.late_reveals.items(view)}
    assert late == {storage.maturing_key(a.matures_ms, j.id, a.provider)
                    for j in jobs for a in j.assignments if a.state == LATE}
    cap = get_param(view, "compute.max_missed_per_epoch")
    assert all(o.charged <= cap for _, o in storage.outages.items(view))
    chunks: dict[tuple[int, bytes], int] = {}
    for key, _ in storage.posted_chunks.items(view):
        jid, who = int.from_bytes(key[:8], "big"), key[8:40]
        chunks[(jid, who)] = chunks.get((jid, who), 0) + 1
    for (jid, who), n in chunks.items():
        job = storage.jobs.get(view, jid)
        a = job.assignments[job.assignment_of(who)]  # type: ignore[index]
        reg = storage.models.get(view, job.model)  # type: ignore[union-attr]
        assert a.state == VERIFIED
        assert n == -(-a.posted_items // costs.chunk_items(reg.spec))  # type: ignore[union-attr]
    for r in REQUESTERS:
        owed = 0
        for j in jobs:
            if j.requester != acct(r):
                continue
            if j.status == JOB_OPEN:
                owed += j.unassigned_escrow
            owed += sum(a.portion + a.posting_deposit for a in j.assignments
                        if a.state in AT_RISK_STATES and a.state != LATE)
        assert chain.account(r).reserved == owed, r


def planner(planned: list[tuple[str, str, tuple[object, ...]]]) -> Callable[..., None]:
    def plan(who: str, kind: str, name: str, *args: object) -> None:
        planned.append((who, kind, (name, *args)))

    return plan


def test_the_marketplace_books_balance_through_a_random_run() -> None:
    chain = make_chain(
        balances={"alice": 1_000, "bob": 5_000, "charlie": 100_000, "dave": 100_000, "eve": 5_000, "ferdie": 5_000},
        params={"compute.max_open_jobs": 5, "compute.max_open_jobs_per_requester": 4,
                "compute.commit_window_slots": 3, "compute.outputs_due_ms": 6_000,
                "compute.challenge_window_ms": 8_000},
    )
    for name in PROVIDERS:  # ferdie fakes item 0 of every job: his bond can take many slashes
        register(chain, name, capacity=3, bond=(40 if name == "ferdie" else 5) * 25 * UNIT)
    rng = random.Random(24_2026)
    fakes = {name: frozenset({0}) if name == "ferdie" else frozenset() for name in PROVIDERS}
    done: dict[str, int] = {}
    floor = min_price(chain, 16, 2)
    for _ in range(BLOCKS):
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
            if job.status == JOB_OPEN and not job.assignments and rng.random() < 0.03:
                plan(requester, "cancel", "compute.cancel_job", job.id)
            for a in job.assignments:
                name = next(n for n in PROVIDERS if acct(n) == a.provider)
                worker = Worker(chain, name, fake=fakes[name])
                if a.state == ASSIGNED and job.status == JOB_OPEN and rng.random() < 0.8:
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
            except InvalidExtrinsic:
                continue  # a nonce left behind by a refused predecessor: the wallet would sign again
            done[kind] = done.get(kind, 0) + out.success
        chain.end_block()
        check_books(chain)
        chain.advance_time(rng.choice((0, 0, 0, 2_000)))
    # the run exercised the marketplace, not just refusals
    for kind in ("post", "commit", "reveal", "late_reveal", "demand", "post_outputs", "challenge", "cancel"):
        assert done.get(kind, 0) > 0, (kind, done)
    assert any(j.status == JOB_EVICTED for _, j in storage.jobs.items(chain.view())), "no eviction happened"
