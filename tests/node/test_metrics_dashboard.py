"""The Grafana dashboard in docs/grafana: importable as it is (a Prometheus data-source variable, no fixed data
source, panels on the grid), covering what an operator watches; and the PromQL reader the live test checks its
queries with, tried against the queries that would fool a regular expression."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.promql_names import (
    DashboardQuery,
    QueryError,
    Sample,
    check_query,
    find_problems,
    get_dashboard_queries,
    load_dashboard,
    parse_exposition,
)

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "btt-chain-dashboard.json"

COVERED = {
    "block height": {"substrate_block_height"},
    "peers": {"substrate_sub_libp2p_peers_count", "substrate_sync_peers"},
    "txpool": {"substrate_ready_transactions_number", "substrate_sub_txpool_submitted_transactions",
               "substrate_sub_txpool_validations_scheduled", "substrate_sub_txpool_validations_finished",
               "substrate_sub_txpool_validations_invalid"},
    "RPC calls": {"substrate_rpc_calls_started", "substrate_rpc_calls_finished", "substrate_rpc_sessions_opened",
                  "substrate_rpc_sessions_closed"},
    "RPC latency": {"substrate_rpc_calls_time_bucket"},
    "proposer time": {"substrate_proposer_block_constructed_bucket"},
    "import time": {"substrate_block_verification_and_import_time_bucket"},
    "finality lag": {"btt_finality_lag_blocks"},
    "memory and database": {"process_resident_memory_bytes", "substrate_database_cache_bytes",
                            "substrate_state_cache_bytes", "btt_database_disk_bytes"},
    "compute economy": {"btt_receipts_settled_total", "btt_compute_events_total", "btt_burned_base_units_total",
                        "btt_total_issuance"},
    "node": {"substrate_build_info", "substrate_node_roles", "substrate_process_start_time_seconds",
             "substrate_number_leaves"},
}


def panels_of(dashboard: dict) -> list[dict]:  # type: ignore[type-arg]
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def test_the_dashboard_imports_with_any_prometheus_data_source() -> None:
    dashboard = load_dashboard(DASHBOARD)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert {"chain", "instance"} <= set(variables)
    assert "__inputs" not in dashboard and dashboard["uid"] and dashboard["schemaVersion"] >= 30
    panels = panels_of(dashboard)
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        g = panel["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            expr = target["expr"]
            assert 'chain="$chain"' in expr and 'instance=~"$instance"' in expr, expr  # every selector filtered
            assert expr.count("{") == expr.count('chain="$chain"'), expr


def test_the_dashboard_covers_what_an_operator_watches() -> None:
    queries = get_dashboard_queries(load_dashboard(DASHBOARD))
    named = set().union(*(check_query(q.expr).metrics for q in queries))
    missing = {area: sorted(names - named) for area, names in COVERED.items() if names - named}
    assert not missing, missing
    statuses = {m.value for q in queries for s in check_query(q.expr).selectors if s.metric == "substrate_block_height"
                for m in s.matchers if m.label == "status"}
    assert "sync_target" in statuses


@pytest.mark.parametrize(("expr", "metrics", "grouping"), [
    ('sum by (method) (rate(substrate_rpc_calls_finished{is_error="true", method=~"chain_.*"}[5m]))',
     {"substrate_rpc_calls_finished"}, {"method"}),
    ("histogram_quantile(0.99, sum by (le) (rate(substrate_rpc_calls_time_bucket[$__rate_interval])))",
     {"substrate_rpc_calls_time_bucket"}, {"le"}),
    ("sum(rate(x_sum[5m])) by (instance) / sum(rate(x_count[5m])) by (instance)", {"x_sum", "x_count"}, {"instance"}),
    ('a{status="sync_target"} - ignoring(status) group_left b', {"a", "b"}, {"status"}),
    ("time() - substrate_process_start_time_seconds", {"substrate_process_start_time_seconds"}, set()),
    ('label_replace(up, "dst", "${1} {x} $2", "instance", "(.*)")', {"up"}, set()),  # braces inside strings
    ("rate(x[5m] offset 1h) > bool 0 and on (job) y unless z", {"x", "y", "z"}, {"job"}),
    ("topk(10, max_over_time(m[1h:5m]))", {"m"}, set()),
    ("substrate_sub_libp2p_peers_count * 1e3", {"substrate_sub_libp2p_peers_count"}, set()),
])
def test_names_and_groupings_are_read_as_prometheus_reads_them(expr: str, metrics: set[str],
                                                                 grouping: set[str]) -> None:
    query = check_query(expr)
    assert query.metrics == metrics
    assert query.grouping_labels == grouping


@pytest.mark.parametrize(("expr", "why"), [
    ("rte(x[5m])", "no PromQL function"),
    ("sum(rate(x[5m])", "unbalanced"),
    ("sum(x))", "unbalanced"),
    ('{__name__="x"}', "without a metric name"),
    ('x{status=best}', "label matcher"),
    ("x # y", "cannot read"),
    ("sum by method (x)", "needs a list"),
])
def test_a_query_prometheus_would_refuse_is_refused(expr: str, why: str) -> None:
    with pytest.raises(QueryError, match=why):
        check_query(expr)


def test_problems_name_what_a_scrape_lacks() -> None:
    scraped = parse_exposition(
        '# TYPE substrate_block_height gauge\n'
        'substrate_block_height{status="best",chain="dev"} 5\n'
        'substrate_sub_libp2p_peers_count{chain="dev"} 2\n'
        'substrate_rpc_calls_time_bucket{le="+Inf",method="x",protocol="http",chain="dev"} 1\n'
    )
    assert scraped[0] == Sample("substrate_block_height", {"status": "best", "chain": "dev"}, 5.0)

    def problems(expr: str, label: str | None = None) -> list[str]:
        return find_problems([DashboardQuery("q", expr, label)], scraped)

    assert problems('substrate_block_height{status="best", chain="$chain", instance=~"$instance"}') == []
    assert problems("substrate_sub_libp2p_peers_count") == []  # a gauge that ends in _count is itself
    assert problems("histogram_quantile(0.9, sum by (le, method) (rate(substrate_rpc_calls_time_bucket[5m])))") == []
    assert problems("substrate_sub_libp2p_peers") == ["q: the node exports no substrate_sub_libp2p_peers"]
    assert problems("substrate_rpc_calls_time") == ["q: the node exports no substrate_rpc_calls_time"]  # bare
    assert problems("substrate_rpc_calls_time_count") == ["q: the node exports no substrate_rpc_calls_time_count"]
    assert problems('substrate_block_height{status="sync_target"}') == [
        'q: no substrate_block_height{status="sync_target"} sample']
    assert problems('substrate_block_height{state="best"}') == ["q: substrate_block_height has no label state"]
    assert problems("sum by (methd) (substrate_rpc_calls_time_bucket)") == [
        "q: groups by methd, which none of its metrics has"]
    assert problems("substrate_block_height", "region") == [
        "q: lists label region, which substrate_block_height lacks"]
    assert problems("vector(1)") == ["q: names no metric: vector(1)"]
