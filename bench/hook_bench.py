"""What the compute module's start-of-block work costs at the market's bounds: a benchmark, not a test.

Run: `btt-chain bench hooks [--jobs N]` or `.venv/bin/python -m bench.hook_bench [--jobs N]` (N up to 1,024; btt-21m
allows 1,000 open jobs).

Since spec 19 this work is charged to the block and bounded (`runtime.compute.hook_budget`, fitted to these figures of
2026-11-28 rounded up by a third or more): each line ends with the weight the hook charged and its ratio to the time
measured, which must stay above 1 on the reference host. The figures are at the worst the parameters allow, on the dev
preset's genesis state with `compute.max_open_jobs`, the per-requester cap, the capacity and the per-block assignments
raised to N, and `compute.hook_max_weight` beyond its bounds, so that all N items fall in one block. Each figure is
the time of `runtime.compute.hooks.on_initialize` alone in the block where the work falls due (the fastest of `--runs`
on a copy of the same state), beside the same hook in a block with nothing due:

1. N jobs waiting, no provider registered: what every block pays while they wait;
2. N jobs expiring in one block, none assigned (their deadlines in the same second);
3. N places assigned in one block (one provider, capacity N, registered once all N wait);
4. the same N places stalling in one block (their commit window closed; nobody else to draw them again);
5. N places committed, their samples fixed together, and their reveal window closing in one block: each reveal
   missed (the missed-assignment fee, the pause) and the place posted again;
6. the same N late places' late-reveal times ending in one block: each slashed for withholding;
7. N places committed and revealed honestly, their challenge windows closing in one block: each paid (the escrow
   split, burned and credited: what every verified place of a healthy market costs once);
8. the same N places' work credits maturing at the next epoch's start (one provider, paid its mining reward);
9. N providers credited in an epoch (written into the state), each paid its mining reward at the next epoch's start;
10. N credits of N providers maturing at an epoch's start, each provider with 720 epochs of credit history (btt-21m's
    work window), each paid;
11. N credits of one provider with that history maturing at an epoch's start (its history rewritten once a block, as
    it is charged, since spec 20).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.merkle import merkle_levels, merkle_proof
from genesis.build import build_genesis
from genesis.loader import load_chain_spec_doc, materialise, parse_chain_spec
from runtime.compute import hooks
from runtime.compute import storage as compute
from runtime.compute.costs import min_price
from runtime.compute.events import WorkCarried
from runtime.compute.inference import infer, input_bytes
from runtime.compute.inputs import output_root, synthetic_inputs
from runtime.compute.model import model_hash
from runtime.compute.models import built
from runtime.compute.reference import reference_spec
from runtime.compute.types import (
    ASSIGNED,
    COMMITTED,
    LATE,
    STALLED,
    VERIFIED,
    Assignment,
    CreditBucket,
    Opening,
    PendingCredit,
    Provider,
)
from runtime.compute.verify import result_commitment, sample_of
from runtime.consensus import storage as consensus
from runtime.context import BlockEnv, CallContext
from runtime.executive import Executive
from runtime.modules import RUNTIME
from runtime.overlay import Overlay, SortedState
from runtime.params import storage as params
from runtime.params.storage import get_param
from runtime.system import storage as system
from runtime.system.types import AccountInfo

GENESIS_TIME_MS = 1_767_225_600_000
MODEL = reference_spec("breast-cancer-v1")
MAX_JOBS = 1024
"""`compute.max_capacity`'s and `compute.max_assignments_per_block`'s bound: one provider takes every place at once."""
UNIT = 10**18
PER_BLOCK = 200
"""Posts applied a block while setting up."""
UNBOUNDED = 10**12
"""`compute.hook_max_weight` in the bench's state (beyond its bounds): each figure is all N items in one block."""
HISTORY = 720
"""btt-21m's `consensus.work_window_epochs`: the longest credit history its providers keep."""
REVEALS_PER_BLOCK = 50
"""Reveals applied a block while setting up (each re-executes its sample: a block holds fewer)."""
SALT = b"\x07" * 32


class Market:
    """A dev chain's state and the blocks the set-up applies, each with the compute hook run as a block runs it."""

    def __init__(self, jobs: int, **more: int) -> None:
        genesis = build_genesis(parse_chain_spec(materialise(load_chain_spec_doc("dev"), GENESIS_TIME_MS)))
        self.genesis_hash = genesis.hash
        self.state = SortedState(dict(genesis.state))
        view = Overlay(self.state)
        for name, value in (("compute.max_open_jobs", jobs), ("compute.max_open_jobs_per_requester", jobs),
                            ("compute.max_capacity", MAX_JOBS), ("compute.max_assignments_per_block", MAX_JOBS),
                            ("compute.max_open_share_bps", 10_000),
                            ("compute.hook_max_weight", UNBOUNDED), *more.items()):
            params.value.put(view, name, value)
        for who in ("charlie", "dave"):  # a requester and a provider with room for every job and hold
            system.account.put(view, dev_keypair(who).public, AccountInfo(free=10**9 * UNIT))
        self.state.apply(view.changes())
        self.executive = Executive(RUNTIME, genesis.hash)
        self.slot_ms = consensus.slot_ms.get(Overlay(self.state))
        self.number = 0
        self.slot = GENESIS_TIME_MS // self.slot_ms
        self.nonces: dict[str, int] = {}
        schedule = consensus.current.get(Overlay(self.state))
        assert schedule is not None
        self.authors = [e.session_key for e in schedule.table if e.weight]
        """The validators' session keys, authoring in turn (a sample is fixed once enough distinct ones have)."""

    def env(self, speculative: bool = False, skip: int = 0) -> BlockEnv:
        slot = self.slot + 1 + skip
        return BlockEnv(self.number + 1, self.genesis_hash, slot, slot * self.slot_ms,
                        self.authors[self.number % len(self.authors)], speculative=speculative)

    def sign(self, who: str, name: str, *args: object) -> Extrinsic:
        nonce = self.nonces.get(who, 0)
        self.nonces[who] = nonce + 1
        return sign_extrinsic(dev_keypair(who), RUNTIME.call(name, *args), nonce, self.genesis_hash,
                              RUNTIME.spec_version)

    def block(self, xts: Sequence[Extrinsic] = (), skip: int = 0) -> None:
        """Apply `xts` in the next block (`skip` empty slots first), the compute hook run at its start."""
        self.slot += skip
        ctx = CallContext(Overlay(self.state), self.env(), RUNTIME)
        hooks.on_initialize(ctx)
        self.state.apply(ctx.state.changes())
        ex = self.executive.initialize_block(self.state, self.env(speculative=True))
        for xt in xts:
            outcome = self.executive.apply_extrinsic(ex, xt, len(xt.encode()))
            assert outcome.success, outcome.error
        self.state.apply(ex.state.changes())
        self.number += 1
        self.slot += 1

    def honest(self, job_id: int) -> tuple[bytes, Callable[[Sequence[int]], tuple[Opening, ...]]]:
        """A provider's honest work on job `job_id`: its output root, and the openings of any sample of it."""
        job = compute.jobs.get(Overlay(self.state), job_id)
        assert job is not None
        inputs = synthetic_inputs(job.input_seed, job.items, input_bytes(MODEL))
        outputs = infer(built(MODEL), inputs)
        li, lo = merkle_levels(inputs), merkle_levels(outputs)

        def openings(sample: Sequence[int]) -> tuple[Opening, ...]:
            return tuple(Opening(i, inputs[i], outputs[i], merkle_proof(li, i), merkle_proof(lo, i)) for i in sample)

        return output_root(outputs), openings

    def epoch_start_at(self, at_ms: int) -> int:
        """The time of the first epoch's first slot at or after `at_ms`."""
        per = consensus.epoch_slots.get(Overlay(self.state))
        slot = -(-at_ms // self.slot_ms)
        return -(-slot // per) * per * self.slot_ms

    @staticmethod
    def _provider(view: Overlay, i: int, region: int) -> bytes:
        """Provider `i` written into the state (an account, a record of one settled place): its account."""
        who = blake2b_256(b"bench-provider" + i.to_bytes(4, "big"))
        system.account.put(view, who, AccountInfo(free=UNIT))
        compute.providers.put(view, who, Provider(1, region, region, completed=1, assigned=1))
        return who

    def credited(self, providers: int) -> None:
        """`providers` providers (written into the state, each with an account) credited in this epoch."""
        view = Overlay(self.state)
        for i in range(providers):
            compute.epoch_credit.put(view, self._provider(view, i, i % 3), PendingCredit(10**6 + i, UNIT))
        self.state.apply(view.changes())

    def pending(self, credits: int, at_ms: int, history: int, providers: int | None = None) -> None:
        """`credits` credits maturing at `at_ms`, one each of `providers` providers (default: one a credit; written
        into the state), each with `history` epochs of credit history."""
        view = Overlay(self.state)
        count = credits if providers is None else providers
        who = [self._provider(view, i, 0) for i in range(count)]
        for i in range(count):
            compute.credit_history.put(view, who[i], tuple(CreditBucket(0, 1) for _ in range(history)))
        for i in range(credits):
            owner = who[i % count]
            compute.pending_credit.put(view, compute.pending_credit_key(at_ms, i, owner), PendingCredit(10**6, UNIT))
        self.state.apply(view.changes())

    def skip_to(self, at_ms: int) -> int:
        """The empty slots before the next block for it to start at `at_ms` or later."""
        return max(0, -(-at_ms // self.slot_ms) - self.slot - 1)

    def hook_time(self, runs: int, skip: int = 0) -> Timed:
        """What the compute hook takes at the start of the block after `skip` empty slots: the fastest of `runs`,
        each on the same state (nothing kept), and the weight it charged the block."""
        best = float("inf")
        weight = 0
        for i in range(runs + 1):  # the first untimed: it fills the process's caches
            ctx = CallContext(Overlay(self.state), self.env(skip=skip), RUNTIME)
            started = time.perf_counter()
            hooks.on_initialize(ctx)
            if i:
                best = min(best, time.perf_counter() - started)
            assert not any(isinstance(e, WorkCarried) for _, e in ctx.events), "the bench's work did not fit a block"
            weight = ctx.initialize_weight
        return Timed(best, weight)

    def post(self, jobs: int, deadline_ms: int) -> None:
        view = Overlay(self.state)
        price = min_price(view, MODEL, 4, 1)
        left = jobs
        while left:
            n = min(PER_BLOCK, left)
            self.block([self.sign("charlie", "compute.post_job", model_hash(MODEL), ZERO_HASH,
                                  (left - i).to_bytes(32, "big"), 4, price, 1, deadline_ms) for i in range(n)])
            left -= n

    def count(self, state: int | None = None) -> int:
        view = Overlay(self.state)
        return sum(1 for _, j in compute.jobs.items(view) for a in j.assignments if state is None or a.state == state)

    def assignments(self) -> list[tuple[int, Assignment]]:
        return [(j.id, a) for _, j in compute.jobs.items(Overlay(self.state)) for a in j.assignments]

    def served(self, jobs: int, deadline_ms: int) -> None:
        """`jobs` jobs posted and waiting, then dave registered with room for all: the next block draws them all."""
        self.post(jobs, deadline_ms)  # nobody to draw yet: every job waits for the provider
        self.block([self.sign("dave", "bonds.bond", 10**6 * UNIT)])
        self.block([self.sign("dave", "compute.register_provider", MAX_JOBS, 0, 0)])
        assert self.count() == 0


@dataclass(frozen=True)
class Timed:
    seconds: float
    weight: int
    """What the hook charged the block (spec 19: 1 unit = 1 us on the reference host)."""


def line(what: str, timed: Timed, items: int, idle: Timed) -> str:
    seconds = timed.seconds
    return (f"{what}: {seconds * 1e3:.1f} ms ({(seconds - idle.seconds) / max(items, 1) * 1e6:.0f} us an item beyond "
            f"a block with nothing due, {idle.seconds * 1e3:.2f} ms); weight charged {timed.weight:,} "
            f"({timed.weight / max(seconds * 1e6, 1e-9):.2f}x the time)")


def main(jobs: int, runs: int) -> None:
    if not 1 <= jobs <= MAX_JOBS:
        raise SystemExit(f"--jobs {jobs}: give 1 to {MAX_JOBS} (one provider takes every place in one block)")
    # 1 and 2: jobs waiting with nobody to serve them, then all expiring in one block
    m = Market(jobs)
    empty = m.hook_time(runs)
    deadline = 600_000  # ten minutes: the dev preset's shortest deadline is below, its longest above
    m.post(jobs, deadline)
    posted = m.number
    idle = m.hook_time(runs)
    print(line(f"{jobs} jobs waiting, no provider, every block", idle, jobs, empty))
    due = -(-deadline // m.slot_ms) + 1  # slots from the last post until every deadline has passed
    expiry = m.hook_time(runs, skip=due - (m.number - posted))
    print(line(f"{jobs} jobs expiring in one block", expiry, jobs, idle))
    # 3 and 4: one provider takes every place in one block; the commit window closes for all of them in one block
    m = Market(jobs)
    quiet = m.hook_time(runs)
    m.served(jobs, deadline)
    draw = m.hook_time(runs)
    m.block()  # the draw: every place in this block
    assert m.count(ASSIGNED) == jobs, f"{m.count(ASSIGNED)} of {jobs} places assigned"
    print(line(f"{jobs} places assigned in one block", draw, jobs, quiet))
    window = get_param(Overlay(m.state), "compute.commit_window_slots")
    stall = m.hook_time(runs, skip=window)
    m.block(skip=window)
    assert m.count(STALLED) == jobs, f"{m.count(STALLED)} of {jobs} places stalled"
    print(line(f"{jobs} places stalling in one block (nobody else to draw)", stall, jobs, quiet))
    # 5: every place committed, its sample fixed in one block, and then its reveal window closing in one block
    m = Market(jobs)
    m.served(jobs, deadline)
    m.block()  # the draw
    placed = m.assignments()
    for start in range(0, jobs, PER_BLOCK):
        m.block([m.sign("dave", "compute.commit_result", job_id, job_id.to_bytes(32, "big"))
                 for job_id, _ in placed[start:start + PER_BLOCK]])
    for _ in range(400):  # until the authors after the sample start fix every sample
        if all(a.sample_seed != ZERO_HASH for _, a in m.assignments()):
            break
        m.block()
    assert m.count(COMMITTED) == jobs and all(a.sample_seed != ZERO_HASH for _, a in m.assignments())
    reveal_window = get_param(Overlay(m.state), "compute.reveal_window_slots")
    missed = m.hook_time(runs, skip=reveal_window)
    print(line(f"{jobs} reveals missed in one block (each place posted again)", missed, jobs, quiet))
    # 6: the same late places' late-reveal times ending in one block: the withholding slash, each
    m.block(skip=reveal_window)
    ends = {a.matures_ms for _, a in m.assignments() if a.state == LATE}
    assert m.count(LATE) == jobs and len(ends) == 1, f"{m.count(LATE)} of {jobs} places late"
    m.block(skip=m.skip_to(max(ends)) - 1)  # what falls due before (the jobs posted again closing unserved)
    ended = m.hook_time(runs, skip=m.skip_to(max(ends)))
    print(line(f"{jobs} late-reveal times ending in one block (each place slashed)", ended, jobs, quiet))
    # 7: N places committed and revealed honestly, their challenge windows closing in one block: each paid (the
    # reveal and challenge windows long enough for all reveals: a block takes ~50, each re-executing its sample)
    m = Market(jobs, **{"compute.reveal_window_slots": 600, "compute.challenge_window_ms": 120_000})
    m.served(jobs, deadline)
    m.block()  # the draw
    work = {job_id: m.honest(job_id) for job_id, _ in m.assignments()}
    for start in range(0, jobs, PER_BLOCK):
        m.block([m.sign("dave", "compute.commit_result", job_id, result_commitment(root, SALT))
                 for job_id, (root, _) in list(work.items())[start:start + PER_BLOCK]])
    for _ in range(400):
        if all(a.sample_seed != ZERO_HASH for _, a in m.assignments()):
            break
        m.block()
    view = Overlay(m.state)
    size = get_param(view, "compute.sample_size")
    reveals = [m.sign("dave", "compute.reveal_result", job_id, root, SALT, openings(sample_of(job, job.assignments[0],
                                                                                             size)))
               for job_id, (root, openings) in work.items() if (job := compute.jobs.get(view, job_id)) is not None]
    for start in range(0, jobs, REVEALS_PER_BLOCK):
        m.block(reveals[start:start + REVEALS_PER_BLOCK])
    ends = {a.matures_ms for _, a in m.assignments() if a.state == VERIFIED}
    assert m.count(VERIFIED) == jobs, f"{m.count(VERIFIED)} of {jobs} places verified"
    m.block(skip=m.skip_to(min(ends)) - 1)
    paid = m.hook_time(runs, skip=m.skip_to(max(ends)))
    print(line(f"{jobs} challenge windows closing in one block (each place paid)", paid, jobs, quiet))
    # 8: the same places' work credits maturing at the start of the next epoch after their maturity
    m.block(skip=m.skip_to(max(ends)))  # the windows close: each place paid, its credit pending
    pending = [int.from_bytes(k[:8], "big") for k, _ in compute.pending_credit.items(Overlay(m.state))]
    assert len(pending) == jobs, f"{len(pending)} of {jobs} credits pending"
    matured = m.hook_time(runs, skip=m.skip_to(m.epoch_start_at(max(pending))))
    print(line(f"{jobs} credits maturing at an epoch's start (one provider paid)", matured, jobs, quiet))
    # 9: N providers credited in an epoch, each paid its mining reward at the next epoch's start
    m = Market(jobs)
    m.credited(jobs)
    rewarded = m.hook_time(runs, skip=m.skip_to(m.epoch_start_at(m.slot * m.slot_ms + 1)))
    print(line(f"{jobs} providers paid their mining rewards at an epoch's start", rewarded, jobs, quiet))
    # 10: N credits of N providers maturing, each provider with a history as long as btt-21m's work window
    m = Market(jobs, **{"consensus.work_window_epochs": HISTORY})
    due = m.slot * m.slot_ms + 1
    m.pending(jobs, due, HISTORY)
    long = m.hook_time(runs, skip=m.skip_to(m.epoch_start_at(due)))
    print(line(f"{jobs} credits of {jobs} providers with {HISTORY} epochs of history maturing (each paid)", long, jobs,
               quiet))
    # 11: N credits of one provider with that history (its history rewritten once a block, as charged: spec 20)
    m = Market(jobs, **{"consensus.work_window_epochs": HISTORY})
    due = m.slot * m.slot_ms + 1
    m.pending(jobs, due, HISTORY, providers=1)
    one = m.hook_time(runs, skip=m.skip_to(m.epoch_start_at(due)))
    print(line(f"{jobs} credits of one provider with {HISTORY} epochs of history maturing (paid)", one, jobs, quiet))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    main(args.jobs, args.runs)
