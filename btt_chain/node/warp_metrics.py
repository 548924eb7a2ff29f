"""Prometheus metrics while a node warp-syncs (`--sync warp`), served on the node's own metrics address by the warp
process until the node starts and serves its full set there.

Substrate names where Substrate has the concept: `substrate_sub_libp2p_is_major_syncing` (1 throughout),
`substrate_sync_peers`, `substrate_sub_libp2p_peers_count` and `substrate_block_height{status="sync_target"}` (the
warp target once the proof is verified). Substrate's sync crate has no metric for warp or state-sync phases (its
informant only logs "Warping, Downloading finality proofs / state"), so those are the chain's own, under `btt_`:
`btt_warp_sync_phase{phase=...}` (1 for the current phase), `btt_warp_sync_proof_fragments_verified`,
`btt_warp_sync_state_prefixes{status="done"|"total"}`, `btt_warp_sync_state_keys`, `btt_warp_sync_state_bytes`,
`btt_warp_sync_received_bytes`, `btt_warp_sync_eta_seconds` and `btt_warp_sync_peers_banned`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from aiohttp import web
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from btt_chain.node.metrics import render_text, serve_metrics_page
from btt_chain.node.warp_sync import PHASES, WarpStats

log = logging.getLogger("btt.warp")


def warp_families(stats: WarpStats, peers: int) -> Iterator[Metric]:
    """The metric families of a warp in progress, read from its stats."""

    def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, value=value)

    yield gauge("substrate_sub_libp2p_is_major_syncing", "Whether the node is performing a major sync or not.", 1)
    yield gauge("substrate_sync_peers", "Number of peers we sync with", peers)
    yield gauge("substrate_sub_libp2p_peers_count", "Number of connected peers", peers)
    height = GaugeMetricFamily("substrate_block_height", "Block height info of the chain", labels=["status"])
    height.add_metric(["sync_target"], stats.target_number)
    yield height
    phase = GaugeMetricFamily("btt_warp_sync_phase", "1 for the phase the warp sync is in", labels=["phase"])
    for name in PHASES:
        phase.add_metric([name], 1 if stats.phase == name else 0)
    yield phase
    yield gauge("btt_warp_sync_proof_fragments_verified", "Warp proof fragments (epoch justifications with their "
                "validator sets) verified", stats.fragments)
    prefixes = GaugeMetricFamily("btt_warp_sync_state_prefixes", "State prefixes fetched and verified, of all",
                                 labels=["status"])
    prefixes.add_metric(["done"], stats.prefixes_done)
    prefixes.add_metric(["total"], stats.prefixes_total)
    yield prefixes
    yield gauge("btt_warp_sync_state_keys", "State keys fetched, verified and written", stats.keys)
    yield gauge("btt_warp_sync_state_bytes", "Bytes of state (keys and values) fetched, verified and written",
                stats.state_bytes)
    yield gauge("btt_warp_sync_received_bytes", "Bytes of warp proofs and state chunks received", stats.bytes_in)
    yield gauge("btt_warp_sync_eta_seconds", "Estimated seconds until the state is fetched (0: unknown)",
                stats.eta_s())
    yield gauge("btt_warp_sync_peers_banned", "Peers banned for a false proof or chunk", len(stats.banned))


class WarpMetricsServer:
    """`GET /metrics` of one warp sync on host:port (what the node serves there once it runs)."""

    def __init__(self, stats: WarpStats, peers: Callable[[], int], chain_id: str, host: str, port: int) -> None:
        self.stats, self.peers, self.chain_id, self.host, self.port = stats, peers, chain_id, host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = await serve_metrics_page(self._serve, self.host, self.port)
        log.info("warp sync metrics on http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _serve(self, request: web.Request) -> web.Response:
        body = render_text(warp_families(self.stats, self.peers()), {"chain": self.chain_id})
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
