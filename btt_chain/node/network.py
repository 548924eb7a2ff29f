"""The node's side of the network: block and transaction gossip, serving and fetching block ranges, catch-up.

Talks to peers only through `p2p.P2PService` (publish, subscribe, request, peers, ban, penalise); never
sees libp2p or trio. A peer that sends an invalid block is banned; malformed messages cost it score.

Clocks differ, and a difference is nobody's misbehaviour. A block that is sound but claims a slot our clock does not
reach yet (BlockFromFuture) is held (btt_chain/node/future_blocks.py, bounded per peer and in all) and imported when
its slot is due, by a task of its own, then announced by header so that peers that dropped it fetch it; a child of a
held block waits with it. Only a block beyond any plausible drift (`slots.HOLD_AHEAD_MS`) costs its sender score,
`FAR_FUTURE_PENALTY` a block, never a ban by itself. Gossiped blocks also tell how far our clock is from their authors'
(btt_chain/node/clock_watch.py: logged once per change, shown on /health).

A node stopped at an upgrade it cannot run (`btt_chain.node.upgrades`) refuses blocks at and above that height
without blame and fetches nothing more; a peer is never blamed for the spec it runs. The status a node serves
(`sync/status`, and its handshake status) says which spec ran its head and which specs it can run (`sync.PeerStatus`).

A block whose execution needs a model's weights blob this node lacks (WeightsUnavailable) is neither bad nor
forgotten: it waits here while the blob is fetched (from the peer that sent it first), and is imported again when the
blob arrives; catch-up pauses at it meanwhile and resumes after, and nobody is blamed for the block (a peer that
answers for the blob with bytes that are not it is banned: btt_chain/node/weights_exchange.py). A peer that connects
may hold a blob still missing: the weights loop runs at once and fetches start again without their retry pause.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from btt_chain.consensus.checkpoints import checkpoint_for_epoch
from btt_chain.consensus.signing_gate import PeerClaim, PeerPosition, is_ahead_of, status_contradiction
from btt_chain.consensus.slots import HOLD_AHEAD_MS, BlockFromFuture
from btt_chain.node import rebroadcast, sync
from btt_chain.node.block_io import sync_progress_line
from btt_chain.node.chain import (
    LOOKAHEAD_BLOCKS,
    ConflictsWithFinality,
    ImportResult,
    UnjudgedAuthor,
    UnknownParent,
)
from btt_chain.node.checkpoint import CheckpointConflict
from btt_chain.node.clock_watch import ClockWatch
from btt_chain.node.future_blocks import FutureBlocks, HeldBlock
from btt_chain.node.genesis_state_serve import GenesisStateServer
from btt_chain.node.key_authorizations import MAX_KEYS_PER_REQUEST
from btt_chain.node.outputs_exchange import OutputsExchange
from btt_chain.node.rebroadcast import Rebroadcaster
from btt_chain.node.upgrades import UpgradeHalt
from btt_chain.node.warp_serve import PLAN_PROTOCOL, STATE_PROTOCOL, WARP_PROTOCOL, WarpServer, warp_max_gap
from btt_chain.node.weights_exchange import WeightsExchange
from btt_chain.primitives.block import Block, Header
from btt_chain.primitives.codec import pack
from btt_chain.primitives.errors import BttError, DecodeError, InvalidBlock, InvalidExtrinsic
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.key_authorization import decode_key_authorization
from btt_chain.primitives.vote import Justification, Vote
from p2p.service import P2PError, P2PService
from runtime.compute.weights_source import WeightsUnavailable
from runtime.specs import supported

if TYPE_CHECKING:
    from btt_chain.node.service import Node
    from storage.chaindb import ChainDB

log = logging.getLogger("btt.net")

BAN_INVALID_BLOCK_S = 300.0
MALFORMED_PENALTY = 20
TX_BATCH_INTERVAL_S = 0.15
REBROADCAST_CHECK_S = 5.0
"""How often the pool is looked at for waiting transactions to gossip again (btt_chain/node/rebroadcast.py)."""
SYNC_INTERVAL_S = 1.0
SYNC_BATCH = 128
MAX_SYNC_RESPONSE = 8 * 1024 * 1024
JUSTIFICATION_SCAN = 512
MAX_JUSTIFICATIONS = 8
JUSTIFICATION_FETCH_INTERVAL_S = 5.0
CONFLICT_PROBE_INTERVAL_S = 30.0
"""A peer whose finality conflicts with ours is read (its justifications, the key authorizations they need) at most
this often per claimed finalized block."""
MAX_HELD_VOTES = 256
"""Votes one `votes/held` answer carries at most (the tracker holds 64 target epochs per key)."""
CONFLICT_PROBE_HEADERS = 4096
"""Headers of a conflicting peer's branch one probe reads at most (about 1.2 MB)."""
CONFLICT_PROBE_ROUNDS = 8
"""Requests of `MAX_JUSTIFICATIONS_FROM` justifications one probe makes at most (the epochs between the two
finalities)."""
SYNC_PROGRESS_INTERVAL_S = 5.0
"""How often a catching-up node logs its height, target, rate and ETA."""
WEIGHTS_CHECK_S = 1.0
"""How often blocks waiting for weights, and registered models' blobs not held yet, are looked at."""
MAX_WAITING_BLOCKS = 8
MAX_WAITING_BYTES = 16 * 1024 * 1024
"""Blocks kept while their weights are fetched, and their bytes (the oldest goes first; sync fetches a dropped one
again)."""
FAR_FUTURE_PENALTY = 10
"""Score a peer loses for a block claiming a slot beyond any plausible clock drift (a ban takes ten of them within a
few minutes: the score recovers 6 points a minute)."""
UNBACKED_CLAIM_PENALTY = 20
"""Score a peer loses when its status claims blocks it does not serve (once per claim that stops counting)."""
HELD_CHECK_MAX_S = 1.0
"""The release task looks at the held blocks at least this often (a clock step shortens the wait)."""
AUTHORS_ASKED = 256
"""(peer, key) pairs remembered as asked for the claim on a side block's unplaced author."""
AUTHOR_ASK_INTERVAL_S = 30.0
"""A peer is asked for the claim on one key at most this often (an answer lost on the way is asked again)."""
MAX_UNPLACED_BRANCH = 512
"""Blocks of a peer's branch held in memory to be executed at once when authors on it cannot be placed beforehand."""
AUTHOR_ASKS_IN_FLIGHT = 4
"""Claims asked of peers at once for gossiped side blocks (the rest of such blocks are dropped, unblamed)."""
UNPLACED_WINDOW_S = 60.0
"""The window over which a peer's blocks by unplaced authors are counted (`_count_unplaced`)."""
UNPLACED_FREE_PER_MINUTE = 60
"""Gossiped blocks by keys nothing here places that one peer may send in a minute unblamed (one a second: an honest
peer relays the blocks of its branch, a validator that joined there authoring some of them). Each one beyond costs
UNPLACED_PENALTY: a stream of strangers' blocks (about 0.2 ms of checks each) ends in a ban."""
UNPLACED_PENALTY = 10


@dataclass(frozen=True)
class WaitingBlock:
    """A block that could not be executed yet: it needs the blob `weights_hash`."""

    encoded: bytes
    weights_hash: bytes
    peer: str
    """Who sent it (asked for the blob first)."""
    via: str


def tx_batches(queue: list[bytes], room_for_salt: bool = False) -> list[list[bytes]]:
    """Empty `queue` into gossip batches in order: at most MAX_TXS_PER_BATCH items (one fewer when a salt is to follow)
    and GOSSIP_WHOLE_BLOCK_LIMIT bytes each, a single larger transaction alone."""
    most = sync.MAX_TXS_PER_BATCH - (1 if room_for_salt else 0)
    budget = sync.GOSSIP_WHOLE_BLOCK_LIMIT - (rebroadcast.SALT_BYTES + 8 if room_for_salt else 0)
    batches: list[list[bytes]] = []
    batch: list[bytes] = []
    size = 16
    for raw in queue:
        if batch and (len(batch) >= most or size + len(raw) + 8 > budget):
            batches.append(batch)
            batch, size = [], 16
        batch.append(raw)
        size += len(raw) + 8
    if batch:
        batches.append(batch)
    queue.clear()
    return batches


class NetworkBridge:
    """Connects the chain and the pool to the p2p service."""

    def __init__(self, node: Node, p2p: P2PService, now_ms: Callable[[], int]) -> None:
        self.node = node
        self.p2p = p2p
        self.now_ms = now_ms
        self._outgoing_txs: list[bytes] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._rebroadcast = Rebroadcaster()
        self._syncing = False
        self._sync_lock = asyncio.Lock()
        self._justifications_fetched: dict[str, float] = {}
        self._dead_ends: dict[str, bytes] = {}
        self._authors_asked: OrderedDict[tuple[str, bytes], float] = OrderedDict()
        """(peer, key) -> when it was last asked for the claim on a side block's unplaced author (`_may_ask_author`)."""
        self._author_asks: set[asyncio.Task[None]] = set()
        """Claims being asked for gossiped side blocks (`_place_then_import`)."""
        self._unplaced_seen: dict[str, deque[float]] = {}
        """Per peer, when it sent the gossiped blocks of the last minute whose authors nothing here places."""
        self._held_asked: dict[str, float] = {}
        """When each peer was last asked for the votes of our keys (while the signing watch runs)."""
        self._probed: OrderedDict[str, float] = OrderedDict()
        """Peer -> when its conflicting finality was last read."""
        """Per peer, the head of its chain that turned out to conflict with our finality (a node behind on a branch
        finality has left): not fetched again until the peer's head moves."""
        self.peer_best: dict[str, sync.PeerStatus] = {}
        """The last status of each peer whose claim stands (the signing gate, the sync target and `system_peers` read
        it): a peer whose claim ahead of this node is not backed is left out (`_claims`)."""
        self._claims: dict[str, PeerClaim] = {}
        """Per connected peer whose status claims more than this node holds: how well it served the claim
        (`signing_gate.PeerClaim`)."""
        self.monotonic: Callable[[], float] = time.monotonic
        """The clock a stalled claim is timed by."""
        node.checkpoint.attach(p2p)
        self.outputs = OutputsExchange(node.outputs, p2p)
        """Job outputs between nodes (`outputs/get`): served from ours, fetched from peers on demand."""
        self.weights = WeightsExchange(node.content, p2p)
        """Model weights blobs between nodes (`weights/get`): served from ours, fetched when missing."""
        self.warp = WarpServer(node, warp_max_gap(node.spec))
        """Warp proofs and state chunks for nodes joining by warp sync (`sync/warp`, `sync/state-plan`,
        `sync/state`)."""
        ref = node.spec.genesis_state
        self.genesis_state = None if ref is None else GenesisStateServer(ref, p2p)
        """The genesis state file the spec names, for nodes joining by full sync without it (`genesis/state`)."""
        self._tend_weights_now = asyncio.Event()
        """Wakes the weights loop: a blob arrived, or a peer connected that may hold one still missing."""
        self.weights.on_fetched.append(lambda _h: self._tend_weights_now.set())
        self._waiting: dict[bytes, WaitingBlock] = {}
        """Blocks waiting for a weights blob, by the hash of their encoding, oldest first."""
        self.future = FutureBlocks()
        """Blocks that arrived before their slot by our clock, until it is due."""
        self._held_arrived = asyncio.Event()
        self.clock_watch = ClockWatch(node.chain.clock.max_drift_ms)
        """Our clock against the block authors' (offset, verdict)."""

    # lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        p = self.p2p
        p.subscribe("blocks", self._on_block_gossip)
        p.subscribe("txs", self._on_tx_gossip)
        p.set_request_handler("sync/status", self._serve_status)
        p.set_request_handler("sync/blocks", self._serve_blocks)
        p.set_request_handler("sync/block", self._serve_block)
        p.set_request_handler("sync/justifications", self._serve_justifications)
        p.set_request_handler("keys/auth", self._serve_key_authorizations)
        p.set_request_handler("sync/headers", self._serve_headers)
        p.set_request_handler("votes/held", self._serve_held_votes)
        p.set_request_handler(WARP_PROTOCOL, self.warp.serve_warp)
        p.set_request_handler(PLAN_PROTOCOL, self.warp.serve_plan)
        p.set_request_handler(STATE_PROTOCOL, self.warp.serve_state)
        if self.genesis_state is not None:
            self.genesis_state.start()
        self.outputs.start()
        self.weights.start()
        p.on_peer_connected(self._on_peer_connected)
        self._tasks = [
            asyncio.create_task(self._tx_batch_loop(), name="tx-batches"),
            asyncio.create_task(self._sync_loop(), name="sync"),
            asyncio.create_task(self._weights_loop(), name="weights"),
            asyncio.create_task(self._held_loop(), name="held-blocks"),
        ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.outputs.stop()
        await self.weights.stop()

    @property
    def is_syncing(self) -> bool:
        return self._syncing

    def status(self) -> sync.PeerStatus:
        return node_status(self.node)

    # outgoing --------------------------------------------------------------------------------------
    def announce_block(self, block: Block) -> None:
        msg = sync.encode_block_gossip(block.encode(), block.header.encode())
        asyncio.get_running_loop().create_task(self._publish("blocks", msg))

    def publish_vote(self, encoded: bytes) -> None:
        asyncio.get_running_loop().create_task(self._publish("votes", encoded))

    def queue_transaction(self, encoded: bytes) -> None:
        self._outgoing_txs.append(encoded)

    async def _publish(self, topic: str, data: bytes) -> None:
        try:
            await self.p2p.publish(topic, data)
        except P2PError as exc:
            log.warning("could not publish on %s: %s", topic, exc)

    async def _tx_batch_loop(self) -> None:
        # transactions travel in batches: gossip carries about 100 messages/s here (P2P-NOTES)
        last_rebroadcast = time.monotonic()
        while True:
            await asyncio.sleep(TX_BATCH_INTERVAL_S)
            now = time.monotonic()
            again: list[bytes] = []
            if now - last_rebroadcast >= REBROADCAST_CHECK_S:
                last_rebroadcast = now
                pool = self.node.pool
                again = [tx.encoded for tx in self._rebroadcast.due(pool.ready(), pool.now())]
            for batch in tx_batches(self._outgoing_txs):
                await self._publish("txs", sync.encode_bytes_list(batch))
            for batch in tx_batches(again, room_for_salt=True):
                await self._publish("txs", sync.encode_bytes_list(rebroadcast.salted(batch)))

    # incoming gossip -------------------------------------------------------------------------------
    async def _on_block_gossip(self, peer: str, data: bytes) -> bool | None:
        received_ms = self.now_ms()
        try:
            kind, payload = sync.decode_block_gossip(data)
            header = None if kind == 0 else Header.decode(payload)
        except DecodeError as exc:
            self.p2p.penalise(peer, MALFORMED_PENALTY, f"bad block gossip: {exc}")
            return False
        if header is None:
            encoded = payload
        else:
            if self.node.chain.knows(header.hash()) or self.future.holds(header.hash()):
                return None
            halt = self.node.chain.halt
            if halt is not None and header.number >= halt.number:
                return None  # beyond where this node stopped: not fetched, nobody blamed
            try:
                encoded = await self.p2p.request(peer, "sync/block", pack([header.hash()]))
            except P2PError as exc:
                # the announcer could not be reached (a link down, a busy or paused node): no fault of its own, and
                # no reason to forward the header; sync fetches the block if no one else delivers it
                log.info("block #%d announced by %s not fetched: %s", header.number, peer[-8:], exc)
                self._schedule_sync()
                return None
            if not encoded:
                return None
        return await self._import_from(peer, encoded, via="gossip", received_ms=received_ms)

    async def _on_tx_gossip(self, peer: str, data: bytes) -> bool | None:
        try:
            txs = rebroadcast.without_salt(sync.decode_bytes_list(data))
        except DecodeError as exc:
            self.p2p.penalise(peer, MALFORMED_PENALTY, f"bad transaction batch: {exc}")
            return False
        fresh = 0
        for raw in txs:
            try:
                self.node.pool.submit(raw)
                fresh += 1
            except InvalidExtrinsic:
                continue  # already pooled, stale, or invalid for us: no reason to blame the relay
        return True if fresh else None

    async def _import_from(self, peer: str, encoded: bytes, via: str, received_ms: int | None = None) -> bool | None:
        """True: new and valid (forward it); None: nothing to forward, nobody to blame; False: invalid.
        `received_ms`: when a gossiped block arrived by our clock (a sample of our clock against its author's)."""
        try:
            result = self.node.import_block(encoded)
        except CheckpointConflict as exc:
            self.node.checkpoint.refuse_block(peer, exc, via)
            return False
        except UpgradeHalt:
            return None  # this node stopped at an upgrade it cannot run (said once): no verdict on the block
        except InvalidBlock as exc:
            self.p2p.ban(peer, BAN_INVALID_BLOCK_S, f"invalid block via {via}: {exc}")
            return False
        except UnjudgedAuthor as exc:
            # perhaps sound on a branch whose set changed after it left ours: not taken, not blamed (unless the peer
            # sends a stream of them); the sender may hold the claim that places its key (a rotation on that
            # branch), asked beside the gossip
            self._count_unplaced(peer)
            if len(self._author_asks) < AUTHOR_ASKS_IN_FLIGHT and self._may_ask_author(peer, exc.key):
                task = asyncio.get_running_loop().create_task(self._place_then_import(peer, encoded, exc, via))
                self._author_asks.add(task)
                task.add_done_callback(self._author_asks.discard)
            return None
        except BlockFromFuture as exc:
            self._observe_clock(exc.header, received_ms)
            self._hold_early(peer, encoded, exc, via)
            return None  # not forwarded before we import it; announced by header then
        except UnknownParent as exc:
            if self.future.holds(exc.parent_hash):
                self._hold_child(peer, encoded, via)
                return None
            # we are behind (or the sender is ahead): catch up by range requests, do not blame it
            self._schedule_sync()
            return None
        except ConflictsWithFinality:
            return None
        except WeightsUnavailable as exc:
            self._wait_for_weights(encoded, exc, peer, via)
            return None
        finally:
            self.node.fetch_missing_weights(peer)
        if result.status in ("best", "side"):
            self._observe_clock(result.header, received_ms)
            return True
        return None

    # blocks whose author nothing here places (a key rotated, a validator joined, on their branch) ------------
    def _count_unplaced(self, peer: str) -> None:
        """Note a gossiped block from `peer` whose author nothing here places; past UNPLACED_FREE_PER_MINUTE in the
        last minute, each costs the peer UNPLACED_PENALTY."""
        now = self.monotonic()
        seen = self._unplaced_seen.setdefault(peer, deque())
        while seen and now - seen[0] >= UNPLACED_WINDOW_S:
            seen.popleft()
        seen.append(now)
        if len(seen) > UNPLACED_FREE_PER_MINUTE:
            self.p2p.penalise(peer, UNPLACED_PENALTY, f"more than {UNPLACED_FREE_PER_MINUTE} blocks a minute by keys "
                                                      "no validator here holds")

    def _may_ask_author(self, peer: str, key: bytes, mark: bool = True) -> bool:
        """Whether `peer` has not been asked for the claim on `key` within AUTHOR_ASK_INTERVAL_S (it is then marked
        as asked now, if `mark`)."""
        now = self.monotonic()
        if now - self._authors_asked.get((peer, key), -AUTHOR_ASK_INTERVAL_S) < AUTHOR_ASK_INTERVAL_S:
            return False
        if not mark:
            return True
        self._authors_asked[(peer, key)] = now
        self._authors_asked.move_to_end((peer, key))
        while len(self._authors_asked) > AUTHORS_ASKED:
            self._authors_asked.popitem(last=False)
        return True

    async def _place_author(self, peer: str, refused: UnjudgedAuthor) -> bool:
        """Ask `peer` for the claim on the key of a side block the chain could not place, and keep it if it verifies
        and its account is one the chain would place the key by (a scheduled validator's: an answer cannot fill the
        store with claims of throwaway accounts). True if one was kept: the block may be imported now."""
        try:
            answer = sync.decode_bytes_list(await self.p2p.request(
                peer, "keys/auth", sync.encode_bytes_list([refused.key]), timeout=10), 1, 1024)
        except (P2PError, DecodeError) as exc:
            log.info("no claim on key 0x%s from %s: %s", refused.key.hex()[:16], peer[-8:], exc)
            return False
        claims = []
        for raw in answer:
            try:
                auth = decode_key_authorization(raw)
            except DecodeError:
                continue
            if auth.account in refused.accounts:
                claims.append(raw)
        return self.node.finality.add_key_authorizations(claims, asked=frozenset([refused.key])) > 0

    async def _take_unplaced_branch(self, peer: str, status: sync.PeerStatus,
                                    pending: list[bytes]) -> ImportResult | None:
        """The peer's branch from a block whose author nothing here places (a validator that joined on it), fetched
        on until it would beat our head (at most MAX_UNPLACED_BRANCH blocks), then taken if it is the best, executed
        at once (`Node.import_branch`): the new head's result, or None if it is not the best (nobody blamed).
        InvalidBlock if a block of it is not sound (the caller bans the peer)."""
        chain = self.node.chain
        last = Block.decode(pending[-1]).header.number  # a block that does not decode ends the round (DecodeError)
        while last <= chain.head.number and last < status.best_number and len(pending) < MAX_UNPLACED_BRANCH:
            raw = await self.p2p.request(peer, "sync/blocks", sync.encode_blocks_request(last + 1, SYNC_BATCH),
                                         timeout=30)
            more = [encoded for encoded, _ in sync.decode_blocks_response(raw, MAX_SYNC_RESPONSE)]
            if not more:
                break
            pending.extend(more)
            last = Block.decode(pending[-1]).header.number
        try:
            result = self.node.import_branch(pending[:MAX_UNPLACED_BRANCH])
        except UnjudgedAuthor:
            return None
        log.info("took %d blocks of %s's branch whose authors joined it after it left ours, executed at once "
                 "(head #%d)", len(result.enacted), peer[-8:], result.header.number)
        return result

    async def _place_then_import(self, peer: str, encoded: bytes, refused: UnjudgedAuthor, via: str) -> None:
        if await self._place_author(peer, refused):
            if await self._import_from(peer, encoded, via) is True:
                await self._publish("blocks", sync.encode_block_announce(Block.decode(encoded).header.encode()))

    # blocks from before their slot, and our clock ------------------------------------------------------
    def _observe_clock(self, header: Header, received_ms: int | None) -> None:
        if received_ms is None or header.author in self.node.keys:
            return
        self.clock_watch.observe(header.author, received_ms - self.node.chain.clock.slot_start_ms(header.slot))
        self.clock_watch.check()

    def _hold_early(self, peer: str, encoded: bytes, exc: BlockFromFuture, via: str) -> None:
        """Hold a sound block until its slot is due by our clock; one beyond any plausible drift costs its sender
        `FAR_FUTURE_PENALTY` instead (and is dropped)."""
        h = exc.header
        if exc.is_far:
            self.p2p.penalise(peer, FAR_FUTURE_PENALTY, (
                f"block #{h.number} 0x{h.hash().hex()[:16]} claims slot {h.slot}, {exc.early_ms / 1000:.1f} s ahead "
                f"of our clock (blocks up to {HOLD_AHEAD_MS // 1000} s ahead are held)"))
            return
        due = self.node.chain.clock.due_ms(h.slot)
        self._hold(HeldBlock(encoded, h.hash(), h.number, h.slot, due, peer, via), exc.early_ms)

    def _hold_child(self, peer: str, encoded: bytes, via: str) -> None:
        """Hold a block whose parent is held: it is due no earlier than its parent (and is checked in full then)."""
        h = Block.decode(encoded).header  # the chain decoded it already: this cannot fail
        parent_due = self.future.due_of(h.parent_hash)
        due = max(self.node.chain.clock.due_ms(h.slot), parent_due if parent_due is not None else 0)
        self._hold(HeldBlock(encoded, h.hash(), h.number, h.slot, due, peer, via), max(0, due - self.now_ms()))

    def _hold(self, block: HeldBlock, early_ms: int) -> None:
        if self.future.hold(block):
            log.debug("holding block #%d 0x%s from %s until its slot %d (%d ms early by our clock)", block.number,
                      block.block_hash.hex()[:16], block.peer[-8:], block.slot, early_ms)
            self._held_arrived.set()
        elif not self.future.holds(block.block_hash):
            log.debug("not holding block #%d 0x%s from %s: that peer's (or every peer's) held blocks are at their "
                      "bound", block.number, block.block_hash.hex()[:16], block.peer[-8:])

    async def _held_loop(self) -> None:
        while True:
            due = self.future.next_due_ms()
            wait = HELD_CHECK_MAX_S if due is None else min(HELD_CHECK_MAX_S, max(0, due - self.now_ms()) / 1000)
            try:
                await asyncio.wait_for(self._held_arrived.wait(), wait)
            except TimeoutError:
                pass
            self._held_arrived.clear()
            try:
                await self.release_held()
            except Exception:
                log.exception("importing held blocks failed")

    async def release_held(self) -> int:
        """Import the held blocks whose slot is due by our clock (parents first); announce each imported one by
        header. Returns how many were due."""
        due = self.future.take_due(self.now_ms())
        for held in due:
            if await self._import_from(held.peer, held.encoded, via=f"{held.via}, held until its slot") is True:
                header = Block.decode(held.encoded).header
                await self._publish("blocks", sync.encode_block_announce(header.encode()))
            await asyncio.sleep(0)  # import is CPU work: let gossip, votes, RPC and authoring run between blocks
        return len(due)

    # weights ---------------------------------------------------------------------------------------
    def _wait_for_weights(self, encoded: bytes, exc: WeightsUnavailable, peer: str, via: str) -> None:
        """Keep a block that needs a blob we lack and fetch the blob, from `peer` first."""
        key = blake2b_256(encoded)
        if key not in self._waiting:
            log.info("a block from %s waits for the model weights 0x%s (%d bytes): fetching them", peer[-8:],
                     exc.weights_hash.hex()[:16], exc.size)
        self._waiting.pop(key, None)
        while self._waiting and (len(self._waiting) >= MAX_WAITING_BLOCKS or len(encoded) + sum(
                len(w.encoded) for w in self._waiting.values()) > MAX_WAITING_BYTES):
            del self._waiting[next(iter(self._waiting))]
        self._waiting[key] = WaitingBlock(encoded, exc.weights_hash, peer, via)
        self.weights.want(exc.weights_hash, prefer=peer)

    def waits_for_weights(self) -> bool:
        """A block waits for a blob that is being fetched (or was tried moments ago): catch-up pauses."""
        return any(self.weights.is_busy(w.weights_hash) for w in self._waiting.values()
                   if not self.node.content.has(w.weights_hash))

    async def _weights_loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._tend_weights_now.wait(), WEIGHTS_CHECK_S)
            except TimeoutError:
                pass
            self._tend_weights_now.clear()
            try:
                await self.tend_weights()
            except Exception:
                log.exception("looking after model weights failed")

    async def tend_weights(self) -> None:
        """Import the blocks whose blob has arrived (then catch up again); keep fetching the blobs waiting blocks
        and registered models need."""
        resumed = False
        for key, w in list(self._waiting.items()):
            if self.node.content.has(w.weights_hash):
                del self._waiting[key]
                await self._import_from(w.peer, w.encoded, via=f"{w.via}, after its weights arrived")
                resumed = True
            else:
                self.weights.want(w.weights_hash, prefer=w.peer)
        for h in self.node.model_weights.missing():
            self.weights.want(h)
        self.node.fetch_missing_weights()
        if resumed:
            self._schedule_sync()

    # serving ---------------------------------------------------------------------------------------
    async def _serve_status(self, peer: str, data: bytes) -> bytes:
        status = self.status()
        return (status if sync.decode_status_request(data) else status.without_specs()).encode()

    async def _serve_blocks(self, peer: str, data: bytes) -> bytes:
        start, count = sync.decode_blocks_request(data)
        db = self.node.chain.db
        items: list[tuple[bytes, list[bytes]]] = []
        size = 0
        for number in range(start, start + count):
            h = db.canonical_hash(number)
            if h is None:
                break
            raw = db.get_block_bytes(h)
            if raw is None:
                break
            justs = db.justifications(h)[-sync.MAX_JUSTIFICATIONS_PER_BLOCK:]
            size += len(raw) + sum(len(j) for j in justs)
            if items and size > MAX_SYNC_RESPONSE // 2:
                break
            items.append((raw, justs))
        return sync.encode_blocks_response(items)

    async def _serve_block(self, peer: str, data: bytes) -> bytes:
        return self.node.chain.db.get_block_bytes(sync.decode_hash_request(data)) or b""

    async def _serve_justifications(self, peer: str, data: bytes) -> bytes:
        """The latest justifications on our canonical chain (newest first), so a returning validator votes
        from the same justified source as everyone else; or, asked from an epoch, those beside our canonical
        checkpoints from that epoch up (oldest first), so a node whose finality conflicts with ours can weigh them."""
        from_epoch = sync.decode_justifications_request(data)
        if from_epoch is not None:
            return sync.encode_bytes_list(self._justifications_from(from_epoch))
        db, chain = self.node.chain.db, self.node.chain
        found: list[bytes] = []
        for number in range(chain.head.number, max(-1, chain.head.number - JUSTIFICATION_SCAN), -1):
            h = db.canonical_hash(number)
            # every epoch's (a block is the checkpoint of each empty epoch after it), newest first
            found.extend(reversed(db.justifications(h)) if h is not None else ())
            if len(found) >= MAX_JUSTIFICATIONS:
                break
        return sync.encode_bytes_list(found[:MAX_JUSTIFICATIONS])

    def _justifications_from(self, from_epoch: int) -> list[bytes]:
        """Ours beside the canonical checkpoints of epochs `from_epoch`.. (at most MAX_JUSTIFICATIONS_FROM, oldest
        first; at most twice as many epochs looked at)."""
        chain, db = self.node.chain, self.node.chain.db
        epoch_slots = chain.clock.epoch_slots
        last = chain.head.slot // epoch_slots
        found: list[bytes] = []
        seen: set[bytes] = set()
        for epoch in range(from_epoch, min(last, from_epoch + 2 * sync.MAX_JUSTIFICATIONS_FROM) + 1):
            try:
                cp = checkpoint_for_epoch(epoch, self._canonical_header, chain.head.number, epoch_slots=epoch_slots,
                                          lowest=chain.lowest_number)
            except LookupError:
                continue
            if cp.block_hash in seen:
                continue
            seen.add(cp.block_hash)
            found.extend(db.justifications(cp.block_hash))
            if len(found) >= sync.MAX_JUSTIFICATIONS_FROM:
                break
        return found[:sync.MAX_JUSTIFICATIONS_FROM]

    def _canonical_header(self, number: int) -> Header | None:
        db = self.node.chain.db
        h = db.canonical_hash(number)
        return None if h is None else db.get_header(h)

    async def _serve_headers(self, peer: str, data: bytes) -> bytes:
        """Headers of our canonical chain from a number on (at most MAX_HEADERS_PER_REQUEST), in order."""
        start, count = sync.decode_headers_request(data)
        return sync.encode_bytes_list(canonical_headers(self.node.chain.db, start, count))

    async def _serve_held_votes(self, peer: str, data: bytes) -> bytes:
        """The finality votes of the keys asked that our tracker holds (a validator that lost its signing records asks
        while it watches, and folds them into its record)."""
        keys = sync.decode_bytes_list(data, MAX_KEYS_PER_REQUEST, 64 * 40)
        votes = self.node.finality.tracker.votes_by(k for k in keys if len(k) == 32)
        return sync.encode_bytes_list([v.encode() for v in votes[-MAX_HELD_VOTES:]])

    async def _fetch_held_votes(self, peer: str) -> None:
        """While this validator watches (started without records), ask `peer` for the votes of our keys it holds: the
        signing watch folds those signed before we started into our record, and refuses for good on a later one."""
        signing = getattr(self.node, "signing", None)
        if signing is None or not signing.wants_held_votes():
            return
        now = time.monotonic()
        if now - self._held_asked.get(peer, 0.0) < JUSTIFICATION_FETCH_INTERVAL_S:
            return
        self._held_asked[peer] = now
        keys = [k.public for k in self.node.keys][:MAX_KEYS_PER_REQUEST]
        try:
            raws = sync.decode_bytes_list(await self.p2p.request(peer, "votes/held", sync.encode_bytes_list(keys),
                                                                 timeout=5), MAX_HELD_VOTES, MAX_HELD_VOTES * 1024)
        except (P2PError, DecodeError) as exc:
            log.debug("no held votes from %s: %s", peer, exc)
            return
        for raw in raws:
            try:
                vote = Vote.decode(raw, 1024)
            except DecodeError:
                continue
            if vote.validator in keys:
                signing.observe_vote(vote)

    async def _serve_key_authorizations(self, peer: str, data: bytes) -> bytes:
        """The key authorizations we keep for the keys asked (`btt_chain.node.key_authorizations`)."""
        keys = sync.decode_bytes_list(data, MAX_KEYS_PER_REQUEST, 64 * 40)
        store = self.node.finality.authorizations
        return sync.encode_bytes_list([raw for k in keys if len(k) == 32 and (raw := store.encoded(k)) is not None])

    # a peer whose finality conflicts with ours ---------------------------------------------------------------
    async def _probe_conflict(self, peer: str, status: sync.PeerStatus) -> None:
        """Read the justifications of a peer that says it finalized a block not on our chain (from a few epochs below
        our finalized one up, and its latest), with the key authorizations they need, and weigh them: if they
        finalize a conflicting checkpoint, the tracker raises the alarm (finding 4 of issue 49: a node learns of a
        conflicting finality at any height). At most once per CONFLICT_PROBE_INTERVAL_S per peer, whatever it claims
        (before, a peer that named another finalized block at every status got a probe every sync round, and each may
        hand the node ~260 justifications of up to 1,000 votes to decode)."""
        now = time.monotonic()
        if now - self._probed.get(peer, -CONFLICT_PROBE_INTERVAL_S) < CONFLICT_PROBE_INTERVAL_S:
            return
        self._probed[peer] = now
        self._probed.move_to_end(peer)
        while len(self._probed) > 256:
            self._probed.popitem(last=False)
        finality = self.node.finality
        epoch = max(0, finality.tracker.finalized.epoch - sync.CONFLICT_PROBE_BACK)
        raws: list[bytes] = []
        try:
            await self._read_branch(peer, status)
            for _ in range(CONFLICT_PROBE_ROUNDS):
                items = sync.decode_bytes_list(await self.p2p.request(
                    peer, "sync/justifications", sync.encode_justifications_request(epoch), timeout=10),
                    sync.MAX_JUSTIFICATIONS_FROM, 4 * 1024 * 1024)
                raws.extend(items)
                if len(items) < sync.MAX_JUSTIFICATIONS_FROM:
                    break
                epoch = _last_target_epoch(items, epoch) + 1
            raws.extend(reversed(sync.decode_bytes_list(await self.p2p.request(
                peer, "sync/justifications", b"", timeout=10), MAX_JUSTIFICATIONS, 1024 * 1024)))
        except (P2PError, DecodeError) as exc:
            log.info("could not read the justifications of %s, whose finality conflicts with ours: %s", peer, exc)
            return
        await self._weigh_with_keys(peer, list(dict.fromkeys(raws)))

    async def _read_branch(self, peer: str, status: sync.PeerStatus) -> None:
        """The headers of the peer's chain from its checkpoint of our finalized epoch up to a little past its finalized
        block (at most CONFLICT_PROBE_HEADERS): kept (`ChainTargetSets.add_foreign_headers`) so that the tracker can
        tell that its checkpoints above our finalized epoch are on a branch that misses ours. Read from an epoch's
        blocks below our finalized block's number first, then further down while the lowest header read is still at
        or after our finalized epoch's first slot: a branch with fewer blocks holds that checkpoint lower (before, a
        conflicting link from below our finalized epoch went unplaced there, and its finality unseen)."""
        chain = self.node.chain
        start = max(0, chain.finalized.number - chain.clock.epoch_slots)
        end = min(status.finalized_number + chain.clock.epoch_slots, start + CONFLICT_PROBE_HEADERS)
        headers = await self._headers(peer, start, end)
        first_slot = self.node.finality.tracker.finalized.epoch * chain.clock.epoch_slots
        while headers and headers[0].slot >= first_slot and headers[0].number > 0 \
                and len(headers) < CONFLICT_PROBE_HEADERS:
            low = max(0, headers[0].number - sync.MAX_HEADERS_PER_REQUEST)
            earlier = await self._headers(peer, low, headers[0].number - 1)
            if not earlier:
                break
            headers = earlier + headers
        for a, b in zip(headers, headers[1:], strict=False):
            if b.parent_hash != a.hash():
                raise DecodeError("the headers do not chain")  # a liar's: nothing kept
        self.node.finality.view.add_foreign_headers(headers)

    async def _headers(self, peer: str, start: int, end: int) -> list[Header]:
        """The peer's headers `start` to `end` (fewer if it has fewer), MAX_HEADERS_PER_REQUEST a request."""
        headers: list[Header] = []
        while start <= end:
            items = sync.decode_bytes_list(await self.p2p.request(
                peer, "sync/headers", sync.encode_headers_request(start, min(sync.MAX_HEADERS_PER_REQUEST,
                                                                              end - start + 1)), timeout=10),
                sync.MAX_HEADERS_PER_REQUEST, sync.MAX_HEADERS_PER_REQUEST * sync.MAX_HEADER_BYTES)
            if not items:
                break
            headers.extend(Header.decode(raw, sync.MAX_HEADER_BYTES) for raw in items)
            start += len(items)
        return headers

    async def _weigh_with_keys(self, peer: str, raws: list[bytes]) -> None:
        """Import justifications from `peer`; if some leave our finalized chain with keys nothing here places, ask the
        peer for those keys' authorizations and, once they verify, weigh the justifications again."""
        finality = self.node.finality
        await self._import_yielding(raws, peer)
        wanted = finality.take_wanted_keys()
        if not wanted or finality.conflict is not None:
            return
        asked = wanted[:MAX_KEYS_PER_REQUEST]
        try:
            answer = sync.decode_bytes_list(await self.p2p.request(
                peer, "keys/auth", sync.encode_bytes_list(asked), timeout=10),
                MAX_KEYS_PER_REQUEST, MAX_KEYS_PER_REQUEST * 1024)
        except (P2PError, DecodeError) as exc:
            log.info("no key authorizations from %s: %s", peer, exc)
            return
        if finality.add_key_authorizations(answer, asked=frozenset(asked)):  # only the keys this peer was asked for
            await self._import_yielding(raws, peer)
        finality.take_wanted_keys()  # what is still unplaced now is nobody's we can show

    async def _import_yielding(self, raws: list[bytes], peer: str) -> None:
        """Import `raws` (a probe's justifications) handing the event loop back after each: one decodes in ~3 ms at
        1,000 votes and checks at most its known voters' signatures, so the slot loop waits for one at a time, never
        for the whole probe. An invalid one ends the import and costs the peer, as in `_fetch_justifications`."""
        for raw in raws:
            if not self.node.import_justification(raw, peer):
                self.p2p.penalise(peer, MALFORMED_PENALTY, "invalid justification in a conflict probe's answer")
                return
            await asyncio.sleep(0)

    # catching up -----------------------------------------------------------------------------------
    async def _on_peer_connected(self, peer: str) -> None:
        self._observe_handshake(peer)
        self.weights.peer_connected(peer)
        self._tend_weights_now.set()
        self._schedule_sync()

    def _observe_handshake(self, peer: str) -> None:
        """The spec fields of the peer's handshake status (an older node's is empty: nothing to read)."""
        raw = next((info.status for info in self.p2p.peers() if info.peer_id == peer), b"")
        if not raw:
            return
        try:
            self.node.upgrades.observe_peer(peer, sync.PeerStatus.decode(raw))
        except DecodeError as exc:
            log.debug("unreadable handshake status from %s: %s", peer, exc)

    def _schedule_sync(self) -> None:
        if not self._sync_lock.locked():
            asyncio.get_running_loop().create_task(self.sync_once())

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(SYNC_INTERVAL_S)
            try:
                await self.sync_once()
            except Exception:
                log.exception("sync round failed")

    def _forget_gone_peers(self, connected: set[str]) -> None:
        """Drop what we keep per peer for peers no longer connected, once it no longer counts: a peer that came back
        with a fresh id per connection would otherwise grow it without bound. Its unplaced blocks and held-votes ask
        count for their minute and interval still (reconnecting does not reset them); a dead end or a justification
        fetch is asked again on its next connection, as for any new peer."""
        now = self.monotonic()
        for gone in [p for p in self._claims if p not in connected]:
            del self._claims[gone]
        for table in (self._dead_ends, self._justifications_fetched):
            for gone in [p for p in table if p not in connected]:
                del table[gone]
        for gone in [p for p, seen in self._unplaced_seen.items()
                     if p not in connected and (not seen or now - seen[-1] >= UNPLACED_WINDOW_S)]:
            del self._unplaced_seen[gone]
        wall = time.monotonic()
        for gone in [p for p, at in self._held_asked.items()
                     if p not in connected and wall - at >= JUSTIFICATION_FETCH_INTERVAL_S]:
            del self._held_asked[gone]

    async def sync_once(self) -> None:
        """Ask every peer for its status and catch up from any that is ahead of us."""
        if self._sync_lock.locked():
            return
        async with self._sync_lock:
            peers = self.p2p.peers()
            self._forget_gone_peers({info.peer_id for info in peers})
            for info in peers:
                peer = info.peer_id
                try:
                    status = sync.PeerStatus.decode(
                        await self.p2p.request(peer, "sync/status", sync.encode_status_request(), timeout=5))
                except (P2PError, DecodeError) as exc:
                    log.debug("no status from %s: %s", peer, exc)
                    continue
                self._observe_claim(peer, status)
                self.node.upgrades.observe_peer(peer, status)
                if self._claims_conflicting_finality(status):
                    await self._probe_conflict(peer, status)
                    if self.node.finality.conflict is None:  # not shown: a peer on a stale branch, or a liar
                        self.p2p.penalise(peer, MALFORMED_PENALTY, (
                            f"it claims block #{status.finalized_number} 0x{status.finalized_hash.hex()[:16]} final, "
                            "which conflicts with our finalized chain"))
                        self._judge_claim(peer, status, "conflict", "it claims a finality that conflicts with ours")
                    continue
                # paused while the next block needs a blob that is on its way; nothing to fetch when its best block
                # is one we hold until its slot
                if (self.node.chain.halt is None and not self.waits_for_weights() and self._is_ahead(peer, status)
                        and not self.future.holds(status.best_hash)):
                    if await self.node.checkpoint.vet_peer(self.p2p, peer, status):
                        outcome, why = await self._catch_up(peer, status)
                        if outcome == "empty" and await self._shows_block(peer, status):
                            outcome = "stalled"  # it holds its best block but not ours (pruned, warp-synced)
                        self._judge_claim(peer, status, outcome, why)
                    else:
                        self._judge_claim(peer, status, "stalled", "it does not show the checkpoint's block")
                if await self._fetch_justifications(peer) and self._claims_finality_only(peer, status):
                    self._judge_claim(peer, status, "stalled", f"its justifications do not finalize "
                                                               f"#{status.finalized_number}")
                await self._fetch_held_votes(peer)

    # claims ahead of us ------------------------------------------------------------------------------
    def _position(self, peer: str, status: sync.PeerStatus) -> PeerPosition:
        """The peer's status as the signing gate reads it (a dead end's head counts as held)."""
        held = self.node.chain.knows(status.best_hash) or self._dead_ends.get(peer) == status.best_hash
        return PeerPosition(peer[-8:], status.best_number, status.finalized_number, held)

    def _claims_ahead(self, peer: str, status: sync.PeerStatus) -> bool:
        chain = self.node.chain
        return is_ahead_of(self._position(peer, status), chain.head.number, chain.finalized.number)

    def _claims_finality_only(self, peer: str, status: sync.PeerStatus) -> bool:
        """Whether the peer is ahead of us by its finalized block alone (we hold its best, or it is a dead end)."""
        return self._position(peer, status).holds_best and status.finalized_number > self.node.chain.finalized.number

    def _observe_claim(self, peer: str, status: sync.PeerStatus) -> None:
        """Keep the peer's status where the signing gate reads it while its claim stands: a status that claims no
        more than we hold always does (and clears a claim refuted before); one that contradicts itself is refuted;
        one ahead of us counts until sync finds it unbacked, and not again until the peer serves something new."""
        if not self._claims_ahead(peer, status):
            self._claims.pop(peer, None)
            self.peer_best[peer] = status
            return
        chain = self.node.chain
        position = self._position(peer, status)
        holds_finalized = (chain.knows(status.finalized_hash) or status.finalized_number < chain.lowest_number
                           or not chain.knows(status.best_hash))  # a dead end's branch: not ours to judge
        why = status_contradiction(position, holds_finalized)
        if why is not None:
            self._judge_claim(peer, status, "refuted", why)
        elif self._claims.get(peer, PeerClaim()).counts:
            self.peer_best[peer] = status
        else:
            self.peer_best.pop(peer, None)

    def _judge_claim(self, peer: str, status: sync.PeerStatus, outcome: str, why: str) -> None:
        """What fetching from the peer showed of its claim: `served` (something new: it counts), `refuted` or
        `empty` (it stops counting at once, and the peer is penalised), `conflict` (the same, penalised already),
        `stalled` (nothing new: it stops counting once that has lasted, see `signing_gate.PeerClaim`; nobody is
        penalised for a slow link or a pruned history); anything else says nothing of the claim. A warning names the
        peer once, when its claim stops counting."""
        before = self._claims.get(peer, PeerClaim())
        if outcome == "served":
            self._claims.pop(peer, None)
            self.peer_best[peer] = status
            return
        if not self._claims_ahead(peer, status):
            return  # it claims no more than we hold now: nothing to back
        if outcome in ("refuted", "empty", "conflict"):
            after = before.refuted(why)
        elif outcome == "stalled":
            after = before.stalled(self.monotonic(), why)
        else:
            return
        self._claims[peer] = after
        if after.counts:
            return
        self.peer_best.pop(peer, None)
        if before.counts:
            claim = f"best #{status.best_number}, finalized #{status.finalized_number}"
            if outcome in ("refuted", "empty"):
                self.p2p.penalise(peer, UNBACKED_CLAIM_PENALTY, f"its status claims {claim} but {after.unbacked}")
            log.warning("peer %s claims %s, but %s: its status no longer counts (a validator does not wait for it "
                        "before signing; nor is it a sync target) until it serves something new", peer, claim,
                        after.unbacked)

    async def _shows_block(self, peer: str, status: sync.PeerStatus) -> bool:
        """Whether the peer gives the block it calls its best when asked by hash (a peer that holds it but not the
        blocks we asked for: pruned, or warp-synced above them)."""
        try:
            raw = await self.p2p.request(peer, "sync/block", pack([status.best_hash]), timeout=10)
            header = Block.decode(raw).header
        except (P2PError, DecodeError, BttError) as exc:
            log.debug("%s does not show its best block: %s", peer, exc)
            return False
        return header.hash() == status.best_hash and header.number == status.best_number

    async def _fetch_justifications(self, peer: str) -> bool:
        """Every few seconds per peer: import its latest justifications (votes gossiped while we were away
        are gone, and without them a returning validator would vote from a stale source). Whether it asked."""
        now = time.monotonic()
        if now - self._justifications_fetched.get(peer, 0.0) < JUSTIFICATION_FETCH_INTERVAL_S:
            return False
        self._justifications_fetched[peer] = now
        try:
            raw = await self.p2p.request(peer, "sync/justifications", b"", timeout=5)
            items = sync.decode_bytes_list(raw, MAX_JUSTIFICATIONS, 1024 * 1024)
        except (P2PError, DecodeError) as exc:
            log.debug("no justifications from %s: %s", peer, exc)
            return True
        for j in reversed(items):  # oldest first: each one's source is justified by the one before
            if not self.node.import_justification(j, peer):
                self.p2p.penalise(peer, MALFORMED_PENALTY, "invalid justification")
                break
        return True

    def _is_ahead(self, peer: str, status: sync.PeerStatus) -> bool:
        """Whether the peer's head is a block we lack above our finalized height: ahead of ours, or on another branch.
        Both are fetched, since the fork choice follows the latest justified checkpoint and a shorter branch may hold
        it (the peer serves that checkpoint's justification beside it); a branch is fetched once, then its head is
        known."""
        chain = self.node.chain
        return (not chain.knows(status.best_hash) and status.best_number > chain.finalized.number
                and self._dead_ends.get(peer) != status.best_hash)

    def _claims_conflicting_finality(self, status: sync.PeerStatus) -> bool:
        """Whether the peer says it finalized a block that is not on our chain at that height (at or below our own
        finalized height; above it, it may just be ahead of us)."""
        chain = self.node.chain
        if status.finalized_number > chain.finalized.number:
            return False
        if 0 < status.finalized_number < chain.lowest_number:
            return False  # below where this node was warp-synced: it holds no block there to compare
        return chain.db.canonical_hash(status.finalized_number) != status.finalized_hash

    async def _catch_up(self, peer: str, status: sync.PeerStatus) -> tuple[str, str]:
        """Fetch the peer's chain toward its best block; what that showed of its claim (`_judge_claim`): `served`
        (it brought a block new to us), `empty` (it answered nothing where it claims blocks), `refuted` (it answered
        blocks other than those asked for), `stalled` (nothing new: the request failed, or the blocks all known
        without its best), or `paused` (a stop of ours, or a verdict of its own: a ban, a dead end); and why."""
        chain = self.node.chain
        # from the finalized block itself: it is known, but the justification stored beside it may be the source
        # of the next one (genesis holds epoch 1's when epoch 0 had no block, and sync never serves it otherwise)
        start = max(chain.finalized.number, min(chain.head.number, status.best_number) - 16)
        restarted = False
        self._syncing = True
        began, imported, new = time.monotonic(), 0, 0
        reported = began
        outcome, why = "paused", ""
        try:
            while start <= status.best_number:
                raw = await self.p2p.request(
                    peer, "sync/blocks", sync.encode_blocks_request(start, SYNC_BATCH), timeout=30
                )
                items = sync.decode_blocks_response(raw, MAX_SYNC_RESPONSE)
                if not items:
                    outcome, why = "empty", f"it serves no block from #{start}"
                    break
                for index, (encoded, justifications) in enumerate(items):
                    ahead = [block for block, _ in items[index + 1 : index + 1 + LOOKAHEAD_BLOCKS]]
                    try:
                        result: ImportResult = self.node.import_block(encoded, ahead)
                    except UnknownParent:
                        if restarted:
                            # the peer's chain does not hold our finalized block: a branch our finality has left (or
                            # the peer lacks blocks); not fetched again until its head moves
                            self._dead_ends[peer] = status.best_hash
                            if status.finalized_number > chain.finalized.number:
                                await self._probe_conflict(peer, status)  # it says it finalized that branch
                            return ("served" if new else "paused"), ""
                        # our recent blocks are on another branch: fetch the peer's chain from our finality on
                        start, restarted = chain.finalized.number + 1, True
                        break
                    except BlockFromFuture as exc:
                        self._hold_early(peer, encoded, exc, "sync")  # the rest comes when it is due
                        return ("served" if new else "paused"), ""
                    except WeightsUnavailable as exc:
                        self._wait_for_weights(encoded, exc, peer, "sync")
                        log.info("sync from %s paused (head #%d) until the model weights 0x%s arrive", peer[-8:],
                                 chain.head.number, exc.weights_hash.hex()[:16])
                        return ("served" if new else "paused"), ""
                    except UnjudgedAuthor as exc:
                        if self._may_ask_author(peer, exc.key, mark=False):
                            raise  # its claim is asked for first (below)
                        # no claim places it: the branch is taken if it is the best, executed at once
                        tip = await self._take_unplaced_branch(peer, status, [e for e, _ in items[index:]])
                        if tip is None:  # not the best: fetched again once the peer's head moves
                            self._dead_ends[peer] = status.best_hash
                            raise
                        imported, new = imported + len(tip.enacted), new + len(tip.enacted)
                        start = tip.header.number + 1
                        break
                    finally:
                        self.node.fetch_missing_weights(peer)
                    if result.header.number != start + index:
                        # not the range asked for: a peer that would keep us asking toward a best it does not hold
                        return "refuted", (f"it answers block #{result.header.number} when asked for "
                                           f"#{start + index}")
                    for justification in justifications:
                        self.node.import_justification(justification, peer)
                    imported += result.status == "best"
                    new += result.status != "known"
                    if time.monotonic() - reported >= SYNC_PROGRESS_INTERVAL_S:
                        reported = time.monotonic()
                        log.info("syncing from %s: %s", peer[-8:], sync_progress_line(
                            chain.head.number, status.best_number, imported, reported - began))
                    # import is CPU work on the event loop: let gossip, votes and RPC run between blocks
                    await asyncio.sleep(0)
                else:
                    start += len(items)
            else:
                if not chain.knows(status.best_hash):
                    outcome, why = "stalled", f"it serves blocks up to #{status.best_number} but not its best block"
        except CheckpointConflict as exc:
            self.node.checkpoint.refuse_block(peer, exc, "sync")
        except UpgradeHalt:
            pass  # this node stopped at an upgrade it cannot run (said once): nobody is blamed
        except InvalidBlock as exc:
            self.p2p.ban(peer, BAN_INVALID_BLOCK_S, f"invalid block in sync: {exc}")
        except UnjudgedAuthor as exc:
            # placed by the peer's claim: the same blocks import on the next round (the sync loop's)
            if not (self._may_ask_author(peer, exc.key) and await self._place_author(peer, exc)):
                outcome, why = "stalled", f"its chain holds a block this node cannot judge ({exc})"
        except ConflictsWithFinality:
            # behind on a branch our finality left: it learns our finality from us, nobody is to blame
            self._dead_ends[peer] = status.best_hash
            if status.finalized_number > chain.finalized.number:
                await self._probe_conflict(peer, status)  # unless it says it finalized that branch
            log.info("%s is on a branch our finality has left (its head #%d); not fetched again until it moves",
                     peer[-8:], status.best_number)
        except (P2PError, DecodeError) as exc:
            log.info("sync from %s stopped: %s", peer, exc)
            outcome, why = "stalled", f"its sync answers fail ({exc})"
        except BttError as exc:
            log.warning("sync from %s failed: %s", peer, exc)
        finally:
            self._syncing = False
            if imported > 1:
                elapsed = time.monotonic() - began
                log.info("synced %d blocks from %s in %.1f s (head #%d)", imported, peer[-8:], elapsed,
                         chain.head.number)
        if new and outcome != "refuted":
            return "served", ""
        return outcome, why


def node_status(node: Node) -> sync.PeerStatus:
    """What this node says of itself to its peers: its best and finalized blocks, the spec that ran its best block and
    the specs it can run."""
    chain = node.chain
    return sync.PeerStatus(chain.head.number, chain.head_hash, chain.finalized.number, chain.finalized_hash,
                           node.upgrades.head_spec, supported()[-sync.MAX_SPECS:])


def _last_target_epoch(items: list[bytes], default: int) -> int:
    """The highest target epoch among encoded justifications (`default` if none decodes)."""
    epochs = []
    for raw in items:
        try:
            epochs.append(Justification.decode(raw).target.epoch)
        except DecodeError:
            continue
    return max(epochs, default=default)


def canonical_headers(db: ChainDB, start: int, count: int) -> list[bytes]:
    """The encoded headers of the canonical chain from number `start`, at most `count`, in order (fewer at its end)."""
    found = []
    for number in range(start, start + max(0, count)):
        h = db.canonical_hash(number)
        header = None if h is None else db.get_header(h)
        if header is None:
            break
        found.append(header.encode())
    return found
