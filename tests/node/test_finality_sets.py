"""The node side of finality by the right validator set: every executed block records the set queued in its
post-state (atomically with the block, content-addressed), and the finality service resolves a target
checkpoint of epoch e to that record of the target block, never to the set at the head. Attacks that must
fail: a checkpoint claimed for an epoch its block does not open, a target on a chain this node never
executed, and a validator voting for an epoch it is not in."""

from __future__ import annotations

import logging
from pathlib import Path

from btt_chain.consensus.checkpoints import checkpoint_for_epoch
from btt_chain.consensus.finality import verify_justification
from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.node.chain import Chain
from btt_chain.node.finality_service import FinalityService
from btt_chain.primitives.block import Header
from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.vote import Checkpoint, Justification, Vote, sign_vote
from genesis.loader import dev_hash_chain_commitment
from runtime.modules import RUNTIME
from runtime.session import storage as session
from storage import schema
from tests.support.node_builder import author_as_leader, devnet_genesis, far_future_ms, new_chain
from tests.support.session_proof import registration
from tests.support.stub_node import StubNode

UNIT = 10**18
E = 5
GENESIS_VALIDATORS = ("alice", "bob", "charlie")
EVERYONE = (*GENESIS_VALIDATORS, "eve")


def service(chain: Chain, tmp_path: Path, key: Keypair | None = None, name: str = "votes") -> FinalityService:
    return FinalityService(StubNode(chain), key, tmp_path / f"{name}.json")  # type: ignore[arg-type]


def xt(chain: Chain, name: str, call: str, *args: object, nonce: int) -> Extrinsic:
    return sign_extrinsic(dev_keypair(name), RUNTIME.call(call, *args), nonce, chain.genesis_hash,
                          RUNTIME.spec_version)


def register_eve(chain: Chain) -> list[Extrinsic]:
    length = chain.genesis.spec.consensus.hash_chain_length
    return [
        xt(chain, "eve", "bonds.bond", 10_000 * UNIT, nonce=0),
        xt(chain, "eve", "bonds.register_validator",
           *registration("eve", "eve", dev_hash_chain_commitment("eve", length)), nonce=1),
    ]


def queued_set(chain: Chain) -> ValidatorSet:
    return ValidatorSet((v.session_key, v.bond) for v in session.queued.get(chain.state()))


def recorded_set(chain: Chain, block_hash: bytes) -> ValidatorSet:
    set_hash = chain.db.voter_set_hash(block_hash)
    assert set_hash is not None, "executed block without a recorded validator set"
    raw = chain.db.voter_set(set_hash)
    assert raw is not None
    return ValidatorSet.decode(raw)


def keys(vs: ValidatorSet | None) -> set[str]:
    assert vs is not None
    by_key = {dev_keypair(n).public: n for n in EVERYONE}
    return {by_key[k] for k in vs.weights}


def canonical_header(chain: Chain):  # type: ignore[no-untyped-def]
    def get(n: int) -> Header | None:
        h = chain.db.canonical_hash(n)
        return None if h is None else chain.db.get_header(h)

    return get


def checkpoint(chain: Chain, epoch: int) -> Checkpoint:
    return checkpoint_for_epoch(epoch, canonical_header(chain), chain.head.number, epoch_slots=E)


def run_to_epoch(chain: Chain, epoch: int, names: tuple[str, ...] = EVERYONE) -> None:
    while chain.head.slot // E < epoch:
        author_as_leader(chain, names)


def test_every_executed_block_records_the_set_queued_in_its_post_state() -> None:
    chain = new_chain(genesis=devnet_genesis(3, epoch_slots=E))
    genesis_set = recorded_set(chain, chain.genesis_hash)
    assert keys(genesis_set) == set(GENESIS_VALIDATORS)
    assert genesis_set == queued_set(chain)
    author_as_leader(chain, GENESIS_VALIDATORS, register_eve(chain))
    seen = {chain.db.voter_set_hash(chain.genesis_hash)}
    while chain.head.slot // E < 3:
        author_as_leader(chain, EVERYONE)
        assert recorded_set(chain, chain.head_hash) == queued_set(chain)
        seen.add(chain.db.voter_set_hash(chain.head_hash))
    # sets change rarely: blocks share content-addressed records
    assert len(seen) == 2
    records = list(chain.db.kv.iterate(schema.VOTER_SET))
    assert len(records) == 2


def test_the_finality_service_resolves_a_target_to_its_own_blocks_set(tmp_path: Path) -> None:
    chain = new_chain(genesis=devnet_genesis(3, epoch_slots=E))
    author_as_leader(chain, GENESIS_VALIDATORS, register_eve(chain))  # epoch 0: eve is queued at epoch 1
    run_to_epoch(chain, 3)
    svc = service(chain, tmp_path)
    cp1, cp2, cp3 = checkpoint(chain, 1), checkpoint(chain, 2), checkpoint(chain, 3)
    assert keys(svc.target_set(cp1)) == set(GENESIS_VALIDATORS)
    assert keys(svc.target_set(cp2)) == set(EVERYONE)
    assert keys(svc.target_set(cp3)) == set(EVERYONE)
    # and that is the set that is active in those epochs on this chain
    assert {v.session_key for v in chain.validators()} == set(svc.target_set(cp3).weights)  # type: ignore[union-attr]

    # claims the chain refutes: a block that does not open the epoch, an epoch its block is past, a stranger
    head_number = chain.db.get_header(cp2.block_hash).number  # type: ignore[union-attr]
    not_last = chain.db.canonical_hash(head_number - 1)
    assert not_last is not None
    assert svc.target_set(Checkpoint(2, not_last)) is None
    assert svc.target_set(Checkpoint(1, cp2.block_hash)) is None  # its slot is not below epoch 1
    assert svc.target_set(Checkpoint(3, cp2.block_hash)) is None  # its child opened epoch 2, not 3
    assert svc.target_set(Checkpoint(9, chain.head_hash)) is None  # no block of epoch 9 builds on it yet
    assert svc.target_set(Checkpoint(2, b"\x07" * 32)) is None


def test_after_epochs_without_blocks_every_skipped_epoch_resolves_to_the_same_set(tmp_path: Path) -> None:
    chain = new_chain(genesis=devnet_genesis(3, epoch_slots=E))
    author_as_leader(chain, GENESIS_VALIDATORS, register_eve(chain))
    run_to_epoch(chain, 1)
    last = chain.head_hash  # epoch 1's last block so far: the chain now skips epochs 2 to 4
    while chain.head.slot // E < 5:
        slot = max(chain.head.slot + 1, 5 * E)
        for s in range(slot, slot + 50):
            leader = chain.leader(s)
            if leader in {dev_keypair(n).public for n in EVERYONE}:
                chain.author_block(s, next(dev_keypair(n) for n in EVERYONE if dev_keypair(n).public == leader), [])
                break
    assert chain.head.parent_hash == last and chain.head.slot // E == 5
    svc = service(chain, tmp_path)
    sets = [svc.target_set(Checkpoint(e, last)) for e in (2, 3, 4, 5)]
    assert all(s == recorded_set(chain, last) for s in sets)
    assert keys(sets[0]) == set(EVERYONE)
    assert svc.target_set(Checkpoint(6, last)) is None
    # the block that opened epoch 5 made exactly that set active
    assert set(sets[-1].weights) == {v.session_key for v in chain.validators()}  # type: ignore[union-attr]


def test_each_fork_is_weighed_by_its_own_set_whatever_the_head(tmp_path: Path) -> None:
    """x queues eve on its branch; y does not and grows longer; x reorganises onto y. x still resolves its old
    branch's checkpoint to a set with eve and y's to one without; y, which never executed x's branch, holds
    votes for it instead of guessing."""
    g = devnet_genesis(3, epoch_slots=E)
    x, y = new_chain(genesis=g), new_chain(genesis=g)
    author_as_leader(x, GENESIS_VALIDATORS, register_eve(x))
    while x.head.slot // E < 3:
        author_as_leader(x, GENESIS_VALIDATORS)
    while y.head.number <= x.head.number + 2:
        author_as_leader(y, GENESIS_VALIDATORS)
    x_cp2, y_cp2 = checkpoint(x, 2), checkpoint(y, 2)
    assert x_cp2 != y_cp2
    sx, sy = service(x, tmp_path, name="x"), service(y, tmp_path, name="y")
    assert keys(sx.target_set(x_cp2)) == set(EVERYONE)
    assert keys(sy.target_set(y_cp2)) == set(GENESIS_VALIDATORS)
    assert sy.target_set(x_cp2) is None
    for n in range(1, y.head.number + 1):
        x.import_block(y.db.get_block_bytes(y.db.canonical_hash(n)), far_future_ms())  # type: ignore[arg-type]
    assert x.head_hash == y.head_hash, "x reorganised onto y"
    fresh = service(x, tmp_path, name="x2")
    assert keys(fresh.target_set(x_cp2)) == set(EVERYONE)
    assert keys(fresh.target_set(y_cp2)) == set(GENESIS_VALIDATORS)
    assert fresh.target_set(y_cp2) == sy.target_set(y_cp2)
    # side blocks y stores but never executes resolve to nothing
    for n in range(1, x.db.get_header(x_cp2.block_hash).number + 2):  # type: ignore[union-attr]
        h = x.db.block_hashes_at(n)
        for b in h:
            if not y.knows(b):
                y.import_block(x.db.get_block_bytes(b), far_future_ms())  # type: ignore[arg-type]
    assert sy.target_set(x_cp2) is None


def test_a_validator_votes_only_for_checkpoints_of_epochs_whose_set_it_is_in(tmp_path: Path) -> None:
    chain = new_chain(genesis=devnet_genesis(3, epoch_slots=E))
    eve = service(chain, tmp_path, dev_keypair("eve"), name="eve")
    alice = service(chain, tmp_path, dev_keypair("alice"), name="alice")
    published: dict[str, list[Vote]] = {"eve": [], "alice": []}
    eve.publish_vote = lambda raw: published["eve"].append(Vote.decode(raw))
    alice.publish_vote = lambda raw: published["alice"].append(Vote.decode(raw))
    author_as_leader(chain, GENESIS_VALIDATORS, register_eve(chain))
    for epoch in (1, 2):
        run_to_epoch(chain, epoch, GENESIS_VALIDATORS)
        eve.on_new_head()
        alice.on_new_head()
    assert [v.target.epoch for v in published["alice"]] == [1, 2]
    assert [v.target.epoch for v in published["eve"]] == [2], "eve is in the set of epoch 2, not of epoch 1"
    # alice's tracker counts eve's vote for epoch 2 (she is in its set), and refuses none
    assert alice.on_vote_gossip("peer", published["eve"][0].encode()) is True


def test_sync_verifies_each_justification_against_its_own_epochs_set(tmp_path: Path) -> None:
    """A fresh node imports a chain whose set changes at epoch 2 (eve joins), with each justification right
    after its target block, as sync does. Those of epoch 2 on carry eve's vote and not alice's: valid only
    against the set of their own epoch, not against the set active at the target block (epoch 1's). A
    justification that holds 2/3 of that older set but not of the target's is refused."""
    g = devnet_genesis(3, epoch_slots=E)
    source_chain = new_chain(genesis=g)
    author_as_leader(source_chain, GENESIS_VALIDATORS, register_eve(source_chain))
    run_to_epoch(source_chain, 5)
    gh = source_chain.genesis_hash
    signers = {1: ("alice", "bob", "charlie")}
    signers.update({e: ("bob", "charlie", "eve") for e in (2, 3, 4, 5)})
    justifications: dict[bytes, bytes] = {}
    forged: Justification | None = None
    source = Checkpoint(0, gh)
    for epoch in range(1, 6):
        target = checkpoint(source_chain, epoch)
        votes = tuple(sign_vote(dev_keypair(n), gh, source, target) for n in signers[epoch])
        justifications[target.block_hash] = Justification(target, source, votes).encode()
        if epoch == 2:
            forged = Justification(target, source, tuple(sign_vote(dev_keypair(n), gh, source, target)
                                                         for n in ("alice", "bob")))
        source = target
    epoch1_set = ValidatorSet((dev_keypair(n).public, 10_000 * UNIT) for n in GENESIS_VALIDATORS)
    assert forged is not None
    assert verify_justification(forged, epoch1_set, gh) is None, "the attack holds 2/3 of the older set"

    fresh = new_chain(genesis=g)
    svc = service(fresh, tmp_path, name="fresh")
    cp2 = checkpoint(source_chain, 2)
    cp2_number = source_chain.db.get_header(cp2.block_hash).number  # type: ignore[union-attr]
    for n in range(0, source_chain.head.number + 1):
        h = source_chain.db.canonical_hash(n)
        assert h is not None
        if n > 0:
            fresh.import_block(source_chain.db.get_block_bytes(h), far_future_ms())  # type: ignore[arg-type]
            svc.on_new_head()
        if n == cp2_number:
            # held, like the real one: the block that opens epoch 2 is not imported yet
            assert svc.import_justification(forged.encode(), "attacker") is True
            assert svc.tracker.unresolved_justifications == 1
        if h in justifications:
            assert svc.import_justification(justifications[h], "peer") is True
        if n == cp2_number + 1:
            # both were retried against epoch 2's set: the real one justified cp2, the forged one was refused
            assert svc.tracker.unresolved_justifications == 0
            assert svc.tracker.state.is_justified(cp2)
            assert svc.import_justification(forged.encode(), "attacker") is False
    assert svc.tracker.finalized.epoch == 4
    assert fresh.finalized_hash == checkpoint(source_chain, 4).block_hash


def test_a_validator_votes_from_the_latest_justified_checkpoint_on_its_chain(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """A justified checkpoint the fork choice has left is no source (no node could count the vote: its source is not
    an ancestor of its target): the latest justified checkpoint on the chain is. When the validator's own record
    forbids that link (it signed from the checkpoint that was left, so an older source could surround that vote), it
    abstains: it never signs a link off its chain (attack 1 of issue 40 was that fallback)."""
    chain = new_chain(genesis=devnet_genesis(3, epoch_slots=E))
    alice = service(chain, tmp_path, dev_keypair("alice"))
    published: list[Vote] = []
    alice.publish_vote = lambda raw: published.append(Vote.decode(raw))
    run_to_epoch(chain, 3, GENESIS_VALIDATORS)
    left = Checkpoint(2, b"\x99" * 32)  # justified here, on no chain this node holds
    alice.tracker.state.justified[2] = left
    alice.on_new_head()
    (vote,) = published
    assert vote.source == Checkpoint(0, chain.genesis_hash) and vote.target.epoch == 3

    other = new_chain(genesis=devnet_genesis(3, epoch_slots=E))
    bob = service(other, tmp_path, dev_keypair("bob"), name="bob")
    bob_votes: list[Vote] = []
    bob.publish_vote = lambda raw: bob_votes.append(Vote.decode(raw))
    run_to_epoch(other, 4, GENESIS_VALIDATORS)
    bob.tracker.state.justified[2] = left
    assert bob.guard is not None
    bob.guard.record(left, Checkpoint(3, b"\x98" * 32))  # bob signed from it before the chain left it
    caplog.set_level(logging.INFO, logger="btt.finality")
    bob.on_new_head()
    assert bob_votes == [], "a link from the checkpoint the chain left is never signed"
    assert any("not voting in epoch 4: abstaining from 0 -> 4" in r.getMessage() for r in caplog.records)
