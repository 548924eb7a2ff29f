"""Warp proofs (issue 44): a chain of checkpoint fragments verifies from a trusted start to a finalized block, and
every forgery a peer could send is refused with the reason: a forged or missing signature, voters outside the set,
too little stake, a set that is not the header's state, a swapped set signed by its own keys (trust carried only by
the trusted set), a proof made for another chain, a gap past the slashable window, a fork signed by old keys when a
trusted checkpoint is given, bytes that do not decode. Fragments are built over real state trees."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.consensus.warp import (
    SET_KEY,
    SetProof,
    Trusted,
    WarpFragment,
    WarpProgress,
    WarpProof,
    WarpProofError,
    trust_checkpoint,
    verify_fragment,
    verify_proof_part,
)
from btt_chain.primitives.block import Digest, Header
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.vote import Checkpoint, Justification, sign_vote
from runtime.session import storage as session
from runtime.session.types import ValidatorInfo
from storage.memory import MemoryStore
from storage.state_tree import StateTree, leaf_records

GENESIS = b"\x11" * 32
E = 10
GAP = 24
HONEST = [dev_keypair(n) for n in ("alice", "bob", "charlie", "dave")]
BOND = 10**22


def set_value(keys: list[Keypair], bond: int = BOND) -> bytes:
    return session.queued.codec.encode(tuple(ValidatorInfo(k.public, k.public, bond, k.public) for k in keys))


@dataclass
class Block:
    header: Header
    value: bytes
    siblings: tuple[bytes, ...]


def checkpoint_block(number: int, epoch: int, keys: list[Keypair], salt: bytes = b"") -> Block:
    """A block at the end of epoch - 1 whose state queues `keys` (and holds something else, so roots differ)."""
    value = set_value(keys)
    state = {SET_KEY: value, b"other": blake2b_256(salt + number.to_bytes(8, "big"))}
    tree = StateTree(MemoryStore())
    root = tree.load_records(leaf_records(state))
    header = Header(b"\x00" * 32, number, epoch * E - 1, 1_000 + epoch, root, b"\x01" * 32, b"\x02" * 32,
                    keys[0].public, Digest())
    return Block(header, value, tree.prove(SET_KEY).siblings)


def justify(source: Checkpoint, target: Checkpoint, keys: list[Keypair], genesis: bytes = GENESIS) -> bytes:
    votes = tuple(sorted((sign_vote(k, genesis, source, target) for k in keys), key=lambda v: v.validator))
    return Justification(target, source, votes).encode()


def fragment(block: Block, epoch: int, justification: bytes, value: bytes | None = None) -> WarpFragment:
    return WarpFragment(block.header, epoch, justification, SetProof(value or block.value, block.siblings))


def genesis_trust(keys: list[Keypair] = HONEST) -> Trusted:
    return Trusted(0, GENESIS, 0, b"\x00" * 32, ValidatorSet((k.public, BOND) for k in keys))


def honest_chain(epochs: list[int], signers: list[Keypair] = HONEST[:3]) -> tuple[list[WarpFragment], bytes]:
    """Fragments for checkpoints of `epochs` (each justified by `signers` from the one before), and the
    justification finalizing the last."""
    out = []
    source = Checkpoint(0, GENESIS)
    for i, e in enumerate(epochs):
        block = checkpoint_block(10 * (i + 1), e, HONEST)
        target = Checkpoint(e, block.header.hash())
        out.append(fragment(block, e, justify(source, target, signers)))
        source = target
    final = justify(source, Checkpoint(source.epoch + 1, b"\x33" * 32), signers)
    return out, final


def verify_all(fragments: list[WarpFragment], final: bytes = b"", start: Trusted | None = None,
               genesis: bytes = GENESIS) -> WarpProgress:
    proof = WarpProof(tuple(fragments), final, bool(final))
    return verify_proof_part(WarpProgress(start or genesis_trust()), proof, genesis, E, GAP)


def test_an_honest_proof_reaches_its_finalized_checkpoint() -> None:
    fragments, final = honest_chain([3, 20, 41])
    progress = verify_all(fragments, final)
    assert progress.finalized and progress.trusted.epoch == 41
    assert progress.trusted.block_hash == fragments[-1].header.hash()
    assert progress.trusted.state_root == fragments[-1].header.state_root
    # in parts, as a node fetches them
    part = verify_proof_part(WarpProgress(genesis_trust()), WarpProof(tuple(fragments[:2]), b"", False), GENESIS, E,
                             GAP)
    assert not part.finalized and part.trusted.epoch == 20
    assert verify_proof_part(part, WarpProof(tuple(fragments[2:]), final, True), GENESIS, E, GAP).finalized


def tampered_justification(j: bytes, **changes: object) -> bytes:
    parsed = Justification.decode(j)
    return parsed.replace(**changes).encode()


@pytest.mark.parametrize("attack", [
    "bad signature", "too few voters", "voter outside the set", "twice the same voter", "another target",
    "set not in the header's state", "swapped set signed by its own keys", "another chain", "gap past the window",
    "garbage justification", "out of order", "no finality for a complete proof", "finality from another source",
])
def test_each_forgery_is_refused_with_its_reason(attack: str) -> None:
    fragments, final = honest_chain([3, 20])
    f = fragments[1]
    j = Justification.decode(f.justification)
    mallory = [Keypair(bytes([i]) * 32) for i in range(1, 5)]
    if attack == "bad signature":
        bad = j.votes[0].replace(signature=bytes(64))
        fragments[1] = f.replace(justification=tampered_justification(f.justification, votes=(bad, *j.votes[1:])))
        reason = "bad signature"
    elif attack == "too few voters":
        fragments[1] = f.replace(justification=tampered_justification(f.justification, votes=j.votes[:2]))
        reason = "below 2/3"
    elif attack == "voter outside the set":
        outsider = sign_vote(mallory[0], GENESIS, j.source, j.target)
        fragments[1] = f.replace(justification=tampered_justification(f.justification, votes=(*j.votes, outsider)))
        reason = "not in the validator set"
    elif attack == "twice the same voter":
        fragments[1] = f.replace(justification=tampered_justification(f.justification,
                                                                      votes=(j.votes[0], j.votes[0])))
        reason = "counted twice"
    elif attack == "another target":
        fragments[1] = f.replace(epoch=21)
        reason = "not this block"
    elif attack == "set not in the header's state":
        fragments[1] = f.replace(voters=SetProof(set_value(HONEST[:3]), f.voters.siblings))
        reason = "state proof"
    elif attack == "swapped set signed by its own keys":
        block = checkpoint_block(20, 20, mallory)
        target = Checkpoint(20, block.header.hash())
        fragments[1] = fragment(block, 20, justify(j.source, target, mallory))
        final = justify(target, Checkpoint(21, b"\x33" * 32), mallory)
        reason = "of the set trusted at epoch 3"
    elif attack == "another chain":
        other = b"\x22" * 32
        fragments[1] = f.replace(justification=justify(j.source, j.target, HONEST[:3], genesis=other))
        reason = "bad signature"
    elif attack == "gap past the window":
        block = checkpoint_block(20, 3 + GAP + 1, HONEST)
        target = Checkpoint(3 + GAP + 1, block.header.hash())
        fragments[1] = fragment(block, 3 + GAP + 1, justify(j.source, target, HONEST[:3]))
        reason = "slashable"
    elif attack == "garbage justification":
        fragments[1] = f.replace(justification=b"\xff" * 40)
        reason = "does not decode"
    elif attack == "out of order":
        fragments = [fragments[1], fragments[0]]
        reason = "not within"
    elif attack == "no finality for a complete proof":
        with pytest.raises(WarpProofError, match="ends without"):
            verify_proof_part(WarpProgress(genesis_trust()), WarpProof(tuple(fragments), b"", True), GENESIS, E, GAP)
        return
    else:
        final = justify(Checkpoint(3, fragments[0].header.hash()), Checkpoint(21, b"\x33" * 32), HONEST[:3])
        reason = "not"
    with pytest.raises(WarpProofError, match=reason):
        verify_all(fragments, final)


def test_a_fork_signed_by_old_keys_is_refused_by_the_trusted_checkpoint() -> None:
    # the genesis validators have long unbonded; their keys sign a fork with the same set at every epoch
    honest, final = honest_chain([3, 20, 41])
    checkpoint = honest[1]
    fork = []
    source = Checkpoint(0, GENESIS)
    for i, e in enumerate((3, 20, 41)):
        block = checkpoint_block(10 * (i + 1), e, HONEST, salt=b"fork")
        target = Checkpoint(e, block.header.hash())
        fork.append(fragment(block, e, justify(source, target, HONEST)))
        source = target
    fork_final = justify(source, Checkpoint(42, b"\x44" * 32), HONEST)
    assert verify_all(fork, fork_final).finalized  # from genesis alone nothing tells them apart (weak subjectivity)
    # a node with the trusted checkpoint starts from it: the fork does not hold it
    with pytest.raises(WarpProofError, match="not the trusted checkpoint"):
        trust_checkpoint(fork[1], checkpoint.header.hash(), checkpoint.header.number)
    start = trust_checkpoint(checkpoint, checkpoint.header.hash(), checkpoint.header.number)
    assert start.epoch == 20 and start.voters == ValidatorSet((k.public, BOND) for k in HONEST)
    with pytest.raises(WarpProofError, match="not within"):
        verify_all([fork[1], fork[2]], fork_final, start=start)  # the fork's epoch-20 block is no successor
    with pytest.raises(WarpProofError, match="do not vote from its chain"):
        verify_all([fork[2]], fork_final, start=start)  # its voters' source is the fork's epoch-20 block
    assert verify_all([honest[2]], final, start=start).finalized


def test_a_set_that_turns_over_by_more_than_a_third_at_once_cannot_be_crossed() -> None:
    new = [Keypair(bytes([i]) * 32) for i in range(10, 14)]
    first = checkpoint_block(10, 3, HONEST)
    cp3 = Checkpoint(3, first.header.hash())
    fragments = [fragment(first, 3, justify(Checkpoint(0, GENESIS), cp3, HONEST))]
    second = checkpoint_block(20, 4, new)
    cp4 = Checkpoint(4, second.header.hash())
    fragments.append(fragment(second, 4, justify(cp3, cp4, new)))
    with pytest.raises(WarpProofError, match="below 2/3"):
        verify_all(fragments)
    # one step at a time it can: a third changes, the rest carry the trust
    mixed = HONEST[:3] + new[:1]
    second = checkpoint_block(20, 4, mixed)
    cp4 = Checkpoint(4, second.header.hash())
    fragments[1] = fragment(second, 4, justify(cp3, cp4, HONEST[:3]))
    progress = verify_all(fragments)
    assert progress.trusted.voters == ValidatorSet((k.public, BOND) for k in mixed)


def test_a_fragment_alone_checks_its_header_against_the_trusted_position() -> None:
    fragments, _ = honest_chain([3])
    with pytest.raises(WarpProofError, match="cannot be epoch"):
        early = fragments[0].header.replace(number=0)
        verify_fragment(genesis_trust(), fragments[0].replace(header=early), GENESIS, E, GAP)
