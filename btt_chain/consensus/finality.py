"""Casper-FFG finality (k = 1) over checkpoint votes: justification, finalization and vote tracking.

Rules (DESIGN.md, "Fork choice and finality"):

- Slot s is in epoch s // epoch_slots. The checkpoint of epoch e on a chain is its block with the highest
  slot below e * epoch_slots (genesis for e = 0). Genesis (epoch 0) is justified and finalized.
- A validator votes once per target epoch: source = its latest justified checkpoint, target = the
  checkpoint of the epoch its head entered, and only if it is in the set that votes for that target.
- The set that votes for a target checkpoint of epoch e is the validator set active in epoch e on the
  target's own chain, as its state records it (the session set queued in the target block's post-state);
  the caller supplies it through a resolver, target -> set. Nodes on different forks therefore weigh every
  vote alike, and validators that left before epoch e count for nothing there.
- A link source -> target is justified by votes for exactly that link whose voters hold at least 2/3 of
  the target set's bonded stake (voters' bond * 3 >= 2 * total bond, integers). The target becomes
  justified when the source is justified.
- When a checkpoint at epoch e + 1 is justified by a link whose source is the justified checkpoint at
  epoch e, that source is finalized.

Everything here is pure and synchronous: the caller supplies checkpoints and the resolver and persists what
comes out. The tracker never needs the block tree; it does not check that a newly finalized checkpoint
descends from the previous one (two conflicting finalized checkpoints need 1/3 of the stake to be
slashable, and the fork choice must refuse to revert below finality anyway). Votes and justifications
whose target set the resolver does not know yet (the block is not imported or executed here) are held in
small bounded buffers, neither counted nor blamed, and retried by `retry_unresolved` after blocks import.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from btt_chain.primitives.block import Header
from btt_chain.primitives.codec import AMOUNT, HASH, ListOf, Nested, Struct
from btt_chain.primitives.evidence import VoteEquivocation, is_surround_vote
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.vote import MAX_JUSTIFICATION_VOTES, Checkpoint, Justification, Vote

Link = tuple[Checkpoint, Checkpoint]
"""(source, target)."""

MAX_TRACKED_JUSTIFIED = 1 << 16


# --- epochs and checkpoints --------------------------------------------------------------------


def epoch_of(slot: int, epoch_slots: int) -> int:
    return slot // epoch_slots


def checkpoint_for_epoch(
    epoch: int,
    headers_by_number: Callable[[int], Header | None],
    head_number: int,
    *,
    epoch_slots: int,
) -> Checkpoint:
    """The checkpoint of `epoch` on the chain whose blocks `headers_by_number` returns (0..head_number).

    It is the block with the highest slot below epoch * epoch_slots, found by binary search (slots strictly
    increase along a chain); genesis (number 0) for epoch 0. If the head itself is below the boundary the
    head is returned: callers vote only once their head has entered `epoch`, when the answer is final."""
    if epoch_slots <= 0:
        raise ValueError("epoch_slots must be positive")

    def header(n: int) -> Header:
        h = headers_by_number(n)
        if h is None:
            raise LookupError(f"no header at number {n} on this chain")
        return h

    if epoch == 0:
        return Checkpoint(0, header(0).hash())
    boundary = epoch * epoch_slots
    lo, hi = 0, head_number  # invariant: block lo has a slot below the boundary (genesis has slot 0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if header(mid).slot < boundary:
            lo = mid
        else:
            hi = mid - 1
    return Checkpoint(epoch, header(lo).hash())


# --- validator sets and justification checks -------------------------------------------------------


@dataclass(frozen=True)
class Voter(Struct):
    """One member of a recorded validator set."""

    session_key: bytes
    """The key that signs its votes."""
    bond: int
    """Its voting weight: the bond it was queued with, in base units."""

    WIRE = (("session_key", HASH), ("bond", AMOUNT))


@dataclass(frozen=True)
class ValidatorSetRecord(Struct):
    """A validator set as the chain database keeps it beside blocks (content-addressed by the hash of this
    encoding): one entry per session key, sorted by key, so equal sets encode alike."""

    voters: tuple[Voter, ...]

    WIRE = (("voters", ListOf(Nested(Voter), MAX_JUSTIFICATION_VOTES)),)


class ValidatorSet:
    """Voting weights: session key -> bond. Build it once per validator-set change and pass it around."""

    __slots__ = ("weights", "total", "fingerprint")

    def __init__(self, validators: Iterable[tuple[bytes, int]]) -> None:
        weights: dict[bytes, int] = {}
        for key, bond in validators:
            if bond < 0:
                raise ValueError("a bond cannot be negative")
            # one key listed twice votes once with its combined bond
            weights[key] = weights.get(key, 0) + bond
        self.weights: Mapping[bytes, int] = weights
        self.total = sum(weights.values())
        self.fingerprint = blake2b_256(self.encode())
        """The hash of the set's record: equal sets have equal fingerprints."""

    @classmethod
    def of(cls, validators: Validators) -> ValidatorSet:
        return validators if isinstance(validators, ValidatorSet) else cls(validators)

    def to_record(self) -> ValidatorSetRecord:
        return ValidatorSetRecord(tuple(Voter(k, b) for k, b in sorted(self.weights.items())))

    def encode(self) -> bytes:
        """The canonical encoding of the set's record (what the chain database stores)."""
        return self.to_record().encode()

    @classmethod
    def decode(cls, raw: bytes) -> ValidatorSet:
        """A set from its record's encoding; DecodeError if it is not one."""
        return cls((v.session_key, v.bond) for v in ValidatorSetRecord.decode(raw).voters)

    def __contains__(self, key: object) -> bool:
        return key in self.weights

    def __len__(self) -> int:
        return len(self.weights)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValidatorSet) and self.fingerprint == other.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return f"ValidatorSet({len(self)} voters, total {self.total}, 0x{self.fingerprint.hex()[:16]})"

    def stake_of(self, keys: Iterable[bytes]) -> int:
        return sum(self.weights.get(k, 0) for k in keys)


Validators = ValidatorSet | Iterable[tuple[bytes, int]]
"""A ValidatorSet, or (session key, bond) pairs."""

SetResolver = Callable[[Checkpoint], "ValidatorSet | None"]
"""Target checkpoint -> the set that votes for it (the set active in the target's epoch on the target's own
chain), or None while the caller cannot tell (the target block is not imported or not executed yet, or not
known to be that epoch's checkpoint). Its answer for a target, once given, must never change."""


def fixed_set(validators: Validators) -> SetResolver:
    """A resolver that gives every target the same set: for a chain whose set never changes, and for tests."""
    vs = ValidatorSet.of(validators)
    return lambda _target: vs


def has_supermajority(stake: int, total: int) -> bool:
    """At least 2/3 of a positive total bond, in integers."""
    return total > 0 and stake * 3 >= total * 2


def verify_justification(
    j: Justification, validators: Validators, genesis_hash: bytes, *, check_signatures: bool = True
) -> str | None:
    """Why `j` does not justify its link against `validators`, or None if it does. `validators` must be the
    set that votes for `j.target` (the set active in the target's epoch on the target's own chain), never
    the set at some head.

    Cheap checks first (link, voters, stake), signatures last."""
    vs = ValidatorSet.of(validators)
    if j.source.epoch >= j.target.epoch:
        return f"source epoch {j.source.epoch} is not below target epoch {j.target.epoch}"
    seen: set[bytes] = set()
    for i, v in enumerate(j.votes):
        if v.source != j.source or v.target != j.target:
            return f"vote {i} is for another link ({v.source} -> {v.target})"
        if v.validator in seen:
            return f"vote {i}: validator 0x{v.validator.hex()} is counted twice"
        if v.validator not in vs:
            return f"vote {i}: 0x{v.validator.hex()} is not in the validator set"
        seen.add(v.validator)
    if vs.total == 0:
        return "the validator set has no bonded stake"
    stake = vs.stake_of(seen)
    if not has_supermajority(stake, vs.total):
        return f"the voters hold {stake} of {vs.total} bonded stake, below 2/3"
    if check_signatures:
        for i, v in enumerate(j.votes):
            if not v.verify(genesis_hash):
                return f"vote {i} by 0x{v.validator.hex()} has a bad signature"
    return None


# --- finality state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FinalityRecord(Struct):
    """What a node persists of its finality state (justified checkpoints at or above the finalized epoch)."""

    finalized: Checkpoint
    justified: tuple[Checkpoint, ...]

    WIRE = (("finalized", Nested(Checkpoint)), ("justified", ListOf(Nested(Checkpoint), MAX_TRACKED_JUSTIFIED)))


@dataclass
class FinalityState:
    """Justified checkpoints by epoch (from the finalized epoch up) and the finalized checkpoint."""

    finalized: Checkpoint
    justified: dict[int, Checkpoint]

    @classmethod
    def genesis(cls, genesis_hash: bytes) -> FinalityState:
        g = Checkpoint(0, genesis_hash)
        return cls(g, {0: g})

    @property
    def latest_justified(self) -> Checkpoint:
        return self.justified[max(self.justified)]

    def is_justified(self, cp: Checkpoint) -> bool:
        return self.justified.get(cp.epoch) == cp

    def to_record(self) -> FinalityRecord:
        return FinalityRecord(self.finalized, tuple(self.justified[e] for e in sorted(self.justified)))

    @classmethod
    def from_record(cls, record: FinalityRecord) -> FinalityState:
        justified = {cp.epoch: cp for cp in record.justified}
        if justified.get(record.finalized.epoch) != record.finalized:
            raise ValueError("the finalized checkpoint must be among the justified ones")
        return cls(record.finalized, justified)


@dataclass(frozen=True)
class FinalityUpdate:
    """What one step changed."""

    justifications: tuple[Justification, ...] = ()
    """Justifications that justified a new checkpoint or finalized one, in the order applied: persist and
    serve them beside their target blocks."""
    finalized: Checkpoint | None = None
    """The new finalized checkpoint (the highest, if several were finalized in one step)."""
    conflicts: tuple[Justification, ...] = ()
    """Supermajority links to a target whose epoch already has another justified checkpoint: a third of
    the stake equivocated. Not applied; log loudly and look for slashing evidence."""

    @property
    def justified(self) -> tuple[Checkpoint, ...]:
        return tuple(j.target for j in self.justifications)

    @property
    def changed(self) -> bool:
        return bool(self.justifications) or self.finalized is not None

    def merge(self, other: FinalityUpdate) -> FinalityUpdate:
        return FinalityUpdate(
            self.justifications + other.justifications,
            other.finalized or self.finalized,
            self.conflicts + other.conflicts,
        )


NO_UPDATE = FinalityUpdate()


class VoteStatus(StrEnum):
    ACCEPTED = "accepted"
    """New, valid and counted: gossip it on."""
    DUPLICATE = "duplicate"
    """The validator already has a vote for this link: nothing changed."""
    STALE = "stale"
    """Validly signed but too old to count (target at or below the finalized epoch, or source below it):
    kept only to catch surround votes. Do not forward; do not punish the sender."""
    INVALID = "invalid"
    """Not counted (see reason): malformed, bad signature, not in the target's set, too far ahead, or over
    quota."""
    UNRESOLVED = "unresolved"
    """Validly signed, but the target's set is not known here yet (its block is not imported or executed):
    held in a bounded buffer and counted when `retry_unresolved` finds the set. Do not forward; do not
    punish the sender."""
    EQUIVOCATION = "equivocation"
    """Valid signature but conflicts with an earlier vote of the same validator: submit the evidence."""


@dataclass(frozen=True)
class AddVoteResult:
    status: VoteStatus
    reason: str | None = None
    evidence: VoteEquivocation | None = None
    update: FinalityUpdate = NO_UPDATE

    @property
    def newly_justified(self) -> tuple[Checkpoint, ...]:
        return self.update.justified

    @property
    def newly_finalized(self) -> Checkpoint | None:
        return self.update.finalized


class JustificationStatus(StrEnum):
    APPLIED = "applied"
    """Verified and applied (see the update; it may be empty if the target was already justified)."""
    PENDING = "pending"
    """Verified, but its source is not justified yet: kept and applied when the source is."""
    IGNORED = "ignored"
    """Verified (or unverifiable) but useless here: its target is at or below the finalized epoch, or its
    source below it; or too many wait already."""
    UNRESOLVED = "unresolved"
    """Not checked yet: the target's set is not known here (its block is not imported or executed). Held in a
    bounded buffer and verified and applied when `retry_unresolved` finds the set; nobody to blame yet."""
    INVALID = "invalid"
    """Does not verify (see reason): the peer that sent it sent garbage."""


@dataclass(frozen=True)
class ImportResult:
    status: JustificationStatus
    reason: str | None = None
    update: FinalityUpdate = NO_UPDATE
    evidence: tuple[VoteEquivocation, ...] = ()
    """Equivocations between the justification's votes and votes seen before."""


@dataclass(frozen=True)
class RetryResult:
    """What `retry_unresolved` did with the votes and justifications whose target set became known."""

    votes: tuple[tuple[Vote, AddVoteResult], ...] = ()
    justifications: tuple[tuple[Justification, ImportResult], ...] = ()

    @property
    def update(self) -> FinalityUpdate:
        update = NO_UPDATE
        for _, r in self.votes:
            update = update.merge(r.update)
        for _, j in self.justifications:
            update = update.merge(j.update)
        return update

    @property
    def evidence(self) -> tuple[VoteEquivocation, ...]:
        found = [r.evidence for _, r in self.votes if r.evidence is not None]
        return tuple(found) + tuple(e for _, j in self.justifications for e in j.evidence)


# --- the tracker --------------------------------------------------------------------------------------


class VoteTracker:
    """Collects votes by link, detects double and surround votes, and justifies and finalizes checkpoints.

    Every vote and justification counts against the set `resolver` gives its target checkpoint (the set
    active in the target's epoch on the target's own chain); a link is always weighed by its own target's
    set, also when justifying one checkpoint unlocks others.

    Memory stays bounded: votes for targets at or below the finalized epoch are dropped, each validator
    may have at most `max_targets_per_validator` target epochs in memory, targets more than
    `max_future_epochs` ahead of the caller's current epoch are refused, at most
    `max_pending_justifications` verified justifications wait for their source, and at most
    `max_unresolved_votes` votes and `max_unresolved_justifications` justifications wait for their target's
    set (the oldest is dropped first: peers serve their latest justifications again). Held votes of keys in
    a set this tracker knows (at most `max_unresolved_per_validator` each) and of other keys (newcomers, or
    anybody: keys cost nothing) fill separate buffers, so a flood of strangers' votes cannot push out the
    votes of known validators."""

    def __init__(
        self,
        genesis_hash: bytes,
        resolver: SetResolver,
        state: FinalityState | None = None,
        *,
        max_targets_per_validator: int = 64,
        max_future_epochs: int = 2,
        max_pending_justifications: int = 64,
        max_unresolved_votes: int = 1024,
        max_unresolved_per_validator: int = 4,
        max_unresolved_justifications: int = 64,
    ) -> None:
        self.genesis_hash = genesis_hash
        self.resolver = resolver
        self.state = state if state is not None else FinalityState.genesis(genesis_hash)
        self.max_targets_per_validator = max_targets_per_validator
        self.max_future_epochs = max_future_epochs
        self.max_pending_justifications = max_pending_justifications
        self.max_unresolved_votes = max_unresolved_votes
        self.max_unresolved_per_validator = max_unresolved_per_validator
        self.max_unresolved_justifications = max_unresolved_justifications
        self._links: dict[Link, dict[bytes, Vote]] = {}
        """Counted votes by link, then by validator."""
        self._link_stake: dict[Link, tuple[bytes, int]] = {}
        """Cached voter stake per link, with the fingerprint of the validator set it was summed over."""
        self._done: set[Link] = set()
        """Links already applied (or refused as conflicting): later votes for them change nothing."""
        self._by_validator: dict[bytes, dict[int, Vote]] = {}
        """Every validly signed vote above the finalized epoch, by validator and target epoch."""
        self._pending: dict[Link, Justification] = {}
        """Verified justifications whose source is not justified yet."""
        self._target_sets: dict[Checkpoint, ValidatorSet] = {}
        """Target checkpoint -> the set the resolver gave it (fixed once known)."""
        self._unresolved_votes: OrderedDict[bytes, Vote] = OrderedDict()
        """Validly signed votes whose target set is not known yet, by keys of a known set, by vote hash, oldest
        first."""
        self._unresolved_strangers: OrderedDict[bytes, Vote] = OrderedDict()
        """The same for keys in no set known here (newcomers, or spam), in a buffer of their own."""
        self._unresolved_justifications: OrderedDict[bytes, Justification] = OrderedDict()
        """Justifications whose target set is not known yet, by hash, oldest first (not verified yet)."""

    # queries ------------------------------------------------------------------------------------
    @property
    def finalized(self) -> Checkpoint:
        return self.state.finalized

    @property
    def latest_justified(self) -> Checkpoint:
        return self.state.latest_justified

    @property
    def vote_count(self) -> int:
        """Votes held in memory (per validator and target epoch)."""
        return sum(len(v) for v in self._by_validator.values())

    @property
    def link_count(self) -> int:
        return len(self._links)

    @property
    def pending_justifications(self) -> int:
        return len(self._pending)

    @property
    def unresolved_votes(self) -> int:
        return len(self._unresolved_votes) + len(self._unresolved_strangers)

    @property
    def unresolved_justifications(self) -> int:
        return len(self._unresolved_justifications)

    def votes_for(self, source: Checkpoint, target: Checkpoint) -> tuple[Vote, ...]:
        return tuple(self._links.get((source, target), {}).values())

    def vote_link(self, target: Checkpoint, on_chain: Callable[[Checkpoint], bool] | None = None) -> Link | None:
        """The link this node's validator should sign for `target`: (the latest justified checkpoint that `on_chain`
        says is on the target's chain, target); None when that is not below the target (nothing to vote for).

        A justified checkpoint the fork choice has since left is no source (Casper's rule: the target descends
        from the source): a node that never saw it justified (it was away) could count no vote from it, and votes
        from the latest justified ancestor bring every node's finality on. `on_chain` None takes any."""
        for epoch in sorted(self.state.justified, reverse=True):
            source = self.state.justified[epoch]
            if on_chain is None or on_chain(source):
                return (source, target) if epoch < target.epoch else None
        return None

    def target_set(self, target: Checkpoint) -> ValidatorSet | None:
        """The set that votes for `target` (from the resolver, remembered once known), or None if unknown."""
        vs = self._target_sets.get(target)
        if vs is None:
            vs = self.resolver(target)
            if vs is not None:
                self._target_sets[target] = vs
        return vs

    # votes --------------------------------------------------------------------------------------
    def add_vote(
        self,
        vote: Vote,
        *,
        current_epoch: int | None = None,
        signature_checked: bool = False,
    ) -> AddVoteResult:
        """Check and count one vote against its target's set; justify and finalize what it completes.

        `current_epoch` (the local clock's epoch) bounds how far ahead a target may be; `signature_checked`
        skips the ed25519 check when the caller already did it (in worker processes, say). A vote whose
        target set is not known yet is held (UNRESOLVED) until `retry_unresolved` finds it."""
        if not vote.is_well_formed():
            return AddVoteResult(
                VoteStatus.INVALID,
                f"source epoch {vote.source.epoch} is not below target epoch {vote.target.epoch}",
            )
        if current_epoch is not None and vote.target.epoch > current_epoch + self.max_future_epochs:
            return AddVoteResult(
                VoteStatus.INVALID,
                f"target epoch {vote.target.epoch} is too far ahead of the current epoch {current_epoch}",
            )
        vs = self.target_set(vote.target)
        if vs is None:
            return self._hold_vote(vote, signature_checked)
        return self._count(vote, vs, signature_checked)

    def _count(self, vote: Vote, vs: ValidatorSet, signature_checked: bool) -> AddVoteResult:
        result = self._ingest(vote, vs, signature_checked)
        if result.status is not VoteStatus.ACCEPTED:
            return result
        update = self._run(self._check_link(vote.link))
        return AddVoteResult(VoteStatus.ACCEPTED, update=update)

    def _hold_vote(self, vote: Vote, signature_checked: bool) -> AddVoteResult:
        """A vote whose target set is unknown: check what can be checked without it, then keep it for later."""
        if self._stale_reason(vote.source, vote.target) is not None:
            # it could never count; only an equivocation with a vote held in memory matters
            return self._ingest(vote, None, signature_checked)
        key = vote.hash()
        if key in self._unresolved_votes or key in self._unresolved_strangers:
            return AddVoteResult(VoteStatus.DUPLICATE)
        if not signature_checked and not vote.verify(self.genesis_hash):
            return AddVoteResult(VoteStatus.INVALID, "bad signature")
        reason = f"the validator set of target {vote.target} is not known yet"
        if self._is_known_voter(vote.validator):
            held = sum(1 for v in self._unresolved_votes.values() if v.validator == vote.validator)
            if held >= self.max_unresolved_per_validator:
                return AddVoteResult(VoteStatus.UNRESOLVED, reason + " (and this validator has enough waiting)")
            buffer, bound = self._unresolved_votes, self.max_unresolved_votes
        else:
            buffer, bound = self._unresolved_strangers, max(1, self.max_unresolved_votes // 4)
        buffer[key] = vote
        while len(buffer) > bound:
            buffer.popitem(last=False)
        return AddVoteResult(VoteStatus.UNRESOLVED, reason)

    def _is_known_voter(self, key: bytes) -> bool:
        """Whether `key` is in a set this tracker resolved (or in the latest justified checkpoint's set)."""
        latest = self.target_set(self.state.latest_justified)
        return (latest is not None and key in latest) or any(key in vs for vs in self._target_sets.values())

    def _stale_reason(self, source: Checkpoint, target: Checkpoint) -> str | None:
        fin = self.state.finalized.epoch
        if target.epoch <= fin:
            return f"target epoch {target.epoch} is at or below the finalized epoch {fin}"
        if source.epoch < fin:
            return f"source epoch {source.epoch} is below the finalized epoch {fin}"
        return None

    def _ingest(self, vote: Vote, vs: ValidatorSet | None, signature_checked: bool) -> AddVoteResult:
        """Check one well-formed vote against the validator's earlier votes and record it; no justifying.

        With `vs` None (a stale vote whose target set is unknown) it is only checked for equivocation."""
        if vs is not None and vote.validator not in vs:
            return AddVoteResult(
                VoteStatus.INVALID, f"0x{vote.validator.hex()} is not in the validator set of target {vote.target}"
            )
        mine = self._by_validator.get(vote.validator, {})
        existing = mine.get(vote.target.epoch)
        if existing is not None and existing.link == vote.link:
            return AddVoteResult(VoteStatus.DUPLICATE)
        if not signature_checked and not vote.verify(self.genesis_hash):
            return AddVoteResult(VoteStatus.INVALID, "bad signature")
        # stale votes are checked too: the outer vote of a surround usually has an old source
        if existing is not None:
            return AddVoteResult(VoteStatus.EQUIVOCATION, "double vote", VoteEquivocation(existing, vote))
        for earlier in mine.values():
            if is_surround_vote(earlier, vote):
                return AddVoteResult(VoteStatus.EQUIVOCATION, "surround vote", VoteEquivocation(earlier, vote))
        stale = self._stale_reason(vote.source, vote.target)
        if vs is not None and vote.target.epoch > self.state.finalized.epoch:
            if len(mine) >= self.max_targets_per_validator:
                return AddVoteResult(VoteStatus.INVALID, "too many target epochs in memory for this validator")
            self._by_validator.setdefault(vote.validator, mine)[vote.target.epoch] = vote
        if stale is not None or vs is None:
            return AddVoteResult(VoteStatus.STALE, stale)
        self._links.setdefault(vote.link, {})[vote.validator] = vote
        cached = self._link_stake.get(vote.link)
        if cached is not None and cached[0] == vs.fingerprint:
            self._link_stake[vote.link] = (vs.fingerprint, cached[1] + vs.weights[vote.validator])
        return AddVoteResult(VoteStatus.ACCEPTED)

    def _link_supermajority(self, link: Link, vs: ValidatorSet) -> bool:
        cached = self._link_stake.get(link)
        if cached is None or cached[0] != vs.fingerprint:
            cached = (vs.fingerprint, vs.stake_of(self._links.get(link, {})))
            self._link_stake[link] = cached
        return has_supermajority(cached[1], vs.total)

    def _check_link(self, link: Link) -> list[Justification]:
        """The tracker's own justification for `link`, if it is complete (2/3 of its own target's set) and its
        source is justified."""
        if link in self._done or not self.state.is_justified(link[0]):
            return []
        vs = self.target_set(link[1])
        if vs is None or not self._link_supermajority(link, vs):
            return []
        votes = self._links[link]
        counted = tuple(votes[k] for k in sorted(votes) if k in vs)
        return [Justification(link[1], link[0], counted)]

    # justifications -------------------------------------------------------------------------------
    def import_justification(self, j: Justification, *, signature_checked: bool = False) -> ImportResult:
        """Verify a justification from a peer or from sync against its target's set, then apply it (or keep
        it until its source is justified, or until its target's set is known). Its votes also feed double and
        surround vote detection."""
        vs = self.target_set(j.target)
        if vs is None:
            stale = self._stale_reason(j.source, j.target)
            if stale is not None:
                return ImportResult(JustificationStatus.IGNORED, stale)
            key = j.hash()
            self._unresolved_justifications[key] = j
            self._unresolved_justifications.move_to_end(key)
            while len(self._unresolved_justifications) > self.max_unresolved_justifications:
                self._unresolved_justifications.popitem(last=False)
            return ImportResult(
                JustificationStatus.UNRESOLVED, f"the validator set of target {j.target} is not known yet"
            )
        reason = verify_justification(j, vs, self.genesis_hash, check_signatures=not signature_checked)
        if reason is not None:
            return ImportResult(JustificationStatus.INVALID, reason)
        evidence = []
        for v in j.votes:
            r = self._ingest(v, vs, signature_checked=True)
            if r.evidence is not None:
                evidence.append(r.evidence)
        found = tuple(evidence)
        stale = self._stale_reason(j.source, j.target)
        if stale is not None:
            return ImportResult(JustificationStatus.IGNORED, stale, evidence=found)
        if not self.state.is_justified(j.source):
            if j.link not in self._pending and len(self._pending) >= self.max_pending_justifications:
                return ImportResult(
                    JustificationStatus.IGNORED, "too many justifications wait for their source", evidence=found
                )
            self._pending[j.link] = j
            return ImportResult(JustificationStatus.PENDING, evidence=found)
        return ImportResult(JustificationStatus.APPLIED, update=self._run([j]), evidence=found)

    def retry_unresolved(self) -> RetryResult:
        """Count the held votes and apply the held justifications whose target set is known now (call it after
        blocks import). The rest stay held; those that became stale are dropped."""
        if not self._unresolved_votes and not self._unresolved_strangers and not self._unresolved_justifications:
            return RetryResult()
        unknown: set[Checkpoint] = set()  # one resolver call per target and round

        def known(target: Checkpoint) -> ValidatorSet | None:
            if target in unknown:
                return None
            vs = self.target_set(target)
            if vs is None:
                unknown.add(target)
            return vs

        votes: list[tuple[Vote, AddVoteResult]] = []
        for held in (self._unresolved_votes, self._unresolved_strangers):
            for key, vote in list(held.items()):
                if self._stale_reason(vote.source, vote.target) is not None:
                    del held[key]
                    continue
                vs = known(vote.target)
                if vs is None:
                    continue
                del held[key]
                votes.append((vote, self._count(vote, vs, signature_checked=True)))
        justifications: list[tuple[Justification, ImportResult]] = []
        for key, j in list(self._unresolved_justifications.items()):
            if self._stale_reason(j.source, j.target) is not None:
                del self._unresolved_justifications[key]
                continue
            if known(j.target) is None:
                continue
            del self._unresolved_justifications[key]
            justifications.append((j, self.import_justification(j)))
        return RetryResult(tuple(votes), tuple(justifications))

    def _run(self, work: list[Justification]) -> FinalityUpdate:
        """Apply justifications whose source is justified, then everything they unlock, in order. Each link
        unlocked on the way is weighed by its own target's set."""
        applied: list[Justification] = []
        conflicts: list[Justification] = []
        finalized: Checkpoint | None = None
        while work:
            j = work.pop(0)
            if j.link in self._done or not self.state.is_justified(j.source):
                continue
            self._done.add(j.link)
            self._pending.pop(j.link, None)
            existing = self.state.justified.get(j.target.epoch)
            if existing is not None and existing != j.target:
                conflicts.append(j)
                continue
            changed = False
            if existing is None:
                self.state.justified[j.target.epoch] = j.target
                changed = True
                # the new justified checkpoint may be the source that waiting links need
                for link in list(self._links):
                    if link[0] == j.target:
                        work.extend(self._check_link(link))
                work.extend(p for link, p in self._pending.items() if link[0] == j.target)
            if j.target.epoch == j.source.epoch + 1 and j.source.epoch > self.state.finalized.epoch:
                self.state.finalized = j.source
                finalized = j.source
                changed = True
            if changed:
                applied.append(j)
        if finalized is not None:
            self.prune()
        if not applied and not conflicts:
            return NO_UPDATE
        return FinalityUpdate(tuple(applied), finalized, tuple(conflicts))

    # memory -----------------------------------------------------------------------------------------
    def prune(self) -> None:
        """Forget votes, links and justified checkpoints that can no longer matter (below finality)."""
        fin = self.state.finalized.epoch

        def dead(link: Link) -> bool:
            return link[1].epoch <= fin or link[0].epoch < fin

        for link in [k for k in self._links if dead(k)]:
            del self._links[link]
            self._link_stake.pop(link, None)
        self._done = {k for k in self._done if not dead(k)}
        self._pending = {k: j for k, j in self._pending.items() if not dead(k)}
        self._target_sets = {cp: vs for cp, vs in self._target_sets.items() if cp.epoch > fin}
        for held in (self._unresolved_votes, self._unresolved_strangers, self._unresolved_justifications):
            for key in [k for k, v in held.items() if dead(v.link)]:
                del held[key]
        for key in list(self._by_validator):
            kept = {e: v for e, v in self._by_validator[key].items() if e > fin}
            if kept:
                self._by_validator[key] = kept
            else:
                del self._by_validator[key]
        self.state.justified = {e: cp for e, cp in self.state.justified.items() if e >= fin}
