"""An owner who registers the hash of bytes that are not its spec's weights: every node that holds them reaches
the same verdict (a failed call), so no block can split the chain over them, and nothing but the fee moves."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from runtime.compute import events, storage
from runtime.compute.inference import infer
from runtime.compute.inputs import synthetic_inputs
from runtime.compute.model import input_bytes, model_hash, parse_weights, tensor_bytes, with_weights
from runtime.context import GOVERNANCE
from tests.runtime.test_compute import MODEL, Worker, assigned_job, job_of, make_chain, post, register
from tests.support.models import dense_blob, test_weights
from tests.support.runtime_builder import acct, assert_last_event, assert_noop, assert_ok


@dataclass
class TwinWorker(Worker):
    """Computes with the well-formed twin of the registered (malformed) model: the outputs are the true ones."""

    twin_blob: bytes = b""

    def items(self, job_id: int) -> tuple[list[bytes], list[bytes]]:
        job = job_of(self.chain, job_id)
        reg = storage.models.get(self.chain.view(), job.model)
        assert reg is not None
        good = parse_weights(with_weights(reg.spec, self.twin_blob), self.twin_blob)
        inputs = synthetic_inputs(job.input_seed, job.items, input_bytes(reg.spec))
        return inputs, infer(good, inputs)


def test_weights_that_match_their_hash_but_not_their_spec_fail_the_reveal_and_move_nothing_else() -> None:
    spec, blob = dense_blob("malformed-v1", (16, 8, 3))
    end = tensor_bytes(spec)
    bad = blob[:end] + struct.pack("<I", 9) + b"{}"  # the metadata says 9 bytes and holds 2
    bad_spec = with_weights(spec, bad)
    test_weights().add(bad_spec, bad)
    chain = make_chain()
    chain.dispatch(GOVERNANCE, "compute.register_model", bad_spec)  # the chain cannot see the blob: it takes it
    job_id = assigned_job(chain, model=model_hash(bad_spec), items=4)
    worker = TwinWorker(chain, "bob", twin_blob=blob)
    worker.commit_and_wait(job_id)
    before = job_of(chain, job_id)
    bond_before = chain.account("bob").reserved
    out = worker.reveal(job_id)
    assert not out.success and "MalformedWeights" in str(out.error) and "do not fit its spec" in str(out.error)
    assert job_of(chain, job_id) == before  # still committed: nothing verified, nobody slashed
    assert chain.account("bob").reserved == bond_before
    # the same verdict again (judged once, remembered): deterministic on every node
    again = worker.reveal(job_id)
    assert not again.success and str(again.error) == str(out.error)


def test_jobs_on_an_owners_model_go_only_to_providers_that_serve_it() -> None:
    # an owner who never serves its weights cannot get providers drawn for jobs they could not compute
    chain = make_chain()
    spec = test_weights().add(*dense_blob("owners-model-v1", (16, 8, 3), seed=3))
    assert_ok(chain.submit("dave", "compute.register_model", spec))
    mh = model_hash(spec)
    register(chain, "bob")
    register(chain, "eve")
    job_id = post(chain, model=mh, items=4)
    chain.run_block([])
    assert job_of(chain, job_id).assignments == ()  # nobody serves it: the job waits (and expires, refunded)
    assert_noop(chain, "charlie", "compute.serve_model", mh, True, error="NotProvider")
    assert_noop(chain, "bob", "compute.serve_model", MODEL, True, error="served by every provider")
    assert_noop(chain, "bob", "compute.serve_model", mh, False, error="not serving")
    assert_ok(chain.submit("eve", "compute.serve_model", mh, True))
    assert_last_event(chain, events.ModelServed(mh, acct("eve"), True))
    chain.run_block([])
    assert [a.provider for a in job_of(chain, job_id).assignments] == [acct("eve")]  # the only one serving
    assert_noop(chain, "eve", "compute.serve_model", mh, True, error="already serving")
    # eve stops: a later job waits again, her assignment stays hers
    assert_ok(chain.submit("eve", "compute.serve_model", mh, False))
    second = post(chain, model=mh, items=4)
    chain.run_block([])
    assert job_of(chain, second).assignments == ()
    assert [a.provider for a in job_of(chain, job_id).assignments] == [acct("eve")]
