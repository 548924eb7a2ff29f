"""feature_metrics: a real node serves Prometheus metrics under Substrate's names that move with what it does,
every query of the Grafana dashboard in docs/grafana names what it exports, `/health`, and JSON logs."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import websocket
from prometheus_client.parser import text_string_to_metric_families

from btt_chain.client.rpc import RpcError
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from runtime.modules import RUNTIME
from tests.functional.framework import Harness, NodeProcess, wait_until
from tests.support.promql_names import Sample, find_problems, get_dashboard_queries, load_dashboard, parse_exposition

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "btt-chain-dashboard.json"
NAMES = (
    "substrate_block_height", "substrate_sub_libp2p_peers_count", "substrate_ready_transactions_number",
    "substrate_block_verification_and_import_time_count", "substrate_proposer_block_constructed_count",
    "substrate_rpc_calls_started", "substrate_rpc_calls_finished", "substrate_build_info", "substrate_node_roles",
    "substrate_process_start_time_seconds", "substrate_number_leaves", "substrate_sync_peers",
    "substrate_sub_txpool_submitted_transactions", "substrate_database_cache_bytes", "substrate_state_cache_bytes",
    "btt_receipts_settled_total", "btt_burned_base_units_total", "btt_total_issuance", "btt_finality_lag_blocks",
    "btt_slots_missed_total", "btt_spec_version", "btt_upgrade_supported", "btt_upgrade_halted",
)
ISO_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
UNIT = 10**18


def scrape_text(node: NodeProcess) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{node.prometheus_port}/metrics", timeout=60) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        return str(resp.read().decode())


def scrape(node: NodeProcess) -> list[Sample]:
    text = scrape_text(node)
    list(text_string_to_metric_families(text))  # the format parses as Prometheus text
    return parse_exposition(text)


def value(samples: list[Sample], metric: str, **labels: str) -> float:
    """The one sample named `metric` whose labels include `labels` (the `chain` label aside)."""
    found = [s.value for s in samples if s.name == metric and labels.items() <= s.labels.items()]
    assert len(found) == 1, (metric, labels, found)
    return found[0]


def best(node: NodeProcess) -> float:
    return value(scrape(node), "substrate_block_height", status="best")


def transfer(node: NodeProcess, amount: int, genesis: bytes | None = None) -> str:
    genesis = genesis or bytes.fromhex(node.call("chain_getBlockHash", 0)[2:])
    alice = dev_keypair("alice")
    nonce = node.call("system_accountNextIndex", "0x" + alice.public.hex())
    call = RUNTIME.call("balances.transfer_allow_death", dev_keypair("bob").public, amount)
    xt = sign_extrinsic(alice, call, nonce, genesis, RUNTIME.spec_version)
    return str(node.call("author_submitExtrinsic", "0x" + xt.encode().hex()))


def test_metrics_health_and_json_logs_of_a_real_node(harness: Harness) -> None:
    node = harness.add_node(extra_args=["--log-format", "json", "--log", "info,btt.rpc=debug"])
    harness.log("start a dev validator with metrics on a free port and JSON logs")
    node.start()

    harness.log("every metric is there, each sample labelled with the chain, and the best height moves")
    samples = scrape(node)
    missing = [n for n in NAMES if n not in {s.name for s in samples}]
    assert not missing, missing
    assert all(s.labels.get("chain") == "dev" for s in samples)
    assert value(samples, "substrate_rpc_calls_started", method="system_health", protocol="http") >= 1
    first = best(node)
    wait_until(lambda: best(node) >= first + 2, 60, what="best height metric moves")
    samples = scrape(node)
    height = int(node.call("chain_getHeader")["number"], 16)
    assert abs(value(samples, "substrate_block_height", status="best") - height) <= 1
    assert value(samples, "btt_total_issuance") > 0

    harness.log("/health on the RPC port: 200 on a dev chain")
    with urllib.request.urlopen(f"http://127.0.0.1:{node.rpc_port}/health", timeout=60) as resp:
        assert resp.status == 200
        health = json.loads(resp.read())
    assert set(health) == {"peers", "isSyncing", "shouldHavePeers", "best", "finalized", "finalityConflict", "clock",
                           "clockOffsetMs", "clockSources", "clockAllowanceMs", "heldBlocks", "signing", "specVersion",
                           "specs", "upgrade", "halted"}
    assert health["finalityConflict"] is None and health["halted"] is None
    assert health["signing"] == {"state": "signing", "message": None}  # a lone dev validator signs at once

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


def test_every_dashboard_query_names_what_a_live_node_exports(harness: Harness) -> None:
    queries = get_dashboard_queries(load_dashboard(DASHBOARD))
    node = harness.add_node()
    before_start = int(time.time())
    harness.log("start a dev validator")
    node.start()

    harness.log("RPC over HTTP (known and unknown methods) and over a WebSocket that then closes")
    for _ in range(3):
        node.call("system_health")
    for _ in range(2):
        try:
            node.call("no_suchMethod")
        except RpcError:
            pass
        else:
            raise AssertionError("an unknown method answered")
    ws = websocket.create_connection(f"ws://127.0.0.1:{node.rpc_port}", timeout=60)
    try:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": []}))
        assert "result" in json.loads(ws.recv())
    finally:
        ws.close()

    harness.log("a transfer that lands, and one signed for another chain that the pool refuses")
    xt_hash = transfer(node, UNIT)
    try:
        transfer(node, UNIT, genesis=bytes(32))
    except RpcError:
        pass
    else:
        raise AssertionError("a transaction signed for another genesis was pooled")

    def settled() -> list[Sample] | None:
        samples = scrape(node)
        ready = value(samples, "substrate_ready_transactions_number")
        pruned = value(samples, "substrate_sub_txpool_block_transactions_pruned")
        closed = value(samples, "substrate_rpc_sessions_closed")
        return samples if ready == 0 and pruned >= 1 and closed >= 1 else None

    samples = wait_until(settled, 120, what="the transfer included and the WebSocket session closed")
    assert node.call("btt_extrinsicStatus", xt_hash)["success"]

    harness.log("every query of the dashboard names metrics, labels and label values the node exports")
    problems = find_problems(queries, samples)
    assert not problems, "\n".join(problems)
    assert all(s.labels.get("chain") == "dev" for s in samples)

    harness.log("and each figure is what the node did, read from one scrape")
    height = value(samples, "substrate_block_height", status="best")
    assert height >= 1
    assert value(samples, "substrate_block_height", status="sync_target") == height  # no peer: its own best
    assert value(samples, "substrate_proposer_block_constructed_count") == height  # it authored every block
    assert value(samples, "substrate_block_verification_and_import_time_count") == 0  # and imported none
    assert value(samples, "substrate_number_leaves") == 1
    assert value(samples, "substrate_node_roles") == 4
    assert value(samples, "substrate_build_info", name="node0") == 1
    assert before_start - 1 <= value(samples, "substrate_process_start_time_seconds") <= time.time()
    assert value(samples, "substrate_sub_libp2p_peers_count") == value(samples, "substrate_sync_peers") == 0
    assert value(samples, "substrate_sub_txpool_submitted_transactions") == 2
    assert value(samples, "substrate_sub_txpool_validations_scheduled") == 2
    assert value(samples, "substrate_sub_txpool_validations_finished") == 2
    assert value(samples, "substrate_rpc_calls_started", method="system_health", protocol="http") >= 3
    assert value(samples, "substrate_rpc_calls_finished", method="unknown", protocol="http", is_error="true") == 2
    assert not [s for s in samples if s.labels.get("method") == "no_suchMethod"]  # callers cannot add series
    assert value(samples, "substrate_rpc_calls_started", method="chain_getHeader", protocol="ws") == 1
    assert value(samples, "substrate_rpc_sessions_opened") == value(samples, "substrate_rpc_sessions_closed") == 1
    tree_leaves = value(samples, "btt_state_cache_entries", cache="state_tree")  # a dev chain's tree is held whole
    assert tree_leaves > 0 and value(samples, "substrate_state_cache_bytes") > tree_leaves * 64
    assert value(samples, "substrate_database_cache_bytes") > 0
    assert value(samples, "btt_database_disk_bytes") > 0  # measured off the loop before the first scrape answered


def test_no_prometheus_switches_metrics_off(harness: Harness) -> None:
    node = harness.add_node(extra_args=["--no-prometheus"])
    node.start()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{node.prometheus_port}/metrics", timeout=2)
    except (urllib.error.URLError, ConnectionError):
        pass
    else:
        raise AssertionError("metrics served with --no-prometheus")
