"""compute's books as runtime invariants (`runtime.compute.invariants`), and the one place assignments change state
(`runtime.compute.assignment_state`).

A chain is driven into a state that holds one of everything the books track: a settled assignment with credit
waiting to mature, a verified one with its outputs demanded and posted, a late one, a missed one (opened late) with
its outage record, a stalled one, a committed one waiting for its sample, a committed one with its sample drawn and
its reveal due, an assigned one, a job on an owner's model, and a job waiting for its first provider. That
state passes; then each rule is broken on purpose, one counter or index entry at a time, and the check names it.
The transition table is checked against what each state counts, and a dispute nobody settles (the move to `void`)
is run through with the books checked after every block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from btt_chain.primitives.hashing import ZERO_HASH
from runtime.compute import posted_inputs, reassign, rent, storage
from runtime.compute.assignment_state import COUNTED, COUNTERS, FINAL_STATES, TRANSITIONS, move
from runtime.compute.holds import by_assignment, by_provider, hold_key, hold_of
from runtime.compute.invariants import PARAMETER_RULES, RULES, check_books, check_parameter_rules
from runtime.compute.model import model_hash
from runtime.compute.types import (
    ASSIGNED,
    ASSIGNMENT_STATES,
    AT_RISK_STATES,
    COMMITTED,
    JOB_DONE,
    LATE,
    MISSED,
    OPEN_STATES,
    SETTLED,
    STALLED,
    VERIFIED,
    VOID,
    CreditBucket,
    Job,
    JobProvider,
    Outage,
    PendingCredit,
    PrivateJob,
)
from runtime.invariants import check_invariants
from runtime.overlay import DictState, Overlay
from runtime.system import storage as system
from tests.runtime.test_compute import (
    BOND,
    DEADLINE,
    SHORT,
    Worker,
    close_window,
    job_of,
    make_chain,
    post,
    register,
    run_to_deadline,
    until_sampled,
)
from tests.runtime.test_compute import (
    SMALL as OWNED,
)
from tests.runtime.test_work_proof_attacks import chain_with, requester_input_dispute
from tests.support.runtime_builder import UNIT, TestChain, acct, assert_ok

NAMES = {acct(n): n for n in ("bob", "eve")}


def worker_of(chain: TestChain, job_id: int) -> Worker:
    """The worker of the job's (first) assignment, whichever provider the draw chose."""
    return Worker(chain, NAMES[job_of(chain, job_id).assignments[0].provider])


@dataclass
class Books:
    """A chain whose state holds one of everything the books track, and the jobs in each state."""

    chain: TestChain
    settled: int
    verified: int
    late: int
    missed: int
    stalled: int
    drawn: int
    committed: int
    assigned: int
    owned: int
    waiting: int


def build_books() -> Books:
    chain = make_chain(params={"compute.credit_maturity_ms": 600_000, "compute.outputs_due_ms": 20_000})
    register(chain, "bob", bond=BOND + UNIT)  # a unit over the minimum, as an operator keeps for fees
    register(chain, "eve", bond=BOND + UNIT)
    settled = post(chain)
    chain.run_block([])
    assert_ok(worker_of(chain, settled).work(settled))
    late, missed = post(chain, deadline_ms=SHORT), post(chain, deadline_ms=SHORT)
    chain.run_block([])
    for job_id in (late, missed):
        assert_ok(worker_of(chain, job_id).commit(job_id))
    until_sampled(chain, late)
    until_sampled(chain, missed)
    run_to_deadline(chain, late)
    assert_ok(worker_of(chain, missed).reveal(missed))  # opened late: honest work, the missed-assignment fee
    stalled = post(chain, deadline_ms=SHORT)
    chain.run_block([])
    while job_of(chain, stalled).assignments[0].state != STALLED:  # nobody commits: its window closes
        chain.run_block([])
    run_to_deadline(chain, stalled)  # too little time was left to draw another provider: it expired
    verified = post(chain)
    chain.run_block([])
    while not job_of(chain, verified).assignments:  # both providers missed something: wait out their pauses
        chain.run_block([])
    worker = worker_of(chain, verified)
    worker.commit_and_wait(verified)
    assert_ok(worker.reveal(verified))
    assert_ok(chain.submit("charlie", "compute.demand_outputs", verified, worker.account))
    assert_ok(worker.post_all(verified))
    assert_ok(chain.submit("dave", "compute.register_model", OWNED))
    owned = post(chain, model=model_hash(OWNED), items=3)  # nobody serves it: it waits
    drawn = post(chain, deadline_ms=DEADLINE)
    chain.run_block([])
    assert_ok(worker_of(chain, drawn).commit(drawn))
    until_sampled(chain, drawn)
    committed, assigned = post(chain, deadline_ms=DEADLINE), post(chain, deadline_ms=DEADLINE)
    chain.run_block([])
    assert_ok(worker_of(chain, committed).commit(committed))
    waiting = post(chain)  # posted in the last block: assigned in the next one
    books = Books(chain, settled, verified, late, missed, stalled, drawn, committed, assigned, owned, waiting)
    states = {name: job_of(chain, getattr(books, name)).assignments for name in (
        "settled", "verified", "late", "missed", "stalled", "drawn", "committed", "assigned", "owned", "waiting")}
    assert {name: tuple(a.state for a in assignments) for name, assignments in states.items()} == {
        "settled": (SETTLED,), "verified": (VERIFIED,), "late": (LATE,), "missed": (MISSED,), "stalled": (STALLED,),
        "drawn": (COMMITTED,), "committed": (COMMITTED,), "assigned": (ASSIGNED,), "owned": (), "waiting": ()}
    assert states["verified"][0].outputs_posted and states["verified"][0].posting_deposit
    assert states["committed"][0].sample_seed == ZERO_HASH
    assert states["drawn"][0].sample_seed != ZERO_HASH and states["drawn"][0].reveal_by_slot
    view = chain.view()
    assert list(storage.pending_credit.items(view))
    assert list(storage.outages.items(view))
    assert storage.open_by_owner.get(view, acct("dave")) == 1
    return books


@pytest.fixture(scope="module")
def books() -> Books:
    return build_books()


def test_the_books_of_a_chain_with_every_kind_of_entry_hold(books: Books) -> None:
    view = books.chain.view()
    assert check_books(view) == []
    assert check_parameter_rules(view) == []
    assert check_invariants(view) == []


# --- each rule broken on purpose ----------------------------------------------------------------------------


def _job(view: Overlay, job_id: int) -> Job:
    job = storage.jobs.get(view, job_id)
    assert job is not None
    return job


def _put_assignment(view: Overlay, job_id: int, **changes: object) -> None:
    job = _job(view, job_id)
    storage.jobs.put(view, job_id, job.replace(assignments=(job.assignments[0].replace(**changes),)))


def _bump_provider(counter: str) -> Callable[[Books, Overlay], None]:
    def corrupt(b: Books, view: Overlay) -> None:
        who = _job(view, b.assigned).assignments[0].provider
        p = storage.providers.get(view, who)
        assert p is not None
        storage.providers.put(view, who, p.replace(**{counter: getattr(p, counter) + 1}))
    return corrupt


def _sample_entry(b: Books, view: Overlay) -> tuple[int, JobProvider]:
    a = _job(view, b.committed).assignments[0]
    return a.sample_from_slot, JobProvider(b.committed, a.provider)


def _no_sample_entry(b: Books, view: Overlay) -> None:
    start, _ = _sample_entry(b, view)
    storage.sample_waiting.remove(view, start)
    storage.samples_waiting.put(view, storage.samples_waiting.get(view) - 1)


def _twice_waiting(b: Books, view: Overlay) -> None:
    start, entry = _sample_entry(b, view)
    storage.sample_waiting.put(view, start, (entry, entry))
    storage.samples_waiting.put(view, storage.samples_waiting.get(view) + 1)


def _less_reserved(b: Books, view: Overlay) -> None:
    acc = system.account.get(view, acct("charlie"))
    system.account.put(view, acct("charlie"), acc.replace(free=acc.free + 1, reserved=acc.reserved - 1))


def _late_maturity(b: Books, view: Overlay) -> None:
    a = _job(view, b.verified).assignments[0]
    storage.maturing.remove(view, storage.maturing_key(a.matures_ms, b.verified, a.provider))
    storage.maturing.put(view, storage.maturing_key(a.matures_ms + 1, b.verified, a.provider), ZERO_HASH)


def _no_late_reveal(b: Books, view: Overlay) -> None:
    a = _job(view, b.late).assignments[0]
    storage.late_reveals.remove(view, storage.maturing_key(a.matures_ms, b.late, a.provider))


def _no_chunk(b: Books, view: Overlay) -> None:
    a = _job(view, b.verified).assignments[0]
    storage.posted_chunks.remove(view, storage.chunk_key(b.verified, a.provider, 0))


def _chunk_of_the_settled(b: Books, view: Overlay) -> None:
    a = _job(view, b.settled).assignments[0]
    storage.posted_chunks.put(view, storage.chunk_key(b.settled, a.provider, 0), (b"\x00\x01",))


def _unqueued(b: Books, view: Overlay) -> None:
    job = _job(view, b.waiting)
    storage.queue.remove(view, storage.queue_key(job.priority, job.rank, job.id))


def _unevictable(b: Books, view: Overlay) -> None:
    job = _job(view, b.waiting)
    storage.evictable.remove(view, storage.evictable_key(job.priority, job.price, job.id))


def _evictable_committed(b: Books, view: Overlay) -> None:
    job = _job(view, b.committed)
    storage.evictable.put(view, storage.evictable_key(job.priority, job.price, job.id), ZERO_HASH)


def _no_deadline(b: Books, view: Overlay) -> None:
    job = _job(view, b.committed)
    storage.deadlines.remove(view, storage.deadline_key(job.deadline_ms, job.id))


def _zero_requester_entry(b: Books, view: Overlay) -> None:
    storage.open_by_requester.put(view, acct("dave"), 0)


def _more_open_by_requester(b: Books, view: Overlay) -> None:
    storage.open_by_requester.put(view, acct("charlie"), storage.open_by_requester.get(view, acct("charlie")) + 1)


def _no_commit_due(b: Books, view: Overlay) -> None:
    a = _job(view, b.assigned).assignments[0]
    storage.commit_due.remove(view, storage.due_key(a.commit_by_slot, b.assigned, a.provider))


def _reveal_due_undrawn(b: Books, view: Overlay) -> None:
    a = _job(view, b.committed).assignments[0]
    storage.reveal_due.put(view, storage.due_key(a.commit_by_slot + 50, b.committed, a.provider), ZERO_HASH)


def _reveal_due_moved(b: Books, view: Overlay) -> None:
    a = _job(view, b.drawn).assignments[0]
    storage.reveal_due.remove(view, storage.due_key(a.reveal_by_slot, b.drawn, a.provider))
    storage.reveal_due.put(view, storage.due_key(a.reveal_by_slot + 1, b.drawn, a.provider), ZERO_HASH)


def _owner_count_off(b: Books, view: Overlay) -> None:
    storage.open_by_owner.put(view, acct("dave"), 2)


def _owner_entry_at_zero(b: Books, view: Overlay) -> None:
    storage.open_by_owner.put(view, acct("eve"), 0)


def _unqueued_stall(b: Books, view: Overlay) -> None:
    """A job whose only place stalled, open again, out of the queue (its vacant place is no provider's)."""
    job = _job(view, b.stalled)
    storage.jobs.put(view, b.stalled, job.replace(status=0))
    storage.open_jobs.put(view, storage.open_jobs.get(view) + 1)
    storage.open_by_requester.put(view, job.requester, storage.open_by_requester.get(view, job.requester) + 1)
    storage.deadlines.put(view, storage.deadline_key(job.deadline_ms, job.id), ZERO_HASH)
    storage.evictable.put(view, storage.evictable_key(job.priority, job.price, job.id), ZERO_HASH)
    acc = system.account.get(view, job.requester)
    system.account.put(view, job.requester, acc.replace(free=acc.free - job.price, reserved=acc.reserved + job.price))


def _stalled_uncounted(b: Books, view: Overlay) -> None:
    who = _job(view, b.stalled).assignments[0].provider
    p = storage.providers.get(view, who)
    assert p is not None
    storage.providers.put(view, who, p.replace(stalled=p.stalled - 1, assigned=p.assigned - 1))


def _unsampled_reveal_slot(b: Books, view: Overlay) -> None:
    _put_assignment(view, b.committed, reveal_by_slot=99)


def _wrong_escrow_share(b: Books, view: Overlay) -> None:
    _put_assignment(view, b.assigned, portion=_job(view, b.assigned).price - 1)


def _open_assignment_in_a_done_job(b: Books, view: Overlay) -> None:
    job = _job(view, b.settled)
    storage.jobs.put(view, b.settled, job.replace(status=JOB_DONE, assignments=(
        job.assignments[0].replace(state=ASSIGNED),)))


def _outputs_complete_without_items(b: Books, view: Overlay) -> None:
    _put_assignment(view, b.committed, outputs_posted=True)


def _outage_of_no_provider(b: Books, view: Overlay) -> None:
    storage.outages.put(view, acct("dave"), Outage(0, 0, 0))


def _credit_without_settlement(b: Books, view: Overlay) -> None:
    a = _job(view, b.verified).assignments[0]
    storage.pending_credit.put(view, storage.pending_credit_key(1, b.verified, a.provider), PendingCredit(5, 1))


def _server_of_a_governance_model(b: Books, view: Overlay) -> None:
    job = _job(view, b.assigned)
    storage.model_servers.put(view, storage.server_key(job.model, acct("bob")), ZERO_HASH)


def _held_off(b: Books, view: Overlay) -> None:
    a = _job(view, b.verified).assignments[0]
    by_provider.put(view, a.provider, by_provider.get(view, a.provider) + 1)


def _held_above_the_bond(b: Books, view: Overlay) -> None:
    a = _job(view, b.assigned).assignments[0]  # one hold and the total raised together: they still add up
    by_assignment.put(view, hold_key(b.assigned, a.provider), hold_of(view, b.assigned, a.provider) + 10_000 * UNIT)
    by_provider.put(view, a.provider, by_provider.get(view, a.provider) + 10_000 * UNIT)


def _hold_of_a_settled_one(b: Books, view: Overlay) -> None:
    by_assignment.put(view, hold_key(b.settled, _job(view, b.settled).assignments[0].provider), 1)


def _fee_above_cap(b: Books, view: Overlay) -> None:
    who, record = next(iter(storage.outages.items(view)))
    storage.outages.put(view, who, record.replace(charged=UNIT))


BREAKS: list[tuple[str, str, Callable[[Books, Overlay], None]]] = [
    ("compute.jobs", "an assignment escrows more than its share", _wrong_escrow_share),
    ("compute.jobs", "an assignment in a state the runtime does not know",
     lambda b, v: _put_assignment(v, b.committed, state=len(ASSIGNMENT_STATES))),
    ("compute.job_status", "a done job with an open assignment", _open_assignment_in_a_done_job),
    ("compute.assignment_fields", "outputs complete with none posted", _outputs_complete_without_items),
    ("compute.open_jobs", "one open job too many counted",
     lambda b, v: storage.open_jobs.put(v, storage.open_jobs.get(v) + 1)),
    ("compute.open_by_requester", "a requester's count one too high", _more_open_by_requester),
    ("compute.open_by_requester", "an entry at zero", _zero_requester_entry),
    ("compute.open_by_owner", "an owner's count one too high", _owner_count_off),
    ("compute.open_by_owner", "an entry at zero", _owner_entry_at_zero),
    ("compute.open_by_owner", "the owners' models' total one too high",
     lambda b, v: storage.open_on_owner_models.put(v, storage.open_on_owner_models.get(v) + 1)),
    ("compute.queue", "a waiting job out of the queue", _unqueued),
    ("compute.queue", "a stalled job's vacant place out of the queue", _unqueued_stall),
    ("compute.assignment_fields", "a last reveal slot before the sample is drawn", _unsampled_reveal_slot),
    ("compute.evictable", "a waiting job out of the eviction index", _unevictable),
    ("compute.evictable", "a committed job in the eviction index", _evictable_committed),
    ("compute.evictable", "an assigned, uncommitted job out of the eviction index",
     lambda b, v: storage.evictable.remove(v, storage.evictable_key(False, _job(v, b.assigned).price, b.assigned))),
    ("compute.deadlines", "an open job out of the deadline index", _no_deadline),
    ("compute.commit_due", "an assigned assignment out of the commit index", _no_commit_due),
    ("compute.reveal_due", "a commit whose sample is not drawn in the reveal index", _reveal_due_undrawn),
    ("compute.reveal_due", "a reveal due at the wrong slot", _reveal_due_moved),
    ("compute.samples_waiting", "one commit too many counted",
     lambda b, v: storage.samples_waiting.put(v, storage.samples_waiting.get(v) + 1)),
    ("compute.sample_waiting", "a commit missing from the sample queue", _no_sample_entry),
    ("compute.sample_waiting", "a commit waiting twice", _twice_waiting),
    ("compute.maturing", "a verified assignment at the wrong closing time", _late_maturity),
    ("compute.late_reveals", "a late assignment out of the late-reveal index", _no_late_reveal),
    ("compute.posted_chunks", "a posted chunk missing", _no_chunk),
    ("compute.posted_chunks", "a chunk of a settled assignment", _chunk_of_the_settled),
    ("compute.posted_inputs", "inputs owed by a synthetic job, drawn with none on chain",
     lambda b, v: posted_inputs.owed.put(v, b.assigned, 0)),
    ("compute.posted_inputs", "an input chunk of a job that owes none",
     lambda b, v: posted_inputs.input_chunks.put(v, posted_inputs.chunk_key(b.assigned, 0), (b"\x00" * 30,))),
    *[("compute.providers", f"`{name}` one too high", _bump_provider(name)) for name in ("assigned", *COUNTERS)],
    ("compute.providers", "a stall not counted", _stalled_uncounted),
    ("compute.outages", "an outage record of no provider", _outage_of_no_provider),
    ("compute.escrow", "less reserved than compute holds", _less_reserved),
    ("compute.rent", "a place's rent held for a job that is not open",
     lambda b, v: rent.place_rents.put(v, 10**9, rent.PlaceRent(1, 0, 0))),
    ("compute.reassign", "a provider kept out of a job that is not open",
     lambda b, v: reassign.excluded.put(v, 10**9, b"\x01" * 32)),
    ("compute.pending_credit", "credit of an assignment not settled", _credit_without_settlement),
    ("compute.credit_totals", "an epoch's total one above its buckets",
     lambda b, v: storage.credit_totals.put(v, 7, (storage.credit_totals.get(v, 7) or 0) + 1)),
    ("compute.credit_totals", "a bucket matured into a history, not its total",
     lambda b, v: storage.credit_history.put(v, b"\x05" * 32, (CreditBucket(9, 3),))),
    ("compute.credit_totals", "a total kept below the floor",
     lambda b, v: (storage.credit_floor.put(v, 20), storage.credit_totals.put(v, 19, 0))),
    ("compute.model_servers", "a governance model served by declaration", _server_of_a_governance_model),
    ("compute.bond_floor", "a provider's total one above its assignments' holds", _held_off),
    ("compute.bond_floor", "holds above what the bond covers", _held_above_the_bond),
    ("compute.bond_floor", "a hold of an assignment no longer at risk", _hold_of_a_settled_one),
    ("compute.fee_cap", "fees above the epoch's cap", _fee_above_cap),
    ("compute.private", "a private record on a public job",
     lambda b, v: storage.private_jobs.put(v, b.assigned, PrivateJob(2, b"\x01" * 32, 0, b"\x09" * 32))),
    ("compute.private", "a decoy case held for no revealed decoy",
     lambda b, v: storage.decoy_cases.put(v, storage.decoy_key(b.assigned, 0), b"\x00" * 30)),
]


@pytest.mark.parametrize(("rule", "how", "corrupt"), BREAKS, ids=[f"{r}: {h}" for r, h, _ in BREAKS])
def test_each_rule_broken_on_purpose_is_named(books: Books, rule: str, how: str,
                                               corrupt: Callable[[Books, Overlay], None]) -> None:
    view = Overlay(DictState(books.chain.backend.data))
    corrupt(books, view)
    check = check_parameter_rules if rule in PARAMETER_RULES else check_books
    problems = check(view)
    assert any(p.startswith(rule + ": ") for p in problems), problems
    if rule in PARAMETER_RULES:
        assert check_books(view) == [], "a parameter rule is no rule of the books"
    else:
        assert any(p.startswith(rule + ": ") for p in check_invariants(view)), "the runtime's entry point runs it"


def test_a_counter_alone_out_of_step_breaks_that_rule_alone(books: Books) -> None:
    for rule, _how, corrupt in BREAKS:
        if rule in ("compute.jobs", "compute.job_status", "compute.sample_waiting") or corrupt in (
                _unqueued_stall, _unsampled_reveal_slot):
            continue  # a wrong record, or an entry and its count moved together, shows in more than one place
        view = Overlay(DictState(books.chain.backend.data))
        corrupt(books, view)
        broken = {p.split(":", 1)[0] for p in (*check_books(view), *check_parameter_rules(view))}
        assert broken == {rule}, (rule, _how, broken)


def test_every_rule_has_a_test_that_breaks_it() -> None:
    assert {rule for rule, _, _ in BREAKS} == set(RULES) | set(PARAMETER_RULES)


def test_the_test_chain_leaves_out_only_the_rules_a_test_broke_on_purpose(books: Books) -> None:
    chain = books.chain.fork()
    chain.backend.data[storage.open_jobs.key] = storage.open_jobs.codec.encode(99)
    with pytest.raises(AssertionError, match="compute.open_jobs"):
        chain.run_block([])
    chain.broken_on_purpose.add("compute.open_jobs")
    chain.run_block([])


# --- the transitions -----------------------------------------------------------------------------------------


def test_each_move_changes_the_counters_by_what_the_two_states_count() -> None:
    for (old, new), step in TRANSITIONS.items():
        for name in COUNTERS:
            expected = (name in COUNTED[new]) - (name in COUNTED[old])
            assert getattr(step, name) == expected, (ASSIGNMENT_STATES[old], ASSIGNMENT_STATES[new], name)


def test_what_each_state_counts_matches_the_states_the_runtime_names() -> None:
    assert set(COUNTED) == set(range(len(ASSIGNMENT_STATES)))
    for state, counted in COUNTED.items():
        assert ("active" in counted) == (state in OPEN_STATES)
        assert ("at_risk" in counted) == (state in AT_RISK_STATES)
    assert set(FINAL_STATES) == set(COUNTED) - set(AT_RISK_STATES)


def test_every_state_is_reached_from_assigned_and_final_states_are_never_left() -> None:
    reached, frontier = {ASSIGNED}, [ASSIGNED]
    while frontier:
        state = frontier.pop()
        for old, new in TRANSITIONS:
            if old == state and new not in reached:
                reached.add(new)
                frontier.append(new)
    assert reached == set(COUNTED)
    assert not [old for old, _ in TRANSITIONS if old in FINAL_STATES]


def test_a_move_the_table_does_not_list_is_refused_before_anything_is_written(books: Books) -> None:
    chain = books.chain.fork()
    ex = chain.begin_block()
    job = _job(ex.ctx.state, books.settled)
    writes = ex.ctx.state.writes
    with pytest.raises(AssertionError, match="does not move from settled to verified"):
        move(ex.ctx, job, job.assignments[0], VERIFIED)
    assert ex.ctx.state.writes == writes
    chain.end_block()


def test_a_dispute_nobody_settles_voids_both_sides_with_the_books_kept_after_every_block() -> None:
    chain = chain_with()
    job_id, honest, liar, _ = requester_input_dispute(chain)
    assert_ok(honest.post_all(job_id))
    assert_ok(liar.post_all(job_id))
    charlie = chain.account("charlie")
    bob, eve = (storage.providers.get(chain.view(), acct(n)) for n in ("bob", "eve"))
    close_window(chain, job_id)  # nobody challenges: the chain cannot re-execute the requester's inputs
    job = job_of(chain, job_id)
    assert [a.state for a in job.assignments] == [VOID, VOID]
    assert chain.account("charlie").reserved == charlie.reserved - job.price
    assert chain.account("charlie").free == charlie.free + job.price
    for name, before in (("bob", bob), ("eve", eve)):
        after = storage.providers.get(chain.view(), acct(name))
        assert before is not None and after is not None
        assert (after.at_risk, after.completed, after.frauds) == (before.at_risk - 1, before.completed, before.frauds)
    view = chain.view()
    assert not list(storage.maturing.items(view)) and not list(storage.posted_chunks.items(view))
