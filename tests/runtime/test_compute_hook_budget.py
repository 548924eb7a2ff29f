"""The compute module's start-of-block work, weighed and bounded (spec 19, `runtime.compute.hook_budget`).

The attack it closes: under spec 18 one block's start did everything that had fallen due, charged nothing to the
block, and was bounded only by the market's size: jobs posted with one deadline, or an outage, put the expiries, the
closed windows and the missed reveals of the whole market into one block (~7 s at the governance bounds, more than a
slot). The tests below try to break each part of the rule, and assert that the attempt fails:
- a mass expiry is spread over blocks at `compute.hook_max_weight` a block, charged to each block before its
  extrinsics, and a block's first item is handled however heavy (the work always moves);
- while work waits, no account's compute call is taken: refused before its fee at the pool's door and in a block,
  failed as a call inside a batch; a transfer beside it is taken; governance is not paused;
- a randomized market with outages of every length and a tiny budget keeps compute's books every block, never lets a
  block's start pass its budget by more than one item, announces every carry (`WorkCarried`), and once it catches
  up leaves nothing due behind.
The weights of the steps are raised in these tests (monkeypatched) so that a few items fill the smallest budget the
parameter's bounds allow; the rule does not depend on their size.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.hashing import ZERO_HASH
from runtime.compute import events, hook_budget, hooks, storage, unserved
from runtime.compute import params as compute_params
from runtime.compute.hook_budget import HookBudget
from runtime.compute.types import JOB_EXPIRED, JOB_OPEN
from runtime.context import GOVERNANCE, Origin
from runtime.params import storage as params
from tests.runtime.test_compute import DEADLINE, MODEL, PRICE, SEED, make_chain, now
from tests.runtime.test_compute_random_run import random_market
from tests.support.runtime_builder import TestChain, acct

SMALL = 10_000
"""The smallest budget `compute.hook_max_weight`'s bounds allow."""
HEAVY = 2_500
"""Each due item's weight in these tests: four fill the smallest budget."""


@pytest.fixture
def heavy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[HookBudget]]:
    """Every step's items at `HEAVY`; yields the budget of every block's start, in order."""
    for name in ("EXPIRE_JOB", "EXPIRE_PLACE", "DRAW_PLACE", "STALL_PLACE", "REVEAL_MISSED", "UNSERVED_CHECK",
                 "LATE_CLOSE", "WINDOW_CLOSE", "SAMPLE_FIX"):
        monkeypatch.setattr(hook_budget, name, HEAVY)
    made: list[HookBudget] = []

    class Recorded(HookBudget):
        def __init__(self, limit: int) -> None:
            super().__init__(limit)
            made.append(self)

    monkeypatch.setattr(hooks, "HookBudget", Recorded)
    yield made


def waiting_market(jobs: int) -> TestChain:
    """`jobs` jobs posted in one block with one deadline, no provider to take them, the smallest budget."""
    chain = make_chain(params={"compute.max_open_jobs": 40, "compute.max_open_jobs_per_requester": 40,
                               "compute.hook_max_weight": SMALL, "compute.unserved_wait_ms": 86_400_000})
    first = chain.account("charlie").nonce
    chain.run_block([chain.sign("charlie", "compute.post_job", MODEL, ZERO_HASH, SEED, 4, PRICE, 1, DEADLINE,
                                nonce=first + i) for i in range(jobs)])
    assert sum(1 for _, j in storage.jobs.items(chain.view()) if j.status == JOB_OPEN) == jobs
    return chain


def open_jobs(chain: TestChain) -> int:
    return sum(1 for _, j in storage.jobs.items(chain.view()) if j.status == JOB_OPEN)


def carried(chain: TestChain) -> list[events.WorkCarried]:
    return [e for e in chain.events() if isinstance(e, events.WorkCarried)]


def test_a_mass_expiry_is_spread_over_blocks_and_charged_to_each(heavy: list[HookBudget]) -> None:
    chain = waiting_market(10)
    chain.advance_time(DEADLINE + 1_000)
    left = [10]
    while open_jobs(chain):
        ex = chain.begin_block()
        budget = heavy[-1]
        # charged to the block before any extrinsic: the inherent's weight comes on top of the start's
        assert ex.weight_used >= budget.used == HEAVY * min(4, left[-1])
        chain.end_block()
        left.append(open_jobs(chain))
        if left[-1]:
            assert carried(chain) == [events.WorkCarried(0, SMALL)]
            assert hook_budget.backlog.get(chain.view()) == 1
        else:
            assert carried(chain) == [] and hook_budget.backlog.get(chain.view()) == 0
    assert left == [10, 6, 2, 0]
    assert all(j.status == JOB_EXPIRED for _, j in storage.jobs.items(chain.view()))
    # caught up: the marker is gone from the state, the next block's start does nothing and charges nothing
    assert hook_budget.backlog.key not in chain.snapshot()
    chain.begin_block()
    assert heavy[-1].used == 0
    chain.end_block()


def test_a_blocks_first_item_is_handled_however_heavy(heavy: list[HookBudget],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hook_budget, "EXPIRE_JOB", 3 * SMALL)
    chain = waiting_market(3)
    chain.advance_time(DEADLINE + 1_000)
    for left in (2, 1, 0):
        chain.run_block([])
        assert open_jobs(chain) == left and heavy[-1].used == 3 * SMALL


def test_while_work_waits_no_accounts_compute_call_is_taken_and_none_costs_a_fee(heavy: list[HookBudget]) -> None:
    chain = waiting_market(16)  # four blocks of expiries: each call below meets work waiting
    chain.advance_time(DEADLINE + 1_000)
    chain.run_block([])
    assert hook_budget.backlog.get(chain.view()) == 1
    before = chain.account("dave")
    next_id = storage.next_job_id.get(chain.view())
    post = chain.sign("dave", "compute.post_job", MODEL, ZERO_HASH, SEED, 4, PRICE, 1, DEADLINE)
    # at the pool's door
    refusal = "compute.post_job not taken now: compute.CatchingUp: the compute market is catching up"
    with pytest.raises(InvalidExtrinsic, match=refusal):
        chain.fee_of("dave", "compute.post_job", MODEL, ZERO_HASH, SEED, 4, PRICE, 1, DEADLINE)
    # in a block: refused before its fee, while a transfer beside it is taken
    transfer = chain.sign("eve", "balances.transfer_allow_death", acct("alice"), 1)
    ex = chain.begin_block()
    with pytest.raises(InvalidExtrinsic, match="catching up"):
        chain.executive.apply_extrinsic(ex, post, len(post.encode()))
    assert chain.executive.apply_extrinsic(ex, transfer, len(transfer.encode())).success
    chain.end_block()
    assert chain.account("dave") == before and storage.next_job_id.get(chain.view()) == next_id
    # nested in a batch: the call fails (the batch's signer pays for the batch, as for any failed call)
    assert hook_budget.backlog.get(chain.view()) == 1
    batch = chain.sign("dave", "utility.batch_all", (chain.runtime.call(
        "compute.post_job", MODEL, ZERO_HASH, SEED, 4, PRICE, 1, DEADLINE),))
    ex = chain.begin_block()
    outcome = chain.executive.apply_extrinsic(ex, batch, len(batch.encode()))
    chain.end_block()
    assert not outcome.success and storage.next_job_id.get(chain.view()) == next_id
    assert hook_budget.backlog.get(chain.view()) == 1
    # governance and the runtime are not paused; an account is
    view = chain.view()
    hook_budget.paused(view, GOVERNANCE)
    with pytest.raises(Exception, match="catching up"):
        hook_budget.paused(view, Origin.signed(acct("dave")))
    # once caught up, the same call is taken
    while hook_budget.backlog.get(chain.view()):
        chain.run_block([])
    post = chain.sign("dave", "compute.post_job", MODEL, ZERO_HASH, SEED, 4, PRICE, 1, DEADLINE)
    ex = chain.begin_block()
    assert chain.executive.apply_extrinsic(ex, post, len(post.encode())).success
    chain.end_block()


def test_the_budget_is_a_governed_parameter_within_its_bounds() -> None:
    chain = make_chain()
    view = chain.view()
    assert params.get_param(view, compute_params.HOOK_MAX_WEIGHT) == 500_000
    assert params.limits.get(view, compute_params.HOOK_MAX_WEIGHT) == (10_000, 1_000_000)
    with pytest.raises(Exception, match="10000"):  # below its bounds: refused
        chain.dispatch(GOVERNANCE, "params.set_parameter", compute_params.HOOK_MAX_WEIGHT, 9_999)
    assert params.get_param(chain.view(), compute_params.HOOK_MAX_WEIGHT) == 500_000
    chain.dispatch(GOVERNANCE, "params.set_parameter", compute_params.HOOK_MAX_WEIGHT, 20_000)
    assert params.get_param(chain.view(), compute_params.HOOK_MAX_WEIGHT) == 20_000


def nothing_due(chain: TestChain) -> list[str]:
    """What was due at the last block's start and is still there (nothing, once the hook has caught up): the first
    entry of each due index, by time or by slot."""
    view = chain.view()
    problems = []
    indexes = (("deadlines", storage.deadlines, False), ("commit_due", storage.commit_due, True),
               ("reveal_due", storage.reveal_due, True), ("late_reveals", storage.late_reveals, False),
               ("maturing", storage.maturing, False), ("unserved", unserved.unserved_checks, False))
    for name, index, by_slot in indexes:
        for key, _ in index.items(view):
            when = int.from_bytes(key[:8], "big")
            if (when < chain.slot) if by_slot else (when <= now(chain)):
                problems.append(f"{name}: {when}")
            break
    return problems


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_random_market_with_outages_and_a_tiny_budget_keeps_its_books_and_catches_up(
        seed: int, heavy: list[HookBudget]) -> None:
    paused_blocks = []

    def each_block(chain: TestChain) -> None:
        budget = heavy[-1]
        assert budget.limit == SMALL
        assert budget.used <= SMALL + HEAVY or budget.used == HEAVY  # at most one item past it (the first, if alone)
        waiting = hook_budget.backlog.get(chain.view())
        assert bool(carried(chain)) == bool(waiting)
        if waiting:
            paused_blocks.append(chain.number)

    outages = (0,) * 12 + (2_000,) * 3 + (30_000, 120_000, 600_000)  # one block gap in six: up to 100 slots
    run = random_market(seed=seed, blocks=150, outages=outages,
                        each_block=each_block, params={"compute.hook_max_weight": SMALL})
    chain = run.chain
    assert paused_blocks, "no work was ever carried: the run did not test the rule"
    assert sum(n for why, n in run.refused.items() if why.startswith("compute.") and why.endswith(" not")) > 0
    assert run.done.get("commit", 0) > 0 and run.done.get("reveal", 0) > 0  # the market worked between the carries
    for _ in range(50):
        if not hook_budget.backlog.get(chain.view()):
            break
        chain.run_block([])
    assert not hook_budget.backlog.get(chain.view())
    assert nothing_due(chain) == []
