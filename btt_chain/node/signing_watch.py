"""Whether this validator may sign now: the node's side of `btt_chain.consensus.signing_gate` (signing safety across a
restore, DESIGN consensus item 6). The service asks it before it signs a block (`may_sign_block`) or a finality vote
(`may_sign_vote`), and shows it every block it imports, every vote gossiped and every justification it receives.

1. **Sync before signing.** Nothing is signed until the node has caught up with its peers' best and finalized blocks
   (`signing_gate.catch_up_gap`, from the statuses the network's sync asks every peer for each second, each counted
   only while the peer's claim stands: one it cannot serve a block of, or that contradicts itself, is refuted and the
   peer penalised; one that brings nothing new for `signing_gate.CLAIM_STALL_S` stops counting, with a warning:
   `signing_gate.PeerClaim`). A node that
   expects no peers signs at once: no network (`--no-p2p`), or no bootnode and every validator of the active set its
   own (a lone `--dev` node). Once caught up it stays so for the life of the process (its signing records guard it
   from then on). While it waits it logs why, again only when the reason changes.
2. **Doppelganger watch.** A validator whose base path held no signing records when it started, on a chain past
   genesis then (its head above block 0, or the chain it catches up with had a block #1 by the slot it started in:
   `signing_gate.was_past_genesis`), signs nothing for `--doppelganger-epochs` full
   epochs after the one it started in, and watches the network meanwhile for votes and blocks signed with its own
   session keys (or another key of its validator account where the chain does not name that key) after it started.
   One such signature and it refuses to sign for good: an ERROR line, `/health`'s `signing` and a 503. Votes of its
   keys signed before it started are folded into its vote record, so it never signs below them. The watch goes on
   after the wait (and for a validator that had records): a vote of its key that is not in its record, or a block of
   its key it did not author, made after it started, refuses signing the same way.
3. **One process, one validator.** At each epoch boundary it logs the validator accounts its keys gain or lose signing
   for, and when its keys sign for two accounts of the active set it keeps the one it signed for first and refuses the
   other, with an ERROR line every epoch (`signing_gate.choose_validator`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from btt_chain.consensus.signed_votes import SignedVotes
from btt_chain.consensus.signing_gate import (
    DoppelgangerWatch,
    Identity,
    PeerPosition,
    Verdict,
    WatchState,
    catch_up_gap,
    choose_validator,
    record_of,
    was_past_genesis,
)
from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.node.signing_records import has_records
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.block import Header
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.vote import Checkpoint, Justification, Vote
from runtime.session import storage as session

if TYPE_CHECKING:
    from btt_chain.node.service import Node

log = logging.getLogger("btt.node")

WAITING = "waiting for sync"
WATCHING = "watching"
SIGNING = "signing"
REFUSED = "refused"


class SigningWatch:
    """The gates in front of a validator's signatures (inactive on a node that does not validate)."""

    def __init__(self, node: Node, epochs: int) -> None:
        self.node = node
        self.active = node.authority
        chain = node.chain
        self.had_records = has_records(node.data_dir, chain.genesis_hash)
        """Either signing record existed when the node started."""
        self.start_head = chain.head.number
        self.watch: DoppelgangerWatch | None = None
        if self.active and epochs > 0:
            start = chain.clock.slot_at(node.now_ms())
            self.watch = DoppelgangerWatch(start, chain.clock.epoch_slots, 0 if self.had_records else epochs)
        self.caught_up = False
        self._gap: tuple[str, str] | None = None
        """The last reason logged for not being caught up (kind, text)."""
        self._clear_logged = False
        self._epoch = -1
        self._own: dict[bytes, bytes] = {}
        """Our session keys in the head's active set -> the account each signs for."""
        self._members: dict[bytes, bytes] = {}
        """Every member of the head's active set: session key -> account."""
        self._accounts: frozenset[bytes] = frozenset()
        """The validator accounts our keys sign (or signed) for, as the chain knows them."""
        self._identity: Identity | None = None
        self.signing_for: bytes | None = None
        """The validator account this process signs for (the first it signed for)."""
        self._refusals_logged: set[tuple[str, int]] = set()
        self._sighting_logged = False
        if self.active and not self.had_records:
            self._rebuild_from_database()

    def _rebuild_from_database(self) -> None:
        """Started without signing records: fold into the vote record what the database shows this validator signed
        (found by the finality simulation: a validator that lost its records signed a link from a source below one it
        had signed from before, a surround vote). Its own votes in the justifications stored beside its justified
        checkpoints, and, as the highest source it may have signed from, the latest checkpoint its finality record
        holds justified. Kept in memory until its first vote writes the record."""
        finality = self.node.finality
        guard = finality.guard
        if guard is None:
            return
        keys = {k.public for k in self.node.keys}
        tracker = finality.tracker
        own = [v.link for cp in tracker.state.justified.values() if (j := tracker.justification_of(cp)) is not None
               for v in j.votes if v.validator in keys]
        latest = tracker.state.latest_justified
        rebuilt = record_of(own)
        if latest.epoch > rebuilt.max_source:
            rebuilt = SignedVotes(latest.epoch, rebuilt.max_target, rebuilt.votes)
        if guard.merge(rebuilt, durable=False):
            log.warning("no signing records at start: rebuilt what the database shows this validator signed (%d votes "
                        "of its keys; source >= %d, target > %d)", len(own), guard.max_source, guard.max_target)

    def wants_held_votes(self) -> bool:
        """Whether to ask peers for the votes of this node's keys they hold: while the doppelganger watch runs (they
        are folded as votes seen)."""
        if not self.active or self.watch is None or self.watch.epochs == 0:
            return False
        return self.watch.state(self.node.chain.clock.slot_at(self.node.now_ms())) is WatchState.WATCHING

    # the gates ---------------------------------------------------------------------------------------------------
    def may_sign_block(self, key: Keypair, slot: int) -> bool:
        """Whether `key` may seal a block for `slot` now."""
        if not self.active:
            return True
        self._refresh(slot)
        account = self._own.get(key.public) or self._owner(key.public)
        return self._may_sign(slot, account, f"slot {slot}")

    def may_sign_vote(self, key: Keypair, target: Checkpoint, voters: ValidatorSet) -> bool:
        """Whether `key` may sign a finality vote for `target` (whose set is `voters`) now."""
        if not self.active:
            return True
        slot = self.node.chain.clock.slot_at(self.node.now_ms())
        self._refresh(slot)
        return self._may_sign(slot, voters.account_of(key.public), f"a vote for epoch {target.epoch}")

    def _may_sign(self, slot: int, account: bytes | None, what: str) -> bool:
        if not self.caught_up:
            return False
        watch = self.watch
        if watch is not None:
            state = watch.state(slot)
            if state is WatchState.REFUSED:
                self._once(logging.ERROR, "doppelganger", slot, "not signing %s: a second signer of this validator's "
                           "keys was seen (%s); this node signs nothing until it is restarted", what, watch.sighting)
                return False
            if state is WatchState.WATCHING:
                return False
            if not self._clear_logged and watch.epochs > 0:
                self._clear_logged = True
                log.info("doppelganger watch passed clean: no block or vote by this node's keys since slot %d; "
                         "signing from slot %d", watch.start_slot, slot)
        if account is not None:
            if self.signing_for is None:
                self.signing_for = account
            elif account != self.signing_for:
                self._once(logging.WARNING, account.hex(), slot, "not signing %s for validator %s: this node signs "
                           "for validator %s (one process signs for one validator)", what, self._address(account),
                           self._address(self.signing_for))
                return False
        return True

    def _once(self, level: int, what: str, slot: int, message: str, *args: Any) -> None:
        """A line once per epoch per reason (the ERROR of a refused account is the epoch boundary's)."""
        tag = (what, slot // self.node.chain.clock.epoch_slots)
        if tag not in self._refusals_logged:
            self._refusals_logged.add(tag)
            while len(self._refusals_logged) > 64:
                self._refusals_logged.pop()
            log.log(level, message, *args)

    # catching up -----------------------------------------------------------------------------------------------
    def _refresh(self, slot: int) -> None:
        epoch = self.node.chain.head.slot // self.node.chain.clock.epoch_slots
        if epoch != self._epoch:
            self._on_epoch(epoch)
        if not self.caught_up:
            self._check_caught_up()

    def peers_expected(self) -> bool:
        """Whether this node should hear from peers before it signs: it has a network, and bootnodes or a validator
        of the active set whose key it does not hold."""
        node = self.node
        if node.network is None or node.config.p2p_port is None:
            return False
        return bool(node.config.bootnodes) or any(key not in node.keys for key in self._members)

    def peer_positions(self) -> list[PeerPosition]:
        """The statuses of the peers connected now (those the last sync round heard)."""
        network, p2p = self.node.network, self.node.p2p
        if network is None or p2p is None:
            return []
        connected = {info.peer_id for info in p2p.peers()}
        chain = self.node.chain
        # a peer whose best block is on a branch our finality has left (sync found it a dead end) is not ahead of us
        dead_ends: dict[str, bytes] = getattr(network, "_dead_ends", {})
        return [PeerPosition(peer[-8:], st.best_number, st.finalized_number,
                             chain.knows(st.best_hash) or dead_ends.get(peer) == st.best_hash)
                for peer, st in list(network.peer_best.items()) if peer in connected]

    def _check_caught_up(self) -> None:
        chain = self.node.chain
        expected = self.peers_expected()
        peers = self.peer_positions() if expected else []
        gap = catch_up_gap(chain.head.number, chain.finalized.number, peers, expected)
        if gap is not None:
            if self._gap is None or gap.kind != self._gap[0]:
                log.info("not signing yet: %s (a validator signs once it has caught up with its peers' best and "
                         "finalized blocks)", gap.text)
            self._gap = (gap.kind, gap.text)
            return
        self.caught_up = True
        self._gap = None
        if expected:
            log.info("caught up with %d peers at #%d, finalized #%d: this validator may sign", len(peers),
                     chain.head.number, chain.finalized.number)
        watch = self.watch
        if watch is None or watch.epochs == 0:
            return
        if chain.lowest_number > 0:  # warp-synced: a chain finalized past genesis
            first_slot: int | None = -1
        else:
            first = chain.db.canonical_hash(1)
            header = None if first is None else chain.db.get_header(first)
            first_slot = None if header is None else header.slot
        past_genesis = was_past_genesis(self.start_head, watch.start_slot, first_slot, (p.best_number for p in peers))
        if not expected or not past_genesis:
            self.watch = watch.without_wait()
            if not expected:
                log.warning("no signing records at start, and no peers to watch for a second signer: signing at once")
            return
        log.warning("no signing records at start on a chain past genesis: watching the network for %d epochs for "
                    "blocks and votes by this node's keys before signing (from slot %d, epoch %d, if none is seen; "
                    "--doppelganger-epochs). Import the validator's records (`btt-chain signing-records import`) "
                    "to skip the wait", watch.epochs, watch.end_slot, watch.end_slot // watch.epoch_slots)

    # the validator accounts our keys sign for ------------------------------------------------------------------
    def _on_epoch(self, epoch: int) -> None:
        chain, keys = self.node.chain, self.node.keys
        infos = chain.validators()
        self._epoch = epoch
        self._members = {v.session_key: v.account for v in infos}
        own = {v.session_key: v.account for v in infos if v.session_key in keys}
        for key, account in own.items():
            if self._own.get(key) != account:
                log.info("signing for validator %s with session key 0x%s from epoch %d", self._address(account),
                         key.hex(), epoch)
        for key, account in self._own.items():
            if own.get(key) != account:
                log.info("no longer signing for validator %s with session key 0x%s from epoch %d",
                         self._address(account), key.hex(), epoch)
        self._own = own
        choice = choose_validator([v.account for v in infos if v.session_key in keys], self.signing_for)
        if choice.account is not None:
            self.signing_for = choice.account
        for account in choice.refused:
            held = ", ".join(f"0x{k.hex()[:16]}" for k, a in own.items() if a == account)
            log.error("refusing to sign for validator %s in epoch %d (session key %s): this node signs for validator "
                      "%s, and one process signs for one validator. A session key was set for it on the wrong node? "
                      "Make a key on that validator's own node and set it (`btt-chain set-keys --node-rpc`)",
                      self._address(account), epoch, held, self._address(choice.account))
        state = chain.state()
        accounts = set(own.values())
        for key in keys.publics():
            if key not in own:
                owner = session.owner_of_key(state, key)
                if owner is not None:
                    accounts.add(owner)
        self._accounts = frozenset(accounts)
        self._identity = None

    def _owner(self, key: bytes) -> bytes | None:
        """The account a session key signs for: the head's active set's member, else the chain's key record."""
        account = self._members.get(key)
        if account is None:
            account = session.key_owner.get(self.node.chain.state(), key)
        return account

    def identity(self) -> Identity:
        keys = self.node.keys
        if self._identity is None or len(self._identity.keys) != len(keys):
            self._identity = Identity(frozenset(keys.publics()), self._accounts)
        return self._identity

    def _address(self, account: bytes | None) -> str:
        return "(none)" if account is None else encode_address(account, self.node.spec.ss58_prefix)

    # what the network shows -------------------------------------------------------------------------------------
    def observe_vote(self, vote: Vote) -> None:
        """A finality vote seen in gossip or in a justification: ours from before we started is folded into the vote
        record; ours (or our account's) since, that we did not sign, refuses signing for good."""
        if not self.active or self.watch is None:
            return
        identity = self.identity()
        signer = vote.validator
        voters = None
        account = None
        if signer not in identity.keys:
            if not identity.accounts:
                return
            voters = self.node.finality.target_set(vote.target)
            account = voters.account_of(signer) if voters is not None else None
            if account is None:
                account = self._owner(signer)
            if account not in identity.accounts:
                return
        if not vote.verify(self.node.chain.genesis_hash):
            return  # not really signed by that key: no evidence of anything
        guard = self.node.finality.guard
        assert guard is not None
        entitled = voters is None or signer in voters
        self.watch, verdict = self.watch.observe_vote(identity, signer, account, vote.source.epoch, vote.target.epoch,
                                                      guard.signed, entitled, vote.link)
        if verdict in (Verdict.OLD, Verdict.ENTITLED):
            # written at once when the node has a record, else kept in memory until it signs (its first vote writes
            # the whole record); a second signer's vote is not folded: this node signs nothing more anyway, and after
            # a restart the same vote must still be seen as not its own
            if guard.merge(record_of([vote.link]), durable=guard.path.exists()):
                log.info("folded a vote %s -> %s by 0x%s into this validator's vote record (now: source >= %d, "
                         "target > %d)", vote.source, vote.target, signer.hex()[:16], guard.max_source,
                         guard.max_target)
        if verdict is Verdict.DOPPELGANGER:
            self._sighted()

    def observe_justification(self, raw: bytes) -> None:
        if not self.active or self.watch is None:
            return
        try:
            j = Justification.decode(raw)
        except DecodeError:
            return
        for vote in j.votes:
            self.observe_vote(vote)

    def observe_block(self, header: Header) -> None:
        """A block this node imported (it did not author it)."""
        if not self.active:
            return
        slot = self.node.chain.clock.slot_at(self.node.now_ms())
        self._refresh(slot)
        if self.watch is None:
            return
        # only a block sealed with one of our own keys can be a sighting (another key of our account leads only the
        # slots the schedule gives it): no account lookup per block
        self.watch, verdict = self.watch.observe_block(self.identity(), header.author, None, header.slot,
                                                       authored_here=self.node.config.unsafe_equivocate)
        if verdict is Verdict.DOPPELGANGER:
            self._sighted()

    def _sighted(self) -> None:
        watch = self.watch
        assert watch is not None and watch.sighting is not None
        if self._sighting_logged:
            return
        self._sighting_logged = True
        log.error("DOPPELGANGER: %s, after this node started (slot %d), and not by this node: another process signs "
                  "with this validator's keys. This node signs nothing more until it is restarted; stop one of the "
                  "two before either is slashed", watch.sighting, watch.start_slot)

    # /health -----------------------------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any] | None:
        """`signing` of /health: None on a node that does not validate."""
        if not self.active:
            return None
        slot = self.node.chain.clock.slot_at(self.node.now_ms())
        self._refresh(slot)
        watch = self.watch
        state = None if watch is None else watch.state(slot)
        if state is WatchState.REFUSED:
            assert watch is not None
            return {"state": REFUSED, "message": f"a second signer of this validator's keys was seen: "
                                                 f"{watch.sighting}"}
        if not self.caught_up:
            return {"state": WAITING, "message": None if self._gap is None else self._gap[1]}
        if state is WatchState.WATCHING:
            assert watch is not None
            return {"state": WATCHING, "message": f"no signing records at start: watching for a second signer "
                                                  f"until slot {watch.end_slot}"}
        return {"state": SIGNING, "message": None}

    @property
    def refused(self) -> bool:
        return self.watch is not None and self.watch.sighting is not None
