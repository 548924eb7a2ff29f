"""A requester's inputs posted on chain (spec 17, `compute.post_inputs`), as a test chain's requester posts them."""

from __future__ import annotations

from collections.abc import Sequence

from btt_chain.primitives.extrinsic import Extrinsic
from btt_chain.primitives.merkle import merkle_levels, merkle_range_proof
from runtime.compute import posted_inputs, storage
from runtime.executive import ApplyOutcome
from tests.support.runtime_builder import TestChain, dev_keypair


def input_chunks(chain: TestChain, job_id: int, items: Sequence[bytes]) -> list[tuple[int, tuple[bytes, ...],
                                                                                     tuple[bytes, ...]]]:
    """`items` (a private job's sealed ones) as `compute.post_inputs` takes them: (first, items, range proof) per
    chunk of the job's plan."""
    view = chain.view()
    job = storage.jobs.get(view, job_id)
    assert job is not None
    reg = storage.models.get(view, job.model)
    assert reg is not None
    sealed = storage.private_jobs.get(view, job_id) is not None
    levels = merkle_levels(list(items))
    return [(first, tuple(items[first:first + n]), merkle_range_proof(levels, first, n))
            for first, n in posted_inputs.input_chunk_plan(reg.spec, job.items, sealed)]


def input_xts(chain: TestChain, who: str, job_id: int, items: Sequence[bytes], first_nonce: int | None = None
              ) -> list[Extrinsic]:
    """Every chunk of the job's inputs as signed extrinsics, nonces from `first_nonce` (the account's next)."""
    nonce = chain.account(dev_keypair(who).public).nonce if first_nonce is None else first_nonce
    return [chain.sign(who, "compute.post_inputs", job_id, first, chunk, proof, nonce=nonce + i)
            for i, (first, chunk, proof) in enumerate(input_chunks(chain, job_id, items))]


def post_inputs(chain: TestChain, who: str, job_id: int, items: Sequence[bytes]) -> ApplyOutcome:
    """Post every chunk of the job's inputs in one block; the first failure or the last outcome."""
    result = chain.run_block(input_xts(chain, who, job_id, items))
    failed = next((o for o in result.outcomes if not o.success), None)
    return failed if failed is not None else result.outcomes[-1]
