"""The checks of a node that joins mid-run (`join_at`, `sync = "warp"`) on fabricated observations: each passes on a
healthy join and fails, saying why, on a broken one (a warp that never finished or ran twice, a restart that warped
again, RPC that names another target, a node that lags, forks or holds another state)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from btt_chain.testnet import checks
from btt_chain.testnet.checks import JoinObservation, Sample, StateComparison, WarpLog
from btt_chain.testnet.perturbations import Window

WARP = WarpLog(started_s=101.0, proof_s=101.5, fragments=3, proof_target=88, done_s=102.0, target=88,
               target_hash="0x6dbdd2dd96f74043", keys=635, state_mb=0.1, received_mb=0.1, took_s=0.9)
JOIN = JoinObservation("w0", "warp", 100.0, 104.0, (100.0, 150.0), (WARP,), (150.8,), 88)
KILL_W0 = Window("kill w0", 140, 150, ("w0",))
PARTITION = Window("partition v0,v1,v2 | w0", 170, 180, ("w0",), sides=(("v0", "v1", "v2"), ("w0",)))


def samples(lag: Mapping[float, int | None] | None = None, until: float = 200) -> list[Sample]:
    """v0 heads one block a second from #100 at 100 s; w0 from 104 s (when it first answers) at v0's head less
    `lag[t]` (None: no answer), down 140-150 s (killed)."""
    lag = lag or {}
    out = []
    t = 100.0
    while t <= until:
        top = int(t)
        out.append(Sample(t, "v0", top, top - 6, 3))
        if t >= 104:
            down = 140 <= t <= 150
            behind = lag.get(t, 0)
            out.append(Sample(t, "w0", None if down or behind is None else top - behind,
                              None if down or behind is None else top - 6, None if down else 3))
        t += 2
    return out


def test_a_warp_join_that_synced_once_and_resumed_at_its_restart_passes() -> None:
    c = checks.check_joins_synced([JOIN], samples(), sync_s=60, lag_blocks=10)
    assert c.passed, c.lines
    text = "\n".join(c.lines)
    assert "w0: joined at 100 s (warp sync), answered RPC at 104 s, within 10 blocks of the best head at 104 s" in text
    assert "warp proof of 3 fragments to #88 verified at 101.5 s; state of #88 0x6dbdd2dd96f74043 (635 keys" in text
    assert "started 1 more time(s) (150 s): each resumed from its database, none warped again" in text


def test_a_join_that_never_answered_or_synced_late_fails() -> None:
    c = checks.check_joins_synced([dataclasses.replace(JOIN, up_s=None, warps=(WarpLog(101.0),))], samples(), 60, 10)
    assert not c.passed
    assert "w0: joined at 100 s (warp sync) and never answered RPC" in c.lines[0]
    assert "its warp sync never finished (no proof verified" in c.lines[0]
    late = samples({t: 30 for t in (104.0, 106.0, 108.0)} | {t: 20 for t in range(110, 202, 2)})
    c = checks.check_joins_synced([JOIN], late, sync_s=60, lag_blocks=10)
    assert not c.passed and "FAIL: never within 10 blocks of the best head" in c.lines[0]
    slow = samples({float(t): 20 for t in range(104, 170, 2)})
    c = checks.check_joins_synced([JOIN], slow, sync_s=60, lag_blocks=10)
    assert not c.passed and "synced 70.0 s after joining (bound 60 s); FAIL: over the bound" in c.lines[0]


def test_a_warp_that_never_finished_ran_again_or_disagrees_with_rpc_fails() -> None:
    unfinished = dataclasses.replace(JOIN, warps=(dataclasses.replace(WARP, done_s=None, target=None),))
    c = checks.check_joins_synced([unfinished], samples(), 60, 10)
    assert not c.passed and any("its warp sync never finished (proof of 3 fragments to #88 verified at 101.5 s"
                                in line for line in c.lines)
    again = dataclasses.replace(JOIN, warps=(WARP, WarpLog(150.5)), resumed=())
    c = checks.check_joins_synced([again], samples(), 60, 10)
    text = "\n".join(c.lines)
    assert not c.passed
    assert "FAIL: warped again after its warp was done, at 150.5 s" in text
    assert "FAIL: 1 later starts (150 s), 0 resumed from its database" in text
    c = checks.check_joins_synced([dataclasses.replace(JOIN, rpc_base=90)], samples(), 60, 10)
    assert not c.passed and "FAIL: its RPC names #90 as its warp target, the log #88" in "\n".join(c.lines)
    c = checks.check_joins_synced([dataclasses.replace(JOIN, rpc_base=0)], samples(), 60, 10)
    assert not c.passed and "its RPC does not say it was warp-synced at #88 (it serves block 1)" in "\n".join(c.lines)
    unproven = dataclasses.replace(JOIN, warps=(dataclasses.replace(WARP, proof_s=None, proof_target=None),))
    c = checks.check_joins_synced([unproven], samples(), 60, 10)
    assert not c.passed and "had no verified proof to that block" in "\n".join(c.lines)


def test_an_earlier_cut_off_warp_is_told_but_not_failed() -> None:
    retried = dataclasses.replace(JOIN, warps=(WarpLog(100.5), WARP))
    c = checks.check_joins_synced([retried], samples(), 60, 10)
    assert c.passed, c.lines
    assert "w0: 1 warp attempt(s) before the one that finished" in c.lines


def test_a_full_sync_join_must_serve_block_one_and_never_warp() -> None:
    full = dataclasses.replace(JOIN, sync="full", warps=(), resumed=(), rpc_base=0)
    assert checks.check_joins_synced([full], samples(), 60, 10).passed
    c = checks.check_joins_synced([dataclasses.replace(full, rpc_base=88)], samples(), 60, 10)
    assert not c.passed and "w0: FAIL: a full-sync node does not serve block 1" in c.lines
    c = checks.check_joins_synced([dataclasses.replace(full, warps=(WARP,))], samples(), 60, 10)
    assert not c.passed and "w0: FAIL: a full-sync node warped" in c.lines


def test_a_perturbation_skipped_for_want_of_sync_fails_the_join() -> None:
    skipped = dataclasses.replace(JOIN, skipped=("kill w0 at 101 s skipped: no RPC answer yet since it joined",))
    c = checks.check_joins_synced([skipped], samples(), 60, 10)
    assert not c.passed and "w0: FAIL: kill w0 at 101 s skipped: no RPC answer yet since it joined" in c.lines


def test_penalties_the_joined_node_gave_are_told_not_failed() -> None:
    reason = "v0 by 20: invalid justification"
    told = dataclasses.replace(JOIN, penalties=(f"105 s: {reason}", f"106 s: {reason}"))
    c = checks.check_joins_synced([told], samples(), 60, 10)
    assert c.passed
    assert c.lines[-1] == (f"w0 penalised its peers 2 times (information; all are honest): 105 s: {reason}; "
                           f"106 s: {reason}")


def test_no_join_is_said() -> None:
    assert checks.check_joins_synced([], [], 60, 10).lines == ("no node joined mid-run",)
    assert checks.check_joins_follow([], [], [], 10, 60, 15).lines == ("no node joined mid-run",)
    assert checks.check_joins_agree([], {}, []).lines == ("no node joined mid-run",)


def test_caught_up_is_the_first_answer_within_the_bound() -> None:
    s = samples({104.0: 40, 106.0: None, 108.0: 11, 110.0: 10})
    assert checks.caught_up_at(s, "w0", 100, 10) == 110
    assert checks.caught_up_at(s, "w0", 100, 40) == 104
    assert checks.caught_up_at(s, "w0", 100, 0) == 112
    assert checks.caught_up_at(s, "nobody", 100, 10) is None


def test_a_joined_node_that_keeps_up_follows_its_own_kill_spared() -> None:
    after_kill = {152.0: 30, 154.0: 12}  # catching up after its kill: spared until back within the bound
    c = checks.check_joins_follow([JOIN], samples(after_kill), [KILL_W0], lag_blocks=10, catch_up_s=60, grace_s=15)
    assert c.passed, c.lines
    assert "back within it 6.0 s after the kill w0" in c.lines[0]
    assert "last head #200, finalized #194 at 200 s" in c.lines[0]


def test_a_joined_node_that_falls_behind_or_does_not_come_back_fails() -> None:
    behind = samples({120.0: 11, 122.0: 25})
    c = checks.check_joins_follow([JOIN], behind, [KILL_W0], 10, 60, 15)
    assert not c.passed and "max 25 blocks (at 122 s); bound 10" in c.lines[0]
    assert "FAIL: over the bound at 2 samples, first at 120 s" in c.lines[0]
    stuck = samples({float(t): 40 for t in range(152, 202, 2)})
    c = checks.check_joins_follow([JOIN], stuck, [KILL_W0], 10, 30, 15)
    assert not c.passed
    assert "w0: FAIL: not within 10 blocks of the best head within 30 s after the kill w0 at 150 s" in c.lines[0]
    c = checks.check_joins_follow([JOIN], samples({float(t): 40 for t in range(104, 202, 2)}), [], 10, 60, 15)
    assert not c.passed and c.lines == ("w0: never within 10 blocks of the best head",)


def test_a_partition_spares_the_joined_node_until_its_grace_after_the_heal() -> None:
    cut = samples({float(t): 20 for t in range(170, 194, 2)})
    assert checks.check_joins_follow([JOIN], cut, [PARTITION], 10, 60, grace_s=15).passed
    assert not checks.check_joins_follow([JOIN], cut, [PARTITION], 10, 60, grace_s=5).passed


def test_a_clock_skew_on_the_joined_node_spares_its_two_restarts_not_the_span_between() -> None:
    clock = Window("clock w0 +700 ms", 120, 160, (), ("w0",), 700)
    lagging_between = samples({130.0: 20})
    c = checks.check_joins_follow([JOIN], lagging_between, [clock], 10, 5, 15)
    assert not c.passed and "first at 130 s" in c.lines[0]


def agreement(w0_at_120: str = "0xaa") -> dict[str, dict[int, dict[str, str | None]]]:
    return {"w0": {88: {"w0": "0x88", "v0": "0x88", "v1": "0x88"}, 120: {"w0": w0_at_120, "v0": "0xaa", "v1": "0xaa"},
                   150: {"w0": "0xbb", "v0": "0xbb"}}}


STATE = StateComparison("w0", "v0", 150, "0xbb", {"w0": "0xroot", "v0": "0xroot", "v1": "0xroot"}, keys=706)


def test_a_joined_node_on_the_others_blocks_and_state_agrees() -> None:
    c = checks.check_joins_agree([JOIN], agreement(), [STATE])
    assert c.passed, c.lines
    assert c.lines == ("w0: the same blocks as v0, v1 at 3 finalized heights #88..#150",
                       "w0: at #150 the state root 0xroot on 3 nodes; its state equals v0's key for key (706 keys)")


def test_a_fork_or_a_missing_block_of_the_joined_node_fails() -> None:
    c = checks.check_joins_agree([JOIN], agreement("0xfork"), [STATE])
    assert not c.passed and "w0: FAIL: #120: w0 has 0xfork, v0 0xaa, v1 0xaa" in c.lines
    c = checks.check_joins_agree([JOIN], agreement(None), [STATE])  # type: ignore[arg-type]
    assert not c.passed and "w0: FAIL: no block at finalized #120" in c.lines
    c = checks.check_joins_agree([JOIN], {}, [STATE])
    assert not c.passed and "w0: no finalized height compared" in c.lines
    alone = {"w0": {88: {"w0": "0x88"}}}
    c = checks.check_joins_agree([JOIN], alone, [STATE])
    assert not c.passed and "nobody (no other node answered)" in c.lines[0]


def test_another_state_or_state_root_fails() -> None:
    differs = dataclasses.replace(STATE, differences=("0x26aa: w0 0x01, v0 0x02", "0x3a63: w0 None, v0 0x03"))
    c = checks.check_joins_agree([JOIN], agreement(), [differs])
    assert not c.passed
    assert "w0: FAIL: its state at #150 differs from v0's at 2 of 706 keys" in c.lines
    assert "  0x26aa: w0 0x01, v0 0x02" in c.lines
    roots = dataclasses.replace(STATE, roots={"w0": "0xother", "v0": "0xroot", "v1": "0xroot"})
    c = checks.check_joins_agree([JOIN], agreement(), [roots])
    assert not c.passed and "w0: FAIL: state roots at #150: 0xroot on v0, v1; 0xother on w0" in c.lines
    c = checks.check_joins_agree([JOIN], agreement(), [dataclasses.replace(STATE, error="timed out")])
    assert not c.passed and "w0: FAIL: state at #150 not compared with v0's: timed out" in c.lines
    c = checks.check_joins_agree([JOIN], agreement(), [])
    assert not c.passed and "w0: its state was not compared" in c.lines
    silent = dataclasses.replace(STATE, roots={"w0": None, "v0": "0xroot"})
    assert not checks.check_joins_agree([JOIN], agreement(), [silent]).passed


def test_one_chain_says_a_warp_synced_node_holds_no_block_below_its_target() -> None:
    c = checks.check_one_chain({"v0": 40, "w0": 95}, {"v0": "0xaa", "w0": None}, {"w0": 88})
    assert not c.passed
    assert "w0 was warp-synced at #88: it holds no block at #40" in c.lines
    assert checks.check_one_chain({"v0": 140, "w0": 141}, {"v0": "0xaa", "w0": "0xaa"}, {"w0": 88}).passed
