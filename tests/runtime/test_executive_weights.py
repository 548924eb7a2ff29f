"""An extrinsic whose call needs a weights blob this node lacks is no verdict: the executive undoes all of it, fee and
nonce included (no write, event, outcome or block total changes), and raises WeightsUnavailable, even from inside a
nested call's open snapshot; once the blob is held, the same extrinsic applies as usual."""

from __future__ import annotations

from typing import Any

import pytest

from btt_chain.primitives.extrinsic import Extrinsic
from runtime.compute import weights_source
from runtime.compute.model import model_hash
from runtime.compute.weights_source import WeightsUnavailable
from runtime.context import GOVERNANCE, CallContext
from runtime.executive import BlockExecution, Executive
from runtime.modules import RUNTIME
from runtime.system import events as system_events
from runtime.system.dispatch_types import DispatchInfo
from tests.runtime.test_compute import Worker, assigned_job, make_chain
from tests.support import models as test_models
from tests.support.runtime_builder import GENESIS_HASH, TestChain, acct, assert_ok


def totals(ex: BlockExecution) -> tuple[Any, ...]:
    return (ex.state.changes(), list(ex.ctx.events), list(ex.outcomes), ex.fees, ex.tips, ex.weight_used,
            ex.bytes_used, ex.state.depth)


def test_a_reveal_on_a_model_whose_blob_is_missing_changes_nothing_then_applies() -> None:
    chain = make_chain()
    spec = test_models.dense_model("tiny-gone-v1", (16, 8, 3), seed=3)
    chain.dispatch(GOVERNANCE, "compute.register_model", spec)
    job_id = assigned_job(chain, model=model_hash(spec), items=3)
    worker = Worker(chain, "bob")
    worker.commit_and_wait(job_id)
    xt = chain.sign("bob", "compute.reveal_result", *worker.reveal_args(job_id))
    blob = test_models.test_weights().blobs.pop(spec.weights_hash)
    weights_source.forget(spec.weights_hash)
    try:
        ex = chain.begin_block()
        chain.executive.apply_extrinsic(ex, chain.sign("charlie", "system.remark", b"first"), 100)
        before = totals(ex)
        with pytest.raises(WeightsUnavailable) as exc:
            chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
        assert (exc.value.weights_hash, exc.value.size) == (spec.weights_hash, spec.weights_size)
        assert totals(ex) == before  # bob's fee and nonce too: his account is not in the changes
    finally:
        test_models.test_weights().blobs[spec.weights_hash] = blob
    outcome = chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
    assert_ok(outcome)
    assert outcome.index == 2 and [o.index for o in ex.outcomes] == [0, 1, 2]  # after the timestamp inherent
    chain.end_block()
    assert chain.account("bob").nonce == xt.nonce + 1


class NestedRuntime:
    """The real runtime, except that dispatch opens a snapshot, writes, emits and then lacks a blob."""

    def __init__(self) -> None:
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(RUNTIME, name)

    def dispatch(self, ctx: CallContext, origin: Any, decoded: Any) -> None:
        if origin.kind == "none":  # the block's timestamp inherent runs as it does
            return RUNTIME.dispatch(ctx, origin, decoded)
        self.calls += 1
        ctx.state.set(b"outer-write", b"1")
        ctx.state.begin()  # a nested call's snapshot (multisig executes its call in one)
        ctx.state.set(b"inner-write", b"1")
        ctx.emit(system_events.ExtrinsicSuccess(DispatchInfo(99)))
        raise WeightsUnavailable(b"\x07" * 32, 1234)


def test_a_nested_snapshot_left_open_by_the_error_is_closed_too() -> None:
    chain: TestChain = make_chain()
    runtime = NestedRuntime()
    chain.executive = Executive(runtime, GENESIS_HASH)  # type: ignore[arg-type]
    ex = chain.begin_block()
    xt: Extrinsic = chain.sign("charlie", "system.remark", b"needs a blob")
    before = totals(ex)
    with pytest.raises(WeightsUnavailable):
        chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
    assert runtime.calls == 1 and totals(ex) == before
    assert ex.state.get(b"outer-write") is None and ex.state.get(b"inner-write") is None
    chain.end_block()
    assert chain.account(acct("charlie")).nonce == xt.nonce
