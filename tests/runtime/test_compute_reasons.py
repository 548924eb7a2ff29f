"""Reasons (issue 52: "every refund, eviction, expiry and unpaid reward carries a reason"): `runtime.compute.reasons`
reads why a job is in its status and what happened to each place and its money from the stored records alone.

- the tables hold together: every move of `assignment_state.TRANSITIONS` leads to a named case and every case came
  by a move there is; every job status and assignment state has a reason, and an unknown one is refused;
- each case is told apart on hand-made records (the table below), including the look-alikes an attacker might hope
  to blur: a requester's cancel after every provider stalled is not the clinic's unsealed inputs, a withdrawn place
  is not a disputed one, withheld outputs are not a challenge;
- and on real test chains each ending gets its own reason: settled and done, stalled then expired, late then
  missed (honest late work, or nothing opened), late through the reveal window with the job expired before its
  deadline, fraud by the sample, by a challenge and by withheld outputs, evicted with its provider withdrawn,
  cancelled, expired unassigned, unserved, and a private job's unsealed inputs and unrevealed decoys.
"""

from __future__ import annotations

import pytest

from runtime.compute import storage
from runtime.compute.assignment_state import TRANSITIONS
from runtime.compute.reasons import (
    ASSIGNMENT_CASES,
    JOB_CASES,
    assignment_case,
    assignment_reason,
    job_case,
    job_reason,
)
from runtime.compute.types import (
    ASSIGNED,
    ASSIGNMENT_STATES,
    COMMITTED,
    FRAUD,
    JOB_CANCELLED,
    JOB_DONE,
    JOB_EVICTED,
    JOB_EXPIRED,
    JOB_OPEN,
    JOB_STATES,
    LATE,
    MISSED,
    PRIVATE_CHECKED,
    PRIVATE_UNREVEALED,
    PRIVATE_UNSEALED,
    SETTLED,
    STALLED,
    VERIFIED,
    VOID,
    Assignment,
    Job,
    PrivateJob,
)
from tests.runtime.test_compute import (
    MODEL,
    PRICE,
    SHORT,
    Worker,
    assigned_job,
    close_window,
    job_of,
    make_chain,
    min_price,
    now,
    post,
    register,
    run_to,
    run_to_deadline,
)
from tests.runtime.test_compute_attacks import challenge_args, item_outside_sample
from tests.runtime.test_compute_market_attacks import private_model
from tests.runtime.test_compute_outage import faked_and_quiet, outage_chain, until
from tests.runtime.test_compute_private import chain_with, posted, ready, sealed_and_committed
from tests.support.private_jobs import Clinic, record_of
from tests.support.runtime_builder import TestChain, acct, assert_ok

H = b"\x07" * 32
"""A non-zero hash: a commitment, a sample seed or an output root the record holds."""
OTHER = b"\x08" * 32


def reasons(chain: TestChain, job_id: int) -> tuple[str, list[str]]:
    """The job's reason and its assignments', as the RPC renders them from the stored records."""
    job = job_of(chain, job_id)
    rec = storage.private_jobs.get(chain.view(), job_id)
    return job_reason(job), [assignment_reason(job, a, rec) for a in job.assignments]


def cases(chain: TestChain, job_id: int) -> tuple[str, list[str]]:
    job = job_of(chain, job_id)
    rec = storage.private_jobs.get(chain.view(), job_id)
    return job_case(job), [assignment_case(job, a, rec) for a in job.assignments]


# --- the tables ----------------------------------------------------------------------------------------------


def test_every_move_leads_to_a_named_case_and_every_case_came_by_a_move_there_is() -> None:
    moves = {m for case in ASSIGNMENT_CASES.values() for m in case.moves}
    assert moves == set(TRANSITIONS)  # a new move without a reason (or a reason of no move) fails here
    for name, case in ASSIGNMENT_CASES.items():
        assert all(to == case.state for _, to in case.moves), name
        assert case.text.startswith(ASSIGNMENT_STATES[case.state] + ": "), name
    assert {c.state for c in ASSIGNMENT_CASES.values()} == set(range(len(ASSIGNMENT_STATES)))
    assert {status for status, _ in JOB_CASES.values()} == set(JOB_STATES)
    for name, (status, text) in JOB_CASES.items():
        assert text.startswith(status + ": "), name


def test_an_unknown_state_or_status_has_no_reason() -> None:
    job = Job(0, acct("charlie"), MODEL, H, H, 4, PRICE, 1, 60_000, 1, False, JOB_OPEN)
    with pytest.raises(ValueError, match="assignment state 9"):
        assignment_reason(job, Assignment(acct("bob"), PRICE, 9, 1))
    with pytest.raises(ValueError, match="job status 6"):
        job_reason(job.replace(status=6))


def a_job(status: int, *assignments: Assignment, redundancy: int = 1) -> Job:
    return Job(3, acct("charlie"), MODEL, H, H, 16, PRICE, redundancy, 60_000, 1, False, status,
               assignments=assignments)


def placed(state: int, **fields: object) -> Assignment:
    return Assignment(acct("bob"), PRICE, state, 1, commit_by_slot=11, sample_from_slot=40, **fields)  # type: ignore[arg-type]


SEALING = PrivateJob(8, H, 5, H, provider_key=H, inputs_by_slot=7)
SEALED = SEALING.replace(sealed_root=H)
COMMITTED_ = {"commitment": H}
SAMPLED = {"commitment": H, "sample_seed": H, "reveal_by_slot": 99}
REVEALED = {**SAMPLED, "output_root": H}

RECORDS: list[tuple[str, Job, int, PrivateJob | None]] = [
    # (case, job, index of the assignment, private record)
    ("assigned", a_job(JOB_OPEN, placed(ASSIGNED)), 0, None),
    ("assigned", a_job(JOB_OPEN, placed(ASSIGNED)), 0, SEALED),
    ("assigned-sealing", a_job(JOB_OPEN, placed(ASSIGNED)), 0, SEALING),
    ("committed-unsampled", a_job(JOB_OPEN, placed(COMMITTED, **COMMITTED_)), 0, None),
    ("committed", a_job(JOB_OPEN, placed(COMMITTED, **SAMPLED)), 0, None),
    ("verified", a_job(JOB_DONE, placed(VERIFIED, **REVEALED, matures_ms=9)), 0, None),
    ("verified-owing", a_job(JOB_DONE, placed(VERIFIED, **REVEALED, matures_ms=9, outputs_due_ms=8)), 0, None),
    ("verified", a_job(JOB_DONE, placed(VERIFIED, **REVEALED, matures_ms=9, outputs_due_ms=8,
                                        outputs_posted=True)), 0, None),
    ("verified-disputed", a_job(JOB_DONE, placed(VERIFIED, **REVEALED, matures_ms=9, outputs_posted=True),
                                placed(VERIFIED, **{**REVEALED, "output_root": OTHER}, matures_ms=9),
                                redundancy=2), 0, None),
    ("verified", a_job(JOB_DONE, placed(VERIFIED, **REVEALED, matures_ms=9),
                       placed(FRAUD, **{**REVEALED, "output_root": OTHER}), redundancy=2), 0, None),
    ("late", a_job(JOB_EXPIRED, placed(LATE, **SAMPLED, matures_ms=9)), 0, None),
    ("settled", a_job(JOB_DONE, placed(SETTLED, **REVEALED, matures_ms=9)), 0, None),
    ("settled", a_job(JOB_DONE, placed(SETTLED, **REVEALED, matures_ms=9)), 0, SEALED.replace(
        outcome=PRIVATE_CHECKED)),
    ("settled-unchecked", a_job(JOB_DONE, placed(SETTLED, **REVEALED, matures_ms=9)), 0, SEALED.replace(
        outcome=PRIVATE_UNREVEALED)),
    ("fraud-sample", a_job(JOB_DONE, placed(FRAUD, **REVEALED)), 0, None),
    ("fraud-flagged", a_job(JOB_DONE, placed(FRAUD, **COMMITTED_)), 0, SEALED),
    ("fraud-challenged", a_job(JOB_DONE, placed(FRAUD, **REVEALED, matures_ms=9)), 0, None),
    ("fraud-challenged", a_job(JOB_DONE, placed(FRAUD, **REVEALED, matures_ms=9, outputs_due_ms=8,
                                                outputs_posted=True)), 0, None),
    ("fraud-withheld", a_job(JOB_DONE, placed(FRAUD, **REVEALED, matures_ms=9, outputs_due_ms=8)), 0, None),
    ("missed-uncommitted", a_job(JOB_EXPIRED, placed(MISSED)), 0, None),
    ("missed-unsampled", a_job(JOB_EXPIRED, placed(MISSED, **COMMITTED_)), 0, None),
    ("missed-late-honest", a_job(JOB_EXPIRED, placed(MISSED, **REVEALED)), 0, None),
    ("missed-withheld", a_job(JOB_EXPIRED, placed(MISSED, **SAMPLED)), 0, None),
    ("void-withdrawn", a_job(JOB_EVICTED, placed(VOID)), 0, None),
    ("void-unsealed", a_job(JOB_CANCELLED, placed(VOID)), 0, SEALING.replace(outcome=PRIVATE_UNSEALED)),
    ("void-disputed", a_job(JOB_DONE, placed(VOID, **REVEALED, matures_ms=9)), 0, None),
    ("stalled", a_job(JOB_OPEN, placed(STALLED)), 0, None),
    ("stalled-closed", a_job(JOB_EXPIRED, placed(STALLED)), 0, None),
    ("stalled-closed", a_job(JOB_CANCELLED, placed(STALLED)), 0, None),
]


@pytest.mark.parametrize(("case", "job", "idx", "rec"), RECORDS, ids=[f"{c}-{i}" for i, (c, *_) in enumerate(RECORDS)])
def test_each_case_is_read_from_the_records(case: str, job: Job, idx: int, rec: PrivateJob | None) -> None:
    a = job.assignments[idx]
    assert assignment_case(job, a, rec) == case
    text = assignment_reason(job, a, rec)
    assert text.startswith(ASSIGNMENT_STATES[a.state] + ": ") and "{" not in text


def test_the_table_of_records_names_every_case() -> None:
    assert {c for c, *_ in RECORDS} == set(ASSIGNMENT_CASES)


def test_look_alikes_stay_apart() -> None:
    # a requester that cancels after its only provider stalled is not the clinic that never sealed its inputs
    cancelled = a_job(JOB_CANCELLED, placed(STALLED))
    assert job_case(cancelled) == "cancelled"
    unsealed = a_job(JOB_CANCELLED, placed(VOID))
    assert job_case(unsealed) == "cancelled-unsealed"
    assert "missed-assignment fee was burned" in job_reason(unsealed)
    assert "requester withdrew" in job_reason(cancelled) and "burned from the price" not in job_reason(cancelled)
    # a withdrawn place owed nothing; a disputed one was verified first (it committed)
    assert "withdrawn" in assignment_reason(a_job(JOB_EVICTED, placed(VOID)), placed(VOID))
    disputed = placed(VOID, **REVEALED, matures_ms=9)
    assert "nobody settled the dispute" in assignment_reason(a_job(JOB_DONE, disputed), disputed)
    # an evicted job names only the providers it withdrew, not a stalled entry
    assert "withdrawn" not in job_reason(a_job(JOB_EVICTED, placed(STALLED)))
    two = a_job(JOB_EVICTED, placed(VOID), placed(VOID), redundancy=2)
    assert "its 2 assigned providers withdrawn owing nothing" in job_reason(two)


# --- real chains -----------------------------------------------------------------------------------------------


def test_an_honest_job_is_told_from_its_assignment_to_its_payment() -> None:
    chain = make_chain()
    job_id = post(chain)
    job, places = reasons(chain, job_id)
    assert places == [] and job.startswith("open: 1 of 1 places wait for a provider;")
    assert "a job paying more in all may take its place" in job
    assert "if no registered provider is able to serve it" in job
    register(chain, "bob")
    chain.run_block([])
    a = job_of(chain, job_id).assignments[0]
    job, (place,) = reasons(chain, job_id)
    assert job.startswith("open: 0 of 1 places wait for a provider, 1 being worked on;")
    assert "unserved" not in job
    assert place.startswith(f"assigned: the provider must commit by slot {a.commit_by_slot},")
    bob = Worker(chain, "bob")
    assert_ok(bob.commit(job_id))
    assert cases(chain, job_id) == ("open", ["committed-unsampled"])
    assert "may take its place" not in reasons(chain, job_id)[0]  # committed: no longer evictable
    until(chain, lambda: bool(bob.sample(job_id)), blocks=64)
    a = job_of(chain, job_id).assignments[0]
    assert reasons(chain, job_id)[1] == [ASSIGNMENT_CASES["committed"].text.format(reveal_by_slot=a.reveal_by_slot)]
    assert_ok(bob.reveal(job_id))
    job, (place,) = reasons(chain, job_id)
    assert cases(chain, job_id) == ("done", ["verified"])
    assert "0 of 1 places paid for verified work, 1 verified, paid when its challenge window closes" in job
    close_window(chain, job_id)
    job, (place,) = reasons(chain, job_id)
    assert job.startswith("done: every place ended before its deadline (1 of 1 places paid for verified work, "
                          "0 refunded)")
    assert place.startswith("settled:") and place.endswith("with work credit")


def test_a_stalled_place_waits_for_the_next_provider_and_is_refunded_when_the_job_expires() -> None:
    chain = make_chain()
    job_id = assigned_job(chain, deadline_ms=SHORT)
    commit_by = job_of(chain, job_id).assignments[0].commit_by_slot
    run_to(chain, commit_by + 1)
    job, (place,) = reasons(chain, job_id)
    assert place.startswith(f"stalled: its commit window closed at slot {commit_by} without a commit;")
    assert "paid the missed-assignment fee" in place and "waiting for the next provider" in place
    assert job.startswith("open: 1 of 1 places wait for a provider;")
    run_to_deadline(chain, job_id)  # nobody else serves
    assert cases(chain, job_id) == ("expired", ["stalled-closed"])
    job, (place,) = reasons(chain, job_id)
    assert "0 of 1 places paid for verified work, 1 refunded" in job
    assert place.endswith("the job closed before another provider took the place: its escrow was refunded to the "
                          "requester")


def test_a_requester_that_cancels_after_its_provider_stalled_is_read_as_a_cancel() -> None:
    chain = make_chain()
    job_id = assigned_job(chain, deadline_ms=SHORT)
    run_to(chain, job_of(chain, job_id).assignments[0].commit_by_slot + 1)
    assert_ok(chain.submit("charlie", "compute.cancel_job", job_id))
    assert cases(chain, job_id) == ("cancelled", ["stalled-closed"])


def test_a_late_place_then_honest_late_work_or_nothing_opened() -> None:
    chain = outage_chain()
    job_id = assigned_job(chain, deadline_ms=60_000)
    bob = Worker(chain, "bob")
    bob.commit_and_wait(job_id)
    run_to_deadline(chain, job_id)
    assert cases(chain, job_id) == ("expired", ["late"])
    job, (place,) = reasons(chain, job_id)
    assert "its escrow was refunded to the requester; it may still open its sample" in place
    assert "0 of 1 places paid for verified work, 1 refunded" in job
    honest = chain.fork()
    assert_ok(Worker(honest, "bob").reveal(job_id))
    assert cases(honest, job_id) == ("expired", ["missed-late-honest"])
    assert "the work was honest; nothing paid, no credit" in reasons(honest, job_id)[1][0]
    quiet = chain.fork()
    until(quiet, lambda: job_of(quiet, job_id).assignments[0].state != LATE)
    assert cases(quiet, job_id) == ("expired", ["missed-withheld"])
    assert "slashed as withholding" in reasons(quiet, job_id)[1][0]


def test_a_reveal_window_that_closes_ends_the_job_before_its_deadline_as_expired() -> None:
    chain = outage_chain(**{"compute.reveal_window_slots": 2})
    job_id = assigned_job(chain, deadline_ms=60_000)
    Worker(chain, "bob").commit_and_wait(job_id)
    until(chain, lambda: job_of(chain, job_id).status != JOB_OPEN, blocks=10)
    assert now(chain) < job_of(chain, job_id).deadline_ms
    assert cases(chain, job_id) == ("expired", ["late"])
    assert "or every place ended with no result verified" in reasons(chain, job_id)[0]


def test_a_late_reveal_that_opens_a_faked_item_is_fraud() -> None:
    chain = outage_chain()
    job_id, cheat = faked_and_quiet(chain)
    assert_ok(Worker(chain, "bob", fake=cheat.fake).reveal(job_id))
    assert cases(chain, job_id) == ("expired", ["fraud-sample"])


def test_fraud_by_the_sample_by_a_challenge_and_by_withheld_outputs_each_has_its_reason() -> None:
    chain = make_chain()
    job_id = assigned_job(chain)
    probe = Worker(chain.fork(), "bob")
    probe.commit_and_wait(job_id)
    sampled = chain.fork()
    cheat = Worker(sampled, "bob", fake=frozenset({probe.sample(job_id)[0]}))
    cheat.commit_and_wait(job_id)
    assert_ok(cheat.reveal(job_id))
    assert cases(sampled, job_id) == ("done", ["fraud-sample"])
    job, (place,) = reasons(sampled, job_id)
    assert "did not re-execute" in place and "its escrow was refunded to the requester" in place
    assert "0 of 1 places paid for verified work, 1 refunded" in job

    big = assigned_job(chain, items=64)
    x = item_outside_sample(chain, big, "bob")
    challenged = chain.fork()
    cheat = Worker(challenged, "bob", fake=frozenset({x}))
    cheat.commit_and_wait(big)
    assert_ok(cheat.reveal(big))
    assert_ok(challenged.submit("charlie", "compute.challenge", *challenge_args(cheat, big, x)))
    assert cases(challenged, big) == ("done", ["fraud-challenged"])
    assert "the challenger rewarded from it" in reasons(challenged, big)[1][0]

    bob = Worker(chain, "bob")
    bob.commit_and_wait(big)
    assert_ok(bob.reveal(big))
    assert_ok(chain.submit("charlie", "compute.demand_outputs", big, acct("bob")))
    place = reasons(chain, big)[1][0]
    assert cases(chain, big)[1] == ["verified-owing"] and "(0 of 64 items posted)" in place
    close_window(chain, big)  # bob never posts them
    assert cases(chain, big) == ("done", ["fraud-withheld"])
    assert "did not post the outputs it owed" in reasons(chain, big)[1][0]


def test_an_evicted_job_and_its_withdrawn_provider_are_told_why() -> None:
    chain = make_chain(params={"compute.max_open_jobs": 1})
    register(chain, "bob")
    floor = min_price(chain)
    victim = post(chain, "dave", price=floor)
    chain.run_block([])
    assert job_of(chain, victim).assignments[0].state == ASSIGNED
    assert "a job paying more in all may take its place" in reasons(chain, victim)[0]
    post(chain, "charlie", price=2 * floor)
    assert cases(chain, victim) == ("evicted", ["void-withdrawn"])
    job, (place,) = reasons(chain, victim)
    assert "a job paying more in all took its place before any provider committed; its price was refunded in full, " \
           "its 1 assigned provider withdrawn owing nothing" in job
    assert place.startswith("void: withdrawn,") and "no pay, no fee" in place


def test_a_cancelled_and_an_unassigned_expired_job() -> None:
    chain = make_chain()
    cancelled = post(chain)
    assert_ok(chain.submit("charlie", "compute.cancel_job", cancelled))
    assert reasons(chain, cancelled)[0].startswith("cancelled: the requester withdrew it while no provider held it; "
                                                   "its price was refunded")
    lonely = post(chain, deadline_ms=SHORT)
    run_to_deadline(chain, lonely)
    job, places = reasons(chain, lonely)
    assert places == [] and job_of(chain, lonely).status == JOB_EXPIRED
    assert job.startswith("expired: its deadline passed")
    assert "(0 of 1 places paid for verified work, 1 refunded)" in job


def test_a_job_nobody_is_able_to_serve_closes_unserved() -> None:
    chain = make_chain(params={"compute.unserved_wait_ms": 60_000})
    register(chain, "bob")  # serves governance models only
    model = private_model(chain, "eve", "nobody-serves")
    job_id = post(chain, price=PRICE, model=model, deadline_ms=120_000)
    until(chain, lambda: job_of(chain, job_id).status != JOB_OPEN, blocks=70)
    assert JOB_STATES[job_of(chain, job_id).status] == "unserved"
    job, places = reasons(chain, job_id)
    assert places == [] and job.startswith("unserved: no registered provider was able to serve it")
    assert "(0 of 1 places paid for verified work, 1 refunded)" in job


def test_a_private_job_whose_clinic_never_seals_and_one_whose_clinic_never_reveals() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    unsealed = chain.fork()
    job_id = posted(unsealed, Clinic(unsealed, clinic.name, clinic.model))
    inputs_by = record_of(unsealed, job_id).inputs_by_slot
    assert reasons(unsealed, job_id)[1][0].startswith(
        f"assigned: waiting for the clinic to seal its items to the provider by slot {inputs_by}")
    until(unsealed, lambda: job_of(unsealed, job_id).status != JOB_OPEN, blocks=40)
    assert cases(unsealed, job_id) == ("cancelled-unsealed", ["void-unsealed"])
    assert "no pay and no fee for the provider" in reasons(unsealed, job_id)[1][0]

    job_id = sealed_and_committed(chain, clinic, worker)
    until(chain, lambda: record_of(chain, job_id).outcome == PRIVATE_UNREVEALED, blocks=64)
    assert_ok(worker.reveal(job_id))
    close_window(chain, job_id)
    assert cases(chain, job_id) == ("done", ["settled-unchecked"])
    assert "without work credit: the clinic did not reveal its decoys" in reasons(chain, job_id)[1][0]
