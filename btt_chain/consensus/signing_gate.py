"""When a validator may sign at all, after it starts: the pure rules behind signing safety across a restore (DESIGN,
consensus item 6). No clock reads, no I/O: the inputs are block numbers, slots, epochs and keys, so the node
(`btt_chain.node.signing_watch`) and the finality simulation run the very same rules.

- **Caught up** (`catch_up_gap`). A validator signs nothing until it has caught up with its peers: it has heard the
  status (best and finalized block) of at least one peer, and for every peer whose status it holds, its finalized
  block is at least as high as the peer's and its best block is at least as high as the peer's or it holds the peer's
  best block. A node that expects no peers (no network, or no bootnode and every validator of the set its own) is
  caught up at once; a network started from genesis is caught up as soon as the nodes hear each other (all at 0).
- **Backed claims** (`PeerClaim`). A status is only a claim: one peer that says it finalized #999,990 and serves
  nothing would hold every restarted validator silent. So a peer's status counts only while its claim ahead of this
  node stands: the node fetches what it claims, and a peer that answers with nothing, or with blocks other than those
  asked for, or whose status contradicts itself (finalized above its best; a best block held here without its
  finalized block), is refuted at once (penalised; its status no longer counts until it serves something new or
  claims no more than this node holds). One that keeps answering without bringing this node any nearer (timeouts, a
  best block shown but no blocks toward it, justifications that do not finalize what it claims) stops counting after
  `CLAIM_STALL_S` and `CLAIM_STALL_ATTEMPTS` such answers, with one loud warning naming it. An honest peer ahead
  serves its blocks and stays counted all the way, so a validator restored from a backup still waits for it; a
  refuted peer is not a status heard (a lone liar leaves the node waiting as no peer does).
- **Doppelganger watch** (`DoppelgangerWatch`). A validator started without signing records while the chain is past
  genesis (`was_past_genesis`) first watches the network for a number of epochs for votes and blocks signed by its
  own keys (or by another key of its validator account where the chain does not entitle that key to sign) that were
  signed after it started watching: a vote whose target epoch begins after the watch began (`first_epoch`), a block
  of a later slot. It signs nothing while watching, refuses to sign for good once it has seen one, and signs once
  `epochs` full epochs have passed clean (from `end_slot`). Its own older votes are not a sighting: they are folded
  into its record (`merge_signed_votes`), so it never signs below them.
- **One process, one validator** (`choose_validator`). When a node's keys sign for two validator accounts of one set,
  it keeps signing for the account it signed for first and refuses the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum

from btt_chain.consensus.signed_votes import KEEP_VOTES, SignedVotes
from btt_chain.primitives.vote import Checkpoint

DEFAULT_WATCH_EPOCHS = 2
"""Epochs a validator started without signing records watches the network before it signs (`--doppelganger-epochs`)."""


# caught up ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PeerPosition:
    """What one peer's status says, and whether this node holds the peer's best block."""

    peer: str
    """A short name of the peer (for the reason given while waiting)."""
    best_number: int
    finalized_number: int
    holds_best: bool
    """This node holds the block the peer calls its best (on whichever branch), or knows it is on a branch its own
    finality has left."""


@dataclass(frozen=True)
class CatchUpGap:
    """Why a node is not caught up with its peers yet."""

    kind: str
    """`no peer`, `finality` or `best`: the node logs the reason again only when this changes."""
    text: str


def catch_up_gap(best_number: int, finalized_number: int, peers: Sequence[PeerPosition],
                 peers_expected: bool) -> CatchUpGap | None:
    """None when a node at `best_number` and `finalized_number` has caught up with `peers` (every status it holds
    whose claim stands: see `PeerClaim`); otherwise the first gap."""
    if not peers_expected:
        return None
    if not peers:
        return CatchUpGap("no peer", "no peer has told its best and finalized blocks yet")
    for p in peers:
        if finalized_number < p.finalized_number:
            return CatchUpGap("finality", f"peer {p.peer} has finalized #{p.finalized_number}, this node "
                                          f"#{finalized_number}")
    for p in peers:
        if best_number < p.best_number and not p.holds_best:
            return CatchUpGap("best", f"peer {p.peer} is at #{p.best_number}, this node at #{best_number}")
    return None


def is_ahead_of(p: PeerPosition, best_number: int, finalized_number: int) -> bool:
    """Whether `p`'s status keeps a node at `best_number` and `finalized_number` from being caught up with it."""
    return finalized_number < p.finalized_number or (best_number < p.best_number and not p.holds_best)


def status_contradiction(p: PeerPosition, holds_finalized: bool) -> str | None:
    """Why a status ahead of this node cannot be true, or None. `holds_finalized`: this node holds the block the peer
    calls finalized (or it lies below the blocks this node keeps): the ancestor of a best block this node holds is
    held too."""
    if p.finalized_number > p.best_number:
        return f"its finalized block #{p.finalized_number} is above its best #{p.best_number}"
    if p.holds_best and not holds_finalized:
        return f"this node holds its best block #{p.best_number} but not the block it calls finalized"
    return None


CLAIM_STALL_S = 300.0
"""How long a peer's claim ahead of this node keeps counting while fetching from it brings nothing new (then it stops
counting, with a warning): long enough for a slow honest peer, short of silencing a validator for good."""
CLAIM_STALL_ATTEMPTS = 3
"""Answers that brought nothing new, at least, before a claim stops counting for stalling (a pause of our own, such
as waiting for a weights blob, asks nothing and counts nothing)."""


@dataclass(frozen=True)
class PeerClaim:
    """How one peer has backed its status while that claims more than this node holds, as an immutable value. The
    catch-up gate counts the peer's status while `counts`."""

    unbacked: str | None = None
    """Why the claim stopped counting (None while it counts)."""
    stalled_since: float | None = None
    """When an answer of the peer first brought nothing new (seconds on the node's monotonic clock; None while its
    last answer did)."""
    stalled_answers: int = 0

    @property
    def counts(self) -> bool:
        return self.unbacked is None

    def served(self) -> PeerClaim:
        """It served something new: its claim counts (again)."""
        return PeerClaim()

    def refuted(self, why: str) -> PeerClaim:
        """It failed to serve what it claims, or its status contradicts itself: its claim stops counting at once."""
        return self if self.unbacked is not None else replace(self, unbacked=why)

    def stalled(self, now: float, why: str) -> PeerClaim:
        """An answer (at `now`) that brought this node nothing new: the claim stops counting once such answers have
        lasted `CLAIM_STALL_S` and numbered `CLAIM_STALL_ATTEMPTS`."""
        since = now if self.stalled_since is None else self.stalled_since
        claim = replace(self, stalled_since=since, stalled_answers=self.stalled_answers + 1)
        if claim.counts and claim.stalled_answers >= CLAIM_STALL_ATTEMPTS and now - since >= CLAIM_STALL_S:
            return replace(claim, unbacked=f"{why} for {now - since:.0f} s")
        return claim


def was_past_genesis(start_head: int, start_slot: int, first_block_slot: int | None,
                     peer_best_numbers: Iterable[int]) -> bool:
    """Whether the chain was past genesis when the node started in `start_slot` with its head at `start_head`: its own
    head was above block 0, or the chain it caught up with has a block #1 of a slot at or before `start_slot`
    (`first_block_slot`; None when it holds no block #1: then whether any peer is past block 0). A node started before
    the chain's first block (a network started from genesis all at once) finds nobody can have signed with its keys
    before it started."""
    if start_head > 0:
        return True
    if first_block_slot is None:
        return any(n > 0 for n in peer_best_numbers)
    return first_block_slot <= start_slot


# doppelganger watch ------------------------------------------------------------------------------------------------
class Verdict(Enum):
    """What one signed vote or block seen on the network means to the watch."""

    NOT_OURS = "not ours"
    """Signed by someone else."""
    OURS = "ours"
    """Signed by this node itself (it is in its record): nothing to learn."""
    OLD = "old"
    """Ours, or our account's, from before the watch began: not a sighting, but folded into the vote record."""
    ENTITLED = "entitled"
    """Another key of our account that the chain names for that epoch or slot (a rotation's hand-over)."""
    DOPPELGANGER = "doppelganger"
    """Signed with our key (or our account's, where the chain names our key) after the watch began, not by us."""


class WatchState(Enum):
    WATCHING = "watching"
    CLEAR = "clear"
    REFUSED = "refused"


@dataclass(frozen=True)
class Identity:
    """Whose signatures count as this node's: its session keys, and the validator accounts they sign for."""

    keys: frozenset[bytes]
    accounts: frozenset[bytes] = frozenset()

    def owns(self, signer: bytes, account: bytes | None) -> str | None:
        """`key` when `signer` is one of our keys, `account` when the chain says it signs for one of our accounts,
        else None."""
        if signer in self.keys:
            return "key"
        if account is not None and account in self.accounts:
            return "account"
        return None


@dataclass(frozen=True)
class Sighting:
    """A signature by our key (or account) made after the watch began, not by this node."""

    signer: bytes
    what: str
    """`vote S -> T` or `block at slot S`."""

    def __str__(self) -> str:
        return f"{self.what} signed by 0x{self.signer.hex()}"


@dataclass(frozen=True)
class DoppelgangerWatch:
    """A validator's watch for a second signer of its keys, as an immutable value: `observe_*` return the watch after
    the observation and what it meant; `state(slot)` says whether the validator may sign in `slot`."""

    start_slot: int
    """The slot in which the watch began (the node started)."""
    epoch_slots: int
    epochs: int
    """Full epochs to watch before signing (0: no wait; sightings still refuse)."""
    sighting: Sighting | None = None
    """The first sighting, once there is one: the validator refuses to sign for good."""

    @property
    def first_epoch(self) -> int:
        """The first epoch that begins after the watch began: a vote for it or later was signed after that."""
        return self.start_slot // self.epoch_slots + 1

    @property
    def end_slot(self) -> int:
        """The first slot in which the validator may sign, if the watch stays clean."""
        if self.epochs <= 0:
            return self.start_slot
        return (self.first_epoch + self.epochs) * self.epoch_slots

    def state(self, slot: int) -> WatchState:
        if self.sighting is not None:
            return WatchState.REFUSED
        return WatchState.WATCHING if slot < self.end_slot else WatchState.CLEAR

    def without_wait(self) -> DoppelgangerWatch:
        """The same watch with no epochs to wait (the chain was at genesis: nobody can have signed before)."""
        return replace(self, epochs=0)

    def observe_vote(self, identity: Identity, signer: bytes, account: bytes | None, source_epoch: int,
                     target_epoch: int, record: SignedVotes, entitled: bool,
                     link: tuple[Checkpoint, Checkpoint] | None = None) -> tuple[DoppelgangerWatch, Verdict]:
        """A vote `source_epoch -> target_epoch` by `signer` (a verified signature) whose account the chain gives as
        `account` (None: unknown). `record`: this node's signed votes (a vote in it is its own); `entitled`: the
        vote's target set names `signer` (or this node cannot tell). `link`: the vote's checkpoints, to tell this
        node's own votes by their hashes too."""
        owner = identity.owns(signer, account)
        if owner is None:
            return self, Verdict.NOT_OURS
        if owner == "key" and _in_record(record, source_epoch, target_epoch, link):
            return self, Verdict.OURS
        if target_epoch < self.first_epoch:
            return self, Verdict.OLD
        if owner == "account" and entitled:
            return self, Verdict.ENTITLED
        return self._seen(Sighting(signer, f"vote {source_epoch} -> {target_epoch}")), Verdict.DOPPELGANGER

    def observe_block(self, identity: Identity, signer: bytes, account: bytes | None, slot: int,
                      authored_here: bool = False) -> tuple[DoppelgangerWatch, Verdict]:
        """A block of `slot` sealed by `signer` (a block the chain imported: its author was entitled to the slot).
        `authored_here`: this node made it."""
        owner = identity.owns(signer, account)
        if owner is None:
            return self, Verdict.NOT_OURS
        if authored_here:
            return self, Verdict.OURS
        if slot <= self.start_slot:
            return self, Verdict.OLD
        if owner == "account":
            return self, Verdict.ENTITLED  # the schedule named that key for the slot: a hand-over, not a twin
        return self._seen(Sighting(signer, f"block at slot {slot}")), Verdict.DOPPELGANGER

    def _seen(self, sighting: Sighting) -> DoppelgangerWatch:
        return self if self.sighting is not None else replace(self, sighting=sighting)


def _in_record(record: SignedVotes, source_epoch: int, target_epoch: int,
               link: tuple[Checkpoint, Checkpoint] | None) -> bool:
    """Whether the record holds this vote, or cannot tell (it is older than every vote the record keeps, which is
    full): a vote this node signed is never taken for a second signer's."""
    for s, t in record.votes:
        if s.epoch == source_epoch and t.epoch == target_epoch and (link is None or (s, t) == link):
            return True
    return len(record.votes) >= KEEP_VOTES and target_epoch < record.votes[0][1].epoch


# folding votes into the record ---------------------------------------------------------------------------------------
def merge_signed_votes(a: SignedVotes, b: SignedVotes) -> SignedVotes:
    """The record that refuses everything either refuses: the higher watermarks (raised to every vote kept) and the
    union of the votes, oldest target first, the newest KEEP_VOTES kept (the watermarks cover the rest)."""
    links = sorted(set(a.votes) | set(b.votes), key=lambda v: (v[1].epoch, v[0].epoch, v[0].block_hash,
                                                                  v[1].block_hash))
    max_source = max([a.max_source, b.max_source, *(s.epoch for s, _ in links)])
    max_target = max([a.max_target, b.max_target, *(t.epoch for _, t in links)])
    return SignedVotes(max_source, max_target, tuple(links[-KEEP_VOTES:]))


def record_of(links: Iterable[tuple[Checkpoint, Checkpoint]]) -> SignedVotes:
    """A record holding exactly `links` (seen on the network, say), to fold with `merge_signed_votes`."""
    return merge_signed_votes(SignedVotes(), SignedVotes(votes=tuple(links)))


# one validator per process -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ValidatorChoice:
    account: bytes | None
    """The account this node signs for (None: none of its keys is in the set)."""
    refused: tuple[bytes, ...]
    """Accounts this node's keys could also sign for and must not."""


def choose_validator(accounts: Sequence[bytes], signing_for: bytes | None) -> ValidatorChoice:
    """`accounts`: the validator accounts this node's keys sign for in the set, in the set's order. It keeps signing for
    `signing_for` (the account it signed for first) while that is among them, otherwise for the first; the rest are
    refused."""
    distinct = list(dict.fromkeys(accounts))
    if not distinct:
        return ValidatorChoice(None, ())
    chosen = signing_for if signing_for in distinct else distinct[0]
    return ValidatorChoice(chosen, tuple(a for a in distinct if a != chosen))
