"""The end-of-run checks on fabricated observations: each passes on a healthy run and fails, saying why, on a
broken one."""

from __future__ import annotations

from btt_chain.testnet import checks
from btt_chain.testnet.checks import Sample, TxRecord
from btt_chain.testnet.perturbations import Window

KILL = Window("kill v0", 10, 20, ("v0",))


def samples(fin_v1: list[int]) -> list[Sample]:
    out = []
    for i, fin in enumerate(fin_v1):
        t = i * 5.0
        out.append(Sample(t, "v1", fin + 4, fin, 2))
        out.append(Sample(t, "v0", None, None, None) if 10 <= t <= 20 else Sample(t, "v0", fin + 4, fin, 2))
    return out


def progress(observed: list[Sample], windows: list[Window]) -> checks.Check:
    """The progress check with a 10 s grace and no allowance for impaired validators (see test_testnet_impairment)."""
    return checks.check_finality_progress(observed, windows, grace_s=10, stake={}, slot_s=1, epoch_s=5)


def test_one_chain_passes_when_all_agree_at_the_lowest_common_height() -> None:
    c = checks.check_one_chain({"a": 10, "b": 12}, {"a": "0xaa", "b": "0xaa"})
    assert c.passed and "#10" in c.lines[0]


def test_one_chain_fails_on_a_fork_and_names_both_sides() -> None:
    c = checks.check_one_chain({"a": 10, "b": 12, "c": 11}, {"a": "0xaa", "b": "0xbb", "c": "0xaa"})
    assert not c.passed
    assert any("0xaa on a, c" in line for line in c.lines) and any("0xbb on b" in line for line in c.lines)


def test_one_chain_fails_when_a_node_is_silent_or_never_finalized() -> None:
    assert not checks.check_one_chain({"a": 10, "b": None}, {"a": "0xaa", "b": None}).passed
    assert not checks.check_one_chain({"a": 0, "b": 0}, {"a": "0x00", "b": "0x00"}).passed


def test_finality_progress_passes_when_the_others_keep_finalizing() -> None:
    c = progress(samples([0, 5, 10, 15, 20, 25, 30]), [KILL])
    assert c.passed, c.lines


def test_finality_progress_fails_when_finality_stalls_through_a_window() -> None:
    c = progress(samples([0, 5, 10, 10, 10, 10, 10, 10]), [KILL])
    assert not c.passed and "finality stuck at #10" in c.lines[0]


def test_finality_progress_fails_without_samples() -> None:
    c = progress([], [KILL])
    assert not c.passed and "no samples" in c.lines[0]


def test_finality_lag_over_all_samples_and_during_windows() -> None:
    lag = checks.finality_lag(samples([0, 5, 10, 15, 20]), [KILL])
    assert lag is not None
    assert lag.p50_blocks == 4 and lag.max_blocks == 4
    assert lag.p50_during_blocks == 4  # v1's samples while v0 was down


def test_equivocation_check_fails_on_any_evidence_in_the_chain() -> None:
    assert checks.check_no_equivocation([]).passed
    c = checks.check_no_equivocation(["block #12: evidence call 0 in 0xab"])
    assert not c.passed and c.lines == ("block #12: evidence call 0 in 0xab",)


def test_bond_changes_name_every_validator_whose_bond_moved_and_the_share_it_kept() -> None:
    btt = 10**18
    assert checks.bond_changes({"a": 10 * btt, "b": 10 * btt}, {"a": 10 * btt, "b": 10 * btt}) == []
    assert checks.bond_changes({"a": 10 * btt, "b": 10_000 * btt}, {"a": 10 * btt, "b": 9_997_2 * btt // 10}) == [
        "b: bond 9997.2 BTT (genesis 10000 BTT): 99.97% kept"]
    assert checks.bond_changes({"a": 10 * btt}, {}) == ["a: no bond (genesis 10 BTT)"]
    assert checks.bond_changes({"a": 10}, None) == ["could not read the validators' bonds"]


def test_provider_lines_show_missed_deadlines_and_the_bond_kept() -> None:
    btt = 10**18
    row = {"account": "a", "bond": str(9_990 * btt),
           "stats": {"assigned": 30, "completed": 20, "failed": 4, "frauds": 0}}
    assert checks.provider_lines([row, {**row, "account": "p"}], {"a": 10_000 * btt}) == [
        "a: 30 assigned, 20 completed, 4 deadlines missed, 0 frauds; bond 9990 BTT of 10000 in genesis "
        "(99.90% kept)",
        "p: 30 assigned, 20 completed, 4 deadlines missed, 0 frauds; bond 9990 BTT",
    ]
    assert checks.provider_lines([], {}) == ["no compute provider registered"]
    assert checks.provider_lines(None, {}) == ["could not read the compute providers"]


def test_issuance_check() -> None:
    good = {"totalIssuance": "90", "totalBurned": "10", "genesisSupply": "100"}
    bad = {"totalIssuance": "91", "totalBurned": "10", "genesisSupply": "100"}
    assert checks.check_issuance({"a": good, "b": good}).passed
    c = checks.check_issuance({"a": good, "b": bad})
    assert not c.passed and c.lines == ("b: issuance 91 != genesis supply 100 - burned 10",)
    assert not checks.check_issuance({"a": None}).passed


def test_transfers_included_once_or_reported_pass() -> None:
    records = [TxRecord("0x01", "v0", 1, "in_block"), TxRecord("0x02", "v0", 2, "lost"),
               TxRecord("0x03", "v1", 3, "dropped"), TxRecord("0x04", "v1", 4, "rejected", "stale nonce"),
               TxRecord("0x05", "v1", 5, "lost")]
    c, summary = checks.check_transfers(records, {"0x01": 1, "0x05": 1})
    assert c.passed, c.lines
    assert "(stale nonce)" in c.lines[0]
    assert (summary.sent, summary.accepted, summary.included, summary.reported, summary.rejected) == (5, 4, 2, 2, 1)


def test_transfers_fail_on_double_inclusion_silent_loss_and_vanished_blocks() -> None:
    records = [TxRecord("0x01", "v0", 1, "in_block"), TxRecord("0x02", "v0", 2, "ready"),
               TxRecord("0x03", "v1", 3, "in_block")]
    c, summary = checks.check_transfers(records, {"0x01": 2})
    assert not c.passed
    text = "\n".join(c.lines)
    assert "0x01 is included 2 times" in text
    assert "0x02 (sent to v0 at 2 s) is neither included nor reported dropped (last status ready)" in text
    assert "0x03 (sent to v1) was reported in block but is not in the chain" in text
    assert len(summary.problems) == 3


def test_connected_check() -> None:
    assert checks.check_connected({"a": 2, "b": 3}).passed
    c = checks.check_connected({"a": 2, "b": 0, "c": None})
    assert not c.passed and c.lines == ("no peers: b, c",)


def test_percentile() -> None:
    assert checks.percentile([5, 1, 3], 50) == 3
    assert checks.percentile([1, 2, 3, 4], 100) == 4


def test_unanswered_submission_may_be_included_once_but_never_twice() -> None:
    """A node paused right after the transfer reached it never answers; it may still pool and include it."""
    records = [TxRecord("0x01", "v2", 1, "unacknowledged"), TxRecord("0x02", "v2", 2, "unacknowledged"),
               TxRecord("0x03", "v0", 3, "in_block")]
    c, summary = checks.check_transfers(records, {"0x02": 1, "0x03": 1})
    assert c.passed, c.lines
    assert (summary.sent, summary.accepted, summary.included, summary.unacknowledged) == (3, 1, 1, 2)
    assert "2 unanswered" in c.lines[0]
    c, _ = checks.check_transfers(records, {"0x01": 2, "0x03": 1})
    assert not c.passed and "0x01 (never acknowledged) is included 2 times" in "\n".join(c.lines)


def test_the_same_transfer_sent_again_and_refused_is_not_a_refused_one_included() -> None:
    """A sender whose watch was lost reads its nonce again from a node still behind, and signs the very same bytes
    (same nonce, same era): a node that has the first in its chain refuses the second as stale. Its one inclusion
    is the first sending's; a refused transfer sent once and included is still a problem."""
    records = [TxRecord("0x01", "v0", 1, "lost"), TxRecord("0x01", "v1", 2, "rejected", "stale nonce 12"),
               TxRecord("0x02", "v1", 3, "rejected", "stale nonce 13")]
    c, summary = checks.check_transfers(records, {"0x01": 1})
    assert c.passed, c.lines
    assert (summary.sent, summary.included, summary.rejected) == (3, 1, 2)
    c, _ = checks.check_transfers(records, {"0x01": 1, "0x02": 1})
    assert not c.passed and "0x02 was refused at submission but is included 1x" in "\n".join(c.lines)
    c, _ = checks.check_transfers(records, {"0x01": 2})
    assert not c.passed and "0x01 is included 2 times" in "\n".join(c.lines)
