"""A place that ended without a verified result goes to another provider within the job's deadline, and the draw
prefers providers with a record of verified work, bounded so that newcomers still get work (issue 52, what DePIN
users ask for).

Attacks tried: the provider that failed a place trying to be drawn for it again; a requester that cannot pay the
repost; a deadline too near for another timetable. Every block is checked against compute's books."""

from __future__ import annotations

from btt_chain.primitives.hashing import ZERO_HASH
from runtime.compute import events, reassign, storage
from runtime.compute.assignment import draw_weight, min_deadline_ms
from runtime.compute.types import FRAUD, JOB_DONE, JOB_EXPIRED, JOB_OPEN, LATE, Provider
from tests.runtime.test_compute import (
    MODEL,
    PRICE,
    Worker,
    job_of,
    make_chain,
    post,
    register,
)
from tests.runtime.test_compute_outage import post_many, until
from tests.support.runtime_builder import UNIT, TestChain, acct, assert_ok

BALANCES = {"alice": 1_000, "bob": 100_000, "charlie": 100_000, "dave": 100_000, "eve": 1_000}
LONG = 600_000


def two_providers(**params: int) -> TestChain:
    """bob and dave serve; bob's bond is ten times dave's, so bob is drawn first nearly always."""
    chain = make_chain(balances=dict(BALANCES), params={"compute.reveal_window_slots": 3, **params})
    register(chain, "bob", bond=10 * 20_000 * UNIT // 10)
    register(chain, "dave", bond=2_000 * UNIT)
    return chain


def assigned_to(chain: TestChain, job_id: int) -> bytes:
    chain.run_block([])
    (a,) = job_of(chain, job_id).assignments
    return a.provider


def test_a_place_whose_reveal_window_closed_is_posted_again_and_its_provider_is_never_drawn_for_it() -> None:
    chain = two_providers()
    job_id = post(chain, deadline_ms=LONG)
    first = assigned_to(chain, job_id)
    name = "bob" if first == acct("bob") else "dave"
    other = "dave" if name == "bob" else "bob"
    worker = Worker(chain, name)
    worker.commit_and_wait(job_id)
    new_id = storage.next_job_id.get(chain.view())
    until(chain, lambda: job_of(chain, job_id).status != JOB_OPEN)
    assert (job_of(chain, job_id).status, job_of(chain, job_id).assignments[0].state) == (JOB_EXPIRED, LATE)
    assert events.JobReassigned(job_id, first, new_id) in chain.events()
    old, new = job_of(chain, job_id), job_of(chain, new_id)
    assert (new.requester, new.model, new.input_seed, new.items, new.price, new.deadline_ms, new.redundancy) == (
        old.requester, old.model, old.input_seed, old.items, old.assignments[0].portion, old.deadline_ms, 1)
    assert reassign.excluded.get(chain.view(), new_id) == first
    # the provider that failed it is never drawn, whatever its bond: the other one is, and finishes the work
    assert assigned_to(chain, new_id) == acct(other)
    Worker(chain, other).work(new_id)
    assert job_of(chain, new_id).status == JOB_DONE
    assert reassign.excluded.get(chain.view(), new_id) is None  # closed: it keeps nobody out any more


def test_a_wrong_item_in_the_sample_is_posted_again_for_another_provider() -> None:
    chain = two_providers()
    job_id = post(chain, deadline_ms=LONG)
    first = assigned_to(chain, job_id)
    name = "bob" if first == acct("bob") else "dave"
    cheat = Worker(chain, name, fake=frozenset(range(4)))
    cheat.commit_and_wait(job_id)
    new_id = storage.next_job_id.get(chain.view())
    assert_ok(cheat.reveal(job_id))
    assert job_of(chain, job_id).assignments[0].state == FRAUD
    assert events.JobReassigned(job_id, first, new_id) in chain.events()
    assert assigned_to(chain, new_id) != first


def test_a_failed_place_is_not_posted_again_when_the_deadline_is_too_near_or_the_requester_cannot_pay() -> None:
    chain = two_providers()
    shortest = min_deadline_ms(chain.view())
    job_id = post(chain, deadline_ms=shortest)  # the reveal window closes too near the deadline for another round
    first = assigned_to(chain, job_id)
    worker = Worker(chain, "bob" if first == acct("bob") else "dave")
    worker.commit_and_wait(job_id)
    until(chain, lambda: job_of(chain, job_id).status != JOB_OPEN)
    assert events.ReassignSkipped(job_id, first, reassign.DEADLINE) in chain.events()
    assert not [e for e in chain.events() if isinstance(e, events.JobReassigned)]

    poor = two_providers(**{"compute.place_rent": UNIT // 100})  # a deposit above the existential deposit
    job_id = storage.next_job_id.get(poor.view())
    assert_ok(poor.submit("charlie", "compute.post_job", MODEL, ZERO_HASH, b"\x5a" * 32, 4, PRICE, 1, LONG))
    first = assigned_to(poor, job_id)
    Worker(poor, "bob" if first == acct("bob") else "dave").commit_and_wait(job_id)
    assert_ok(poor.submit("charlie", "balances.transfer_all", acct("alice"), True))  # the refund alone comes back
    until(poor, lambda: job_of(poor, job_id).status != JOB_OPEN)
    assert events.ReassignSkipped(job_id, first, reassign.BALANCE) in poor.events()
    (low,) = [e for e in poor.events() if isinstance(e, events.RequesterLowBalance)]
    assert low.who == acct("charlie") and low.needed > PRICE


def test_a_record_of_verified_work_raises_the_draw_weight_up_to_the_bound_and_a_newcomer_keeps_its_bond() -> None:
    newcomer = Provider(4, 0, 0)
    assert draw_weight(1_000, newcomer, (10_000, 20)) == 1_000
    veteran = newcomer.replace(completed=20)
    assert draw_weight(1_000, veteran, (10_000, 20)) == 1_500  # half the bound at the prior
    long_record = newcomer.replace(completed=10**9)
    assert 1_999 <= draw_weight(1_000, long_record, (10_000, 20)) < 2_000  # never past the bound
    cheat = newcomer.replace(completed=20, frauds=5)
    assert draw_weight(1_000, cheat, (10_000, 20)) == 1_000  # four times each fraud: no record left
    sloppy = newcomer.replace(completed=20, failed=10)
    assert draw_weight(1_000, sloppy, (10_000, 20)) == 1_000 + 1_000 * 10_000 * 10 // (10_000 * 30)
    assert draw_weight(1_000, veteran, (0, 20)) == 1_000  # the parameter at zero: bond alone


def test_the_draw_uses_the_record_a_veteran_wins_more_often_and_a_newcomer_still_wins() -> None:
    chain = make_chain(balances=dict(BALANCES), params={"compute.record_weight_bps": 10_000,
                                                       "compute.record_prior": 1})
    register(chain, "bob", capacity=32, bond=2_000 * UNIT)
    register(chain, "dave", capacity=32, bond=2_000 * UNIT)
    p = storage.providers.get(chain.view(), acct("bob"))
    assert p is not None
    chain.backend.data[storage.providers.key(acct("bob"))] = storage.providers.codec.encode(
        p.replace(completed=10**6))  # bob's long record, as settled assignments leave it
    chain.broken_on_purpose = {"compute.providers"}  # a record no assignment of this chain adds up to
    jobs = post_many(chain, 30, price=PRICE, deadline_ms=LONG)
    chain.run_block([])
    winners = [job_of(chain, j).assignments[0].provider for j in jobs]
    # equal bonds: bob weighs about twice dave's; dave, with no record, still gets about a third
    assert winners.count(acct("bob")) > winners.count(acct("dave")) > 0
