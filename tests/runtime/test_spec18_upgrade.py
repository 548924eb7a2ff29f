"""Spec 17 -> 18 on a chain spec 17 made: spec 17 copied a job's inputs into the job a reassign posted; spec 18 has
that job read its original's chunks. New maps only, no migration: a copy spec 17 made is released under spec 18 as
it always was, and a place of a job posted under spec 17 that fails under spec 18 is posted again reading the chunks
its requester posted under spec 17. Every block on both sides is checked against that spec's own books."""

from __future__ import annotations

from runtime.compute import posted_inputs, storage
from runtime.compute.types import JOB_OPEN
from runtime.context import EMERGENCY
from runtime.specs import running_spec
from tests.runtime.test_compute import close_window, post, register
from tests.runtime.test_compute_inputs_on_chain import own_inputs
from tests.runtime.test_compute_inputs_shared import (
    RequesterInputs,
    chunk_entries,
    gone,
    name_of,
    other_than,
    references,
)
from tests.runtime.test_compute_outage import until
from tests.runtime.test_compute_reassign import BALANCES, LONG, assigned_to
from tests.support.private_jobs import job_of
from tests.support.runtime_builder import UNIT, GenesisBuilder, TestChain, assert_ok


def spec_17_chain() -> TestChain:
    chain = GenesisBuilder(balances=dict(BALANCES), params={"compute.reveal_window_slots": 12,
                                                                       "compute.commit_window_slots": 30}).build(17)
    assert chain.runtime.spec_version == 17
    register(chain, "bob", bond=10 * 20_000 * UNIT // 10)
    register(chain, "dave", bond=2_000 * UNIT)
    return chain


def upgrade(chain: TestChain) -> None:
    chain.dispatch(EMERGENCY, "system.schedule_spec", 18, chain.number + 2)
    while running_spec(chain.view()) != 18:
        chain.run_block([])


def test_a_copy_spec_17_made_is_released_under_spec_18_and_a_job_of_spec_17_fails_into_a_reference() -> None:
    chain = spec_17_chain()
    copied = own_inputs(4, salt=7)
    old_id = post(chain, items=4, inputs=copied, deadline_ms=LONG)
    first = assigned_to(chain, old_id)
    RequesterInputs(chain, name_of(first), inputs=copied).commit_and_wait(old_id)
    copy_id = storage.next_job_id.get(chain.view())
    until(chain, lambda: job_of(chain, old_id).status != JOB_OPEN)  # late: spec 17 posts it again, copying
    assert posted_inputs.owed.get(chain.view(), copy_id) == 4
    assert tuple(posted_inputs.posted_inputs(chain.view(), copy_id)) == copied
    copy_chunks = {k for k in chunk_entries(chain) if k[len(posted_inputs.input_chunks.prefix):][:8] ==
                   copy_id.to_bytes(8, "big")}
    assert copy_chunks  # a copy of its own
    # the copy's job is drawn and committed to under spec 17, revealed under spec 18
    server = RequesterInputs(chain, other_than(name_of(first)), inputs=copied)
    assert assigned_to(chain, copy_id) == server.account
    server.commit_and_wait(copy_id)
    # a job of spec 17 whose inputs are all on chain, drawn when the upgrade comes
    kept = own_inputs(4, salt=8)
    kept_id = post(chain, items=4, inputs=kept, deadline_ms=LONG)
    upgrade(chain)
    assert references(chain) == ({}, {})  # nothing of spec 18's until a place fails under it
    assert_ok(server.reveal(copy_id))
    close_window(chain, copy_id)
    assert not copy_chunks & set(chunk_entries(chain))  # the copy left as spec 17's would have
    # the job of spec 17 fails under spec 18: its place is posted again reading the chunks posted under spec 17
    until(chain, lambda: bool(job_of(chain, kept_id).assignments))
    (a,) = job_of(chain, kept_id).assignments
    stored = chunk_entries(chain)
    RequesterInputs(chain, name_of(a.provider), inputs=kept).commit_and_wait(kept_id)
    new_id = storage.next_job_id.get(chain.view())
    until(chain, lambda: job_of(chain, kept_id).status != JOB_OPEN)
    assert references(chain) == ({new_id: kept_id}, {kept_id: 1})
    assert chunk_entries(chain) == stored
    assert tuple(posted_inputs.posted_inputs(chain.view(), new_id)) == kept
    until(chain, lambda: bool(job_of(chain, new_id).assignments))
    (b,) = job_of(chain, new_id).assignments
    assert_ok(RequesterInputs(chain, name_of(b.provider), inputs=kept).work(new_id))
    gone(chain)
