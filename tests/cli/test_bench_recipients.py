"""`bench import --recipients`: who the benchmark's transfers pay, and that the mode reaches the printed figures."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from bench.import_bench import RECIPIENT_MODES, Recipients, filler_account, summarise_runs
from btt_chain.primitives.keys import Keypair
from cli.main import cli

SIGNERS = [Keypair(i.to_bytes(32, "big")) for i in range(1, 11)]


def test_uniform_draws_from_every_genesis_account() -> None:
    accounts = 1_000
    genesis = {k.public for k in SIGNERS} | {filler_account(i) for i in range(accounts - len(SIGNERS))}
    dests = Recipients("uniform", accounts, SIGNERS)
    drawn = [dests.next(i) for i in range(5_000)]
    assert set(drawn) <= genesis
    # uniform over 1,000 accounts: 5,000 draws reach nearly all of them, and mostly not the signers
    assert len(set(drawn)) > 950
    assert sum(d in {k.public for k in SIGNERS} for d in drawn) < 200
    # deterministic for a seed, so the authoring and the importing side agree
    again = Recipients("uniform", accounts, SIGNERS)
    assert [again.next(i) for i in range(5_000)] == drawn


def test_new_recipients_never_exist_and_never_repeat() -> None:
    accounts = 1_000
    genesis = {k.public for k in SIGNERS} | {filler_account(i) for i in range(accounts - len(SIGNERS))}
    dests = Recipients("new", accounts, SIGNERS)
    drawn = [dests.next(i) for i in range(2_000)]
    assert len(set(drawn)) == 2_000 and not set(drawn) & genesis


def test_signers_mode_stays_among_the_signers() -> None:
    dests = Recipients("signers", 1_000_000, SIGNERS)
    assert {dests.next(i) for i in range(100)} <= {k.public for k in SIGNERS}


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="uniform"):
        Recipients("everyone", 10, SIGNERS)
    result = CliRunner().invoke(cli, ["bench", "import", "--recipients", "everyone"])
    assert result.exit_code != 0 and "--recipients" in result.output
    assert set(RECIPIENT_MODES) == {"signers", "uniform", "new"}


@pytest.mark.parametrize("mode", ["uniform", "new"])
def test_the_mode_is_printed_with_the_figures(mode: str) -> None:
    result = CliRunner().invoke(
        cli, ["bench", "import", "--accounts", "60", "--transfers", "20", "--blocks", "2", "--recipients", mode]
    )
    assert result.exit_code == 0, result.output
    fields = dict(line.split(None, 1) for line in result.output.splitlines() if "building a state" not in line)
    assert fields["recipients"] == mode and fields["transfers"] == "40"
    assert int(fields["import_tx_per_s"]) > 0
    assert fields["blocks_checked_ahead_of_the_last"] == "0"  # a block under 256 signatures is checked as it comes
    assert fields["authored_transfers"] == "20"


def test_the_last_measured_block_checks_the_next_ones_signatures_ahead_as_every_block_before_it() -> None:
    # blocks big enough to be checked beside execution: the last of the run has a block after it (authored, never
    # imported) to check ahead, so both flatness windows do the same work; the pool the node fills afterwards, with
    # the same nonces as that block, is admitted and authored in full
    result = CliRunner().invoke(cli, ["bench", "import", "--accounts", "400", "--transfers", "300", "--blocks", "2"])
    assert result.exit_code == 0, result.output
    fields = dict(line.split(None, 1) for line in result.output.splitlines() if "building a state" not in line)
    assert fields["blocks_checked_ahead_of_the_last"] == "1"
    assert fields["transfers"] == "600" and fields["authored_transfers"] == "300"
    # what the caches keep of each block: at least each valid signature's cache key
    assert int(fields["python_heap_blocks_kept_a_block"]) >= 300


def test_several_runs_print_each_number_as_its_range_and_median() -> None:
    runs = [{"recipients": "new", "import_tx_per_s": 9, "ratio": 0.5, "blocks_ms": [1.0, 2.0], "steady": None},
            {"recipients": "new", "import_tx_per_s": 5, "ratio": 0.25, "blocks_ms": [3.0], "steady": None},
            {"recipients": "new", "import_tx_per_s": 7, "ratio": 0.75, "blocks_ms": [1.0, 2.0], "steady": 1.1}]
    out = summarise_runs(runs)
    assert out["runs"] == 3 and out["recipients"] == "new"
    assert out["import_tx_per_s"] == "5-9 (median 7)" and out["ratio"] == "0.25-0.75 (median 0.5)"
    assert out["blocks_ms"] == "[1.0, 2.0] | [3.0] | [1.0, 2.0]" and out["steady"] == "None | None | 1.1"


def test_the_runs_flag_runs_the_bench_that_many_times() -> None:
    result = CliRunner().invoke(
        cli, ["bench", "import", "--accounts", "50", "--transfers", "20", "--blocks", "2", "--runs", "2"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("building a state") == 2
    fields = dict(line.split(None, 1) for line in result.output.splitlines() if "building a state" not in line)
    assert fields["runs"] == "2" and fields["transfers"] == "40-40 (median 40)"
    low, high = fields["import_tx_per_s"].split(" ")[0].split("-")
    assert 0 < int(low) <= int(high)
    result = CliRunner().invoke(cli, ["bench", "import", "--runs", "0"])
    assert result.exit_code != 0 and "--runs" in result.output


def test_several_runs_each_run_in_a_process_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # what a run leaves in its process (the heap it grew, ~450 MB at a million accounts) reaches no later run: with
    # the command's own `run` broken, several runs still come back, each from a process of its own
    import bench.import_bench as import_bench

    def in_the_commands_process(*args: object) -> None:
        raise RuntimeError("a run in the command's own process")

    monkeypatch.setattr(import_bench, "run", in_the_commands_process)
    args = ["bench", "import", "--accounts", "50", "--transfers", "20", "--blocks", "2"]
    result = CliRunner().invoke(cli, [*args, "--runs", "2"])
    assert result.exit_code == 0, result.output
    fields = dict(line.split(None, 1) for line in result.output.splitlines() if "building a state" not in line)
    assert fields["runs"] == "2" and fields["transfers"] == "40-40 (median 40)"
    single = CliRunner().invoke(cli, args)  # a single run stays in the command's process
    assert single.exit_code == 1 and "a run in the command's own process" in single.output


def test_warm_blocks_are_imported_first_and_not_measured() -> None:
    result = CliRunner().invoke(
        cli, ["bench", "import", "--accounts", "60", "--transfers", "20", "--blocks", "2", "--warm-blocks", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "after 3 unmeasured" in result.output
    fields = dict(line.split(None, 1) for line in result.output.splitlines() if "building a state" not in line)
    assert fields["warm_blocks"] == "3" and fields["blocks"] == "2" and fields["transfers"] == "40"
    assert len(fields["import_ms_per_block"].split(",")) == 2
    # the pool's transfers carry the nonces after all five blocks: had the node not imported the three warm blocks,
    # they would wait for the missing nonces and the authored block would hold none of them
    assert fields["authored_transfers"] == "20"
    for bad in ("-1", "301", "x"):
        refused = CliRunner().invoke(cli, ["bench", "import", "--warm-blocks", bad])
        assert refused.exit_code == 2 and "--warm-blocks" in refused.output


def test_the_steady_state_figures_compare_blocks_3_to_7_with_the_last_5() -> None:
    from bench.import_node import stage_growth, steady_state_ratio

    flat = [0.3] * 12
    growing = [0.1 * i for i in range(1, 13)]  # blocks 3-7: median 0.5; the last 5: median 1.0
    assert steady_state_ratio(flat) == 1
    assert steady_state_ratio(growing) == pytest.approx(2.0)
    assert steady_state_ratio(flat[:9]) is None  # too few blocks to say
    assert steady_state_ratio([0.0] * 12) is None  # nothing to divide by
    assert stage_growth({"block": growing, "execute": flat}) == "block 500->1000 ms, execute 300->300 ms"
    assert stage_growth({"block": growing[:9]}) is None


def test_the_flatness_windows_cpu_is_each_threads_mean_over_blocks_3_to_6_and_the_last_4() -> None:
    from bench.import_node import flatness_windows_cpu, window_cpu

    # 12 blocks: main spends 0.3 s a block throughout; the compaction thread nothing early, 0.1 s a block late
    cpu_at = [{"main": 0.3 * i, "leveldb-background": 0.1 * max(0, i - 8)} for i in range(13)]
    early, late = flatness_windows_cpu(cpu_at)
    assert early == "main 300 (sum 300)"
    assert late == "main 300, leveldb-background 100 (sum 400)"
    # a thread first seen inside a window counts from 0; a window outside the blocks is not made up
    assert window_cpu([{}, {"sig-verify": 0.2}], 1, 1) == "sig-verify 200 (sum 200)"
    assert window_cpu(cpu_at, 0, 4) is None and window_cpu(cpu_at, 10, 13) is None
    assert flatness_windows_cpu(cpu_at[:10]) == (None, None)  # 9 blocks: too few to say


def test_the_leveldb_windows_difference_the_compaction_table_over_blocks_3_to_6_and_the_last_4() -> None:
    from bench.import_node import leveldb_windows
    from storage.leveldb_stats import LevelStats

    def table(flushed: float, compacted: float) -> tuple[LevelStats, ...]:
        return (LevelStats(0, 1, 2.0, 0.0, 0.0, flushed), LevelStats(1, 5, 9.0, 0.0, compacted, compacted))

    # 12 blocks: 2 MB flushed a block throughout; compactions into level 1 start after block 6, 6 MB a block
    levels_at = {2: table(4, 0), 6: table(12, 0), 8: table(16, 12), 12: table(24, 36)}
    assert leveldb_windows(levels_at, 12) == {"leveldb_mb_written_per_block_blocks_3_6": "L0 2.0 (sum 2.0)",
                                              "leveldb_mb_written_per_block_last_4": "L0 2.0, L1 6.0 (sum 8.0)"}
    assert leveldb_windows({}, 9) == {"leveldb_mb_written_per_block_blocks_3_6": None,
                                      "leveldb_mb_written_per_block_last_4": None}


def test_a_blocks_cpu_is_every_threads_together_and_its_flatness_the_same_ratio() -> None:
    from bench.import_node import block_cpu, flatness_ratio

    # 12 blocks: main 0.1 s a block throughout, a second thread appearing at block 9 with 0.05 s a block
    cpu_at = [{"main": 0.1 * i, **({"leveldb-background": 0.05 * (i - 8)} if i > 8 else {})} for i in range(13)]
    per_block = block_cpu(cpu_at)
    assert per_block == pytest.approx([0.1] * 8 + [0.15] * 4)
    assert flatness_ratio(per_block) == pytest.approx(1.5)
    assert block_cpu(cpu_at[:1]) == []


def test_each_threads_cpu_is_counted_exactly_and_the_ended_ones_are_the_rest() -> None:
    import threading

    from bench.import_node import thread_cpu

    def spin(seconds: float) -> None:
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    before = thread_cpu()
    started = time.thread_time()
    worker = threading.Thread(target=spin, args=(0.05,), name="cpu-probe_0")
    worker.start()
    worker.join()
    spin(0.03)
    spent_here = time.thread_time() - started
    after = thread_cpu()
    probe = time.thread_time()
    thread_cpu()
    one_read = time.thread_time() - probe
    # the main thread's own CPU to the ms, however busy the machine (a thread's CPU time does not run while it waits
    # for a core): what it spent between the two reads, and at most the reads' own work around them; none of the
    # worker's 50 ms (whole 10 ms ticks would miss this more often than not)
    main = after["main"] - before["main"]
    assert spent_here - 0.001 <= main <= spent_here + 3 * one_read + 0.002
    # the worker ended: its 50 ms are among the ended threads
    assert 0.049 <= after["ended-threads"] - before["ended-threads"] <= 0.058
    assert "cpu-probe" not in after  # counted by role while alive only


def test_several_runs_say_how_many_met_issue_54s_targets() -> None:
    def run(flatness: float | None, ratio: float, accounts: int = 1_000_000, recipients: str = "uniform") -> dict:
        return {"accounts": accounts, "recipients": recipients, "import_over_verify": ratio,
                "flatness_last4_over_3_6": flatness}

    out = summarise_runs([run(1.05, 0.9), run(0.949, 0.899), run(1.0501, 1.02), run(1.0, 0.95)])
    assert out["runs_flat_within_5%"] == "2 of 4"  # 1.05 is within, 0.949 and 1.0501 are not
    assert out["runs_import_at_or_above_0.90"] == "3 of 4"
    assert summarise_runs([run(1.0, 0.81, 10_000_000)] * 2)["runs_import_at_or_above_0.80"] == "2 of 2"
    # no target for other sizes or recipients, and no flatness count where a run had too few blocks to say
    other = summarise_runs([run(None, 0.95, 60), run(1.0, 0.95, 60, "new")])
    assert not any(key.startswith("runs_") and key != "runs" for key in other)
