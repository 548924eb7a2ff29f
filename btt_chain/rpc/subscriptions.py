"""Head subscriptions over WebSocket: chain_subscribeNewHeads, chain_subscribeFinalizedHeads,
btt_subscribeEvents (each new head's events, as `btt_events` renders them, at most `EVENTS_PER_NOTIFICATION`),
state_subscribeStorage (the values of up to `MAX_STORAGE_KEYS` keys, first all of them, then those a new head
changed; with no keys, or null, every key each new block changed, as Substrate: `block_changes`) and
state_subscribeRuntimeVersion (the runtime version at the head, then again each time a new head's
runtime is another spec, as Substrate sends it: the runtime at a block is the one that runs its child,
`runtime_info`, so the new spec is announced when the last block before an upgrade becomes the head).

One `HeadFeed` serves every connection. The node's import only tells the feed which block arrived (a list
append); the feed renders that block's header, and its events if anyone subscribed to events, once for all
subscribers, in the RPC lane (`scheduler.CallLane`) in slices of `RENDER_SLICE` events, so rendering competes
with clients for the lane's share and never runs where the slot loop waits. Each subscription then gets its
notification as parts around that one shared body, into its connection's byte-bounded outbox. A connection
holds at most `MAX_SUBSCRIPTIONS` subscriptions; the feed keeps the bodies of the last `KEEP_RENDERED` blocks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from btt_chain.primitives.errors import StorageError
from btt_chain.rpc import params as p
from btt_chain.rpc import runtime_info, virtual_storage
from btt_chain.rpc.errors import SERVER_LIMIT, RpcError, invalid_params
from btt_chain.rpc.outbox import Outbox
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, Subscriber
from btt_chain.rpc.render import account_renderer, hex0x, render_event_record, render_header

if TYPE_CHECKING:
    from btt_chain.node.chain import ImportedBlock
    from btt_chain.node.service import Node
    from storage.block_meta import MetaView

log = logging.getLogger("btt.rpc")

T = TypeVar("T")
Runner = Callable[[Callable[[], T]], Awaitable[T]]

NEW_HEADS = "newHeads"
FINALIZED_HEADS = "finalizedHeads"
EVENTS = "events"
STORAGE = "storage"
ALL_STORAGE = "allStorage"
RUNTIME_VERSION = "runtimeVersion"
NOTIFICATION_METHOD = {
    NEW_HEADS: "chain_newHead", FINALIZED_HEADS: "chain_finalizedHead", EVENTS: "btt_newEvents",
    STORAGE: "state_storage", ALL_STORAGE: "state_storage", RUNTIME_VERSION: "state_runtimeVersion",
}
MAX_STORAGE_KEYS = 1000
"""Storage keys one connection watches, over all its storage subscriptions (each is read once per new head)."""
CHANGES_PER_NOTIFICATION = 1_000
"""Changes one `state_storage` notification of a subscription to every key carries: a block that changed more is
sent as several notifications with the same `block`, each of at most this many (all of them, in key order; the
connection's outbox bound, `outbox.MAX_NOTIFICATION_BYTES`, closes a client too slow to read them)."""
MAX_SUBSCRIPTIONS = 64
"""Per connection."""
RENDER_SLICE = 250
"""Events rendered per lane unit."""
EVENTS_PER_NOTIFICATION = 1_000
"""Events a `btt_newEvents` notification carries; with more (`complete: false`, `eventCount` says how many), the
rest are read a page at a time with `btt_events(blockHash, null, start, limit)`."""
KEEP_RENDERED = 8
"""Blocks whose rendered header and events the feed keeps (a new subscriber's first notification reuses them)."""
MAX_BACKLOG = 64
"""Imported blocks waiting to be rendered; past it the oldest are skipped (a subscriber sees every head only while
the feed keeps up, as with Substrate)."""


async def _direct(fn: Callable[[], T]) -> T:
    return fn()


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def notification(kind: str, sub_id: str, body: str) -> tuple[str, ...]:
    """A notification as parts around the shared `body` (the JSON of its result)."""
    return ('{"jsonrpc":"2.0","method":"', NOTIFICATION_METHOD[kind], '","params":{"subscription":"', sub_id,
            '","result":', body, "}}")


def _render_events(view: MetaView, start: int, stop: int, render: Callable[[bytes], str]) -> str:
    return ",".join(_dumps(render_event_record(r, render)) for r in view.events(start, stop))


class HeadFeed:
    """Renders each new block once and hands it to every subscribed connection."""

    def __init__(self, node: Node, run: Runner[Any] = _direct) -> None:
        self.node = node
        self.run = run
        self._connections: set[HeadSubscriptions] = set()
        self._backlog: list[bytes] = []
        self._changes: OrderedDict[bytes, Mapping[bytes, bytes | None]] = OrderedDict()
        """The state changes of imported blocks not yet delivered, kept while anyone watches every key."""
        self._headers: OrderedDict[bytes, str] = OrderedDict()
        self._events: OrderedDict[bytes, str] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._listening = False
        self.skipped = 0
        """Imported blocks never rendered because the feed fell `MAX_BACKLOG` behind."""

    # connections -------------------------------------------------------------------------------------
    def join(self, conn: HeadSubscriptions) -> None:
        self._connections.add(conn)
        if not self._listening:
            self.node.add_head_listener(self._on_import)
            self._listening = True

    def leave(self, conn: HeadSubscriptions) -> None:
        self._connections.discard(conn)
        if not self._connections and self._listening:
            self.node.remove_head_listener(self._on_import)
            self._listening = False
            self._backlog.clear()

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for conn in list(self._connections):
            self.leave(conn)

    # import ------------------------------------------------------------------------------------------
    def _on_import(self, imported: ImportedBlock) -> None:
        """Runs inside the node's import: only notes the block (and, for subscriptions to every key, keeps a reference
        to the changes its execution made)."""
        self._backlog.append(imported.hash)
        if len(self._backlog) > MAX_BACKLOG:
            self._changes.pop(self._backlog[0], None)
            del self._backlog[0]
            self.skipped += 1
        if imported.result is not None and any(c.has(ALL_STORAGE) for c in self._connections):
            self._changes[imported.hash] = imported.result.changes
            while len(self._changes) > MAX_BACKLOG:
                self._changes.popitem(last=False)
        if self._task is None or self._task.done():
            try:
                self._task = asyncio.get_running_loop().create_task(self._deliver(), name="rpc-head-feed")
            except RuntimeError:  # no loop (a synchronous tool imported a block): deliver nothing
                self._backlog.clear()

    async def _deliver(self) -> None:
        while self._backlog:
            block_hash = self._backlog.pop(0)
            try:
                await self.deliver(block_hash)
            except Exception:
                log.exception("rendering block 0x%s for subscribers failed", block_hash.hex()[:16])

    async def deliver(self, block_hash: bytes) -> None:
        """Send the block `block_hash` to every subscription that wants it (rendering and fan-out in the lane)."""
        wants_events = any(c.has(EVENTS) for c in self._connections)
        wants_finalized = any(c.has(FINALIZED_HEADS) for c in self._connections)
        header = await self.header_body(block_hash)
        events = await self.events_body(block_hash) if wants_events else None
        finalized = self.node.chain.db.finalized_hash()
        final_body = await self.header_body(finalized) if wants_finalized else None

        if any(c.has(RUNTIME_VERSION) for c in self._connections) and block_hash == self.node.chain.head_hash:
            version = await self.run(partial(runtime_version_now, self.node))
            if version is not None:
                spec, body = version
                for conn in list(self._connections):
                    for sub_id, sub in conn.items():
                        if sub.kind == RUNTIME_VERSION and sub.spec != spec:
                            sub.spec = spec
                            conn.send(sub_id, sub, block_hash, body)

        captured = self._changes.pop(block_hash, None)
        if any(c.has(ALL_STORAGE) for c in self._connections):
            for body in await self.all_changes_bodies(block_hash, captured):
                for conn in list(self._connections):
                    for sub_id, sub in conn.items():
                        if sub.kind == ALL_STORAGE:
                            conn.send(sub_id, sub, block_hash, body)

        if any(c.has(STORAGE) for c in self._connections) and block_hash == self.node.chain.head_hash:
            for conn in list(self._connections):
                for sub_id, sub in conn.items():
                    if sub.kind == STORAGE:
                        body = await self.run(partial(storage_changes, self.node, sub, block_hash, False))
                        if body is not None:
                            conn.send(sub_id, sub, block_hash, body)

        def fan_out() -> None:
            for conn in list(self._connections):
                for sub_id, sub in conn.items():
                    if sub.kind == NEW_HEADS and header is not None:
                        conn.send(sub_id, sub, block_hash, header)
                    elif sub.kind == EVENTS and events is not None:
                        conn.send(sub_id, sub, block_hash, events)
                    elif sub.kind == FINALIZED_HEADS and final_body is not None and finalized != sub.last_sent:
                        conn.send(sub_id, sub, finalized, final_body)

        await self.run(fan_out)

    # rendering (cached, in the lane) ----------------------------------------------------------------
    async def header_body(self, block_hash: bytes) -> str | None:
        cached = self._headers.get(block_hash)
        if cached is not None:
            return cached

        def render() -> str | None:
            header = self.node.chain.db.get_header(block_hash)
            if header is None:
                return None
            return _dumps(render_header(header))

        body = await self.run(render)
        if body is not None:
            self._keep(self._headers, block_hash, body)
        return body

    async def events_body(self, block_hash: bytes) -> str | None:
        cached = self._events.get(block_hash)
        if cached is not None:
            return cached
        db = self.node.chain.db
        found = await self.run(lambda: (db.get_header(block_hash), db.block_meta_view(block_hash)))
        header, view = found
        if header is None or view is None:
            return None
        render = account_renderer(self.node.spec.ss58_prefix)
        total = view.event_count
        shown = min(total, EVENTS_PER_NOTIFICATION)
        parts: list[str] = []
        for start in range(0, shown, RENDER_SLICE):
            stop = min(start + RENDER_SLICE, shown)
            parts.append(await self.run(partial(_render_events, view, start, stop, render)))
        body = (f'{{"blockHash":"{hex0x(block_hash)}","number":{header.number},"eventCount":{total},'
                f'"complete":{"true" if shown == total else "false"},"events":[{",".join(parts)}]}}')
        self._keep(self._events, block_hash, body)
        return body

    async def all_changes_bodies(self, block_hash: bytes,
                                 captured: Mapping[bytes, bytes | None] | None = None) -> list[str]:
        """The `StorageChangeSet`s of every key the block changed (`block_changes`), in key order, at most
        `CHANGES_PER_NOTIFICATION` each; none when its changes are not known here."""
        changes = await self.run(partial(block_changes, self.node, block_hash, captured))
        if not changes:
            return []
        bodies = []
        head = f'{{"block":"{hex0x(block_hash)}","changes":['
        for start in range(0, len(changes), CHANGES_PER_NOTIFICATION):
            part = changes[start:start + CHANGES_PER_NOTIFICATION]
            bodies.append(head + await self.run(partial(_render_changes, part)) + "]}")
        return bodies

    @staticmethod
    def _keep(cache: OrderedDict[bytes, str], key: bytes, body: str) -> None:
        cache[key] = body
        while len(cache) > KEEP_RENDERED:
            cache.popitem(last=False)


@dataclass
class _Subscription:
    kind: str
    last_sent: bytes | None = None
    """Hash of the last block sent (finalized subscriptions send only when it changes)."""
    keys: tuple[bytes, ...] = ()
    """A storage subscription's keys."""
    values: dict[bytes, bytes | None] | None = None
    """A storage subscription's values as last sent."""
    spec: int | None = None
    """A runtime version subscription's spec as last sent."""


def runtime_version_now(node: Node) -> tuple[int, str] | None:
    """(spec, `RuntimeVersion` JSON) of the runtime at the head; None while this node cannot run it (it stops before
    the block that needs it: there is nothing it could describe)."""
    state = node.chain.db.state
    try:
        return runtime_info.spec_at(state), _dumps(runtime_info.version_json(state))
    except RpcError:
        return None


def storage_changes(node: Node, sub: _Subscription, asked_by: bytes, everything: bool) -> str | None:
    """A `StorageChangeSet` of the subscription's keys at the head: all of them, or those changed since the last
    one sent (None when nothing changed). It names the head whose state it read: `asked_by` (the block whose import
    asked for it) only while that is still the head. Computed late, on a busy node whose head has moved on, it tells the
    newer head's values under the newer head's hash (and that head's own turn finds nothing changed), never a newer
    block's values under an older block's hash."""
    state = node.chain.db.state
    block_hash = node.chain.head_hash  # `asked_by` itself unless the head moved on meanwhile
    last = sub.values if sub.values is not None else {}
    changes = []
    for key in sub.keys:
        value = virtual_storage.read(node.chain, state, key, block_hash)
        if everything or key not in last or last[key] != value:
            changes.append([hex0x(key), None if value is None else hex0x(value)])
        last[key] = value
    sub.values = last
    if not changes:
        return None
    return _dumps({"block": hex0x(block_hash), "changes": changes})


def block_changes(node: Node, block_hash: bytes,
                  captured: Mapping[bytes, bytes | None] | None) -> list[tuple[bytes, bytes | None]]:
    """(key, value after the block, None: removed) of every key the block changed, in key order: its execution's
    changes (`captured` at import), or its redo journal (a block enacted again), or for the head its undo journal's
    keys read in the head state; then FRAME's `System.Digest` and `System.Events` of the block, which btt keeps
    beside it (`virtual_storage`). Empty when the block's changes are not known here (a block imported before anyone
    subscribed and no longer the head). Not included: the computed items (`:code`, `Balances.Locks`), whose
    sources' own keys are."""
    db = node.chain.db
    changes: Mapping[bytes, bytes | None] | None = captured
    if changes is None:
        try:
            changes = db.redo(block_hash)
        except StorageError:
            if block_hash != node.chain.head_hash:
                return []
            try:
                keys = db.undo(block_hash)
            except StorageError:
                return []
            changes = {key: db.state.get(key) for key in keys}
    out = sorted(changes.items())
    extra = virtual_storage.virtual_storage(node.chain)
    for key in (virtual_storage.DIGEST_KEY, virtual_storage.EVENTS_KEY):
        value = extra.get(key, block_hash)
        if value is not None:
            out.append((key, value))
    return out


def _render_changes(changes: list[tuple[bytes, bytes | None]]) -> str:
    """`[key, value or null]` pairs, comma-separated (hex needs no JSON escaping)."""
    return ",".join(f'["{hex0x(k)}",null]' if v is None else f'["{hex0x(k)}","{hex0x(v)}"]' for k, v in changes)


class HeadSubscriptions:
    """One connection's subscriptions. Implements `Subscriber`; `close()` leaves the feed."""

    def __init__(self, node: Node, outbox: Outbox, feed: HeadFeed | None = None) -> None:
        self.node = node
        self.outbox = outbox
        self.feed = feed if feed is not None else HeadFeed(node)
        self._subs: dict[str, _Subscription] = {}
        self._pending: list[str] = []
        """New subscriptions whose first notification waits until their subscribe response is queued."""
        self.after_response: list[Callable[[], None]] = []
        """Other first notifications (a watched transaction's first status) that wait the same way."""
        self.on_close: list[Callable[[], None]] = []
        """Cleanups of other subscriptions on this connection (watched transactions)."""

    def __len__(self) -> int:
        return len(self._subs)

    def has(self, kind: str) -> bool:
        return any(s.kind == kind for s in self._subs.values())

    def items(self) -> list[tuple[str, _Subscription]]:
        return [(k, s) for k, s in self._subs.items() if k not in self._pending]

    # Subscriber --------------------------------------------------------------------------------------
    def subscribe(self, kind: str, keys: tuple[bytes, ...] = ()) -> str:
        if len(self._subs) >= MAX_SUBSCRIPTIONS:
            raise RpcError(SERVER_LIMIT, f"too many subscriptions on this connection (limit {MAX_SUBSCRIPTIONS})")
        watched = sum(len(sub.keys) for sub in self._subs.values())
        if watched + len(keys) > MAX_STORAGE_KEYS:
            raise RpcError(SERVER_LIMIT, f"too many storage keys watched on this connection (limit {MAX_STORAGE_KEYS})")
        sub_id = secrets.token_hex(8)
        self._subs[sub_id] = _Subscription(kind, keys=keys)
        self._pending.append(sub_id)
        self.feed.join(self)
        return sub_id

    def unsubscribe(self, kind: str, subscription_id: str) -> bool:
        sub = self._subs.get(subscription_id)
        if sub is None or sub.kind != kind:
            return False
        del self._subs[subscription_id]
        if subscription_id in self._pending:
            self._pending.remove(subscription_id)
        if not self._subs:
            self.feed.leave(self)
        return True

    # notifications -----------------------------------------------------------------------------------
    async def flush_pending(self) -> None:
        """Send each new subscription its current head (Substrate does); call after queuing the response."""
        callbacks, self.after_response = self.after_response, []
        for fn in callbacks:
            fn()
        if not self._pending:
            return
        chain = self.node.chain
        head = chain.head_hash
        for sub_id in list(self._pending):
            sub = self._subs.get(sub_id)
            if sub is None:
                continue
            if sub.kind == ALL_STORAGE:  # no first notification (Substrate sends none): the changes of each block
                continue
            if sub.kind == EVENTS:
                block_hash, body = head, await self.feed.events_body(head)
            elif sub.kind == STORAGE:
                block_hash = head
                body = await self.feed.run(partial(storage_changes, self.node, sub, head, True))
            elif sub.kind == RUNTIME_VERSION:  # then again whenever a new head's runtime is another spec
                block_hash, version = head, await self.feed.run(partial(runtime_version_now, self.node))
                body = None
                if version is not None:
                    sub.spec, body = version
            elif sub.kind == NEW_HEADS:
                block_hash, body = head, await self.feed.header_body(head)
            else:
                block_hash = chain.db.finalized_hash()
                body = await self.feed.header_body(block_hash)
            if body is not None and sub_id in self._subs:
                self.send(sub_id, sub, block_hash, body)
        self._pending.clear()

    def send(self, sub_id: str, sub: _Subscription, block_hash: bytes, body: str) -> None:
        sub.last_sent = block_hash
        self.outbox.put_notification(notification(sub.kind, sub_id, body))

    def close(self) -> None:
        self._subs.clear()
        self._pending.clear()
        self.feed.leave(self)
        callbacks, self.on_close = self.on_close, []
        for fn in callbacks:
            fn()


# methods --------------------------------------------------------------------------------------------


def _subscriber(ctx: RpcContext) -> Subscriber:
    assert ctx.subscriber is not None  # the dispatcher refuses ws_only methods without one
    return ctx.subscriber


@REGISTRY.method(
    "chain_subscribeNewHeads", aliases=("chain_subscribeAllHeads", "chain_subscribeNewHead", "subscribe_newHead"),
    ws_only=True,
)
def subscribe_new_heads(ctx: RpcContext) -> str:
    return str(_subscriber(ctx).subscribe(NEW_HEADS))


@REGISTRY.method(
    "chain_unsubscribeNewHeads", Param("subscription", p.subscription_id),
    aliases=("chain_unsubscribeAllHeads", "chain_unsubscribeNewHead", "unsubscribe_newHead"), ws_only=True,
)
def unsubscribe_new_heads(ctx: RpcContext, sub_id: str) -> bool:
    return bool(_subscriber(ctx).unsubscribe(NEW_HEADS, sub_id))


@REGISTRY.method("chain_subscribeFinalizedHeads", aliases=("chain_subscribeFinalisedHeads",), ws_only=True)
def subscribe_finalized_heads(ctx: RpcContext) -> str:
    return str(_subscriber(ctx).subscribe(FINALIZED_HEADS))


@REGISTRY.method(
    "chain_unsubscribeFinalizedHeads", Param("subscription", p.subscription_id),
    aliases=("chain_unsubscribeFinalisedHeads",), ws_only=True,
)
def unsubscribe_finalized_heads(ctx: RpcContext, sub_id: str) -> bool:
    return bool(_subscriber(ctx).unsubscribe(FINALIZED_HEADS, sub_id))


def _watched_keys(value: object, ctx: RpcContext) -> tuple[bytes, ...] | None:
    """The keys to watch; None (an empty list, as null) for every key."""
    if not isinstance(value, list):
        raise invalid_params("keys: expected a list of 0x-hex storage keys, or null (or []) for every change")
    if len(value) > MAX_STORAGE_KEYS:
        raise invalid_params(f"keys: at most {MAX_STORAGE_KEYS} keys, got {len(value)}")
    if not value:
        return None
    return tuple(dict.fromkeys(p.storage_key(v, ctx) for v in value))


@REGISTRY.method("state_subscribeStorage", Param("keys", _watched_keys, default=None), ws_only=True)
def subscribe_storage(ctx: RpcContext, keys: tuple[bytes, ...] | None) -> str:
    """The keys' values now (`state_storage` notifications: {block, changes: [[key, value or null], ...]}), then
    on each new head the keys whose values it changed. With no keys (null, left out, or []), as Substrate: no first
    notification, then for each new block every key it changed (System.Digest and System.Events included), at most
    1,000 changes a notification (a block with more: several notifications of the same block)."""
    if keys is None:
        return str(_subscriber(ctx).subscribe(ALL_STORAGE))
    return str(_subscriber(ctx).subscribe(STORAGE, keys))


@REGISTRY.method("state_unsubscribeStorage", Param("subscription", p.subscription_id), ws_only=True)
def unsubscribe_storage(ctx: RpcContext, sub_id: str) -> bool:
    subscriber = _subscriber(ctx)
    return bool(subscriber.unsubscribe(STORAGE, sub_id) or subscriber.unsubscribe(ALL_STORAGE, sub_id))


@REGISTRY.method("state_subscribeRuntimeVersion", aliases=("chain_subscribeRuntimeVersion",), ws_only=True)
def subscribe_runtime_version(ctx: RpcContext) -> str:
    """The runtime version at the head now (`state_runtimeVersion`), then again each time a new head's runtime is
    another spec: at an upgrade, when the last block before its first block becomes the head (and back, should the
    head move to a branch without it)."""
    return str(_subscriber(ctx).subscribe(RUNTIME_VERSION))


@REGISTRY.method(
    "state_unsubscribeRuntimeVersion", Param("subscription", p.subscription_id),
    aliases=("chain_unsubscribeRuntimeVersion",), ws_only=True,
)
def unsubscribe_runtime_version(ctx: RpcContext, sub_id: str) -> bool:
    return bool(_subscriber(ctx).unsubscribe(RUNTIME_VERSION, sub_id))


@REGISTRY.method("btt_subscribeEvents", ws_only=True)
def subscribe_events(ctx: RpcContext) -> str:
    """Each new best block's events (`btt_newEvents`: blockHash, number, eventCount, complete, and the first 1,000
    events as `btt_events` renders them; page the rest with `btt_events`), starting with the head's."""
    return str(_subscriber(ctx).subscribe(EVENTS))


@REGISTRY.method("btt_unsubscribeEvents", Param("subscription", p.subscription_id), ws_only=True)
def unsubscribe_events(ctx: RpcContext, sub_id: str) -> bool:
    return bool(_subscriber(ctx).unsubscribe(EVENTS, sub_id))
