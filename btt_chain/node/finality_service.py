"""Finality in the node: votes at epoch boundaries, justifications beside blocks, the fork choice's anchor, finalizing
the chain, the alarm when finality forks, and evidence of double and surround votes and of double-signed blocks turned
into slashing reports.

The rules are pure functions in `btt_chain.consensus`: which votes count and what they justify and finalize
(`finality.VoteTracker`), which link a validator signs (`vote_rule.choose_vote`), which head a node follows
(`fork_choice`, applied by `Chain.set_anchor`). This file only schedules around them and answers their questions
about the block tree (`ChainTargetSets`).

Votes for a target checkpoint of epoch e count against the set active in epoch e on the target's own chain: the set
queued in the target block's post-state, which the chain records beside every block it executes. A vote or
justification for a target this node has not imported or executed waits, bounded, and is retried after imports: sync
fetches the chain of any peer whose head this node does not know, and a side block whose held votes carry a third of
the stake is executed without becoming canonical (`Chain.execute_side_branch`), so that a checkpoint justified on a
branch this node does not follow is learned, and the fork choice moves to it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Container, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from btt_chain.consensus.checkpoints import MAX_OWN_JUSTIFICATIONS, checkpoint_for_epoch, epoch_of
from btt_chain.consensus.finality import (
    FinalityConflict,
    FinalityRecord,
    FinalityState,
    FinalityUpdate,
    JustificationStatus,
    VoteStatus,
    VoteTracker,
)
from btt_chain.consensus.fork_choice import choose_anchor
from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.consensus.vote_guard import VoteGuard
from btt_chain.consensus.vote_rule import choose_vote, vote_delay, voting_epoch
from btt_chain.node.chain import Chain, ConflictsWithFinality
from btt_chain.node.key_authorizations import KeyAuthorizations
from btt_chain.node.upgrades import UpgradeHalt
from btt_chain.primitives.block import Header
from btt_chain.primitives.errors import BttError, DecodeError, InvalidBlock, InvalidExtrinsic, StorageError
from btt_chain.primitives.evidence import VoteEquivocation, block_pair_problem, is_block_equivocation
from btt_chain.primitives.extrinsic import Era, born_at_finalized, sign_extrinsic
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.vote import Checkpoint, Justification, Vote
from runtime.session import storage as session_storage
from runtime.specs import spec_for_block
from storage import schema

if TYPE_CHECKING:
    from btt_chain.node.service import Node

log = logging.getLogger("btt.finality")

RECENT_SLOTS = 512
"""How many recent (slot, author) pairs are remembered to spot a second block for the same slot."""
REPORT_MORTALITY = 64
DECODED_SETS = 16
"""Validator set records kept decoded (sets change rarely: a few cover every target in play)."""
MAX_FOREIGN_HEADERS = 8192
"""Headers of refused branches kept (about 2.5 MB)."""
MAX_WANTED_KEYS = 256
"""Unplaced keys remembered to ask peers for (the newest)."""
SIDE_EXECUTIONS_PER_HEAD = 2
"""Side branches executed for held votes per new head, at most (each costs about a reorganisation there and back)."""


class ChainTargetSets:
    """The finality tracker's view of one chain database (`btt_chain.consensus.checkpoints.CheckpointView`): target
    checkpoint -> the set that votes for it, and which checkpoints are on which chains. The node's finality service and
    `import-blocks` (`btt_chain.node.block_io`) both verify justifications through it, so an imported justification is
    checked exactly as one from sync."""

    def __init__(self, chain: Chain, authorizations: KeyAuthorizations | None = None) -> None:
        self.chain = chain
        self.authorizations = authorizations
        """Key authorizations this node keeps (`key_owner`'s second source), if any."""
        self._sets: OrderedDict[bytes, ValidatorSet] = OrderedDict()
        self._staked: dict[bytes, frozenset[bytes]] = {}
        """Set fingerprint -> the accounts with stake in it, for the sets in `_sets`."""
        self._owners: dict[bytes, bytes] = {}
        """Keys placed by the head's state (ownership is permanent: a key is its account's for good)."""
        self._foreign: OrderedDict[bytes, Header] = OrderedDict()
        """Headers of a branch this node's finality refuses (read from a peer that says it finalized it): where that
        branch's checkpoints are (`checkpoint_of`), never imported."""

    def add_foreign_headers(self, headers: Iterable[Header]) -> int:
        """Keep headers of a refused branch (the newest MAX_FOREIGN_HEADERS): only their hashes' ancestry is read, and
        a header is what hashes to its block's hash, so nothing in them can be forged; how many were new."""
        added = 0
        for h in headers:
            key = h.hash()
            if key not in self._foreign and self.chain.db.get_header(key) is None:
                added += 1
            self._foreign[key] = h
            self._foreign.move_to_end(key)
        while len(self._foreign) > MAX_FOREIGN_HEADERS:
            self._foreign.popitem(last=False)
        return added

    def _header(self, block_hash: bytes) -> Header | None:
        return self.chain.db.get_header(block_hash) or self._foreign.get(block_hash)

    def voter_set(self, cp: Checkpoint) -> ValidatorSet | None:
        """The validators active in epoch `cp.epoch` on the chain of `cp.block_hash`, i.e. those queued in that
        block's post-state (`session.queued`, recorded when the block was executed). None while this node cannot
        tell, and then the tracker holds the vote: the block is unknown, not executed here, not at or above the
        last finalized block, or not known to be epoch `cp.epoch`'s checkpoint on any chain (its slot must be
        below the epoch's first slot, and a known child of it must be at or after that slot; that also bounds
        the epochs one block can be a checkpoint of)."""
        chain = self.chain
        block_hash = cp.block_hash
        if not chain.is_above_finalized(block_hash):
            return None
        db = chain.db
        header = db.get_header(block_hash)
        if header is None:
            return None
        if cp.epoch == 0:
            if header.number != 0:
                return None
        else:
            boundary = cp.epoch * chain.clock.epoch_slots
            if header.slot >= boundary or not self._has_child_from(block_hash, header.number, boundary):
                return None
        return self._recorded_set(block_hash)

    def _recorded_set(self, block_hash: bytes) -> ValidatorSet | None:
        """The set recorded beside an executed block (the one queued in its post-state)."""
        db = self.chain.db
        set_hash = db.voter_set_hash(block_hash)
        if set_hash is None:
            return None
        vs = self._sets.get(set_hash)
        if vs is None:
            raw = db.voter_set(set_hash)
            if raw is None:
                return None
            vs = ValidatorSet.decode(raw)
            self._sets[set_hash] = vs
            while len(self._sets) > DECODED_SETS:
                self._staked.pop(self._sets.popitem(last=False)[1].fingerprint, None)
        self._sets.move_to_end(set_hash)
        return vs

    def is_on_chain(self, cp: Checkpoint, of: Checkpoint) -> bool:
        """Whether `cp` is the checkpoint of its epoch on the chain of block `of.block_hash` (see `checkpoint_of`)."""
        if cp.epoch > of.epoch:
            return False
        return cp == of or self.checkpoint_of(cp.epoch, of) == cp

    def checkpoint_of(self, epoch: int, of: Checkpoint) -> Checkpoint | None:
        """The checkpoint of `epoch` on the chain of block `of.block_hash`: walk back from `of` to the last block below
        the epoch's first slot, by parent links off the canonical chain and by binary search on it. None when a block
        on the way is not stored, or it is below a warp-synced database's first block."""
        if epoch > of.epoch:
            return None
        chain = self.chain
        if epoch == 0:
            return Checkpoint(0, chain.genesis_hash)
        boundary = epoch * chain.clock.epoch_slots
        h = of.block_hash
        while True:
            header = self._header(h)
            if header is None:
                return None
            if header.slot < boundary:
                return Checkpoint(epoch, h)
            if chain.is_canonical(h, header.number):
                try:
                    return checkpoint_for_epoch(epoch, self._canonical_header, header.number,
                                                epoch_slots=chain.clock.epoch_slots, lowest=chain.lowest_number)
                except LookupError:  # below a warp-synced database's first block: not a checkpoint it can weigh
                    return None
            h = header.parent_hash

    def trusted_set(self, epoch: int) -> ValidatorSet | None:
        """The set recorded beside our canonical chain's checkpoint of `epoch` (of the head's epoch after it, for a
        later one): what this node weighs a conflicting fork's links of that epoch by."""
        chain = self.chain
        head = chain.head
        last = head.slot // chain.clock.epoch_slots + 1
        try:
            cp = checkpoint_for_epoch(min(epoch, last), self._canonical_header, head.number,
                                      epoch_slots=chain.clock.epoch_slots, lowest=chain.lowest_number)
        except LookupError:
            return None
        return self._recorded_set(cp.block_hash)

    def own_justifications(self, low_epoch: int, of: Checkpoint) -> list[Justification]:
        """The justifications stored beside the checkpoints of epochs `low_epoch`..`of.epoch` on `of`'s chain, oldest
        first, at most MAX_OWN_JUSTIFICATIONS."""
        found: list[Justification] = []
        seen: set[bytes] = set()
        for epoch in range(max(0, low_epoch), of.epoch + 1):
            cp = self.checkpoint_of(epoch, of)
            if cp is None or cp.block_hash in seen:
                continue
            seen.add(cp.block_hash)
            for raw in self.chain.db.justifications(cp.block_hash):
                try:
                    j = Justification.decode(raw)
                except DecodeError:
                    continue
                if low_epoch <= j.target.epoch <= of.epoch:
                    found.append(j)
            if len(found) >= MAX_OWN_JUSTIFICATIONS:
                break
        return sorted(found, key=lambda j: j.target.epoch)[:MAX_OWN_JUSTIFICATIONS]

    def key_owner(self, key: bytes) -> bytes | None:
        """The account `key` signs for, as the head's state records it (`session.key_owner`: every key an account
        ever used), else as a kept claim on it shows it, counted only for a claimant that holds stake (`holds_stake`);
        None if neither places it.

        Anybody can claim a key (a `register_validator` signed for a spec before 17 needs no proof of possession, and
        such claims stay valid on every fork), so a claim by an account without stake places nothing: a coalition
        member's key, claimed by a throwaway account, stays unplaced (asked of other peers) until the member's own
        claim arrives, and the member, being in the set, is the claimant it counts for. A claimant with stake answers
        for the key in any case: its own signature made the claim. The cost is bounded: the claims of a key are
        cached decoded, at most MAX_CLAIMANTS_PER_KEY, each checked against the few sets held decoded."""
        account = self._owners.get(key)
        if account is not None:
            return account
        account = session_storage.owner_of_key(self.chain.state(), key)
        if account is not None:
            self._owners[key] = account
            return account
        if self.authorizations is None:
            return None
        # not cached here: a better claim may come later (the claims themselves are cached)
        return self.authorizations.owner(key, self.holds_stake)

    def holds_stake(self, account: bytes) -> bool:
        """Whether `account` has stake in a validator set this view holds decoded: the sets it weighed with last
        (the trusted set of a conflicting link's epoch among them), else the one it trusts for the head's epoch."""
        if not self._sets:
            self.trusted_set(self.chain.head.slot // self.chain.clock.epoch_slots)
        for vs in self._sets.values():
            staked = self._staked.get(vs.fingerprint)
            if staked is None:
                staked = self._staked[vs.fingerprint] = frozenset(
                    vs.accounts[k] for k, w in vs.weights.items() if w > 0)
            if account in staked:
                return True
        return False

    def _canonical_header(self, number: int) -> Header | None:
        db = self.chain.db
        h = db.canonical_hash(number)
        return None if h is None else db.get_header(h)

    def _has_child_from(self, block_hash: bytes, number: int, slot: int) -> bool:
        """Whether a known block above the finalized one has `block_hash` as parent and a slot >= `slot`."""
        chain = self.chain
        for child in chain.db.block_hashes_at(number + 1):
            header = chain.db.get_header(child)
            if (header is not None and header.parent_hash == block_hash and header.slot >= slot
                    and chain.is_above_finalized(child)):
                return True
        return False


def stored_justifications(chain: Chain, state: FinalityState | None) -> list[Justification]:
    """The justifications stored beside the justified checkpoints of a persisted finality state: the evidence behind
    them, which a finality alarm after a restart must still carry."""
    if state is None:
        return []
    found = []
    for cp in state.justified.values():
        for raw in chain.db.justifications(cp.block_hash):
            try:
                found.append(Justification.decode(raw))
            except DecodeError:
                log.warning("a justification stored beside 0x%s does not decode: the database is damaged",
                            cp.block_hash.hex()[:16])
    return found


class FinalityService:
    def __init__(self, node: Node, key: Keypair | Iterable[Keypair] | None, guard_path: Path) -> None:
        """`key`: the session key this node votes with, or the node's keystore (it votes with the key the target
        epoch's set holds: after a rotation the new key, from the epoch the chain says), or None (no votes)."""
        self.node = node
        self._keys: Iterable[Keypair] = () if key is None else (key,) if isinstance(key, Keypair) else key
        chain = node.chain
        raw = chain.db.meta(schema.META_JUSTIFIED)
        state = FinalityState.from_record(FinalityRecord.decode(raw)) if raw else None
        raw_conflict = chain.db.finality_conflict()
        conflict = FinalityConflict.decode_record(raw_conflict) if raw_conflict else None
        # the next block's spec by number: a node that cannot run it (`btt_chain.node.upgrades`) still starts
        self.authorizations = KeyAuthorizations(chain, spec_for_block(chain.db.state, chain.head.number + 1))
        """Key authorizations from the blocks this node executes and from peers (`key_owner`'s second source)."""
        chain.on_import(self.authorizations.record_block)
        authorizations = self.authorizations
        chain.key_claimants = lambda key: [auth.account for auth in authorizations.claims(key)]
        self.view = ChainTargetSets(chain, self.authorizations)
        self._alarmed = False
        """An alarm was raised in this run (a later one only adds evidence)."""
        self._wanted_keys: OrderedDict[bytes, None] = OrderedDict()
        """Keys of conflicting links that nothing here places (`take_wanted_keys`)."""
        self._asked_keys: OrderedDict[bytes, None] = OrderedDict()
        """Keys handed out to be asked of peers, the newest MAX_WANTED_KEYS: the only ones whose authorizations a
        peer's answer may bring (`add_key_authorizations`)."""
        self.tracker = VoteTracker(chain.genesis_hash, self.view, state, conflict=conflict,
                                   justifications=stored_justifications(chain, state))
        self.guard = VoteGuard(guard_path) if key is not None else None
        """One record for every key this node signs with: a rotation never lets a new key sign against the old
        one's votes."""
        self.publish_vote: Callable[[bytes], None] = lambda _raw: None
        self.may_sign_vote: Callable[[Keypair, Checkpoint, ValidatorSet], bool] = lambda _key, _target, _voters: True
        """The node's signing gate (`btt_chain.node.signing_watch`): synced, no second signer, one validator."""
        self.observe_vote: Callable[[Vote], None] = lambda _vote: None
        """Shown every gossiped vote (the signing gate watches for votes of this validator's keys)."""
        self._last_vote_epoch = -1
        self._seen_headers: OrderedDict[tuple[int, bytes], Header] = OrderedDict()
        self._reported: set[bytes] = set()
        self._following = False
        if conflict is not None:
            log.error("finality is stopped: %s (recorded earlier; the evidence is kept in the database)",
                      conflict.describe())
        self.follow_justified()

    @property
    def key(self) -> Keypair | None:
        """The key reports are signed with (it pays their fee and gets the reward): the first this node holds."""
        return next(iter(self._keys), None)

    def key_for(self, voters: Container[bytes]) -> Keypair | None:
        """The key of this node in a set of voters (session keys), if any."""
        return next((k for k in self._keys if k.public in voters), None)

    @property
    def epoch_slots(self) -> int:
        return self.node.chain.clock.epoch_slots

    @property
    def conflict(self) -> FinalityConflict | None:
        """Set when conflicting checkpoints were seen finalized: finality stopped here (shown on /health and in the
        `btt_finality_conflict` metric)."""
        return self.tracker.conflict

    def target_set(self, cp: Checkpoint) -> ValidatorSet | None:
        """The set that votes for checkpoint `cp` (see `ChainTargetSets`)."""
        return self.view.voter_set(cp)

    # the fork choice's anchor ----------------------------------------------------------------------------
    def follow_justified(self) -> None:
        """Point the chain's fork choice at the latest justified checkpoint (it moves the head beneath it)."""
        if self._following:
            return  # a reorganisation below calls back here through on_new_head
        chain = self.node.chain
        anchor = choose_anchor(self.tracker.state.justified.values(), self.tracker.finalized, chain.is_above_finalized)
        self._following = True
        try:
            result = chain.set_anchor(anchor)
        except UpgradeHalt:  # the node stopped at an upgrade it cannot run: said once, when it stopped
            return
        except (BttError, InvalidBlock) as exc:
            log.warning("could not move to the justified checkpoint %s yet: %s", anchor, exc)
            self.node.fetch_missing_weights()
            return
        finally:
            self._following = False
        if result is not None:
            log.info("the fork choice follows the justified checkpoint %s: head #%d 0x%s", anchor,
                     result.header.number, result.hash.hex()[:16])
            self.node.after_head_moved(result)

    # votes -----------------------------------------------------------------------------------------
    def on_blocks_stored(self) -> None:
        """Count what waited for the blocks just imported (executing a side branch that a third of the stake voted
        for), follow the justified checkpoint, and catch the chain up with tracker finality."""
        self._retry_unresolved()
        self._execute_for_held_votes()
        self.follow_justified()
        self._apply_finality()

    def on_new_head(self) -> None:
        """`on_blocks_stored`, then `on_slot`."""
        self.on_blocks_stored()
        self.on_slot()

    def on_slot(self) -> None:
        """Vote once per epoch, `vote_delay` slots into the head's epoch by the head or by the clock
        (`vote_rule.voting_epoch`; the author loop calls this at every slot's start, so a vote comes when it is due
        even if no block does), if this validator is in the set of the epoch's checkpoint."""
        if self.guard is None:
            return
        chain = self.node.chain
        epoch = voting_epoch(chain.head.slot, chain.clock.slot_at(self.node.now_ms()), self.epoch_slots,
                             vote_delay(self.epoch_slots))
        if epoch is None or epoch <= self._last_vote_epoch:
            return
        self._last_vote_epoch = epoch
        try:
            target = self._head_checkpoint(epoch)
        except LookupError as exc:  # a warp-synced head still in the epoch of its base: no block of ours to name
            log.info("not voting in epoch %d: %s", epoch, exc)
            return
        voters = self.tracker.target_set(target)
        if voters is None:  # below the finalized block (a trusted checkpoint past it): nothing to vote for
            log.info("no validator set for checkpoint %s on our own chain: not voting in epoch %d", target, epoch)
            return
        key = self.key_for(voters)
        if key is None or not self.may_sign_vote(key, target, voters):
            return
        choice = choose_vote(epoch, self._head_checkpoint, self.tracker.state.justified.values(), self.guard.signed)
        if choice.link is None:
            log.info("not voting in epoch %d: %s", epoch, choice.reason)
            return
        vote = self.guard.sign(key, chain.genesis_hash, *choice.link)  # persisted (fsync) before it leaves
        result = self.tracker.add_vote(vote, current_epoch=epoch)
        self._handle_update(result.update)
        self.publish_vote(vote.encode())
        log.info("voted %s -> %s", *choice.link)

    def _head_checkpoint(self, epoch: int) -> Checkpoint:
        chain = self.node.chain
        return checkpoint_for_epoch(epoch, self._canonical_header, chain.head.number, epoch_slots=self.epoch_slots,
                                    lowest=chain.lowest_number)

    def _retry_unresolved(self) -> None:
        """Votes and justifications that waited for their target's set: count those whose set is known now."""
        retry = self.tracker.retry_unresolved()
        for ev in retry.evidence:
            self._report_votes(ev)
        for vote, r in retry.votes:
            if r.status is VoteStatus.INVALID:
                log.debug("held vote by 0x%s is invalid: %s", vote.validator.hex()[:16], r.reason)
        for j, ji in retry.justifications:
            if ji.status is JustificationStatus.INVALID:
                log.info("held justification of %s is invalid: %s", j.target, ji.reason)
        self._handle_update(retry.update)

    def _execute_for_held_votes(self) -> None:
        """Execute the side branch of a checkpoint that a third of the stake has voted for while this node cannot weigh
        the votes (its block was stored, not executed: it is not on our best chain), then count them. A justification
        learned there moves the fork choice to that branch."""
        chain = self.node.chain
        done = 0
        for target, stake, total in self.tracker.held_targets():
            if done >= SIDE_EXECUTIONS_PER_HEAD or stake * 3 < total:
                break
            h = target.block_hash
            if not chain.is_above_finalized(h) or chain.db.is_executed(h):
                continue
            try:
                done += chain.execute_side_branch(h)
            except InvalidBlock as exc:
                log.info("the side branch of checkpoint %s is invalid: %s", target, exc)
            except BttError as exc:  # a weights blob missing, a failed read: tried again after the next head
                log.info("could not execute the side branch of checkpoint %s yet: %s", target, exc)
                self.node.fetch_missing_weights()
        if done:
            self._retry_unresolved()
            self.follow_justified()

    def on_vote_gossip(self, peer: str, data: bytes) -> bool | None:
        """True: forward; False: reject and blame the sender; None: ignore without blame."""
        try:
            vote = Vote.decode(data, max_size=1024)
        except DecodeError:
            return False
        self.observe_vote(vote)
        epoch = epoch_of(self.node.chain.clock.slot_at(self.node.now_ms()), self.epoch_slots)
        if vote.target.epoch > epoch + self.tracker.max_future_epochs:
            return None  # ahead of our clock: a clock disagreement is nobody's fault (dropped, nobody blamed)
        result = self.tracker.add_vote(vote, current_epoch=epoch)
        if result.status is VoteStatus.EQUIVOCATION and result.evidence is not None:
            self._report_votes(result.evidence)
            return True
        if result.status is VoteStatus.INVALID:
            log.debug("invalid vote from %s: %s", peer, result.reason)
            return False
        self._handle_update(result.update)
        if result.status is VoteStatus.UNRESOLVED:
            self._execute_for_held_votes()
        # UNRESOLVED (target not executed here yet) and OFF_CHAIN: not forwarded, nobody blamed
        return True if result.status is VoteStatus.ACCEPTED else None

    def import_justification(self, raw: bytes, peer: str | None = None) -> bool:
        """Verify and apply a peer's (or sync's) justification against its target's set. False: invalid."""
        try:
            j = Justification.decode(raw)
        except DecodeError:
            return False
        result = self.tracker.import_justification(j)
        if result.status in (JustificationStatus.CONFLICTING, JustificationStatus.IGNORED):
            self._want_keys(self.tracker.unplaced_keys(j))
        for ev in result.evidence:
            self._report_votes(ev)
        if result.status is JustificationStatus.INVALID:
            log.info("invalid justification from %s: %s", peer, result.reason)
            return False
        self._handle_update(result.update)
        if result.status is JustificationStatus.UNRESOLVED:
            log.debug("justification of %s from %s waits for its block", j.target, peer)
            self._execute_for_held_votes()
        return True

    # key authorizations -----------------------------------------------------------------------------------
    def _want_keys(self, keys: Iterable[bytes]) -> None:
        for key in keys:
            self._wanted_keys[key] = None
        while len(self._wanted_keys) > MAX_WANTED_KEYS:
            self._wanted_keys.popitem(last=False)

    def take_wanted_keys(self) -> list[bytes]:
        """The keys of links leaving our finalized chain that nothing here could place (ask the sender for their
        authorizations); the list is emptied."""
        keys = list(self._wanted_keys)
        self._wanted_keys.clear()
        for key in keys:
            self._asked_keys[key] = None
            self._asked_keys.move_to_end(key)
        while len(self._asked_keys) > MAX_WANTED_KEYS:
            self._asked_keys.popitem(last=False)
        return keys

    def add_key_authorizations(self, raws: Iterable[bytes], asked: Container[bytes] | None = None) -> int:
        """Keep the authorizations a peer sent that verify for this chain and name a key that was asked for (`asked`,
        else any handed out by `take_wanted_keys` lately); how many were new. A claim on a key nobody asked about is
        dropped unread: an answer cannot fill the store with keys of its choosing."""
        wanted = self._asked_keys if asked is None else asked
        added = 0
        for raw in raws:
            auth = self.authorizations.add(raw, wanted)
            if auth is not None:
                added += 1
                if auth.session_key is not None:
                    self.tracker.forget_owner(auth.session_key)  # the claim may place the key elsewhere now
                log.info("account 0x%s claims key 0x%s (its signed authorization, from a peer)",
                         auth.account.hex()[:16], (auth.session_key or b"").hex()[:16])
        return added

    def _handle_update(self, update: FinalityUpdate) -> None:
        db = self.node.chain.db
        for j in update.justifications:
            db.store_justification(j.target.block_hash, j.target.epoch, j.encode())
            log.info("justified %s (%d votes)", j.target, len(j.votes))
        if update.justifications:
            # persisted at once: after a restart this validator votes from its latest justified source
            db.store_justified(self.tracker.state.to_record().encode())
        for j in update.conflicts:
            log.warning("a supermajority link %s -> %s is off our finalized chain, or a second one to its epoch: "
                        "validators equivocated, or their votes split across forks", j.source, j.target)
        if update.alarm is not None:
            self._raise_alarm(update.alarm)
        if update.justifications or update.finalized is not None:
            self.follow_justified()
            self._apply_finality()

    def _raise_alarm(self, conflict: FinalityConflict) -> None:
        """Conflicting checkpoints finalized: finality stops here for good (the tracker finalizes nothing more), the
        evidence is kept in the database, and every double or surround voter it names is reported for slashing."""
        try:
            self.node.chain.db.store_finality_conflict(conflict.encode())
        except StorageError as exc:
            log.error("could not store the evidence of the finality conflict: %s", exc)
        offenders = conflict.offenders()
        if self._alarmed:
            log.error("FINALITY CONFLICT: more evidence: %s; the record is kept, and the new offenders reported.",
                      conflict.describe())
        else:
            log.error("FINALITY CONFLICT: %s. This node stops finalizing; the evidence is kept, and %d validator "
                      "accounts are reported. Investigate before trusting any block above the finalized one.",
                      conflict.describe(), len(offenders))
        self._alarmed = True
        for ev in offenders.values():
            self._report_votes(ev)

    def _apply_finality(self) -> None:
        chain = self.node.chain
        cp = self.tracker.state.finalized
        header = chain.db.get_header(cp.block_hash)
        if header is None or header.number <= chain.finalized.number:
            return
        if not chain.is_canonical(cp.block_hash, header.number):
            return  # the fork choice has not reached it yet (a block on the way is missing): once it does
        try:
            chain.finalize(cp.block_hash, self.tracker.state.to_record().encode())
        except ConflictsWithFinality as exc:
            log.warning("cannot finalize %s: %s", cp, exc)
            return
        log.info("finalized #%d 0x%s (epoch %d)", header.number, cp.block_hash.hex()[:16], cp.epoch)
        self.node.notify_finalized(header, cp.block_hash)

    def _canonical_header(self, number: int) -> Header | None:
        db = self.node.chain.db
        h = db.canonical_hash(number)
        return None if h is None else db.get_header(h)

    # block equivocation -----------------------------------------------------------------------------
    def on_block_header(self, header: Header) -> None:
        """Remember which account signed which slot (its author key placed as finality places keys: the head's state,
        then a kept claim by an account with stake); a second, different block for the same slot by a key of the same
        account is evidence, by one key or by two (a key rotated on one fork only)."""
        account = self.view.key_owner(header.author) or header.author
        key = (header.slot, account)
        seen = self._seen_headers.get(key)
        if seen is None:
            self._seen_headers[key] = header
            while len(self._seen_headers) > RECENT_SLOTS:
                self._seen_headers.popitem(last=False)
            return
        genesis_hash = self.node.chain.genesis_hash
        if seen.author == header.author:
            if is_block_equivocation(seen, header, genesis_hash) is not None:
                return
            log.warning("validator 0x%s signed two blocks for slot %d", header.author.hex()[:16], header.slot)
        else:
            if block_pair_problem(seen, header, genesis_hash) is not None:
                return
            log.warning("validator account 0x%s signed two blocks for slot %d with two keys (0x%s and 0x%s)",
                        account.hex()[:16], header.slot, seen.author.hex()[:16], header.author.hex()[:16])
        self._report_pair("evidence.report_block_equivocation", seen.encode(), header.encode(),
                          (seen.author, header.author))

    # reports ---------------------------------------------------------------------------------------
    def _report_votes(self, ev: VoteEquivocation) -> None:
        """Report a double or surround vote pair: by `evidence.report_vote_equivocation` when the head's state places
        both keys (one key, or two keys of one account), else with the claims this node keeps for the keys it does not
        (a key rotated on a fork this chain never carried: the account's own signed set_keys shows it)."""
        self._report_pair("evidence.report_vote_equivocation", ev.vote_a.encode(), ev.vote_b.encode(), ev.signers)

    def _report_pair(self, call: str, a: bytes, b: bytes, signers: tuple[bytes, bytes]) -> None:
        """Report two items signed by `signers`, keys of one account: by `call` when the head's state places every
        key, else by `call` + "_with_keys" with the claims of that account on the keys it does not. The account is one
        every unplaced key's kept claims name, with stake (`ChainTargetSets.holds_stake`), and the state's owner of the
        keys it does place: a claim by an account without stake is never reported (a throwaway account can claim any
        key; the key's holder is who signed)."""
        state = self.node.chain.state()
        keys = list(dict.fromkeys(signers))
        placed = {k: session_storage.owner_of_key(state, k) for k in keys}
        needed = [k for k in keys if placed[k] is None]
        if not needed:
            self._report(call, a, b, placed[keys[0]] or keys[0])
            return
        known = {account for account in placed.values() if account is not None}
        candidates = [auth.account for auth in self.authorizations.claims(needed[0])
                      if (not known or known == {auth.account}) and self.view.holds_stake(auth.account)
                      and all(self.authorizations.authorization(k, auth.account) is not None for k in needed[1:])]
        preferred = self.tracker.owner_of(needed[0])
        account = preferred if preferred in candidates else next(iter(candidates), None)
        if account is None:
            log.warning("evidence against key 0x%s seen, but this chain does not place it and no claim on it by an "
                        "account with stake is kept here: not reported", needed[0].hex()[:16])
            return
        proofs = [auth.encode() for k in needed if (auth := self.authorizations.authorization(k, account))]
        self._report(call + "_with_keys", a, b, account, proofs)

    def _report_birth(self) -> tuple[int, bytes]:
        """(number, hash) of the block a report is born at (`born_at_finalized`): equivocations come with forks, and
        a report born on the fork that loses would be refused as a bad signature, and never sent again."""
        chain = self.node.chain
        head = chain.head
        finalized_hash = chain.db.finalized_hash()
        finalized = chain.db.get_header(finalized_hash)
        if finalized is not None and born_at_finalized(head.number, finalized.number, REPORT_MORTALITY):
            return finalized.number, finalized_hash
        if head.number == 0:
            return 0, chain.head_hash
        return head.number - 1, head.parent_hash

    def _report(self, call: str, a: bytes, b: bytes, offender: bytes, extra: list[bytes] | None = None) -> None:
        """Submit a slashing report signed by this node's validator key (it pays the fee, gets the reward)."""
        reporter = self.key
        if reporter is None:
            log.warning("evidence against 0x%s seen, but this node has no key to report it with", offender.hex())
            return
        tag = call.encode() + min(a, b) + max(a, b)
        if tag in self._reported:
            return
        self._reported.add(tag)
        chain = self.node.chain
        nonce = self.node.next_account_index(reporter.public)
        birth, birth_hash = self._report_birth()
        args: tuple[object, ...] = (a, b) if extra is None else (a, b, extra)
        try:
            runtime = chain.runtime  # the next block's rules: a spec without this call refuses it here
            xt = sign_extrinsic(reporter, runtime.call(call, *args), nonce, chain.genesis_hash, runtime.spec_version,
                                era=Era.mortal(REPORT_MORTALITY, birth), birth_hash=birth_hash)
            self.node.submit_extrinsic(xt.encode())
            log.warning("reported 0x%s with %s", offender.hex()[:16], call)
        except (InvalidExtrinsic, BttError) as exc:
            log.warning("could not submit %s: %s", call, exc)
