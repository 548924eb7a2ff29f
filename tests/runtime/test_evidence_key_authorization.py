"""Key authorizations (issue 49, finding 1 with a key this chain never saw).

A coalition can have its `session.set_keys` included on one fork only; on the other fork the new key has no owner.
The rotation's own signed extrinsic, carried as a key authorization, pins the new key on the account that signed it.
The pure check (`btt_chain.primitives.key_authorization`) is attacked with every forgery it must refuse (a bad
signature, another chain's genesis, another call, a tampered birth hash or version, a bad ownership proof, bytes
that do not decode strictly), and the evidence module's calls 2 and 3 are attacked on a test chain: a forged
authorization, one naming a key the evidence does not hold, authorizations by two accounts, one by another account:
each refused, nothing changed but the fee.
"""

from __future__ import annotations

import pytest

from btt_chain.primitives.codec import Struct
from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic
from btt_chain.primitives.evidence import BLOCK_EQUIVOCATION, DOUBLE_VOTE
from btt_chain.primitives.extrinsic import TRANSACTION_VERSION, Call, Era, Extrinsic, sign_extrinsic
from btt_chain.primitives.key_authorization import (
    REGISTER_PROOF_SPEC,
    KeyAuthorization,
    decode_key_authorization,
    key_authorization_problem,
    named_key,
)
from btt_chain.primitives.keys import dev_keypair
from runtime.bonds import storage as bonds
from runtime.evidence import events
from runtime.modules import RUNTIME
from runtime.session import storage as session
from runtime.session.types import SessionKeys
from tests.runtime.test_evidence import cp, enc, header, vote
from tests.runtime.test_evidence_accounts import ledger, new_chain
from tests.runtime.test_session_keys import keys_of, proof
from tests.support.runtime_builder import (
    GENESIS_HASH,
    UNIT,
    TestChain,
    acct,
    assert_last_event,
    assert_noop,
    assert_ok,
    test_commitment,
)
from tests.support.session_proof import possession_proof, registration

BLOCK_WITH_KEYS = "evidence.report_block_equivocation_with_keys"
VOTES_WITH_KEYS = "evidence.report_vote_equivocation_with_keys"
VOTES = "evidence.report_vote_equivocation"
OTHER_GENESIS = b"\x43" * 32


def set_keys_xt(who: str, key: str, nonce: int = 0, genesis: bytes = GENESIS_HASH, proof_by: str | None = None,
                proof_for: str | None = None, era: Era | None = None, birth: bytes | None = None) -> Extrinsic:
    """`who`'s signed set_keys naming dev key `key`, with a proof by `proof_by` (default: the key) for `proof_for`
    (default: `who`)."""
    keys = keys_of(key)
    call = RUNTIME.call("session.set_keys", keys, proof(proof_by or key, proof_for or who, keys))
    return sign_extrinsic(dev_keypair(who), call, nonce, genesis, RUNTIME.spec_version,
                          **({"era": era, "birth_hash": birth} if era is not None else {}))


def register_xt(who: str, key: str, nonce: int = 0, proof_by: str | None = None, proof_for: str | None = None,
                commitment: bytes | None = None) -> Extrinsic:
    """`who`'s signed register_validator naming dev key `key` (the live spec's form, with the proof by `proof_by`,
    default the key, for `proof_for`, default `who`, of commitment `commitment`, default the key's)."""
    own = test_commitment(key)
    proof = possession_proof(proof_by or key, proof_for or who, commitment or own, acct(key))
    call = RUNTIME.call("bonds.register_validator", acct(key), own, proof)
    return sign_extrinsic(dev_keypair(who), call, nonce, GENESIS_HASH, RUNTIME.spec_version)


def old_register_xt(who: str, key: str, spec: int = REGISTER_PROOF_SPEC - 1) -> Extrinsic:
    """`who`'s signed register_validator naming dev key `key` in the form before spec 17 (no proof), signed for
    `spec`."""
    return sign_extrinsic(dev_keypair(who), Call(7, 5, acct(key) + test_commitment(key)), 0, GENESIS_HASH, spec)


def authorization(xt: Extrinsic, birth: bytes = GENESIS_HASH, spec: int | None = None,
                  tx: int = TRANSACTION_VERSION) -> KeyAuthorization:
    return KeyAuthorization(xt, birth, RUNTIME.spec_version if spec is None else spec, tx)


# --- the pure check -------------------------------------------------------------------------------------------


def test_a_signed_set_keys_or_register_validator_names_its_key_and_its_signer() -> None:
    for xt, key in ((set_keys_xt("alice", "ferdie"), "ferdie"), (register_xt("dave", "eve"), "eve")):
        auth = authorization(xt)
        assert key_authorization_problem(auth, GENESIS_HASH) is None
        assert auth.session_key == acct(key) and auth.account == xt.signer
        again = decode_key_authorization(auth.encode())  # strict SCALE, both ways
        assert again == auth and key_authorization_problem(again, GENESIS_HASH) is None


def test_a_mortal_extrinsic_is_checked_against_the_birth_block_it_names() -> None:
    birth = b"\x07" * 32
    xt = set_keys_xt("alice", "ferdie", era=Era.mortal(64, 100), birth=birth)
    assert key_authorization_problem(authorization(xt, birth=birth), GENESIS_HASH) is None
    assert "does not verify" in str(key_authorization_problem(authorization(xt), GENESIS_HASH))


@pytest.mark.parametrize(
    "forge, why",
    [
        (lambda: authorization(set_keys_xt("alice", "ferdie")), None),
        (lambda: authorization(set_keys_xt("alice", "ferdie", genesis=OTHER_GENESIS), birth=OTHER_GENESIS),
         "does not verify"),  # another chain's: its payload committed to that chain's genesis hash
        (lambda: authorization(set_keys_xt("alice", "ferdie"), birth=b"\x01" * 32), "does not verify"),
        (lambda: authorization(set_keys_xt("alice", "ferdie"), spec=RUNTIME.spec_version + 1), "does not verify"),
        (lambda: authorization(set_keys_xt("alice", "ferdie"), tx=TRANSACTION_VERSION + 1), "does not verify"),
        (lambda: authorization(_resigned_by_another(set_keys_xt("alice", "ferdie"))), "does not verify"),
        (lambda: authorization(set_keys_xt("alice", "ferdie", proof_by="eve")), "set_keys proof"),
        (lambda: authorization(set_keys_xt("alice", "ferdie", proof_for="bob")), "set_keys proof"),
        (lambda: authorization(_signed(Call(1, 0, acct("bob") + b"\x04"))), "names no session key"),
        (lambda: authorization(_signed(Call(3, 0, set_keys_xt("alice", "ferdie").call.args + b"\x00"))),
         "names no session key"),  # one byte too many after the proof
        (lambda: authorization(_signed(Call(7, 5, acct("eve")))), "names no session key"),  # too short
        (lambda: authorization(_signed(Call(7, 6, b""))), "names no session key"),  # deregister names no key
    ],
)
def test_every_forgery_is_refused(forge, why) -> None:  # type: ignore[no-untyped-def]
    problem = key_authorization_problem(forge(), GENESIS_HASH)
    assert (problem is None) if why is None else (problem is not None and why in problem), problem


def _signed(call: Call, who: str = "alice") -> Extrinsic:
    return sign_extrinsic(dev_keypair(who), call, 0, GENESIS_HASH, RUNTIME.spec_version)


def _resigned_by_another(xt: Extrinsic) -> Extrinsic:
    """alice's extrinsic with bob's signature of it (a valid signature, but not the signer's)."""
    other = sign_extrinsic(dev_keypair("bob"), xt.call, xt.nonce, GENESIS_HASH, RUNTIME.spec_version)
    return Extrinsic(xt.signer, xt.nonce, xt.tip, xt.era, xt.call, other.signature, xt.scheme)


def test_an_authorization_decodes_strictly() -> None:
    raw = authorization(set_keys_xt("alice", "ferdie")).encode()
    for bad in (raw + b"\x00", raw[:-1], b"", bytes(600)):
        with pytest.raises(DecodeError):
            decode_key_authorization(bad)
    assert issubclass(KeyAuthorization, Struct)
    with pytest.raises(DecodeError):
        named_key(Call(3, 0, keys_of("ferdie").encode() + b"\x41" + bytes(16)), REGISTER_PROOF_SPEC)  # proof > 64


def test_a_register_validator_authorization_carries_the_proof_from_spec_17_on() -> None:
    """The form is the one of the spec the authorization was signed for (its signature commits to it): before spec
    17 register_validator carries no proof (old forks' authorizations still check, as claims without a proof of
    possession); from 17 on it carries the key's proof for its signer, checked as set_keys' is."""
    old = authorization(old_register_xt("dave", "eve"), spec=REGISTER_PROOF_SPEC - 1)
    assert key_authorization_problem(old, GENESIS_HASH) is None
    assert old.session_key == acct("eve") and old.named_key().proof is None
    assert decode_key_authorization(old.encode()) == old
    new = authorization(register_xt("dave", "eve"))
    assert new.spec_version >= REGISTER_PROOF_SPEC and key_authorization_problem(new, GENESIS_HASH) is None
    assert new.session_key == acct("eve") and new.named_key().proof == new.extrinsic.call.args[66:]
    # each form under the other's spec names no key
    no_proof = authorization(old_register_xt("dave", "eve", spec=REGISTER_PROOF_SPEC), spec=REGISTER_PROOF_SPEC)
    assert "names no session key" in str(key_authorization_problem(no_proof, GENESIS_HASH))
    assert no_proof.session_key is None
    spec16 = REGISTER_PROOF_SPEC - 1
    with_proof = authorization(sign_extrinsic(dev_keypair("dave"), new.extrinsic.call, 0, GENESIS_HASH, spec16),
                               spec=spec16)
    assert "names no session key" in str(key_authorization_problem(with_proof, GENESIS_HASH))
    with pytest.raises(DecodeError):
        named_key(old.extrinsic.call, REGISTER_PROOF_SPEC)
    with pytest.raises(DecodeError):
        named_key(new.extrinsic.call, spec16)
    # judged under a spec before 17 (a spec-16 chain's evidence), every register_validator is read in the old form,
    # whatever spec its signer wrote: every release running spec 16 gives the verdict spec 16's release gave
    assert key_authorization_problem(old, GENESIS_HASH, spec16) is None
    assert "names no session key" in str(key_authorization_problem(new, GENESIS_HASH, spec16))
    assert key_authorization_problem(new, GENESIS_HASH, REGISTER_PROOF_SPEC) is None
    assert key_authorization_problem(old, GENESIS_HASH, REGISTER_PROOF_SPEC + 1) is None  # signed for 16: still read


@pytest.mark.parametrize(
    "forge",
    [
        lambda: register_xt("dave", "eve", proof_by="ferdie"),  # another key's signature
        lambda: register_xt("dave", "eve", proof_for="alice"),  # the key's proof for another account
        lambda: register_xt("dave", "eve", commitment=test_commitment("ferdie")),  # ... for another commitment
        lambda: _signed(RUNTIME.call("bonds.register_validator", acct("eve"), test_commitment("eve"), b""), "dave"),
        lambda: _signed(RUNTIME.call("bonds.register_validator", acct("eve"), test_commitment("eve"), bytes(64)),
                        "dave"),
        # alice's set_keys proof for the key, replayed in dave's registration
        lambda: _signed(RUNTIME.call("bonds.register_validator", acct("eve"), test_commitment("eve"),
                                     set_keys_xt("alice", "eve").call.args[66:]), "dave"),
    ],
)
def test_a_spec_17_register_validator_authorization_without_a_valid_proof_is_refused(forge) -> None:  # type: ignore[no-untyped-def]
    auth = authorization(forge())
    assert auth.spec_version >= REGISTER_PROOF_SPEC and auth.session_key == acct("eve")
    problem = key_authorization_problem(auth, GENESIS_HASH)
    assert problem is not None and "register_validator proof" in problem, problem


# --- on a test chain: finding 1 with a key this chain never saw -----------------------------------------------


def forked_rotation(chain: TestChain, who: str = "alice", key: str = "ferdie") -> tuple[TestChain, bytes]:
    """Fork A includes `who`'s rotation to `key`; `chain` (fork B) never sees it. The rotation's extrinsic as a key
    authorization."""
    fork_a = chain.fork()
    xt = set_keys_xt(who, key, nonce=fork_a.account(who).nonce)
    fork_a.run_block([xt])
    assert fork_a.transaction_outcomes()[0].success
    assert session.owner_of_key(fork_a.view(), acct(key)) == acct(who)
    return fork_a, authorization(xt).encode()


def test_a_double_vote_with_a_key_rotated_on_the_other_fork_only_is_slashed_with_its_authorization() -> None:
    chain = new_chain()
    _, auth = forked_rotation(chain)
    assert session.owner_of_key(chain.view(), acct("ferdie")) is None  # fork B never saw the rotation
    on_b = vote("alice", cp(0), cp(1))  # alice's old key, on fork B
    on_a = vote("ferdie", cp(0), cp(1, fork=1))  # her new key, on fork A
    assert_noop(chain, "bob", VOTES, *enc(on_b, on_a), error="NotAValidator")  # the chain alone cannot place it
    before = ledger(chain, "alice")
    assert_ok(chain.submit("bob", VOTES_WITH_KEYS, *enc(on_b, on_a), (auth,)))
    assert_last_event(chain, events.Slashed(acct("alice"), 45 * UNIT // 10, 5 * UNIT // 10, DOUBLE_VOTE))
    assert ledger(chain, "alice") == (before[0] - 5 * UNIT, 0)
    # an authorization is no record: the key stays unowned here (nobody squats it by presenting one)
    assert session.key_owner.get(chain.view(), acct("ferdie")) is None
    # the same offence again, with the new key twice
    assert_noop(chain, "bob", VOTES_WITH_KEYS, *enc(on_a, vote("ferdie", cp(0), cp(1, fork=2))), (auth,),
                error="DuplicateReport")


def test_two_blocks_sealed_with_a_key_registered_on_the_other_fork_only_convict_its_registrant() -> None:
    chain = new_chain()
    assert_ok(chain.submit("dave", "bonds.bond", 10 * UNIT))  # bonded on both forks, a validator on neither here
    fork_a = chain.fork()
    xt = register_xt("dave", "eve", nonce=fork_a.account("dave").nonce)
    fork_a.run_block([xt])
    assert fork_a.transaction_outcomes()[0].success
    h1, h2 = header("eve", slot=chain.slot, root=1), header("eve", slot=chain.slot, root=2)
    assert_ok(chain.submit("charlie", BLOCK_WITH_KEYS, *enc(h1, h2), (authorization(xt).encode(),)))
    assert_last_event(chain, events.Slashed(acct("dave"), 45 * UNIT // 10, 5 * UNIT // 10, BLOCK_EQUIVOCATION))
    assert not bonds.validators.contains(chain.view(), acct("dave"))


def test_an_authorization_counts_even_where_another_account_claimed_the_key() -> None:
    """A key's holder can let two accounts use it (its proof for each; before spec 17 register_validator took no
    proof at all): on fork B, dave registers the key alice rotated to on fork A. The chain alone would now call the
    pair two accounts'; alice's own authorization still convicts alice (and only alice: an authorization never
    convicts anyone but its signer)."""
    chain = new_chain()
    _, auth = forked_rotation(chain)
    assert_ok(chain.submit("dave", "bonds.bond", 10 * UNIT))
    assert_ok(chain.submit("dave", "bonds.register_validator", *registration("ferdie", "dave",
                                                                             test_commitment("ferdie"))))
    on_b, on_a = vote("alice", cp(0), cp(1)), vote("ferdie", cp(0), cp(1, fork=1))
    assert_noop(chain, "bob", VOTES, *enc(on_b, on_a), error="different accounts")
    dave = ledger(chain, "dave")
    assert_ok(chain.submit("bob", VOTES_WITH_KEYS, *enc(on_b, on_a), (auth,)))
    assert_last_event(chain, events.Slashed(acct("alice"), 45 * UNIT // 10, 5 * UNIT // 10, DOUBLE_VOTE))
    assert ledger(chain, "dave") == dave


def test_forged_or_misused_authorizations_are_refused_and_change_nothing() -> None:
    chain = new_chain()
    _, auth = forked_rotation(chain)
    on_b, on_a = vote("alice", cp(0), cp(1)), vote("ferdie", cp(0), cp(1, fork=1))
    genuine = decode_key_authorization(auth)
    forged = {
        "bad signature": authorization(_resigned_by_another(genuine.extrinsic)),
        "another chain's genesis": authorization(set_keys_xt("alice", "ferdie", genesis=OTHER_GENESIS),
                                                 birth=OTHER_GENESIS),
        "another call": authorization(_signed(RUNTIME.call("balances.transfer_keep_alive", acct("bob"), UNIT))),
        "bad ownership proof": authorization(set_keys_xt("alice", "ferdie", proof_by="eve")),
    }
    for why, bad in forged.items():
        out = assert_noop(chain, "bob", VOTES_WITH_KEYS, *enc(on_b, on_a), (bad.encode(),),
                          error="BadKeyAuthorization")
        assert "authorization 0" in (out.error or ""), why
    assert_noop(chain, "bob", VOTES_WITH_KEYS, *enc(on_b, on_a), (auth + b"\x00",), error="does not decode")
    # a genuine authorization of a key that is not the one that signed
    eve = authorization(set_keys_xt("alice", "eve")).encode()
    assert_noop(chain, "bob", VOTES_WITH_KEYS, *enc(on_b, on_a), (eve,), error="signed no item here")
    # one key named twice; authorizations by two accounts
    assert_noop(chain, "bob", VOTES_WITH_KEYS, *enc(on_b, on_a), (auth, auth), error="two authorizations name")
    on_a2 = vote("eve", cp(0), cp(1, fork=2))
    bobs = authorization(set_keys_xt("bob", "eve")).encode()
    assert_noop(chain, "charlie", VOTES_WITH_KEYS, *enc(on_a, on_a2), (auth, bobs), error="by two accounts")
    # bob's own authorization of ferdie: ferdie would be bob's, alice's key is alice's: two accounts
    bob_ferdie = authorization(set_keys_xt("bob", "ferdie")).encode()
    assert_noop(chain, "charlie", VOTES_WITH_KEYS, *enc(on_b, on_a), (bob_ferdie,), error="different accounts")
    # more than two authorizations do not even make a call
    with pytest.raises(InvalidExtrinsic, match="over the limit of 2"):
        chain.sign("bob", VOTES_WITH_KEYS, *enc(on_b, on_a), (auth, auth, auth))


def test_an_authorizing_account_that_holds_nothing_has_nothing_to_slash() -> None:
    chain = new_chain()
    # eve, with no bond (nor balance) here, signs a registration of ferdie's key somewhere: she answers for it
    auth = authorization(register_xt("eve", "ferdie")).encode()
    h1, h2 = header("ferdie", slot=chain.slot, root=1), header("ferdie", slot=chain.slot, root=2)
    assert_noop(chain, "charlie", BLOCK_WITH_KEYS, *enc(h1, h2), (auth,), error="NothingToSlash")


def test_set_keys_through_the_runtime_checks_the_same_proof_as_an_authorization() -> None:
    """The runtime's SessionKeys.ownership_message and the authorization's check are one message."""
    keys = SessionKeys(acct("ferdie"), test_commitment("ferdie"))
    from btt_chain.primitives.key_authorization import session_keys_ownership_message

    assert keys.ownership_message(acct("alice")) == session_keys_ownership_message(
        acct("alice"), keys.session_key, keys.hash_chain_commitment
    )
