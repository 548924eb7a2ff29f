"""Finality vote types: checkpoints, signed (source, target) votes, and justifications.

A checkpoint names the block a chain had at an epoch boundary. A validator's vote links its latest
justified checkpoint (source) to the checkpoint of the epoch its head just entered (target), signed by
its session key over a domain-tagged payload that commits to the genesis hash, so a vote cannot be
replayed on another chain. A justification is the set of votes for one link that carried 2/3 of the
bonded stake of the target epoch's validator set (btt_chain.consensus.finality checks that).
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import HASH, U64, Bytes, ListOf, Nested, Struct
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair, verify

MAX_JUSTIFICATION_VOTES = 1000
"""No justification carries more votes than a validator set may hold (session allows 1000 validators)."""
MAX_VOTE_BYTES = 512
"""An encoded vote is about 200 bytes; anything larger is not a vote."""
VOTE_DOMAIN = b"btt-vote"


@dataclass(frozen=True)
class Checkpoint(Struct):
    """The block a chain had at the start of an epoch: the block with the highest slot below the boundary."""

    epoch: int
    """The epoch this checkpoint opens (slot // epoch_slots of the first slot after it)."""
    block_hash: bytes
    """Id of the checkpoint block (the genesis hash for epoch 0)."""

    WIRE = (("epoch", U64), ("block_hash", HASH))

    def __str__(self) -> str:
        return f"{self.epoch}:0x{self.block_hash.hex()[:16]}"


def vote_signing_payload(genesis_hash: bytes, source: Checkpoint, target: Checkpoint) -> bytes:
    """blake2b-256 of the domain tag, the genesis hash and the SCALE source and target: what a vote's signature
    covers."""
    return blake2b_256(VOTE_DOMAIN + genesis_hash + source.encode() + target.encode())


@dataclass(frozen=True)
class Vote(Struct):
    """A validator's signed finality vote for the link source -> target (source.epoch < target.epoch)."""

    source: Checkpoint
    """The voter's latest justified checkpoint."""
    target: Checkpoint
    """The checkpoint of the epoch the voter's head entered."""
    validator: bytes
    """The voter's 32-byte session key."""
    signature: bytes
    """ed25519 signature by `validator` over `vote_signing_payload(genesis_hash, source, target)`."""

    WIRE = (
        ("source", Nested(Checkpoint)),
        ("target", Nested(Checkpoint)),
        ("validator", HASH),
        ("signature", Bytes(64)),
    )

    @property
    def link(self) -> tuple[Checkpoint, Checkpoint]:
        return (self.source, self.target)

    def is_well_formed(self) -> bool:
        """The source comes strictly before the target."""
        return self.source.epoch < self.target.epoch

    def signing_payload(self, genesis_hash: bytes) -> bytes:
        return vote_signing_payload(genesis_hash, self.source, self.target)

    def verify(self, genesis_hash: bytes) -> bool:
        """Well formed and signed by `validator` for the chain with `genesis_hash`."""
        return self.is_well_formed() and verify(self.validator, self.signing_payload(genesis_hash), self.signature)


def sign_vote(pair: Keypair, genesis_hash: bytes, source: Checkpoint, target: Checkpoint) -> Vote:
    """A vote for source -> target signed by the session key `pair`. Raises ValueError if source >= target."""
    if source.epoch >= target.epoch:
        raise ValueError(f"a vote's source epoch {source.epoch} must be below its target epoch {target.epoch}")
    signature = pair.sign(vote_signing_payload(genesis_hash, source, target))
    return Vote(source, target, pair.public, signature)


@dataclass(frozen=True)
class Justification(Struct):
    """Votes for one link (source -> target) that together hold at least 2/3 of the bonded stake."""

    target: Checkpoint
    source: Checkpoint
    votes: tuple[Vote, ...]
    """Sorted by validator key when built by the vote tracker (any order verifies)."""

    WIRE = (
        ("target", Nested(Checkpoint)),
        ("source", Nested(Checkpoint)),
        ("votes", ListOf(Nested(Vote), MAX_JUSTIFICATION_VOTES)),
    )

    @property
    def link(self) -> tuple[Checkpoint, Checkpoint]:
        return (self.source, self.target)
