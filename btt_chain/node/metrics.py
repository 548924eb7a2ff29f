"""Prometheus metrics of one node: a registry per node, fed by the node's head, pool, network and RPC hooks.

Substrate's names, types and labels wherever the concept exists here (taken from polkadot-sdk's `sc-service`
metrics, the RPC server middleware, the transaction pool, the proposer and `sc-network-sync`), exposed the way
Substrate's Rust client exposes them: every sample carries the chain spec's id as `chain`, and a counter's sample
is named as the metric (`substrate_rpc_calls_started`, no `_total`). The chain's own metrics are under `btt_`.
Served by `MetricsServer` at `/metrics` (default 127.0.0.1:9615).

A scrape costs the slot loop only the reading of the gauges, from counters the node keeps anyway (O(1) each,
O(peers) for sync, O(unfinalized blocks) for the leaves): the text (thousands of lines once every RPC method has
been called) is written in a worker thread, scrapes closer together than `MIN_RENDER_INTERVAL_S` get the last
body, and the one figure that needs the disk (the database's size) is measured in a worker thread at most every
`DISK_SCAN_INTERVAL_S`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from btt_chain.node.chain import ImportedBlock
from btt_chain.rpc.registry import REGISTRY
from runtime import events as runtime_events
from runtime.compute import events as compute_events
from runtime.modules import RUNTIME
from runtime.specs import supported
from runtime.system import storage as system

if TYPE_CHECKING:
    from btt_chain.node.service import Node

log = logging.getLogger("btt.metrics")

DEFAULT_PORT = 9615
UNKNOWN_METHOD = "unknown"
"""The `method` label of calls to names no method is registered under (a bounded label set, as Substrate does)."""

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""The Rust prometheus crate's default buckets (seconds): Substrate's import and proposer histograms use them."""
RPC_BUCKETS = (5.0, 25.0, 100.0, 500.0, 1_000.0, 2_500.0, 10_000.0, 25_000.0, 100_000.0, 1_000_000.0, 10_000_000.0)
"""Substrate's RPC histogram buckets: microseconds for `substrate_rpc_calls_time`, and (as Substrate has it) the
same numbers for `substrate_rpc_sessions_time`, which is in seconds."""
ROLE_FULL, ROLE_AUTHORITY = 1, 4
"""`substrate_node_roles`: Substrate's role bits (2 was the light client)."""
MIN_RENDER_INTERVAL_S = 1.0
"""Scrapes closer together than this get the previous body: a client that scrapes in a loop costs one render a
second at most."""
DISK_SCAN_INTERVAL_S = 30.0
"""The database directory's size is measured (in a worker thread) at most this often."""

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


def get_compute_event_names() -> list[str]:
    """The compute module's event names: the `event` label set of `btt_compute_events_total`."""
    return sorted(
        name for name, cls in vars(compute_events).items()
        if isinstance(cls, type) and issubclass(cls, runtime_events.Event) and cls.MODULE == "compute"
    )


def get_version() -> str:
    try:
        return metadata.version("btt-chain")
    except metadata.PackageNotFoundError:
        return "0.1.0"


def get_process_start_seconds() -> int:
    """When this process started, in whole seconds since the UNIX epoch (from /proc; else now)."""
    for family in ProcessCollector(registry=None).collect():
        if family.name == "process_start_time_seconds" and family.samples:
            return int(family.samples[0].value)
    return int(time.time())


def get_dir_bytes(path: Path) -> int:
    """Bytes of the files in `path` and its subdirectories one level down (a LevelDB directory and its block files);
    0 if it is gone."""
    total = 0
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                    elif entry.is_dir(follow_symlinks=False):
                        total += sum(f.stat().st_size for f in Path(entry.path).iterdir() if f.is_file())
                except OSError:
                    continue  # compaction removed it meanwhile
    except OSError:
        return 0
    return total


class SubstrateCounter:
    """A counter as Substrate's Rust client exposes it: `# TYPE name counter` and samples named `name` (the Python
    client would add `_total`, and every Substrate dashboard would then find nothing)."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = (),
                 registry: CollectorRegistry | None = None) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._values: dict[tuple[str, ...], float] = {} if self.labelnames else {(): 0.0}
        if registry is not None:
            registry.register(self)  # type: ignore[arg-type]

    def inc(self, *labelvalues: str, amount: float = 1.0) -> None:
        if len(labelvalues) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}")
        if amount < 0:
            raise ValueError("a counter only goes up")
        self._values[labelvalues] = self._values.get(labelvalues, 0.0) + amount

    def set_total(self, value: float, *labelvalues: str) -> None:
        """Mirror a total the node keeps itself (it only goes up, so the counter does too)."""
        if len(labelvalues) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}")
        self._values[labelvalues] = max(self._values.get(labelvalues, 0.0), float(value))

    def get(self, *labelvalues: str) -> float:
        return self._values.get(labelvalues, 0.0)

    def _family(self, with_samples: bool) -> Metric:
        family = Metric(self.name, self.documentation, "counter")
        if with_samples:
            for values, v in list(self._values.items()):  # a copy: a render thread may read while the loop adds
                family.add_sample(self.name, dict(zip(self.labelnames, values, strict=True)), v)
        return family

    def describe(self) -> list[Metric]:
        return [self._family(False)]

    def collect(self) -> list[Metric]:
        return [self._family(True)]


def _escape_label(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def render_text(families: Iterable[Metric], const_labels: dict[str, str]) -> bytes:
    """The Prometheus text format (0.0.4) of `families`, with `const_labels` on every sample, and without the
    Python client's `_created` samples (Substrate has none). A counter whose samples end in `_total` (the Python
    client's) is declared under that name; a `SubstrateCounter` under its own."""
    out: list[str] = []
    extra = sorted(const_labels.items())
    for family in families:
        name, kind = family.name, family.type
        samples = [s for s in family.samples if s.name != name + "_created"]
        if kind == "counter" and any(s.name == name + "_total" for s in samples):
            name += "_total"
        elif kind == "info":
            name, kind = name + "_info", "gauge"
        elif kind == "unknown":
            kind = "untyped"
        doc = family.documentation.replace("\\", r"\\").replace("\n", r"\n")
        out.append(f"# HELP {name} {doc}\n# TYPE {name} {kind}\n")
        for s in samples:
            labels = sorted(s.labels.items()) + extra
            body = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels)
            out.append(f"{s.name}{{{body}}} {floatToGoString(s.value)}\n" if body else
                       f"{s.name} {floatToGoString(s.value)}\n")
    return "".join(out).encode()


class NodeMetrics:
    """The metrics of one node in their own registry (several nodes may share a process). Implements the RPC
    dispatcher's `CallObserver` and the server's session hooks."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)  # process_resident_memory_bytes, process_cpu_seconds_total, open fds
        PlatformCollector(registry=r)  # python_info
        # sc-service ------------------------------------------------------------------------------------
        self.build_info = Gauge("substrate_build_info", "A metric with a constant '1' value labeled by name, version",
                                ["name", "version"], registry=r)
        self.node_roles = Gauge("substrate_node_roles", "The roles the node is running as", registry=r)
        self.start_time = Gauge("substrate_process_start_time_seconds",
                                "Number of seconds between the UNIX epoch and the moment the process started",
                                registry=r)
        self.block_height = Gauge("substrate_block_height", "Block height info of the chain", ["status"], registry=r)
        self.number_leaves = Gauge("substrate_number_leaves", "Number of known chain leaves (aka forks)", registry=r)
        self.ready_txs = Gauge("substrate_ready_transactions_number",
                               "Number of transactions in the ready queue", registry=r)
        self.database_cache = Gauge("substrate_database_cache_bytes",
                                    "LevelDB memory in use (memtables and block cache), bytes", registry=r)
        self.state_cache = Gauge("substrate_state_cache_bytes", "State cache size in bytes (the state tree's top "
                                 "levels and the leaves it holds in memory)", registry=r)
        # sc-network and sc-network-sync --------------------------------------------------------------------
        self.peers = Gauge("substrate_sub_libp2p_peers_count", "Number of connected peers", registry=r)
        self.major_syncing = Gauge("substrate_sub_libp2p_is_major_syncing",
                                   "Whether the node is performing a major sync or not.", registry=r)
        self.sync_peers = Gauge("substrate_sync_peers", "Number of peers we sync with", registry=r)
        # import queue and proposer -------------------------------------------------------------------
        self.import_time = Histogram("substrate_block_verification_and_import_time",
                                     "Time taken to verify and import blocks", registry=r, buckets=DEFAULT_BUCKETS)
        self.block_constructed = Histogram("substrate_proposer_block_constructed",
                                           "Histogram of time taken to construct new block", registry=r,
                                           buckets=DEFAULT_BUCKETS)
        self.block_txs = Gauge("substrate_proposer_number_of_transactions",
                               "Number of transactions included in block", registry=r)
        # RPC server middleware -----------------------------------------------------------------------------
        self.rpc_time = Histogram("substrate_rpc_calls_time", "Total time [μs] of processed RPC calls",
                                  ["protocol", "method"], registry=r, buckets=RPC_BUCKETS)
        self.rpc_started = SubstrateCounter("substrate_rpc_calls_started",
                                            "Number of received RPC calls (unique un-batched requests)",
                                            ["protocol", "method"], registry=r)
        self.rpc_finished = SubstrateCounter("substrate_rpc_calls_finished",
                                             "Number of processed RPC calls (unique un-batched requests)",
                                             ["protocol", "method", "is_error"], registry=r)
        self.sessions_opened = SubstrateCounter("substrate_rpc_sessions_opened",
                                                "Number of persistent RPC sessions opened", registry=r)
        self.sessions_closed = SubstrateCounter("substrate_rpc_sessions_closed",
                                                "Number of persistent RPC sessions closed", registry=r)
        self.sessions_time = Histogram("substrate_rpc_sessions_time", "Total time [s] for each websocket session",
                                       ["protocol"], registry=r, buckets=RPC_BUCKETS)
        # transaction pool ----------------------------------------------------------------------------------
        self.txpool = {
            "submitted": SubstrateCounter("substrate_sub_txpool_submitted_transactions",
                                          "Total number of transactions submitted", registry=r),
            "validations_scheduled": SubstrateCounter("substrate_sub_txpool_validations_scheduled",
                                                      "Total number of transactions scheduled for validation",
                                                      registry=r),
            "validations_finished": SubstrateCounter("substrate_sub_txpool_validations_finished",
                                                     "Total number of transactions that finished validation",
                                                     registry=r),
            "invalid_removed": SubstrateCounter("substrate_sub_txpool_validations_invalid", "Total number of "
                                                "transactions that were removed from the pool as invalid", registry=r),
            "block_pruned": SubstrateCounter("substrate_sub_txpool_block_transactions_pruned", "Total number of "
                                             "transactions that was requested to be pruned by block events",
                                             registry=r),
            "block_resubmitted": SubstrateCounter("substrate_sub_txpool_block_transactions_resubmitted",
                                                  "Total number of transactions that was requested to be "
                                                  "resubmitted by block events", registry=r),
        }
        # the chain's own ---------------------------------------------------------------------------------
        self.receipts = Counter("btt_receipts_settled", "Compute receipts (JobReceipt events) settled", registry=r)
        self.compute_events = Counter("btt_compute_events", "Events of the compute module in new best blocks, by "
                                      "event (jobs posted, assigned, receipts, fraud, rewards...)", ["event"],
                                      registry=r)
        for name in get_compute_event_names():
            self.compute_events.labels(event=name)
        self.burned = Counter("btt_burned_base_units", "BTT burned, base units, by source module",
                              ["module"], registry=r)
        for source in (*(m.name for m in RUNTIME.modules), HOOK_SOURCE):
            self.burned.labels(module=source)  # every source shows from the start, at zero
        self.total_issuance = Gauge("btt_total_issuance", "Total issuance, base units", registry=r)
        self.finality_lag = Gauge("btt_finality_lag_blocks", "Best block number minus finalized", registry=r)
        self.finality_conflict = Gauge("btt_finality_conflict", "1 once this node saw conflicting checkpoints "
                                       "finalized (finality stopped here; the evidence is in its database), else 0",
                                       registry=r)
        self.justified_epoch = Gauge("btt_finality_justified_epoch", "Epoch of the latest justified checkpoint the "
                                     "fork choice starts from", registry=r)
        self.slots_missed = Counter("btt_slots_missed",
                                    "Slots without a canonical block since the node started", registry=r)
        self.slots_missed_behind_rpc = Counter(
            "btt_slots_missed_behind_rpc", "Slots of this node's validator it did not author while an RPC unit was "
            "running at the slot's start or started in its first half (RPC held the slot loop: never expected)",
            registry=r)
        self.future_txs = Gauge("btt_txpool_future_transactions",
                                "Pooled transactions waiting for a missing nonce", registry=r)
        self.pool_bytes = Gauge("btt_txpool_bytes", "Bytes of the pooled transactions", registry=r)
        self.cache_entries = Gauge("btt_state_cache_entries", "Entries of the state caches: flat_state (storage "
                                   "values read by execution), state_tree (leaves the state tree holds in memory)",
                                   ["cache"], registry=r)
        self.disk_bytes = Gauge("btt_database_disk_bytes", "Bytes of the database's files on disk (measured at most "
                                f"every {DISK_SCAN_INTERVAL_S:g} s)", registry=r)
        self.render_seconds = Gauge("btt_metrics_render_seconds", "Seconds the previous /metrics render took (the "
                                    "server writes the text in a worker thread)", registry=r)
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
        self.peer_bans = SubstrateCounter("btt_peer_bans_total", "Peers banned since the node started, by reason "
                                          "(p2p/peerbook.py BAN_KINDS)", ["reason"], registry=r)
        self.clock_offset = Gauge("btt_clock_offset_ms", "This node's clock minus its block authors' (median over "
                                  "recent blocks of distinct validators; NaN: not measured)", registry=r)
        self.warp_base = Gauge("btt_warp_sync_base_block", "The block this node's database was warp-synced at (it "
                               "holds no block between genesis and there); 0 for a database synced from genesis",
                               registry=r)
        # upgrades (btt_chain/node/upgrades.py) ------------------------------------------------------------
        self.spec_version = Gauge("btt_spec_version", "The spec that ran the best block", registry=r)
        self.newest_spec = Gauge("btt_spec_newest_supported", "The newest spec this node can run (--max-spec limits "
                                 "it)", registry=r)
        self.upgrade_spec = Gauge("btt_upgrade_scheduled_spec", "The spec the best chain schedules (0: none)",
                                  registry=r)
        self.upgrade_block = Gauge("btt_upgrade_scheduled_block", "The block the scheduled spec runs from (0: none)",
                                   registry=r)
        self.upgrade_supported = Gauge("btt_upgrade_supported", "0 when the best chain schedules a spec this node "
                                       "cannot run (it stops before that block), else 1", registry=r)
        self.upgrade_halted = Gauge("btt_upgrade_halted", "1 once this node stopped before a block it cannot execute "
                                    "(a spec it does not run, or a failed migration: see /health), else 0", registry=r)
        self.start_time.set(get_process_start_seconds())
        self.chain_id = ""
        """The chain spec's id: the `chain` label of every sample, as Substrate's registry adds it."""
        self.disk_measured_at: float | None = None
        self._last_slot: int | None = None
        self._node: Node | None = None

    # feeding -----------------------------------------------------------------------------------------
    def attach(self, node: Node) -> None:
        """Follow `node`: heads, and the time each block it imports or authors takes."""
        self._node = node
        self.chain_id = node.spec.id
        self.build_info.labels(name=node.config.name, version=get_version()).set(1)
        self.node_roles.set(ROLE_AUTHORITY if node.authority else ROLE_FULL)
        node.add_head_listener(self.on_head)
        chain = node.chain
        self.warp_base.set(chain.lowest_number)
        # time the chain's own entry points for this instance only (the chain module stays untouched)
        chain.import_block = self._timed_import(chain.import_block)  # type: ignore[method-assign]
        chain.author_block = self._timed_author(chain.author_block)  # type: ignore[method-assign]
        self._last_slot = chain.head.slot
        self.refresh()

    def _timed_import(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def import_block(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            result = fn(*args, **kwargs)
            if getattr(result, "status", None) != "known":  # a block it already had was not verified again
                self.import_time.observe(time.perf_counter() - start)
            return result
        return import_block

    def _timed_author(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def author_block(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            imported, dropped = fn(*args, **kwargs)
            self.block_constructed.observe(time.perf_counter() - start)
            self.block_txs.set(len(imported.block.extrinsics))
            return imported, dropped
        return author_block

    def on_head(self, imported: ImportedBlock) -> None:
        """Per new best block: what only the block tells (slots skipped, receipts, compute events, burns). O(its
        events), no state read; the gauges are read at scrape time."""
        slot = imported.block.header.slot
        if self._last_slot is not None and slot > self._last_slot + 1:
            self.slots_missed.inc(slot - self._last_slot - 1)
        self._last_slot = slot
        result = imported.result
        if result is None:
            return
        self.receipts.inc(len(result.receipts))
        counted = collections.Counter(type(e).__name__ for _, e in result.events if e.MODULE == "compute")
        for name, n in counted.items():
            self.compute_events.labels(event=name).inc(n)
        for source, amount in compute_burn_sources(imported.block, result.events):
            self.burned.labels(module=source).inc(amount)

    # RPC hooks (btt_chain.rpc.protocol.CallObserver, and the server's WebSocket sessions) --------------
    @staticmethod
    def _method_label(method: str) -> str:
        return method if REGISTRY.get(method) is not None else UNKNOWN_METHOD

    def call_started(self, method: str, protocol: str) -> None:
        self.rpc_started.inc(protocol, self._method_label(method))

    def call_finished(self, method: str, protocol: str, is_error: bool, seconds: float) -> None:
        label = self._method_label(method)
        self.rpc_time.labels(protocol=protocol, method=label).observe(seconds * 1e6)
        self.rpc_finished.inc(protocol, label, "true" if is_error else "false")

    def session_opened(self) -> None:
        self.sessions_opened.inc()

    def session_closed(self, seconds: float) -> None:
        self.sessions_closed.inc()
        self.sessions_time.labels(protocol="ws").observe(int(seconds))  # whole seconds, as Substrate observes

    # reading -----------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the gauges from the node: each from a counter it keeps anyway (no scan of the pool, the state or the
        disk); the sync figures cost O(peers), the leaves O(blocks above finality)."""
        node = self._node
        if node is None:
            return
        chain = node.chain
        best, finalized = chain.head.number, chain.finalized.number
        self.block_height.labels(status="best").set(best)
        self.block_height.labels(status="finalized").set(finalized)
        self.finality_lag.set(best - finalized)
        self.finality_conflict.set(int(node.finality.conflict is not None))
        self._refresh_upgrade(node)
        self.justified_epoch.set(node.finality.tracker.latest_justified.epoch)
        self.number_leaves.set(len(chain.leaves()))
        self._refresh_network(node, best)
        pool = node.pool
        self.ready_txs.set(len(pool) - pool.future_count)  # the pool marks every non-ready transaction future
        self.future_txs.set(pool.future_count)
        self.pool_bytes.set(pool.total_bytes)
        for key, counter in self.txpool.items():
            counter.set_total(getattr(pool.counters, key))
        memory_bytes = getattr(node.kv, "memory_bytes", None)
        if memory_bytes is not None:
            self.database_cache.set(memory_bytes())
        tree = chain.tree.stats()
        self.state_cache.set(chain.tree.memory_bytes())
        self.cache_entries.labels(cache="state_tree").set(tree["resident_leaves"])
        self.cache_entries.labels(cache="flat_state").set(chain.db.state.cached())
        self.total_issuance.set(system.total_issuance.get(chain.state()))
        self.weights_blobs.set(len(node.content.held()))
        self.weights_bytes.set(node.content.held_bytes)
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

    def _refresh_upgrade(self, node: Node) -> None:
        """From the node's upgrade watch (figures it keeps per head: no state read here)."""
        watch = node.upgrades
        self.spec_version.set(watch.head_spec)
        self.newest_spec.set(max(supported(), default=0))
        scheduled = watch.scheduled
        self.upgrade_spec.set(0 if scheduled is None else scheduled.spec)
        self.upgrade_block.set(0 if scheduled is None else scheduled.at)
        self.upgrade_supported.set(int(scheduled is None or scheduled.spec in supported()))
        self.upgrade_halted.set(int(watch.halt is not None))

    def _refresh_network(self, node: Node, best: int) -> None:
        """Peers, and Substrate's sync target: the best block number the connected peers we sync with report (our
        own best when there is none)."""
        p2p, network = node.p2p, node.network
        connected = {info.peer_id for info in p2p.peers()} if p2p is not None else set()
        self.peers.set(len(connected))
        self.major_syncing.set(1 if node.is_syncing() else 0)
        seen = [s.best_number for peer, s in network.peer_best.items() if peer in connected] if network else []
        self.sync_peers.set(len(seen))
        self.block_height.labels(status="sync_target").set(max(seen) if seen else best)
        if p2p is not None:
            for kind, n in p2p.ban_totals().items():
                self.peer_bans.set_total(n, kind)
        offset = network.clock_watch.estimate().offset_ms if network is not None else None
        self.clock_offset.set(float("nan") if offset is None else offset)
        if network is not None:
            exchange = network.weights
            for outcome, n in (("started", exchange.started), ("completed", exchange.completed),
                               ("failed", exchange.failed)):
                self.weights_fetches.labels(outcome=outcome).set(n)
            self.weights_bad.set(exchange.bad_data)

    def database_path(self) -> Path | None:
        node = self._node
        path = getattr(node.kv, "path", None) if node is not None else None
        return path if isinstance(path, Path) else None

    def measure_disk(self) -> None:
        """Measure the database directory (a directory listing: run it off the event loop)."""
        path = self.database_path()
        if path is not None:
            self.disk_bytes.set(get_dir_bytes(path))
        self.disk_measured_at = time.monotonic()

    def disk_due(self) -> bool:
        return self.disk_measured_at is None or time.monotonic() - self.disk_measured_at >= DISK_SCAN_INTERVAL_S

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()

    def render_collected(self) -> bytes:
        """The text of every metric as it stands: safe in a worker thread (it reads no node state, and the metrics
        take their own locks or are copied), so the loop is not held for the thousands of lines every RPC method's
        histogram makes."""
        started = time.perf_counter()
        body = render_text(self.collect(), {"chain": self.chain_id} if self.chain_id else {})
        self.render_seconds.set(time.perf_counter() - started)
        return body

    def render(self) -> bytes:
        self.refresh()
        return self.render_collected()


async def serve_metrics_page(handler: Callable[[web.Request], Awaitable[web.Response]], host: str,
                             port: int) -> web.AppRunner:
    """Serve `GET /metrics` with `handler` on host:port; the runner to clean up (OSError if the port is taken)."""
    app = web.Application()
    app.router.add_get("/metrics", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner


class MetricsServer:
    """Serves `GET /metrics` of one node's registry on host:port."""

    def __init__(self, metrics: NodeMetrics, host: str, port: int,
                 min_interval_s: float = MIN_RENDER_INTERVAL_S) -> None:
        self.metrics = metrics
        self.host = host
        self.port = port
        self.url = ""
        self.min_interval_s = min_interval_s
        self.renders = 0
        """Bodies rendered since start (a scrape within `min_interval_s` of the last render reuses its body)."""
        self._body = b""
        self._rendered_at: float | None = None
        self._disk_scan: asyncio.Task[None] | None = None
        self._rendering = asyncio.Lock()
        """Scrapes that arrive while a body is being written wait for it instead of writing another."""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = await serve_metrics_page(self._serve, self.host, self.port)
        if self._runner.addresses:
            self.port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{self.port}/metrics"
        log.info("Prometheus metrics on %s", self.url)

    async def stop(self) -> None:
        if self._disk_scan is not None:
            await asyncio.gather(self._disk_scan, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _measure_disk(self) -> None:
        await asyncio.to_thread(self.metrics.measure_disk)

    async def body(self) -> bytes:
        """The body to answer a scrape with: rendered anew at most every `min_interval_s`. Only reading the node's
        counters runs on the event loop; the text is written in a worker thread."""
        metrics = self.metrics
        if metrics.disk_due() and (self._disk_scan is None or self._disk_scan.done()):
            self._disk_scan = asyncio.create_task(self._measure_disk(), name="metrics-disk")
            if metrics.disk_measured_at is None:
                await asyncio.shield(self._disk_scan)  # the first scrape shows the size; later ones never wait
        async with self._rendering:
            now = time.monotonic()
            if self._rendered_at is None or now - self._rendered_at >= self.min_interval_s:
                metrics.refresh()
                self._body = await asyncio.to_thread(metrics.render_collected)
                self._rendered_at = now
                self.renders += 1
        return self._body

    async def _serve(self, request: web.Request) -> web.Response:
        return web.Response(body=await self.body(), headers={"Content-Type": CONTENT_TYPE_LATEST})
