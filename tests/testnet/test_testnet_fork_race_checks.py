"""The fork race at an epoch boundary (testnets/fork-race.toml) without running it: the partition aligned to the chain's
epochs and its validation, and the checks it needs on fabricated observations, each passing on a good run and
failing, saying why, on a bad one (tests/testnet/test_testnet_fork_race.py runs the manifest end to end)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from btt_chain.testnet import checks
from btt_chain.testnet.checks import ChainView, HealPoint, Sample, VoteEvent
from btt_chain.testnet.manifest import ManifestError, load_manifest, parse_manifest
from btt_chain.testnet.perturbations import Window, build_schedule, overlapping_validator_outages

EPOCH_SLOTS = 5
A, B = ("v0", "v1"), ("v2", "v3", "f0")
VALIDATORS = {"v0", "v1", "v2", "v3"}
RACE = Window("partition v0,v1 | v2,v3,f0", 21.5, 35.5, A, sides=(A, B), stalls=True, epoch=6, lead_ms=1500)
"""Aligned to epoch 6 (slot 30, at 23 s into the run), healed at 35.5 s."""
CP_A, CP_B = "0x" + "aa" * 32, "0x" + "bb" * 32
"""The checkpoints of epoch 6 on each side: v0's block of slot 29 (seen by side A only) and the block of slot 28."""
CP_A7, CP_B7 = "0x" + "a7" * 32, "0x" + "b7" * 32


def view(node: str, head: int, slot: int, cps: dict[int, str]) -> ChainView:
    return ChainView(node, head, slot, f"0x{node}", cps)


def race_views(**changes: ChainView) -> tuple[ChainView, ...]:
    views = {
        **{n: view(n, 29, 36, {6: CP_A, 7: CP_A7}) for n in A},
        **{n: view(n, 30, 37, {6: CP_B, 7: CP_B7}) for n in B},
    }
    views.update(changes)
    return tuple(views.values())


def vote(node: str, t: float, target_epoch: int, target: str) -> VoteEvent:
    return VoteEvent(t, node, 5, "0x1111111111111111", target_epoch, checks.short_hash(target))


GOOD_VOTES = [vote("v0", 24, 6, CP_A), vote("v1", 24.1, 6, CP_A), vote("v2", 26, 7, CP_B7), vote("v3", 26, 7, CP_B7),
              vote("v0", 29, 7, CP_A7), vote("v0", 41, 9, "0x" + "99" * 32)]
"""Side B led no slot of epoch 6: its validators entered epoch 7 first and voted for their side's checkpoint of 7."""


def heal(views: tuple[ChainView, ...], window: Window = RACE, t: float = 35.5) -> HealPoint:
    return HealPoint(window, t, views)


def race(views: tuple[ChainView, ...], votes: list[VoteEvent] | None = None) -> checks.Check:
    return checks.check_fork_race([heal(views)], GOOD_VOTES if votes is None else votes, VALIDATORS, EPOCH_SLOTS)


# the fork race ---------------------------------------------------------------------------------------------------


def test_fork_race_passes_when_each_side_built_past_the_boundary_on_its_own_checkpoint_and_voted_for_it() -> None:
    c = race(race_views())
    assert c.passed, c.lines
    text = "\n".join(c.lines)
    assert "1500 ms before epoch 6 (slot 30)" in text
    assert f"v0, v1: head #29 (slot 36); checkpoint of epoch 6: {CP_A[:18]}" in text
    assert f"v2, v3, f0: head #30 (slot 37); checkpoint of epoch 6: {CP_B[:18]}" in text
    assert f"v2 5:0x1111111111111111 -> 7:{CP_B7[:18]}" in text


def test_fork_race_fails_when_both_sides_have_the_same_checkpoint() -> None:
    """The cut came after the last block of the epoch had crossed: both sides entered the epoch on one checkpoint."""
    same = race_views(v0=view("v0", 29, 36, {6: CP_B, 7: CP_A7}), v1=view("v1", 29, 36, {6: CP_B, 7: CP_A7}))
    c = race(same)
    assert not c.passed
    assert "FAIL: the other side has the same checkpoint of epoch 6: no race" in "\n".join(c.lines)


def test_fork_race_fails_when_a_side_built_nothing_past_the_boundary() -> None:
    stuck = race_views(v2=view("v2", 27, 28, {}), v3=view("v3", 27, 28, {}), f0=view("f0", 27, 28, {}))
    c = race(stuck, [v for v in GOOD_VOTES if v.node in A])
    assert not c.passed
    text = "\n".join(c.lines)
    assert "FAIL: v2, v3, f0 built no block past the boundary (slot 30) during the partition" in text
    assert "FAIL: no checkpoint of epoch 6 read" in text


def test_fork_race_fails_when_a_validator_did_not_vote_for_its_own_side() -> None:
    # v3 voted for the other side's checkpoint (it could not have seen it), v1 only after the heal
    votes = [vote("v0", 24, 6, CP_A), vote("v1", 37, 6, CP_A), vote("v2", 26, 7, CP_B7), vote("v3", 26, 6, CP_A)]
    c = race(race_views(), votes)
    assert not c.passed
    text = "\n".join(c.lines)
    assert "v1 FAIL: no vote for its own side's checkpoint during the partition (targets voted: none)" in text
    assert f"v3 FAIL: no vote for its own side's checkpoint during the partition (targets voted: 6:{CP_A[:18]})" \
        in text


def test_fork_race_fails_when_a_node_did_not_answer_at_the_heal() -> None:
    c = race(race_views(f0=ChainView("f0", None)))
    assert not c.passed and "no chain from f0 at the heal" in c.lines[-1]


def test_fork_race_ignores_partitions_not_aligned_to_an_epoch() -> None:
    plain = Window("partition v0,v1,v2 | v3", 20, 30, ("v3",), sides=(("v0", "v1", "v2"), ("v3",)))
    c = checks.check_fork_race([heal(race_views(), plain)], [], VALIDATORS, EPOCH_SLOTS)
    assert c.passed and c.lines == ("no partition aligned to an epoch boundary",)


# finality's resumption -------------------------------------------------------------------------------------------


def resumed_samples(finalized_after: dict[str, list[int]]) -> list[Sample]:
    """Before the heal everyone finalized #20; after it, every 2 s from 36 s, each node's finalized heights."""
    out = [Sample(34.0, n, 29, 20, 4) for n in (*A, *B)]
    for n, heights in finalized_after.items():
        out += [Sample(36.0 + 2 * i, n, 31 + 2 * i, f, 4) for i, f in enumerate(heights)]
    return out


def test_finality_resumed_passes_within_the_bound_and_says_how_long_it_took() -> None:
    good = {n: [20, 20, 20, 25, 32, 37] for n in (*A, *B)}  # past #30 (the highest head at the heal) at 44 s
    c = checks.check_finality_resumed(resumed_samples(good), [heal(race_views())], 4, 5.0)
    assert c.passed, c.lines
    assert c.name == "finality resumed after every partition within 4 epochs"
    assert "with heads up to #30: every node finalized past #30 8.5 s (1.7 epochs) after the heal" in c.lines[0]
    assert "within the bound of 4 epochs (20 s)" in c.lines[0]
    r = checks.finality_resumption(resumed_samples(good), heal(race_views()))
    assert r.resume_s == pytest.approx(8.5)


def test_finality_resumed_fails_when_a_node_takes_longer_than_the_bound() -> None:
    slow = {n: [20, 20, 20, 25, 32, 37] for n in (*A, *B)}
    slow["v3"] = [20] * 12 + [40]  # past the heal point only at 60 s: 24.5 s after the heal
    c = checks.check_finality_resumed(resumed_samples(slow), [heal(race_views())], 4, 5.0)
    assert not c.passed
    assert "24.5 s (4.9 epochs) after the heal (last: v3), OVER the bound of 4 epochs (20 s)" in c.lines[0]


def test_finality_resumed_fails_when_finality_never_comes_back() -> None:
    """The race as the rule before Casper FFG's fork choice left it: nobody finalizes past the heal point again."""
    stuck = {n: [20] * 15 for n in (*A, *B)}
    c = checks.check_finality_resumed(resumed_samples(stuck), [heal(race_views())], 4, 5.0)
    assert not c.passed
    assert "v0 never finalized past #30 (last finalized #20 at 64 s); bound 4 epochs (20 s)" in "\n".join(c.lines)
    assert sorted(line.split(": ")[1].split()[0] for line in c.lines) == sorted((*A, *B))  # every node named
    silent = checks.check_finality_resumed([], [heal(tuple(ChainView(n, None) for n in (*A, *B)))], 4, 5.0)
    assert not silent.passed and "no node answered at the heal" in silent.lines[0]


def test_finality_progress_leaves_a_stalling_partition_to_the_resume_check() -> None:
    flat = [Sample(t, n, 30, 20, 4) for t in range(0, 60, 2) for n in (*A, *B)]
    c = checks.check_finality_progress(flat, [RACE], grace_s=15, stake={}, slot_s=1, epoch_s=5)
    assert c.passed and "held to the resume bound instead" in c.lines[0]
    majority = Window("partition v0,v1,v2 | v3", 20, 30, ("v3",), sides=(("v0", "v1", "v2"), ("v3",)))
    assert not checks.check_finality_progress(flat, [majority], grace_s=15, stake={}, slot_s=1, epoch_s=5).passed


# the manifest ----------------------------------------------------------------------------------------------------

BASE: dict[str, Any] = {
    "name": "t",
    "duration_s": 60,
    "checks": {"finality_resume_epochs": 4},
    "node": [{"name": "v0", "validator": "alice"}, {"name": "v1", "validator": "bob"},
             {"name": "v2", "validator": "charlie"}, {"name": "v3", "validator": "eve"}, {"name": "f0"}],
    "partition": [{"at": 20, "for": 14, "align": "epoch", "lead_ms": 1500,
                   "groups": [["v0", "v1"], ["v2", "v3", "f0"]]}],
}


def doc(first: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """BASE with keys of its partition changed (None: removed) and top-level keys replaced."""
    d = copy.deepcopy(BASE)
    if first is not None:
        d["partition"][0].update(first)
        d["partition"][0] = {k: v for k, v in d["partition"][0].items() if v is not None}
    d.update(changes)
    return d


def test_the_fork_race_manifest_splits_four_equal_validators_two_and_two_at_an_epoch_boundary() -> None:
    m = load_manifest("fork-race")
    assert len(m.validators) == 4 and len({n.stake for n in m.validators}) == 1
    assert [n.name for n in m.nodes if n.validator is None] == ["f0"]
    (part,) = m.partitions
    assert part.align_epoch and 1000 < part.lead_ms < 2000  # in the slot before last of the old epoch
    sides = [{n for n in group if m.node(n).validator} for group in part.groups]
    assert [len(s) for s in sides] == [2, 2] and "f0" in part.groups[0] + part.groups[1]
    assert m.stalls_finality(part) and m.finality_resume_epochs is not None
    _, windows = build_schedule(m)
    assert windows[0].stalls and overlapping_validator_outages(m, windows) == []  # allowed: the resume check holds it


@pytest.mark.parametrize("offset_s", [-3.0, 0.0, 7.3, 12.0, 18.9, 61.25])
def test_an_aligned_partition_starts_lead_ms_before_the_first_boundary_at_or_after_at(offset_s: float) -> None:
    """The run starts `offset_s` after genesis (start-up time): the partition starts at the first epoch boundary (less
    the lead) at or after `at`, so it is within one epoch of `at`, and its heal `for` later."""
    m = load_manifest("fork-race")
    part = m.partitions[0]
    actions, windows = build_schedule(m, offset_s)
    (w,) = windows
    assert w.epoch is not None
    boundary_since_genesis = w.epoch * m.epoch_slots * m.slot_ms / 1000
    assert w.start_s == pytest.approx(boundary_since_genesis - part.lead_ms / 1000 - offset_s)
    assert part.at_s <= w.start_s < part.at_s + m.epoch_s
    assert w.end_s == pytest.approx(w.start_s + part.for_s) and w.end_s <= m.duration_s
    assert [(a.action, a.at_s, a.precise) for a in actions] == [("partition", w.start_s, True),
                                                                 ("heal", w.end_s, False)]


def test_a_plain_partition_stays_at_its_at_whatever_the_offset() -> None:
    m = parse_manifest(doc({"align": None, "lead_ms": None}))
    _, windows = build_schedule(m, 7.3)
    assert (windows[0].start_s, windows[0].epoch) == (20, None)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (doc({"align": "slot"}), "partition #0: align must be one of 'epoch', got 'slot'"),
        (doc({"align": None}), "partition #0: lead_ms (how long before the epoch boundary) needs align = \"epoch\""),
        (doc({"lead_ms": 5000}), "partition #0.lead_ms: 5000 is outside 0..4999"),
        (doc({"lead_ms": 1.5}), "partition #0.lead_ms: expected an integer"),
        (doc({"colour": "red"}), "partition #0: unknown key 'colour'"),
        (doc(checks={}), "partition #0: neither group holds 2/3 of the validators' stake, so finality stops"),
        (doc(checks={"finality_resume_epochs": 0}), "[checks].finality_resume_epochs: 0 is outside 1..1000"),
        (doc({"for": 38}), "a perturbation ends at 63 s, after duration_s (60): partition #0 (aligned: it may start "
                           "up to one epoch after `at`)"),
        (doc(node=[*BASE["node"][:4], {"name": "f0", "perturb": [{"at": 38, "kind": "kill", "for": 5}]}]),
         "partition #0 stops finality (20-39 s, the latest it may run), and f0's kill at 38 s overlaps it: nothing "
         "else may be perturbed while finality is stopped"),
        (doc(partition=[*BASE["partition"], {"at": 36, "for": 5, "groups": [["v0", "v1", "v2"], ["v3"]]}]),
         "and partition #1 at 36 s overlaps it"),
    ],
)
def test_a_bad_aligned_or_stalling_partition_is_one_clear_error(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(bad, "m.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("m.toml: ")


def test_a_partition_that_leaves_a_side_two_thirds_needs_no_resume_bound() -> None:
    majority = doc({"groups": [["v0", "v1", "v2"], ["v3", "f0"]]}, checks={})
    m = parse_manifest(majority)
    assert not m.stalls_finality(m.partitions[0]) and m.finality_resume_epochs is None
