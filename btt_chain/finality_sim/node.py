"""An honest simulated node, validator or observer, running the node's own finality rules.

It holds the blocks it received (orphans wait for their parent), a `VoteTracker` over its own `NodeView`, the
justifications stored beside its blocks, and, a validator, its `SignedVotes` record. After every block, vote,
justification or sync response it takes in, it retries what its tracker held (`retry_unresolved`) and recomputes its
head with the fork choice from its latest justified checkpoint. Once its head's epoch is due a vote (`vote_delay` slots
into it by the head or by the clock: `vote_rule.voting_epoch`, also at the slot's start, `on_slot`), a validator in the
set of the head's checkpoint of that epoch asks the vote rule once for a link; if there is one it records it in
`SignedVotes`, counts it itself and hands it to the network to gossip (once).

A restart loses what the node keeps in memory: the tracker is rebuilt from its persisted record (`to_record`, which
the node writes after every change), the alarm it raised (finality stays halted) and the justifications stored beside
the record's justified checkpoints (the evidence behind them); the held votes and justifications, the orphan buffer
and the epoch it last voted in are gone; blocks, stored justifications and the signed-vote record survive. A restart
may lose more (`Restart.lose`): the signed-vote record ("records"), or every file ("all": the node starts empty at
genesis and syncs again). Without its record a validator runs the node's own doppelganger watch
(`btt_chain.consensus.signing_gate.DoppelgangerWatch`): it signs nothing until it has synced from a peer and
`doppelganger_epochs` full epochs have passed, folds the votes of its own keys from before it started that it sees
into its record, and would refuse for good on a vote of its keys signed after (another instance: there is none here,
so a refusal is a bug the checks report).

A validator holds a key per generation (`validators.validator_key`) and signs each vote with the one its target's set
names: after a rotation included on one fork only, the new key there and the old one elsewhere, from one record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from btt_chain.consensus import fork_choice, vote_rule
from btt_chain.consensus.finality import (
    FinalityConflict,
    FinalityRecord,
    FinalityState,
    FinalityUpdate,
    VoteTracker,
)
from btt_chain.consensus.signed_votes import SignedVotes
from btt_chain.consensus.signing_gate import (
    DoppelgangerWatch,
    Identity,
    Verdict,
    WatchState,
    merge_signed_votes,
    record_of,
)
from btt_chain.consensus.vote_rule import voting_epoch
from btt_chain.finality_sim.blocks import BlockTree, SimBlock, child_block, due_rotations
from btt_chain.finality_sim.validators import MAX_GENERATION, EpochSets, account_of, validator_key
from btt_chain.finality_sim.view import NodeView
from btt_chain.primitives.vote import Checkpoint, Justification, Vote, sign_vote

LATEST_JUSTIFICATIONS = 8
"""Justifications a node serves from beside its canonical blocks, newest first (as the node's sync does)."""

HeadRule = Callable[..., bytes]
"""`fork_choice.choose_head`'s signature."""
VoteRule = Callable[..., vote_rule.VoteChoice]
"""`vote_rule.choose_vote`'s signature."""


@dataclass(frozen=True)
class Rules:
    """The rules every honest node runs: the node's own by default (tests swap in broken or older ones to show that
    the simulation catches them)."""

    choose_head: HeadRule = fork_choice.choose_head
    choose_vote: VoteRule = vote_rule.choose_vote
    tracker: type[VoteTracker] = VoteTracker


@dataclass(frozen=True)
class RunSetup:
    """What every node of one run shares: genesis, the sets, the clock and the rules."""

    genesis: SimBlock
    sets: EpochSets
    epoch_slots: int
    slot_ticks: int
    rules: Rules
    vote_delay: int
    """Slots into an epoch a validator waits before it votes (the schedule's `vote_delay`)."""
    rotations: tuple[tuple[int, int], ...] = ()
    """(epoch, validator) of the key rotations honest leaders include."""
    doppelganger_epochs: int = 2
    """Epochs a validator that lost its signing records watches before it signs again."""

    def epoch_at(self, tick: int) -> int:
        return tick // (self.epoch_slots * self.slot_ticks)


@dataclass
class NodeRecord:
    """What the checks read of one node's run (kept across restarts: it is the simulation's notebook)."""

    finalized: list[tuple[int, Checkpoint]] = field(default_factory=list)
    """(tick, checkpoint) each time the finalized checkpoint moved."""
    justified_by: dict[Checkpoint, Justification] = field(default_factory=dict)
    """The first justification this node applied for each checkpoint it justified."""
    finalizing: dict[Checkpoint, Justification] = field(default_factory=dict)
    """A supermajority link to the next epoch it applied from each such source (that finalized it)."""
    alarms: list[tuple[int, FinalityConflict]] = field(default_factory=list)
    votes: list[Vote] = field(default_factory=list)
    """The votes this validator signed (in every life: a restore without records included)."""
    resets: list[int] = field(default_factory=list)
    """Where in `finalized` the node started again from nothing (a restart that lost every file)."""

    def finalized_past(self, epoch: int) -> int | None:
        """The tick at which this node first held a checkpoint of an epoch above `epoch` finalized (None: never)."""
        return next((t for t, cp in self.finalized if cp.epoch > epoch), None)


class SimNode:
    """One honest node."""

    def __init__(self, node_id: int, validator: int | None, setup: RunSetup) -> None:
        self.id = node_id
        self.validator = validator
        self.keys = {} if validator is None else {
            validator_key(validator, g).public: validator_key(validator, g) for g in range(MAX_GENERATION + 1)}
        """Every key this validator may sign with, by public key (a node's keystore)."""
        self.setup = setup
        self.sets = setup.sets
        self.epoch_slots = setup.epoch_slots
        self.rules = setup.rules
        self.genesis_hash = setup.genesis.hash
        self.tree = BlockTree(setup.genesis, setup.epoch_slots)
        self.view = NodeView(self)
        self.tracker = self.rules.tracker(self.genesis_hash, self.view)
        self.signed = SignedVotes()
        self.last_vote_epoch = -1
        self.watch: DoppelgangerWatch | None = None
        """The doppelganger watch of a validator that lost its records (None: it has them)."""
        self.synced = True
        """False after a restart that lost every file, until a peer's sync response arrived."""
        self.probed: set[tuple[int, Checkpoint, Checkpoint]] = set()
        """(peer, its claimed finalized checkpoint, ours then) whose justifications this node read (once each)."""
        self.authorized: dict[bytes, int] = {}
        """Key -> validator, from the key rotations of every block received (a rotation is a signed `set_keys`: a
        key authorization, valid on every fork)."""
        self.store: dict[bytes, dict[int, Justification]] = {}
        """Justifications stored beside blocks, by block and target epoch (the node's database: one per checkpoint,
        since a block is the checkpoint of every empty epoch after it)."""
        self.up = True
        self.head = self.genesis_hash
        self.record = NodeRecord()
        self._dirty = True
        self._head_checkpoints: dict[int, Checkpoint] = {}
        self._persisted: tuple[bytes, FinalityConflict | None] | None = None

    # what the node takes in ---------------------------------------------------------------------------------
    def _learn_keys(self, block: SimBlock) -> None:
        for v in block.rotations:
            generation = min(MAX_GENERATION, sum(1 for _, x in block.rotation_log if x == v))
            self.authorized[validator_key(v, generation).public] = v

    def take_block(self, block: SimBlock, now: int) -> list[Vote]:
        self._learn_keys(block)
        if self.tree.add(block):
            self._dirty = True
        return self._settle(now)

    def take_vote(self, vote: Vote, now: int) -> list[Vote]:
        self._fold_own(vote)
        result = self.tracker.add_vote(vote, current_epoch=self.setup.epoch_at(now), signature_checked=True)
        self._apply(result.update, now)
        return self._settle(now)

    def take_sync(self, blocks: Iterable[SimBlock], justifications: Iterable[Justification], now: int) -> list[Vote]:
        """A sync response: blocks first (parents first), then the justifications beside them and the latest ones."""
        self.synced = True
        for b in blocks:
            self._learn_keys(b)
            if self.tree.add(b):
                self._dirty = True
        self._apply(self.tracker.retry_unresolved().update, now)
        for j in justifications:
            for v in j.votes:
                self._fold_own(v)
            self._apply(self.tracker.import_justification(j, signature_checked=True).update, now)
        return self._settle(now)

    def propose(self, slot: int, now: int) -> tuple[SimBlock | None, list[Vote]]:
        """As the leader of `slot`: a block on the head, taken in here first."""
        head = self.tree.blocks[self.head]
        if self.validator is None or head.slot >= slot:
            return None, []
        block = child_block(head, slot, self.validator,
                            due_rotations(head, slot, self.epoch_slots, self.setup.rotations))
        return block, self.take_block(block, now)

    def serve_sync(self, knows: Callable[[bytes], bool]) -> tuple[list[SimBlock], list[Justification]]:
        """What a pull from this node returns to a peer that knows the blocks `knows` says it does: the canonical
        blocks it lacks (when it does not know this node's head) with their justifications, and the latest
        LATEST_JUSTIFICATIONS justifications stored beside canonical blocks."""
        blocks: list[SimBlock] = []
        if not knows(self.head):
            for b in self.tree.chain(self.head):
                if knows(b.hash):
                    break
                blocks.append(b)
            blocks.reverse()
        found = [j for b in blocks for _, j in sorted(self.store.get(b.hash, {}).items())]
        latest: list[Justification] = []
        for b in self.tree.chain(self.head):
            if len(latest) >= LATEST_JUSTIFICATIONS:
                break
            latest.extend(j for _, j in sorted(self.store.get(b.hash, {}).items(), reverse=True))
        return blocks, list(dict.fromkeys(found + latest[:LATEST_JUSTIFICATIONS]))

    def justifications_from(self, epoch: int) -> list[Justification]:
        """The justifications stored beside this node's canonical checkpoints from `epoch` up, oldest first (what the
        node serves to `sync/justifications [from epoch]`)."""
        found = [j for b in self.tree.chain(self.head) for e, j in self.store.get(b.hash, {}).items() if e >= epoch]
        return sorted(found, key=lambda j: (j.target.epoch, j.source.epoch))

    def record_from_database(self) -> SignedVotes:
        """What a validator that lost its signing records can rebuild of them from its database (the node's rule): its
        own votes in the justifications stored beside its blocks, and, as the highest source it may have signed from,
        the latest checkpoint its finality record holds justified (it voted from what it held justified)."""
        own = [v.link for js in self.store.values() for j in js.values() for v in j.votes if v.validator in self.keys]
        record = merge_signed_votes(SignedVotes(), record_of(own))
        latest = self.tracker.state.latest_justified.epoch
        return SignedVotes(max(record.max_source, latest), record.max_target, record.votes)

    def fold_peer_votes(self, votes: Iterable[Vote]) -> None:
        """Votes of this validator's keys a peer holds (the node asks its peers for them while it watches): folded in
        as if seen."""
        for v in votes:
            self._fold_own(v)

    def own_votes(self, keys: Iterable[bytes]) -> list[Vote]:
        """The votes of `keys` this node's tracker holds (what it serves to `votes/held`)."""
        return self.tracker.votes_by(keys)

    def key_authorizations(self) -> dict[bytes, int]:
        """Key -> validator for every rotation on this node's head chain and every one it learned (what it serves to
        `keys/auth`)."""
        found = dict(self.authorized)
        counts: dict[int, int] = {}
        for _, v in self.tree.blocks[self.head].rotation_log:
            counts[v] = min(MAX_GENERATION, counts.get(v, 0) + 1)
            found[validator_key(v, counts[v]).public] = v
        return found

    def doubts(self, claim: Checkpoint) -> bool:
        """Whether a peer's finalized checkpoint `claim` is not shown to be on this node's finalized chain (its block
        is unknown here, or on a chain that misses ours, or not ours at its epoch): the node reads that peer's
        justifications (`NetworkBridge._probe_conflict`)."""
        fin = self.tracker.finalized
        tree = self.tree
        if claim.block_hash not in tree:
            return claim.epoch > 0
        if claim.epoch <= fin.epoch:
            return tree.checkpoint_hash(claim.epoch, fin.block_hash) != claim.block_hash
        return not tree.is_on_chain(fin, claim)

    # restarts ------------------------------------------------------------------------------------------------
    def crash(self) -> None:
        self.up = False
        self._persisted = (self.tracker.state.to_record().encode(), self.tracker.conflict)
        self.tree.drop_orphans()

    def restart(self, now: int, lose: str = "") -> list[Vote]:
        assert self._persisted is not None, "restart without a crash"
        raw, conflict = self._persisted
        if lose == "all":  # restored empty: genesis, nothing justified, nothing stored; it syncs again
            self.tree = BlockTree(self.setup.genesis, self.epoch_slots)
            self.store = {}
            self.authorized = {}
            self.head = self.genesis_hash
            self._head_checkpoints = {}
            self.tracker = self.rules.tracker(self.genesis_hash, self.view)
            self.record.resets.append(len(self.record.finalized))
            self.synced = False
        else:
            state = FinalityState.from_record(FinalityRecord.decode(raw))
            stored = [j for cp in state.justified.values() for j in self.store.get(cp.block_hash, {}).values()]
            self.tracker = self.rules.tracker(self.genesis_hash, self.view, state, conflict=conflict,
                                              justifications=stored)
        if lose and self.keys:  # no signing record: a watch first (the node's rule)
            self.signed = SignedVotes()
            self.watch = DoppelgangerWatch(now // self.setup.slot_ticks, self.epoch_slots,
                                           self.setup.doppelganger_epochs)
            self.signed = self.record_from_database()
        self.last_vote_epoch = -1
        self.up = True
        self._dirty = True
        return self._settle(now)

    # the head and the vote -------------------------------------------------------------------------------------
    def head_checkpoint(self, epoch: int) -> Checkpoint:
        """The checkpoint of `epoch` on the head's chain."""
        cp = self._head_checkpoints.get(epoch)
        if cp is None:
            block_hash = self.tree.checkpoint_hash(epoch, self.head)
            assert block_hash is not None
            cp = Checkpoint(epoch, block_hash)
            self._head_checkpoints[epoch] = cp
        return cp

    @property
    def head_epoch(self) -> int:
        return self.tree.blocks[self.head].slot // self.epoch_slots

    def _settle(self, now: int) -> list[Vote]:
        self._apply(self.tracker.retry_unresolved().update, now)
        self._refresh_head()
        return self._vote(now)

    def _refresh_head(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        state = self.tracker.state
        tree = self.tree
        head = self.rules.choose_head(state.justified.values(), state.finalized, tree.__contains__, tree.children_of,
                                      tree.number_of, slot_of=tree.block_slot, epoch_slots=self.epoch_slots)
        if head != self.head:
            self.head = head
            self._head_checkpoints = {}

    def _fold_own(self, vote: Vote) -> None:
        """The watch's verdict on a vote of this validator's keys or account: one from before it started again is
        folded into its record (it signed that once, so it must never sign below it); one signed after, not by it,
        refuses for good."""
        if self.watch is None or self.validator is None:
            return
        account = self.sets.owner_of(vote.validator)
        voters = self.tracker.target_set(vote.target)
        self.watch, verdict = self.watch.observe_vote(
            Identity(frozenset(self.keys), frozenset({account_of(self.validator)})), vote.validator, account,
            vote.source.epoch, vote.target.epoch, self.signed, voters is None or vote.validator in voters, vote.link)
        if verdict is Verdict.OLD:
            self.signed = merge_signed_votes(self.signed, record_of([vote.link]))

    def on_slot(self, now: int) -> list[Vote]:
        """At a slot's start (the node's author loop): the vote, if one is due now (`_vote`)."""
        return self._vote(now) if self.up else []

    def _vote(self, now: int) -> list[Vote]:
        """Vote once per epoch, `vote_delay` slots into the head's epoch by the head or the clock (the node's rule,
        `vote_rule.voting_epoch`), once the signing gate is open."""
        epoch = voting_epoch(self.tree.blocks[self.head].slot, now // self.setup.slot_ticks, self.epoch_slots,
                             self.setup.vote_delay)
        if not self.keys or epoch is None or epoch <= self.last_vote_epoch:
            return []
        if not self.synced or (self.watch is not None and
                                self.watch.state(now // self.setup.slot_ticks) is not WatchState.CLEAR):
            return []
        self.last_vote_epoch = epoch
        voters = self.tracker.target_set(self.head_checkpoint(epoch))
        key = None if voters is None else next((k for pub, k in self.keys.items() if pub in voters), None)
        if key is None:
            return []
        choice = self.rules.choose_vote(epoch, self.head_checkpoint, self.tracker.state.justified.values(),
                                        self.signed)
        if choice.link is None:
            return []
        self.signed = self.signed.with_vote(*choice.link)
        vote = sign_vote(key, self.genesis_hash, *choice.link)
        self.record.votes.append(vote)
        self._apply(self.tracker.add_vote(vote, current_epoch=epoch, signature_checked=True).update, now)
        self._refresh_head()
        return [vote]

    def _apply(self, update: FinalityUpdate, now: int) -> None:
        if not update.changed:
            return
        self._dirty = True
        record = self.record
        for j in update.justifications:
            self.store.setdefault(j.target.block_hash, {})[j.target.epoch] = j
            record.justified_by.setdefault(j.target, j)
            if j.target.epoch == j.source.epoch + 1:
                record.finalizing.setdefault(j.source, j)
        if update.finalized is not None:
            record.finalized.append((now, update.finalized))
        if update.alarm is not None:
            record.alarms.append((now, update.alarm))
