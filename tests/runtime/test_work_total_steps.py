"""The compute house's whole weight worked out in steps (`electorate.work_total_in_steps`), for the RPC lane: the same
sum as the runtime's `work_total` (which drains it), the sum of one state however the state moves between steps, and
`btt_referendum` answering in steps with every figure of the block the call began at."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from btt_chain.rpc import methods_governance
from runtime.compute import credit
from runtime.compute import storage as compute_storage
from runtime.compute.types import CreditBucket
from runtime.governance import electorate
from runtime.overlay import Overlay
from runtime.storage_version import put_storage_version
from tests.runtime.test_governance import make_chain, propose, vote
from tests.support.runtime_builder import UNIT, TestChain, acct

PROVIDERS = [f"provider{i}" for i in range(7)]


def credited_chain() -> TestChain:
    """Seven providers, one with a bucket outside the window (a later epoch: it must not count), the rest with credit
    in it, on a chain that took spec 20 and has not yet run compute's migration 3 -> 4 (the total is then summed from
    the histories, in steps)."""
    chain = make_chain(epoch_slots=20)
    view = chain.view()
    epoch, _ = electorate.work_window(view)
    for i, name in enumerate(PROVIDERS):
        history = (CreditBucket(epoch + 1, 1_000),) if i == 0 else (CreditBucket(epoch, 10 * i), CreditBucket(epoch, i))
        compute_storage.credit_history.put(view, acct(name), history)
    put_storage_version(view, "compute", 3)
    chain.backend.apply(view.changes())
    return chain


def per_provider_sum(state: Overlay) -> int:
    """What the house weighs by its own rule, one provider at a time (`voter_weight`'s `recent_credit`)."""
    epoch, window = electorate.work_window(state)
    providers = [who for who, _ in compute_storage.credit_history.items(state)]
    return sum(credit.recent_credit(state, who, epoch, window) for who in providers)


def test_in_steps_the_sum_is_the_runtime_s_and_each_provider_s() -> None:
    state = credited_chain().view()
    expected = sum(11 * i for i in range(1, 7))
    assert per_provider_sum(state) == expected == electorate.work_total(state)
    for per_step, yields in ((1, 7), (2, 3), (7, 1), (100, 0)):
        steps = electorate.work_total_in_steps(state, per_step)
        counted = 0
        while True:
            try:
                next(steps)
            except StopIteration as done:
                assert done.value == expected, per_step
                break
            counted += 1
        assert counted == yields, per_step


def test_the_sum_is_of_the_state_as_the_first_step_found_it() -> None:
    chain = credited_chain()
    before = electorate.work_total(Overlay(chain.backend))
    state = Overlay(chain.backend)  # the live state, as the RPC reads the head's (nothing of it read yet)
    steps = electorate.work_total_in_steps(state, 2)
    next(steps)  # the first step: every history read, two summed
    view = chain.view()  # a block lands meanwhile: every provider's history rewritten, and a new provider
    epoch, _ = electorate.work_window(view)
    for name in [*PROVIDERS, "newcomer"]:
        compute_storage.credit_history.put(view, acct(name), (CreditBucket(epoch, 10_000),))
    chain.backend.apply(view.changes())
    while True:
        try:
            next(steps)
        except StopIteration as done:
            assert done.value == before
            break
    assert electorate.work_total(Overlay(chain.backend)) == 8 * 10_000


def rpc_node(chain: TestChain, head: bytes) -> Any:
    return SimpleNamespace(node=SimpleNamespace(
        chain=SimpleNamespace(head_hash=head, head=None, db=SimpleNamespace(state=chain.backend)),
        spec=SimpleNamespace(ss58_prefix=42)))


def test_btt_referendum_answers_in_steps_with_the_figures_of_one_block(monkeypatch: Any) -> None:
    chain = credited_chain()
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("charlie"), UNIT)
    vote(chain, "alice", ref_id, True)
    methods_governance._WORK_TOTALS.clear()
    whole = methods_governance.btt_referendum(rpc_node(chain, b"\x01" * 32), ref_id, None).finish()
    electorate_figures = whole["liveTally"]
    assert electorate_figures is not None

    monkeypatch.setattr(electorate, "WORK_TOTAL_STEP", 2)
    methods_governance._WORK_TOTALS.clear()
    ctx = rpc_node(chain, b"\x02" * 32)
    stepwise = methods_governance.btt_referendum(ctx, ref_id, None)
    done, _ = stepwise.advance()  # the first step: the histories read, two of them summed
    assert not done
    steps = 1
    while not done:
        done, answer = stepwise.advance()
        steps += 1
    assert steps == 4  # 7 histories, 2 a step: 3 yields
    assert answer == whole
    assert methods_governance._WORK_TOTALS == {b"\x02" * 32: electorate.work_total(chain.view())}
    # the same block again: the total is not summed again, the answer comes in one step
    stepwise = methods_governance.btt_referendum(ctx, ref_id, None)
    assert stepwise.advance() == (True, whole)


def test_with_the_totals_whole_the_sum_takes_one_step_and_reads_no_history(monkeypatch: Any) -> None:
    chain = make_chain(epoch_slots=20)  # born at spec 20: compute at version 4, the totals whole
    view = chain.view()
    epoch, window = electorate.work_window(view)
    for i, name in enumerate(PROVIDERS):
        credit.add_matured(view, acct(name), epoch, 10 * (i + 1), window)
    chain.backend.apply(view.changes())
    state = chain.view()
    assert per_provider_sum(state) == 280
    monkeypatch.setattr(compute_storage.credit_history, "items", lambda _state: iter(()))  # nothing to read
    steps = electorate.work_total_in_steps(state, 1)
    try:
        next(steps)
        raise AssertionError("the sum yielded: it read histories")
    except StopIteration as done:
        assert done.value == 280 == electorate.work_total(state)
