"""Review of issue 49, findings 1 and 5: claims on a session key (key authorizations) that a peer or a throwaway
account makes cannot hide a coalition member's conflicting votes, and two blocks for one slot by two keys of one
account are one offence, found and reported.

A `bonds.register_validator` signed for a spec before 17 carries no proof that its signer holds the key it names (from
spec 17 it carries the key's proof, as `session.set_keys` does; an old spec's claim stays valid on every fork), so an
account with nothing bonded (mallory) can claim the key bob rotated to on a fork only. The node keeps every verified
claim on a key (a few), counts a key for a claimant with stake, asks other peers while only claimants without stake
are known, ignores claims on keys it did not ask about, and never reports the throwaway account. A spec-17
registration ranks as a claim with a proof of possession; one without a valid proof is not kept."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from btt_chain.node.key_authorizations import MAX_CLAIMANTS_PER_KEY, has_possession_proof
from btt_chain.node.network import NetworkBridge
from btt_chain.node.service import Node
from btt_chain.primitives.extrinsic import TRANSACTION_VERSION, Call, sign_extrinsic
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.key_authorization import (
    BONDS_MODULE,
    REGISTER_PROOF_SPEC,
    REGISTER_VALIDATOR,
    KeyAuthorization,
    decode_key_authorization,
)
from btt_chain.primitives.keys import Keypair, dev_keypair
from runtime.modules import RUNTIME
from runtime.session.types import SessionKeys
from tests.node.test_finality_conflict_probe import _resign, finalize_ours, signed_finality
from tests.node.test_sync_branches import chain_of, import_chain, start_node, sync_rounds
from tests.support.long_range import FakeP2P, RemotePeer
from tests.support.node_builder import far_future_ms
from tests.support.session_proof import possession_proof, registration

BOB, ALICE = dev_keypair("bob"), dev_keypair("alice")
ROTATED = Keypair(blake2b_256(b"bob's key on their fork"))
MALLORY = Keypair(blake2b_256(b"mallory, a throwaway account with nothing bonded"))


def set_keys_claim(account: Keypair, key: Keypair, genesis_hash: bytes) -> bytes:
    """`account`'s signed session.set_keys naming `key`, with the key's proof of possession."""
    keys = SessionKeys(key.public, bytes(32))
    xt = sign_extrinsic(account, RUNTIME.call("session.set_keys", keys, possession_proof(key, account.public,
                                                                                         bytes(32))),
                        0, genesis_hash, RUNTIME.spec_version)
    return KeyAuthorization(xt, genesis_hash, RUNTIME.spec_version, TRANSACTION_VERSION).encode()


def register_claim(account: Keypair, key: bytes, genesis_hash: bytes) -> bytes:
    """`account`'s bonds.register_validator naming `key`, signed for spec 16 (before REGISTER_PROOF_SPEC: no proof of
    possession, any key will do; such claims from an old fork stay valid)."""
    spec = REGISTER_PROOF_SPEC - 1
    xt = sign_extrinsic(account, Call(BONDS_MODULE, REGISTER_VALIDATOR, key + bytes(32)), 0, genesis_hash, spec)
    return KeyAuthorization(xt, genesis_hash, spec, TRANSACTION_VERSION).encode()


def proven_register_claim(account: Keypair, key: Keypair, genesis_hash: bytes, proof: bytes | None = None) -> bytes:
    """`account`'s bonds.register_validator naming `key`, signed for the live spec (17 or later): with the key's proof
    of possession for `account`, or `proof`."""
    args = registration(key, account.public, bytes(32))
    xt = sign_extrinsic(account, RUNTIME.call("bonds.register_validator", *args[:2], args[2] if proof is None else
                                              proof), 0, genesis_hash, RUNTIME.spec_version)
    return KeyAuthorization(xt, genesis_hash, RUNTIME.spec_version, TRANSACTION_VERSION).encode()


Report = tuple[str, bytes, bytes, bytes, "list[bytes] | None"]


def record_reports(node: Node, monkeypatch: pytest.MonkeyPatch) -> list[Report]:
    """The reports the node's finality service submits (signed with a reporter key given to it here), each as the
    arguments of the `_report` that submitted it."""
    made: list[Report] = []
    pending: list[Report] = []
    report = node.finality._report

    def recording(call: str, a: bytes, b: bytes, offender: bytes, extra: list[bytes] | None = None) -> None:
        pending[:] = [(call, a, b, offender, extra)]
        report(call, a, b, offender, extra)

    def submit(raw: bytes) -> None:
        made.extend(pending)

    monkeypatch.setattr(node.finality, "_keys", (dev_keypair("charlie"),))
    monkeypatch.setattr(node.finality, "_report", recording)
    monkeypatch.setattr(node, "submit_extrinsic", submit)
    return made


@pytest.mark.parametrize("honest_first", [False, True])
async def test_a_throwaway_claim_on_a_coalition_key_hides_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  honest_first: bool) -> None:
    """The coalition's peer serves mallory's claim on bob's fork key: it places nothing (mallory holds no stake), so
    the node asks the next peer, whose answer is bob's own set_keys: the alarm fires, bob is convicted, and nothing is
    reported against mallory. In either order, the second claim does not replace the first."""
    node = start_node(tmp_path)
    try:
        made = record_reports(node, monkeypatch)
        ours, theirs = chain_of(16, ("alice",)), chain_of(16, ("bob",))
        finalize_ours(node, ours)
        genuine = set_keys_claim(BOB, ROTATED, theirs.genesis_hash)
        poison = register_claim(MALLORY, ROTATED.public, theirs.genesis_hash)
        justifications = {h: _resign(raw, theirs.genesis_hash, BOB.public, ROTATED) for h, raw in
                          signed_finality(theirs, ("alice", "bob")).items()}
        coalition = RemotePeer(theirs, justifications=justifications, key_authorizations={ROTATED.public: poison})
        honest = RemotePeer(theirs, justifications=justifications, key_authorizations={ROTATED.public: genuine})
        peers = [("12D3KooWHonest", honest), ("12D3KooWCoalition", coalition)]
        if not honest_first:
            peers.reverse()
        finality = node.finality
        for name, peer in peers:
            await sync_rounds(NetworkBridge(node, FakeP2P({name: peer}), far_future_ms), 2)  # type: ignore[arg-type]
            assert any(protocol == "keys/auth" for protocol, _ in peer.requests) or finality.conflict is not None
            if peer is coalition and not honest_first:
                assert finality.conflict is None, "mallory's claim alone places the key on nobody"
                assert finality.view.key_owner(ROTATED.public) is None
                assert [a.account for a in finality.authorizations.claims(ROTATED.public)] == [MALLORY.public]
                assert finality.tracker.owner_of(ROTATED.public) == ROTATED.public, "still unplaced: asked again"

        conflict = finality.conflict
        assert conflict is not None, "the conflicting finality signed by 2/3 raised the alarm"
        offenders = conflict.offenders()
        assert BOB.public in offenders and MALLORY.public not in offenders
        pair = offenders[BOB.public]
        assert {pair.vote_a.validator, pair.vote_b.validator} == {BOB.public, ROTATED.public}
        # both claims kept, neither overwrote the other; bob's (with its proof of possession) is the one that counts.
        # (with bob's first, the alarm is up before the coalition's peer is asked: its claim comes in directly here)
        finality.authorizations.add(poison)
        claims = finality.authorizations.claims(ROTATED.public)
        assert [a.account for a in claims] == [BOB.public, MALLORY.public]
        assert finality.authorizations.authorization(ROTATED.public, BOB.public) == decode_key_authorization(genuine)
        assert finality.view.key_owner(ROTATED.public) == BOB.public
        # reports: bob's, with bob's claim on the rotated key; none names mallory or carries her claim
        assert made, "the offenders were reported"
        assert all(offender != MALLORY.public and poison not in (extra or []) for _, _, _, offender, extra in made)
        with_keys = [r for r in made if r[0] == "evidence.report_vote_equivocation_with_keys"]
        assert with_keys and all(r[3] == BOB.public and r[4] == [genuine] for r in with_keys)
    finally:
        node.close()


async def test_an_answer_brings_only_the_keys_asked_for(tmp_path: Path) -> None:
    """A `keys/auth` answer that carries claims on keys the node never asked about keeps none of them."""
    node = start_node(tmp_path)
    try:
        ours, theirs = chain_of(16, ("alice",)), chain_of(16, ("bob",))
        finalize_ours(node, ours)
        stranger = Keypair(blake2b_256(b"a key nobody asked about"))
        unasked = set_keys_claim(MALLORY, stranger, theirs.genesis_hash)
        finality = node.finality
        assert finality.add_key_authorizations([unasked]) == 0
        assert finality.authorizations.claims(stranger.public) == ()

        justifications = {h: _resign(raw, theirs.genesis_hash, BOB.public, ROTATED) for h, raw in
                          signed_finality(theirs, ("alice", "bob")).items()}
        # a peer that answers with the key asked and one more, signed and valid
        peer = RemotePeer(theirs, justifications=justifications, key_authorizations={
            ROTATED.public: set_keys_claim(BOB, ROTATED, theirs.genesis_hash), stranger.public: unasked})
        handle = peer.handle

        def answer_more(protocol: str, data: bytes) -> bytes:
            if protocol == "keys/auth":
                from btt_chain.node import sync
                return sync.encode_bytes_list(list(peer.key_authorizations.values()))
            return handle(protocol, data)

        peer.handle = answer_more  # type: ignore[method-assign]
        await sync_rounds(NetworkBridge(node, FakeP2P({"12D3KooWPeer": peer}), far_future_ms), 2)  # type: ignore
        assert finality.conflict is not None, "the key asked for was kept"
        assert finality.authorizations.claims(stranger.public) == (), "the key nobody asked for was not"
        assert node.chain.db.key_authorization(stranger.public) is None
    finally:
        node.close()


def test_claims_on_a_key_are_kept_side_by_side_and_bounded(tmp_path: Path) -> None:
    """A second claimant does not overwrite the first; one account claims once; throwaway claims fill a key, and the
    key holder's own claim (with its proof of possession) still gets in; a record written before several claims were
    kept reads as one claim."""
    node = start_node(tmp_path)
    try:
        store, g = node.finality.authorizations, node.chain.genesis_hash
        first = register_claim(MALLORY, ROTATED.public, g)
        assert store.add(first) is not None
        assert store.add(first) is None, "the same claim again is nothing new"
        throwaways = [Keypair(blake2b_256(b"throwaway %d" % i)) for i in range(MAX_CLAIMANTS_PER_KEY)]
        for kp in throwaways[:MAX_CLAIMANTS_PER_KEY - 1]:
            assert store.add(register_claim(kp, ROTATED.public, g)) is not None
        assert store.authorization(ROTATED.public, MALLORY.public) == decode_key_authorization(first), "not replaced"
        assert store.add(register_claim(throwaways[-1], ROTATED.public, g)) is None, "the key is full"
        genuine = set_keys_claim(BOB, ROTATED, g)
        assert store.add(genuine) is not None, "the holder's own claim displaces a claim without proof"
        accounts = [a.account for a in store.claims(ROTATED.public)]
        assert len(accounts) == MAX_CLAIMANTS_PER_KEY and accounts[0] == BOB.public and MALLORY.public in accounts
        assert store.owner(ROTATED.public) == BOB.public
        assert store.owner(ROTATED.public, lambda account: account == MALLORY.public) == MALLORY.public
        assert store.owner(ROTATED.public, lambda account: False) is None
        # read back from the database (a fresh cache), and an old single-claim record
        node.finality.authorizations._claims.clear()
        assert [a.account for a in store.claims(ROTATED.public)] == accounts
        old = Keypair(blake2b_256(b"a key kept by an older node"))
        node.chain.db.store_key_authorization(old.public, set_keys_claim(ALICE, old, g))
        assert [a.account for a in store.claims(old.public)] == [ALICE.public]
    finally:
        node.close()


def test_a_spec_17_registration_is_a_claim_with_a_proof_of_possession(tmp_path: Path) -> None:
    """From spec 17 a register_validator claim carries the key's proof: a forged one (another key's signature, the
    key's proof for another account) is not kept, and the holder's own ranks with set_keys claims: first, and it
    displaces a claim without proof from a full key."""
    node = start_node(tmp_path)
    try:
        store, g = node.finality.authorizations, node.chain.genesis_hash
        by_another_key = possession_proof(MALLORY, MALLORY.public, bytes(32), ROTATED.public)
        for forged in (proven_register_claim(MALLORY, ROTATED, g, proof=by_another_key),
                       proven_register_claim(MALLORY, ROTATED, g, proof=possession_proof(ROTATED, BOB.public,
                                                                                          bytes(32))),
                       proven_register_claim(MALLORY, ROTATED, g, proof=b"")):
            assert store.add(forged) is None
        assert store.claims(ROTATED.public) == ()
        throwaways = [Keypair(blake2b_256(b"throwaway %d" % i)) for i in range(MAX_CLAIMANTS_PER_KEY)]
        for kp in throwaways:
            assert store.add(register_claim(kp, ROTATED.public, g)) is not None
        genuine = proven_register_claim(BOB, ROTATED, g)
        assert has_possession_proof(decode_key_authorization(genuine))
        assert store.add(genuine) is not None, "the holder's spec-17 registration displaces a claim without proof"
        accounts = [a.account for a in store.claims(ROTATED.public)]
        assert len(accounts) == MAX_CLAIMANTS_PER_KEY and accounts[0] == BOB.public
        assert throwaways[-1].public not in accounts, "the newest claim without proof made room"
        assert store.owner(ROTATED.public) == BOB.public
    finally:
        node.close()


def test_a_claim_that_arrives_later_moves_the_key_in_the_tracker_too(tmp_path: Path) -> None:
    """Charlie (a validator with stake) claims bob's fork key first: the tracker places it on charlie and remembers
    that. Bob's own set_keys then arrives through a peer's answer: the tracker looks the key up again and places it
    on bob, so bob's stake counts for his votes (it was not left on charlie for good)."""
    node = start_node(tmp_path)
    try:
        finality, g = node.finality, node.chain.genesis_hash
        charlie = dev_keypair("charlie")
        finality._asked_keys[ROTATED.public] = None  # as `take_wanted_keys` handed it out
        assert finality.add_key_authorizations([register_claim(charlie, ROTATED.public, g)]) == 1
        monkey_stake = {charlie.public, BOB.public}
        finality.view.holds_stake = lambda account: account in monkey_stake  # type: ignore[method-assign]
        assert finality.tracker.owner_of(ROTATED.public) == charlie.public
        assert finality.add_key_authorizations([set_keys_claim(BOB, ROTATED, g)]) == 1
        assert finality.tracker.owner_of(ROTATED.public) == BOB.public
    finally:
        node.close()


def test_two_blocks_for_one_slot_by_two_keys_of_one_account_are_one_offence(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Alice seals a block with her key on one fork and another block for the same slot with a key she rotated to on
    the other fork only: the node places the second key by her claim, compares the two headers, and reports the pair
    once, with her claim."""
    node = start_node(tmp_path)
    try:
        made = record_reports(node, monkeypatch)
        ours = chain_of(6, ("alice",))
        import_chain(node, ours)
        g = node.chain.genesis_hash
        header = ours.head
        assert header.author == ALICE.public
        rotated = Keypair(blake2b_256(b"alice's key on another fork"))
        claim = set_keys_claim(ALICE, rotated, g)
        assert node.finality.authorizations.add(claim) is not None
        other = dataclasses.replace(header, author=rotated.public, state_root=blake2b_256(b"another block")).sealed(
            rotated, g)
        assert other.verify_seal(g) and other.slot == header.slot
        made.clear()
        node.finality.on_block_header(header)
        node.finality.on_block_header(other)
        node.finality.on_block_header(other)
        assert len(made) == 1
        call, a, b, offender, extra = made[0]
        assert call == "evidence.report_block_equivocation_with_keys" and offender == ALICE.public
        assert {a, b} == {header.encode(), other.encode()} and extra == [claim]

        # a throwaway account's claim on a key places nothing: its block is not compared with alice's
        made.clear()
        stray = Keypair(blake2b_256(b"mallory's own key"))
        assert node.finality.authorizations.add(register_claim(MALLORY, stray.public, g)) is not None
        third = dataclasses.replace(header, author=stray.public, state_root=blake2b_256(b"a third")).sealed(stray, g)
        node.finality.on_block_header(third)
        assert made == []
    finally:
        node.close()
