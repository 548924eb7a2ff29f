"""Casper FFG finality (k = 1): which votes count, what they justify and finalize, and the alarm when finality forks.

The rules (docs/architecture.md, "Finality"), checked by every node:

- Checkpoints are epochs' boundary blocks (`btt_chain.consensus.checkpoints`); genesis (epoch 0) is justified and
  finalized.
- A vote is a signed link (source, target). It counts only when its source is the checkpoint of its epoch on the
  target's own chain (an ancestor of the target), with a lower epoch, and only toward a source that is justified.
  A vote whose source is off its target's chain is never counted (it is kept only to catch double and surround votes).
- The set that votes for a target of epoch e is the validator set active in epoch e on the target's own chain (the
  `CheckpointView` gives it), so nodes on different forks weigh every vote alike. Voters holding 2/3 of that set's
  bonded stake on one link from a justified source justify the target.
- A justified checkpoint whose link to the next epoch's checkpoint is justified is finalized. Only checkpoints that
  descend from the finalized one are justified here, so finality only moves forward along one chain.
- A supermajority link off the finalized chain is a conflict: logged by the caller, remembered (bounded) as justified
  elsewhere, never applied. If such links finalize a checkpoint that conflicts with ours, two honest nodes may hold
  conflicting finalized blocks: the tracker raises `FinalityConflict` (once), stops finalizing for good, and keeps the
  justifications on both sides, whose votes name validators holding >= 1/3 of the stake as double or surround voters
  (`btt_chain.consensus.accountability`).

Which link a validator signs is `btt_chain.consensus.vote_rule`; which head a node follows is
`btt_chain.consensus.fork_choice`. Everything here is pure and synchronous: the caller supplies the view and persists
what comes out. Votes and justifications whose target the view cannot weigh yet (its block is not imported or not
executed) are held in small bounded buffers, neither counted nor blamed, and retried by `retry_unresolved`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from btt_chain.consensus.accountability import find_equivocations, votes_of
from btt_chain.consensus.checkpoints import CheckpointView
from btt_chain.consensus.validator_set import Validators, ValidatorSet, has_supermajority
from btt_chain.consensus.vote_memory import VoteMemory
from btt_chain.primitives.codec import ACCOUNT, HASH, ListOf, Nested, Struct
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.evidence import VoteEquivocation
from btt_chain.primitives.vote import MAX_JUSTIFICATION_VOTES, Checkpoint, Justification, Vote

Link = tuple[Checkpoint, Checkpoint]
"""(source, target)."""

MAX_TRACKED_JUSTIFIED = 1 << 16
MAX_CONFLICT_JUSTIFICATIONS = 64
"""Justifications kept as the evidence of a finality conflict (both sides)."""
MAX_KNOWN_OWNERS = 1 << 14
"""Session keys whose account the tracker remembers from the sets it saw (the newest)."""
MAX_WEIGHED_SETS = 16
"""Sets whose stake by account the tracker remembers for weighing links that leave its finalized chain."""


# --- justification checks -----------------------------------------------------------------------------------


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


def _bad_signature(j: Justification, genesis_hash: bytes, read: Callable[[bytes], bool] | None = None) -> str | None:
    """Why `j`'s votes are not all for its link with good signatures (None: they are); with `read`, only the
    signatures of the votes whose key it accepts are checked (a key nothing here knows costs no check: anybody can
    make keys, and a justification may carry MAX_JUSTIFICATION_VOTES votes)."""
    for i, v in enumerate(j.votes):
        if v.source != j.source or v.target != j.target:
            return f"vote {i} is for another link ({v.source} -> {v.target})"
    for i, v in enumerate(j.votes):
        if (read is None or read(v.validator)) and not v.verify(genesis_hash):
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
class KeyOwner(Struct):
    """A session key and the validator account it signs for, as a set this node trusted named it."""

    session_key: bytes
    account: bytes
    WIRE = (("session_key", HASH), ("account", ACCOUNT))


@dataclass(frozen=True)
class _ConflictByKey(Struct):
    """A conflict as nodes recorded it before offences were judged by account (no owners)."""

    finalized: Checkpoint
    conflicting: Checkpoint
    justifications: tuple[Justification, ...]
    WIRE = (
        ("finalized", Nested(Checkpoint)),
        ("conflicting", Nested(Checkpoint)),
        ("justifications", ListOf(Nested(Justification), MAX_CONFLICT_JUSTIFICATIONS)),
    )


@dataclass(frozen=True)
class FinalityConflict(Struct):
    """Two conflicting checkpoints both finalized: ours, and one that supermajority links finalized on another chain.
    The justifications on both sides are the evidence; their votes name the validators who double or surround voted,
    by account: `owners` gives the account of each voting key this node could place (two keys of one account, a key
    rotated on one fork only say, are one validator)."""

    finalized: Checkpoint
    """Our finalized checkpoint when the conflict was seen."""
    conflicting: Checkpoint
    """The checkpoint the other links finalized (neither descends from the other)."""
    justifications: tuple[Justification, ...]
    """The supermajority links behind both: ours around our finalized checkpoint, theirs back from the conflicting
    one as far as this node saw them."""
    owners: tuple[KeyOwner, ...] = ()
    """The account of every voting key of the justifications that this node knew."""

    WIRE = (
        ("finalized", Nested(Checkpoint)),
        ("conflicting", Nested(Checkpoint)),
        ("justifications", ListOf(Nested(Justification), MAX_CONFLICT_JUSTIFICATIONS)),
        ("owners", ListOf(Nested(KeyOwner), MAX_CONFLICT_JUSTIFICATIONS * MAX_JUSTIFICATION_VOTES)),
    )

    @classmethod
    def decode_record(cls, raw: bytes) -> FinalityConflict:
        """A conflict as the database keeps it (also one recorded before owners were kept)."""
        try:
            return cls.decode(raw)
        except DecodeError:
            old = _ConflictByKey.decode(raw)
            return cls(old.finalized, old.conflicting, old.justifications)

    def owner_of(self, key: bytes) -> bytes:
        owners = self.__dict__.get("_owners")
        if owners is None:
            owners = {o.session_key: o.account for o in self.owners}
            object.__setattr__(self, "_owners", owners)
        return owners.get(key, key)

    def offenders(self) -> dict[bytes, VoteEquivocation]:
        """Account -> a pair of its votes among the justifications that is a double or surround vote (keys this node
        could not place stand for themselves)."""
        return find_equivocations(votes_of(self.justifications), self.owner_of)

    def describe(self) -> str:
        return (f"conflicting finalized checkpoints {self.finalized} and {self.conflicting}: "
                f"{len(self.offenders())} validator accounts double or surround voted")


@dataclass(frozen=True)
class FinalityUpdate:
    """What one step changed."""

    justifications: tuple[Justification, ...] = ()
    """Justifications that justified a new checkpoint or finalized one, in the order applied: persist and
    serve them beside their target blocks."""
    finalized: Checkpoint | None = None
    """The new finalized checkpoint (the highest, if several were finalized in one step)."""
    conflicts: tuple[Justification, ...] = ()
    """Supermajority links not applied because they leave the finalized chain, or reach an epoch that already has
    another justified checkpoint: a third of the stake equivocated, or honest votes split across forks. Log them."""
    alarm: FinalityConflict | None = None
    """Raised in this step (conflicting checkpoints are finalized: finality has stopped; keep the evidence), or its
    evidence grew in this step and convicts more accounts (keep the new record, report the new offenders)."""

    @property
    def justified(self) -> tuple[Checkpoint, ...]:
        return tuple(j.target for j in self.justifications)

    @property
    def changed(self) -> bool:
        return bool(self.justifications) or self.finalized is not None or self.alarm is not None

    def merge(self, other: FinalityUpdate) -> FinalityUpdate:
        return FinalityUpdate(
            self.justifications + other.justifications,
            other.finalized or self.finalized,
            self.conflicts + other.conflicts,
            self.alarm or other.alarm,
        )


NO_UPDATE = FinalityUpdate()


class VoteStatus(StrEnum):
    ACCEPTED = "accepted"
    """New, valid and counted: gossip it on."""
    DUPLICATE = "duplicate"
    """The validator already has a vote for this link: nothing changed."""
    STALE = "stale"
    """Validly signed but too old to count (target at or below the finalized epoch, or source below it): kept only to
    catch surround votes. Or older than every target its validator has in memory (a full memory would forget it at
    once): neither kept nor counted. Do not forward; do not punish the sender."""
    INVALID = "invalid"
    """Not counted (see reason): malformed, bad signature, not in the target's set (for a link that leaves our
    finalized chain: a key that nothing here places), too far ahead, or over quota."""
    UNRESOLVED = "unresolved"
    """Validly signed, but the target's set is not known here yet (its block is not imported or executed):
    held in a bounded buffer and counted when `retry_unresolved` finds the set. Do not forward; do not
    punish the sender."""
    EQUIVOCATION = "equivocation"
    """Valid signature but conflicts with an earlier vote of the same validator: submit the evidence."""
    CONFLICTING = "conflicting"
    """Validly signed for a link that leaves our finalized chain (its target is not our checkpoint of its epoch, or
    its source was justified on a conflicting fork): weighed against the set this node trusts for that epoch (its own
    chain's), kept, bounded, as evidence, and the alarm is raised once such links finalize a conflicting checkpoint.
    Not forwarded; the relay is not blamed."""
    OFF_CHAIN = "off-chain"
    """Validly signed by a member of the target's set, but its source is not the checkpoint of its epoch on the
    target's chain: Casper never counts such a link. Kept to catch double and surround votes; not forwarded; the
    relay is not blamed (the signer's own double or surround votes are what is slashable)."""


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
    CONFLICTING = "conflicting"
    """Signed by 2/3 of the stake this node trusts for its epoch, for a link that leaves our finalized chain: kept as
    evidence (see the update: the alarm is raised when it finalizes a conflicting checkpoint)."""
    INVALID = "invalid"
    """Does not verify (see reason), or its source is not on its target's chain (no honest tracker forms such a
    justification): the peer that sent it sent garbage."""


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
    """Collects votes by link, detects double and surround votes, justifies and finalizes checkpoints by Casper's
    rules, and raises the alarm when finality forks.

    Every vote and justification counts against the set the view gives its target checkpoint (the set active in the
    target's epoch on the target's own chain); a link is always weighed by its own target's set, also when justifying
    one checkpoint unlocks others.

    Memory stays bounded: votes for targets at or below the finalized epoch are dropped, each validator account (and
    each key) keeps its `max_targets_per_validator` newest target epochs in memory and forgets older ones (a vote above
    the oldest target held is never refused, so finality resumes after an outage of any length; an older one is refused:
    it may double vote or be surrounded by a forgotten vote), targets more than `max_future_epochs` ahead of the
    caller's current epoch are refused, at most `max_pending_justifications` verified justifications wait for their
    source, at most `max_unresolved_votes` votes and `max_unresolved_justifications` justifications wait for their
    target's set (the oldest is dropped first: peers serve their latest justifications again), at most `max_off_chain`
    checkpoints justified off the finalized chain are remembered (and as many justified on forks that conflict with it),
    and votes of at most `max_conflicting_links` such links (one per account with stake in the set that weighs the link;
    keys nothing here places are refused). Held votes of keys in a set this tracker knows (at most
    `max_unresolved_per_validator` each) and of other keys (newcomers, or anybody: keys cost nothing) fill separate
    buffers, so a flood of strangers' votes cannot push out the votes of known validators.

    A tracker restored from a persisted `state` is given the justifications stored beside that state's justified
    checkpoints (`justifications`): they are the evidence behind them, and an alarm raised after the restart carries
    them (without them, a checkpoint justified before the restart and left off the finalized chain would take the
    double or surround votes that justified it out of the evidence)."""

    def __init__(
        self,
        genesis_hash: bytes,
        view: CheckpointView,
        state: FinalityState | None = None,
        *,
        conflict: FinalityConflict | None = None,
        justifications: Iterable[Justification] = (),
        max_targets_per_validator: int = 64,
        max_future_epochs: int = 2,
        max_pending_justifications: int = 64,
        max_unresolved_votes: int = 1024,
        max_unresolved_per_validator: int = 4,
        max_unresolved_justifications: int = 64,
        max_off_chain: int = 64,
        max_conflicting_links: int = 256,
    ) -> None:
        self.genesis_hash = genesis_hash
        self.view = view
        self.state = state if state is not None else FinalityState.genesis(genesis_hash)
        self.conflict = conflict
        """Set once conflicting checkpoints were seen finalized: finality stops here for good."""
        self.max_targets_per_validator = max_targets_per_validator
        self.max_future_epochs = max_future_epochs
        self.max_pending_justifications = max_pending_justifications
        self.max_unresolved_votes = max_unresolved_votes
        self.max_unresolved_per_validator = max_unresolved_per_validator
        self.max_unresolved_justifications = max_unresolved_justifications
        self.max_off_chain = max_off_chain
        self.max_conflicting_links = max_conflicting_links
        self._links: dict[Link, dict[bytes, Vote]] = {}
        """Countable votes (source on the target's chain) by link, then by validator."""
        self._link_stake: dict[Link, tuple[bytes, int]] = {}
        """Cached voter stake per link, with the fingerprint of the validator set it was summed over."""
        self._on_chain: dict[Link, bool] = {}
        """Whether each link's source is on its target's chain (asked of the view once per link)."""
        self._done: set[Link] = set()
        """Links already applied (or refused as conflicting): later votes for them change nothing."""
        self._memory = VoteMemory(max_targets_per_validator)
        """Every validly signed vote above the finalized epoch, by account and by key, and target epoch (the newest
        `max_targets_per_validator` of each): what double and surround votes are checked against."""
        self._owners: OrderedDict[bytes, bytes] = OrderedDict()
        """Session key -> account, from every set this tracker was given (the newest MAX_KNOWN_OWNERS)."""
        self._conflict_votes: OrderedDict[Link, dict[bytes, Vote]] = OrderedDict()
        """Votes for links that leave our finalized chain (see `VoteStatus.CONFLICTING`), by link and by the account
        that signed them (one vote each; only accounts with stake in the set that weighs the link)."""
        self._conflict_stake: dict[Link, tuple[bytes, int]] = {}
        """The stake of each conflicting link's voters, with the fingerprint of the set it was summed over (kept up to
        date as votes come, so a vote costs no re-weighing of its link)."""
        self._account_stakes: OrderedDict[bytes, dict[bytes, int]] = OrderedDict()
        """Account -> stake of the sets conflicting links were weighed by, by set fingerprint (the newest few)."""
        self._conflict_justified: OrderedDict[Checkpoint, Justification] = OrderedDict()
        """Checkpoints off our finalized chain that 2/3 of the stake we trust for their epoch justified, with the
        justification: a link from one of them to the next epoch finalizes a conflicting checkpoint."""
        self._conflict_top: Justification | None = None
        """The link that finalized the conflicting checkpoint of the alarm (its evidence is rebuilt from it)."""
        self._rivals: OrderedDict[Checkpoint, Justification] = OrderedDict()
        """Checkpoints 2/3 justified at an epoch that already had another justified one (the first stayed), with the
        justification: never applied, kept as evidence (and as justified where they lead)."""
        self._fin_checkpoints: dict[int, Checkpoint | None] = {}
        self._above_fin: dict[Checkpoint, bool] = {}
        """Checkpoints above the finalized epoch held here, and whether their chain misses the finalized one."""
        """Our finalized chain's checkpoint by epoch (asked of the view; cleared when the finalized one moves)."""
        self._pending: dict[Link, Justification] = {}
        """Verified justifications whose source is not justified yet."""
        self._target_sets: dict[Checkpoint, ValidatorSet] = {}
        """Target checkpoint -> the set the view gave it (fixed once known)."""
        self._justified_by: dict[Checkpoint, Justification] = {}
        """The justification that justified each justified checkpoint still tracked (evidence if finality forks)."""
        self._finalized_by: Justification | None = None
        """The justification that finalized the current finalized checkpoint."""
        self._off_chain: OrderedDict[Checkpoint, Justification] = OrderedDict()
        """Checkpoints justified off the finalized chain (by links from sources justified there), with the
        justification that did it: a link from one of them to the next epoch finalizes a conflicting checkpoint."""
        self._unresolved_votes: OrderedDict[bytes, Vote] = OrderedDict()
        """Validly signed votes whose target set is not known yet, by keys of a known set, by vote hash, oldest
        first."""
        self._unresolved_strangers: OrderedDict[bytes, Vote] = OrderedDict()
        """The same for keys in no set known here (newcomers, or spam), in a buffer of their own."""
        self._unresolved_justifications: OrderedDict[bytes, Justification] = OrderedDict()
        """Justifications whose target set is not known yet, by hash, oldest first (not verified yet)."""
        for j in justifications:  # a restart: the evidence behind the restored state (stored beside its blocks)
            if self.state.is_justified(j.target):
                self._justified_by.setdefault(j.target, j)
                if j.source == self.state.finalized and j.target.epoch == j.source.epoch + 1:
                    self._finalized_by = j

    # queries ------------------------------------------------------------------------------------
    @property
    def finalized(self) -> Checkpoint:
        return self.state.finalized

    @property
    def latest_justified(self) -> Checkpoint:
        return self.state.latest_justified

    @property
    def halted(self) -> bool:
        """Whether finality stopped because conflicting checkpoints were finalized."""
        return self.conflict is not None

    @property
    def vote_count(self) -> int:
        """Votes held in memory (per validator and target epoch)."""
        return len(self._memory)

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

    def votes_by(self, keys: Iterable[bytes]) -> list[Vote]:
        """The votes of `keys` this tracker holds (at most `max_targets_per_validator` each): what a validator that
        lost its signing records asks its peers for (`votes/held`)."""
        return self._memory.votes_of_keys(keys)

    def votes_for(self, source: Checkpoint, target: Checkpoint) -> tuple[Vote, ...]:
        return tuple(self._links.get((source, target), {}).values())

    def conflicting_votes_for(self, source: Checkpoint, target: Checkpoint) -> tuple[Vote, ...]:
        """The votes kept for a link that leaves our finalized chain (one per account with stake)."""
        return tuple(self._conflict_votes.get((source, target), {}).values())

    def justification_of(self, cp: Checkpoint) -> Justification | None:
        """The justification that justified `cp` here, while it is tracked."""
        return self._justified_by.get(cp)

    def held_targets(self) -> list[tuple[Checkpoint, int, int]]:
        """Targets whose set is not known yet, with the stake their held votes and justifications carry as weighed by
        the latest justified checkpoint's set, and that set's total: (target, stake, total), most stake first. The
        caller may execute the block of a target that a third of the stake already voted for, so that they count."""
        weights = self.target_set(self.state.latest_justified)
        if weights is None or weights.total == 0:
            return []
        voters: dict[Checkpoint, set[bytes]] = {}
        for v in self._unresolved_votes.values():
            voters.setdefault(v.target, set()).add(v.validator)
        for j in self._unresolved_justifications.values():
            voters.setdefault(j.target, set()).update(v.validator for v in j.votes)
        found = [(t, weights.stake_of(keys), weights.total) for t, keys in voters.items()]
        return sorted(found, key=lambda x: -x[1])

    def target_set(self, target: Checkpoint) -> ValidatorSet | None:
        """The set that votes for `target` (from the view, remembered once known), or None if unknown."""
        vs = self._target_sets.get(target)
        if vs is None:
            vs = self.view.voter_set(target)
            if vs is not None:
                self._target_sets[target] = vs
                self._learn_owners(vs)
        return vs

    def is_countable(self, link: Link) -> bool:
        """Casper's rule for a link whose target's set is known: the source is the checkpoint of its epoch on the
        target's chain (so an ancestor of the target), and comes before it."""
        ok = self._on_chain.get(link)
        if ok is None:
            source, target = link
            ok = source.epoch < target.epoch and self.view.is_on_chain(source, target)
            self._on_chain[link] = ok
        return ok

    def _source_justified(self, source: Checkpoint) -> bool:
        """Justified here (on the finalized chain) or remembered as justified off it."""
        return self.state.is_justified(source) or source in self._off_chain

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
        if self._leaves_finalized_chain(vote.source, vote.target):
            return self._add_conflicting_vote(vote, signature_checked)
        vs = self.target_set(vote.target)
        if vs is None:
            return self._hold_vote(vote, signature_checked)
        return self._count(vote, vs, signature_checked)

    def _count(self, vote: Vote, vs: ValidatorSet, signature_checked: bool) -> AddVoteResult:
        result = self._ingest(vote, vs, signature_checked)
        if result.status is not VoteStatus.ACCEPTED:
            return result
        self._bound_caches()
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
        known = self._is_known_voter(vote.validator)
        # a known validator's vote counts toward executing its target's block (`held_targets`): checked now; a
        # stranger's counts for nothing until its target's set is known, and is checked then (members first), so a
        # made-up key's vote costs no signature check
        if known and not signature_checked and not vote.verify(self.genesis_hash):
            return AddVoteResult(VoteStatus.INVALID, "bad signature")
        reason = f"the validator set of target {vote.target} is not known yet"
        if known:
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
        if source in self._off_chain:
            return None  # a link off the finalized chain is followed at any epoch: it may finalize a conflict
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
        account = self.owner_of(vote.validator, vs)
        if vs is None and not self._memory.knows(vote.validator, account):
            # nothing held of its signer: it can be no evidence, and it counts nowhere (a made-up key's: no check)
            return AddVoteResult(VoteStatus.STALE, self._stale_reason(vote.source, vote.target))
        existing = self._memory.held(vote, account)
        if existing is not None and existing.link == vote.link and existing.validator == vote.validator:
            return AddVoteResult(VoteStatus.DUPLICATE)
        if not signature_checked and not vote.verify(self.genesis_hash):
            return AddVoteResult(VoteStatus.INVALID, "bad signature")
        # stale votes are checked too: the outer vote of a surround usually has an old source
        evidence = self._memory.conflict(vote, account)
        if evidence is not None:
            return AddVoteResult(VoteStatus.EQUIVOCATION, f"{evidence.kind or 'conflicting'} vote".replace("_", " "),
                                 evidence)
        stale = self._stale_reason(vote.source, vote.target)
        if vs is not None and vote.target.epoch > self.state.finalized.epoch:
            if self._memory.forgets(vote, account):
                # older than every target its signer has in memory: it may double vote or be surrounded by a vote
                # forgotten before, so it is neither held nor counted (the newest targets are never refused)
                return AddVoteResult(VoteStatus.STALE, f"target epoch {vote.target.epoch} is older than the "
                                     f"{self.max_targets_per_validator} targets held for its validator")
            for old in self._memory.add(vote, account):  # the oldest targets make room: never the newest refused
                self._uncount(old)
        if stale is not None or vs is None:
            return AddVoteResult(VoteStatus.STALE, stale)
        if not self.is_countable(vote.link):
            return AddVoteResult(
                VoteStatus.OFF_CHAIN, f"source {vote.source} is not the checkpoint of its epoch on the chain of "
                                      f"target {vote.target}")
        self._links.setdefault(vote.link, {})[vote.validator] = vote
        cached = self._link_stake.get(vote.link)
        if cached is not None and cached[0] == vs.fingerprint:
            self._link_stake[vote.link] = (vs.fingerprint, cached[1] + vs.weights[vote.validator])
        return AddVoteResult(VoteStatus.ACCEPTED)

    def _uncount(self, vote: Vote) -> None:
        """Stop counting a vote the memory forgot (an old target pushed out by newer ones)."""
        votes = self._links.get(vote.link)
        if votes is None or votes.get(vote.validator) != vote:
            return
        del votes[vote.validator]
        self._link_stake.pop(vote.link, None)
        if not votes:
            del self._links[vote.link]
            self._on_chain.pop(vote.link, None)

    def _bound_caches(self) -> None:
        """Keep the per-link and per-target caches in proportion to the links still counted (a long stretch without
        finality, when `prune` does not run, would grow them by a link per epoch and voter otherwise)."""
        if len(self._on_chain) > 4 * len(self._links) + 1024:
            self._on_chain = {k: v for k, v in self._on_chain.items() if k in self._links}
        if len(self._target_sets) > 4 * len(self._links) + 1024:
            keep = {link[1] for link in self._links} | set(self.state.justified.values())
            keep |= {link[1] for link in self._pending}
            self._target_sets = {cp: vs for cp, vs in self._target_sets.items() if cp in keep}

    # owners and conflicts ---------------------------------------------------------------------------------
    def owner_of(self, key: bytes, vs: ValidatorSet | None = None) -> bytes:
        """The account `key` signs for: as `vs` names it, else as a set this tracker saw named it, else as the view
        knows it (the key's authorization, valid on every fork), else the key itself."""
        if vs is not None:
            account = vs.accounts.get(key)
            if account is not None:
                return account
        account = self._owners.get(key)
        if account is None:
            account = self.view.key_owner(key)
            if account is None:
                return key
            self._owners[key] = account
        return account

    def forget_owner(self, key: bytes) -> None:
        """Look `key`'s account up afresh next time: a new claim on it may place it on another account (one with stake
        where the claim before was not)."""
        self._owners.pop(key, None)

    def unplaced_keys(self, j: Justification) -> list[bytes]:
        """The voting keys of `j` whose account nothing this tracker knows names (a peer may hold their
        authorizations)."""
        trusted = self.view.trusted_set(j.target.epoch)
        return [v.validator for v in j.votes
                if self.owner_of(v.validator) == v.validator and (trusted is None or v.validator not in trusted)]

    def _learn_owners(self, vs: ValidatorSet) -> None:
        owners = self._owners
        for key, account in vs.accounts.items():
            if account != key:
                owners[key] = account
                owners.move_to_end(key)
        while len(owners) > MAX_KNOWN_OWNERS:
            owners.popitem(last=False)

    def _our_checkpoint(self, epoch: int) -> Checkpoint | None:
        """Our finalized chain's checkpoint of `epoch` (at most the finalized epoch), or None if the view cannot
        tell."""
        if epoch not in self._fin_checkpoints:
            if len(self._fin_checkpoints) > 4096:
                self._fin_checkpoints.clear()
            self._fin_checkpoints[epoch] = self.view.checkpoint_of(epoch, self.state.finalized)
        return self._fin_checkpoints[epoch]

    def _is_conflicting(self, cp: Checkpoint) -> bool:
        """Whether `cp` is certainly not on our finalized chain: at or below the finalized epoch and not our checkpoint
        of its epoch; above it, on a chain this node holds that misses our finalized checkpoint; or justified on a
        conflicting fork (`_conflict_justified`)."""
        if cp in self._conflict_justified:
            return True
        fin = self.state.finalized
        if cp.epoch > fin.epoch:
            # above our finalized epoch: conflicting if this node holds cp's block and its chain misses ours (asked once
            # per checkpoint and finalized one: a held block's ancestry does not change)
            known = self._above_fin.get(cp)
            if known is None:
                theirs = self.view.checkpoint_of(fin.epoch, cp)
                known = theirs is not None and theirs != fin
                if theirs is not None:
                    if len(self._above_fin) > 4096:
                        self._above_fin.clear()
                    self._above_fin[cp] = known
            return known
        ours = self._our_checkpoint(cp.epoch)
        return ours is not None and ours != cp

    def _leaves_finalized_chain(self, source: Checkpoint, target: Checkpoint) -> bool:
        """Whether the link source -> target certainly leaves our finalized chain (so its target can never be weighed
        by its own set here: this node never executes a fork that conflicts with its finality)."""
        if source.epoch >= target.epoch:
            return False
        return self._is_conflicting(target) or self._is_conflicting(source)

    def _add_conflicting_vote(self, vote: Vote, signature_checked: bool) -> AddVoteResult:
        """A vote for a link that leaves our finalized chain: weighed, by account, against the set we trust for its
        target's epoch; kept (one vote per account and link, only of accounts with stake in that set); justifies
        (there) what 2/3 of that stake voted for.

        A vote that weighs nothing there (its account has no stake in that set) is not kept; it is checked against the
        votes held of its signer, if any (it may be evidence). Otherwise it is STALE, before its signature is checked,
        whether nothing here places its key (no set and no authorization names its account: anybody can make keys, and
        a flood of them costs one owner lookup a vote and nothing kept) or places it with an account out of the set.
        Nobody is blamed: an honest relay on a fork may pass on a vote of a key rotated only there."""
        trusted = self._conflict_set(vote.target)
        if trusted is None:
            return AddVoteResult(VoteStatus.STALE, f"no trusted set to weigh the conflicting target {vote.target}")
        account = self.owner_of(vote.validator, trusted)
        stakes = self._stakes_of(trusted)
        if account not in stakes:
            return self._unweighed_conflicting_vote(vote, account, signature_checked)
        votes = self._conflict_votes.get(vote.link)
        if votes is not None and account in votes:
            return AddVoteResult(VoteStatus.DUPLICATE)
        if not signature_checked and not vote.verify(self.genesis_hash):
            return AddVoteResult(VoteStatus.INVALID, "bad signature")
        evidence = self._memory.conflict(vote, account)
        if votes is None:
            votes = self._conflict_votes[vote.link] = {}
            while len(self._conflict_votes) > self.max_conflicting_links:
                gone, _ = self._conflict_votes.popitem(last=False)
                self._conflict_stake.pop(gone, None)
        votes[account] = vote
        cached = self._conflict_stake.get(vote.link)
        if cached is not None and cached[0] == trusted.fingerprint:
            self._conflict_stake[vote.link] = (trusted.fingerprint, cached[1] + stakes[account])
        update = NO_UPDATE
        if vote.target not in self._conflict_justified and self._conflict_supermajority(vote.link, trusted):
            update = self._conflicting_justified(self._conflict_justification(vote.link, trusted))
        reason = f"{vote.source} -> {vote.target} leaves our finalized chain at {self.state.finalized}"
        if evidence is not None:
            return AddVoteResult(VoteStatus.EQUIVOCATION, reason, evidence, update)
        return AddVoteResult(VoteStatus.CONFLICTING, reason, update=update)

    def _unweighed_conflicting_vote(self, vote: Vote, account: bytes, signature_checked: bool) -> AddVoteResult:
        """A vote for a link that leaves our finalized chain by a signer with no stake in the set that weighs it: only
        evidence, if its signer has votes held here; never kept."""
        reason = f"0x{vote.validator.hex()} holds no stake in the set this node trusts for epoch {vote.target.epoch}"
        if self._memory.knows(vote.validator, account):
            if not signature_checked and not vote.verify(self.genesis_hash):
                return AddVoteResult(VoteStatus.INVALID, "bad signature")
            evidence = self._memory.conflict(vote, account)
            if evidence is not None:
                return AddVoteResult(VoteStatus.EQUIVOCATION, reason, evidence)
        elif account == vote.validator:
            # ignored, not blamed: an honest relay on a fork may pass on a vote of a key rotated only there (its
            # justifications, checked whole, still carry such a vote as evidence)
            return AddVoteResult(VoteStatus.STALE, reason + ", and no authorization places it")
        return AddVoteResult(VoteStatus.STALE, reason)

    def _conflict_set(self, target: Checkpoint) -> ValidatorSet | None:
        """What a link to a target off our finalized chain is weighed by: the set the view gives the target (a held
        block of that fork this node could execute), else the set this node trusts for its epoch (its own chain's)."""
        return self.view.voter_set(target) or self.view.trusted_set(target.epoch)

    def _weigh(self, votes: Iterable[Vote], trusted: ValidatorSet) -> bool:
        """Whether `votes` carry 2/3 of `trusted`'s stake, each key counted for the account it signs for."""
        stakes = self._stakes_of(trusted)
        accounts = {self.owner_of(v.validator, trusted) for v in votes}
        return has_supermajority(sum(stakes.get(a, 0) for a in accounts), trusted.total)

    def _stakes_of(self, vs: ValidatorSet) -> dict[bytes, int]:
        """Account -> the bonds of its keys in `vs` (remembered for the newest few sets)."""
        stakes = self._account_stakes.get(vs.fingerprint)
        if stakes is None:
            stakes = {}
            for key, bond in vs.weights.items():
                account = vs.accounts[key]
                stakes[account] = stakes.get(account, 0) + bond
            self._account_stakes[vs.fingerprint] = stakes
            while len(self._account_stakes) > MAX_WEIGHED_SETS:
                self._account_stakes.popitem(last=False)
        return stakes

    def _conflict_supermajority(self, link: Link, trusted: ValidatorSet) -> bool:
        """Whether the accounts that voted the conflicting `link` hold 2/3 of `trusted`'s stake (summed once per link
        and set, then kept up to date vote by vote)."""
        cached = self._conflict_stake.get(link)
        if cached is None or cached[0] != trusted.fingerprint:
            stakes = self._stakes_of(trusted)
            cached = (trusted.fingerprint, sum(stakes.get(a, 0) for a in self._conflict_votes.get(link, {})))
            self._conflict_stake[link] = cached
        return has_supermajority(cached[1], trusted.total)

    def _conflict_justification(self, link: Link, trusted: ValidatorSet) -> Justification:
        """The votes kept for the conflicting `link` of accounts with stake in `trusted`, as a justification (one vote
        per key, by key)."""
        stakes = self._stakes_of(trusted)
        votes = {v.validator: v for a, v in self._conflict_votes.get(link, {}).items() if stakes.get(a)}
        return Justification(link[1], link[0], tuple(votes[k] for k in sorted(votes)))

    def _import_conflicting(self, j: Justification, signature_checked: bool) -> ImportResult:
        """A justification for a link that leaves our finalized chain: verified against the set we trust for its
        target's epoch (by account); kept as evidence; the alarm when it finalizes a conflicting checkpoint."""
        if j.target in self._conflict_justified:
            return ImportResult(JustificationStatus.IGNORED, f"{j.target} is known justified on a conflicting fork")
        trusted = self._conflict_set(j.target)
        if trusted is None:
            return ImportResult(JustificationStatus.IGNORED, f"no trusted set to weigh the conflicting {j.target}")
        if len({v.validator for v in j.votes}) != len(j.votes):
            return ImportResult(JustificationStatus.INVALID, "a key votes twice")
        # only the votes of keys that weigh in `trusted`, or that have votes held here (evidence), are read further:
        # the rest are left out of what is kept, unchecked (a made-up key's vote costs an owner lookup, no signature)
        stakes = self._stakes_of(trusted)
        read = {v.validator for v in j.votes
                if (a := self.owner_of(v.validator, trusted)) in stakes or self._memory.knows(v.validator, a)}
        checked = (lambda _key: False) if signature_checked else read.__contains__
        reason = _bad_signature(j, self.genesis_hash, read=checked)
        if reason is not None:
            return ImportResult(JustificationStatus.INVALID, reason)
        if len(read) != len(j.votes):
            j = j.replace(votes=tuple(v for v in j.votes if v.validator in read))
        evidence = []
        for v in j.votes:
            found = self._memory.conflict(v, self.owner_of(v.validator, trusted))
            if found is not None:
                evidence.append(found)
        if not self._weigh(j.votes, trusted):
            return ImportResult(JustificationStatus.IGNORED, "its voters do not hold 2/3 of the stake this node "
                                f"trusts for epoch {j.target.epoch}", evidence=tuple(evidence))
        return ImportResult(JustificationStatus.CONFLICTING,
                            f"{j.source} -> {j.target} leaves our finalized chain at {self.state.finalized}",
                            self._conflicting_justified(j), tuple(evidence))

    def _remember(self, table: OrderedDict[Checkpoint, Justification], cp: Checkpoint, j: Justification) -> None:
        table[cp] = j
        while len(table) > self.max_off_chain:
            table.popitem(last=False)

    def _justified_elsewhere(self, cp: Checkpoint) -> Justification | None:
        """The justification that justified `cp` off our finalized chain, or as a rival of a checkpoint of its epoch."""
        return self._off_chain.get(cp) or self._conflict_justified.get(cp) or self._rivals.get(cp)

    def _conflicting_justified(self, j: Justification) -> FinalityUpdate:
        """2/3 of the stake we trust justified `j.target` off our finalized chain: remember it (bounded); if the link
        also finalizes its source (justified there too), or a link remembered from `j.target` to the next epoch
        finalizes it, a checkpoint that conflicts with ours is finalized: the alarm. Links waiting for `j.target` as
        their source are weighed again."""
        work = [j]
        conflicts: list[Justification] = []
        alarm: FinalityConflict | None = None
        while work:
            j = work.pop(0)
            source, target = j.link
            if target in self._conflict_justified:
                continue
            self._conflict_justified[target] = j
            while len(self._conflict_justified) > self.max_off_chain:
                self._conflict_justified.popitem(last=False)
            conflicts.append(j)
            # Casper: a checkpoint justified there, with a justified link to the next epoch's, is finalized there
            if self.conflict is None:
                justified_there = self._justified_elsewhere(source) is not None
                finalizing = j if target.epoch == source.epoch + 1 and justified_there else None
                nxt = next((x for x in self._conflict_justified.values()
                            if x.source == target and x.target.epoch == target.epoch + 1), None)
                if finalizing is not None or nxt is not None:
                    theirs = finalizing or nxt
                    assert theirs is not None
                    self.conflict = self._make_conflict(theirs.source, theirs)
                    alarm = self.conflict
            elif self._grow_evidence():
                alarm = self.conflict
            for link in list(self._conflict_votes):
                if link[0] != target or link[1] in self._conflict_justified:
                    continue
                trusted = self._conflict_set(link[1])
                if trusted is not None and self._conflict_supermajority(link, trusted):
                    work.append(self._conflict_justification(link, trusted))
        return FinalityUpdate(conflicts=tuple(conflicts), alarm=alarm)

    def _make_conflict(self, conflicting: Checkpoint, theirs: Justification,
                       earlier: tuple[Justification, ...] = ()) -> FinalityConflict:
        """The alarm's record: our finalized checkpoint, theirs, the justifications on both sides that this node
        holds (with `earlier` ones, kept), and the account of every voting key it can place."""
        self._conflict_top = theirs
        evidence = tuple(dict.fromkeys(self._evidence_for(theirs) + earlier))[:MAX_CONFLICT_JUSTIFICATIONS]
        keys = {v.validator for j in evidence for v in j.votes}
        owners = tuple(KeyOwner(k, a) for k in sorted(keys) if (a := self.owner_of(k)) != k)
        return FinalityConflict(self.state.finalized, conflicting, evidence, owners)

    def _grow_evidence(self) -> bool:
        """After the alarm, justifications learned later may convict more accounts (the alarm came from links whose
        own justifications were still on their way): rebuild the record, and say whether it convicts more."""
        conflict, top = self.conflict, self._conflict_top
        if conflict is None or top is None:
            return False
        grown = self._make_conflict(conflict.conflicting, top, conflict.justifications)
        if set(grown.offenders()) <= set(conflict.offenders()):
            return False
        self.conflict = replace(grown, finalized=conflict.finalized)
        return True

    def _link_supermajority(self, link: Link, vs: ValidatorSet) -> bool:
        cached = self._link_stake.get(link)
        if cached is None or cached[0] != vs.fingerprint:
            cached = (vs.fingerprint, vs.stake_of(self._links.get(link, {})))
            self._link_stake[link] = cached
        return has_supermajority(cached[1], vs.total)

    def _check_link(self, link: Link) -> list[Justification]:
        """The tracker's own justification for `link`, if it is complete (2/3 of its own target's set) and its
        source is justified (here or off the finalized chain)."""
        if link in self._done or not self._source_justified(link[0]):
            return []
        vs = self.target_set(link[1])
        if vs is None or not self._link_supermajority(link, vs):
            return []
        votes = self._links[link]
        counted = tuple(votes[k] for k in sorted(votes) if k in vs)
        return [Justification(link[1], link[0], counted)]

    # justifications -------------------------------------------------------------------------------
    def import_justification(self, j: Justification, *, signature_checked: bool = False) -> ImportResult:
        """Verify a justification from a peer or from sync against its target's set and Casper's link rule, then apply
        it (or keep it until its source is justified, or until its target's set is known). Its votes also feed
        double and surround vote detection."""
        if self._leaves_finalized_chain(j.source, j.target):
            return self._import_conflicting(j, signature_checked)
        vs = self.target_set(j.target)
        if vs is None:
            stale = self._stale_reason(j.source, j.target)
            if stale is not None:
                return ImportResult(JustificationStatus.IGNORED, stale)
            # what can be checked without the set is checked now: a held justification's voters count toward
            # executing its branch (`held_targets`, by the validators this tracker knows), so those must have signed;
            # the others' votes are checked when the target's set is known (`retry_unresolved`), members first
            reason = None if signature_checked else _bad_signature(j, self.genesis_hash, read=self._is_known_voter)
            if reason is not None:
                return ImportResult(JustificationStatus.INVALID, reason)
            key = j.hash()
            self._unresolved_justifications[key] = j
            self._unresolved_justifications.move_to_end(key)
            while len(self._unresolved_justifications) > self.max_unresolved_justifications:
                self._unresolved_justifications.popitem(last=False)
            return ImportResult(
                JustificationStatus.UNRESOLVED, f"the validator set of target {j.target} is not known yet"
            )
        reason = verify_justification(j, vs, self.genesis_hash, check_signatures=not signature_checked)
        if reason is None and not self.is_countable(j.link):
            # a stale link is ignored, countable or not: it changes nothing here, and a node that holds no block
            # below its warp-sync target cannot tell whether an old source is on the chain (no peer is to blame)
            stale = self._stale_reason(j.source, j.target)
            if stale is not None:
                return ImportResult(JustificationStatus.IGNORED, stale)
            reason = f"source {j.source} is not the checkpoint of its epoch on the chain of target {j.target}"
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
        if not self._source_justified(j.source):
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
        unknown: set[Checkpoint] = set()  # one view call per target and round

        def known(target: Checkpoint) -> ValidatorSet | None:
            if target in unknown:
                return None
            vs = self.target_set(target)
            if vs is None:
                unknown.add(target)
            return vs

        votes: list[tuple[Vote, AddVoteResult]] = []
        for held, checked in ((self._unresolved_votes, True), (self._unresolved_strangers, False)):
            for key, vote in list(held.items()):
                if key not in held:
                    continue  # dropped by the prune of a finalization that a vote counted before it led to
                if self._stale_reason(vote.source, vote.target) is not None:
                    del held[key]
                    if self._leaves_finalized_chain(vote.source, vote.target):
                        votes.append((vote, self._add_conflicting_vote(vote, signature_checked=checked)))
                    continue
                vs = known(vote.target)
                if vs is None:
                    continue
                del held[key]
                votes.append((vote, self._count(vote, vs, signature_checked=checked)))
        justifications: list[tuple[Justification, ImportResult]] = []
        for key, j in list(self._unresolved_justifications.items()):
            if key not in self._unresolved_justifications:
                continue  # dropped by the prune of a finalization that a justification applied before it led to
            if self._stale_reason(j.source, j.target) is not None:
                del self._unresolved_justifications[key]
                if self._leaves_finalized_chain(j.source, j.target):  # its votes are checked again as they count
                    justifications.append((j, self._import_conflicting(j, signature_checked=False)))
                continue
            if known(j.target) is None:
                continue
            del self._unresolved_justifications[key]
            # checked whole now: held, only its known validators' votes were (`import_justification`)
            justifications.append((j, self.import_justification(j)))
        return RetryResult(tuple(votes), tuple(justifications))

    # the rules ----------------------------------------------------------------------------------------
    def _run(self, work: list[Justification]) -> FinalityUpdate:
        """Apply supermajority links whose source is justified, then everything they unlock, in order. Each link
        unlocked on the way is weighed by its own target's set (`_check_link`)."""
        applied: list[Justification] = []
        conflicts: list[Justification] = []
        finalized: Checkpoint | None = None
        alarm: FinalityConflict | None = None
        while work:
            j = work.pop(0)
            source, target = j.link
            if j.link in self._done or not self._source_justified(source):
                continue
            self._done.add(j.link)
            self._pending.pop(j.link, None)
            # a source justified here descends from the finalized checkpoint and is on the target's chain, so the
            # target descends from it too; a source justified off the finalized chain leads off it
            if source in self._off_chain:
                conflicts.append(j)
                alarm = alarm or self._off_chain_link(j, work)
                continue
            fin = self.state.finalized
            if target.epoch <= fin.epoch:
                continue  # too old to change anything here
            existing = self.state.justified.get(target.epoch)
            changed = False
            if existing is not None and existing != target:
                conflicts.append(j)  # two justified checkpoints of one epoch: the first stays
                self._remember(self._rivals, target, j)  # a third of the stake double voted: kept as evidence
                if self._grow_evidence():
                    alarm = self.conflict
            elif existing is None:
                self.state.justified[target.epoch] = target
                self._justified_by[target] = j
                changed = True
                work.extend(self._unlocked_by(target))
            # Casper: a justified source with a supermajority link to the next epoch is finalized (whichever checkpoint
            # of that epoch stays justified); it is on the target's chain, which holds the finalized checkpoint
            if target.epoch == source.epoch + 1 and source.epoch > fin.epoch and self.conflict is None:
                self.state.finalized = source
                self._finalized_by = j
                finalized = source
                changed = True
            if changed:
                applied.append(j)
        if finalized is not None:
            self.prune()
        if not applied and not conflicts and alarm is None:
            return NO_UPDATE
        return FinalityUpdate(tuple(applied), finalized, tuple(conflicts), alarm)

    def _unlocked_by(self, source: Checkpoint) -> list[Justification]:
        """Links waiting for `source` to be justified that it completes."""
        found = [j for link in list(self._links) if link[0] == source for j in self._check_link(link)]
        return found + [p for link, p in self._pending.items() if link[0] == source]

    def _off_chain_link(self, j: Justification, work: list[Justification]) -> FinalityConflict | None:
        """A supermajority link that leaves the finalized chain: remember its target as justified there (bounded),
        and raise the alarm if the link finalizes a checkpoint that conflicts with ours."""
        source, target = j.link
        if target not in self._off_chain:
            self._off_chain[target] = j
            while len(self._off_chain) > self.max_off_chain:
                self._off_chain.popitem(last=False)
            work.extend(self._unlocked_by(target))
        if target.epoch != source.epoch + 1 or self.conflict is not None or not self._conflicts_with_finalized(source):
            return None
        self.conflict = self._make_conflict(source, j)
        return self.conflict

    def _conflicts_with_finalized(self, cp: Checkpoint) -> bool:
        fin = self.state.finalized
        if cp.epoch <= fin.epoch:
            return not self.view.is_on_chain(cp, fin)
        return not self.view.is_on_chain(fin, cp)

    def _evidence_for(self, theirs: Justification) -> tuple[Justification, ...]:
        """The justifications behind both finalized checkpoints that this node holds: theirs back from `theirs` (as far
        as this tracker followed them), and ours: the link that finalized our checkpoint, those of checkpoints above it,
        and those stored beside our chain's checkpoints from the lowest epoch theirs reach (Casper's proof finds the
        double or surround votes between the two chains of links there)."""
        chain: list[Justification] = []
        j: Justification | None = theirs
        while j is not None and len(chain) < MAX_CONFLICT_JUSTIFICATIONS // 3:
            chain.append(j)
            j = self._justified_elsewhere(j.source)
        low = min(j.source.epoch for j in chain)
        ours: list[Justification] = [] if self._finalized_by is None else [self._finalized_by]
        ours.extend(self._justified_by[cp] for cp in sorted(self._justified_by, key=lambda c: c.epoch))
        ours.extend(self.view.own_justifications(low, self.state.finalized))
        unique = list(dict.fromkeys(chain + ours))
        return tuple(unique[:MAX_CONFLICT_JUSTIFICATIONS])

    # memory -----------------------------------------------------------------------------------------
    def prune(self) -> None:
        """Forget votes, links and checkpoints that can no longer matter (below finality), and move justified
        checkpoints that do not descend from the finalized one to the off-chain record."""
        fin_cp = self.state.finalized
        fin = fin_cp.epoch

        def dead(link: Link) -> bool:
            return link[1].epoch <= fin or link[0].epoch < fin

        for link in [k for k in self._links if dead(k)]:
            del self._links[link]
            self._link_stake.pop(link, None)
        self._on_chain = {k: v for k, v in self._on_chain.items() if not dead(k)}
        self._done = {k for k in self._done if not dead(k)}
        self._pending = {k: j for k, j in self._pending.items() if not dead(k)}
        self._target_sets = {cp: vs for cp, vs in self._target_sets.items() if cp.epoch > fin or cp == fin_cp}
        for held in (self._unresolved_votes, self._unresolved_strangers, self._unresolved_justifications):
            for key in [k for k, v in held.items() if dead(v.link)]:
                del held[key]
        self._memory.prune(fin)
        self._fin_checkpoints = {}
        self._above_fin = {}
        justified: dict[int, Checkpoint] = {}
        for e, cp in self.state.justified.items():
            if e < fin:
                continue
            if e == fin or self.view.is_on_chain(fin_cp, cp):
                justified[e] = cp
            elif cp in self._justified_by:
                self._off_chain[cp] = self._justified_by[cp]
        self.state.justified = justified
        self._justified_by = {cp: j for cp, j in self._justified_by.items() if justified.get(cp.epoch) == cp}
        while len(self._off_chain) > self.max_off_chain:
            self._off_chain.popitem(last=False)
