"""The testnet's `clock` perturbation and its own checks (issue 30): no ban caused by a clock, the skewed node keeps a
peer, its finality keeps within the manifest's bound. The checks on fabricated observations, each passing on a good
run and failing, saying why, on a bad one; and the schedules of the `clock` manifest and of the `ci` manifest, which
carries the same skews beside its other perturbations (tests/testnet/test_testnet_ci.py runs it end to end and asserts
these checks)."""

from __future__ import annotations

import pytest

from btt_chain.testnet import checks
from btt_chain.testnet.checks import BanEvent, Sample
from btt_chain.testnet.manifest import ManifestError, load_manifest, parse_manifest
from btt_chain.testnet.perturbations import Window, build_schedule, overlapping_validator_outages

SKEW = Window("clock v1 +700 ms", 20, 80, (), ("v1",), 700)
KILL = Window("kill v3", 100, 110, ("v3",))


def run(v1_peers: list[int | None], v1_lag: list[int]) -> list[Sample]:
    """Samples every 10 s from 0 to 90 s: v0 at the best head (fin = head - 5), v1 with the given peers and lag."""
    out = []
    for i, (peers, lag) in enumerate(zip(v1_peers, v1_lag, strict=True)):
        t, head = i * 10.0, 20 + i * 10
        out.append(Sample(t, "v0", head, head - 5, 3))
        out.append(Sample(t, "v1", None if peers is None else head - 1, None if peers is None else head - lag, peers))
    return out


@pytest.mark.parametrize("name", ["clock", "ci"])
def test_a_clock_window_takes_nobody_out_and_names_its_node(name: str) -> None:
    manifest = load_manifest(name)
    _actions, every = build_schedule(manifest)
    windows = [w for w in every if w.skewed]
    assert windows and all(w.affected == () for w in windows)
    skews = sorted((w.skewed, w.skew_ms) for w in windows)
    assert skews == [(("v1",), -700), (("v1",), 700), (("v2",), -2000), (("v2",), 2000)]
    overlap = [w for w in windows if w.skewed == ("v1",) and w.skew_ms == 700][0]
    other = [w for w in windows if w.skewed == ("v2",) and w.skew_ms == 2000][0]
    assert other.start_s < overlap.end_s, "the two validators' skews must overlap"
    assert overlapping_validator_outages(manifest, every) == []  # a skewed validator is not out
    assert (manifest.clock_lag_blocks, manifest.clock_join_s) == (25, 30)


def test_the_checks_table_is_checked() -> None:
    base = {"duration_s": 60, "node": [{"name": "v0", "validator": "alice"}]}
    m = parse_manifest(base)
    assert (m.clock_lag_blocks, m.clock_join_s) == (20, 45.0)
    with pytest.raises(ManifestError, match=r"\[checks\]: unknown key 'clock_lag'"):
        parse_manifest({**base, "checks": {"clock_lag": 3}})
    with pytest.raises(ManifestError, match=r"clock_lag_blocks: 0 is outside"):
        parse_manifest({**base, "checks": {"clock_lag_blocks": 0}})
    with pytest.raises(ManifestError, match="are tables"):
        parse_manifest({**base, "checks": 5})


def test_no_ban_from_clocks_passes_without_bans_and_with_an_unrelated_one() -> None:
    assert checks.check_no_ban_from_clocks([], [SKEW, KILL], grace_s=15).passed
    unrelated = BanEvent(105, "v0", "v3", "invalid block via gossip: state root mismatch")
    c = checks.check_no_ban_from_clocks([unrelated], [SKEW, KILL], grace_s=15)
    assert c.passed and "1 bans" in c.lines[0]


def test_no_ban_from_clocks_fails_on_a_ban_by_or_of_the_skewed_node_and_on_a_timing_reason() -> None:
    of_it = BanEvent(30, "v0", "v1", "invalid block via gossip: slot 40 is in the future")
    by_it = BanEvent(90, "v1", "v2", "invalid block via gossip: anything")  # within the grace after the window
    timing = BanEvent(150, "v2", "v3", "score at or below -100 (block #9 claims slot 70, 40.0 s ahead of our clock)")
    for ban in (of_it, by_it, timing):
        c = checks.check_no_ban_from_clocks([ban], [SKEW], grace_s=15)
        assert not c.passed, ban
        assert ban.reason in c.lines[0]
    assert "during clock v1 +700 ms" in checks.check_no_ban_from_clocks([by_it], [SKEW], 15).lines[0]
    assert "timing reason" in checks.check_no_ban_from_clocks([timing], [SKEW], 15).lines[0]
    late = BanEvent(96, "v1", "v2", "invalid block via gossip: anything")  # after the grace: not the clock's
    assert checks.check_no_ban_from_clocks([late], [SKEW], grace_s=15).passed


def test_clock_peers_pass_when_the_node_keeps_a_peer_after_its_restart() -> None:
    # down and alone right after the restart (20-40 s): allowed within clock_join_s
    c = checks.check_clock_peers(run([3, 3, None, 0, 2, 2, 1, 2, 3, 3], [5] * 10), [SKEW], join_s=20)
    assert c.passed, c.lines
    assert "kept 1..2 peers" in c.lines[0]


def test_clock_peers_fail_when_the_node_is_cut_off_or_silent_during_the_skew() -> None:
    alone = checks.check_clock_peers(run([3, 3, 2, 2, 2, 0, 0, 2, 3, 3], [5] * 10), [SKEW], join_s=20)
    assert not alone.passed and "0 peers at 50 s (2 of 4 samples)" in alone.lines[0]
    silent = checks.check_clock_peers(run([3, 3, 2, 2, None, 2, 2, 2, 3, 3], [5] * 10), [SKEW], join_s=20)
    assert not silent.passed and "no answer at 40 s" in silent.lines[0]
    never = checks.check_clock_peers([], [SKEW], join_s=20)
    assert not never.passed and "no sample" in never.lines[0]
    short = checks.check_clock_peers([], [Window("clock v1 +300 ms", 10, 25, (), ("v1",), 300)], join_s=20)
    assert short.passed and "not held to it" in short.lines[0]


def test_clock_lag_holds_the_skewed_node_to_the_bound_after_its_restart() -> None:
    lags = [5, 5, 40, 30, 12, 9, 8, 7, 5, 5]  # 40 and 30 right after the restart: within clock_join_s
    c = checks.check_clock_lag(run([3] * 10, lags), [SKEW], join_s=20, bound=12)
    assert c.passed and "max 12 blocks" in c.lines[0], c.lines
    stuck = [5, 5, 5, 8, 11, 14, 17, 20, 5, 5]  # finality stuck while skewed: the lag grows
    c = checks.check_clock_lag(run([3] * 10, stuck), [SKEW], join_s=20, bound=12)
    assert not c.passed and "max 20 blocks (at 70 s)" in c.lines[0]
    c = checks.check_clock_lag(run([3, 3, None, None, None, None, None, None, 3, 3], [5] * 10), [SKEW], 20, 12)
    assert not c.passed and "no finalized height" in c.lines[0]


OUT_AFTER_START_S = 15
"""How long a killed or restarted node stays out after it is started again, on a busy machine (about 10 s)."""


def test_the_ci_manifest_leaves_its_skewed_nodes_alone_and_no_validator_out_while_two_are_skewed() -> None:
    """The `ci` manifest's other perturbations keep clear of its skews: a skewed node is not killed, paused, cut off
    or restarted during its skew (the checks require it to keep a peer and vote then); no validator is out while
    both skewed validators are (finality would need both skewed votes); no validator goes out within 5 s of a restart
    that applies or ends a skew (that node is briefly down too); no other validator is out in a skewed node's checked
    span (from clock_join_s after its restart until the skew ends), the time a node takes to start again included;
    and every skew is long enough to be checked."""
    manifest = load_manifest("ci")
    _actions, windows = build_schedule(manifest)
    validators = {n.name for n in manifest.validators}
    skews = [w for w in windows if w.skewed]
    skewed = {name for w in skews for name in w.skewed}
    outages = [w for w in windows if w.affected]
    for s in skews:
        assert s.end_s - s.start_s > manifest.clock_join_s, s.label
        for o in outages:
            assert set(o.affected).isdisjoint(s.skewed) or o.end_s <= s.start_s or o.start_s >= s.end_s, \
                (s.label, o.label)
            if set(o.affected) & validators:
                for edge in (s.start_s, s.end_s):
                    assert o.end_s <= edge - 5 or o.start_s >= edge + 5 or set(o.affected) == set(s.skewed), \
                        (s.label, o.label)
            if set(o.affected) & (validators - skewed):
                out_until = o.end_s + (OUT_AFTER_START_S if o.label.split()[0] in ("kill", "restart") else 0)
                assert out_until <= s.start_s + manifest.clock_join_s or o.start_s >= s.end_s, (s.label, o.label)
    for a in skews:
        for b in skews:
            lo, hi = max(a.start_s, b.start_s), min(a.end_s, b.end_s)
            if a.skewed == b.skewed or lo >= hi:
                continue
            assert hi - lo >= 20, (a.label, b.label)  # the two validators' skews overlap for a while
            assert not any(set(o.affected) & validators and o.start_s < hi and o.end_s > lo for o in outages), \
                (a.label, b.label)
