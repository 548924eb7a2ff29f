"""Issue 49, finding 4, in the node: a node learns of a finalized checkpoint that conflicts with its own from a peer's
status, at any height, and raises the alarm (before, such a peer was only penalised, its justifications never read,
and nobody's alarm fired).

Two validators, alice and bob, both sign two chains' checkpoints: ours (authored by alice) and theirs (authored by bob)
are each finalized by both of them. The node, on ours, syncs with a peer on theirs: the peer's blocks are refused
(they conflict with our finality), its status says it finalized one of them, so the node reads the peer's
justifications, weighs them by the set of its own chain, and finds theirs finalized: the alarm, with both validators
convicted of double votes. A peer that claims a conflicting finality signed by a minority is penalised, as before, and
raises nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from btt_chain.node import sync
from btt_chain.node.chain import Chain
from btt_chain.node.network import NetworkBridge
from btt_chain.node.service import Node
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.vote import Justification, sign_vote
from tests.node.test_sync_branches import DOC, chain_of, import_chain, start_node, sync_rounds
from tests.support.long_range import FakeP2P, RemotePeer, fake_justifications
from tests.support.node_builder import author_as_leader, far_future_ms

EPOCH_SLOTS = DOC["consensus"]["epoch_slots"]


def signed_finality(chain: Chain, signers: tuple[str, ...], first_epoch: int = 1) -> dict[bytes, bytes]:
    """Justifications of every epoch's checkpoint of `chain` from `first_epoch` on, signed by `signers`."""
    return fake_justifications(chain, chain.genesis_hash, signers, first_epoch)


def finalize_ours(node: Node, ours: Chain) -> None:
    import_chain(node, ours)
    for raw in signed_finality(ours, ("alice", "bob")).values():
        node.import_justification(raw)
    assert node.finality.tracker.finalized.epoch >= 2 and node.chain.finalized.number > 0


def finalized_by(chain: Chain, justifications: dict[bytes, bytes]) -> None:
    """Finalize `chain` at the newest checkpoint its `justifications` finalize (a link to the next epoch from it)."""
    links = [Justification.decode(raw) for raw in justifications.values()]
    chain.finalize(max((j.source for j in links if j.target.epoch == j.source.epoch + 1), key=lambda c: c.epoch)
                   .block_hash)


def chain_to_epoch(epoch: int, names: tuple[str, ...]) -> Chain:
    """A chain authored by `names` until its head is in `epoch` (how many blocks that takes depends on the genesis's
    leader schedule, which every spec's genesis changes)."""
    chain = chain_of(0, names)
    while chain.head.slot // EPOCH_SLOTS < epoch:
        author_as_leader(chain, names)
    return chain


@pytest.mark.parametrize("ours_blocks, ours_epoch, theirs_blocks, their_first",
                         [(16, 0, 16, 1), (0, 4, 40, 1), (0, 3, 40, 5), (0, 4, 40, 5), (0, 5, 40, 5)])
async def test_a_conflicting_finality_a_peer_shows_raises_the_alarm(tmp_path: Path, ours_blocks: int, ours_epoch: int,
                                                                     theirs_blocks: int, their_first: int) -> None:
    """(16 blocks, 16): their finalized block is at our height; (ours into epoch 3-5, 40 blocks): far above it.
    Starting at epoch 5, their first link jumps from genesis over our finalized epoch: nothing at or below it shows
    their branch, so the node places their checkpoints by reading the branch's headers (`sync/headers`), down to
    their checkpoint of our finalized epoch, which their sparser chain holds at a lower number than ours (into epoch
    4, ours is finalized at #10 and theirs has its epoch-3 checkpoint below #5, where the read began before)."""
    node = start_node(tmp_path)
    try:
        ours = chain_of(ours_blocks, ("alice",)) if ours_blocks else chain_to_epoch(ours_epoch, ("alice",))
        theirs = chain_of(theirs_blocks, ("bob",))
        finalize_ours(node, ours)
        assert node.finality.tracker.finalized.epoch < their_first or their_first == 1
        their_finality = signed_finality(theirs, ("alice", "bob"), their_first)
        finalized_by(theirs, their_finality)  # its status says so, as a real peer's would
        peer = RemotePeer(theirs, justifications=their_finality)
        p2p = FakeP2P({"12D3KooWOther": peer})
        bridge = NetworkBridge(node, p2p, far_future_ms)  # type: ignore[arg-type]
        await sync_rounds(bridge, 2)
        conflict = node.finality.conflict
        assert conflict is not None, "the conflicting finality was read and weighed"
        assert not node.chain.knows(theirs.head_hash)  # their blocks stay refused
        alice, bob = dev_keypair("alice").public, dev_keypair("bob").public
        assert set(conflict.offenders()) == {alice, bob}  # both double-voted the checkpoints of both chains
        assert not p2p.penalised and not p2p.banned, "the peer that showed it is not blamed"
        assert any(protocol == "sync/justifications" and data for protocol, data in peer.requests)
        if theirs.head.number > ours.head.number:
            assert theirs.finalized.number > node.chain.finalized.number
            assert any(protocol == "sync/headers" for protocol, _ in peer.requests)
        # finality stops here, and the evidence is kept in the database
        assert node.chain.db.finality_conflict() is not None
    finally:
        node.close()


@pytest.mark.parametrize("seed", range(12))
async def test_the_alarm_over_random_chain_shapes(tmp_path: Path, seed: int) -> None:
    """Random geometries: our chain into epoch 3-7 (finalized one below), theirs 10 to 50 blocks longer, their
    finality signed from epoch 1 or from up to two epochs past ours. Whatever block numbers the two branches hold
    their checkpoints at, the peer's conflicting finality is read and the alarm raised."""
    import random

    rng = random.Random(seed)
    node = start_node(tmp_path)
    try:
        ours = chain_to_epoch(rng.randint(3, 7), ("alice",))
        finalize_ours(node, ours)
        theirs = chain_of(ours.head.number + rng.randint(10, 50), ("bob",))
        fin_epoch = node.finality.tracker.finalized.epoch
        their_first = rng.choice([1, fin_epoch + 1, fin_epoch + 2])
        their_finality = signed_finality(theirs, ("alice", "bob"), their_first)
        finalized_by(theirs, their_finality)
        peer = RemotePeer(theirs, justifications=their_finality)
        await sync_rounds(NetworkBridge(node, FakeP2P({"12D3KooWOther": peer}), far_future_ms), 2)  # type: ignore[arg-type]
        assert node.finality.conflict is not None, (seed, ours.head.number, theirs.head.number, their_first)
    finally:
        node.close()


async def test_a_conflicting_claim_signed_by_a_minority_is_penalised_and_raises_nothing(tmp_path: Path) -> None:
    node = start_node(tmp_path)
    try:
        ours = chain_of(16, ("alice",))
        finalize_ours(node, ours)
        # their chain as long as finalizes a block at or below our finalized height (where it falls depends on the
        # genesis's leader schedule: bob's slots and alice's are not the same)
        for n in range(16, 4, -1):
            theirs = chain_of(n, ("bob",))
            lying = RemotePeer(theirs, justifications=signed_finality(theirs, ("bob",)))  # half the stake
            if theirs.finalized.number <= node.chain.finalized.number:
                break
        p2p = FakeP2P({"12D3KooWLiar": lying})
        await sync_rounds(NetworkBridge(node, p2p, far_future_ms), 2)  # type: ignore[arg-type]
        assert node.finality.conflict is None and node.chain.db.finality_conflict() is None
        assert theirs.finalized.number <= node.chain.finalized.number  # it claims a final block at our height
        assert [peer for peer, _ in p2p.penalised] == ["12D3KooWLiar"] * len(p2p.penalised) != []
    finally:
        node.close()


async def test_a_conflict_signed_with_a_key_rotated_there_is_placed_by_its_authorization(tmp_path: Path) -> None:
    """Bob rotated his session key on their fork only, and signed their checkpoints with the new key: nothing on our
    chain names it, so the node asks the peer for that key's authorization (bob's own signed set_keys), checks it, and
    then weighs the votes as bob's: the alarm convicts bob's account of voting both chains."""
    from btt_chain.primitives.extrinsic import TRANSACTION_VERSION, sign_extrinsic
    from btt_chain.primitives.hashing import blake2b_256
    from btt_chain.primitives.key_authorization import KeyAuthorization
    from runtime.modules import RUNTIME
    from runtime.session.types import SessionKeys

    node = start_node(tmp_path)
    try:
        ours, theirs = chain_of(16, ("alice",)), chain_of(16, ("bob",))
        finalize_ours(node, ours)
        bob, rotated = dev_keypair("bob"), Keypair(blake2b_256(b"bob's key on their fork"))
        keys = SessionKeys(rotated.public, bytes(32))
        set_keys = sign_extrinsic(bob, RUNTIME.call("session.set_keys", keys, rotated.sign(keys.ownership_message(
            bob.public))), 0, theirs.genesis_hash, RUNTIME.spec_version)
        auth = KeyAuthorization(set_keys, theirs.genesis_hash, RUNTIME.spec_version, TRANSACTION_VERSION).encode()
        justifications = {h: _resign(raw, theirs.genesis_hash, bob.public, rotated) for h, raw in
                          signed_finality(theirs, ("alice", "bob")).items()}
        silent = RemotePeer(theirs, justifications=justifications)  # serves no authorization
        p2p = FakeP2P({"12D3KooWSilent": silent})
        await sync_rounds(NetworkBridge(node, p2p, far_future_ms), 2)  # type: ignore[arg-type]
        assert node.finality.conflict is None, "unplaced, the rotated key's votes weigh nothing here"
        assert any(protocol == "keys/auth" for protocol, _ in silent.requests)

        # a forged authorization (another key's proof) is refused, and changes nothing
        forged = KeyAuthorization(set_keys.replace(signature=bytes(64)), theirs.genesis_hash, RUNTIME.spec_version,
                                  TRANSACTION_VERSION).encode()
        liar = RemotePeer(theirs, justifications=justifications, key_authorizations={rotated.public: forged})
        await sync_rounds(NetworkBridge(node, FakeP2P({"12D3KooWForger": liar}), far_future_ms), 2)  # type: ignore
        assert node.finality.conflict is None and node.finality.authorizations.owner(rotated.public) is None

        peer = RemotePeer(theirs, justifications=justifications, key_authorizations={rotated.public: auth})
        await sync_rounds(NetworkBridge(node, FakeP2P({"12D3KooWOther": peer}), far_future_ms), 2)  # type: ignore
        conflict = node.finality.conflict
        assert conflict is not None
        assert node.finality.authorizations.owner(rotated.public) == bob.public
        pair = conflict.offenders()[bob.public]
        assert {pair.vote_a.validator, pair.vote_b.validator} == {bob.public, rotated.public}
    finally:
        node.close()


def _resign(raw: bytes, genesis_hash: bytes, old: bytes, new: Keypair) -> bytes:
    """The justification with the vote of key `old` signed by `new` instead."""
    j = Justification.decode(raw)
    votes = sorted((sign_vote(new, genesis_hash, v.source, v.target) if v.validator == old else v for v in j.votes),
                   key=lambda v: v.validator)
    return Justification(j.target, j.source, tuple(votes)).encode()


async def test_a_peer_naming_another_finalized_block_at_every_status_is_probed_once_an_interval(tmp_path: Path) -> None:
    """Before, a probe was due once per claimed block: a peer that named a new one at every status (every sync round,
    1 s) had the node read and decode up to ~260 justifications each round."""
    node = start_node(tmp_path)
    try:
        ours, theirs = chain_of(16, ("alice",)), chain_of(16, ("bob",))
        finalize_ours(node, ours)
        peer = RemotePeer(theirs, justifications={})
        bridge = NetworkBridge(node, FakeP2P({"12D3KooWLiar": peer}), far_future_ms)  # type: ignore[arg-type]
        for n in range(1, 8):  # each status claims another block of theirs, at or below our finalized height
            claimed = theirs.db.canonical_hash(n)
            assert claimed is not None
            status = sync.PeerStatus(theirs.head.number, theirs.head_hash, n, claimed)
            await bridge._probe_conflict("12D3KooWLiar", status)  # noqa: SLF001 - the probe under attack
        reads = [protocol for protocol, _ in peer.requests if protocol == "sync/justifications"]
        assert len(reads) == 2  # one probe: the justifications from an epoch, and the latest
    finally:
        node.close()


async def test_a_probe_hands_the_event_loop_back_between_justifications(tmp_path: Path) -> None:
    """A probe's justifications (each up to 1,000 votes to decode) are imported one at a time with the loop handed back
    between them: the slot loop never waits for a whole probe."""
    node = start_node(tmp_path)
    try:
        ours = chain_of(16, ("alice",))
        finalize_ours(node, ours)
        raws = list(signed_finality(chain_of(16, ("bob",)), ("bob",)).values())  # a minority's: weighed, not taken
        bridge = NetworkBridge(node, FakeP2P({}), far_future_ms)  # type: ignore[arg-type]
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.get_running_loop().create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        await bridge._import_yielding(raws, "12D3KooWOther")  # noqa: SLF001 - the import under test
        task.cancel()
        assert len(raws) >= 3 and ticks - before >= len(raws) - 1
    finally:
        node.close()


async def test_an_invalid_justification_in_a_probe_s_answer_costs_the_peer_and_ends_the_import(tmp_path: Path) -> None:
    """A probe reads what a peer chose to send: a justification with a bad signature by a validator ends the import
    there and costs the peer, as the periodic justification fetch does."""
    node = start_node(tmp_path)
    try:
        ours = chain_of(16, ("alice",))
        finalize_ours(node, ours)
        raws = list(signed_finality(chain_of(16, ("bob",)), ("alice", "bob")).values())
        first = Justification.decode(raws[0])
        forged = first.replace(votes=tuple(v.replace(signature=bytes(64)) for v in first.votes)).encode()
        p2p = FakeP2P({})
        bridge = NetworkBridge(node, p2p, far_future_ms)  # type: ignore[arg-type]
        await bridge._import_yielding([forged, *raws], "12D3KooWLiar")  # noqa: SLF001 - the import under test
        assert [peer for peer, _ in p2p.penalised] == ["12D3KooWLiar"]
        assert node.finality.conflict is None  # nothing after the forged one was read
    finally:
        node.close()
