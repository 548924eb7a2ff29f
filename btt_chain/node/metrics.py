"""Prometheus metrics of one node: a registry per node, fed by the node's head, finality and RPC hooks.

Substrate's names where they exist (`substrate_block_height`, `substrate_sub_libp2p_peers_count`,
`substrate_ready_transactions_number`, `substrate_block_verification_and_import_time`, `substrate_rpc_calls_total`)
and this chain's own under `btt_`. Served by `MetricsServer` at `/metrics` (default 127.0.0.1:9615).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from btt_chain.node.chain import ImportedBlock
from btt_chain.primitives.block import Header
from btt_chain.rpc.registry import REGISTRY
from runtime.modules import RUNTIME
from runtime.system import storage as system

if TYPE_CHECKING:
    from btt_chain.node.service import Node

log = logging.getLogger("btt.metrics")

DEFAULT_PORT = 9615
UNKNOWN_METHOD = "unknown"


BURN_EVENTS = ("Burned", "DustLost")
"""balances events that take BTT out of issuance (every burn goes through balances; these name no source)."""
HOOK_SOURCE = "runtime"


def get_burned_amount(event: Any) -> int | None:
    """The base units a balances event takes out of total issuance, or None."""
    amount = getattr(event, "amount", None)
    if getattr(event, "MODULE", None) == "balances" and type(event).__name__ in BURN_EVENTS and isinstance(amount, int):
        return amount
    return None


def compute_burn_sources(block: Any, events: Sequence[tuple[int, Any]]) -> list[tuple[str, int]]:
    """(source module, base units) per burn of a block. The source is the module of the extrinsic's call; for a
    block hook (phase < 0) the module of the next event of that phase that is not a balances event (the event
    that says what the burn was for, e.g. treasury MilestoneBurned), else of the one before, else `runtime`."""
    names = {m.index: m.name for m in RUNTIME.modules}
    burns: list[tuple[str, int]] = []
    for i, (phase, event) in enumerate(events):
        amount = get_burned_amount(event)
        if amount is None:
            continue
        if 0 <= phase < len(block.extrinsics):
            source = names.get(block.extrinsics[phase].call.module, HOOK_SOURCE)
        else:
            after = [e.MODULE for p, e in events[i + 1:] if p == phase and e.MODULE != "balances"]
            before = [e.MODULE for p, e in events[:i] if p == phase and e.MODULE != "balances"]
            source = after[0] if after else before[-1] if before else HOOK_SOURCE
        burns.append((source, amount))
    return burns


class NodeMetrics:
    """The metrics of one node in their own registry (several nodes may share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)  # process_resident_memory_bytes, process_cpu_seconds_total, open fds
        PlatformCollector(registry=r)  # python_info
        self.block_height = Gauge("substrate_block_height", "Block height info of the chain", ["status"], registry=r)
        self.peers = Gauge("substrate_sub_libp2p_peers_count", "Number of connected peers", registry=r)
        self.ready_txs = Gauge("substrate_ready_transactions_number",
                               "Number of transactions in the ready queue", registry=r)
        self.import_time = Histogram("substrate_block_verification_and_import_time",
                                     "Time taken to verify and import (or author) a block, seconds", registry=r,
                                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
        self.rpc_calls = Counter("substrate_rpc_calls", "RPC calls by method", ["method"], registry=r)
        self.receipts = Counter("btt_receipts_settled", "Compute receipts (JobReceipt events) settled", registry=r)
        self.burned = Counter("btt_burned_base_units", "BTT burned, base units, by source module",
                              ["module"], registry=r)
        for source in (*(m.name for m in RUNTIME.modules), HOOK_SOURCE):
            self.burned.labels(module=source)  # every source shows from the start, at zero
        self.total_issuance = Gauge("btt_total_issuance", "Total issuance, base units", registry=r)
        self.finality_lag = Gauge("btt_finality_lag_blocks", "Best block number minus finalized", registry=r)
        self.slots_missed = Counter("btt_slots_missed",
                                    "Slots without a canonical block since the node started", registry=r)
        self.rpc_queued = Gauge("btt_rpc_queued_units", "RPC work units waiting in the lane", registry=r)
        self.rpc_units = Gauge("btt_rpc_units_run", "RPC work units run since the node started", registry=r)
        self.rpc_busy = Gauge("btt_rpc_busy_seconds", "Seconds the RPC lane spent running units", registry=r)
        self.rpc_longest = Gauge("btt_rpc_longest_unit_seconds", "Longest single RPC work unit so far", registry=r)
        self.rpc_gone = Gauge("btt_rpc_units_skipped_gone",
                              "Queued RPC units never run because their client had left", registry=r)
        self.rpc_sockets = Gauge("btt_rpc_websockets", "Open RPC WebSocket connections", registry=r)
        self.rpc_evicted = Gauge("btt_rpc_websockets_evicted",
                                 "WebSockets closed to admit a client of a less busy address", registry=r)
        self.weights_blobs = Gauge("btt_weights_blobs_held", "Model weights blobs in the content store", registry=r)
        self.weights_bytes = Gauge("btt_weights_bytes_held", "Bytes of model weights blobs in the content store",
                                   registry=r)
        self.weights_fetches = Gauge("btt_weights_fetches", "Fetches of model weights from peers since the node "
                                     "started, by outcome (started, completed, failed)", ["outcome"], registry=r)
        self.weights_bad = Gauge("btt_weights_bad_data", "Weights manifests and chunks from peers that did not "
                                 "verify, since the node started", registry=r)
        self.peer_bans = Counter("btt_peer_bans", "Peers banned since the node started, by reason "
                                 "(p2p/peerbook.py BAN_KINDS)", ["reason"], registry=r)
        self._bans_counted: dict[str, int] = {}
        self.clock_offset = Gauge("btt_clock_offset_ms", "This node's clock minus its block authors' (median over "
                                  "recent blocks of distinct validators; NaN: not measured)", registry=r)
        self._last_slot: int | None = None
        self._node: Node | None = None

    # feeding -----------------------------------------------------------------------------------------
    def attach(self, node: Node) -> None:
        """Follow `node`: heads, finality, and the time each imported or authored block takes."""
        self._node = node
        node.add_head_listener(self.on_head)
        node.add_finalized_listener(self.on_finalized)
        chain = node.chain
        # time the chain's own entry points for this instance only (the chain module stays untouched)
        for name in ("import_block", "author_block"):
            setattr(chain, name, self._timed(getattr(chain, name)))
        self._last_slot = chain.head.slot
        self.refresh()

    def _timed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.import_time.observe(time.perf_counter() - start)
        return timed

    def on_head(self, imported: ImportedBlock) -> None:
        slot = imported.block.header.slot
        if self._last_slot is not None and slot > self._last_slot + 1:
            self.slots_missed.inc(slot - self._last_slot - 1)
        self._last_slot = slot
        if imported.result is not None:
            self.receipts.inc(len(imported.result.receipts))
            for source, amount in compute_burn_sources(imported.block, imported.result.events):
                self.burned.labels(module=source).inc(amount)
        self.refresh()

    def on_finalized(self, header: Header, block_hash: bytes) -> None:
        self.refresh()

    def on_rpc_call(self, name: str) -> None:
        """Count one RPC call; names not registered count as 'unknown' (bounded label set)."""
        known = REGISTRY.get(name) is not None
        self.rpc_calls.labels(method=name if known else UNKNOWN_METHOD).inc()

    def refresh(self) -> None:
        """Read the gauges from the node (cheap: head, finalized, pool, peers, one storage value)."""
        node = self._node
        if node is None:
            return
        best, finalized = node.chain.head.number, node.chain.finalized.number
        self.block_height.labels(status="best").set(best)
        self.block_height.labels(status="finalized").set(finalized)
        self.finality_lag.set(best - finalized)
        self.peers.set(node.peer_count())
        self.ready_txs.set(sum(1 for _ in node.pool.ready()))
        self.total_issuance.set(system.total_issuance.get(node.chain.state()))
        self.weights_blobs.set(len(node.content.held()))
        self.weights_bytes.set(node.content.held_bytes)
        network = node.network
        p2p = node.p2p
        if p2p is not None:
            for kind, n in p2p.ban_totals().items():
                self.peer_bans.labels(reason=kind).inc(n - self._bans_counted.get(kind, 0))
                self._bans_counted[kind] = n
        offset = network.clock_watch.estimate().offset_ms if network is not None else None
        self.clock_offset.set(float("nan") if offset is None else offset)
        if network is not None:
            exchange = network.weights
            for outcome, n in (("started", exchange.started), ("completed", exchange.completed),
                               ("failed", exchange.failed)):
                self.weights_fetches.labels(outcome=outcome).set(n)
            self.weights_bad.set(exchange.bad_data)
        rpc = getattr(node, "rpc_server", None)
        if rpc is not None:
            lane = rpc.lane
            self.rpc_queued.set(len(lane))
            self.rpc_units.set(lane.units_run)
            self.rpc_busy.set(lane.busy_seconds)
            self.rpc_longest.set(lane.longest_unit_s)
            self.rpc_gone.set(lane.skipped_gone)
            self.rpc_sockets.set(rpc.websockets)
            self.rpc_evicted.set(rpc.evicted)

    def render(self) -> bytes:
        self.refresh()
        return generate_latest(self.registry)


class MetricsServer:
    """Serves `GET /metrics` of one node's registry on host:port."""

    def __init__(self, metrics: NodeMetrics, host: str, port: int) -> None:
        self.metrics = metrics
        self.host = host
        self.port = port
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._serve)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        if self._runner.addresses:
            self.port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{self.port}/metrics"
        log.info("Prometheus metrics on %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _serve(self, request: web.Request) -> web.Response:
        body = self.metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
