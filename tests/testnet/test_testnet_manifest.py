"""Manifest parsing: the shipped manifests parse, and every mistake is one clear error naming its place."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from btt_chain.testnet.manifest import ManifestError, load_manifest, parse_manifest, resolve_manifest_path
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


@pytest.mark.parametrize("name", ["ci", "partition", "large"])
def test_shipped_manifests_parse_and_never_take_a_third_of_the_stake_out(name: str) -> None:
    m = load_manifest(name)
    assert m.name == name
    _, windows = build_schedule(m)
    assert overlapping_validator_outages(m, windows) == []


def test_ci_has_six_nodes_with_two_perturbations_each_and_every_kind_on_a_validator() -> None:
    m = load_manifest("ci")
    assert len(m.nodes) == 6
    assert all(len(n.perturbations) >= 2 for n in m.nodes)
    on_validators = {p.kind for n in m.validators for p in n.perturbations}
    on_full_nodes = {p.kind for n in m.nodes if n.validator is None for p in n.perturbations}
    assert on_validators == {"kill", "pause", "disconnect", "restart", "clock"}
    assert on_full_nodes == {"kill", "pause", "disconnect", "restart"}


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
