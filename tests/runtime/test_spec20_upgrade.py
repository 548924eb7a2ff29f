"""Spec 19 -> 20 on a chain spec 19 made: spec 19 summed the compute house's whole weight over every provider's credit
history (unweighed, at a referendum's close) and counted a stale bucket its window reached although no work window
kept it; spec 20 sums per-epoch totals over the governance window cut to the work window. Its migration (compute
3 -> 4) fills the totals from the histories; from then on no history is read for the house's total. Every block on
both sides is checked against that spec's own books (the totals' rule included)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtime.compute import credit, storage
from runtime.compute.credit_totals_migration import CREDIT_TOTALS
from runtime.compute.types import CreditBucket
from runtime.consensus.logic import epoch_of
from runtime.context import EMERGENCY
from runtime.governance import electorate
from runtime.specs import package_module, running_spec
from runtime.storage_version import storage_version
from runtime.system import storage as system
from tests.support.runtime_builder import UNIT, GenesisBuilder, TestChain, acct

WINDOW = 6
EPOCH_SLOTS = 10
SPEC19_ELECTORATE = package_module(19, "runtime.governance.electorate")
PROVIDERS = ("bob", "charlie", "dave")


def head_epoch(chain: TestChain) -> int:
    view = chain.view()
    return int(epoch_of(view, system.slot.get(view)))


def to_epoch(chain: TestChain, epoch: int) -> None:
    while head_epoch(chain) < epoch:
        chain.run_block([])


def matured(chain: TestChain, who: str, epoch: int, amount: int) -> None:
    """Credit matured into `epoch`, as the compute hook records it (spec 20's rules on a spec-20 chain)."""
    view = chain.view()
    credit.add_matured(view, acct(who), epoch, amount, WINDOW)
    chain.backend.apply(view.changes())


def house(chain: TestChain) -> tuple[int, int]:
    """(the compute house's whole weight, the sum of every provider's weight in it) at the head."""
    view = chain.view()
    each = sum(electorate.voter_weight(view, acct(p)).houses[1] for p in PROVIDERS)
    return electorate.work_total(view), each


def test_spec_20_fills_the_totals_from_the_histories_and_reads_no_history_after_its_migration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chain = GenesisBuilder(epoch_slots=EPOCH_SLOTS, params={"consensus.work_window_epochs": WINDOW}).build(19)
    assert chain.runtime.spec_version == 19 and storage_version(chain.view(), "compute") == 3
    to_epoch(chain, 12)
    e = head_epoch(chain)
    view = chain.view()  # histories as spec 19 stored them: bob and charlie earning, dave long stopped
    storage.credit_history.put(view, acct("bob"), (CreditBucket(e - 3, 30), CreditBucket(e - 1, 10)))
    storage.credit_history.put(view, acct("charlie"), (CreditBucket(e - 2, 5),))
    storage.credit_history.put(view, acct("dave"), (CreditBucket(e - 9, 1_000),))  # outside the work window
    chain.backend.apply(view.changes())
    # spec 19: the governance window (a day: 1,440 epochs of this chain) reaches dave's stale bucket
    assert SPEC19_ELECTORATE.work_total(chain.view()) == 1_045
    assert CREDIT_TOTALS.count(chain.view()) == 3  # one item a history

    chain.dispatch(EMERGENCY, "system.schedule_spec", 20, chain.number + 2)
    while running_spec(chain.view()) != 20 or storage_version(chain.view(), "compute") != 4:
        chain.run_block([])
    assert CREDIT_TOTALS.count(chain.view()) == 0 and storage.credit_totals_passed.get(chain.view()) is None
    # spec 20: the window cut to the work window, dave's bucket no longer counts
    assert house(chain) == (45, 45)
    assert electorate.voter_weight(chain.view(), acct("dave")).houses[1] == 0
    assert dict(storage.credit_totals.items(chain.view())) == {e - 3: 30, e - 2: 5, e - 1: 10, e - 9: 1_000}

    # epochs go by: credit matures into its totals, the floor rises and prunes them
    for epoch in range(head_epoch(chain) + 1, head_epoch(chain) + 2 * WINDOW):
        to_epoch(chain, epoch)  # the epoch's first block: the floor rises (the compute hook's maturity)
        matured(chain, "bob", epoch - 1, 2)
        if epoch % 2:
            matured(chain, "charlie", epoch - 1, 3)
        chain.run_block([])  # the books checked, the totals' rule among them
        whole, each = house(chain)
        assert whole == each, epoch
    assert min(e for e, _ in storage.credit_totals.items(chain.view())) >= storage.credit_floor.get(chain.view())

    def refused(_state: object) -> Iterator[object]:
        raise AssertionError("the histories were read although the totals hold the whole window")

    monkeypatch.setattr(storage.credit_history, "items", refused)
    whole, each = house(chain)
    assert whole == each > 0


def test_try_upgrade_on_a_spec_19_chain_fills_the_totals_the_chain_itself_reaches() -> None:
    from cli.try_upgrade import try_upgrade

    chain = GenesisBuilder(epoch_slots=EPOCH_SLOTS, params={"consensus.work_window_epochs": WINDOW}).build(19)
    to_epoch(chain, 9)
    e = head_epoch(chain)
    view = chain.view()
    for i, who in enumerate(PROVIDERS):
        storage.credit_history.put(view, acct(who), tuple(CreditBucket(e - k, 10 * i + k) for k in range(1, 4)))
    chain.backend.apply(view.changes())
    before = dict(chain.backend.data)
    trial = try_upgrade(chain.backend, chain.number, b"\x01" * 32, 20)
    assert trial.ok, trial.first_fault()
    assert chain.backend.data == before  # nothing written to what it read
    (row,) = [r for r in trial.migrations if r.name == CREDIT_TOTALS.name]
    assert (row.counted, row.items) == (3, 3)
    assert trial.state is not None and CREDIT_TOTALS.count(trial.state) == 0
    chain.dispatch(EMERGENCY, "system.schedule_spec", 20, chain.number + 2)
    while running_spec(chain.view()) != 20 or storage_version(chain.view(), "compute") != 4:
        chain.run_block([])
    assert dict(storage.credit_totals.items(trial.state)) == dict(storage.credit_totals.items(chain.view())) == {
        e - k: sum(10 * i + k for i in range(3)) for k in range(1, 4)}


def test_btt_referendum_reports_the_compute_electorate_of_each_block_s_own_spec() -> None:
    """What the RPC reports is what the chain would enforce at that block: before the upgrade spec 19's house (dave's
    stale bucket inside the governance window counts), after it spec 20's (the window cut to the work window)."""
    from btt_chain.rpc import methods_governance
    from tests.runtime.test_governance import propose, vote
    from tests.runtime.test_work_total_steps import rpc_node

    chain = GenesisBuilder(
        balances={"alice": 20_000, "bob": 10_000, "charlie": 5_000, "dave": 1_000, "eve": 100},
        module_balances={"ecosystem_fund": (5_000, 0), "community_incentives": (5_000, 0),
                         "strategic_reserve": (210, 210)},
        institutions={"dave": 1_050_000}, representatives=("eve",), epoch_slots=EPOCH_SLOTS,
        params={"consensus.work_window_epochs": WINDOW}).build(19)
    to_epoch(chain, 12)
    e = head_epoch(chain)
    view = chain.view()
    storage.credit_history.put(view, acct("bob"), (CreditBucket(e - 3, 30), CreditBucket(e - 1, 10)))
    storage.credit_history.put(view, acct("dave"), (CreditBucket(e - 9, 1_000),))
    chain.backend.apply(view.changes())
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("charlie"), UNIT)
    vote(chain, "alice", ref_id, True)

    def compute_electorate(tag: bytes) -> str:
        methods_governance._WORK_TOTALS.clear()  # noqa: SLF001 - a fresh read of the block's total
        answer = methods_governance.btt_referendum(rpc_node(chain, tag), ref_id, None).finish()
        return str(answer["liveTally"]["houses"]["compute"]["electorate"])

    assert compute_electorate(b"\x19" * 32) == "1040"  # spec 19: bob's 40 and dave's stale 1,000
    chain.dispatch(EMERGENCY, "system.schedule_spec", 20, chain.number + 2)
    while running_spec(chain.view()) != 20 or storage_version(chain.view(), "compute") != 4:
        chain.run_block([])
    assert compute_electorate(b"\x20" * 32) == "40"  # spec 20: bob's 40
