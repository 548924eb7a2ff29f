"""evidence: reports of block equivocation and double/surround votes slash the offender's bond, part to
the reporter and the rest burned; every invalid report fails and leaves state unchanged."""

from __future__ import annotations

import pytest

from btt_chain.primitives.block import Digest, Header
from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.evidence import BLOCK_EQUIVOCATION, DOUBLE_VOTE, SURROUND_VOTE
from btt_chain.primitives.hashing import EMPTY_MERKLE_ROOT, blake2b_256
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint, Vote, sign_vote
from runtime.balances import events as balance_events
from runtime.evidence import events
from runtime.evidence.errors import ERRORS
from runtime.evidence.events import EVENTS
from runtime.modules import RUNTIME
from runtime.session import storage as session
from runtime.system import storage as system
from tests.support.runtime_builder import (
    GENESIS_HASH,
    UNIT,
    GenesisBuilder,
    acct,
    assert_last_event,
    assert_noop,
    assert_ok,
)

BLOCK = "evidence.report_block_equivocation"
VOTES = "evidence.report_vote_equivocation"


def header(author: str = "bob", slot: int = 7, root: int = 1, number: int = 5, genesis: bytes = GENESIS_HASH) -> Header:
    pair = dev_keypair(author)
    return Header(
        parent_hash=b"\x09" * 32,
        number=number,
        slot=slot,
        timestamp_ms=1_000_000 + slot * 1000,
        state_root=bytes([root]) * 32,
        extrinsics_root=EMPTY_MERKLE_ROOT,
        receipts_root=EMPTY_MERKLE_ROOT,
        author=pair.public,
        digest=Digest(),
    ).sealed(pair, genesis)


def cp(epoch: int, fork: int = 0) -> Checkpoint:
    return Checkpoint(epoch, GENESIS_HASH if epoch == 0 else blake2b_256(b"cp/%d/%d" % (epoch, fork)))


def vote(who: str, source: Checkpoint, target: Checkpoint, genesis: bytes = GENESIS_HASH) -> Vote:
    return sign_vote(dev_keypair(who), genesis, source, target)


def enc(*values: Header | Vote) -> tuple[bytes, ...]:
    return tuple(v.encode() for v in values)


def validator_keys(chain) -> list[bytes]:
    return [v.session_key for v in session.validators.get(chain.view())]


def bond_of(chain, name: str) -> int:
    return next(v.bond for v in session.validators.get(chain.view()) if v.account == acct(name))


@pytest.fixture
def chain():
    return GenesisBuilder(validators={"alice": 10, "bob": 20}).build()


@pytest.fixture
def half_chain():
    """Slashing takes half the bond, so the offender stays a validator."""
    return GenesisBuilder(validators={"alice": 10, "bob": 20}, params={"slashing.fraction_bps": 5000}).build()


def test_module_sits_at_index_4_and_its_calls_only_ever_append():
    module, call = RUNTIME.lookup(BLOCK)
    assert (module.index, call.index, module.name) == (4, 0, "evidence")
    assert [(c.index, c.name) for c in module.calls] == [
        (0, "report_block_equivocation"),
        (1, "report_vote_equivocation"),
        (2, "report_block_equivocation_with_keys"),
        (3, "report_vote_equivocation_with_keys"),
    ]
    assert [e.__name__ for e in ERRORS] == [
        "InvalidEvidence", "NotAValidator", "DuplicateReport", "BadKeyAuthorization", "OffenceTooOld", "NothingToSlash"
    ]
    assert [e.__name__ for e in EVENTS] == ["Slashed", "ValidatorRemoved"]


# --- block equivocation ------------------------------------------------------------------------------


def test_block_equivocation_slashes_whole_bond_rewards_reporter_and_removes_validator(chain):
    charlie0, bob0 = chain.account("charlie"), chain.account("bob")
    issuance0 = system.total_issuance.get(chain.view())
    burned0 = system.total_burned.get(chain.view())
    out = chain.submit("charlie", BLOCK, *enc(header(root=1), header(root=2)))
    assert_ok(out)
    reward, burned = 2 * UNIT, 18 * UNIT  # 10% of the 20 BTT bond to the reporter, the rest burned
    assert chain.account("charlie").free == charlie0.free - out.fee + reward
    assert chain.account("bob").reserved == bob0.reserved - 20 * UNIT == 0
    assert chain.account("bob").free == bob0.free
    assert system.total_issuance.get(chain.view()) == issuance0 - burned
    assert system.total_burned.get(chain.view()) == burned0 + burned
    assert validator_keys(chain) == [acct("alice")]
    assert_last_event(chain, events.Slashed(acct("bob"), burned, reward, BLOCK_EQUIVOCATION))
    evs = chain.events()
    assert events.ValidatorRemoved(acct("bob")) in evs
    assert balance_events.Burned(acct("bob"), burned) in evs
    assert balance_events.Transfer(acct("bob"), acct("charlie"), reward) in evs


def test_partial_slash_keeps_the_validator_with_a_smaller_bond(half_chain):
    chain = half_chain
    issuance0 = system.total_issuance.get(chain.view())
    charlie0 = chain.account("charlie")
    out = chain.submit("charlie", BLOCK, *enc(header(root=1), header(root=2)))
    assert_ok(out)
    assert chain.account("charlie").free == charlie0.free - out.fee + UNIT
    assert chain.account("bob").reserved == 10 * UNIT
    assert bond_of(chain, "bob") == 10 * UNIT
    assert validator_keys(chain) == [acct("alice"), acct("bob")]
    assert system.total_issuance.get(chain.view()) == issuance0 - 9 * UNIT
    assert_last_event(chain, events.Slashed(acct("bob"), 9 * UNIT, UNIT, BLOCK_EQUIVOCATION))
    assert events.ValidatorRemoved(acct("bob")) not in chain.events()


def test_reporter_share_follows_its_parameter():
    chain = GenesisBuilder(validators={"alice": 10, "bob": 20}, params={"slashing.reporter_bps": 0}).build()
    assert_ok(chain.submit("charlie", BLOCK, *enc(header(root=1), header(root=2))))
    assert_last_event(chain, events.Slashed(acct("bob"), 20 * UNIT, 0, BLOCK_EQUIVOCATION))


def test_last_validator_is_slashed_but_not_removed():
    chain = GenesisBuilder().build()  # alice alone, 10 BTT bond
    issuance0 = system.total_issuance.get(chain.view())
    assert_ok(chain.submit("charlie", BLOCK, *enc(header("alice", root=1), header("alice", root=2))))
    assert validator_keys(chain) == [acct("alice")]
    assert bond_of(chain, "alice") == 0
    assert chain.account("alice").reserved == 0
    assert system.total_issuance.get(chain.view()) == issuance0 - 9 * UNIT
    assert_last_event(chain, events.Slashed(acct("alice"), 9 * UNIT, UNIT, BLOCK_EQUIVOCATION))
    assert events.ValidatorRemoved(acct("alice")) not in chain.events()


def test_block_evidence_that_does_not_decode_fails(chain):
    assert_noop(chain, "charlie", BLOCK, b"junk", header().encode(), error="InvalidEvidence")
    trailing = header(root=2).encode() + b"\x00"
    assert_noop(chain, "charlie", BLOCK, header().encode(), trailing, error="InvalidEvidence")


def test_same_header_twice_fails(chain):
    h = header()
    assert_noop(chain, "charlie", BLOCK, *enc(h, h), error="InvalidEvidence")


def test_same_block_resigned_is_not_equivocation(chain):
    h = header()
    # an ed25519 signature from another nonce would differ; any differing signature bytes stand in here
    other = h.replace(signature=h.signature[:-1] + bytes([h.signature[-1] ^ 1]))
    assert_noop(chain, "charlie", BLOCK, *enc(h, other), error="the two headers are the same block")


def test_headers_by_keys_of_different_accounts_fail(chain):
    assert_noop(chain, "charlie", BLOCK, *enc(header("bob"), header("alice", root=2)), error="different accounts")


def test_headers_for_different_slots_fail(chain):
    assert_noop(chain, "charlie", BLOCK, *enc(header(slot=7), header(slot=8, root=2)), error="different slots")


def test_header_with_bad_seal_fails(chain):
    forged = header(root=1).replace(state_root=b"\x05" * 32)  # keeps the old seal
    assert_noop(chain, "charlie", BLOCK, *enc(header(root=2), forged), error="header_b has a bad seal")
    assert_noop(chain, "charlie", BLOCK, *enc(forged, header(root=2)), error="header_a has a bad seal")


def test_block_equivocation_by_a_non_validator_fails(chain):
    assert_noop(
        chain, "bob", BLOCK, *enc(header("charlie", root=1), header("charlie", root=2)), error="NotAValidator"
    )


def test_duplicate_block_report_fails(half_chain):
    chain = half_chain
    assert_ok(chain.submit("charlie", BLOCK, *enc(header(root=1), header(root=2))))
    # the same offence, however presented: swapped, or with a third header for the slot
    assert_noop(chain, "charlie", BLOCK, *enc(header(root=2), header(root=1)), error="DuplicateReport")
    assert_noop(chain, "bob", BLOCK, *enc(header(root=1), header(root=3)), error="DuplicateReport")
    # another slot is another offence
    assert_ok(chain.submit("charlie", BLOCK, *enc(header(slot=9, root=1), header(slot=9, root=2))))
    assert bond_of(chain, "bob") == 5 * UNIT


def test_oversize_evidence_cannot_be_submitted(chain):
    with pytest.raises(InvalidExtrinsic):
        chain.sign("charlie", BLOCK, bytes(5000), header().encode())


# --- vote equivocation -------------------------------------------------------------------------------


def test_double_vote_is_slashed(chain):
    charlie0 = chain.account("charlie")
    issuance0 = system.total_issuance.get(chain.view())
    a, b = vote("bob", cp(0), cp(3)), vote("bob", cp(0), cp(3, fork=1))
    out = chain.submit("charlie", VOTES, *enc(a, b))
    assert_ok(out)
    assert chain.account("charlie").free == charlie0.free - out.fee + 2 * UNIT
    assert chain.account("bob").reserved == 0
    assert system.total_issuance.get(chain.view()) == issuance0 - 18 * UNIT
    assert validator_keys(chain) == [acct("alice")]
    assert_last_event(chain, events.Slashed(acct("bob"), 18 * UNIT, 2 * UNIT, DOUBLE_VOTE))


def test_surround_vote_is_slashed(half_chain):
    chain = half_chain
    outer, inner = vote("bob", cp(1), cp(5)), vote("bob", cp(2), cp(4))
    assert_ok(chain.submit("charlie", VOTES, *enc(inner, outer)))
    assert_last_event(chain, events.Slashed(acct("bob"), 9 * UNIT, UNIT, SURROUND_VOTE))
    assert bond_of(chain, "bob") == 10 * UNIT
    assert_noop(chain, "charlie", VOTES, *enc(outer, inner), error="DuplicateReport")
    # a double vote is another kind of offence, even at the same epoch
    assert_ok(chain.submit("charlie", VOTES, *enc(outer, vote("bob", cp(1), cp(5, fork=1)))))
    assert bond_of(chain, "bob") == 5 * UNIT


def test_vote_evidence_with_a_bad_signature_fails(chain):
    a = vote("bob", cp(0), cp(3))
    b = vote("bob", cp(0), cp(3, fork=1)).replace(signature=a.signature)
    assert_noop(chain, "charlie", VOTES, *enc(a, b), error="vote_b has a bad signature")


def test_block_seals_from_another_chain_fail(chain):
    other = b"\x43" * 32
    a, b = header(root=1, genesis=other), header(root=2, genesis=other)
    assert_noop(chain, "charlie", BLOCK, a.encode(), b.encode(), error="bad seal")


def test_votes_from_another_chain_fail(chain):
    other = b"\x43" * 32
    a, b = vote("bob", cp(0), cp(3), other), vote("bob", cp(0), cp(3, fork=1), other)
    assert_noop(chain, "charlie", VOTES, *enc(a, b), error="bad signature")


def test_votes_that_do_not_conflict_fail(chain):
    a, b = vote("bob", cp(0), cp(1)), vote("bob", cp(1), cp(2))
    assert_noop(chain, "charlie", VOTES, *enc(a, b), error="neither share a target epoch nor surround")
    assert_noop(chain, "charlie", VOTES, *enc(a, a), error="same link")


def test_votes_by_keys_of_different_accounts_fail(chain):
    a, b = vote("bob", cp(0), cp(3)), vote("alice", cp(0), cp(3, fork=1))
    assert_noop(chain, "charlie", VOTES, *enc(a, b), error="different accounts")


def test_malformed_vote_fails(chain):
    a = vote("bob", cp(0), cp(3))
    backwards = Vote(cp(4), cp(3, fork=1), acct("bob"), bytes(64))
    assert_noop(chain, "charlie", VOTES, *enc(a, backwards), error="not below target epoch")
    assert_noop(chain, "charlie", VOTES, a.encode(), header().encode(), error="vote_b is not a vote")


def test_vote_equivocation_by_a_non_validator_fails(chain):
    a, b = vote("charlie", cp(0), cp(3)), vote("charlie", cp(0), cp(3, fork=1))
    assert_noop(chain, "bob", VOTES, *enc(a, b), error="NotAValidator")


def test_an_account_slashed_to_nothing_has_nothing_left_to_slash(chain):
    assert_ok(chain.submit("charlie", VOTES, *enc(vote("bob", cp(0), cp(3)), vote("bob", cp(0), cp(3, 1)))))
    assert_noop(chain, "charlie", BLOCK, *enc(header(root=1), header(root=2)), error="NothingToSlash")
