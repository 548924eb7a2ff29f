"""What the compute module's start-of-block work costs at the market's bounds: a benchmark, not a test.

Run: `btt-chain bench hooks [--jobs N]` or `.venv/bin/python -m bench.hook_bench [--jobs N]` (N up to 1,024; btt-21m
allows 1,000 open jobs).

Since spec 19 this work is charged to the block and bounded (`runtime.compute.hook_budget`, fitted to these figures of
2026-11-28 rounded up by a third): each line ends with the weight the hook charged and its ratio to the time measured,
which must stay above 1 on the reference host. The figures are at the worst the parameters allow, on the dev preset's
genesis state with `compute.max_open_jobs`, the per-requester cap, the capacity and the per-block assignments raised
to N. Each figure is the time of `runtime.compute.hooks.on_initialize` alone in the block where the work falls due
(the fastest of `--runs` on a copy of the same state), beside the same hook in a block with nothing due:

1. N jobs waiting, no provider registered: what every block pays while they wait;
2. N jobs expiring in one block, none assigned (their deadlines in the same second);
3. N places assigned in one block (one provider, capacity N, registered once all N wait);
4. the same N places stalling in one block (their commit window closed; nobody else to draw them again);
5. N places committed, their samples fixed together, and their reveal window closing in one block: each reveal
   missed (the missed-assignment fee, the pause) and the place posted again.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass

from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.keys import dev_keypair
from genesis.build import build_genesis
from genesis.loader import load_chain_spec_doc, materialise, parse_chain_spec
from runtime.compute import hooks
from runtime.compute import storage as compute
from runtime.compute.costs import min_price
from runtime.compute.events import WorkCarried
from runtime.compute.model import model_hash
from runtime.compute.reference import reference_spec
from runtime.compute.types import ASSIGNED, COMMITTED, STALLED, Assignment
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


class Market:
    """A dev chain's state and the blocks the set-up applies, each with the compute hook run as a block runs it."""

    def __init__(self, jobs: int) -> None:
        genesis = build_genesis(parse_chain_spec(materialise(load_chain_spec_doc("dev"), GENESIS_TIME_MS)))
        self.genesis_hash = genesis.hash
        self.state = SortedState(dict(genesis.state))
        view = Overlay(self.state)
        for name, value in (("compute.max_open_jobs", jobs), ("compute.max_open_jobs_per_requester", jobs),
                            ("compute.max_capacity", MAX_JOBS), ("compute.max_assignments_per_block", MAX_JOBS),
                            ("compute.max_open_share_bps", 10_000)):
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
    missed = m.hook_time(runs, skip=get_param(Overlay(m.state), "compute.reveal_window_slots"))
    print(line(f"{jobs} reveals missed in one block (each place posted again)", missed, jobs, quiet))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    main(args.jobs, args.runs)
