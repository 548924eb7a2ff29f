"""The finality check's allowance for validators impaired together: it applies only where the impaired validators
held a third of the stake or more (restarts until the node answered again, clocks a slot or more off), and it holds a
window overlapping such a span to finality moving soon after the span ends; never an excuse for a stall beyond it."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from btt_chain.testnet import checks
from btt_chain.testnet.checks import Sample
from btt_chain.testnet.impairment import impairments, stalling_spans
from btt_chain.testnet.perturbations import Window

STAKE = {"v0": 10_000, "v1": 10_000, "v2": 10_000, "v3": 10_000}
NODES = (*STAKE, "w0")
GRACE_S = 15.0
EPOCH_S = 5.0


def observe(until_s: float, down: dict[str, list[tuple[float, float]]],
            finalized: Callable[[float], int]) -> list[Sample]:
    """A sample of every node every second to `until_s`; a node does not answer inside its `down` spans."""
    out = []
    for i in range(int(until_s) + 1):
        t = float(i)
        for node in NODES:
            if any(lo < t < hi for lo, hi in down.get(node, [])):
                out.append(Sample(t, node, None, None, None))
            else:
                fin = finalized(t)
                out.append(Sample(t, node, fin + 5, fin, 3))
    return out


def stalled(from_s: int, for_s: int) -> Callable[[float], int]:
    """One block finalized a second, none from `from_s` for `for_s` seconds."""
    return lambda t: int(t) if t < from_s else from_s + int(max(0.0, t - from_s - for_s))


def progress(observed: list[Sample], windows: list[Window], stake: dict[str, int] = STAKE) -> checks.Check:
    return checks.check_finality_progress(observed, windows, GRACE_S, stake=stake, slot_s=1.0, epoch_s=EPOCH_S)


# the run at 2672399 (2026-11-29, a loaded host): v1's clock restored at 195 s by a restart that took 18 s; v2 2 s
# slow until its own restart at 210 s (17 s); a full node restarted at 200 s; finality stood at #151 from 196 s and
# moved again at 222 s
CI_WINDOWS = [Window("clock v1 -700 ms", 150, 195, (), ("v1",), -700),
              Window("clock v2 -2000 ms", 165, 210, (), ("v2",), -2000),
              Window("restart w0", 200, 200, ("w0",)),
              Window("kill v3", 218, 226, ("v3",))]
CI_DOWN = {"v1": [(150, 154), (195, 213)], "v2": [(165, 169), (210, 227)], "w0": [(200, 206)], "v3": [(218, 229)]}


def ci_finality(stall_until_s: float) -> Callable[[float], int]:
    def finalized(t: float) -> int:
        if t < 196:
            return int(t) - 45
        if t < stall_until_s:
            return 151
        return 151 + int(t - stall_until_s) + 1
    return finalized


def test_a_slow_restart_beside_a_clock_two_slots_off_is_a_stall_the_network_is_entitled_to() -> None:
    observed = observe(250, CI_DOWN, ci_finality(222))
    strict = progress(observed, CI_WINDOWS, stake={})
    assert not strict.passed  # what failed on the loaded host
    assert any(line.startswith("restart w0 (200-200 s): finality stuck at #151") for line in strict.lines)
    allowed = progress(observed, CI_WINDOWS)
    assert allowed.passed, allowed.lines
    line = next(line for line in allowed.lines if line.startswith("restart w0"))
    # 20 s after v1 came back (233 s) reaches v3's kill at 218 s, while v2 had not come back: v2 and v3 out together
    assert "deadline 247 s: v1, v2 impaired together 195 s - 213 s; v2, v3 impaired together 218 s - 227 s" in line


def test_finality_stuck_beyond_the_bound_after_the_span_still_fails() -> None:
    c = progress(observe(280, CI_DOWN, ci_finality(248)), CI_WINDOWS)
    assert not c.passed
    assert any(line.startswith("restart w0 (200-200 s): finality stuck at #151") for line in c.lines)


def test_a_clock_less_than_a_slot_off_impairs_only_through_its_restarts() -> None:
    windows = [Window("clock v1 -700 ms", 150, 195, (), ("v1",), -700),
               Window("clock v2 -700 ms", 165, 210, (), ("v2",), -700), *CI_WINDOWS[2:]]
    quick = {"v1": [(150, 154), (195, 199)], "v2": [(165, 169), (210, 214)], "w0": [(200, 206)], "v3": [(218, 229)]}
    observed = observe(250, quick, ci_finality(222))
    assert stalling_spans(observed, windows, STAKE, 1.0) == []
    c = progress(observed, windows)
    assert not c.passed and any(line.startswith("restart w0 (200-200 s): finality stuck") for line in c.lines)


def test_a_quarter_of_the_stake_impaired_is_no_allowance() -> None:
    windows = [Window("clock v2 -2000 ms", 165, 210, (), ("v2",), -2000), Window("restart w0", 200, 200, ("w0",))]
    observed = observe(250, {"v2": [(165, 169), (210, 227)], "w0": [(200, 206)]}, ci_finality(222))
    assert stalling_spans(observed, windows, STAKE, 1.0) == []
    assert not progress(observed, windows).passed


def test_a_restart_impairs_until_the_node_answers_and_a_partition_side_until_the_heal() -> None:
    windows = [Window("restart v0", 10, 10, ("v0",)), Window("kill v1", 20, 28, ("v1",)),
               Window("partition v2 | v0,v1,v3", 40, 50, ("v2",), sides=(("v2",), ("v0", "v1", "v3"))),
               Window("restart w0", 60, 60, ("w0",)), Window("clock v3 +2000 ms", 70, 90, (), ("v3",), 2000),
               Window("kill v0 for good", 95, 96, ("v0",))]
    observed = observe(110, {"v0": [(10, 17), (95, 200)], "v1": [(20, 31)], "w0": [(60, 63)],
                             "v3": [(70, 72), (90, 93)]}, lambda t: int(t))
    found = {(i.node, i.start_s, i.end_s) for i in impairments(observed, windows, STAKE, 1.0)}
    assert found == {("v0", 10, 17), ("v1", 20, 31), ("v2", 40, 50), ("v3", 70, 72), ("v3", 90, 93),
                     ("v3", 70, 90), ("v0", 95, math.inf)}  # w0 holds no stake; v0 never answered again


def test_spans_merge_while_a_third_stays_impaired_and_name_every_node() -> None:
    windows = [Window("kill v0", 10, 20, ("v0",)), Window("kill v1", 15, 30, ("v1",)),
               Window("kill v2", 25, 40, ("v2",))]
    observed = observe(60, {"v0": [(10, 21)], "v1": [(15, 31)], "v2": [(25, 41)]}, lambda t: int(t))
    spans = stalling_spans(observed, windows, STAKE, 1.0)
    assert [(s.start_s, s.end_s, s.nodes) for s in spans] == [(15.0, 21.0, ("v0", "v1")),
                                                               (25.0, 31.0, ("v1", "v2"))]
    heavy = {**STAKE, "v0": 30_000}  # v0 alone holds half: its kill alone is a stalling span
    assert [(s.start_s, s.end_s) for s in stalling_spans(observed, windows, heavy, 1.0)] == [(10.0, 21.0),
                                                                                             (25.0, 31.0)]


def test_random_schedules_get_an_allowance_only_where_a_third_was_impaired_at_some_moment() -> None:
    rng = random.Random(20261129)
    for _ in range(300):
        windows: list[Window] = []
        down: dict[str, list[tuple[float, float]]] = {}
        for _ in range(rng.randint(1, 5)):
            node = rng.choice(NODES)
            start = float(rng.randint(0, 150))
            if rng.random() < 0.3 and node != "w0":
                skew = rng.choice([-2000, -700, 700, 2000])
                end = start + rng.randint(10, 40)
                windows.append(Window(f"clock {node} {skew:+d} ms", start, end, (), (node,), skew))
                for at in (start, end):
                    down.setdefault(node, []).append((at, at + rng.randint(1, 20)))
            else:
                end = start + rng.choice([0, rng.randint(1, 20)])
                windows.append(Window(f"kill {node}", start, end, (node,)))
                down.setdefault(node, []).append((start, end + rng.randint(1, 20)))
        stall_from, stall_for = rng.randint(0, 200), rng.randint(0, 60)
        observed = observe(260, down, stalled(stall_from, stall_for))
        strict = progress(observed, windows, stake={})
        allowed = progress(observed, windows)
        spans = stalling_spans(observed, windows, STAKE, 1.0)
        # brute force: at some second a third of the stake was down or a slot or more off
        impaired_once = False
        for i in range(261):
            t = i + 0.5
            out = {n for n, spans_of in down.items() for lo, hi in spans_of if lo <= t < hi and n in STAKE}
            out |= {n for w in windows for n in w.skewed if abs(w.skew_ms) >= 1000 and w.start_s <= t < w.end_s}
            impaired_once |= 3 * len(out) >= len(STAKE)
        assert bool(spans) == impaired_once
        if not spans:
            assert allowed == strict
        assert not strict.passed or allowed.passed  # the allowance never fails a run the strict check passes
        for w, line in zip(windows, allowed.lines, strict=True):
            if "deadline" in line:  # only a window that overlaps a span, and its deadline after that span ends
                assert any(s.start_s <= w.end_s + GRACE_S and s.end_s >= w.start_s for s in spans), line
