"""A job posted again for a failed place reads its original's input chunks instead of a copy (spec 18,
`posted_inputs.inputs_from` and `sharers`).

The attack it closes: under spec 17 a reassign copied the job's inputs, up to a megabyte a place, written for nobody's
fee, 64 times a block from the start-of-block hook alone, and each copy stayed while the job posted again was open: a
provider failing on purpose multiplied the state a requester had paid for by the job's redundancy. Each test below
fails a place the ways a place fails (a wrong sample, a missed reveal, one after another, beside a verified place,
with a repost refused) and asserts that nothing of the inputs is written again, that every job reads its items, and
that the chunks leave the state with the last job that needs them, never before. Every block is checked against
compute's books, which now count every reference.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.merkle import merkle_levels, merkle_proof
from runtime.compute import events, posted_inputs, reassign, storage
from runtime.compute.assignment import min_deadline_ms
from runtime.compute.inference import infer
from runtime.compute.inputs import input_root
from runtime.compute.model import model_hash
from runtime.compute.models import built
from runtime.compute.types import ASSIGNED, COMMITTED, FRAUD, JOB_OPEN, LATE, SETTLED, VERIFIED
from runtime.context import GOVERNANCE
from tests.runtime.test_compute import (
    MODEL,
    PRICE,
    Worker,
    close_window,
    faked,
    make_chain,
    now,
    post,
    register,
    until_sampled,
)
from tests.runtime.test_compute_inputs_on_chain import WIDE, own_inputs
from tests.runtime.test_compute_outage import until
from tests.runtime.test_compute_private import chain_with
from tests.runtime.test_compute_reassign import LONG, assigned_to, two_providers
from tests.support.job_inputs import post_inputs
from tests.support.private_jobs import job_of
from tests.support.runtime_builder import UNIT, TestChain, acct, assert_ok


@dataclass
class RequesterInputs(Worker):
    """A provider of a job of the requester's own `inputs`, of whatever model the job names."""

    inputs: tuple[bytes, ...] = field(default_factory=tuple)

    def items(self, job_id: int) -> tuple[list[bytes], list[bytes]]:
        reg = storage.models.get(self.chain.view(), job_of(self.chain, job_id).model)
        assert reg is not None
        outputs = infer(built(reg.spec), list(self.inputs))
        return list(self.inputs), [faked(o) if i in self.fake else o for i, o in enumerate(outputs)]


def chunk_entries(chain: TestChain) -> dict[bytes, bytes]:
    """Every input chunk in the state, by key."""
    return {k: v for k, v in chain.snapshot().items() if k.startswith(posted_inputs.input_chunks.prefix)}


def references(chain: TestChain) -> tuple[dict[int, int], dict[int, int]]:
    view = chain.view()
    return dict(posted_inputs.inputs_from.items(view)), dict(posted_inputs.sharers.items(view))


def name_of(who: bytes) -> str:
    return "bob" if who == acct("bob") else "dave"


def other_than(name: str) -> str:
    return "dave" if name == "bob" else "bob"


def gone(chain: TestChain) -> None:
    """No input of any job is left in the state, nor any reference to one."""
    assert chunk_entries(chain) == {}
    assert references(chain) == ({}, {})
    assert dict(posted_inputs.owed.items(chain.view())) == {}


def test_a_place_failed_by_a_wrong_sample_is_posted_again_reading_the_original_s_chunks() -> None:
    chain = two_providers()
    inputs = own_inputs(4)
    job_id = post(chain, items=4, inputs=inputs, deadline_ms=LONG)
    stored = chunk_entries(chain)
    first = assigned_to(chain, job_id)
    cheat = RequesterInputs(chain, name_of(first), fake=frozenset(range(4)), inputs=inputs)
    cheat.commit_and_wait(job_id)
    new_id = storage.next_job_id.get(chain.view())
    assert_ok(cheat.reveal(job_id))
    assert job_of(chain, job_id).assignments[0].state == FRAUD
    assert events.JobReassigned(job_id, first, new_id) in chain.events()
    # nothing written again: the new job reads the chunks the closed one posted, which stay for it
    assert chunk_entries(chain) == stored
    assert references(chain) == ({new_id: job_id}, {job_id: 1})
    assert posted_inputs.owed.get(chain.view(), job_id) is None  # the original released its own claim
    assert posted_inputs.owed.get(chain.view(), new_id) == 4
    assert tuple(posted_inputs.posted_inputs(chain.view(), new_id)) == inputs
    # drawn at once (its inputs are all on chain), never for the provider that failed, and served from them
    other = other_than(name_of(first))
    assert assigned_to(chain, new_id) == acct(other)
    worker = RequesterInputs(chain, other, inputs=inputs)
    worker.commit_and_wait(new_id)
    assert_ok(worker.reveal(new_id))
    assert job_of(chain, new_id).assignments[0].state == VERIFIED
    assert chunk_entries(chain) == stored  # a challenger of the new job's result still needs them
    close_window(chain, new_id)
    assert job_of(chain, new_id).assignments[0].state == SETTLED
    gone(chain)


def test_a_place_failed_again_and_again_reads_the_first_job_s_chunks_and_they_leave_with_the_last() -> None:
    """Missed reveals in the start-of-block hook, the place failed by one provider and then by the other: every job
    posted again reads the first job's chunks (never through another reader), counted once each."""
    chain = two_providers()
    inputs = own_inputs(4, salt=1)
    job_id = post(chain, items=4, inputs=inputs, deadline_ms=LONG)
    stored = chunk_entries(chain)
    first = assigned_to(chain, job_id)
    RequesterInputs(chain, name_of(first), inputs=inputs).commit_and_wait(job_id)
    second_id = storage.next_job_id.get(chain.view())
    until(chain, lambda: job_of(chain, job_id).status != JOB_OPEN)  # the reveal window closes: late
    assert job_of(chain, job_id).assignments[0].state == LATE
    assert references(chain) == ({second_id: job_id}, {job_id: 1})
    second = assigned_to(chain, second_id)
    assert second != first
    RequesterInputs(chain, name_of(second), inputs=inputs).commit_and_wait(second_id)
    third_id = storage.next_job_id.get(chain.view())
    until(chain, lambda: job_of(chain, second_id).status != JOB_OPEN)
    assert events.JobReassigned(second_id, second, third_id) in chain.events()
    # the second job released its reference; the third reads the first job's chunks directly
    assert references(chain) == ({third_id: job_id}, {job_id: 1})
    assert chunk_entries(chain) == stored
    assert tuple(posted_inputs.posted_inputs(chain.view(), third_id)) == inputs
    third = assigned_to(chain, third_id)
    assert third == first  # the only provider not kept out of it
    assert_ok(RequesterInputs(chain, name_of(third), inputs=inputs).work(third_id))  # the window closed too
    assert job_of(chain, third_id).assignments[0].state == SETTLED
    gone(chain)


def test_a_verified_place_beside_a_failed_one_and_the_job_posted_again_each_keep_the_chunks_they_need() -> None:
    """The original outlives its own claim (its verified result final) while the job posted again still works."""
    chain = two_providers()
    inputs = own_inputs(4, salt=2)
    job_id = post(chain, items=4, redundancy=2, inputs=inputs, deadline_ms=LONG)
    stored = chunk_entries(chain)
    chain.run_block([])
    honest, lazy = (RequesterInputs(chain, n, inputs=inputs) for n in ("bob", "dave"))
    assert_ok(honest.commit(job_id))
    assert_ok(lazy.commit(job_id))
    new_id = storage.next_job_id.get(chain.view())
    until_sampled(chain, job_id)
    assert_ok(honest.reveal(job_id))
    until(chain, lambda: job_of(chain, job_id).status != JOB_OPEN)  # dave's reveal window closes
    states = {a.provider: a.state for a in job_of(chain, job_id).assignments}
    assert states == {acct("bob"): VERIFIED, acct("dave"): LATE}
    assert references(chain) == ({new_id: job_id}, {job_id: 1})
    assert assigned_to(chain, new_id) == acct("bob")  # dave failed it
    worker = RequesterInputs(chain, "bob", inputs=inputs)
    worker.commit_and_wait(new_id)
    assert_ok(worker.reveal(new_id))
    # block by block until both results are final: while either can be challenged, its challenger finds the items
    last = max(a.matures_ms for j in (job_id, new_id) for a in job_of(chain, j).assignments if a.state == VERIFIED)
    seen = set()
    while True:
        open_results = {j for j in (job_id, new_id) if any(a.state == VERIFIED for a in job_of(chain, j).assignments)}
        seen.add(frozenset(open_results))
        if not open_results:
            break
        assert chunk_entries(chain) == stored, open_results
        assert now(chain) <= last + 10_000, "a result never became final"
        chain.run_block([])
    assert frozenset({new_id}) in seen or frozenset({job_id}) in seen  # one outlived the other's claim
    gone(chain)


def test_a_repost_refused_gives_its_pin_back_and_the_chunks_leave_with_the_job() -> None:
    chain = two_providers()
    inputs = own_inputs(4, salt=3)
    job_id = post(chain, items=4, inputs=inputs, deadline_ms=min_deadline_ms(chain.view()))
    first = assigned_to(chain, job_id)
    RequesterInputs(chain, name_of(first), inputs=inputs).commit_and_wait(job_id)
    until(chain, lambda: job_of(chain, job_id).status != JOB_OPEN)
    assert events.ReassignSkipped(job_id, first, reassign.DEADLINE) in chain.events()
    gone(chain)


def test_carrying_wide_inputs_writes_no_input_bytes_however_large_they_are() -> None:
    """A model of 1,000-byte inputs and 100 items (three chunks, ~100 KB): the job posted again after a wrong
    sample adds two small entries to the state, not another ~100 KB."""
    chain = chain_with()
    chain.dispatch(GOVERNANCE, "compute.register_model", WIDE)
    register(chain, "bob")
    register(chain, "dave")
    inputs = own_inputs(100, width=1000, salt=4)
    job_id = post(chain, items=100, inputs=inputs, deadline_ms=LONG, model=model_hash(WIDE))
    stored = chunk_entries(chain)
    assert len(stored) == 3 and sum(map(len, stored.values())) > 100_000
    first = assigned_to(chain, job_id)
    cheat = RequesterInputs(chain, name_of(first), fake=frozenset(range(100)), inputs=inputs)
    cheat.commit_and_wait(job_id)
    before = chain.snapshot()
    assert_ok(cheat.reveal(job_id))
    after = chain.snapshot()
    new_id = storage.next_job_id.get(chain.view()) - 1
    assert references(chain) == ({new_id: job_id}, {job_id: 1})
    assert chunk_entries(chain) == stored
    grown = sum(len(k) + len(v) for k, v in after.items() if before.get(k) != v)
    assert grown < 20_000, grown  # the block's records and events, the new job: no input bytes


def test_the_books_name_a_reference_miscounted_chunks_gone_under_a_reader_and_a_reader_of_a_reader() -> None:
    from runtime.compute.invariants import check_books
    from runtime.invariants import check_invariants
    from runtime.overlay import DictState, Overlay

    chain = two_providers()
    inputs = own_inputs(4, salt=5)
    job_id = post(chain, items=4, inputs=inputs, deadline_ms=LONG)
    first = assigned_to(chain, job_id)
    cheat = RequesterInputs(chain, name_of(first), fake=frozenset(range(4)), inputs=inputs)
    cheat.commit_and_wait(job_id)
    new_id = storage.next_job_id.get(chain.view())
    assert_ok(cheat.reveal(job_id))
    assert references(chain) == ({new_id: job_id}, {job_id: 1})

    def broken(corrupt: object) -> list[str]:
        view = Overlay(DictState(chain.backend.data))
        corrupt(view)  # type: ignore[operator]
        problems = [p for p in check_books(view) if p.startswith("compute.posted_inputs: ")]
        assert problems and set(problems) <= set(check_invariants(view)), problems
        return problems

    assert broken(lambda v: posted_inputs.sharers.put(v, job_id, 2))  # a pin never given back
    assert broken(lambda v: posted_inputs.sharers.remove(v, job_id))  # a reader uncounted: its chunks could go
    for key in chunk_entries(chain):
        assert broken(lambda v, k=key: v.delete(k))  # the chunks gone while a job reads them
    assert broken(lambda v: (posted_inputs.inputs_from.put(v, new_id + 1, new_id),
                             posted_inputs.sharers.put(v, new_id, 1)))  # a reader of a reader


@pytest.mark.parametrize("seed", range(5))
def test_random_failures_never_drop_chunks_a_job_reads_and_never_leave_any_behind(seed: int) -> None:
    """Jobs of own inputs (redundancy 1 to 3) whose places fail at random, every way a place fails: a faked item
    caught by the sample or by a challenge, a reveal that never comes, a commit that never comes; places posted again
    fail again. After every block the books check each reference and that each job reads all its items; at the end,
    with every job closed and every result final, nothing of any input is left."""
    chain = make_chain(
        balances={"alice": 1_000, "bob": 5_000, "charlie": 100_000, "dave": 100_000, "eve": 5_000, "ferdie": 5_000},
        params={"compute.max_open_jobs": 8, "compute.max_open_jobs_per_requester": 6,
                "compute.commit_window_slots": 3, "compute.reveal_window_slots": 3,
                "compute.challenge_window_ms": 8_000, "compute.max_open_share_bps": 5_000, "compute.sample_size": 2},
    )
    for name in ("bob", "eve", "ferdie"):
        register(chain, name, capacity=3, bond=40 * 25 * UNIT)
    rng = random.Random(seed)
    faked_by: dict[tuple[int, str], frozenset[int]] = {}
    most_readers = 0
    seen: set[str] = set()
    for step in range(160):
        view = chain.view()
        if step < 100 and rng.random() < 0.25:  # a post the market refuses (full, or the requester's share) is fine
            items, who = rng.choice((4, 8)), rng.choice(("charlie", "dave"))
            inputs = own_inputs(items, salt=rng.randrange(256))
            if chain.submit(who, "compute.post_job", MODEL, input_root(inputs), ZERO_HASH, items, PRICE,
                            rng.choice((1, 2, 3)), rng.choice((30_000, 60_000))).success:
                # the call's own post is the block's last (a place posted again by the block's hook comes first)
                job_id = [e for e in chain.events() if isinstance(e, events.JobPosted)][-1].job_id
                post_inputs(chain, who, job_id, inputs)  # refused only if another post evicted it meanwhile
            view = chain.view()
        planned: list[tuple[str, tuple[object, ...]]] = []
        for _, job in storage.jobs.items(view):
            inputs = tuple(posted_inputs.posted_inputs(view, job.id))
            for a in job.assignments:
                name = next(n for n in ("bob", "eve", "ferdie") if acct(n) == a.provider)
                fake = faked_by.setdefault((job.id, name), frozenset({0}) if rng.random() < 0.25 else frozenset())
                worker = RequesterInputs(chain, name, fake=fake, inputs=inputs)
                if job.status != JOB_OPEN and a.state != VERIFIED:
                    continue
                if a.state == ASSIGNED and rng.random() < 0.7:
                    planned.append((name, ("compute.commit_result", job.id, worker.commitment(job.id))))
                elif a.state == COMMITTED and worker.sample(job.id) and rng.random() < 0.6:
                    planned.append((name, ("compute.reveal_result", *worker.reveal_args(job.id))))
                elif a.state == VERIFIED and fake and rng.random() < 0.4:
                    outs = worker.items(job.id)[1]
                    planned.append(("alice", ("compute.challenge", job.id, a.provider, 0, inputs[0], outs[0],
                                              merkle_proof(merkle_levels(inputs), 0),
                                              merkle_proof(merkle_levels(outs), 0))))
        nonces: dict[str, int] = {}
        signed = []
        for who, call in planned:  # one block: each signer's nonces in order
            nonce = nonces.setdefault(who, chain.account(who).nonce)
            signed.append(chain.sign(who, *call, nonce=nonce))  # type: ignore[arg-type]
            nonces[who] = nonce + 1
        chain.run_block(signed)
        seen.update(type(e).__name__ for e in chain.events())
        most_readers = max([most_readers, *(n for _, n in posted_inputs.sharers.items(chain.view()))])
    # no more work: every job closes, every result becomes final
    for _ in range(600):
        view = chain.view()
        if all(j.status != JOB_OPEN and all(a.state != VERIFIED for a in j.assignments)
               for _, j in storage.jobs.items(view)):
            break
        chain.run_block([])
    else:
        raise AssertionError("a job never closed")
    assert most_readers >= 1, "no place failed into a reference: the run tried nothing"
    assert {"JobReassigned", "RevealMissed", "FraudDetected", "ChallengeUpheld"} <= seen, seen
    gone(chain)
