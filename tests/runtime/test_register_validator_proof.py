"""bonds.register_validator takes the session key's proof of possession from spec 17 on, as session.set_keys does.

Up to spec 16 any bonded account could register a key somebody else holds (one a validator announced, or rotated to
on another fork): the chain placed the key on whoever registered it first, and the real holder's registration was
refused from then on (SessionKeyTaken). From spec 17 the call carries the key's ed25519 signature of
"btt-session-keys" ++ the signer's account ++ the key ++ the commitment (`btt_sessionKeysProof`). Attacks: no proof,
a proof by another key, the key's proof for another account, for another commitment, a set_keys proof replayed for
another account: each refused (BadKeyProof), nothing changed but the fee, and the real holder registers the key
after. A spec-16 chain keeps the two-argument call; once it runs spec 17 that form is refused before any fee, naming
the missing proof, and the new form works.
"""

from __future__ import annotations

import pytest

from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from runtime.bonds import events
from runtime.bonds import storage as bonds
from runtime.bonds.errors import ERRORS, BadKeyProof
from runtime.context import EMERGENCY
from runtime.session import storage as session
from runtime.session.types import SessionKeys
from runtime.specs import running_spec
from tests.support.runtime_builder import (
    GENESIS_HASH,
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_last_event,
    assert_noop,
    assert_ok,
    test_commitment,
)
from tests.support.session_proof import possession_proof, registration

REGISTER = "bonds.register_validator"
BALANCES = {"alice": 1_000, "bob": 1_000, "charlie": 1_000, "dave": 1_000}
KEY = "ferdie"
"""The contested session key: a dev key no account of the chain uses."""


def bonded_chain(spec: int | None = None) -> TestChain:
    """alice validates; bob and dave are bonded (the minimum validator bond), neither registered."""
    chain = GenesisBuilder(balances=BALANCES).build(spec)
    for who in ("bob", "dave"):
        assert_ok(chain.submit(who, "bonds.bond", 10 * UNIT))
    return chain


def attacks(owner: str, thief: str) -> dict[str, tuple[bytes, bytes, bytes]]:
    """`thief`'s register_validator arguments naming the key `owner`'s node holds, each without a valid proof."""
    key, commitment = acct(KEY), test_commitment(KEY)
    other = test_commitment("eve")
    return {
        "no proof": (key, commitment, b""),
        "zeros": (key, commitment, bytes(64)),
        "a proof by another key": (key, commitment, possession_proof(thief, thief, commitment, key)),
        "the key's proof for another account": (key, commitment, possession_proof(KEY, owner, commitment)),
        "the key's proof for another commitment": (key, commitment, possession_proof(KEY, thief, other)),
        "another commitment with the key's proof": (key, other, possession_proof(KEY, thief, commitment)),
    }


def test_the_error_is_appended_to_the_bonds_errors() -> None:
    assert ERRORS[-1] is BadKeyProof and ERRORS.index(BadKeyProof) == 12


def test_nobody_registers_a_key_it_does_not_hold_and_the_holder_registers_it_after() -> None:
    """bob's node holds the key; bob announced it (his registration, included on another fork only). dave, bonded
    here, tries to take it every way a registration can name it: refused, nothing changed but the fee."""
    chain = bonded_chain()
    on_the_other_fork = chain.fork()
    assert_ok(on_the_other_fork.submit("bob", REGISTER, *registration(KEY, "bob", test_commitment(KEY))))
    for why, args in attacks("bob", "dave").items():
        out = assert_noop(chain, "dave", REGISTER, *args, error="BadKeyProof")
        assert "bonds" in (out.error or ""), why
    view = chain.view()
    assert not bonds.validators.contains(view, acct("dave")) and session.owner_of_key(view, acct(KEY)) is None
    # the real holder registers it
    assert_ok(chain.submit("bob", REGISTER, *registration(KEY, "bob", test_commitment(KEY))))
    assert_last_event(chain, events.ValidatorRegistered(acct("bob"), acct(KEY)))
    reg = bonds.validators.get(chain.view(), acct("bob"))
    assert reg is not None and (reg.session_key, reg.hash_chain_commitment) == (acct(KEY), test_commitment(KEY))
    assert session.owner_of_key(chain.view(), acct(KEY)) == acct("bob")


def test_a_set_keys_proof_is_no_registration_for_another_account() -> None:
    """alice rotates to the key on one fork (session.set_keys, with the key's proof for alice). On the other, dave
    replays that proof in his registration: refused. alice's rotation still lands there."""
    chain = bonded_chain()
    keys = SessionKeys(acct(KEY), test_commitment(KEY))
    set_keys_proof = possession_proof(KEY, "alice", keys.hash_chain_commitment)
    fork_a = chain.fork()
    assert_ok(fork_a.submit("alice", "session.set_keys", keys, set_keys_proof))
    assert_noop(chain, "dave", REGISTER, keys.session_key, keys.hash_chain_commitment, set_keys_proof,
                error="BadKeyProof")
    assert session.owner_of_key(chain.view(), acct(KEY)) is None
    assert_ok(chain.submit("alice", "session.set_keys", keys, set_keys_proof))
    assert session.owner_of_key(chain.view(), acct(KEY)) == acct("alice")
    # even with the key's own proof for dave (a holder that lets two accounts use it), the key is alice's now
    assert_noop(chain, "dave", REGISTER, *registration(KEY, "dave", test_commitment(KEY)), error="SessionKeyInUse")


def test_the_proof_is_checked_after_every_other_rule() -> None:
    """A bad proof is refused last (spec 17, as set_keys from spec 17): a dry run with a throwaway key's zero proof
    fails on the proof alone exactly when everything else would pass, so the CLI checks a registration with an
    extrinsic that could never register a key nobody holds, whoever submitted it."""
    chain = GenesisBuilder(balances=BALANCES).build()
    assert_noop(chain, "charlie", REGISTER, acct(KEY), test_commitment(KEY), b"", error="BelowMinimum")
    assert_noop(chain, "charlie", REGISTER, *registration(KEY, "charlie", test_commitment(KEY)), error="BelowMinimum")
    assert_ok(chain.submit("charlie", "bonds.bond", 10 * UNIT))
    assert_noop(chain, "charlie", REGISTER, acct(KEY), test_commitment(KEY), bytes(64), error="BadKeyProof")
    assert_noop(chain, "charlie", REGISTER, acct("alice"), test_commitment("alice"), bytes(64),
                error="SessionKeyInUse")  # alice's key: taken, whatever the proof
    assert_ok(chain.submit("charlie", REGISTER, *registration(KEY, "charlie", test_commitment(KEY))))
    keys = SessionKeys(acct("eve"), test_commitment("eve"))
    assert_noop(chain, "bob", "session.set_keys", keys, bytes(64), error="NotAValidator")  # set_keys alike
    assert_noop(chain, "charlie", "session.set_keys", keys, bytes(64), error="BadKeyProof")


def test_a_spec_16_chain_takes_the_old_call_and_after_the_upgrade_only_the_new_one() -> None:
    chain = bonded_chain(16)
    assert chain.runtime.spec_version == 16
    # spec 16: two arguments, no proof (dave takes eve's key, which he does not hold: the old rule)
    with pytest.raises(InvalidExtrinsic, match="takes 2 arguments"):
        chain.sign("bob", REGISTER, *registration(KEY, "bob", test_commitment(KEY)))
    assert_ok(chain.submit("dave", REGISTER, acct("eve"), test_commitment("eve")))
    assert session.owner_of_key(chain.view(), acct("eve")) == acct("dave")
    chain.dispatch(EMERGENCY, "system.schedule_spec", 17, chain.number + 2)
    while running_spec(chain.view()) != 17:
        chain.run_block([])
    assert chain.runtime.spec_version == 17
    # the old form, signed for spec 17: refused before any fee, naming the missing proof
    bob = chain.account("bob")
    old = sign_extrinsic(dev_keypair("bob"), Call(7, 5, acct(KEY) + test_commitment(KEY)), bob.nonce, GENESIS_HASH,
                         17)
    ex = chain.begin_block()
    with pytest.raises(InvalidExtrinsic, match="register_validator argument proof"):
        chain.executive.apply_extrinsic(ex, old, len(old.encode()))
    chain.end_block()
    assert chain.account("bob") == bob and not bonds.validators.contains(chain.view(), acct("bob"))
    with pytest.raises(InvalidExtrinsic, match="takes 3 arguments"):
        chain.sign("bob", REGISTER, acct(KEY), test_commitment(KEY))
    assert_noop(chain, "bob", REGISTER, acct(KEY), test_commitment(KEY), b"", error="BadKeyProof")
    assert_ok(chain.submit("bob", REGISTER, *registration(KEY, "bob", test_commitment(KEY))))
    last = [e for e in chain.events() if e.MODULE == "bonds"][-1]  # spec 17's own class (runtime.specs.spec17)
    assert (type(last).__name__, last.who, last.session_key) == ("ValidatorRegistered", acct("bob"), acct(KEY))
    # what spec 16 registered stays as it was
    assert session.owner_of_key(chain.view(), acct("eve")) == acct("dave")
