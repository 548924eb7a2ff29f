"""Warp proofs: how a node that joins a long chain learns its latest finalized block without replaying it.

A warp proof is a short chain of *fragments*, each an epoch's checkpoint block's header, the justification that 2/3
of the epoch's validator set voted for it, and that set: `session.queued` in the block's post-state, with its state
proof against the header's state root. A verifier holds a trusted start (the genesis state it builds itself, or the
chain spec's trusted checkpoint, an epoch checkpoint block whose header and set the first fragment gives) and takes
each fragment only if:

- its justification targets exactly this header (epoch and hash), from the trusted checkpoint or a later source
  (voters vote from the latest justified checkpoint on their chain), every vote is signed for this chain (genesis
  hash), one link, no voter twice, and its voters hold 2/3 of the fragment's own set (the chain's finality rule), the
  set being the proven value in the header's state;
- and its voters' keys also hold 2/3 of the *trusted* set, the one of the fragment before. This carries trust: the
  fragment's header, so its state root, so its set, are taken only on the word of the validators already trusted
  (Tendermint's light-client rule, at 2/3). Under the chain's own assumption (less than 1/3 of any set's stake
  faulty) 2/3 of a trusted set holds honest validators, who vote only for checkpoints on their chain;
- and it is at most `max_gap` epochs after the fragment before (the chain's unbonding period over two): the trusted
  validators are then still bonded, so signing a checkpoint of another history is a slashable double vote. Older
  keys signing a long-range fork are stopped as in full sync, by the trusted checkpoint.

The last fragment must be *finalized*: the proof ends with the justification of the next epoch's checkpoint whose
source is the last fragment, signed by 2/3 of its set. The state downloaded is that block's.

A prover picks, from each trusted fragment, the furthest justified checkpoint (within `max_gap`) that 2/3 of the
trusted set voted for, so a proof grows with the validator set's turnover and the chain's age over the unbonding
period, not with the number of blocks: a year of hourly epochs is a few dozen fragments. A set that changes by more
than a third between two consecutive epochs cannot be crossed: the proof stops before it, and the node syncs the rest
block by block (`WarpProgress.stopped`).

Weak subjectivity. All of this holds only while the validators trusted at the start are still bonded: a warp may
start from genesis (or a trusted checkpoint) only while the local clock is at most `max_gap` epochs past it
(`is_within_weak_subjectivity_period`); past that a node needs a more recent trusted checkpoint.

Several proofs. Two proofs that both verify may still end at conflicting finalized checkpoints (a long-range fork
signed by keys once staked verifies like the real chain): `relate_proofs` says, from the checkpoints each went
through, whether one's end is on the other's chain, whether they name different blocks for one epoch (two chains),
or whether the proofs alone cannot tell (then the client asks the higher peer for a proof from the lower checkpoint).

Everything here is pure: bytes in, verdicts out. `btt_chain.node.warp_sync` fetches and serves the proofs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from btt_chain.consensus.finality import verify_justification
from btt_chain.consensus.validator_set import ValidatorSet, has_supermajority
from btt_chain.primitives.block import Header
from btt_chain.primitives.codec import BOOL, HASH, U64, Bytes, ListOf, Nested, Struct
from btt_chain.primitives.errors import BttError, DecodeError
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.vote import Checkpoint, Justification
from runtime.overlay import DictState, Overlay
from runtime.session import storage as session
from storage.smt import SmtProof, key_path, verify_proof

MAX_SET_BYTES = 1000 * 112 + 8
"""The encoded `session.queued` of a full set (1,000 validators of 112 bytes each, and its length)."""
MAX_FRAGMENTS = 64
"""Fragments in one response; a longer proof is fetched in parts, each from the last fragment verified."""
MAX_PROOF_BYTES = 16 * 1024 * 1024
"""The largest warp proof response accepted (64 fragments of a full 1,000-validator set are about 14 MiB)."""
SET_KEY = session.queued.key
"""The state key whose value a fragment proves: the validators queued in the checkpoint block's post-state."""


class WarpProofError(BttError):
    """A warp proof that does not hold: a provable lie by the peer that sent it (it is banned for it)."""


@dataclass(frozen=True)
class SetProof(Struct):
    """`session.queued`'s value in a block's post-state and the siblings of its state proof (an inclusion proof:
    the leaf is the key's path and the value's hash, so it is not sent)."""

    value: bytes
    siblings: tuple[bytes, ...]
    WIRE = (("value", Bytes(max_len=MAX_SET_BYTES)), ("siblings", ListOf(HASH, 256)))

    def voters(self, state_root: bytes) -> ValidatorSet:
        """The set this proves under `state_root`; WarpProofError if it does not."""
        proof = SmtProof(self.siblings, (key_path(SET_KEY), blake2b_256(self.value)))
        if not verify_proof(state_root, SET_KEY, self.value, proof):
            raise WarpProofError("the validator set's state proof does not lead to the header's state root")
        try:
            infos = session.queued.codec.decode(self.value)
        except DecodeError as exc:
            raise WarpProofError(f"the proven validator set does not decode: {exc}") from None
        return ValidatorSet.from_infos(infos)


@dataclass(frozen=True)
class WarpFragment(Struct):
    """One epoch's checkpoint block: its header, the justification of it as that epoch's checkpoint (empty for the
    trusted checkpoint itself, which the verifier knows by hash), and its set."""

    header: Header
    epoch: int
    justification: bytes
    """The encoded Justification (empty for a fragment of the trusted checkpoint)."""
    voters: SetProof
    WIRE = (("header", Nested(Header)), ("epoch", U64), ("justification", Bytes(max_len=1 << 20)),
            ("voters", Nested(SetProof)))


@dataclass(frozen=True)
class WarpProof(Struct):
    """Fragments from the requested start on, and (when the last one is the server's latest finalized checkpoint) the
    justification that finalized it."""

    fragments: tuple[WarpFragment, ...]
    finality: bytes
    """The encoded Justification whose source is the last fragment's checkpoint, for the next epoch: empty when the
    proof goes on in another part."""
    complete: bool
    """The server has nothing past the last fragment."""
    WIRE = (("fragments", ListOf(Nested(WarpFragment), MAX_FRAGMENTS)), ("finality", Bytes(max_len=1 << 20)),
            ("complete", BOOL))


@dataclass(frozen=True)
class Trusted:
    """What the verifier trusts: a checkpoint, its block's header fields it needs, and the set that voted for it."""

    epoch: int
    block_hash: bytes
    number: int
    state_root: bytes
    voters: ValidatorSet
    header: Header | None = None
    """The header (None for genesis, which the node builds itself)."""

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.epoch, self.block_hash)


def genesis_trust(genesis_hash: bytes, state_root: bytes, genesis_state: dict[bytes, bytes]) -> Trusted:
    """The start every node has: genesis, and the set its state queues."""
    infos = session.queued.get(Overlay(DictState(genesis_state)))
    return Trusted(0, genesis_hash, 0, state_root, ValidatorSet.from_infos(infos))


def trust_checkpoint(fragment: WarpFragment, block_hash: bytes, number: int) -> Trusted:
    """The start of a node with a trusted checkpoint: the fragment of that block (by hash: no justification needed),
    which must be an epoch's checkpoint block."""
    h = fragment.header
    if h.hash() != block_hash or h.number != number:
        raise WarpProofError(f"the first fragment is block #{h.number} 0x{h.hash().hex()[:16]}, not the trusted "
                             f"checkpoint #{number} 0x{block_hash.hex()[:16]}")
    return Trusted(fragment.epoch, block_hash, number, h.state_root, fragment.voters.voters(h.state_root), h)


def verify_fragment(trusted: Trusted, fragment: WarpFragment, genesis_hash: bytes, epoch_slots: int,
                    max_gap: int) -> Trusted:
    """The fragment after `trusted`, as the new trusted checkpoint; WarpProofError (why) if it does not hold."""
    h = fragment.header
    block_hash = h.hash()
    e = fragment.epoch
    if not trusted.epoch < e <= trusted.epoch + max_gap:
        raise WarpProofError(f"fragment for epoch {e} after epoch {trusted.epoch}: not within the {max_gap} epochs "
                             "the trusted validators stay slashable")
    if h.number <= trusted.number or h.slot >= e * epoch_slots:
        raise WarpProofError(f"block #{h.number} at slot {h.slot} cannot be epoch {e}'s checkpoint after block "
                             f"#{trusted.number}")
    try:
        j = Justification.decode(fragment.justification)
    except DecodeError as exc:
        raise WarpProofError(f"fragment for epoch {e}: its justification does not decode: {exc}") from None
    if j.target != Checkpoint(e, block_hash):
        raise WarpProofError(f"fragment for epoch {e}: its justification is for {j.target}, not this block")
    if j.source != trusted.checkpoint and j.source.epoch <= trusted.epoch:
        raise WarpProofError(f"fragment for epoch {e}: its voters' source {j.source} is neither the trusted "
                             f"checkpoint {trusted.checkpoint} nor later: they do not vote from its chain")
    voters = fragment.voters.voters(h.state_root)
    why = verify_justification(j, voters, genesis_hash)
    if why is not None:
        raise WarpProofError(f"fragment for epoch {e}: {why}")
    carried = trusted.voters.stake_of(v.validator for v in j.votes)
    if not has_supermajority(carried, trusted.voters.total):
        raise WarpProofError(f"fragment for epoch {e}: its voters hold {carried} of the {trusted.voters.total} stake "
                             f"of the set trusted at epoch {trusted.epoch}, below 2/3")
    return Trusted(e, block_hash, h.number, h.state_root, voters, h)


def verify_finality(trusted: Trusted, encoded: bytes, genesis_hash: bytes) -> None:
    """That `encoded` finalizes the trusted checkpoint: a justification of the next epoch's checkpoint with it as the
    source, 2/3 of its set voting (the next epoch's set is the trusted one's but for turnover, which the 2/3 rule
    covers as in `verify_fragment`)."""
    try:
        j = Justification.decode(encoded)
    except DecodeError as exc:
        raise WarpProofError(f"the finality justification does not decode: {exc}") from None
    if j.source != trusted.checkpoint or j.target.epoch != trusted.epoch + 1:
        raise WarpProofError(f"the finality justification links {j.source} -> {j.target}, not "
                             f"{trusted.checkpoint} -> epoch {trusted.epoch + 1}")
    members = [v for v in j.votes if v.validator in trusted.voters]
    partial = Justification(j.target, j.source, tuple(members))
    why = verify_justification(partial, trusted.voters, genesis_hash)
    if why is not None:
        raise WarpProofError(f"the finality justification: {why}")


@dataclass
class WarpProgress:
    """Where a verification got: the last trusted checkpoint, whether it is finalized, and why it stopped if not."""

    trusted: Trusted
    finalized: bool = False
    stopped: str | None = None


def verify_proof_part(progress: WarpProgress, proof: WarpProof, genesis_hash: bytes, epoch_slots: int,
                      max_gap: int) -> WarpProgress:
    """Take one part of a proof on top of `progress`: each fragment in turn, then the finality justification if the
    part has one. WarpProofError at the first thing that does not hold (nothing of the part is taken then)."""
    trusted = progress.trusted
    for fragment in proof.fragments:
        trusted = verify_fragment(trusted, fragment, genesis_hash, epoch_slots, max_gap)
    finalized = False
    if proof.finality:
        verify_finality(trusted, proof.finality, genesis_hash)
        finalized = True
    elif proof.complete and proof.fragments:
        raise WarpProofError("a complete proof ends without the justification that finalized its last checkpoint")
    return WarpProgress(trusted, finalized, None if proof.fragments or proof.finality else "no fragment past it")


def compute_clock_epoch(now_ms: int, genesis_time_ms: int, slot_ms: int, epoch_slots: int) -> int:
    """The epoch the local clock is in: (now - genesis time) // slot length // slots per epoch (0 before genesis)."""
    return max(0, now_ms - genesis_time_ms) // slot_ms // epoch_slots


def is_within_weak_subjectivity_period(clock_epoch: int, start_epoch: int, max_gap: int) -> bool:
    """Whether a warp may start from a trusted checkpoint of `start_epoch` (0: genesis) at `clock_epoch`: at most
    `max_gap` epochs (half the unbonding period) later, so that the validators it trusts, whose votes carry the
    trust on, are still bonded and slashable for a fork they sign now."""
    return clock_epoch - start_epoch <= max_gap


class Relation(Enum):
    """How the finalized ends of two verified proofs relate."""

    SAME_CHAIN = "same chain"
    """The lower end is one of the checkpoints the higher proof went through: one chain."""
    CONFLICT = "conflict"
    """The proofs name different blocks for one epoch at or below the lower end: two chains."""
    UNKNOWN = "unknown"
    """The proofs alone cannot tell (the higher one stepped over the lower end's epoch)."""


def relate_proofs(lower: Sequence[Checkpoint], higher: Sequence[Checkpoint]) -> tuple[Relation, str]:
    """How two verified proofs relate, each given as the checkpoints it went through (its trusted start first, its
    finalized checkpoint last), `lower` ending at an epoch no later than `higher`; with a reason for a conflict.

    A chain has one checkpoint per epoch, so if `lower`'s end were on `higher`'s chain, every checkpoint `lower`
    went through (all at or below its end) would be `higher`'s checkpoint of that epoch too."""
    if not lower or not higher or lower[-1].epoch > higher[-1].epoch:
        raise ValueError("relate_proofs takes two non-empty proofs, the lower-ending one first")
    end = lower[-1]
    if end in higher:
        return Relation.SAME_CHAIN, ""
    theirs = {cp.epoch: cp.block_hash for cp in higher}
    for cp in lower:
        other = theirs.get(cp.epoch)
        if other is not None and other != cp.block_hash:
            return Relation.CONFLICT, (f"the two proofs name different blocks for epoch {cp.epoch}: "
                                       f"0x{cp.block_hash.hex()[:16]} and 0x{other.hex()[:16]}")
    return Relation.UNKNOWN, ""
