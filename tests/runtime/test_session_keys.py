"""session.set_keys (issue 43, item 2): a validator's block and vote signing key is separate from its stash and moves
without touching its bond.

The new key is carried by the set queued at the next epoch's start, so it leads slots and votes from the epoch after
that, exactly when the old key stops; before, the old one does. Attacks: a key nobody proves to hold (taking another
node's freshly rotated key, or a proof made for another account), a key another validator uses (also one leaving
the sets), a non-validator, the same keys again: each is refused and changes nothing.
"""

from __future__ import annotations

from runtime.bonds import storage as bonds
from runtime.bonds.logic import bonded
from runtime.consensus import logic
from runtime.consensus import storage as consensus
from runtime.evidence import events as evidence_events
from runtime.session import events
from runtime.session import storage as session
from runtime.session.types import SessionKeys
from tests.runtime.test_session_rotation import E, new_chain, report_equivocation, run_epoch, start_epoch
from tests.support.runtime_builder import (
    TestChain,
    acct,
    assert_last_event,
    assert_noop,
    assert_ok,
    test_commitment,
)
from tests.support.session_proof import possession_proof


def keys_of(name: str) -> SessionKeys:
    """The dev key `name` as session keys, with its hash chain's first commitment (test chains' chains)."""
    return SessionKeys(acct(name), test_commitment(name))


def proof(key_name: str, owner: str, keys: SessionKeys) -> bytes:
    """Dev key `key_name`'s proof that `owner` may use `keys` (by another key than theirs, if it is not keys')."""
    return possession_proof(key_name, owner, keys.hash_chain_commitment, keys.session_key)


def leader_keys(chain: TestChain, epoch: int) -> set[bytes]:
    view = chain.view()
    return {k for k in (logic.leader_of_slot(view, s) for s in range(epoch * E, (epoch + 1) * E)) if k is not None}


def test_a_validators_new_key_signs_from_the_epoch_after_next_and_the_old_one_stops_there() -> None:
    chain = new_chain()
    keys = keys_of("ferdie")  # a key of its own: here a dev key nobody uses
    bond0 = bonds.ledger.get(chain.view(), acct("alice"))
    assert_ok(chain.submit("alice", "session.set_keys", keys, proof("ferdie", "alice", keys)))
    epoch = chain.slot // E
    assert_last_event(chain, events.SessionKeysSet(acct("alice"), acct("ferdie"), epoch + 2))
    assert bonds.validators.get(chain.view(), acct("alice")).session_key == acct("ferdie")  # type: ignore[union-attr]
    assert bonds.ledger.get(chain.view(), acct("alice")) == bond0  # the stash and its bond are untouched
    # this epoch and the next: the old key leads and votes (the next epoch's set was queued already)
    run_epoch(chain)
    start_epoch(chain)
    assert acct("alice") in {v.session_key for v in session.validators.get(chain.view())}
    assert acct("alice") in leader_keys(chain, epoch + 1) and acct("ferdie") not in leader_keys(chain, epoch + 1)
    queued = {v.account: v.session_key for v in session.queued.get(chain.view())}
    assert queued[acct("alice")] == acct("ferdie")  # the set of epoch + 2, which votes for its checkpoint
    run_epoch(chain)
    # from epoch + 2: the new key leads, the old one never again
    start_epoch(chain)
    active = {v.account: v.session_key for v in session.validators.get(chain.view())}
    assert active[acct("alice")] == acct("ferdie")
    assert acct("ferdie") in leader_keys(chain, epoch + 2) and acct("alice") not in leader_keys(chain, epoch + 2)
    authors = run_epoch(chain)
    assert "ferdie" in authors and "alice" not in authors  # blocks signed by the new key reveal its hash chain
    rs = consensus.reveals.get(chain.view(), acct("ferdie"))
    assert rs is not None and rs.count > 0
    # the reward payee is still the stash's
    assert {v.payee for v in session.validators.get(chain.view()) if v.account == acct("alice")} == {acct("alice")}


def test_keys_nobody_proves_to_hold_or_that_someone_uses_are_refused_and_nothing_changes() -> None:
    chain = new_chain()
    keys = keys_of("ferdie")
    # bob takes the key alice's node just made (public in her rotateKeys answer): he cannot sign for it
    assert_noop(chain, "bob", "session.set_keys", keys, proof("bob", "bob", keys), error="BadKeyProof")
    # nor reuse alice's proof: it names alice's account
    assert_noop(chain, "bob", "session.set_keys", keys, proof("ferdie", "alice", keys), error="BadKeyProof")
    # a proof of other keys (another commitment) does not cover these
    other = SessionKeys(keys.session_key, bytes(32))
    assert_noop(chain, "alice", "session.set_keys", keys, proof("ferdie", "alice", other), error="BadKeyProof")
    assert_noop(chain, "alice", "session.set_keys", keys, b"\x00" * 64, error="BadKeyProof")
    assert_noop(chain, "alice", "session.set_keys", keys, b"", error="BadKeyProof")
    # a key another validator signs with, even with its holder's proof
    bob = keys_of("bob")
    assert_noop(chain, "alice", "session.set_keys", bob, proof("bob", "alice", bob), error="SessionKeyInUse")
    # the keys it has already
    alice = keys_of("alice")
    assert_noop(chain, "alice", "session.set_keys", alice, proof("alice", "alice", alice), error="SameKeys")
    # an account that is no validator
    assert_noop(chain, "dave", "session.set_keys", keys, proof("ferdie", "dave", keys), error="NotAValidator")


def test_an_old_key_still_in_the_sets_is_no_one_elses_and_rotating_twice_keeps_the_last() -> None:
    chain = new_chain()
    ferdie, eve = keys_of("ferdie"), keys_of("eve")
    assert_ok(chain.submit("alice", "session.set_keys", ferdie, proof("ferdie", "alice", ferdie)))
    # alice's old key is still active and queued: nobody may take it, alice neither (it is no new key)
    old = keys_of("alice")
    assert_noop(chain, "bob", "session.set_keys", old, proof("alice", "bob", old), error="SessionKeyInUse")
    # a second rotation in the same epoch replaces the first before any set carries it
    assert_ok(chain.submit("alice", "session.set_keys", eve, proof("eve", "alice", eve)))
    run_epoch(chain)
    start_epoch(chain)
    queued = {v.account: v.session_key for v in session.queued.get(chain.view())}
    assert queued[acct("alice")] == acct("eve")
    # ferdie's key, registered for a moment and never carried by a set, stays alice's for good (what it may have
    # signed on a fork where that rotation was included stays hers): bob cannot take it, even with its holder's proof
    assert_noop(chain, "bob", "session.set_keys", ferdie, proof("ferdie", "bob", ferdie), error="SessionKeyTaken")
    assert session.key_owner.get(chain.view(), acct("ferdie")) == acct("alice")


def test_an_offence_signed_with_a_key_rotated_away_from_is_still_punished() -> None:
    chain = new_chain()
    keys = keys_of("ferdie")
    assert_ok(chain.submit("alice", "session.set_keys", keys, proof("ferdie", "alice", keys)))
    for _ in range(2):  # until the old key has left both sets
        run_epoch(chain)
        start_epoch(chain)
    assert acct("alice") not in {v.session_key for v in (*session.validators.get(chain.view()),
                                                         *session.queued.get(chain.view()))}
    bond0 = bonded(chain.view(), acct("alice"))
    report_equivocation(chain, "alice", reporter="bob")  # two blocks for one slot, sealed with alice's old key
    assert any(isinstance(e, evidence_events.Slashed) and e.validator == acct("alice") for e in chain.events())
    assert bonded(chain.view(), acct("alice")) < bond0
    assert session.key_owner.get(chain.view(), acct("alice")) == acct("alice")
