"""A requester's inputs on chain before anyone is made to work on them (spec 17, `runtime/compute/posted_inputs.py`).

The attack it closes: a requester gives a root and withholds the items behind it. Under spec 16 every provider drawn
for such a job missed its commit window (the missed-assignment fee and a pause), the place went back to the market
and the next provider was drawn, at no cost to the requester: a few jobs could pause provider after provider. Each
test below runs that attack, or a way around the new rule, and asserts that it fails.
"""

from __future__ import annotations

import random

from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from btt_chain.primitives.merkle import merkle_levels, merkle_range_proof
from runtime.compute import posted_inputs, storage
from runtime.compute.inputs import input_root
from runtime.compute.model import model_hash
from runtime.compute.types import (
    COMMITTED,
    JOB_CANCELLED,
    JOB_EXPIRED,
    PRIVATE_UNSEALED,
    SETTLED,
    VERIFIED,
    VOID,
)
from runtime.context import GOVERNANCE
from tests.runtime.test_compute import (
    MODEL,
    PRICE,
    SEED,
    close_window,
    issuance,
    ledger,
    param,
    post,
    provider_of,
    register,
    until_sampled,
)
from tests.runtime.test_compute_private import chain_with, posted, ready
from tests.runtime.test_work_proof_attacks import RequesterInputs
from tests.support.job_inputs import input_chunks, post_inputs
from tests.support.models import dense_model
from tests.support.private_jobs import Clinic, Provider, job_of, record_of
from tests.support.runtime_builder import TestChain, acct, assert_noop, assert_ok

WIDE = dense_model("wide-intake-v1", (1000, 4, 2))
"""A model of 1,000-byte inputs: 48 to a public chunk, 46 sealed, so a job of 100 items takes three chunks."""


def own_inputs(n: int, width: int = 30, salt: int = 0) -> tuple[bytes, ...]:
    return tuple((blake2b_256(bytes([salt, i % 256, i // 256])) * (width // 32 + 1))[:width] for i in range(n))


def untouched(chain: TestChain, name: str, bond_before: object) -> None:
    """`name` paid no fee, lost no bond and is not paused."""
    assert ledger(chain, name) == bond_before
    outage = storage.outages.get(chain.view(), acct(name))
    assert outage is None or outage.paused_until_ms == 0, outage
    p = provider_of(chain, name)
    assert p is not None and (p.stalled, p.failed) == (0, 0)


def chunks_held(chain: TestChain, job_id: int) -> int:
    prefix = posted_inputs.input_chunks.prefix + job_id.to_bytes(8, "big")
    return sum(1 for k in chain.snapshot() if k.startswith(prefix))


# --- public jobs of the requester's own inputs ------------------------------------------------------------------


def test_a_public_job_is_drawn_only_once_all_its_inputs_are_on_chain() -> None:
    chain = chain_with()
    chain.dispatch(GOVERNANCE, "compute.register_model", WIDE)
    model = model_hash(WIDE)
    register(chain, "bob")
    inputs = own_inputs(100, 1000)
    job_id = post(chain, items=100, root=input_root(inputs), seed=ZERO_HASH, model=model, deadline_ms=600_000)
    assert posted_inputs.owed.get(chain.view(), job_id) == 0
    chunks = input_chunks(chain, job_id, inputs)
    assert [len(c[1]) for c in chunks] == [48, 48, 4]
    for first, items, proof in chunks[:2]:
        assert_ok(chain.submit("charlie", "compute.post_inputs", job_id, first, items, proof))
        chain.run_block([])
        assert not job_of(chain, job_id).assignments  # two of three chunks: not drawn
    assert posted_inputs.owed.get(chain.view(), job_id) == 96
    assert_ok(chain.submit("charlie", "compute.post_inputs", job_id, *chunks[2]))
    chain.run_block([])
    assert [a.provider for a in job_of(chain, job_id).assignments] == [acct("bob")]
    assert tuple(posted_inputs.posted_inputs(chain.view(), job_id)) == inputs  # what any node serves the provider


def test_a_requester_that_withholds_its_inputs_never_gets_a_provider_drawn_and_pays_the_rent() -> None:
    """The spec-16 attack: a root with nothing behind it. Nobody is drawn, so nobody misses a window; the job waits,
    paying for its place, and expires refunded of its price only."""
    chain = chain_with()
    register(chain, "bob")
    bond = ledger(chain, "bob")
    free_before = chain.account("charlie").free
    job_id = post(chain, items=8, root=input_root(own_inputs(8)), seed=ZERO_HASH, deadline_ms=120_000)
    while job_of(chain, job_id).status == 0:
        chain.run_block([])
        assert not job_of(chain, job_id).assignments
    assert job_of(chain, job_id).status == JOB_EXPIRED
    untouched(chain, "bob", bond)
    assert chain.account("charlie").reserved == 0
    assert chain.account("charlie").free < free_before  # the fees and the rent of the place it held
    assert posted_inputs.owed.get(chain.view(), job_id) is None  # nothing left behind
    assert chunks_held(chain, job_id) == 0


def test_a_redundant_job_of_own_inputs_settles_with_its_inputs_held_until_its_results_are_final() -> None:
    chain = chain_with()
    register(chain, "bob")
    register(chain, "eve")
    inputs = own_inputs(8)
    job_id = post(chain, items=8, redundancy=2, inputs=inputs, deadline_ms=120_000)
    chain.run_block([])
    workers = [RequesterInputs(chain, n, inputs=inputs) for n in ("bob", "eve")]
    for w in workers:
        assert_ok(w.commit(job_id))
    until_sampled(chain, job_id)
    for w in workers:
        assert_ok(w.reveal(job_id))
    job = job_of(chain, job_id)
    assert [a.state for a in job.assignments] == [VERIFIED, VERIFIED] and job.status != 0
    assert chunks_held(chain, job_id) == 1  # a challenger still needs them
    close_window(chain, job_id)
    assert [a.state for a in job_of(chain, job_id).assignments] == [SETTLED, SETTLED]
    assert posted_inputs.owed.get(chain.view(), job_id) is None and chunks_held(chain, job_id) == 0


def test_every_wrong_post_of_inputs_is_refused_and_changes_nothing() -> None:
    chain = chain_with()
    register(chain, "bob")
    chain.dispatch(GOVERNANCE, "compute.register_model", WIDE)
    model = model_hash(WIDE)
    inputs = own_inputs(100, 1000)
    job_id = post(chain, items=100, root=input_root(inputs), seed=ZERO_HASH, model=model, deadline_ms=600_000)
    (f0, c0, p0), (f1, c1, p1), _ = input_chunks(chain, job_id, inputs)
    assert_noop(chain, "dave", "compute.post_inputs", job_id, f0, c0, p0, error="NotRequester")
    assert_noop(chain, "charlie", "compute.post_inputs", job_id, f1, c1, p1, error="BadInputs")  # out of order
    assert_noop(chain, "charlie", "compute.post_inputs", job_id, f0, c0[:-1], p0, error="BadInputs")  # short
    assert_noop(chain, "charlie", "compute.post_inputs", job_id, f0, (c0[0][:-1], *c0[1:]), p0, error="BadInputs")
    forged = (bytes(1000), *c0[1:])  # another item under the same proof
    assert_noop(chain, "charlie", "compute.post_inputs", job_id, f0, forged, p0, error="BadInputs")
    assert_noop(chain, "charlie", "compute.post_inputs", job_id, f0, c0, p0[:-1], error="BadInputs")
    assert_noop(chain, "charlie", "compute.post_inputs", job_id + 9, f0, c0, p0, error="UnknownJob")
    # another job's inputs (the same requester, another root): refused here
    other = own_inputs(100, 1000, salt=1)
    levels = merkle_levels(list(other))
    assert_noop(chain, "charlie", "compute.post_inputs", job_id, 0, other[:48], merkle_range_proof(levels, 0, 48),
                error="BadInputs")
    assert posted_inputs.owed.get(chain.view(), job_id) == 0 and chunks_held(chain, job_id) == 0
    # a synthetic job takes none; a complete one no more
    synthetic = post(chain, items=4, seed=SEED)
    chain.run_block([])  # drawn
    assert_noop(chain, "charlie", "compute.post_inputs", synthetic, 0, own_inputs(4), (), error="InputsNotOwed")
    assert_ok(post_inputs(chain, "charlie", job_id, inputs))
    chain.run_block([])  # drawn
    assert_noop(chain, "charlie", "compute.post_inputs", job_id, f0, c0, p0, error="InputsNotOwed")


# --- private jobs: the sealed items on chain by the end of the sealing window -------------------------------------


def test_a_clinic_that_gives_a_root_and_withholds_the_sealed_items_pays_and_the_provider_goes_free() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    bond = ledger(chain, "bob")
    supply = issuance(chain)
    job_id = posted(chain, clinic)
    clinic.seal()
    assert_ok(clinic.submit_sealed(items=False))  # the root, nothing behind it on chain
    # the provider got the items some other way (or not): it cannot commit until they are on chain
    assert_noop(chain, "bob", "compute.commit_result", job_id, worker.commit_args(job_id, clinic.sealed)[1],
                error="InputsNotSealed")
    commit_by = job_of(chain, job_id).assignments[0].commit_by_slot
    while chain.slot <= commit_by:
        chain.run_block([])
    chain.run_block([])
    job = job_of(chain, job_id)
    assert job.status == JOB_CANCELLED and job.assignments[0].state == VOID
    assert record_of(chain, job_id).outcome == PRIVATE_UNSEALED
    untouched(chain, "bob", bond)
    assert issuance(chain) <= supply - param(chain, "compute.missed_assignment_fee")  # the clinic's fee, burned


def test_withholding_sealed_items_job_after_job_never_pauses_a_provider() -> None:
    """The cornering attempt over many jobs and providers: every provider the attacker's jobs draw goes free, and the
    attacker pays the missed-assignment fee for each."""
    chain = chain_with()
    names = ["bob", "eve", "alice"]
    rng = random.Random(17)
    for n in names:
        if provider_of(chain, n) is None:
            register(chain, n, capacity=1)
        assert_ok(Provider(chain, n, seed=bytes([len(n)]) * 32).set_key())
    bonds = {n: ledger(chain, n) for n in names}
    assert_ok(Clinic(chain, "charlie", MODEL).set_key())
    supply = issuance(chain)
    rounds = 6
    for round_ in range(rounds):
        c = Clinic(chain, "charlie", MODEL, rng=random.Random(rng.randrange(1 << 30)))
        assert_ok(c.post(16, 8, PRICE, 120_000))
        chain.run_block([])
        a = job_of(chain, c.job_id).assignments[0]
        c.seal()
        # half the rounds try a part of the items as if it were all of them, the others give the root only
        assert_ok(c.submit_sealed(items=False))
        if round_ % 2 == 0:
            first, chunk, proof = input_chunks(chain, c.job_id, c.sealed)[0]
            assert_noop(chain, "charlie", "compute.post_inputs", c.job_id, first, chunk[:4], proof, error="BadInputs")
        while chain.slot <= a.commit_by_slot:
            chain.run_block([])
        chain.run_block([])
        assert job_of(chain, c.job_id).status == JOB_CANCELLED
        assert chain.account("charlie").reserved == 0  # the price less the fee, and the deposit, back
    for n in names:
        untouched(chain, n, bonds[n])
    assert issuance(chain) <= supply - rounds * param(chain, "compute.missed_assignment_fee")  # the attacker paid


def test_every_wrong_post_of_sealed_items_is_refused_and_changes_nothing() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    clinic.prepare(16, 8)
    job_id = clinic.job_id = storage.next_job_id.get(chain.view())
    nonce = chain.account(acct("charlie")).nonce
    result = chain.run_block([  # in the block of the post: nobody drawn yet, nothing to seal to
        chain.sign("charlie", "compute.post_private_job", *clinic.post_args(PRICE, 120_000), nonce=nonce),
        chain.sign("charlie", "compute.post_inputs", job_id, 0, (bytes(78),), (), nonce=nonce + 1)])
    assert result.outcomes[-2].success and "WrongState" in (result.outcomes[-1].error or "")
    assert posted_inputs.owed.get(chain.view(), job_id) is None
    chain.run_block([])
    clinic.seal()
    ((first, chunk, proof),) = input_chunks(chain, job_id, clinic.sealed)
    assert_noop(chain, "charlie", "compute.post_inputs", job_id, first, chunk, proof, error="InputsNotSealed")  # root
    assert_ok(clinic.submit_sealed(items=False))
    assert_noop(chain, "bob", "compute.post_inputs", job_id, first, chunk, proof, error="NotRequester")
    plain = tuple(clinic.items)  # the cases themselves, unsealed: the wrong width and never under the sealed root
    assert_noop(chain, "charlie", "compute.post_inputs", job_id, 0, plain, proof, error="BadInputs")
    resealed = Clinic(chain, "charlie", clinic.model, items=list(clinic.items), positions=clinic.positions)
    resealed.job_id = job_id
    other = resealed.seal(key=Provider(chain, "eve", seed=b"\x55" * 32).keypair.public.raw)  # sealed to another key
    assert_noop(chain, "charlie", "compute.post_inputs", job_id, 0, tuple(other),
                merkle_range_proof(merkle_levels(other), 0, 16), error="BadInputs")
    assert posted_inputs.owed.get(chain.view(), job_id) == 0
    assert_ok(chain.submit("charlie", "compute.post_inputs", job_id, first, chunk, proof))
    assert_ok(worker.commit(job_id, clinic.sealed))
    assert job_of(chain, job_id).assignments[0].state == COMMITTED
    assert_noop(chain, "charlie", "compute.post_inputs", job_id, first, chunk, proof, error="WrongState")


def test_sealed_items_after_the_sealing_window_are_refused() -> None:
    chain = chain_with()
    clinic, _ = ready(chain)
    job_id = posted(chain, clinic)
    clinic.seal()
    assert_ok(clinic.submit_sealed(items=False))
    while chain.slot <= record_of(chain, job_id).inputs_by_slot:
        chain.run_block([])
    ((first, chunk, proof),) = input_chunks(chain, job_id, clinic.sealed)
    assert_noop(chain, "charlie", "compute.post_inputs", job_id, first, chunk, proof, error="InputsNotSealed")


def test_sealed_items_the_provider_cannot_open_are_on_chain_for_all_to_see_and_cost_the_clinic() -> None:
    """A clinic that posts junk under its root: the provider flags the items, and the clinic can never reveal its
    decoys against them (they do not re-seal), so it loses its deposit; the provider is paid."""
    chain = chain_with()
    clinic, worker = ready(chain)
    job_id = posted(chain, clinic)
    clinic.seal()
    junk = [blake2b_256(bytes([i])) + bytes(len(x) - 32) for i, x in enumerate(clinic.sealed)]
    good = clinic.sealed
    clinic.sealed = junk
    assert_ok(clinic.submit_sealed())
    assert tuple(posted_inputs.posted_inputs(chain.view(), job_id)) == tuple(junk)
    assert all(x is None for x in worker.open_all(job_id, junk))
    assert_ok(chain.submit("bob", "compute.flag_items", job_id, tuple(range(16))))
    assert_ok(worker.commit(job_id, junk))
    clinic.sealed = good
    assert_noop(chain, "charlie", "compute.reveal_decoys", job_id, clinic.salt, clinic.decoy_openings(),
                error="BadDecoys")
    bond = ledger(chain, "bob")
    until_sampled(chain, job_id)
    assert record_of(chain, job_id).deposit == 0  # burned when the sample was drawn
    assert ledger(chain, "bob") == bond


def test_a_private_job_s_items_leave_the_state_when_it_is_final() -> None:
    chain = chain_with()
    clinic, worker = ready(chain)
    job_id = posted(chain, clinic)
    clinic.seal()
    assert_ok(clinic.submit_sealed())
    assert_ok(worker.commit(job_id, clinic.sealed))
    assert_ok(clinic.reveal())
    until_sampled(chain, job_id)
    assert_ok(worker.reveal(job_id))
    assert job_of(chain, job_id).assignments[0].state == VERIFIED and chunks_held(chain, job_id) == 1
    close_window(chain, job_id)
    assert job_of(chain, job_id).assignments[0].state == SETTLED
    assert posted_inputs.owed.get(chain.view(), job_id) is None and chunks_held(chain, job_id) == 0


# --- the upgrade: jobs of spec 16 keep spec 16's rules ---------------------------------------------------------


def test_jobs_posted_under_spec_16_are_drawn_without_inputs_on_chain_after_the_upgrade() -> None:
    from runtime.context import EMERGENCY
    from runtime.specs import running_spec
    from tests.support.runtime_builder import GenesisBuilder

    chain = GenesisBuilder(balances={"alice": 1_000, "bob": 100_000, "charlie": 100_000, "dave": 100_000},
                           params={"compute.commit_window_slots": 8}).build(16)
    inputs = own_inputs(8)
    old = post(chain, items=8, root=input_root(inputs), seed=ZERO_HASH, deadline_ms=600_000)  # nobody to draw yet
    chain.dispatch(EMERGENCY, "system.schedule_spec", 17, chain.number + 2)
    while running_spec(chain.view()) != 17:
        chain.run_block([])
    assert posted_inputs.owed.get(chain.view(), old) is None
    new = post(chain, items=8, root=input_root(inputs), seed=ZERO_HASH, deadline_ms=600_000)
    register(chain, "bob", capacity=4)
    chain.run_block([])
    assert [a.provider for a in job_of(chain, old).assignments] == [acct("bob")]  # spec 16's job: drawn as before
    assert not job_of(chain, new).assignments  # spec 17's: waits for its inputs
    assert_noop(chain, "charlie", "compute.post_inputs", old, 0, inputs, (), error="InputsNotOwed")
    assert_ok(post_inputs(chain, "charlie", new, inputs))
    chain.run_block([])
    assert [a.provider for a in job_of(chain, new).assignments] == [acct("bob")]


# --- a failed place posted again: its inputs go with it ---------------------------------------------------------


def test_a_place_posted_again_after_a_fraud_carries_its_inputs_and_is_drawn_at_once() -> None:
    """The review's finding: a reassign posted the job again owing inputs its requester had no reason to post twice
    (the original's were dropped when it closed), so the new job waited to its deadline."""
    from tests.runtime.test_compute_reassign import LONG, assigned_to, two_providers

    chain = two_providers()
    inputs = own_inputs(4)
    job_id = post(chain, items=4, inputs=inputs, deadline_ms=LONG)
    first = assigned_to(chain, job_id)
    name = "bob" if first == acct("bob") else "dave"
    cheat = RequesterInputs(chain, name, fake=frozenset(range(4)), inputs=inputs)
    cheat.commit_and_wait(job_id)
    new_id = storage.next_job_id.get(chain.view())
    assert_ok(cheat.reveal(job_id))
    assert posted_inputs.owed.get(chain.view(), job_id) is None  # the old one closed
    assert chunks_held(chain, job_id) == 1 and chunks_held(chain, new_id) == 0  # read, not copied (spec 18)
    assert posted_inputs.owed.get(chain.view(), new_id) == 4
    assert tuple(posted_inputs.posted_inputs(chain.view(), new_id)) == inputs
    chain.run_block([])
    (a,) = job_of(chain, new_id).assignments
    assert a.provider != first  # drawn at once, never for the provider that failed


def test_a_job_posted_before_spec_17_owes_its_inputs_once_a_place_of_it_stalls() -> None:
    """The review's other finding: a root with nothing behind it, posted just before the upgrade, would have stalled
    provider after provider to its deadline; after one stall it waits for its inputs like a spec-17 job."""
    from runtime.context import EMERGENCY
    from runtime.specs import running_spec
    from tests.support.runtime_builder import GenesisBuilder

    chain = GenesisBuilder(balances={"alice": 1_000, "bob": 100_000, "charlie": 100_000, "dave": 100_000},
                           params={"compute.commit_window_slots": 8}).build(16)
    old = post(chain, items=8, root=input_root(own_inputs(8)), seed=ZERO_HASH, deadline_ms=600_000)
    chain.dispatch(EMERGENCY, "system.schedule_spec", 17, chain.number + 2)
    while running_spec(chain.view()) != 17:
        chain.run_block([])
    register(chain, "bob")
    register(chain, "dave")
    chain.run_block([])
    (a,) = job_of(chain, old).assignments
    while chain.slot <= a.commit_by_slot:
        chain.run_block([])
    chain.run_block([])  # the place stalled: the job now owes its inputs, and nobody else is drawn
    assert posted_inputs.owed.get(chain.view(), old) == 0
    for _ in range(10):
        chain.run_block([])
    job = job_of(chain, old)
    assert all(x.provider == a.provider for x in job.assignments)  # the stalled one only
    stalled = [n for n in ("bob", "dave") if acct(n) != a.provider]
    assert provider_of(chain, stalled[0]).stalled == 0  # type: ignore[union-attr]


def test_a_chunk_for_a_job_the_chain_does_not_hold_weighs_what_its_items_cost() -> None:
    from runtime.compute import weights
    from runtime.modules import RUNTIME

    chain = chain_with()
    items = tuple(b"" for _ in range(24_576))
    call = RUNTIME.decode_call(RUNTIME.call("compute.post_inputs", 10**6, 0, items, ()))
    assert RUNTIME.weight(chain.view(), call) == weights.unplaced_inputs_weight(items) > 24_576 * 4
