"""Private jobs (issue 51): the life of a job whose cases are sealed to its provider and checked on decoys, and every
attack on it asserting that it fails.

- The honest round: posted, sealed to the drawn provider, committed, decoys revealed and re-sealed by the chain, the
  decoys re-executed, paid and credited; no state entry ever holds a real case's bytes.
- A provider that skips items is caught exactly when it skips a decoy (the odds over many jobs follow the formula);
  one that flags good items as unreadable loses when a flagged decoy is revealed or a flagged case opened.
- A clinic that reveals a wrong decoy gets nothing recorded and cannot get an honest provider slashed; one that never
  reveals loses its deposit and the provider is paid (without credit); one that never seals is refunded less the fee
  and the provider released without a penalty.
- Another job's ciphertexts or decoy openings do not open or re-seal here.
"""

from __future__ import annotations

import random

import pytest

from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.merkle import merkle_levels, merkle_proof
from btt_chain.primitives.sealed_cases import BoxKeypair, escape_probability
from runtime.compute import costs, posted_inputs, private, storage
from runtime.compute.inputs import input_root, output_root
from runtime.compute.types import (
    ASSIGNED,
    FRAUD,
    JOB_CANCELLED,
    JOB_DONE,
    PRIVATE_CHECKED,
    PRIVATE_UNREVEALED,
    PRIVATE_UNSEALED,
    SETTLED,
    VERIFIED,
    VOID,
    DecoyOpening,
    PrivateOpening,
)
from tests.runtime.test_compute import (
    BOND,
    MODEL,
    PRICE,
    close_window,
    issuance,
    ledger,
    param,
    provider_of,
    register,
    skip,
    until_sampled,
)
from tests.support.job_inputs import input_chunks
from tests.support.private_jobs import Clinic, Provider, job_of, record_of
from tests.support.runtime_builder import GenesisBuilder, TestChain, acct, assert_noop, assert_ok

BALANCES = {"alice": 1_000, "bob": 1_000, "charlie": 100_000, "dave": 100_000, "eve": 1_000}
DEADLINE = 120_000
ITEMS, DECOYS = 16, 8


def chain_with(**params: int) -> TestChain:
    """A test chain with 8-slot windows: room for the refused calls some tests try, one block each, inside them."""
    params = {"compute.commit_window_slots": 8, **params}
    return GenesisBuilder(balances=dict(BALANCES), params=params).build()


def ready(chain: TestChain, provider: str = "bob") -> tuple[Clinic, Provider]:
    """charlie the clinic and a provider, both with box keys."""
    clinic = Clinic(chain, "charlie", MODEL)
    worker = Provider(chain, provider)
    assert_ok(clinic.set_key())
    if provider_of(chain, provider) is None:
        register(chain, provider)
    assert_ok(worker.set_key())
    return clinic, worker


def posted(chain: TestChain, clinic: Clinic, items: int = ITEMS, decoys: int = DECOYS) -> int:
    assert_ok(clinic.post(items, decoys, PRICE, DEADLINE))
    chain.run_block([])
    assert job_of(chain, clinic.job_id).assignments, "the job was not assigned"
    return clinic.job_id


def sealed_and_committed(chain: TestChain, clinic: Clinic, worker: Provider) -> int:
    job_id = posted(chain, clinic)
    clinic.seal()
    assert_ok(clinic.submit_sealed())
    assert_ok(worker.commit(job_id, clinic.sealed))
    return job_id


def state_values(chain: TestChain) -> list[bytes]:
    return list(chain.snapshot().values())


def holds_any(chain: TestChain, needles: list[bytes]) -> list[int]:
    """Indexes of `needles` found inside any state value or key."""
    blob = b"\x00".join([*chain.snapshot().keys(), *state_values(chain)])
    return [i for i, n in enumerate(needles) if n in blob]


# --- the honest round ----------------------------------------------------------------------------------------


def test_an_honest_private_job_settles_checked_on_its_decoys_and_no_case_is_in_state() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    free_before = chain.account("charlie").free
    job_id = posted(chain, clinic)
    rec = record_of(chain, job_id)
    assert rec.provider_key == worker.keypair.public.raw and rec.clinic_key == clinic.keypair.public.raw
    assert rec.deposit == param(chain, "compute.missed_assignment_fee")
    assert chain.account("charlie").reserved == PRICE + rec.deposit
    job = job_of(chain, job_id)
    assert job.redundancy == 1 and job.input_root == ZERO_HASH and job.input_seed == ZERO_HASH
    clinic.seal()
    assert_ok(clinic.submit_sealed())
    assert_ok(worker.commit(job_id, clinic.sealed))
    assert_ok(clinic.reveal())
    assert record_of(chain, job_id).outcome == PRIVATE_CHECKED
    assert record_of(chain, job_id).positions == clinic.positions
    until_sampled(chain, job_id)
    assert worker.openings(job_id)  # the decoys, and only they
    assert tuple(o.index for o in worker.openings(job_id)) == clinic.positions
    assert_noop(chain, "bob", "compute.reveal_result", job_id, b"\x01" * 32, worker.salt, (), error="NotPrivate")
    assert_ok(worker.reveal(job_id))
    assert job_of(chain, job_id).assignments[0].state == VERIFIED
    assert job_of(chain, job_id).status == JOB_DONE
    assert clinic.read_results(worker.outputs) == worker.plain  # only the clinic reads the results
    close_window(chain, job_id)
    a = job_of(chain, job_id).assignments[0]
    assert a.state == SETTLED
    assert any(k.startswith(storage.pending_credit.prefix) for k in chain.snapshot())  # credited
    assert chain.account("charlie").reserved == 0  # price spent, deposit back
    assert record_of(chain, job_id).deposit == 0
    assert not any(k.startswith(storage.decoy_cases.prefix) for k in chain.snapshot())
    real = [clinic.items[i] for i in clinic.real]
    assert holds_any(chain, real) == []
    assert chain.account("charlie").free < free_before


def test_posting_a_private_job_refuses_bad_figures_and_changes_nothing() -> None:
    chain = chain_with()
    clinic = Clinic(chain, "charlie", MODEL)
    commitment = clinic.prepare(ITEMS, DECOYS)
    args = (MODEL, ITEMS, DECOYS, commitment, PRICE, DEADLINE)
    assert_noop(chain, "charlie", "compute.post_private_job", *args, error="NoBoxKey")
    assert_ok(clinic.set_key())
    least = param(chain, "compute.sample_size")
    assert_noop(chain, "charlie", "compute.post_private_job", MODEL, ITEMS, least - 1, commitment, PRICE, DEADLINE,
                error="BadJob")
    assert_noop(chain, "charlie", "compute.post_private_job", MODEL, ITEMS, ITEMS, commitment, PRICE, DEADLINE,
                error="BadJob")
    assert_noop(chain, "charlie", "compute.post_private_job", MODEL, 1, 1, commitment, PRICE, DEADLINE,
                error="BadJob")
    assert_noop(chain, "charlie", "compute.post_private_job", MODEL, ITEMS, DECOYS, ZERO_HASH, PRICE, DEADLINE,
                error="BadJob")
    assert_noop(chain, "charlie", "compute.post_private_job", b"\x01" * 32, ITEMS, DECOYS, commitment, PRICE,
                DEADLINE, error="UnknownModel")
    assert_noop(chain, "charlie", "compute.post_private_job", MODEL, ITEMS, DECOYS, commitment, 1, DEADLINE,
                error="PriceTooLow")
    # a small job may have fewer decoys than the sample size, never none and never all
    small = Clinic(chain, "charlie", MODEL)
    small.prepare(3, 2)
    assert_ok(chain.submit("charlie", "compute.post_private_job", *small.post_args(PRICE, DEADLINE)))


def test_a_bad_box_key_is_refused() -> None:
    chain = chain_with()
    for bad in (b"\x00" * 32, b"\x01" + b"\x00" * 31, b"\xff" * 32):
        assert_noop(chain, "charlie", "compute.set_box_key", bad, error="BadBoxKey")


def test_a_provider_without_a_box_key_is_never_drawn_for_a_private_job() -> None:
    chain = chain_with()
    clinic = Clinic(chain, "charlie", MODEL)
    assert_ok(clinic.set_key())
    register(chain, "bob")  # no box key
    assert_ok(clinic.post(ITEMS, DECOYS, PRICE, DEADLINE))
    skip(chain, 3)
    assert job_of(chain, clinic.job_id).assignments == ()
    assert_ok(Provider(chain, "bob").set_key())
    skip(chain, 1)
    assert [a.provider for a in job_of(chain, clinic.job_id).assignments] == [acct("bob")]


def test_a_rotated_box_key_does_not_move_an_assignment_already_drawn() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    job_id = posted(chain, clinic)
    old = record_of(chain, job_id).provider_key
    assert_ok(chain.submit("bob", "compute.set_box_key", BoxKeypair.from_seed(b"\x99" * 32).public.raw))
    assert record_of(chain, job_id).provider_key == old == worker.keypair.public.raw


# --- the sealed inputs --------------------------------------------------------------------------------------


def test_the_provider_cannot_commit_before_the_clinic_sealed_the_items() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    job_id = posted(chain, clinic)
    clinic.seal()
    worker.compute(job_id, clinic.sealed)
    from runtime.compute.inputs import output_root
    from runtime.compute.verify import result_commitment

    assert_noop(chain, "bob", "compute.commit_result", job_id,
                result_commitment(output_root(worker.outputs), worker.salt), error="InputsNotSealed")
    assert_noop(chain, "dave", "compute.submit_sealed_inputs", job_id, b"\x05" * 32, error="NotRequester")
    assert_noop(chain, "charlie", "compute.submit_sealed_inputs", job_id, ZERO_HASH, error="BadJob")
    assert_ok(clinic.submit_sealed())
    assert_noop(chain, "charlie", "compute.submit_sealed_inputs", job_id, b"\x05" * 32, error="InputsNotSealed")
    assert_ok(worker.commit(job_id, clinic.sealed))


def test_a_clinic_that_never_seals_is_refunded_less_the_fee_and_the_provider_goes_free() -> None:
    chain = chain_with()
    clinic, _ = ready(chain)
    bond = ledger(chain, "bob")
    reserved_before = chain.account("charlie").reserved
    supply = issuance(chain)
    job_id = posted(chain, clinic)
    rec = record_of(chain, job_id)
    commit_by = job_of(chain, job_id).assignments[0].commit_by_slot
    while chain.slot <= rec.inputs_by_slot:
        chain.run_block([])
    assert_noop(chain, "charlie", "compute.submit_sealed_inputs", job_id, b"\x05" * 32, error="InputsNotSealed")
    while chain.slot <= commit_by:
        chain.run_block([])
    chain.run_block([])
    job = job_of(chain, job_id)
    assert job.status == JOB_CANCELLED and job.assignments[0].state == VOID
    assert record_of(chain, job_id).outcome == PRIVATE_UNSEALED
    assert ledger(chain, "bob") == bond  # no fee, no slash
    p = provider_of(chain, "bob")
    assert p is not None and (p.active, p.at_risk, p.stalled, p.failed) == (0, 0, 0, 0)
    fee = param(chain, "compute.missed_assignment_fee")
    assert chain.account("charlie").reserved == reserved_before
    assert issuance(chain) <= supply - fee  # the fee was burned (fees of the calls too)


def test_a_provider_that_stalls_makes_way_for_one_the_clinic_seals_to_afresh() -> None:
    chain = chain_with()
    clinic, _ = ready(chain, "bob")
    eve = Provider(chain, "eve", seed=b"\x55" * 32)
    register(chain, "eve")
    assert_ok(eve.set_key())
    job_id = posted(chain, clinic)
    first = job_of(chain, job_id).assignments[0]
    clinic.seal()
    assert_ok(clinic.submit_sealed())  # the root and (spec 17) the items on chain: the provider just does not commit
    assert posted_inputs.owed.get(chain.view(), job_id) == ITEMS
    while chain.slot <= first.commit_by_slot:
        chain.run_block([])
    chain.run_block([])
    job = job_of(chain, job_id)
    current = job.assignments[0]
    assert len(job.assignments) == 1  # the stalled entry's place went to the provider drawn next
    assert current.state == ASSIGNED and current.provider != first.provider
    rec = record_of(chain, job_id)
    assert rec.sealed_root == ZERO_HASH  # sealed again to the new provider
    drawn = eve if current.provider == acct("eve") else Provider(chain, "bob")
    assert rec.provider_key == drawn.keypair.public.raw
    # the items sealed to the provider before are dropped; the new one commits once its own are on chain
    assert posted_inputs.owed.get(chain.view(), job_id) == 0 and list(posted_inputs.posted_inputs(chain.view(),
                                                                                                   job_id)) == []
    clinic.seal()
    assert_noop(chain, drawn.name, "compute.commit_result", *drawn.commit_args(job_id, clinic.sealed),
                error="InputsNotSealed")
    assert_ok(clinic.submit_sealed())
    assert_ok(drawn.commit(job_id, clinic.sealed))


# --- decoys ------------------------------------------------------------------------------------------------


def test_a_wrong_decoy_reveal_records_nothing_and_the_honest_provider_is_paid() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    job_id = sealed_and_committed(chain, clinic, worker)
    good = clinic.decoy_openings()
    changed_case = (DecoyOpening(good[0].index, bytes(len(good[0].case)), good[0].secret, good[0].proof), *good[1:])
    other_secret = (DecoyOpening(good[0].index, good[0].case, good[1].secret, good[0].proof), *good[1:])
    moved = tuple(DecoyOpening(o.index, clinic.items[c], o.secret, o.proof)
                  for o, c in zip(good, [*clinic.positions[1:], clinic.positions[0]], strict=True))
    real = clinic.real[0]
    swapped_position = (DecoyOpening(real, clinic.items[real], clinic.item_esk(real, worker.keypair.public),
                                     merkle_proof(merkle_levels(clinic.sealed), real)), *good[1:])
    swapped_position = tuple(sorted(swapped_position, key=lambda o: o.index))
    for openings, salt in ((good, b"\x23" * 32), (good[:-1], None), (changed_case, None), (other_secret, None),
                           (moved, None), (swapped_position, None)):
        assert_noop(chain, "charlie", "compute.reveal_decoys", job_id, salt or clinic.salt, openings,
                    error="BadDecoys")
    assert_noop(chain, "dave", "compute.reveal_decoys", job_id, clinic.salt, good, error="NotRequester")
    assert record_of(chain, job_id).positions == ()
    assert_ok(clinic.reveal())
    assert_noop(chain, "charlie", "compute.reveal_decoys", job_id, clinic.salt, good, error="DecoysClosed")
    until_sampled(chain, job_id)
    assert_ok(worker.reveal(job_id))
    close_window(chain, job_id)
    assert job_of(chain, job_id).assignments[0].state == SETTLED


def test_a_clinic_that_never_reveals_its_decoys_loses_its_deposit_and_the_provider_is_paid_without_credit() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    job_id = sealed_and_committed(chain, clinic, worker)
    deposit = record_of(chain, job_id).deposit
    assert deposit > 0
    until_sampled(chain, job_id)
    rec = record_of(chain, job_id)
    assert rec.outcome == PRIVATE_UNREVEALED and rec.deposit == 0
    assert chain.slot > rec.decoys_by_slot
    assert_noop(chain, "charlie", "compute.reveal_decoys", job_id, clinic.salt, clinic.decoy_openings(),
                error="DecoysClosed")
    assert worker.openings(job_id) == ()
    assert_ok(worker.reveal(job_id))
    close_window(chain, job_id)
    assert job_of(chain, job_id).assignments[0].state == SETTLED
    assert not any(k.startswith(storage.pending_credit.prefix) for k in chain.snapshot())  # nothing checked
    assert chain.account("charlie").reserved == 0


def test_the_decoys_are_due_before_any_block_can_draw_the_sample() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    job_id = sealed_and_committed(chain, clinic, worker)
    a = job_of(chain, job_id).assignments[0]
    assert record_of(chain, job_id).decoys_by_slot == a.sample_from_slot - 1


# --- a provider that skips or lies ---------------------------------------------------------------------------


def test_a_provider_skipping_a_decoy_is_slashed_and_one_skipping_only_cases_is_not_caught_by_the_chain() -> None:
    chain = chain_with()
    clinic, _ = ready(chain)
    clinic.prepare(ITEMS, DECOYS)
    cheat = Provider(chain, "bob", skip=frozenset({3}))
    job_id = posted(chain, clinic)
    cheat.skip = frozenset({clinic.positions[0]})
    clinic.seal()
    assert_ok(clinic.submit_sealed())
    assert_ok(cheat.commit(job_id, clinic.sealed))
    assert_ok(clinic.reveal())
    until_sampled(chain, job_id)
    before = ledger(chain, "bob")
    assert_ok(cheat.reveal(job_id))
    assert job_of(chain, job_id).assignments[0].state == FRAUD
    after = ledger(chain, "bob")
    assert before is not None and after is not None
    assert after.active == before.active - param(chain, "compute.fraud_slash")


def test_a_wrong_real_output_is_shown_by_opening_that_one_case() -> None:
    chain = chain_with()
    clinic, _ = ready(chain)
    clinic.prepare(ITEMS, DECOYS)
    job_id = posted(chain, clinic)
    target = clinic.real[0]
    cheat = Provider(chain, "bob", skip=frozenset({target}))
    clinic.seal()
    assert_ok(clinic.submit_sealed())
    assert_ok(cheat.commit(job_id, clinic.sealed))
    assert_ok(clinic.reveal())
    until_sampled(chain, job_id)
    assert_ok(cheat.reveal(job_id))
    assert job_of(chain, job_id).assignments[0].state == VERIFIED
    honest = clinic.real[1]
    # an honest item's opening shows no fault and changes nothing; a wrong secret or output path is refused
    assert_noop(chain, "charlie", "compute.open_case",
                *clinic.open_args(honest, cheat.outputs[honest], cheat.output_proof(honest)), error="ChallengeFailed")
    args = list(clinic.open_args(target, cheat.outputs[target], cheat.output_proof(target)))
    bad_secret = list(args)
    bad_secret[3] = clinic.item_esk(honest, cheat.keypair.public)
    assert_noop(chain, "charlie", "compute.open_case", *bad_secret, error="BadChallenge")
    bad_path = list(args)
    bad_path[7] = cheat.output_proof(honest)
    assert_noop(chain, "charlie", "compute.open_case", *bad_path, error="BadChallenge")
    bad_key = list(args)
    bad_key[6] = bytes(32)  # not the clinic's key for that output: it does not open
    assert_noop(chain, "charlie", "compute.open_case", *bad_key, error="BadChallenge")
    assert_noop(chain, "charlie", "compute.challenge", job_id, acct("bob"), target, clinic.items[target],
                cheat.outputs[target], (), (), error="NotPrivate")
    assert_ok(chain.submit("charlie", "compute.open_case", *args))
    assert job_of(chain, job_id).assignments[0].state == FRAUD


def test_flagging_a_decoy_that_opens_is_fraud_when_the_decoys_are_revealed() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    job_id = posted(chain, clinic)
    clinic.seal()
    assert_ok(clinic.submit_sealed())
    assert_noop(chain, "dave", "compute.flag_items", job_id, (clinic.positions[0],), error="NotAssigned")
    assert_noop(chain, "bob", "compute.flag_items", job_id, (ITEMS,), error="BadJob")
    assert_ok(chain.submit("bob", "compute.flag_items", job_id, (clinic.positions[0],)))
    assert_noop(chain, "bob", "compute.flag_items", job_id, (clinic.positions[0],), error="BadJob")
    assert record_of(chain, job_id).is_flagged(clinic.positions[0])
    worker.skip = frozenset({clinic.positions[0]})
    assert_ok(worker.commit(job_id, clinic.sealed))
    assert_ok(clinic.reveal())
    assert job_of(chain, job_id).assignments[0].state == FRAUD


def test_flagging_a_case_that_opens_loses_when_the_clinic_opens_it() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    job_id = posted(chain, clinic)
    clinic.seal()
    assert_ok(clinic.submit_sealed())
    target = clinic.real[0]
    assert_ok(chain.submit("bob", "compute.flag_items", job_id, (target,)))
    worker.skip = frozenset({target})
    assert_ok(worker.commit(job_id, clinic.sealed))
    assert_ok(clinic.reveal())
    until_sampled(chain, job_id)
    assert_ok(worker.reveal(job_id))
    # whatever output it committed for the flagged item, the case re-sealing proves it opened
    assert_ok(chain.submit("charlie", "compute.open_case", *clinic.open_args(target, b"\x00", ())))
    assert job_of(chain, job_id).assignments[0].state == FRAUD


def test_an_item_that_really_does_not_open_is_paid_and_the_clinic_cannot_prove_otherwise() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    job_id = posted(chain, clinic)
    clinic.seal()
    target = clinic.real[0]
    clinic.sealed[target] = bytes(len(clinic.sealed[target]))  # garbage sealed for one real case
    assert_ok(clinic.submit_sealed())
    assert worker.open_all(job_id, clinic.sealed)[target] is None
    assert_ok(chain.submit("bob", "compute.flag_items", job_id, (target,)))
    assert_ok(worker.commit(job_id, clinic.sealed))
    assert_ok(clinic.reveal())
    until_sampled(chain, job_id)
    assert_ok(worker.reveal(job_id))
    assert_noop(chain, "charlie", "compute.open_case", *clinic.open_args(target, b"\x00", ()), error="BadChallenge")
    close_window(chain, job_id)
    assert job_of(chain, job_id).assignments[0].state == SETTLED


# --- replay -------------------------------------------------------------------------------------------------


def test_another_jobs_ciphertexts_and_decoy_openings_do_not_open_or_reseal_here() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    first = sealed_and_committed(chain, clinic, worker)
    assert_ok(clinic.reveal())
    first_openings = clinic.decoy_openings()
    first_sealed = list(clinic.sealed)
    # the same clinic posts the same items again (same positions, same salt): a new job
    second = Clinic(chain, "charlie", MODEL, items=list(clinic.items), positions=clinic.positions)
    second.job_id = storage.next_job_id.get(chain.view())
    assert_ok(chain.submit("charlie", "compute.post_private_job", *second.post_args(PRICE, DEADLINE)))
    chain.run_block([])
    assert job_of(chain, second.job_id).assignments[0].provider == acct("bob")
    # replaying job `first`'s ciphertexts: the provider cannot open one of them under this job
    assert all(x is None for x in worker.open_all(second.job_id, first_sealed))
    second.sealed = first_sealed
    assert_ok(second.submit_sealed())
    assert_ok(worker.commit(second.job_id, first_sealed))
    # nor can the clinic reveal the first job's decoy openings for it: they re-seal under the first job only
    assert_noop(chain, "charlie", "compute.reveal_decoys", second.job_id, clinic.salt, first_openings,
                error="BadDecoys")
    assert first != second.job_id


# --- the odds over many jobs ---------------------------------------------------------------------------------


def in_one_block(chain: TestChain, who: str, calls: list[tuple[str, tuple[object, ...]]]) -> None:
    nonce = chain.account(who).nonce
    xts = [chain.sign(who, name, *args, nonce=nonce + i) for i, (name, args) in enumerate(calls)]
    result = chain.run_block(xts)
    assert all(o.success for o in result.outcomes), [o.error for o in result.outcomes if not o.success]


def test_a_provider_guessing_which_items_are_cases_is_caught_at_the_stated_rate() -> None:
    """Over many jobs a provider that skips `f` items it guesses are real cases (decoys look like cases: its guess is
    a random choice) is caught exactly when it skipped a decoy; the share caught matches 1 - C(n-f,d)/C(n,d)."""
    n, d, f, jobs = 6, 2, 1, 48
    chain = GenesisBuilder(balances={**BALANCES, "bob": 100_000},
                           params={"compute.commit_window_slots": 8, "compute.sample_size": d}).build()
    clinic = Clinic(chain, "charlie", MODEL)
    assert_ok(clinic.set_key())
    register(chain, "bob", bond=40 * BOND)  # bonded for every fraud it may commit here
    assert_ok(Provider(chain, "bob").set_key())
    rng = random.Random(51)
    caught = 0
    for round_start in range(0, jobs, 4):
        batch = []
        for k in range(4):
            c = Clinic(chain, "charlie", MODEL, rng=random.Random(round_start + k))
            assert_ok(c.post(n, d, PRICE, DEADLINE))
            batch.append(c)
        chain.run_block([])
        workers = {}
        for c in batch:
            assert job_of(chain, c.job_id).assignments[0].provider == acct("bob")
            workers[c.job_id] = Provider(chain, "bob", skip=frozenset(rng.sample(range(n), f)))
            c.seal()
        # each step of the four jobs in one block (the windows are a few slots)
        in_one_block(chain, "charlie", [call for c in batch for call in [
            ("compute.submit_sealed_inputs", (c.job_id, input_root(c.sealed))),
            *(("compute.post_inputs", (c.job_id, *chunk)) for chunk in input_chunks(chain, c.job_id, c.sealed))]])
        in_one_block(chain, "bob", [("compute.commit_result", workers[c.job_id].commit_args(c.job_id, c.sealed))
                                    for c in batch])
        in_one_block(chain, "charlie", [("compute.reveal_decoys", (c.job_id, c.salt, c.decoy_openings()))
                                        for c in batch])
        for c in batch:
            p = workers[c.job_id]
            until_sampled(chain, c.job_id)
            assert_ok(p.reveal(c.job_id))
            state = job_of(chain, c.job_id).assignments[0].state
            assert (state == FRAUD) == bool(p.skip & set(c.positions))  # caught exactly when it skipped a decoy
            caught += state == FRAUD
    rate = 1 - escape_probability(n, d, f)
    assert rate == pytest.approx(1 / 3)
    # binomial(48, 1/3): mean 16, standard deviation 3.3; 99.9% of runs land within 6..27 (the seeded draws above
    # are fixed, so the run is repeatable)
    assert 6 <= caught <= 27


def test_the_stated_formula_is_exact_for_the_issues_example() -> None:
    # faking half of 16 items against 8 decoys escapes once in 12,870; faking one escapes half the time
    assert escape_probability(16, 8, 8) == pytest.approx(1 / 12870)
    assert escape_probability(16, 8, 1) == pytest.approx(1 / 2)
    assert private.min_decoys is not None


def test_a_private_reveal_must_open_the_decoys_with_the_outputs_it_sealed_to_the_clinic() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    job_id = sealed_and_committed(chain, clinic, worker)
    assert_ok(clinic.reveal())
    until_sampled(chain, job_id)
    good = worker.openings(job_id)
    root = output_root(worker.outputs)
    wrong_secret = (PrivateOpening(good[0].index, good[0].output, good[1].secret, good[0].output_proof), *good[1:])
    other_output = (PrivateOpening(good[0].index, bytes(len(good[0].output)), good[0].secret, good[0].output_proof),
                    *good[1:])
    for openings in (wrong_secret, other_output, good[1:], tuple(reversed(good))):
        assert_noop(chain, "bob", "compute.reveal_private_result", job_id, root, worker.salt, openings,
                    error="BadOpenings")
    assert_noop(chain, "bob", "compute.reveal_private_result", job_id, root, b"\x01" * 32, good,
                error="CommitmentMismatch")
    assert_ok(worker.reveal(job_id))
    # a public job is revealed with reveal_result only
    public = storage.next_job_id.get(chain.view())
    assert_ok(chain.submit("dave", "compute.post_job", MODEL, ZERO_HASH, b"\x5a" * 32, 4, PRICE, 1, DEADLINE))
    skip(chain, 2)  # its assignment happens in a block of its own
    assert_noop(chain, "bob", "compute.reveal_private_result", public, root, worker.salt, (), error="NotPrivate")


def test_a_private_jobs_price_covers_its_provider_opening_every_decoy() -> None:
    chain = chain_with(**{"compute.max_job_items": 256})
    clinic = Clinic(chain, "charlie", MODEL)
    assert_ok(clinic.set_key())
    reg = storage.models.get(chain.view(), MODEL)
    assert reg is not None
    view = chain.view()
    public_floor = costs.min_price(view, reg.spec, 128, 1)
    floor = costs.min_price(view, reg.spec, 128, 1, 64)
    assert floor == costs.commit_cost(view) + costs.private_reveal_cost(view, reg.spec, 128, 64)
    # opening 64 decoys costs the provider more than a public reveal of the 8-item sample; no outputs are posted
    assert costs.private_reveal_cost(view, reg.spec, 128, 64) > costs.reveal_cost(view, reg.spec, 128)
    commitment = clinic.prepare(128, 64)
    args = (MODEL, 128, 64, commitment)
    assert_noop(chain, "charlie", "compute.post_private_job", *args, floor - 1, DEADLINE, error="PriceTooLow")
    assert_ok(chain.submit("charlie", "compute.post_private_job", *args, floor, DEADLINE))
    assert public_floor > 0


def sealed_chunks(worker: Provider, job_id: int) -> list[tuple[int, tuple[bytes, ...], tuple[bytes, ...]]]:
    from btt_chain.primitives.merkle import merkle_range_proof

    reg = storage.models.get(worker.chain.view(), MODEL)
    assert reg is not None
    levels = merkle_levels(worker.outputs)
    return [(first, tuple(worker.outputs[first:first + n]), merkle_range_proof(levels, first, n))
            for first, n in costs.chunk_plan(reg.spec, len(worker.outputs), True)]


def verified_private_job(chain: TestChain) -> tuple[Clinic, Provider, int]:
    clinic, worker = ready(chain)
    job_id = sealed_and_committed(chain, clinic, worker)
    assert_ok(clinic.reveal())
    until_sampled(chain, job_id)
    assert_ok(worker.reveal(job_id))
    return clinic, worker, job_id


def test_a_provider_that_withholds_its_sealed_results_must_post_them_on_chain_when_demanded() -> None:
    chain = chain_with(**{"compute.challenge_window_ms": 60_000, "compute.outputs_due_ms": 20_000})
    clinic, worker, job_id = verified_private_job(chain)
    reg = storage.models.get(chain.view(), MODEL)
    assert reg is not None
    deposit = costs.posting_cost(chain.view(), reg.spec, ITEMS, True)
    assert deposit > costs.posting_cost(chain.view(), reg.spec, ITEMS)  # sealed outputs are 48 bytes longer each
    reserved = chain.account("charlie").reserved
    assert_ok(chain.submit("charlie", "compute.demand_outputs", job_id, acct("bob")))
    assert chain.account("charlie").reserved == reserved + deposit
    # the plain outputs are refused (they are not the leaves of the root), the sealed ones go on chain
    plain_levels = merkle_levels(worker.plain)
    from btt_chain.primitives.merkle import merkle_range_proof

    assert_noop(chain, "bob", "compute.post_outputs", job_id, 0, tuple(worker.plain),
                merkle_range_proof(plain_levels, 0, ITEMS), error="BadOutputs")
    for first, items, proof in sealed_chunks(worker, job_id):
        assert_ok(chain.submit("bob", "compute.post_outputs", job_id, first, items, proof))
    a = job_of(chain, job_id).assignments[0]
    assert a.outputs_posted
    posted = list(storage.posted_outputs(chain.view(), job_id, acct("bob")))
    assert posted == worker.outputs and clinic.read_results(posted) == worker.plain  # nobody else reads them
    assert not [i for i in clinic.real if clinic.items[i] in b"".join(posted)]
    close_window(chain, job_id)
    assert job_of(chain, job_id).assignments[0].state == SETTLED


def test_sealed_results_demanded_and_never_posted_cost_the_withholding_slash() -> None:
    chain = chain_with(**{"compute.challenge_window_ms": 60_000, "compute.outputs_due_ms": 5_000})
    _, _, job_id = verified_private_job(chain)
    before = ledger(chain, "bob")
    assert_ok(chain.submit("charlie", "compute.demand_outputs", job_id, acct("bob")))
    close_window(chain, job_id)
    assert job_of(chain, job_id).assignments[0].state == FRAUD
    after = ledger(chain, "bob")
    assert before is not None and after is not None
    assert after.active == before.active - param(chain, "compute.withheld_slash")
