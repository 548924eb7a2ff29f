"""The metrics a node serves while it warp-syncs (before the node itself runs): Substrate's names where it has the
concept, the phase and progress under `btt_warp_sync_*`, on the node's own metrics address."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request

from btt_chain.node.warp_metrics import WarpMetricsServer, warp_families
from btt_chain.node.warp_sync import PHASES, WarpStats
from tests.functional.framework import free_port
from tests.support.promql_names import parse_exposition


def samples(stats: WarpStats, peers: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in warp_families(stats, peers):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_the_phase_and_progress_are_in_the_metrics() -> None:
    stats = WarpStats(phase="state", fragments=3, target_number=1234, prefixes_total=256, prefixes_done=64,
                      keys=10_000, state_bytes=2_000_000, bytes_in=2_500_000, banned=["bad"])
    stats.state_started = time.monotonic() - 10.0
    got = samples(stats, 5)
    assert got[("substrate_sub_libp2p_is_major_syncing", ())] == 1
    assert got[("substrate_sync_peers", ())] == 5
    assert got[("substrate_block_height", (("status", "sync_target"),))] == 1234
    assert [p for p in PHASES if got[("btt_warp_sync_phase", (("phase", p),))] == 1] == ["state"]
    assert got[("btt_warp_sync_state_prefixes", (("status", "done"),))] == 64
    assert got[("btt_warp_sync_state_prefixes", (("status", "total"),))] == 256
    assert got[("btt_warp_sync_proof_fragments_verified", ())] == 3
    assert got[("btt_warp_sync_state_keys", ())] == 10_000
    assert got[("btt_warp_sync_received_bytes", ())] == 2_500_000
    assert got[("btt_warp_sync_peers_banned", ())] == 1
    assert 25 < got[("btt_warp_sync_eta_seconds", ())] < 35  # 64 of 256 in 10 s: 192 more at that rate
    eta = re.search(r"ETA (\d+) s", stats.line())
    assert eta and 25 < int(eta.group(1)) < 35


def test_no_eta_before_the_state_phase() -> None:
    stats = WarpStats(phase="proof", fragments=1)
    assert samples(stats, 0)[("btt_warp_sync_eta_seconds", ())] == 0
    assert "proof, 1 proof fragments verified" in stats.line()


def test_the_warp_process_serves_them_on_the_node_metrics_address() -> None:
    stats = WarpStats(phase="block", target_number=7)
    port = free_port()

    async def go() -> str:
        server = WarpMetricsServer(stats, lambda: 2, "devnet", "127.0.0.1", port)
        await server.start()
        try:
            return await asyncio.to_thread(
                lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode())
        finally:
            await server.stop()

    text = asyncio.run(go())
    parsed = {(s.name, s.labels.get("phase", s.labels.get("status", ""))): s for s in parse_exposition(text)}
    assert parsed[("btt_warp_sync_phase", "block")].value == 1
    assert parsed[("substrate_block_height", "sync_target")].value == 7
    assert all(s.labels["chain"] == "devnet" for s in parsed.values())
