"""`author_submitAndWatchExtrinsic`: a submitted transaction's life, told to its sender as it happens.

Statuses are Substrate's (`author_extrinsicUpdate` notifications): "ready" or "future" on admission,
{"broadcast": [peer ids]} when the node has peers to gossip it to, {"inBlock": block hash} when a block that
includes it is imported, {"finalized": block hash} when that block is finalized, and the endings "usurped"
(replaced by a higher tip for the same nonce), "dropped" (evicted for a better-paying transaction, or a future
transaction that waited too long) and "invalid" (its nonce was used, or it can no longer be included). So a
transaction never disappears silently. After a restart the pool is empty and the watch is gone: the
WebSocket closed with it, which a client sees.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from btt_chain.rpc import params as p
from btt_chain.rpc.errors import SERVER_LIMIT, RpcError, invalid_params, invalid_transaction
from btt_chain.rpc.outbox import Outbox
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext

if TYPE_CHECKING:
    from btt_chain.node.chain import ImportedBlock
    from btt_chain.node.service import Node
    from btt_chain.primitives.block import Header

NOTIFICATION = "author_extrinsicUpdate"
MAX_WATCHES_PER_CONNECTION = 256
MAX_WATCHES = 65_536


@dataclass
class _Watch:
    sub_id: str
    outbox: Outbox
    in_block: bytes | None = None
    in_block_number: int = 0


class ExtrinsicWatches:
    """Every watched transaction of the node, by hash. Listens to imports, finality and pool drops."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._by_hash: dict[bytes, list[_Watch]] = {}
        self._count = 0
        self._per_outbox: dict[int, int] = {}
        """Watches per connection (by its outbox's id), so the per-connection cap costs no scan."""
        self._listening = False
        self._held: dict[str, tuple[Outbox, list[str]]] = {}
        """Subscription id -> the notifications of a watch whose subscribe response is not queued yet (a block may be
        imported between the call and its response): sent after the first statuses once it is (`release`)."""
        previous = node.pool.on_dropped

        def dropped(xt_hash: bytes, reason: str) -> None:
            previous(xt_hash, reason)
            self._on_dropped(xt_hash, reason)

        node.pool.on_dropped = dropped

    def watch(self, xt_hash: bytes, outbox: Outbox) -> str:
        mine = self._per_outbox.get(id(outbox), 0)
        if mine >= MAX_WATCHES_PER_CONNECTION or self._count >= MAX_WATCHES:
            raise RpcError(SERVER_LIMIT, "too many watched transactions on this connection or node")
        sub_id = secrets.token_hex(8)
        self._held[sub_id] = (outbox, [])
        self._by_hash.setdefault(xt_hash, []).append(_Watch(sub_id, outbox))
        self._count += 1
        self._per_outbox[id(outbox)] = mine + 1
        if not self._listening:  # the node calls listeners only while something is watched
            self.node.add_head_listener(self._on_import)
            self.node.add_finalized_listener(self._on_finalized)
            self._listening = True
        return sub_id

    def release(self, sub_id: str, first: list[Any]) -> None:
        """The subscribe response of `sub_id` is queued: send its `first` statuses, then what was held for it."""
        held = self._held.pop(sub_id, None)
        if held is None:
            return
        outbox, messages = held
        if outbox.closed:
            return
        for status in first:
            outbox.put_notification(self._message(sub_id, status))
        for message in messages:
            outbox.put_notification(message)

    @staticmethod
    def _message(sub_id: str, status: Any) -> str:
        message = {"jsonrpc": "2.0", "method": NOTIFICATION, "params": {"subscription": sub_id, "result": status}}
        return json.dumps(message, separators=(",", ":"))

    def _put(self, w: _Watch, status: Any) -> None:
        held = self._held.get(w.sub_id)
        if held is not None:
            held[1].append(self._message(w.sub_id, status))
        else:
            w.outbox.put_notification(self._message(w.sub_id, status))

    def drop_outbox(self, outbox: Outbox) -> None:
        """The connection closed: forget its watches."""
        for sub_id in [k for k, (o, _) in self._held.items() if o is outbox]:
            del self._held[sub_id]
        for xt_hash, ws in list(self._by_hash.items()):
            for w in list(ws):
                if w.outbox is outbox:
                    self._end(xt_hash, w)

    def unwatch(self, sub_id: str, outbox: Outbox) -> bool:
        for xt_hash, ws in list(self._by_hash.items()):
            for w in ws:
                if w.sub_id == sub_id and w.outbox is outbox:
                    self._end(xt_hash, w)
                    return True
        return False

    def send(self, xt_hash: bytes, status: Any, final: bool = False) -> None:
        for w in list(self._by_hash.get(xt_hash, ())):
            if w.outbox.closed:
                self._end(xt_hash, w)
                continue
            self._put(w, status)
            if final:
                self._end(xt_hash, w)

    def _end(self, xt_hash: bytes, w: _Watch) -> None:
        ws = self._by_hash.get(xt_hash, [])
        if w in ws:
            ws.remove(w)
            self._count -= 1
            left = self._per_outbox.get(id(w.outbox), 1) - 1
            if left > 0:
                self._per_outbox[id(w.outbox)] = left
            else:
                self._per_outbox.pop(id(w.outbox), None)
        if not ws:
            self._by_hash.pop(xt_hash, None)
        if not self._by_hash and self._listening:
            self.node.remove_head_listener(self._on_import)
            self.node.remove_finalized_listener(self._on_finalized)
            self._listening = False

    # node events ------------------------------------------------------------------------------------
    def _on_import(self, imported: ImportedBlock) -> None:
        if not self._by_hash:
            return
        for x in imported.block.extrinsics:
            h = x.hash()
            if h in self._by_hash:
                for w in self._by_hash[h]:
                    w.in_block, w.in_block_number = imported.hash, imported.block.header.number
                self.send(h, {"inBlock": "0x" + imported.hash.hex()})

    def _on_finalized(self, header: Header, block_hash: bytes) -> None:
        chain = self.node.chain
        for h, ws in list(self._by_hash.items()):
            reverted = False
            for w in list(ws):
                if w.in_block is not None and w.in_block_number <= header.number \
                        and chain.is_canonical(w.in_block, w.in_block_number):
                    self._put(w, {"finalized": "0x" + w.in_block.hex()})
                    self._end(h, w)
                elif w.in_block is not None and w.in_block_number <= header.number:
                    reverted = True  # its block left the chain (a reorganisation below the finalized height)
            if reverted and h not in self.node.pool:
                # not re-pooled (e.g. its birth block was on the reverted branch): it can never be included, and
                # a client waiting for `finalized` must be told rather than wait forever
                self.send(h, "dropped", final=True)

    def _on_dropped(self, xt_hash: bytes, reason: str) -> None:
        if xt_hash not in self._by_hash:
            return
        kind = reason.split(":", 1)[0]
        status = kind if kind in ("usurped", "dropped", "invalid") else "dropped"
        self.send(xt_hash, status, final=True)


def _watches(ctx: RpcContext) -> tuple[ExtrinsicWatches, Outbox]:
    sub = ctx.subscriber
    watches = getattr(ctx.node, "extrinsic_watches", None)
    outbox = getattr(sub, "outbox", None)
    if watches is None or outbox is None:
        raise RpcError(SERVER_LIMIT, "transaction watching is not available on this connection")
    return watches, outbox


@REGISTRY.method("author_submitAndWatchExtrinsic", Param("extrinsic", p.extrinsic_bytes), ws_only=True)
def submit_and_watch(ctx: RpcContext, encoded: bytes) -> str:
    """Pool the extrinsic and report its statuses as `author_extrinsicUpdate` notifications."""
    from btt_chain.primitives.errors import BttError, InvalidExtrinsic

    watches, outbox = _watches(ctx)
    try:
        xt_hash = ctx.node.submit_extrinsic(encoded)
    except InvalidExtrinsic as exc:
        raise invalid_transaction(str(exc)) from None
    except BttError as exc:
        raise invalid_params(str(exc)) from None
    sub_id = watches.watch(xt_hash, outbox)
    on_close = getattr(ctx.subscriber, "on_close", None)
    if on_close is not None and not getattr(ctx.subscriber, "watching", False):
        on_close.append(lambda: watches.drop_outbox(outbox))
        ctx.subscriber.watching = True  # type: ignore[union-attr]
    tx = ctx.node.pool.get(xt_hash)
    first: Any = "future" if tx is not None and tx.future else "ready"

    def first_statuses() -> None:  # sent once the subscription id has gone out, then what a block said meanwhile
        peers = [info.peer_id for info in ctx.node.p2p.peers()] if ctx.node.p2p is not None else []
        watches.release(sub_id, [first, {"broadcast": peers}] if peers else [first])

    after = getattr(ctx.subscriber, "after_response", None)
    if after is not None:
        after.append(first_statuses)
    else:
        first_statuses()
    return sub_id


@REGISTRY.method("author_unwatchExtrinsic", Param("subscription", p.subscription_id), ws_only=True)
def unwatch(ctx: RpcContext, sub_id: str) -> bool:
    watches, outbox = _watches(ctx)
    return watches.unwatch(sub_id, outbox)
