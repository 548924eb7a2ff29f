"""Serving warp sync (issue 44): proofs of this node's finalized chain and the state of a recent finalized block, in
pieces of bounded cost, throttled per peer and for all peers (`serve_throttle`).

What a proof is made of is kept as the chain goes: the justification of each epoch's checkpoint (`j:`), and, for each
checkpoint block, `session.queued` with its state proof, taken when the block that opens the next epoch was built on
it (`Chain._note_checkpoint_set`). An index epoch -> checkpoint block of the finalized canonical chain is built from
the headers on the first request, in steps that give the event loop back, and extended as finality moves.

The state is served at a block of the canonical chain this node can still read (its state within the undo journals'
reach: `HistoricalState`'s bound), one prefix of the state tree's paths at a time: its entries (keys from the path
index `k:`, values as of that block), the (hash, kind) of the positions beside its path, read from the tree's top
levels at that block, and, for an empty prefix beside a lone leaf, that leaf. A client checks each against the
header's state root on its own (`storage.smt.verify_prefix_chunk`), so the peer that sent a chunk answers for it.

Wire (msgpack, strictly decoded; a peer's bytes are hostile):
- `sync/warp`: [0, epoch, hash] (fragments after the checkpoint the client trusts) or [1, number, hash] (starting with
  the fragment of a trusted checkpoint block) -> a `WarpProof` (SCALE), or [] when this node cannot start there.
- `sync/state-plan`: [block hash] -> [0, depth, keys] (the depth whose prefixes hold about `CHUNK_TARGET_KEYS` keys, and
  about how many keys the state holds) or [2, reason].
- `sync/state`: [block hash, depth, index] -> [0, [[key, value], ...] in path order, [[hash, kind], ...] the siblings
  from `depth` up, [key, value] of the lone leaf beside an empty prefix or []] or [1, reason] (more than a chunk may
  hold: ask for the two halves) or [2, reason] (not served: too old, unknown) or [3, reason] (busy: serving as much
  as it may now; ask again in a moment).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from btt_chain.consensus.checkpoints import epoch_of
from btt_chain.consensus.validator_set import ValidatorSet, has_supermajority
from btt_chain.consensus.warp import MAX_FRAGMENTS, SetProof, WarpFragment, WarpProof
from btt_chain.node.serve_throttle import ServeBudget, ServeRefused, ServeThrottle
from btt_chain.primitives.block import Header
from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import DecodeError, StorageError
from btt_chain.primitives.hashing import HASH_LEN
from btt_chain.primitives.vote import Checkpoint, Justification
from genesis.spec import ChainSpec
from runtime.session import storage as session
from storage.history import HistoricalState, HistoryTooFar
from storage.smt import key_path, lone_leaf_beside, prefix_bounds, prefix_siblings

if TYPE_CHECKING:
    from btt_chain.node.chain import Chain
    from btt_chain.node.service import Node

log = logging.getLogger("btt.warp")

WARP_PROTOCOL = "sync/warp"
PLAN_PROTOCOL = "sync/state-plan"
STATE_PROTOCOL = "sync/state"
MAX_PROOF_RESPONSE = 8 * 1024 * 1024
CHUNK_TARGET_KEYS = 4096
"""About how many keys the server's chosen depth puts in one prefix."""
MAX_CHUNK_ENTRIES = 65_536
MAX_CHUNK_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 24
"""The deepest prefix served (a server whose tree is shallower serves down to its bucket depth)."""
VIEW_KEYS = 100_000
"""Keys changed since the served block that a state request gathers, at most (as RPC views at older blocks)."""
INDEX_STEP = 2_000
"""Headers read per step of building the checkpoint index, between which the event loop runs."""
SERVE_RATE, SERVE_BURST, SERVE_RATE_ALL, SERVE_MAX_WAIT_S = 16.0, 32.0, 48.0, 2.0
"""State and proof requests a second served to one peer (bursts of 32) and to all together."""
SERVE_SHARE, SERVE_BURST_S = 0.5, 0.5
"""The share of the event loop's time warp serving may take, all peers together (bursts of half a second): the loop
runs between every step of a request anyway, so this bounds what serving takes from block import and RPC."""
STEP_KEYS = 1_024
"""Keys read in one synchronous step of a state chunk; the event loop runs between steps (about 5 ms each)."""
KEY_COUNT_S = 60.0

# No release of LevelDB's mapped table pages between two chunks: a warp reads every value of the state, spread over
# the flat state's tables, so the tables it read stay mapped while it serves (clean file pages, which the kernel can
# reclaim; up to ~2 GiB beside ~1 GiB of the node's own at ten million accounts), and the import's release
# (`LevelDBStore.release_mapped_pages_over` before a block's write) drops them once no scan of the serving is open.
# Releasing after each chunk held the server near 2 GiB but made a joiner at ten million accounts 28% slower (each
# release throws away the pages the kernel mapped around the reads: 297.8-306.6 s against 232.1 s, over the five
# minutes a warp join is to take), measured by `btt-chain bench sync --accounts 10000000 --skip-full`.

READ_ATTEMPTS = 3
"""Times a chunk is read again when a block is imported while it is read (its steps must see one state)."""
DEEPER_THAN_PLAN = 6
"""How much deeper than the planned depth a prefix may be asked for (an honest client splits only a prefix too big
for a chunk: a few levels at most), so no client makes this node compute its tree's deep levels."""
OK, SPLIT, UNAVAILABLE, BUSY = 0, 1, 2, 3


def warp_max_gap(spec: ChainSpec) -> int:
    """The most epochs between two fragments of a warp proof: half the unbonding period the chain spec sets at genesis
    (so the validators whose votes carry the trust are still bonded, and slashable, for what they signed), at least 1.
    Server and client read it from the same spec."""
    unbonding = spec.param("bonds.unbonding_period_ms").value
    epoch_ms = spec.consensus.slot_ms * spec.consensus.epoch_slots
    return max(1, unbonding // epoch_ms // 2)


def decode_warp_request(raw: bytes) -> tuple[int, int, bytes]:
    value = unpack(raw, max_size=128)
    if not (isinstance(value, list) and len(value) == 3 and value[0] in (0, 1) and type(value[1]) is int
            and value[1] >= 0 and isinstance(value[2], bytes) and len(value[2]) == HASH_LEN):
        raise DecodeError("warp request must be [0 or 1, number, hash32]")
    return value[0], value[1], value[2]


def decode_plan_request(raw: bytes) -> bytes:
    value = unpack(raw, max_size=64)
    if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], bytes) and len(value[0]) == HASH_LEN):
        raise DecodeError("state plan request must be [hash32]")
    return value[0]


def decode_state_request(raw: bytes) -> tuple[bytes, int, int]:
    value = unpack(raw, max_size=128)
    if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], bytes) and len(value[0]) == HASH_LEN
            and type(value[1]) is int and 0 <= value[1] <= MAX_DEPTH and type(value[2]) is int
            and 0 <= value[2] < 1 << value[1]):
        raise DecodeError(f"state request must be [hash32, depth 0 to {MAX_DEPTH}, index below 2**depth]")
    return value[0], value[1], value[2]


class WarpServer:
    """Answers `sync/warp`, `sync/state-top` and `sync/state` for one node."""

    def __init__(self, node: Node, max_gap: int) -> None:
        self.node = node
        self.max_gap = max_gap
        self.throttle = ServeThrottle("warp sync", SERVE_RATE, SERVE_BURST, SERVE_RATE_ALL, SERVE_MAX_WAIT_S)
        self.budget = ServeBudget("warp sync", SERVE_SHARE, SERVE_BURST_S, SERVE_MAX_WAIT_S)
        self._by_epoch: dict[int, bytes] = {}
        """Checkpoint block of each epoch on the finalized canonical chain (a warp-synced node's: genesis, then from
        the block it warped to on)."""
        self._next_number = 0
        self._prev: tuple[bytes, int] | None = None
        self._indexing: asyncio.Task[None] | None = None
        self._levels: tuple[bytes, dict[int, bytes]] | None = None
        """(served block, its tree's levels 1.. by depth): what siblings are read from."""
        self._view: tuple[bytes, bytes, HistoricalState | None, dict[bytes, bytes]] | None = None
        """(served block, head it was read at, its view (None at the head), changed keys by path)."""
        self.served = {"proofs": 0, "plans": 0, "chunks": 0, "bytes": 0}
        self._key_count: tuple[float, int] | None = None
        """(when, keys): the head tree's key count as last counted (`_keys`)."""

    # the checkpoint index -------------------------------------------------------------------------------------------
    async def _ensure_index(self) -> None:
        """Index every finalized epoch's checkpoint block (in steps, giving the loop back between them)."""
        if self._indexing is None or self._indexing.done():
            self._indexing = asyncio.get_running_loop().create_task(self._index())
        await asyncio.shield(self._indexing)

    async def _index(self) -> None:
        chain = self.node.chain
        epoch_slots = chain.clock.epoch_slots
        target = chain.finalized.number
        started = time.perf_counter()
        if self._prev is None:  # genesis is epoch 0's; a warp-synced database holds no block until its warp target
            self._by_epoch[0] = chain.genesis_hash
            if chain.lowest_number > 0:
                self._next_number = chain.lowest_number
        while self._next_number <= target:
            stop = min(target, self._next_number + INDEX_STEP - 1)
            for n in range(self._next_number, stop + 1):
                h = chain.db.canonical_hash(n)
                header = None if h is None else chain.db.get_header(h)
                if h is None or header is None:
                    raise StorageError(f"canonical block #{n} missing while indexing checkpoints")
                if self._prev is not None:
                    self._fill(epoch_of(header.slot, epoch_slots))
                self._prev = (h, header.slot)
            self._next_number = stop + 1
            self.budget.charge(time.perf_counter() - started)
            await asyncio.sleep(0)
            started = time.perf_counter()
        # the finalized block is the checkpoint of the epoch its tracker names, though no block of that epoch is final
        finality = self.node.finality
        if finality is not None and self._prev is not None:
            finalized = finality.tracker.state.finalized
            if finalized.block_hash == self._prev[0]:
                self._fill(finalized.epoch)

    def _fill(self, upto: int) -> None:
        """Name the last indexed block the checkpoint of every epoch after its own, up to `upto`, not named yet."""
        assert self._prev is not None
        for epoch in range(epoch_of(self._prev[1], self.node.chain.clock.epoch_slots) + 1, upto + 1):
            self._by_epoch.setdefault(epoch, self._prev[0])

    def checkpoint_hash(self, epoch: int) -> bytes | None:
        return self._by_epoch.get(epoch)

    # proofs -------------------------------------------------------------------------------------------------------
    async def serve_warp(self, peer: str, data: bytes) -> bytes:
        kind, number, start_hash = decode_warp_request(data)
        await self.throttle.acquire(peer)
        await self.budget.acquire()
        await self._ensure_index()
        started = time.perf_counter()
        proof = self.proof(kind, number, start_hash)
        self.budget.charge(time.perf_counter() - started)
        self.served["proofs"] += 1
        if proof is None:
            return pack([])
        raw = proof.encode()
        self.served["bytes"] += len(raw)
        return raw

    def proof(self, kind: int, number: int, start_hash: bytes) -> WarpProof | None:
        """The proof from the client's trusted start on: None when it is no checkpoint of this node's finalized
        chain."""
        fragments: list[WarpFragment] = []
        if kind == 1:  # a trusted checkpoint block: its own fragment first (no justification needed)
            header = self.node.chain.db.get_header(start_hash)
            if header is None or header.number != number or self.node.chain.db.canonical_hash(number) != start_hash:
                return None
            opens = epoch_of(header.slot, self.node.chain.clock.epoch_slots) + 1
            epoch = next((e for e in sorted(self._by_epoch) if e >= opens and self._by_epoch[e] == start_hash), None)
            first = None if epoch is None else self._fragment(epoch, with_justification=False)
            if epoch is None or first is None:
                return None
            fragments.append(first)
            x, trusted = epoch, _set_of(first)
        else:
            x = number
            if self.checkpoint_hash(x) != start_hash:
                return None
            found = self._trusted_set(x)
            if found is None:
                return None
            trusted = found
        finalized = self.node.finality.tracker.state.finalized
        f = finalized.epoch if self.checkpoint_hash(finalized.epoch) == finalized.block_hash else -1
        size = sum(len(fr.encode()) for fr in fragments)
        while x < f and len(fragments) < MAX_FRAGMENTS and size < MAX_PROOF_RESPONSE // 2:
            step = self._next_fragment(x, trusted, f)
            if step is None:
                break
            fragments.append(step)
            size += len(step.encode())
            x, trusted = step.epoch, _set_of(step)
        finality = self._finality(x) if x == f else b""
        return WarpProof(tuple(fragments), finality, x == f and bool(finality))

    def _trusted_set(self, epoch: int) -> ValidatorSet | None:
        h = self.checkpoint_hash(epoch)
        if h is None:
            return None
        if epoch == 0:
            set_hash = self.node.chain.db.voter_set_hash(h)
            raw = None if set_hash is None else self.node.chain.db.voter_set(set_hash)
            return None if raw is None else ValidatorSet.decode(raw)
        proof = self.node.chain.db.checkpoint_set(h)
        return None if proof is None else _set_of_value(SetProof.decode(proof).value)

    def _next_fragment(self, x: int, trusted: ValidatorSet, f: int) -> WarpFragment | None:
        """The furthest fragment after epoch x (within the gap, up to f) that 2/3 of the trusted set voted for."""
        source = Checkpoint(x, self._by_epoch[x])
        for y in range(min(x + self.max_gap, f), x, -1):
            fragment = self._fragment(y)
            if fragment is None:
                continue
            j = Justification.decode(fragment.justification)
            if j.source != source and j.source.epoch <= x:
                continue
            if has_supermajority(trusted.stake_of(v.validator for v in j.votes), trusted.total):
                return fragment
        return None

    def _fragment(self, epoch: int, with_justification: bool = True) -> WarpFragment | None:
        db = self.node.chain.db
        h = self.checkpoint_hash(epoch)
        header = None if h is None else db.get_header(h)
        proof = None if h is None else db.checkpoint_set(h)
        if h is None or header is None or proof is None:
            return None
        justification = b""
        if with_justification:
            justification = next((raw for raw in db.justifications(h) if _targets(raw, Checkpoint(epoch, h))), b"")
            if not justification:
                return None
        return WarpFragment(header, epoch, justification, SetProof.decode(proof))

    def _finality(self, epoch: int) -> bytes:
        """The justification that finalized the checkpoint of `epoch`: the next epoch's, with it as the source."""
        chain = self.node.chain
        source = Checkpoint(epoch, self._by_epoch[epoch])
        for cp in self.node.finality.tracker.state.justified.values():
            if cp.epoch != epoch + 1:
                continue
            for raw in chain.db.justifications(cp.block_hash):
                try:
                    j = Justification.decode(raw)
                except DecodeError:
                    continue
                if j.target == cp and j.source == source:
                    return raw
        return b""

    # state ---------------------------------------------------------------------------------------------------------
    def _served_block(self, block_hash: bytes) -> Header | None:
        chain = self.node.chain
        header = chain.db.get_header(block_hash)
        if header is None or chain.db.canonical_hash(header.number) != block_hash:
            return None
        return header

    async def serve_plan(self, peer: str, data: bytes) -> bytes:
        block_hash = decode_plan_request(data)
        try:
            await self.throttle.acquire(peer)
        except ServeRefused as exc:
            return pack([BUSY, str(exc)])
        if self._served_block(block_hash) is None:
            return pack([UNAVAILABLE, "not a block of this node's canonical chain"])
        bits = self.node.chain.tree.bucket_bits  # its buckets hold one or two leaves: about 2**bits keys
        self.served["plans"] += 1
        return pack([OK, self.plan_depth(), 1 << bits])

    def plan_depth(self) -> int:
        """The depth whose prefixes hold CHUNK_TARGET_KEYS to twice as many keys each, from the tree's key count (its
        buckets hold one or two leaves up to ~4 million keys, then more: the bucket depth stops at its cap, so a
        depth from it alone gave ten million keys prefixes of 20,000, each read longer than a slot and read again
        when a block came meanwhile)."""
        bits = self.node.chain.tree.bucket_bits
        return max(0, min(bits, MAX_DEPTH, (self._keys() // CHUNK_TARGET_KEYS).bit_length() - 1))

    def _keys(self) -> int:
        """About how many keys the head's tree holds (its resident leaves, scaled to all its buckets): counted at most
        once a minute (the count walks the buckets)."""
        now = time.monotonic()
        if self._key_count is None or now - self._key_count[0] > KEY_COUNT_S:
            tree = self.node.chain.tree
            _ = tree.bucket_bits  # waits for an update under way: the count must not race it
            stats = tree.stats()
            keys = stats["resident_leaves"] * stats["buckets"] // max(1, stats["resident_buckets"])
            self._key_count = (now, keys)
        return self._key_count[1]

    def _levels_to(self, header: Header, depth: int) -> dict[int, bytes]:
        """Levels 1 to `depth` of the tree of the served block, read in one setting back of the tree (cached for the
        last block asked for)."""
        if self._levels is None or self._levels[0] != header.hash():
            self._levels = (header.hash(), {})
        levels = self._levels[1]
        missing = [d for d in range(1, depth + 1) if d not in levels]
        if not missing:
            return levels
        chain = self.node.chain
        if header.number == chain.head.number:
            for d in missing:
                levels[d] = bytes(chain.tree.positions(d))
            return levels
        view = HistoricalState(chain.db, chain.head.number, header.number, max_keys=VIEW_KEYS)
        with chain.tree.rewound(view.changes_from_head) as root:
            if root != header.state_root:
                raise StorageError(f"the state tree set back to block #{header.number} does not give its state root")
            for d in missing:
                levels[d] = bytes(chain.tree.positions(d))
        return levels

    async def serve_state(self, peer: str, data: bytes) -> bytes:
        block_hash, depth, index = decode_state_request(data)
        try:
            await self.throttle.acquire(peer)
            await self.budget.acquire()
        except ServeRefused as exc:
            return pack([BUSY, str(exc)])
        for _ in range(READ_ATTEMPTS):
            clock = _StepClock(self.budget)
            try:
                raw = await self._read_chunk(block_hash, depth, index, clock)
            finally:
                clock.stop()
            if raw is not None:
                return raw
        return pack([UNAVAILABLE, "blocks were imported while the chunk was read: ask again"])

    async def _read_chunk(self, block_hash: bytes, depth: int, index: int, clock: _StepClock) -> bytes | None:
        """The response to a state request, read in steps of STEP_KEYS keys with the event loop running between them
        (each step's time charged to the budget); None when a block was imported meanwhile (the steps would not
        read one state)."""
        chain = self.node.chain
        head = chain.head_hash
        header = self._served_block(block_hash)
        if header is None:
            return pack([UNAVAILABLE, "not a block of this node's canonical chain"])
        deepest = min(chain.tree.bucket_bits, self.plan_depth() + DEEPER_THAN_PLAN)
        if depth > deepest:
            return pack([UNAVAILABLE, f"this node serves prefixes down to depth {deepest}"])
        try:
            view, changed = self._view_at(block_hash, header.number)
            siblings = prefix_siblings(self._levels_to(header, depth), depth, index)
        except HistoryTooFar as exc:
            return pack([UNAVAILABLE, f"block #{header.number} is too far back to serve its state: {exc}"])
        try:
            entries = await self._entries(view, changed, depth, index, clock, head)
            beside = lone_leaf_beside(depth, index, siblings) if entries == [] else None
            found = None if beside is None else await self._entries(view, changed, *beside, clock, head)
        except _HeadMoved:
            return None
        if entries is None:
            return pack([SPLIT, f"prefix ({depth}, {index}) holds more than a chunk may"])
        lone: list[bytes] = []
        if beside is not None:
            if found is None or len(found) != 1:
                raise StorageError(f"the tree's lone leaf at ({beside[0]}, {beside[1]}) is not one key of the state")
            lone = found[0]
        raw = pack([OK, entries, [[h, kind] for h, kind in siblings], lone])
        self.served["chunks"] += 1
        self.served["bytes"] += len(raw)
        return raw

    async def _entries(self, view: HistoricalState | None, changed: dict[bytes, bytes], depth: int, index: int,
                       clock: _StepClock, head: bytes) -> list[list[bytes]] | None:
        """[key, value] of every key of prefix (depth, index) at the served block, in path order; None if more than
        a chunk may hold. _HeadMoved if a block was imported while it was read."""
        chain = self.node.chain
        lo, hi = prefix_bounds(depth, index)
        paths: dict[bytes, bytes] = {}
        found: Iterator[tuple[bytes, bytes]] = chain.db.keys_by_path(lo, hi)
        try:
            for n, (path, key) in enumerate(found, 1):
                paths[path] = key
                if len(paths) > MAX_CHUNK_ENTRIES:
                    return None
                if n % STEP_KEYS == 0:
                    await clock.step(chain, head)
        finally:
            close = getattr(found, "close", None)
            if close is not None:
                close()
        for path, key in changed.items():
            if lo <= path and (hi is None or path < hi):
                paths[path] = key
        reader = chain.db.state if view is None else view
        entries = []
        size = 0
        ordered = sorted(paths)
        for start in range(0, len(ordered), STEP_KEYS):
            keys = [paths[path] for path in ordered[start : start + STEP_KEYS]]
            # a step's keys read at once: scattered over the whole state, by two threads where the store can
            for key, value in zip(keys, reader.get_values(keys), strict=True):
                if value is not None:  # else created since the served block
                    entries.append([key, value])
                    size += len(key) + len(value)
                    if size > MAX_CHUNK_BYTES or len(entries) > MAX_CHUNK_ENTRIES:
                        return None
            if start + STEP_KEYS <= len(ordered):
                await clock.step(chain, head)
        return entries

    def _view_at(self, block_hash: bytes, number: int) -> tuple[HistoricalState | None, dict[bytes, bytes]]:
        chain = self.node.chain
        if number == chain.head.number:
            return None, {}
        cached = self._view
        if cached is not None and cached[0] == block_hash and cached[1] == chain.head_hash:
            return cached[2], cached[3]
        view = HistoricalState(chain.db, chain.head.number, number, max_keys=VIEW_KEYS)
        changed = {key_path(k): k for k in view.changes_from_head}
        self._view = (block_hash, chain.head_hash, view, changed)
        return view, changed


def _targets(raw: bytes, cp: Checkpoint) -> bool:
    try:
        return Justification.decode(raw).target == cp
    except DecodeError:
        return False


def _set_of(fragment: WarpFragment) -> ValidatorSet:
    return _set_of_value(fragment.voters.value)


def _set_of_value(value: bytes) -> ValidatorSet:
    return ValidatorSet.from_infos(session.queued.codec.decode(value))


class _HeadMoved(Exception):
    """A block was imported while a chunk was read in steps."""


class _StepClock:
    """Times the synchronous steps of one request and charges them to the serving budget."""

    def __init__(self, budget: ServeBudget) -> None:
        self.budget = budget
        self.started = time.perf_counter()

    async def step(self, chain: Chain, head: bytes) -> None:
        """End a step, give the event loop its turn, start the next; _HeadMoved if the head is no longer `head`."""
        self.stop()
        await asyncio.sleep(0)
        self.started = time.perf_counter()
        if chain.head_hash != head:
            raise _HeadMoved

    def stop(self) -> None:
        now = time.perf_counter()
        self.budget.charge(now - self.started)
        self.started = now
