"""The provider engine: its results are the runtime's (inputs from the seed, integer inference, Merkle roots),
its openings verify, the whole provider flow settles on a test chain, fakes are caught, and a restarted
engine still reveals from disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btt_chain.miner.engine import CannotServe, JobSpec, MinerEngine, NotYet, compute_result, fake_output
from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.merkle import verify_merkle_proof
from runtime.compute import storage as compute
from runtime.compute.events import FraudDetected, JobReceipt
from runtime.compute.inference import infer
from runtime.compute.inputs import input_root, output_root, synthetic_inputs
from runtime.compute.model import input_bytes, macs_per_item, model_hash
from runtime.compute.reference import reference_model, reference_spec
from runtime.compute.sampling import sample_indices
from runtime.compute.types import FRAUD, SETTLED, VERIFIED, Job
from runtime.compute.verify import result_commitment, sample_of
from runtime.system import storage as system
from tests.runtime.test_compute import until_sampled
from tests.support.runtime_builder import DEFAULT_PARAMS, UNIT, GenesisBuilder, TestChain, acct, assert_ok

MODEL = "breast-cancer-v1"
SPEC = reference_spec(MODEL)
SEED = b"\x5a" * 32


def job_spec(job_id: int = 0, items: int = 16, seed: bytes = SEED) -> JobSpec:
    root = input_root(synthetic_inputs(seed, items, input_bytes(SPEC))) if seed != ZERO_HASH else b"\x11" * 32
    return JobSpec(job_id, SPEC, seed, root, items)


def fixed_salt(n: int) -> bytes:
    return b"\x07" * n


# pure engine --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("items", [1, 2, 3, 16, 33])
def test_result_matches_the_runtime_and_every_opening_verifies(items: int) -> None:
    spec = job_spec(items=items)
    result = compute_result(spec, fixed_salt(32))
    inputs = synthetic_inputs(SEED, items, input_bytes(SPEC))
    assert list(result.inputs) == inputs
    assert list(result.outputs) == infer(reference_model(MODEL), inputs)
    assert result.input_root == spec.input_root
    assert result.output_root == output_root(result.outputs)
    assert result.commitment == result_commitment(result.output_root, fixed_salt(32))
    for o in result.openings(range(items)):
        assert verify_merkle_proof(result.input_root, o.input, o.index, items, o.input_proof)
        assert verify_merkle_proof(result.output_root, o.output, o.index, items, o.output_proof)


def test_openings_follow_the_sample_order_and_reject_outside_items() -> None:
    result = compute_result(job_spec(), fixed_salt(32))
    sample = sample_indices(b"\x01" * 32, 16, 8)
    assert tuple(o.index for o in result.openings(sample)) == sample
    with pytest.raises(CannotServe, match="outside its 16 items"):
        result.openings([16])


def test_a_requesters_job_waits_for_its_inputs_and_checks_them() -> None:
    with pytest.raises(NotYet, match="inputs have not reached"):
        MinerEngine().prepare(job_spec(seed=ZERO_HASH))
    cases = tuple(bytes([i]) * input_bytes(SPEC) for i in range(5))
    job = JobSpec(7, SPEC, ZERO_HASH, input_root(cases), 5, cases)
    result = MinerEngine().prepare(job)
    assert list(result.outputs) == infer(reference_model(MODEL), list(cases))
    for bad in (cases[:4], cases[:4] + (b"\x00",), tuple(reversed(cases))):
        with pytest.raises(CannotServe):
            compute_result(JobSpec(7, SPEC, ZERO_HASH, input_root(cases), 5, bad), fixed_salt(32))


def test_inputs_that_do_not_match_the_job_root_are_refused() -> None:
    spec = job_spec()
    with pytest.raises(CannotServe, match="do not match its input root"):
        compute_result(JobSpec(0, SPEC, SEED, b"\x22" * 32, spec.items), fixed_salt(32))


def test_fake_items_falsify_exactly_the_first_n_outputs() -> None:
    honest = compute_result(job_spec(), fixed_salt(32))
    faked = compute_result(job_spec(), fixed_salt(32), fake_items=3)
    assert faked.faked == (0, 1, 2)
    assert [i for i in range(16) if honest.outputs[i] != faked.outputs[i]] == [0, 1, 2]
    assert all(len(a) == len(b) for a, b in zip(honest.outputs, faked.outputs, strict=True))
    assert fake_output(bytes([4, 1, 2, 3, 4, 5])) == bytes([0, 1, 2, 3, 4, 5])


def test_salts_are_fresh_per_job_and_prepare_is_idempotent() -> None:
    engine = MinerEngine()
    a = engine.prepare(job_spec(0))
    b = engine.prepare(job_spec(1))
    assert a.salt != b.salt and a.output_root == b.output_root
    assert engine.prepare(job_spec(0)) is a
    assert engine.job_ids() == [0, 1]
    engine.forget(0)
    assert 0 not in engine and engine.get(0) is None
    with pytest.raises(CannotServe, match="no result is kept for job 0"):
        engine.openings(0, [1])


def test_a_restarted_engine_reveals_what_it_committed(tmp_path: Path) -> None:
    first = MinerEngine(tmp_path)
    result = first.prepare(job_spec(7))
    commitment = result.commitment
    again = MinerEngine(tmp_path)
    assert again.job_ids() == [7]
    assert again.commitment(7) == commitment
    assert again.openings(7, [0, 5]) == result.openings([0, 5])
    again.forget(7)
    assert MinerEngine(tmp_path).job_ids() == []


def test_an_unreadable_result_file_is_set_aside(tmp_path: Path) -> None:
    MinerEngine(tmp_path).prepare(job_spec(3))
    path = tmp_path / "job-3.json"
    doc = json.loads(path.read_text())
    doc["outputs"][0] = "00" * 6
    path.write_text(json.dumps(doc))
    assert MinerEngine(tmp_path).job_ids() == []
    assert (tmp_path / "job-3.bad").exists()


# the provider flow on a test chain ----------------------------------------------------------------------


def market() -> TestChain:
    chain = GenesisBuilder(balances={"alice": 1_000, "bob": 1_000, "charlie": 1_000}).build()
    assert_ok(chain.submit("bob", "bonds.bond", 200 * UNIT))
    assert_ok(chain.submit("bob", "compute.register_provider", 4, 0, 2))
    return chain


def post(chain: TestChain, price: int, items: int = 16, seed: bytes = SEED) -> Job:
    mh = model_hash(reference_spec(MODEL))
    assert_ok(chain.submit("charlie", "compute.post_job", mh, ZERO_HASH, seed, items, price, 1, 120_000))
    job_id = compute.next_job_id.get(chain.view()) - 1
    chain.run_block([])  # assignment draws from randomness fixed after inclusion
    job = compute.jobs.get(chain.view(), job_id)
    assert job.assignments and job.assignments[0].provider == acct("bob")
    return job


def serve(chain: TestChain, engine: MinerEngine, job: Job) -> None:
    """What the miner does: compute, commit, wait for the sample, reveal its openings."""
    result = engine.prepare(JobSpec(job.id, SPEC, job.input_seed, job.input_root, job.items))
    assert_ok(chain.submit("bob", "compute.commit_result", job.id, result.commitment))
    until_sampled(chain, job.id)
    job = compute.jobs.get(chain.view(), job.id)
    indices = sample_of(job, job.assignments[0], 8)
    assert len(indices) == 8
    assert_ok(chain.submit("bob", "compute.reveal_result", job.id, result.output_root, result.salt,
                           result.openings(indices)))
    close_window(chain, job.id)


def close_window(chain: TestChain, job_id: int) -> None:
    """Run empty blocks until no assignment of the job is inside its challenge window."""
    for _ in range(100):
        job = compute.jobs.get(chain.view(), job_id)
        if all(a.state != VERIFIED for a in job.assignments):
            return
        chain.run_block([])
    raise AssertionError("the challenge window never closed")


def test_an_honest_provider_is_paid_exactly() -> None:
    chain = market()
    price = 10 * UNIT + 7
    job = post(chain, price)
    reserve_before = chain.account(module_account("operational_reserve")).free
    issuance_before = system.total_issuance.get(chain.view())
    serve(chain, MinerEngine(), job)
    (receipt,) = [e for e in chain.events() if isinstance(e, JobReceipt)]
    burned = price * 200 // 10_000
    rest = price - burned
    provider, dev, foundation = rest * 7000 // 10_000, rest * 1500 // 10_000, rest * 1000 // 10_000
    assert (receipt.payment, receipt.burned, receipt.provider_paid) == (price, burned, provider)
    assert receipt.credit == min(16 * macs_per_item(SPEC), burned)
    assert chain.account(module_account("operational_reserve")).free - reserve_before == \
        rest - provider - dev - foundation
    assert system.total_issuance.get(chain.view()) == issuance_before - burned
    assert compute.jobs.get(chain.view(), job.id).assignments[0].state == SETTLED
    assert chain.account("charlie").reserved == 0


def test_a_provider_faking_a_sampled_item_is_slashed_and_the_clinic_refunded() -> None:
    chain = market()
    job = post(chain, 10 * UNIT)
    bond_before = compute.providers.get(chain.view(), acct("bob"))
    assert bond_before is not None
    serve(chain, MinerEngine(fake_items=16), job)
    (fraud,) = [e for e in chain.events() if isinstance(e, FraudDetected)]
    slash = DEFAULT_PARAMS["compute.fraud_slash"][0]  # a fixed amount, whatever the bond
    assert fraud.provider == acct("bob") and fraud.refunded == 10 * UNIT and fraud.slashed == slash
    assert compute.jobs.get(chain.view(), job.id).assignments[0].state == FRAUD
    assert compute.providers.get(chain.view(), acct("bob")).frauds == 1
    # the refund went straight into the same work posted again for another provider (`reassign`)
    (reposted,) = [e for e in chain.events() if type(e).__name__ == "JobReassigned"]
    assert reposted.job_id == job.id and chain.account("charlie").reserved == 10 * UNIT


def test_a_restarted_miner_reveals_from_disk(tmp_path: Path) -> None:
    chain = market()
    job = post(chain, UNIT)
    result = MinerEngine(tmp_path).prepare(JobSpec(job.id, SPEC, job.input_seed, job.input_root, job.items))
    assert_ok(chain.submit("bob", "compute.commit_result", job.id, result.commitment))
    until_sampled(chain, job.id)
    restarted = MinerEngine(tmp_path)  # the process died after committing
    job = compute.jobs.get(chain.view(), job.id)
    kept = restarted.get(job.id)
    assert kept is not None
    indices = sample_of(job, job.assignments[0], 8)
    assert_ok(chain.submit("bob", "compute.reveal_result", job.id, kept.output_root, kept.salt,
                           restarted.openings(job.id, indices)))
    assert compute.jobs.get(chain.view(), job.id).assignments[0].state == VERIFIED
    close_window(chain, job.id)
    assert any(isinstance(e, JobReceipt) for e in chain.events())
