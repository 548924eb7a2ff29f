"""feature_metrics: a real node serves Prometheus metrics that move with its blocks, `/health`, and JSON logs."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from tests.functional.framework import Harness, NodeProcess, wait_until

NAMES = (
    "substrate_block_height", "substrate_sub_libp2p_peers_count", "substrate_ready_transactions_number",
    "substrate_block_verification_and_import_time", "substrate_rpc_calls", "btt_receipts_settled",
    "btt_burned_base_units", "btt_total_issuance", "btt_finality_lag_blocks", "btt_slots_missed",
)
ISO_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


def scrape(node: NodeProcess) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{node.prometheus_port}/metrics", timeout=5) as resp:
        assert resp.status == 200
        text = resp.read().decode()
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found.setdefault(family.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return found


def best(node: NodeProcess) -> float:
    return scrape(node)["substrate_block_height"][(("status", "best"),)]


def test_metrics_health_and_json_logs_of_a_real_node(harness: Harness) -> None:
    node = harness.add_node(extra_args=["--log-format", "json", "--log", "info,btt.rpc=debug"])
    harness.log("start a dev validator with metrics on a free port and JSON logs")
    node.start()

    harness.log("every metric is there, and the best height moves as blocks are made")
    families = scrape(node)
    missing = [n for n in NAMES if n not in families]
    assert not missing, missing
    assert (("method", "system_health"),) in families["substrate_rpc_calls"]
    first = best(node)
    wait_until(lambda: best(node) >= first + 2, 30, what="best height metric moves")
    families = scrape(node)
    height = int(node.call("chain_getHeader")["number"], 16)
    assert abs(families["substrate_block_height"][(("status", "best"),)] - height) <= 1
    assert families["btt_total_issuance"][()] > 0

    harness.log("/health on the RPC port: 200 on a dev chain")
    with urllib.request.urlopen(f"http://127.0.0.1:{node.rpc_port}/health", timeout=5) as resp:
        assert resp.status == 200
        health = json.loads(resp.read())
    assert set(health) == {"peers", "isSyncing", "shouldHavePeers", "best", "finalized", "clock", "clockOffsetMs",
                           "clockSources", "clockAllowanceMs", "heldBlocks"}

    harness.log("every log line is one JSON object with a dated time")
    node.stop()
    lines = [ln for ln in node.log_path.read_text().splitlines() if ln.startswith("{")]
    assert lines
    docs = [json.loads(ln) for ln in lines]
    for doc in docs:
        assert set(doc) >= {"time", "level", "target", "message"}
        assert ISO_DATE_TIME.match(doc["time"]), doc
    assert any(d["target"] == "btt.node" and "authored" in d["message"] for d in docs)
    assert any(d["target"] == "btt.metrics" and "Prometheus metrics on" in d["message"] for d in docs)


def test_no_prometheus_switches_metrics_off(harness: Harness) -> None:
    node = harness.add_node(extra_args=["--no-prometheus"])
    node.start()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{node.prometheus_port}/metrics", timeout=2)
    except (urllib.error.URLError, ConnectionError):
        pass
    else:
        raise AssertionError("metrics served with --no-prometheus")
