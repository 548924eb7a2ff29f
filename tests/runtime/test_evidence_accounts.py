"""evidence, issue 49 findings 1 and 2 on a test chain: offences are an account's, and leaving does not escape them.

Each attack runs through blocks on a GenesisBuilder chain with real signed votes and headers, and asserts that it
fails: (finding 2) a validator that equivocated, deregistered and unbonded is still slashed two epochs later, from
its unlocking funds; (finding 1) a double vote across a validator's old and new session key is one offence of its
account, found through the chain's key owners. Every refused report (keys of two accounts, the same offence again
with another pair of keys, an offence older than the evidence window, an account with nothing to slash) changes
nothing but the fee. The key owner record itself is attacked too: a key another account ever used is never taken.
"""

from __future__ import annotations

from btt_chain.primitives.evidence import BLOCK_EQUIVOCATION, DOUBLE_VOTE, SURROUND_VOTE
from runtime.bonds import events as bond_events
from runtime.bonds import storage as bonds
from runtime.evidence import events
from runtime.evidence import storage as evidence
from runtime.evidence.migrations import REPORTS_V0, reports_by_account
from runtime.session import storage as session
from runtime.session.migrations import record_every_owner
from runtime.session.types import SessionKeys
from runtime.storage_version import put_storage_version
from tests.runtime.test_evidence import cp, enc, header, vote
from tests.runtime.test_session_keys import keys_of, proof
from tests.runtime.test_session_rotation import BALANCES, THREE, E, run_epoch, start_epoch
from tests.support.runtime_builder import (
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_last_event,
    assert_noop,
    assert_ok,
    test_commitment,
    test_rotation_commitment,
)
from tests.support.session_proof import registration

BLOCK = "evidence.report_block_equivocation"
VOTES = "evidence.report_vote_equivocation"
HALF = {"slashing.fraction_bps": 5000}
WINDOW_SLOTS = 50
"""The test chains' evidence window (50,000 ms) in 1-second slots."""


def new_chain(**params: int) -> TestChain:
    return GenesisBuilder(balances=BALANCES, validators=THREE, epoch_slots=E, params={**HALF, **params}).build()


def ledger(chain: TestChain, name: str) -> tuple[int, int]:
    led = bonds.ledger.get(chain.view(), acct(name))
    return (0, 0) if led is None else (led.active, led.unlocking_total)


def in_sets(chain: TestChain, name: str) -> bool:
    view = chain.view()
    return acct(name) in {v.account for v in (*session.validators.get(view), *session.queued.get(view))}


def epoch_now(chain: TestChain) -> int:
    return chain.slot // E


def pass_epochs(chain: TestChain, n: int) -> None:
    for _ in range(n):
        run_epoch(chain)
        start_epoch(chain)


def rotate(chain: TestChain, who: str, key: str) -> None:
    keys = keys_of(key)
    assert_ok(chain.submit(who, "session.set_keys", keys, proof(key, who, keys)))


# --- finding 2: no escape by leaving -------------------------------------------------------------------------


def test_a_validator_that_equivocated_deregistered_and_unbonded_is_slashed_from_its_unlocking_funds() -> None:
    chain = new_chain()
    pass_epochs(chain, 1)
    target = epoch_now(chain)
    a, b = vote("bob", cp(target - 1), cp(target)), vote("bob", cp(target - 1), cp(target, fork=1))
    # bob leaves at once: deregistered, all of his bond unbonding
    assert_ok(chain.submit("bob", "bonds.deregister_validator"))
    assert_ok(chain.submit("bob", "bonds.unbond", 10 * UNIT))
    unlock_at = next(e.unlock_at_ms for e in chain.events() if isinstance(e, bond_events.Unbonded))
    assert ledger(chain, "bob") == (0, 10 * UNIT)
    pass_epochs(chain, 2)  # bob has left both sets
    assert not in_sets(chain, "bob") and not bonds.validators.contains(chain.view(), acct("bob"))
    assert chain.slot - target * E < WINDOW_SLOTS  # the offence is inside the window
    charlie0 = chain.account("charlie").free
    out = chain.submit("charlie", VOTES, *enc(a, b))
    assert_ok(out)  # before issue 49: NotAValidator, and bob walked away with his bond
    assert_last_event(chain, events.Slashed(acct("bob"), 45 * UNIT // 10, 5 * UNIT // 10, DOUBLE_VOTE))
    assert chain.account("charlie").free == charlie0 - out.fee + 5 * UNIT // 10
    assert ledger(chain, "bob") == (0, 5 * UNIT) and chain.account("bob").reserved == 5 * UNIT
    # the withdrawal releases only what is left, once the chunk matures
    assert_noop(chain, "bob", "bonds.withdraw_unbonded", error="NothingToWithdraw")
    chain.advance_time(unlock_at - 1_000_000 - (chain.slot + 1) * 1000 + 1)
    free = chain.account("bob").free
    out = chain.submit("bob", "bonds.withdraw_unbonded")
    assert_ok(out)
    assert_last_event(chain, bond_events.Withdrawn(acct("bob"), 5 * UNIT))
    assert chain.account("bob").free == free - out.fee + 5 * UNIT
    assert chain.account("bob").reserved == 0 and bonds.ledger.get(chain.view(), acct("bob")) is None


def test_a_leaver_slashed_in_full_loses_the_active_bond_first_then_every_unlocking_chunk() -> None:
    chain = new_chain(**{"slashing.fraction_bps": 10_000})
    assert_ok(chain.submit("bob", "bonds.bond_extra", 10 * UNIT))  # 20 bonded
    h1, h2 = header("bob", slot=chain.slot, root=1), header("bob", slot=chain.slot, root=2)
    assert_ok(chain.submit("bob", "bonds.unbond", 6 * UNIT))
    assert_ok(chain.submit("bob", "bonds.unbond", 4 * UNIT))  # active 10 (above the minimum), two chunks
    assert_ok(chain.submit("bob", "bonds.deregister_validator"))
    pass_epochs(chain, 2)
    assert not in_sets(chain, "bob")
    assert_ok(chain.submit("charlie", BLOCK, *enc(h1, h2)))
    assert_last_event(chain, events.Slashed(acct("bob"), 18 * UNIT, 2 * UNIT, BLOCK_EQUIVOCATION))
    assert bonds.ledger.get(chain.view(), acct("bob")) is None and chain.account("bob").reserved == 0
    assert_noop(chain, "bob", "bonds.withdraw_unbonded", error="NotBonded")


def test_an_offender_only_in_the_queued_set_is_slashed_and_leaves_it() -> None:
    chain = new_chain(**{"slashing.fraction_bps": 10_000})
    assert_ok(chain.submit("dave", "bonds.bond", 10 * UNIT))
    assert_ok(chain.submit("dave", "bonds.register_validator",
                              *registration("dave", "dave", test_commitment("dave"))))
    pass_epochs(chain, 1)
    view = chain.view()
    assert acct("dave") in {v.account for v in session.queued.get(view)}
    assert acct("dave") not in {v.account for v in session.validators.get(view)}
    h1, h2 = header("dave", slot=chain.slot, root=1), header("dave", slot=chain.slot, root=2)
    assert_ok(chain.submit("charlie", BLOCK, *enc(h1, h2)))
    assert not in_sets(chain, "dave") and not bonds.validators.contains(chain.view(), acct("dave"))
    assert events.ValidatorRemoved(acct("dave")) not in chain.events()  # it was in no active set to leave
    assert session.key_owner.get(chain.view(), acct("dave")) == acct("dave")  # the slash deregistered it: recorded


def test_an_offence_older_than_the_evidence_window_is_refused_and_one_just_inside_it_is_punished() -> None:
    chain = new_chain()
    slot = chain.slot + 1
    h1, h2 = header("bob", slot=slot, root=1), header("bob", slot=slot, root=2)
    while chain.slot < slot + WINDOW_SLOTS - 1:
        chain.run_block([])
    inside = chain.fork()
    chain.run_block([])  # the next block is at slot + WINDOW_SLOTS + 1
    assert_noop(chain, "charlie", BLOCK, *enc(h1, h2), error="OffenceTooOld")
    assert_ok(inside.submit("charlie", BLOCK, *enc(h1, h2)))  # its block is at slot + WINDOW_SLOTS: age = window
    assert inside.slot == slot + WINDOW_SLOTS


def test_a_vote_offence_counts_from_its_later_target_epochs_first_slot() -> None:
    chain = new_chain()
    outer, inner = vote("bob", cp(0), cp(3)), vote("bob", cp(1), cp(2))
    # the offence is at epoch 3's first slot (60); at slot 110 it is exactly one window old
    while chain.slot < 3 * E + WINDOW_SLOTS - 1:
        chain.run_block([])
    inside = chain.fork()
    assert_ok(inside.submit("charlie", VOTES, *enc(outer, inner)))
    assert_last_event(inside, events.Slashed(acct("bob"), 45 * UNIT // 10, 5 * UNIT // 10, SURROUND_VOTE))
    chain.run_block([])
    assert_noop(chain, "charlie", VOTES, *enc(outer, inner), error="OffenceTooOld")


def test_a_key_nobody_ever_used_is_refused_and_an_account_slashed_to_nothing_has_nothing_left() -> None:
    chain = new_chain()
    # dave registered no key: his dev key signed for no account on this chain
    h1, h2 = header("dave", slot=chain.slot, root=1), header("dave", slot=chain.slot, root=2)
    assert_noop(chain, "charlie", BLOCK, *enc(h1, h2), error="NotAValidator")
    # bob slashed in full once has nothing left for his next offence
    full = new_chain(**{"slashing.fraction_bps": 10_000})
    assert_ok(full.submit("charlie", BLOCK, *enc(header("bob", slot=1, root=1), header("bob", slot=1, root=2))))
    assert_noop(full, "charlie", BLOCK, *enc(header("bob", slot=2, root=1), header("bob", slot=2, root=2)),
                error="NothingToSlash")


# --- finding 1: one account, two keys -------------------------------------------------------------------------


def test_a_double_vote_across_a_validators_old_and_new_key_is_one_offence_of_its_account() -> None:
    chain = new_chain()
    rotate(chain, "alice", "ferdie")
    pass_epochs(chain, 2)  # the new key signs from here; the old one no more
    target = epoch_now(chain)
    old = vote("alice", cp(target - 1), cp(target))  # on a fork where the rotation was never included
    new = vote("ferdie", cp(target - 1), cp(target, fork=1))
    before = ledger(chain, "alice")
    assert_ok(chain.submit("bob", VOTES, *enc(old, new)))
    assert_last_event(chain, events.Slashed(acct("alice"), 45 * UNIT // 10, 5 * UNIT // 10, DOUBLE_VOTE))
    assert ledger(chain, "alice") == (before[0] - 5 * UNIT, 0)
    assert evidence.offences.contains(chain.view(), evidence.offence_key(acct("alice"), DOUBLE_VOTE, target))
    # the same offence with another pair of alice's keys, or the same keys swapped, is the same offence
    again = vote("alice", cp(target - 1), cp(target, fork=2))
    assert_noop(chain, "bob", VOTES, *enc(old, again), error="DuplicateReport")
    assert_noop(chain, "bob", VOTES, *enc(new, old), error="DuplicateReport")
    assert_noop(chain, "bob", VOTES, *enc(vote("ferdie", cp(target - 1), cp(target, fork=2)), new),
                error="DuplicateReport")
    # a surround vote across the two keys at the same epoch is another kind of offence
    outer, inner = vote("alice", cp(0), cp(target + 1)), vote("ferdie", cp(1), cp(target))
    assert_ok(chain.submit("bob", VOTES, *enc(outer, inner)))
    assert_last_event(chain, events.Slashed(acct("alice"), 225 * UNIT // 100, 25 * UNIT // 100, SURROUND_VOTE))


def test_two_blocks_for_one_slot_sealed_by_the_old_and_the_new_key_are_one_offence() -> None:
    chain = new_chain()
    rotate(chain, "bob", "eve")
    slot = chain.slot
    assert_ok(chain.submit("charlie", BLOCK, *enc(header("bob", slot=slot, root=1), header("eve", slot=slot, root=2))))
    assert_last_event(chain, events.Slashed(acct("bob"), 45 * UNIT // 10, 5 * UNIT // 10, BLOCK_EQUIVOCATION))
    assert_noop(chain, "charlie", BLOCK, *enc(header("eve", slot=slot, root=3), header("eve", slot=slot, root=4)),
                error="DuplicateReport")


def test_keys_of_two_different_accounts_are_refused_even_after_rotations() -> None:
    chain = new_chain()
    rotate(chain, "alice", "ferdie")
    pass_epochs(chain, 2)
    target = epoch_now(chain)
    a, b = vote("ferdie", cp(target - 1), cp(target)), vote("bob", cp(target - 1), cp(target, fork=1))
    assert_noop(chain, "charlie", VOTES, *enc(a, b), error="different accounts")
    assert_noop(chain, "charlie", BLOCK, *enc(header("ferdie", root=1), header("bob", root=2)),
                error="different accounts")


def test_a_report_spec_11_recorded_under_a_session_key_still_counts_after_the_migration() -> None:
    chain = new_chain()
    rotate(chain, "alice", "ferdie")
    slot = chain.slot
    # what spec 11's evidence module wrote: the offence keyed by the signing session key
    view = chain.view()
    REPORTS_V0.put(view, evidence.offence_key(acct("ferdie"), BLOCK_EQUIVOCATION, slot), chain.number)
    put_storage_version(view, "evidence", 0)
    assert reports_by_account(view, b"", 10) == (None, 1)
    chain.backend.apply(view.changes())
    assert evidence.offences.contains(chain.view(), evidence.offence_key(acct("alice"), BLOCK_EQUIVOCATION, slot))
    h1, h2 = header("ferdie", slot=slot, root=1), header("alice", slot=slot, root=2)
    assert_noop(chain, "charlie", BLOCK, *enc(h1, h2), error="DuplicateReport")


# --- key ownership: permanent and exclusive ---------------------------------------------------------------------


def test_every_key_an_account_used_is_recorded_as_its_own() -> None:
    chain = new_chain()
    view = chain.view()
    # genesis keys are written at genesis (spec 12; a spec-11 chain's by the session migration)
    assert session.key_owner.get(view, acct("bob")) == acct("bob")
    assert session.owner_of_key(view, acct("bob")) == acct("bob")
    assert session.owner_of_key(view, acct("eve")) is None
    assert_ok(chain.submit("dave", "bonds.bond", 10 * UNIT))
    assert_ok(chain.submit("dave", "bonds.register_validator",
                              *registration("eve", "dave", test_commitment("eve"))))
    assert session.key_owner.get(chain.view(), acct("eve")) == acct("dave")  # at registration
    assert_ok(chain.submit("bob", "bonds.deregister_validator"))
    assert session.key_owner.get(chain.view(), acct("bob")) == acct("bob")  # at deregistration
    rotate(chain, "charlie", "ferdie")
    assert session.key_owner.get(chain.view(), acct("charlie")) == acct("charlie")  # the old key at set_keys
    assert session.key_owner.get(chain.view(), acct("ferdie")) == acct("charlie")  # and the new one


def test_the_session_migration_records_the_keys_spec_11_found_through_sets_and_registrations() -> None:
    chain = new_chain()
    view = chain.view()
    reg = bonds.validators.get(view, acct("bob"))
    assert reg is not None
    # as spec 11 left a chain: genesis keys and a fresh registration with no record
    session.key_owner.remove(view, acct("bob"))
    bonds.validators.put(view, acct("dave"), reg.replace(session_key=acct("eve"), payee=acct("dave")))
    assert session.owner_of_key(view, acct("eve")) is None
    assert record_every_owner(view, b"", 1) == (b"\x01", 1)  # one key per step: more are left
    assert record_every_owner(view, b"\x01", 100) == (None, 1)
    assert session.owner_of_key(view, acct("eve")) == acct("dave")
    assert session.owner_of_key(view, acct("bob")) == acct("bob")
    assert record_every_owner(view, b"", 100) == (None, 0)  # nothing left: done


def test_a_key_another_account_ever_used_is_never_registered_or_set_and_nothing_changes() -> None:
    chain = new_chain()
    assert_ok(chain.submit("bob", "bonds.deregister_validator"))
    pass_epochs(chain, 2)  # bob's key has left every set and registration: only its record remains
    assert not in_sets(chain, "bob")
    assert_ok(chain.submit("dave", "bonds.bond", 10 * UNIT))
    # with the key's own proof for dave (its holder lets him): still refused
    assert_noop(chain, "dave", "bonds.register_validator", *registration("bob", "dave", test_commitment("bob")),
                error="SessionKeyTaken")
    bob = keys_of("bob")
    assert_noop(chain, "alice", "session.set_keys", bob, proof("bob", "alice", bob), error="SessionKeyTaken")
    # alice's own old key, once no set carries it, is hers to take back
    rotate(chain, "alice", "ferdie")
    alice = keys_of("alice")
    assert_noop(chain, "alice", "session.set_keys", alice, proof("alice", "alice", alice), error="SessionKeyInUse")
    pass_epochs(chain, 2)
    again = SessionKeys(acct("alice"), test_rotation_commitment("alice", 1))  # the key's next hash chain
    assert_ok(chain.submit("alice", "session.set_keys", again, proof("alice", "alice", again)))
    # and bob, registering again, may take his own old key back too
    assert_ok(chain.submit("bob", "bonds.register_validator",
                              *registration("bob", "bob", test_rotation_commitment("bob", 1))))
    # while ferdie stays alice's for good, also once no set carries it
    pass_epochs(chain, 2)
    assert_noop(chain, "dave", "bonds.register_validator",
                *registration("ferdie", "dave", test_commitment("ferdie")), error="SessionKeyTaken")


def test_a_rotation_within_one_epoch_still_records_every_key_it_touched() -> None:
    chain = new_chain()
    rotate(chain, "alice", "ferdie")
    rotate(chain, "alice", "eve")  # ferdie was never carried by a set, yet it signed for alice (on some fork)
    view = chain.view()
    assert session.owner_of_key(view, acct("ferdie")) == acct("alice")
    keys = SessionKeys(acct("ferdie"), test_commitment("ferdie"))
    assert_noop(chain, "bob", "session.set_keys", keys, proof("ferdie", "bob", keys), error="SessionKeyTaken")
