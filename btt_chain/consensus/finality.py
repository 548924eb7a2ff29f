"""Casper-FFG finality (k = 1) over checkpoint votes: justification, finalization and vote tracking.

Rules (DESIGN.md, "Fork choice and finality"):

- Slot s is in epoch s // epoch_slots. The checkpoint of epoch e on a chain is its block with the highest
  slot below e * epoch_slots (genesis for e = 0). Genesis (epoch 0) is justified and finalized.
- A validator votes once per target epoch: source = its latest justified checkpoint, target = the
  checkpoint of the epoch its head entered.
- A link source -> target is justified by votes for exactly that link whose voters hold at least 2/3 of
  the bonded stake (voters' bond * 3 >= 2 * total bond, integers). The target becomes justified when the
  source is justified.
- When a checkpoint at epoch e + 1 is justified by a link whose source is the justified checkpoint at
  epoch e, that source is finalized.

Everything here is pure and synchronous: the caller supplies checkpoints and validator sets (session key,
bond) and persists what comes out. The tracker never needs the block tree; it does not check that a newly
finalized checkpoint descends from the previous one (two conflicting finalized checkpoints need 1/3 of
the stake to be slashable, and the fork choice must refuse to revert below finality anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from btt_chain.primitives.block import Header
from btt_chain.primitives.codec import ListOf, Nested, Struct
from btt_chain.primitives.evidence import VoteEquivocation, is_surround_vote
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.vote import Checkpoint, Justification, Vote

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
        self.fingerprint = blake2b_256(b"".join(k + v.to_bytes(16, "big") for k, v in sorted(weights.items())))

    @classmethod
    def of(cls, validators: Validators) -> ValidatorSet:
        return validators if isinstance(validators, ValidatorSet) else cls(validators)

    def __contains__(self, key: object) -> bool:
        return key in self.weights

    def __len__(self) -> int:
        return len(self.weights)

    def stake_of(self, keys: Iterable[bytes]) -> int:
        return sum(self.weights.get(k, 0) for k in keys)


Validators = ValidatorSet | Iterable[tuple[bytes, int]]
"""A ValidatorSet, or (session key, bond) pairs."""


def has_supermajority(stake: int, total: int) -> bool:
    """At least 2/3 of a positive total bond, in integers."""
    return total > 0 and stake * 3 >= total * 2


def verify_justification(
    j: Justification, validators: Validators, genesis_hash: bytes, *, check_signatures: bool = True
) -> str | None:
    """Why `j` does not justify its link against `validators`, or None if it does.

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
    """Not counted (see reason): malformed, bad signature, unknown voter, too far ahead, or over quota."""
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
    """Verified but useless here: its target is at or below the finalized epoch, or its source below it."""
    INVALID = "invalid"
    """Does not verify (see reason): the peer that sent it sent garbage."""


@dataclass(frozen=True)
class ImportResult:
    status: JustificationStatus
    reason: str | None = None
    update: FinalityUpdate = NO_UPDATE
    evidence: tuple[VoteEquivocation, ...] = ()
    """Equivocations between the justification's votes and votes seen before."""


# --- the tracker --------------------------------------------------------------------------------------


class VoteTracker:
    """Collects votes by link, detects double and surround votes, and justifies and finalizes checkpoints.

    Memory stays bounded: votes for targets at or below the finalized epoch are dropped, each validator
    may have at most `max_targets_per_validator` target epochs in memory, targets more than
    `max_future_epochs` ahead of the caller's current epoch are refused, and at most
    `max_pending_justifications` verified justifications wait for their source."""

    def __init__(
        self,
        genesis_hash: bytes,
        state: FinalityState | None = None,
        *,
        max_targets_per_validator: int = 64,
        max_future_epochs: int = 2,
        max_pending_justifications: int = 64,
    ) -> None:
        self.genesis_hash = genesis_hash
        self.state = state if state is not None else FinalityState.genesis(genesis_hash)
        self.max_targets_per_validator = max_targets_per_validator
        self.max_future_epochs = max_future_epochs
        self.max_pending_justifications = max_pending_justifications
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

    def votes_for(self, source: Checkpoint, target: Checkpoint) -> tuple[Vote, ...]:
        return tuple(self._links.get((source, target), {}).values())

    def vote_link(self, target: Checkpoint) -> Link | None:
        """The link this node's validator should sign for `target`: (latest justified, target); None when
        the latest justified checkpoint is not below the target (nothing to vote for)."""
        source = self.state.latest_justified
        return (source, target) if source.epoch < target.epoch else None

    # votes --------------------------------------------------------------------------------------
    def add_vote(
        self,
        vote: Vote,
        validators: Validators,
        *,
        current_epoch: int | None = None,
        signature_checked: bool = False,
    ) -> AddVoteResult:
        """Check and count one vote; justify and finalize what it completes.

        `validators` is the set (session key, bond) that votes for the target epoch; `current_epoch` (the
        local clock's epoch) bounds how far ahead a target may be; `signature_checked` skips the ed25519
        check when the caller already did it (in worker processes, say)."""
        vs = ValidatorSet.of(validators)
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
        result = self._ingest(vote, vs, signature_checked)
        if result.status is not VoteStatus.ACCEPTED:
            return result
        update = self._run(self._check_link(vote.link, vs), vs)
        return AddVoteResult(VoteStatus.ACCEPTED, update=update)

    def _stale_reason(self, source: Checkpoint, target: Checkpoint) -> str | None:
        fin = self.state.finalized.epoch
        if target.epoch <= fin:
            return f"target epoch {target.epoch} is at or below the finalized epoch {fin}"
        if source.epoch < fin:
            return f"source epoch {source.epoch} is below the finalized epoch {fin}"
        return None

    def _ingest(self, vote: Vote, vs: ValidatorSet, signature_checked: bool) -> AddVoteResult:
        """Check one well-formed vote against the validator's earlier votes and record it; no justifying."""
        if vote.validator not in vs:
            return AddVoteResult(VoteStatus.INVALID, f"0x{vote.validator.hex()} is not in the validator set")
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
        if vote.target.epoch > self.state.finalized.epoch:
            if len(mine) >= self.max_targets_per_validator:
                return AddVoteResult(VoteStatus.INVALID, "too many target epochs in memory for this validator")
            self._by_validator.setdefault(vote.validator, mine)[vote.target.epoch] = vote
        if stale is not None:
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

    def _check_link(self, link: Link, vs: ValidatorSet) -> list[Justification]:
        """The tracker's own justification for `link`, if it is complete and its source is justified."""
        if link in self._done or not self.state.is_justified(link[0]):
            return []
        if not self._link_supermajority(link, vs):
            return []
        votes = self._links[link]
        counted = tuple(votes[k] for k in sorted(votes) if k in vs)
        return [Justification(link[1], link[0], counted)]

    # justifications -------------------------------------------------------------------------------
    def import_justification(
        self, j: Justification, validators: Validators, *, signature_checked: bool = False
    ) -> ImportResult:
        """Verify a justification from a peer or from sync, then apply it (or keep it until its source is
        justified). Its votes also feed double and surround vote detection."""
        vs = ValidatorSet.of(validators)
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
        return ImportResult(JustificationStatus.APPLIED, update=self._run([j], vs), evidence=found)

    def _run(self, work: list[Justification], vs: ValidatorSet) -> FinalityUpdate:
        """Apply justifications whose source is justified, then everything they unlock, in order."""
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
                        work.extend(self._check_link(link, vs))
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
        for key in list(self._by_validator):
            kept = {e: v for e, v in self._by_validator[key].items() if e > fin}
            if kept:
                self._by_validator[key] = kept
            else:
                del self._by_validator[key]
        self.state.justified = {e: cp for e, cp in self.state.justified.items() if e >= fin}
