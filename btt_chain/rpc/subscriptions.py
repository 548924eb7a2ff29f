"""Head subscriptions over WebSocket: chain_subscribeNewHeads, chain_subscribeFinalizedHeads, and
btt_subscribeEvents (each new head's events, as `btt_events` renders them).

The node calls head listeners synchronously on the event-loop thread after each import; a connection's
listener only renders the header and puts notifications in that connection's bounded outbox.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from btt_chain.rpc import params as p
from btt_chain.rpc.errors import SERVER_LIMIT, RpcError
from btt_chain.rpc.outbox import Outbox
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, Subscriber
from btt_chain.rpc.render import account_renderer, hex0x, render_event_record, render_header

if TYPE_CHECKING:
    from btt_chain.node.chain import ImportedBlock
    from btt_chain.node.service import Node

log = logging.getLogger("btt.rpc")

NEW_HEADS = "newHeads"
FINALIZED_HEADS = "finalizedHeads"
EVENTS = "events"
NOTIFICATION_METHOD = {NEW_HEADS: "chain_newHead", FINALIZED_HEADS: "chain_finalizedHead", EVENTS: "btt_newEvents"}
MAX_SUBSCRIPTIONS = 64
"""Per connection."""


@dataclass
class _Subscription:
    kind: str
    last_sent: bytes | None = None
    """Hash of the last header sent (finalized subscriptions send only when it changes)."""


class HeadSubscriptions:
    """One connection's subscriptions. Implements `Subscriber`; `close()` removes its node listener."""

    def __init__(self, node: Node, outbox: Outbox) -> None:
        self.node = node
        self.outbox = outbox
        self._subs: dict[str, _Subscription] = {}
        self._listening = False
        self._pending: list[str] = []
        """New subscriptions whose first notification waits until their subscribe response is queued."""
        self.after_response: list[Callable[[], None]] = []
        """Other first notifications (a watched transaction's first status) that wait the same way."""
        self.on_close: list[Callable[[], None]] = []
        """Cleanups of other subscriptions on this connection (watched transactions)."""

    def __len__(self) -> int:
        return len(self._subs)

    # Subscriber --------------------------------------------------------------------------------------
    def subscribe(self, kind: str) -> str:
        if len(self._subs) >= MAX_SUBSCRIPTIONS:
            raise RpcError(SERVER_LIMIT, f"too many subscriptions on this connection (limit {MAX_SUBSCRIPTIONS})")
        sub_id = secrets.token_hex(8)
        self._subs[sub_id] = _Subscription(kind)
        self._pending.append(sub_id)
        if not self._listening:
            self.node.add_head_listener(self._on_import)
            self._listening = True
        return sub_id

    def unsubscribe(self, kind: str, subscription_id: str) -> bool:
        sub = self._subs.get(subscription_id)
        if sub is None or sub.kind != kind:
            return False
        del self._subs[subscription_id]
        if not self._subs:
            self._stop_listening()
        return True

    # notifications -----------------------------------------------------------------------------------
    def flush_pending(self) -> None:
        """Send each new subscription its current head (Substrate does); call after queuing the response."""
        pending, self._pending = self._pending, []
        callbacks, self.after_response = self.after_response, []
        for fn in callbacks:
            fn()
        chain = self.node.chain
        for sub_id in pending:
            sub = self._subs.get(sub_id)
            if sub is not None and sub.kind == EVENTS:
                self._notify_events(sub_id, chain.head_hash)
            elif sub is not None:
                block_hash = chain.head_hash if sub.kind == NEW_HEADS else chain.db.finalized_hash()
                self._notify(sub_id, sub, block_hash, None)

    def _on_import(self, imported: ImportedBlock) -> None:
        header_json = None
        finalized = self.node.chain.db.finalized_hash()
        for sub_id, sub in list(self._subs.items()):
            if sub_id in self._pending:
                continue
            if sub.kind == NEW_HEADS:
                if header_json is None:
                    header_json = render_header(imported.block.header, imported.hash, self.node.spec.ss58_prefix)
                self._notify(sub_id, sub, imported.hash, header_json)
            elif sub.kind == EVENTS:
                self._notify_events(sub_id, imported.hash)
            elif finalized != sub.last_sent:
                self._notify(sub_id, sub, finalized, None)

    def _notify(self, sub_id: str, sub: _Subscription, block_hash: bytes, header_json: dict[str, Any] | None) -> None:
        if header_json is None:
            header = self.node.chain.db.get_header(block_hash)
            if header is None:
                return
            header_json = render_header(header, block_hash, self.node.spec.ss58_prefix)
        sub.last_sent = block_hash
        message = {
            "jsonrpc": "2.0",
            "method": NOTIFICATION_METHOD[sub.kind],
            "params": {"subscription": sub_id, "result": header_json},
        }
        before = self.outbox.dropped
        self.outbox.put_notification(json.dumps(message, separators=(",", ":")))
        if self.outbox.dropped > before and self.outbox.dropped % 100 == 1:
            log.warning("a slow WebSocket client lost %d head notifications so far", self.outbox.dropped)

    def _notify_events(self, sub_id: str, block_hash: bytes) -> None:
        header = self.node.chain.db.get_header(block_hash)
        meta = self.node.chain.db.block_meta(block_hash)
        if header is None or meta is None:
            return
        render = account_renderer(self.node.spec.ss58_prefix)
        result = {"blockHash": hex0x(block_hash), "number": header.number,
                  "events": [render_event_record(r, render) for r in meta.events]}
        message = {"jsonrpc": "2.0", "method": NOTIFICATION_METHOD[EVENTS],
                   "params": {"subscription": sub_id, "result": result}}
        self.outbox.put_notification(json.dumps(message, separators=(",", ":")))

    def close(self) -> None:
        self._subs.clear()
        self._pending.clear()
        self._stop_listening()
        callbacks, self.on_close = self.on_close, []
        for fn in callbacks:
            fn()

    def _stop_listening(self) -> None:
        if self._listening:
            self.node.remove_head_listener(self._on_import)
            self._listening = False


# methods --------------------------------------------------------------------------------------------


def _subscriber(ctx: RpcContext) -> Subscriber:
    assert ctx.subscriber is not None  # the dispatcher refuses ws_only methods without one
    return ctx.subscriber


@REGISTRY.method("chain_subscribeNewHeads", aliases=("chain_subscribeAllHeads",), ws_only=True)
def subscribe_new_heads(ctx: RpcContext) -> str:
    return str(_subscriber(ctx).subscribe(NEW_HEADS))


@REGISTRY.method(
    "chain_unsubscribeNewHeads", Param("subscription", p.subscription_id), aliases=("chain_unsubscribeAllHeads",),
    ws_only=True,
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


@REGISTRY.method("btt_subscribeEvents", ws_only=True)
def subscribe_events(ctx: RpcContext) -> str:
    """Each new best block's events (`btt_newEvents`: blockHash, number, events as `btt_events` renders them),
    starting with the head's."""
    return str(_subscriber(ctx).subscribe(EVENTS))


@REGISTRY.method("btt_unsubscribeEvents", Param("subscription", p.subscription_id), ws_only=True)
def unsubscribe_events(ctx: RpcContext, sub_id: str) -> bool:
    return bool(_subscriber(ctx).unsubscribe(EVENTS, sub_id))
