"""The compute module's start-of-block work, weighed and bounded (spec 19, `runtime.compute.hook_budget`).

The attack it closes: under spec 18 one block's start did everything that had fallen due, charged nothing to the
block, and was bounded only by the market's size: jobs posted with one deadline, or an outage, put the expiries, the
closed windows and the missed reveals of the whole market into one block (~7 s at the governance bounds, more than a
slot). The tests below try to break each part of the rule, and assert that the attempt fails:
- a mass expiry is spread over blocks at `compute.hook_max_weight` a block, charged to each block before its
  extrinsics, and a block's first item is handled however heavy (the work always moves);
- while work waits, no account's compute call is taken but a party's obligations: refused before its fee at the pool's
  door and in a block, failed as a call inside a batch; a transfer beside it is taken; governance is not paused;
- an obligation (a commit, a reveal, a late reveal, outputs, a private job's flags) is taken in its window while work
  waits, and refused by the call itself once its window or the job's deadline has passed although the block's start
  that ends it waits, changing nothing; the work it waits for then lands as it would have at once (a reveal after
  the deadline lands late once the expiry is done);
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
from btt_chain.rpc.methods_compute import _catching_up as catching_up
from runtime.compute import events, hook_budget, hooks, storage, unserved
from runtime.compute import params as compute_params
from runtime.compute.assignment import min_deadline_ms
from runtime.compute.hook_budget import HookBudget
from runtime.compute.types import (
    ASSIGNED,
    COMMITTED,
    JOB_EXPIRED,
    JOB_OPEN,
    LATE,
    SETTLED,
    VERIFIED,
    Assignment,
)
from runtime.context import GOVERNANCE, Origin
from runtime.params import storage as params
from runtime.system import storage as system
from tests.runtime.test_compute import (
    DEADLINE,
    MATURITY,
    MODEL,
    PRICE,
    SEED,
    UNIT,
    Worker,
    close_window,
    epoch_events,
    first_epoch_at,
    job_of,
    make_chain,
    mining_chain,
    now,
    post,
    register,
    run_to,
    until_sampled,
)
from tests.runtime.test_compute_random_run import random_market
from tests.runtime.test_compute_reassign import BALANCES, LONG
from tests.support.private_jobs import Clinic, Provider
from tests.support.runtime_builder import STATE_EXEMPT_PREFIXES, TestChain, acct, assert_ok
from tests.support.runtime_builder import _fee_pots as fee_pots

SMALL = 10_000
"""The smallest budget `compute.hook_max_weight`'s bounds allow."""
HEAVY = 2_500
"""Each due item's weight in these tests: four fill the smallest budget."""
EXPIRIES = 1 + hook_budget.STEPS.index("expiries")
"""The backlog marker while expiries wait."""


@pytest.fixture
def heavy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[HookBudget]]:
    """Every step's items at `HEAVY`; yields the budget of every block's start, in order."""
    for name in ("EXPIRE_JOB", "EXPIRE_PLACE", "DRAW_PLACE", "STALL_PLACE", "REVEAL_MISSED", "UNSERVED_CHECK",
                 "LATE_CLOSE", "WINDOW_CLOSE", "SAMPLE_FIX", "MATURE_CREDIT"):
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
            assert carried(chain) == [events.WorkCarried(EXPIRIES - 1, SMALL)]
            assert hook_budget.backlog.get(chain.view()) == EXPIRIES
            assert catching_up(chain.view()) == "expiries"  # what btt_jobTerms tells a wallet about to post
        else:
            assert carried(chain) == [] and hook_budget.backlog.get(chain.view()) == 0
            assert catching_up(chain.view()) is None
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
    assert hook_budget.backlog.get(chain.view()) == EXPIRIES
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
    assert hook_budget.backlog.get(chain.view()) == EXPIRIES
    batch = chain.sign("dave", "utility.batch_all", (chain.runtime.call(
        "compute.post_job", MODEL, ZERO_HASH, SEED, 4, PRICE, 1, DEADLINE),))
    ex = chain.begin_block()
    outcome = chain.executive.apply_extrinsic(ex, batch, len(batch.encode()))
    chain.end_block()
    assert not outcome.success and storage.next_job_id.get(chain.view()) == next_id
    assert hook_budget.backlog.get(chain.view()) == EXPIRIES
    # governance and the runtime are not paused; an account is
    view = chain.view()
    hook_budget.paused(view, GOVERNANCE, "post_job")
    hook_budget.paused(view, Origin.signed(acct("dave")), "commit_result")  # an obligation
    with pytest.raises(Exception, match="catching up"):
        hook_budget.paused(view, Origin.signed(acct("dave")), "post_job")
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


# --- a party's obligations while work waits: taken in their windows, refused by the call itself after them ---------

FILLERS = 40
"""Jobs whose expiries keep work waiting for ten blocks at the smallest budget (four expiries a block)."""


def one_place_market() -> tuple[TestChain, int]:
    """bob (capacity 1) holds the one place of charlie's job; room for the fillers; the smallest budget."""
    chain = make_chain(balances=dict(BALANCES), params={
        "compute.max_open_jobs": 60, "compute.max_open_jobs_per_requester": 60, "compute.hook_max_weight": SMALL,
        "compute.unserved_wait_ms": 86_400_000, "compute.reveal_window_slots": 6,
        "compute.challenge_window_ms": 60_000})
    register(chain, "bob", capacity=1)
    job = post(chain, deadline_ms=LONG, price=2 * PRICE)  # drawn before any filler (a higher price per unit)
    chain.run_block([])
    assert [a.provider for a in job_of(chain, job).assignments] == [acct("bob")]
    return chain, job


def fill(chain: TestChain, due_at_ms: int) -> None:
    """`FILLERS` jobs of dave's, posted in the next block, each due at `due_at_ms`: they wait (bob is busy)."""
    first = chain.account("dave").nonce
    due_in = due_at_ms - (now(chain) + 1_000 + 0)  # the next block is a slot later
    chain.run_block([chain.sign("dave", "compute.post_job", MODEL, ZERO_HASH, SEED, 4, PRICE, 1, due_in,
                                nonce=first + i) for i in range(FILLERS)])


def work_waits_from(chain: TestChain, at_ms: int) -> None:
    """The next block at `at_ms` or later: its start expires four fillers and stops; work waits."""
    chain.advance_time(max(0, at_ms - now(chain) - 1_000))
    chain.run_block([])
    assert hook_budget.backlog.get(chain.view()) == EXPIRIES


def place(chain: TestChain, job: int) -> Assignment:
    (a,) = job_of(chain, job).assignments
    return a


def refused_changing_nothing(chain: TestChain, signer: str, call: str, *args: object, error: str) -> None:
    """`call` fails with `error`, and the block it fails in leaves the state as an empty block would (but the fee,
    the nonce and the block's bookkeeping): the work the block's start did is the same either way."""
    empty = chain.fork()
    empty.run_block([])
    who = acct(signer)
    outcome = chain.submit(signer, call, *args)
    assert not outcome.success and outcome.error is not None and error in outcome.error, outcome.error
    after, expected = chain.snapshot(), empty.snapshot()
    fee_accounts = {system.account.key(k) for k in (who, chain.author, *fee_pots())}
    changed = [k for k in set(after) | set(expected) if after.get(k) != expected.get(k)
               and k not in fee_accounts and not k.startswith(STATE_EXEMPT_PREFIXES)]
    assert changed == []


def test_a_commit_is_taken_in_its_window_while_work_waits_and_refused_after_it(heavy: list[HookBudget]) -> None:
    chain, job = one_place_market()
    fill(chain, now(chain) + DEADLINE)
    work_waits_from(chain, now(chain) + DEADLINE)
    late = chain.fork()
    assert chain.slot < place(chain, job).commit_by_slot
    assert_ok(Worker(chain, "bob").commit(job))  # an obligation: taken while work waits
    assert place(chain, job).state == COMMITTED and hook_budget.backlog.get(chain.view()) == EXPIRIES
    while late.slot < place(late, job).commit_by_slot:
        late.run_block([])
    assert hook_budget.backlog.get(late.view()) == EXPIRIES and place(late, job).state == ASSIGNED  # its stall waits
    refused_changing_nothing(late, "bob", "compute.commit_result", job, Worker(late, "bob").commitment(job),
                             error="CommitWindowClosed")


def test_a_reveal_is_taken_in_its_window_while_work_waits_and_refused_after_it(heavy: list[HookBudget]) -> None:
    chain, job = one_place_market()
    Worker(chain, "bob").commit_and_wait(job)
    fill(chain, now(chain) + DEADLINE)
    work_waits_from(chain, now(chain) + DEADLINE)
    late = chain.fork()
    assert chain.slot < place(chain, job).reveal_by_slot
    assert_ok(Worker(chain, "bob").reveal(job))
    assert place(chain, job).state == VERIFIED and hook_budget.backlog.get(chain.view()) == EXPIRIES
    while late.slot < place(late, job).reveal_by_slot:
        late.run_block([])
    waits = hook_budget.backlog.get(late.view()) == EXPIRIES
    assert waits and place(late, job).state == COMMITTED  # turning late waits
    refused_changing_nothing(late, "bob", "compute.reveal_result", *Worker(late, "bob").reveal_args(job),
                             error="RevealWindowClosed")


def test_a_reveal_after_the_jobs_deadline_waits_for_the_expiry_then_lands_late(heavy: list[HookBudget]) -> None:
    chain, job = one_place_market()
    Worker(chain, "bob").commit_and_wait(job)
    deadline = job_of(chain, job).deadline_ms
    fill(chain, deadline - 1)  # due just before it: the job's expiry waits behind theirs
    work_waits_from(chain, deadline)
    assert place(chain, job).state == COMMITTED and job_of(chain, job).status == JOB_OPEN
    refused_changing_nothing(chain, "bob", "compute.reveal_result", *Worker(chain, "bob").reveal_args(job),
                             error="DeadlinePassed")
    with pytest.raises(InvalidExtrinsic, match="CatchingUp"):  # not an obligation: refused at the door
        chain.submit("charlie", "compute.cancel_job", job)
    while place(chain, job).state == COMMITTED:
        chain.run_block([])
    assert place(chain, job).state == LATE  # what the expiry would have made of it at once
    assert_ok(Worker(chain, "bob").reveal(job))  # the late reveal: the fee, the hold kept
    assert any(isinstance(e, events.LateRevealVerified) for e in chain.events())


def test_a_late_reveal_after_its_time_is_refused_while_the_withholding_slash_waits(heavy: list[HookBudget]) -> None:
    chain, job = one_place_market()
    Worker(chain, "bob").commit_and_wait(job)
    while place(chain, job).state == COMMITTED:  # bob never reveals: the window closes, the place turns late
        chain.run_block([])
    ends = place(chain, job).matures_ms
    assert place(chain, job).state == LATE and ends > now(chain)
    fill(chain, ends - 1)
    work_waits_from(chain, ends)
    assert place(chain, job).state == LATE  # the slash waits behind the expiries
    refused_changing_nothing(chain, "bob", "compute.reveal_result", *Worker(chain, "bob").reveal_args(job),
                             error="LateRevealClosed")


def test_a_challenge_window_over_is_over_for_every_call_while_its_settlement_waits(
        heavy: list[HookBudget]) -> None:
    chain, job = one_place_market()
    worker = Worker(chain, "bob")
    worker.commit_and_wait(job)
    assert_ok(worker.reveal(job))
    ends = place(chain, job).matures_ms
    fill(chain, ends - 1)
    work_waits_from(chain, ends)
    assert place(chain, job).state == VERIFIED  # the pay waits behind the expiries
    first, items, proof = worker.chunks(job)[0]
    refused_changing_nothing(chain, "bob", "compute.post_outputs", job, first, items, proof, error="WrongState")
    while hook_budget.backlog.get(chain.view()):
        chain.run_block([])
    assert place(chain, job).state == SETTLED  # paid once the start of a block reached it


def one_private_place_market() -> tuple[TestChain, Clinic, int]:
    """charlie's private job, its one place held by bob (capacity 1), its items sealed to him and on chain; room for
    the fillers; the smallest budget."""
    chain = make_chain(balances=dict(BALANCES), params={
        "compute.max_open_jobs": 60, "compute.max_open_jobs_per_requester": 60, "compute.hook_max_weight": SMALL,
        "compute.unserved_wait_ms": 86_400_000})
    clinic, worker = Clinic(chain, "charlie", MODEL), Provider(chain, "bob")
    assert_ok(clinic.set_key())
    register(chain, "bob", capacity=1)
    assert_ok(worker.set_key())
    assert_ok(clinic.post(16, 8, 2 * PRICE, LONG))
    chain.run_block([])
    job = clinic.job_id
    assert [a.provider for a in job_of(chain, job).assignments] == [acct("bob")]
    clinic.seal()
    assert_ok(clinic.submit_sealed())
    return chain, clinic, job


def test_a_private_obligation_after_the_jobs_deadline_is_refused_while_the_expiry_waits(
        heavy: list[HookBudget]) -> None:
    """Time passes without slots here (an outage's clock), so the place's windows are still open by slot: only the
    job's deadline, checked by the call itself (`jobs.get_open_job`), stands between a flag and a job whose expiry
    waits."""
    chain, clinic, job = one_private_place_market()
    deadline = job_of(chain, job).deadline_ms
    fill(chain, deadline - 1)
    work_waits_from(chain, deadline)
    assert job_of(chain, job).status == JOB_OPEN and place(chain, job).state == ASSIGNED
    assert chain.slot <= place(chain, job).commit_by_slot
    refused_changing_nothing(chain, "bob", "compute.flag_items", job, (clinic.positions[0],), error="DeadlinePassed")
    while job_of(chain, job).status == JOB_OPEN:
        chain.run_block([])
    assert job_of(chain, job).status == JOB_EXPIRED  # what the expiry would have made of it at once


def test_a_flag_after_the_commit_window_is_refused_while_the_stall_waits(heavy: list[HookBudget]) -> None:
    chain, clinic, job = one_private_place_market()
    fill(chain, now(chain) + DEADLINE)
    work_waits_from(chain, now(chain) + DEADLINE)
    late = chain.fork()
    assert_ok(chain.submit("bob", "compute.flag_items", job, (clinic.positions[0],)))  # in its window: taken
    while late.slot < place(late, job).commit_by_slot:
        late.run_block([])
    assert hook_budget.backlog.get(late.view()) == EXPIRIES and place(late, job).state == ASSIGNED  # its stall waits
    refused_changing_nothing(late, "bob", "compute.flag_items", job, (clinic.positions[0],),
                             error="CommitWindowClosed")


# --- the epoch's credits: matured as far as the budget goes, the distribution once the last has -------------------


def test_credits_maturing_over_several_blocks_are_paid_as_they_would_be_at_once(
        heavy: list[HookBudget], monkeypatch: pytest.MonkeyPatch) -> None:
    chain = mining_chain(**{"compute.hook_max_weight": SMALL})
    register(chain, "bob", capacity=4)
    register(chain, "dave", capacity=4)
    job = post(chain, price=80_000 * UNIT, redundancy=2, deadline_ms=min_deadline_ms(chain.view()))
    chain.run_block([])
    workers = [Worker(chain, "bob"), Worker(chain, "dave")]
    chain.run_block([chain.sign(w.name, "compute.commit_result", job, w.commitment(job)) for w in workers])
    until_sampled(chain, job)
    chain.run_block([chain.sign(w.name, "compute.reveal_result", *w.reveal_args(job)) for w in workers])
    close_window(chain, job)
    boundary = first_epoch_at(now(chain) + MATURITY) * 10
    run_to(chain, boundary - 1)
    assert len(list(storage.pending_credit.items(chain.view()))) == 2
    at_once = chain.fork()
    monkeypatch.setattr(hook_budget, "MATURE_CREDIT", 3 * SMALL // 4)  # one credit a block
    at_once_events = []
    with monkeypatch.context() as m:
        m.setattr(hook_budget, "MATURE_CREDIT", 100)
        at_once.run_block([])
        at_once_events = [e for e in at_once.events() if isinstance(e, events.MiningRewarded | events.MiningEpoch)]
    assert len(at_once_events) == 3  # both paid, then the epoch's totals
    chain.run_block([])  # the boundary: one credit moved, the distribution waits for the other
    assert carried(chain) == [events.WorkCarried(0, 3 * SMALL // 4)]
    assert hook_budget.backlog.get(chain.view()) == 1 and not epoch_events(chain)
    chain.run_block([])  # the second: the distribution, as it was at once
    assert [e for e in chain.events() if isinstance(e, events.MiningRewarded | events.MiningEpoch)] == at_once_events
    assert hook_budget.backlog.get(chain.view()) == 0
    assert storage.credit_history.get(chain.view(), acct("bob")) == \
        storage.credit_history.get(at_once.view(), acct("bob"))
