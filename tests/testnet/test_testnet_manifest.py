"""Manifest parsing: the shipped manifests parse, and every mistake is one clear error naming its place."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from btt_chain.testnet.manifest import (
    MANIFEST_DIR,
    ManifestError,
    load_manifest,
    parse_manifest,
    resolve_manifest_path,
)
from btt_chain.testnet.perturbations import build_schedule, overlapping_validator_outages

BASE: dict[str, Any] = {
    "name": "t",
    "duration_s": 60,
    "node": [
        {"name": "v0", "validator": "alice", "perturb": [{"at": 10, "kind": "kill", "for": 5}]},
        {"name": "v1", "validator": "bob"},
        {"name": "v2", "validator": "charlie"},
        {"name": "f0"},
    ],
}


def doc(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    d.update(changes)
    return d


def with_node(i: int, **changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    d["node"][i].update(changes)
    return d


@pytest.mark.parametrize("name", ["ci", "partition", "large", "fork-race", "upgrade"])
def test_shipped_manifests_parse_and_never_take_a_third_of_the_stake_out(name: str) -> None:
    m = load_manifest(name)
    assert m.name == name
    _, windows = build_schedule(m)
    assert overlapping_validator_outages(m, windows) == []


def test_ci_has_seven_nodes_with_two_perturbations_each_and_every_kind_on_a_validator() -> None:
    m = load_manifest("ci")
    assert len(m.nodes) == 7
    assert all(len(n.perturbations) >= 2 for n in m.nodes)
    on_validators = {p.kind for n in m.validators for p in n.perturbations}
    on_full_nodes = {p.kind for n in m.nodes if n.validator is None for p in n.perturbations}
    assert on_validators == {"kill", "pause", "disconnect", "restart", "clock"}
    assert on_full_nodes == {"kill", "pause", "disconnect", "restart"}


def test_ci_adds_a_full_node_by_warp_sync_mid_run_perturbed_after_it_joined() -> None:
    m = load_manifest("ci")
    (joining,) = m.joining
    assert joining.validator is None and joining.sync == "warp"
    assert joining.join_at_s is not None and 100 <= joining.join_at_s <= 120  # several epochs final by then
    assert {p.kind for p in joining.perturbations} >= {"kill", "restart"}  # each start after the warp resumes
    assert all(p.at_s > joining.join_at_s for p in joining.perturbations)
    actions, _ = build_schedule(m)
    assert [(a.at_s, a.nodes) for a in actions if a.action == "join"] == [(joining.join_at_s, (joining.name,))]
    assert all(n.join_at_s is None for n in m.nodes[: m.bootnodes])


def test_a_joining_node_parses_with_its_sync_mode_and_joins_at_its_time() -> None:
    m = parse_manifest(with_node(3, join_at=20, sync="warp", perturb=[{"at": 30, "kind": "restart"}]))
    f0 = m.node("f0")
    assert (f0.join_at_s, f0.sync) == (20.0, "warp")
    assert m.joining == (f0,)
    assert m.node("v1").sync == "full" and m.node("v1").join_at_s is None
    full = parse_manifest(with_node(3, join_at=20))
    assert full.node("f0").sync == "full"  # joins mid-run, syncing every block
    assert parse_manifest(with_node(3, sync="full")).joining == ()
    actions, windows = build_schedule(m)
    assert [(a.at_s, a.action, a.nodes, a.window) for a in actions][1:3] == [
        (15, "start", ("v0",), 0), (20, "join", ("f0",), -1)]
    assert [w.label for w in windows] == ["kill v0", "restart f0"]  # the join is no perturbation window


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (with_node(3, sync="fast"), "node 'f0'.sync: must be one of 'full', 'warp', got 'fast'"),
        (with_node(3, sync=True), "node 'f0'.sync: must be one of"),
        (with_node(3, sync="warp"), "sync = \"warp\" needs join_at"),
        (with_node(3, join_at="later"), "node 'f0'.join_at: expected a number, got 'later'"),
        (with_node(3, join_at=True), "node 'f0'.join_at: expected a number, got True"),
        (with_node(3, join_at=0), "node 'f0'.join_at: 0 is outside 1..86400"),
        (with_node(3, join_at=-5), "node 'f0'.join_at: -5 is outside"),
        (with_node(3, join_at=float("nan")), "node 'f0'.join_at: nan is outside"),
        (with_node(3, join_at=60), "node 'f0'.join_at: 60 s is not before duration_s (60)"),
        (with_node(3, join_at=90), "node 'f0'.join_at: 90 s is not before duration_s"),
        (with_node(2, join_at=20), "node 'v2': join_at is for full nodes: validator 'charlie'"),
        (with_node(3, join_at=20, perturb=[{"at": 10, "kind": "kill", "for": 5}]),
         "node 'f0'.perturb[0]: kill at 10 s is not after the node joins (join_at = 20)"),
        (with_node(3, join_at=20, perturb=[{"at": 30, "kind": "restart"}, {"at": 20, "kind": "pause", "for": 2}]),
         "node 'f0'.perturb[1]: pause at 20 s is not after the node joins"),
        (with_node(3, join_at=20, perturb=[{"at": 19, "kind": "clock", "for": 5, "skew_ms": 500}]),
         "clock at 19 s is not after the node joins"),
        (with_node(3, join_at=20, peers=3), "unknown key 'peers'"),
        (dict(with_node(3, join_at=20), network={"bootnodes": 4}),
         "node 'f0': joins at 20 s, but it is among the first 4 nodes, the bootnodes"),
        (dict(with_node(3, join_at=20), partition=[{"at": 10, "for": 5, "groups": [["v0", "v1", "v2"], ["f0"]]}]),
         "partition #0 (at 10 s) names 'f0', which joins only at 20 s"),
        (dict(with_node(3, join_at=20), partition=[{"at": 20, "for": 5, "groups": [["v0", "v1"], ["v2", "f0"]]}]),
         "partition #0 (at 20 s) names 'f0'"),
    ],
)
def test_a_bad_joining_node_is_one_clear_error(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(bad, "m.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("m.toml: ")


def test_join_check_bounds_parse_and_are_checked() -> None:
    m = parse_manifest(doc(checks={"join_sync_s": 90, "join_lag_blocks": 12}))
    assert (m.join_sync_s, m.join_lag_blocks) == (90.0, 12)
    assert (parse_manifest(doc()).join_sync_s, parse_manifest(doc()).join_lag_blocks) == (60.0, 10)
    for bad, message in (({"join_sync_s": 0}, "[checks].join_sync_s: 0 is outside"),
                         ({"join_lag_blocks": 2.5}, "[checks].join_lag_blocks: expected an integer")):
        with pytest.raises(ManifestError, match=re.escape(message)):
            parse_manifest(doc(checks=bad))


def test_a_partition_after_the_join_may_name_the_joining_node() -> None:
    m = parse_manifest(dict(with_node(3, join_at=20),
                            partition=[{"at": 30, "for": 5, "groups": [["v0", "v1", "v2"], ["f0"]]}]))
    assert m.partitions[0].groups[1] == ("f0",)


def test_large_has_sixteen_nodes_and_a_miner_per_validator() -> None:
    m = load_manifest("large")
    assert len(m.nodes) == 16
    assert all(n.miner for n in m.validators)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (doc(duration_s="long"), "duration_s: expected a number"),
        (doc(node=[]), "no [[node]] entries"),
        (doc(colour="red"), "unknown key 'colour'"),
        (with_node(0, perturb=[{"at": 10, "kind": "explode", "for": 1}]), "kind must be one of"),
        (with_node(0, perturb=[{"at": 10, "kind": "partition", "for": 1}]), "partitions go in [[partition]]"),
        (with_node(0, perturb=[{"at": 10, "kind": "pause"}]), "pause needs `for`"),
        (with_node(0, perturb=[{"kind": "kill", "for": 1}]), "missing `at`"),
        (with_node(0, perturb=[{"at": 10, "kind": "clock", "for": 5}]), "clock needs `skew_ms`"),
        (with_node(0, perturb=[{"at": 10, "kind": "kill", "for": 5}, {"at": 12, "kind": "pause", "for": 1}]),
         "starts before the kill at 10 s ends"),
        (with_node(0, perturb=[{"at": 58, "kind": "kill", "for": 5}]), "after duration_s"),
        (with_node(1, validator="alice"), "validator 'alice' is on two nodes"),
        (with_node(1, validator="dave"), "validator must be one of"),
        (with_node(3, miner=True), "a miner mines with the validator key"),
        (with_node(3, stake=5000), "stake given, but it is a full node"),
        (with_node(0, clinic=True), "also runs its miner"),
        (with_node(1, name="v0"), "two nodes are named 'v0'"),
        (with_node(1, name="Bad Name"), "name must be"),
        (doc(partition=[{"at": 5, "for": 5, "groups": [["v0"], ["zz"]]}]), "unknown node 'zz'"),
        (doc(partition=[{"at": 5, "for": 5, "groups": [["v0"], ["v0", "v1"]]}]), "a node is in both groups"),
        (doc(partition=[{"at": 5, "for": 5, "groups": [["v0"]]}]), "groups is two non-empty lists"),
        (doc(network={"bootnodes": 9}), "[network].bootnodes: 9 is outside 1..4"),
    ],
)
def test_a_bad_manifest_is_one_clear_error(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(bad, "m.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("m.toml: ")


def test_an_unknown_manifest_name_lists_the_known_ones() -> None:
    with pytest.raises(ManifestError, match="ci, clock, fork-race, large, partition"):
        resolve_manifest_path("nonesuch")


def test_schedule_pairs_every_perturbation_with_its_end_in_time_order() -> None:
    m = parse_manifest(doc(
        node=[
            {"name": "v0", "validator": "alice",
             "perturb": [{"at": 10, "kind": "kill", "for": 5}, {"at": 30, "kind": "clock", "for": 5, "skew_ms": -400}]},
            {"name": "v1", "validator": "bob", "perturb": [{"at": 15, "kind": "pause", "for": 2}]},
            {"name": "v2", "validator": "charlie", "perturb": [{"at": 20, "kind": "restart"}]},
            {"name": "f0", "perturb": [{"at": 40, "kind": "disconnect", "for": 3}]},
        ],
        partition=[{"at": 50, "for": 5, "groups": [["v0", "v1", "v2"], ["f0"]]}],
    ))
    actions, windows = build_schedule(m)
    assert [(a.at_s, a.action, a.nodes) for a in actions] == [
        (10, "kill", ("v0",)), (15, "start", ("v0",)), (15, "stop", ("v1",)), (17, "cont", ("v1",)),
        (20, "restart", ("v2",)), (30, "skew", ("v0",)), (35, "unskew", ("v0",)), (40, "link_down", ("f0",)),
        (43, "link_up", ("f0",)), (50, "partition", ("v0", "v1", "v2")), (55, "heal", ("v0", "v1", "v2")),
    ]
    assert actions[5].skew_ms == -400
    assert windows[-1].affected == ("f0",)  # the smaller side of the partition


def test_overlapping_validator_outages_are_named() -> None:
    m = parse_manifest(doc(node=[
        {"name": "v0", "validator": "alice", "perturb": [{"at": 10, "kind": "kill", "for": 10}]},
        {"name": "v1", "validator": "bob", "perturb": [{"at": 15, "kind": "pause", "for": 10}]},
        {"name": "v2", "validator": "charlie"},
    ]))
    _, windows = build_schedule(m)
    problems = overlapping_validator_outages(m, windows)
    assert any("validators v0, v1 " in p for p in problems)


def test_without_root_the_runner_refuses_with_a_clear_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from btt_chain.testnet import netns

    monkeypatch.setattr(netns.os, "geteuid", lambda: 1000)
    reason = netns.unavailable_reason()
    assert reason is not None and "needs root" in reason


UPGRADE = {"database": "spec11-network.tar.xz", "spec": 12, "propose_at": 5, "delay_blocks": 50}


def upgrade_doc(node_changes: dict[int, dict[str, Any]] | None = None, **upgrade: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    d["upgrade"] = {**UPGRADE, **upgrade}
    for i, changes in (node_changes or {}).items():
        d["node"][i].update(changes)
    return d


def test_the_upgrade_manifest_parses_its_recorded_network_kills_and_the_node_left_behind() -> None:
    m = load_manifest("upgrade")
    assert m.upgrade is not None
    assert m.upgrade.database.is_file() and m.upgrade.spec == 12 and m.upgrade.proposer == "eve"
    assert m.upgrade.kill_at_boundary == ("v2", "f0")
    assert [n.name for n in m.nodes if n.max_spec is not None] == ["o0"]
    assert {n.name: n.sync for n in m.joining} == {"w0": "warp", "j0": "full"}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (upgrade_doc(database="nowhere.tar.gz"), "[upgrade].database: no file"),
        (upgrade_doc(database=3), "[upgrade].database: the path of a recorded network's tarball"),
        (upgrade_doc(spec=0), "[upgrade].spec: 0 is outside"),
        (upgrade_doc(propose_at=61), "[upgrade].propose_at: 61 is outside 0..60"),
        (upgrade_doc(delay_blocks=1.5), "[upgrade].delay_blocks: expected an integer"),
        (upgrade_doc(kill_at_boundary=["zz"]), "[upgrade].kill_at_boundary: unknown node 'zz'"),
        (upgrade_doc(kill_at_boundary=["v1", "v1"]), "a list of distinct node names"),
        (upgrade_doc({3: {"max_spec": 11}}, kill_at_boundary=["f0"]), "'f0' joins later or cannot run the spec"),
        (upgrade_doc(proposer="mallory"), "[upgrade].proposer: one of"),
        (upgrade_doc({0: {"miner": True}}, proposer="alice"), "'alice' runs a miner"),
        (upgrade_doc(colour="red"), "[upgrade]: unknown key 'colour'"),
        ({**upgrade_doc(), "upgrade": {"spec": 12}}, "[upgrade]: missing `database`"),
        (with_node(3, max_spec="eleven"), "node 'f0'.max_spec: expected an integer"),
    ],
)
def test_a_bad_upgrade_section_is_one_clear_error(bad: dict[str, Any], message: str) -> None:
    source = str(MANIFEST_DIR / "m.toml")  # a database is found beside the manifest
    with pytest.raises(ManifestError) as info:
        parse_manifest(bad, source)
    assert message in str(info.value)
