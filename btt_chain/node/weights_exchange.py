"""The `weights/get` request/response protocol: model weights blobs by weights hash, chunk by chunk, between nodes.

Request:  [weights hash]          -> the manifest: [size, [chunk hash, ...]], or [] when the peer lacks the blob
          [weights hash, index]   -> chunk `index`: [index, bytes], or [] when the peer lacks the blob
A chunk is at most WEIGHTS_CHUNK (64 KiB) bytes, so every response stays a small frame; the largest manifest (128
chunk hashes) is about 4.4 KiB.

Both directions are strictly decoded (a peer's bytes are hostile) and bounded. Fetching asks peers one by one, those
that sent us a block needing the blob first; the manifest must hash to the weights hash and each chunk must have the
manifest's length and chunk hash, checked here before the store sees it, so a peer can waste our time but never plant
a byte.

What an answer proves decides what it costs. An honest node serves only blobs it holds, checked, so bytes that are
provably not what was asked (a manifest that does not hash to the weights hash asked for; a chunk of the wrong length
or hash, or sent for another index) are a lie: the peer is banned at once, for WRONG_CONTENT_BAN_S as an invalid block
is, and the next peer is asked in the same fetch. A malformed answer costs MALFORMED_PENALTY. A peer that sent the
manifest (it holds the blob, it said) and then answers a chunk request with [] costs WITHHELD_PENALTY (an honest one
that dropped the blob meanwhile pays once: it answers [] for the manifest from then on). No answer (a timeout, a link
down, a throttled server) and [] for the manifest cost nothing: a peer may hold no blob it did not claim. Blame goes
only to the peer that answered (requests go point to point, and a chunk is judged against a manifest that hashes to
the weights hash whoever sent it), so no peer can get another blamed.

A peer that failed (no answer, malformed, withheld) is not asked for that blob again within PEER_RETRY_S; one that
lacked it may have it soon (an owner's node receives it just after the registration), so it is asked again by the
next fetch; a fetch that ended without the blob is not started again within RETRY_AFTER_S (the hash's retry pace, so
no peer is asked for one hash in a tight loop), or until a peer connects (`peer_connected`: it may hold it). Each
fetch that ends without the blob logs what every peer asked came to. Chunks held are kept: the next peer (or the next
fetch) resumes from them. Fetches are tasks owned here: at most MAX_FETCHES at once, each one request at a time (so at
most MAX_FETCHES chunk responses are ever in flight), and at most MAX_QUEUED more waiting for a slot; one hash is
fetched once however many ask.

Serving answers only from blobs this node holds, one chunk per request, throttled per peer and in all (token
buckets; a request that would wait over SERVE_MAX_WAIT_S is refused).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from btt_chain.node import hash_request
from btt_chain.node.peer_requests import Peers
from btt_chain.node.serve_throttle import ServeRefused, ServeThrottle

__all__ = ["ServeRefused", "WeightsExchange"]
from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import HASH_LEN
from runtime.compute.model import MAX_WEIGHTS_BYTES, WEIGHTS_CHUNK
from storage.content import (
    MAX_CHUNKS,
    MISSING,
    ContentFull,
    ContentRejected,
    ContentStore,
    Manifest,
    WeightsStatus,
    check_manifest,
    chunk_count,
)

log = logging.getLogger("btt.net")

PROTOCOL = "weights/get"
MAX_REQUEST_BYTES = hash_request.MAX_REQUEST_BYTES
MAX_MANIFEST_RESPONSE = 16 + MAX_CHUNKS * (HASH_LEN + 2)
"""The largest well-formed manifest: a u32 size and 128 chunk hashes with their msgpack headers."""
MAX_CHUNK_RESPONSE = WEIGHTS_CHUNK + 16
"""A full chunk with its index and msgpack headers."""
REQUEST_TIMEOUT_S = 10.0
PEERS_ASKED = 8
MAX_FETCHES = 2
MAX_QUEUED = 32
RETRY_AFTER_S = 5.0
PEER_RETRY_S = 30.0
MAX_HINTS = 4
"""Peers remembered per hash as likely holders (they sent a block that needs it)."""
WRONG_CONTENT_BAN_S = 300.0
"""How long a peer that sent bytes provably not those asked for is banned (as long as for an invalid block)."""
MALFORMED_PENALTY = 20
WITHHELD_PENALTY = 5
"""A peer that sent a blob's manifest, then answered [] for one of its chunks (the score recovers 3 points in
PEER_RETRY_S, so a peer that keeps doing it for one blob is banned by score after about 25 minutes, and an honest one
that dropped the blob meanwhile pays once)."""
SERVE_RATE = 64.0
"""Requests per second served to one peer (4 MiB/s of chunks); bursts of SERVE_BURST."""
SERVE_BURST = 64.0
SERVE_RATE_ALL = 256.0
"""Requests per second served to all peers together (16 MiB/s)."""
SERVE_MAX_WAIT_S = 2.0
MAX_TRACKED = 1024
"""Entries kept in each per-peer table before the stale ones are swept."""


_HELD, _LACKS, _FAILED, _NO_ROOM = "held", "lacks", "failed", "no room"
_LIED, _WITHHELD, _MALFORMED = "lied", "withheld", "malformed"
_OUTCOME_TEXT = {
    _LACKS: "lacks it", _FAILED: "did not answer", _NO_ROOM: "answered, but this store has no room for it",
    _LIED: "sent wrong bytes (banned)", _WITHHELD: "withheld a chunk of it", _MALFORMED: "sent a malformed answer",
}
_RETRY_PEER_LATER = (_FAILED, _WITHHELD, _MALFORMED)
"""Outcomes after which a peer is not asked for that blob again within PEER_RETRY_S."""


# wire ----------------------------------------------------------------------------------------------------


_is_hash = hash_request.is_hash
encode_request = hash_request.encode_request


def decode_request(raw: bytes) -> tuple[bytes, int | None]:
    """(weights hash, chunk index or None for the manifest); DecodeError for anything else."""
    return hash_request.decode_request(raw, MAX_CHUNKS, "a weights request")


def encode_manifest_response(manifest: Manifest | None) -> bytes:
    return pack([] if manifest is None else [manifest.size, list(manifest.chunk_hashes)])


def decode_manifest_response(raw: bytes) -> tuple[int, tuple[bytes, ...]] | None:
    value = unpack(raw, max_size=MAX_MANIFEST_RESPONSE)
    if value == []:
        return None
    if not (
        isinstance(value, list) and len(value) == 2 and type(value[0]) is int
        and 1 <= value[0] <= MAX_WEIGHTS_BYTES and isinstance(value[1], list)
        and len(value[1]) == chunk_count(value[0]) and all(_is_hash(h) for h in value[1])
    ):
        raise DecodeError(f"a weights manifest must be [] or [size 1 to {MAX_WEIGHTS_BYTES}, [one hash32 per "
                          f"{WEIGHTS_CHUNK}-byte chunk]]")
    return value[0], tuple(value[1])


def encode_chunk_response(index: int, data: bytes | None) -> bytes:
    return pack([] if data is None else [index, data])


def decode_chunk_response(raw: bytes) -> tuple[int, bytes] | None:
    value = unpack(raw, max_size=MAX_CHUNK_RESPONSE)
    if value == []:
        return None
    if not (
        isinstance(value, list) and len(value) == 2 and type(value[0]) is int and 0 <= value[0] < MAX_CHUNKS
        and isinstance(value[1], bytes) and 1 <= len(value[1]) <= WEIGHTS_CHUNK
    ):
        raise DecodeError(f"a weights chunk must be [] or [index, 1 to {WEIGHTS_CHUNK} bytes]")
    return value[0], value[1]


# serving and fetching ------------------------------------------------------------------------------------


class WeightsExchange:
    """Serves `weights/get` from the node's content store and fetches missing blobs from peers."""

    def __init__(self, store: ContentStore, p2p: Peers, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.p2p = p2p
        self.clock = clock
        self._tasks: dict[bytes, asyncio.Task[bool]] = {}
        self._queue: dict[bytes, None] = {}
        """Wanted hashes waiting for a fetch slot, oldest first."""
        self._hints: dict[bytes, list[str]] = {}
        self._ended: dict[bytes, float] = {}
        """When the last fetch of a hash ended without the blob."""
        self._peer_tried: dict[tuple[bytes, str], float] = {}
        self.throttle = ServeThrottle("weights", SERVE_RATE, SERVE_BURST, SERVE_RATE_ALL, SERVE_MAX_WAIT_S, clock)
        self.on_fetched: list[Callable[[bytes], None]] = []
        """Called with each hash a fetch brought (block import waits on these)."""
        self.started = self.completed = self.failed = self.bad_data = 0
        """Fetches started, ended with the blob, ended without it; manifests and chunks that did not verify."""

    def start(self) -> None:
        self.p2p.set_request_handler(PROTOCOL, self.serve)

    async def stop(self) -> None:
        self._queue.clear()
        tasks = list(self._tasks.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    # serving ---------------------------------------------------------------------------------------
    async def serve(self, peer: str, data: bytes) -> bytes:
        try:
            weights_hash, index = decode_request(data)
        except DecodeError as exc:
            self.p2p.penalise(peer, MALFORMED_PENALTY, f"malformed weights request: {exc}")
            raise
        await self._throttle(peer)
        if index is None:
            return encode_manifest_response(self.store.manifest(weights_hash))
        return encode_chunk_response(index, self.store.get_chunk(weights_hash, index))

    async def _throttle(self, peer: str) -> None:
        await self.throttle.acquire(peer)

    # fetching --------------------------------------------------------------------------------------
    def want(self, weights_hash: bytes, prefer: str | None = None) -> bool:
        """Fetch `weights_hash` from peers (`prefer` first: a peer that sent a block needing it) unless it is held
        or its last fetch failed moments ago; whether a fetch now runs or waits for a slot."""
        if self.store.has(weights_hash):
            return False
        if prefer is not None:
            hints = self._hints.setdefault(weights_hash, [])
            if prefer not in hints:
                hints.insert(0, prefer)
                del hints[MAX_HINTS:]
        if weights_hash in self._tasks or weights_hash in self._queue:
            return True
        now = self.clock()
        self._sweep(now)
        if now - self._ended.get(weights_hash, -RETRY_AFTER_S) < RETRY_AFTER_S or not self.p2p.peers():
            return False
        if len(self._tasks) < MAX_FETCHES:
            self._start(weights_hash)
        elif len(self._queue) < MAX_QUEUED:
            self._queue[weights_hash] = None
        else:
            return False
        return True

    def is_fetching(self, weights_hash: bytes) -> bool:
        """A fetch of `weights_hash` runs or waits for a slot."""
        return weights_hash in self._tasks or weights_hash in self._queue

    def is_busy(self, weights_hash: bytes) -> bool:
        """A fetch runs, waits, or ended without the blob moments ago (wanting it again now would do nothing)."""
        ended = self._ended.get(weights_hash)
        return self.is_fetching(weights_hash) or (ended is not None and self.clock() - ended < RETRY_AFTER_S)

    def status(self, weights_hash: bytes) -> tuple[WeightsStatus, bool]:
        """The store's status of the blob, and whether a fetch of it runs or waits."""
        return self.store.status(weights_hash), self.is_fetching(weights_hash)

    @property
    def fetching(self) -> int:
        return len(self._tasks) + len(self._queue)

    def _start(self, weights_hash: bytes) -> None:
        name = f"weights-{weights_hash.hex()[:8]}"
        task = asyncio.get_running_loop().create_task(self.fetch(weights_hash), name=name)
        self._tasks[weights_hash] = task
        task.add_done_callback(lambda t: self._done(weights_hash, t))

    def _done(self, weights_hash: bytes, task: asyncio.Task[bool]) -> None:
        self._tasks.pop(weights_hash, None)
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("fetching the weights 0x%s failed", weights_hash.hex()[:16], exc_info=task.exception())
        held = self.store.has(weights_hash)
        if held:
            self._hints.pop(weights_hash, None)
            for fn in list(self.on_fetched):
                try:
                    fn(weights_hash)
                except Exception:
                    log.exception("weights listener failed")
        else:
            self._ended[weights_hash] = self.clock()
        while self._queue and len(self._tasks) < MAX_FETCHES:
            nxt = next(iter(self._queue))
            del self._queue[nxt]
            if not self.store.has(nxt):
                self._start(nxt)

    def _sweep(self, now: float) -> None:
        self._ended = {h: t for h, t in self._ended.items() if now - t < RETRY_AFTER_S}
        if len(self._peer_tried) >= MAX_TRACKED:
            self._peer_tried = {k: t for k, t in self._peer_tried.items() if now - t < PEER_RETRY_S}
        if len(self._hints) >= MAX_TRACKED:
            self._hints = {h: p for h, p in self._hints.items() if self.is_fetching(h)}

    def _candidates(self, weights_hash: bytes) -> list[str]:
        """Peers to ask in order: hinted ones first, none asked for this hash within PEER_RETRY_S."""
        now = self.clock()
        connected = [info.peer_id for info in self.p2p.peers()]
        order = [p for p in self._hints.get(weights_hash, []) if p in connected]
        order += [p for p in connected if p not in order]
        fresh = [p for p in order if now - self._peer_tried.get((weights_hash, p), -PEER_RETRY_S) >= PEER_RETRY_S]
        return fresh[:PEERS_ASKED]

    async def fetch(self, weights_hash: bytes) -> bool:
        """Ask peers in turn until the blob is held (resuming from the chunks held); whether it is."""
        self.started += 1
        outcomes: dict[str, int] = {}
        for peer in self._candidates(weights_hash):
            outcome = await self._fetch_from(weights_hash, peer)
            if outcome == _HELD:
                self.completed += 1
                log.info("fetched the weights 0x%s from %s", weights_hash.hex()[:16], peer[-8:])
                return True
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if outcome in _RETRY_PEER_LATER:
                self._peer_tried[(weights_hash, peer)] = self.clock()
            if outcome == _NO_ROOM:
                break
        self.failed += 1
        status = self.store.status(weights_hash)
        asked = sum(outcomes.values())
        told = "; ".join(f"{n} {_OUTCOME_TEXT[o]}" for o, n in outcomes.items())
        then = (f"asking again within {RETRY_AFTER_S:g} s" if self.p2p.peers()
                else "no peer left to ask: asking again when one connects")
        log.info("could not fetch the weights 0x%s yet (%d of %s chunks held; %s): %s",
                 weights_hash.hex()[:16], status.have, status.total if status.state != MISSING else "?",
                 f"asked {asked} peer{'s' if asked != 1 else ''}: {told}" if asked else "no peer to ask", then)
        return False

    def peer_connected(self, peer: str) -> None:
        """A peer connected: it may hold what the last fetches could not find, so they may start again at once
        (not RETRY_AFTER_S after they ended)."""
        self._ended.clear()

    async def _ask(self, peer: str, request: bytes) -> bytes | None:
        try:
            return await self.p2p.request(peer, PROTOCOL, request, timeout=REQUEST_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - P2PError and friends: that peer cannot help now
            log.debug("no weights answer from %s: %s", peer, exc)
            return None

    def _malformed(self, peer: str, reason: str) -> str:
        self.bad_data += 1
        self.p2p.penalise(peer, MALFORMED_PENALTY, reason)
        return _MALFORMED

    def _lied(self, peer: str, reason: str) -> str:
        """Ban a peer whose answer is provably not what it was asked for (the reason names the kind of ban)."""
        self.bad_data += 1
        self.p2p.ban(peer, WRONG_CONTENT_BAN_S, f"wrong content: {reason}")
        return _LIED

    async def _fetch_from(self, weights_hash: bytes, peer: str) -> str:
        """What asking `peer` came to: _HELD, _LACKS (it has not the blob), _FAILED (no answer), _MALFORMED,
        _LIED (it sent wrong bytes and is banned), _WITHHELD (it sent the manifest, then no chunk) or _NO_ROOM (the
        store cannot take the blob now)."""
        short = weights_hash.hex()[:16]
        claimed = False  # it sent the manifest here: it holds the whole blob, it said
        if self.store.partial_manifest(weights_hash) is None and not self.store.has(weights_hash):
            raw = await self._ask(peer, encode_request(weights_hash))
            if raw is None:
                return _FAILED
            try:
                answer = decode_manifest_response(raw)
            except DecodeError as exc:
                return self._malformed(peer, f"malformed weights manifest: {exc}")
            if answer is None:
                return _LACKS
            try:
                manifest = check_manifest(weights_hash, *answer)
            except ContentRejected as exc:
                return self._lied(peer, f"the manifest sent for the weights 0x{short}: {exc}")
            claimed = True
            try:
                self.store.begin(weights_hash, manifest.size, manifest.chunk_hashes)
            except ContentFull as exc:
                log.warning("cannot fetch the weights 0x%s: %s", short, exc)
                return _NO_ROOM
        for index in self.store.missing_chunks(weights_hash):
            raw = await self._ask(peer, encode_request(weights_hash, index))
            if raw is None:
                return _FAILED
            try:
                chunk = decode_chunk_response(raw)
            except DecodeError as exc:
                return self._malformed(peer, f"malformed weights chunk: {exc}")
            if chunk is None:
                if not claimed:
                    return _LACKS
                self.p2p.penalise(peer, WITHHELD_PENALTY, f"sent the manifest of the weights 0x{short}, then no "
                                                          f"chunk {index}")
                return _WITHHELD
            staged = self.store.partial_manifest(weights_hash)
            if staged is None:  # dropped meanwhile to make room (or completed by an upload)
                return _HELD if self.store.has(weights_hash) else _NO_ROOM
            got, data = chunk
            fault = (f"chunk {got} sent for chunk {index}" if got != index
                     else staged.chunk_fault(index, data))
            if fault is not None:
                return self._lied(peer, f"the weights 0x{short}: {fault}")
            try:
                if self.store.add_chunk(weights_hash, index, data):
                    return _HELD
            except ContentRejected as exc:  # the chunk checked out: the partial changed under us, not the peer's fault
                log.warning("could not keep chunk %d of the weights 0x%s: %s", index, short, exc)
                return _HELD if self.store.has(weights_hash) else _NO_ROOM
        return _HELD if self.store.has(weights_hash) else _LACKS
