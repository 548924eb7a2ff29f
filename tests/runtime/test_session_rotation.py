"""session rotation: the set of epoch e + 1 is fixed (queued) at the first block of epoch e, and the leader
schedule of every epoch is drawn from exactly the set active in it. Attack-style checks: a validator that
registers, deregisters or is slashed to nothing leads slots exactly in the epochs in which it is active, and
the set that votes for an epoch's checkpoint (the queued set in the checkpoint block's post-state) is that
epoch's active set, also across epochs without blocks."""

from __future__ import annotations

from runtime.bonds import events as bond_events
from runtime.bonds import logic as bonds_logic
from runtime.bonds import storage as bonds
from runtime.consensus import logic
from runtime.consensus import storage as consensus
from runtime.consensus.power import power_table
from runtime.consensus.types import EpochSchedule
from runtime.context import BlockEnv, CallContext
from runtime.modules import RUNTIME
from runtime.overlay import Overlay
from runtime.session import storage as session
from tests.runtime.test_evidence import header
from tests.support.runtime_builder import (
    SLOT_MS,
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_ok,
    test_commitment,
)
from tests.support.session_proof import registration

E = 20
"""Slots per epoch: with four equal validators each leads some slot of an epoch (deterministically, here)."""
BALANCES = {"alice": 1_000, "bob": 1_000, "charlie": 1_000, "dave": 1_000}
THREE = {"alice": 10, "bob": 10, "charlie": 10}


def new_chain(**params: int) -> TestChain:
    return GenesisBuilder(balances=BALANCES, validators=THREE, epoch_slots=E, params=params).build()


def epoch_of(chain: TestChain) -> int:
    return chain.slot // E


def names(accounts) -> set[str]:  # type: ignore[no-untyped-def]
    by_key = {acct(n): n for n in ("alice", "bob", "charlie", "dave", "eve", "ferdie")}
    return {by_key[a] for a in accounts}


def active(chain: TestChain) -> set[str]:
    return names(v.account for v in session.validators.get(chain.view()))


def queued(chain: TestChain) -> set[str]:
    return names(v.account for v in session.queued.get(chain.view()))


def table(schedule: EpochSchedule | None) -> set[str]:
    assert schedule is not None
    return names(e.account for e in schedule.table if e.weight > 0)


def leaders_of_epoch(chain: TestChain, epoch: int) -> set[str]:
    """Who leads the slots of `epoch` as the chain's last block sees it (every slot checked)."""
    view = chain.view()
    return names(logic.leader_of_slot(view, s) for s in range(epoch * E, (epoch + 1) * E))


def rows(entries) -> list[tuple[bytes, bytes, int]]:  # type: ignore[no-untyped-def]
    return [(e.account, e.session_key, e.bond) for e in entries]


def assert_schedule_follows_the_queue(chain: TestChain) -> None:
    """The next epoch's schedule is drawn over exactly the queued set, row for row."""
    view = chain.view()
    following = consensus.following.get(view)
    assert following is not None
    assert rows(following.table) == rows(session.queued.get(view))


def run_epoch(chain: TestChain) -> list[str]:
    """Run the blocks of the rest of the current epoch (up to its last slot); the authors, checked at every block."""
    epoch = epoch_of(chain)
    authors = []
    while (chain.slot + 1) // E == epoch:
        chain.run_block([])
        assert_schedule_follows_the_queue(chain)
        authors.append(*names([chain.author]))
    return authors


def start_epoch(chain: TestChain) -> tuple[set[str], str]:
    """Run the first block of the next epoch: the active set it rotates to (and the schedule agrees) and its
    author."""
    before = epoch_of(chain)
    chain.run_block([])
    assert epoch_of(chain) == before + 1
    assert_schedule_follows_the_queue(chain)
    current = consensus.current.get(chain.view())
    assert current is not None and current.epoch == epoch_of(chain)
    assert table(current) == active(chain), "the epoch's schedule and its active set differ"
    return active(chain), next(iter(names([chain.author])))


def report_equivocation(chain: TestChain, offender: str, reporter: str = "alice") -> None:
    a, b = header(author=offender, root=1), header(author=offender, root=2)
    assert_ok(chain.submit(reporter, "evidence.report_block_equivocation", a.encode(), b.encode()))


# --- genesis ---------------------------------------------------------------------------------------------


def test_at_genesis_active_and_queued_are_the_genesis_set_and_both_schedules_agree() -> None:
    chain = new_chain()
    view = chain.view()
    assert session.validators.get(view) == session.queued.get(view)
    assert active(chain) == queued(chain) == set(THREE)
    assert rows(consensus.current.get(view).table) == rows(session.validators.get(view))
    assert rows(consensus.following.get(view).table) == rows(session.queued.get(view))


# --- schedule and set agree -------------------------------------------------------------------------------


def test_a_validator_leads_slots_exactly_in_the_epochs_in_which_it_is_active() -> None:
    """dave registers in epoch 0, bob deregisters in epoch 1, charlie is slashed to nothing in epoch 2: each
    epoch's leaders (every slot) and its schedule's members are exactly the set active in it."""
    chain = new_chain()
    expected = {
        0: {"alice", "bob", "charlie"},
        1: {"alice", "bob", "charlie"},  # fixed at genesis: dave's registration in epoch 0 is queued at epoch 1
        2: {"alice", "bob", "charlie", "dave"},
        3: {"alice", "dave"},  # bob's deregistration (epoch 1) and charlie's slash (epoch 2) both take effect
        4: {"alice", "dave"},
    }
    assert_ok(chain.submit("dave", "bonds.bond", 10 * UNIT))
    assert_ok(chain.submit("dave", "bonds.register_validator",
                              *registration("dave", "dave", test_commitment("dave"))))
    authors = {0: run_epoch(chain)}
    for epoch in range(1, 5):
        # the schedule of the epoch about to start, every slot, as the block that ends the epoch before sees it
        assert leaders_of_epoch(chain, epoch) == expected[epoch], epoch
        started, first = start_epoch(chain)
        assert started == expected[epoch], epoch
        if epoch == 1:
            assert queued(chain) == expected[2]
            assert_ok(chain.submit("bob", "bonds.deregister_validator"))
            assert "bob" in queued(chain), "bob leaves only the set after the queued one"
        if epoch == 2:
            assert queued(chain) == {"alice", "charlie", "dave"}
            report_equivocation(chain, "charlie")
            assert queued(chain) == expected[3], "slashed to nothing: out of the next epoch's set at once"
            # the epoch's drawn schedule stays (redrawing it mid-epoch would let a reporter reshuffle leaders);
            # the evidence module already took charlie out of the active set, so its last slots earn nothing
            assert "charlie" in table(consensus.current.get(chain.view()))
            assert "charlie" not in active(chain)
        authors[epoch] = [first, *run_epoch(chain)]
    for epoch, who in authors.items():
        assert set(who) <= expected[epoch], (epoch, who)
    assert "dave" in authors[2] and "dave" not in authors[0] + authors[1]
    assert "bob" in authors[2] and "bob" not in authors[3] + authors[4]
    assert "charlie" not in authors[3] + authors[4]


def test_a_newly_registered_validator_leads_from_the_epoch_it_becomes_active_and_not_before() -> None:
    chain = new_chain()
    run_epoch(chain)
    start_epoch(chain)  # epoch 1
    assert_ok(chain.submit("dave", "bonds.bond", 10 * UNIT))
    assert_ok(chain.submit("dave", "bonds.register_validator",
                              *registration("dave", "dave", test_commitment("dave"))))
    run_epoch(chain)
    assert "dave" not in leaders_of_epoch(chain, 2) and "dave" not in queued(chain)
    start_epoch(chain)  # epoch 2 queues dave for epoch 3
    assert "dave" not in active(chain) and "dave" in queued(chain)
    assert "dave" not in run_epoch(chain)
    assert "dave" in leaders_of_epoch(chain, 3)
    started, _ = start_epoch(chain)
    assert "dave" in started
    assert bond_events.NewEpoch(3, 4) in chain.events()


def test_a_deregistered_validator_leads_exactly_through_the_epochs_it_is_active() -> None:
    chain = new_chain()
    run_epoch(chain)
    start_epoch(chain)  # epoch 1
    assert_ok(chain.submit("bob", "bonds.deregister_validator"))
    run_epoch(chain)
    assert "bob" in leaders_of_epoch(chain, 2)  # epoch 2's set was queued before bob left
    started, _ = start_epoch(chain)
    assert "bob" in started and "bob" not in queued(chain)
    run_epoch(chain)
    assert "bob" not in leaders_of_epoch(chain, 3)
    started, first = start_epoch(chain)
    assert "bob" not in started and first != "bob"
    assert "bob" not in run_epoch(chain)


# --- slashing -----------------------------------------------------------------------------------------------


def test_a_validator_slashed_to_zero_leads_no_slot_in_the_next_epoch() -> None:
    chain = new_chain()
    run_epoch(chain)
    start_epoch(chain)  # epoch 1
    assert "charlie" in leaders_of_epoch(chain, 2), "the attack would matter: charlie had slots in epoch 2"
    report_equivocation(chain, "charlie")
    assert not bonds.validators.contains(chain.view(), acct("charlie"))
    assert "charlie" not in queued(chain)
    assert "charlie" not in table(consensus.following.get(chain.view()))
    assert_schedule_follows_the_queue(chain)
    # every slot of the next epoch, and of later ones reached without a block in between
    assert "charlie" not in leaders_of_epoch(chain, 2)
    assert "charlie" not in leaders_of_epoch(chain, 3)
    run_epoch(chain)
    # the set that votes for epoch 2's checkpoint (this block's queued set) has no charlie either
    assert "charlie" not in queued(chain)
    assert "charlie" not in leaders_of_epoch(chain, 2)
    started, first = start_epoch(chain)
    assert "charlie" not in started and first != "charlie"
    assert "charlie" not in run_epoch(chain)


def test_slashing_through_bonds_directly_takes_the_validator_out_of_the_next_epoch() -> None:
    chain = new_chain()
    run_epoch(chain)
    start_epoch(chain)
    n = chain.number + 1
    ctx = CallContext(Overlay(chain.backend), BlockEnv(n, chain.parent_hash, n, 1_000_000 + n * SLOT_MS,
                                                       acct("alice")), RUNTIME)
    # half of bob's bond: he stays, with the smaller bond, and the next schedule is reweighed exactly
    bonds_logic.slash(ctx, acct("bob"), 5 * UNIT, None)
    bob = next(v for v in session.queued.get(ctx.state) if v.account == acct("bob"))
    assert bob.bond == 5 * UNIT
    following = consensus.following.get(ctx.state)
    assert following is not None
    assert following.table == power_table(rows(following.table), {e.account: e.credit for e in following.table})
    assert rows(following.table) == rows(session.queued.get(ctx.state))
    # the rest of it: bob is out of the queued set and the following schedule, and leads no slot of epoch 2
    bonds_logic.slash(ctx, acct("bob"), 5 * UNIT, None)
    assert acct("bob") not in [v.account for v in session.queued.get(ctx.state)]
    assert rows(following := consensus.following.get(ctx.state).table) == rows(session.queued.get(ctx.state))
    assert acct("bob") not in [e.account for e in following]
    assert all(logic.leader_of_slot(ctx.state, s) != acct("bob") for s in range(2 * E, 3 * E))
    chain.backend.apply(ctx.state.changes())
    run_epoch(chain)
    started, first = start_epoch(chain)
    assert "bob" not in started and first != "bob"


def test_the_last_validator_is_never_slashed_out_of_the_next_epoch() -> None:
    chain = GenesisBuilder(validators={"alice": 10}, epoch_slots=E).build()
    n = chain.number + 1
    ctx = CallContext(Overlay(chain.backend), BlockEnv(n, chain.parent_hash, n, 1_000_000 + n * SLOT_MS,
                                                       acct("alice")), RUNTIME)
    bonds_logic.slash(ctx, acct("alice"), 100 * UNIT, None)
    assert [v.account for v in session.queued.get(ctx.state)] == [acct("alice")]
    following = consensus.following.get(ctx.state)
    assert following is not None and [e.account for e in following.table] == [acct("alice")]


# --- epochs without blocks ------------------------------------------------------------------------------


def test_after_epochs_without_blocks_the_set_and_schedule_still_agree() -> None:
    """dave registers in epoch 0 and bob deregisters in epoch 1; then epochs 2 and 3 pass without a block.
    The block that opens epoch 4 is led by the schedule drawn for epoch 2 (over the queued set), activates
    that same set, and the checkpoint of epoch 4 (the last block before it) records that set as its voters."""
    chain = new_chain()
    assert_ok(chain.submit("dave", "bonds.bond", 10 * UNIT))
    assert_ok(chain.submit("dave", "bonds.register_validator",
                              *registration("dave", "dave", test_commitment("dave"))))
    run_epoch(chain)
    start_epoch(chain)  # epoch 1: dave queued
    assert_ok(chain.submit("bob", "bonds.deregister_validator"))
    run_epoch(chain)
    checkpoint_voters = queued(chain)  # the post-state of the last block before epochs 2, 3 and 4
    assert checkpoint_voters == {"alice", "bob", "charlie", "dave"}
    for epoch in (2, 3, 4):
        assert leaders_of_epoch(chain, epoch) <= checkpoint_voters
        schedule = logic.schedule_for_epoch(chain.view(), epoch)
        assert table(schedule) == checkpoint_voters
    chain.slot = 4 * E - 1  # no block in epochs 2 and 3: the next block is in slot 80
    started, _ = start_epoch(chain)
    assert epoch_of(chain) == 4
    assert started == checkpoint_voters
    assert queued(chain) == {"alice", "charlie", "dave"}  # bob's deregistration reaches the set of epoch 5
    assert bond_events.NewEpoch(4, 4) in chain.events()
    run_epoch(chain)
    assert leaders_of_epoch(chain, 5) == {"alice", "charlie", "dave"}
