"""Incentive commands (`incentives attest|redeem|choose-oracle`, `query points`): every bad argument is one `error:`
line and a non-zero exit, never a traceback; the evidence hash is parsed before the node is asked anything. (What
`choose-oracle` says of each refusal, and that it costs nothing, is tested against a node in
tests/rpc/test_rpc_incentives.py.)"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from btt_chain.primitives.hashing import blake2b_256
from cli.incentives_cmd import parse_evidence
from cli.main import cli
from tests.functional.framework import free_port
from tests.support.cli_runner import assert_one_error_line, run

DOWN = f"http://127.0.0.1:{free_port()}"
ATTEST = ["incentives", "attest", "--patient", "bob", "--activity", "preventive_visit", "--from", "eve"]




@pytest.mark.parametrize(
    "argv, fragment",
    [
        ([*ATTEST, "--evidence", "visit 1", "--rpc", DOWN], "cannot reach a node"),
        ([*ATTEST, "--evidence-hash", "ab" * 32, "--rpc", DOWN], "cannot reach a node"),
        ([*ATTEST, "--rpc", DOWN], "give exactly one of --evidence TEXT or --evidence-hash HEX"),
        ([*ATTEST, "--evidence", "x", "--evidence-hash", "ab" * 32, "--rpc", DOWN], "give exactly one of"),
        ([*ATTEST, "--evidence", "", "--rpc", DOWN], "--evidence must not be empty"),
        ([*ATTEST, "--evidence-hash", "xyz", "--rpc", DOWN], "is not hex"),
        ([*ATTEST, "--evidence-hash", "0x" + "ab" * 31, "--rpc", DOWN], "must be 32 bytes"),
        ([*ATTEST[:4], "--activity", "dentist", "--from", "eve", "--evidence", "x"], "'dentist' is not one of"),
        (["incentives", "attest", "--activity", "referral", "--from", "eve", "--evidence", "x"],
         "Missing option '--patient'"),
        (["incentives", "attest", "--patient", "bob", "--from", "eve", "--evidence", "x"],
         "Missing option '--activity'"),
        ([*ATTEST[:6], "--evidence", "x"], "Missing option '--from'"),
        (["incentives", "redeem", "--points", "10", "--from", "bob", "--rpc", DOWN], "cannot reach a node"),
        (["incentives", "redeem", "--points", "0", "--from", "bob"], "--points"),
        (["incentives", "redeem", "--points", "-5", "--from", "bob"], "--points"),
        (["incentives", "redeem", "--points", "1.5", "--from", "bob"], "'1.5' is not a valid integer"),
        (["incentives", "redeem", "--points", str(2**64), "--from", "bob"], "--points"),
        (["incentives", "redeem", "--from", "bob"], "Missing option '--points'"),
        (["incentives", "redeem", "--points", "3"], "Missing option '--from'"),
        (["incentives", "redeem", "--points", "3", "--from", "bob", "--wait-payout", "--timeout", "0"], "--timeout"),
        (["incentives", "choose-oracle", "--oracle", "eve", "--from", "bob", "--rpc", DOWN], "cannot reach a node"),
        (["incentives", "choose-oracle", "--from", "bob"], "Missing option '--oracle'"),
        (["incentives", "choose-oracle", "--oracle", "eve"], "Missing option '--from'"),
        (["incentives", "choose-oracle", "--oracle", "eve", "--from", "bob", "--points", "3"],
         "No such option '--points'"),
        (["incentives", "burn"], "No such command 'burn'"),
        (["query", "points", "bob", "--rpc", DOWN], "cannot reach a node"),
        (["query", "points"], "Missing argument 'WHO'"),
    ],
)
def test_bad_arguments_give_one_clear_line(capsys: pytest.CaptureFixture[str], argv: list[str],
                                           fragment: str) -> None:
    code, _, err = run(capsys, *argv)
    assert_one_error_line(code, err, fragment)


def test_evidence_text_is_hashed_and_hex_is_taken_as_is() -> None:
    assert parse_evidence("visit 1", None) == blake2b_256(b"visit 1")
    assert parse_evidence(None, "0x" + "AB" * 32) == bytes([0xAB]) * 32
    assert parse_evidence(None, "cd" * 32) == bytes([0xCD]) * 32


def test_help_lists_the_incentive_commands() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0 and "  incentives " in top.output
    sub = runner.invoke(cli, ["incentives", "--help"])
    assert "attest" in sub.output and "redeem" in sub.output and "choose-oracle" in sub.output
    query = runner.invoke(cli, ["query", "--help"])
    assert "  points " in query.output


def test_redeem_help_says_when_and_how_the_payout_comes() -> None:
    out = " ".join(CliRunner().invoke(cli, ["incentives", "redeem", "--help"]).output.split())
    assert "paid at the next epoch boundary" in out and "pro rata" in out and "--wait-payout" in out
    # the group a request joins is the home oracle's as the chain has it now, never "the first attestation's"
    assert "first attestation" not in out
    assert "each home oracle's group an equal share" in out
    assert "the oracle that attested you the most points, or the one you chose (`incentives choose-oracle`)" in out


def test_choose_oracle_help_says_what_a_choice_does_and_that_a_refusal_is_free() -> None:
    out = " ".join(CliRunner().invoke(cli, ["incentives", "choose-oracle", "--help"]).output.split())
    assert "--oracle" in out and "--from" in out and "--rpc" in out and "--json" in out
    assert "no attestation by another oracle moves you out of it" in out and "costs nothing" in out


class _FakeNode:
    """Answers `btt_points` for `incentives redeem --wait-payout`: unsettled twice, then settled pro rata."""

    def __init__(self, url: str) -> None:
        self.answers = [None, None, {"epoch": 3, "requested": "100", "paid": "78", "returned": "22",
                                     "amount": "780000000000000000"}]

    def call(self, method: str, *params: object) -> dict[str, object]:
        assert method == "btt_points"
        return {"lastPayout": self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]}


def test_redeem_prints_the_request_the_boundary_and_what_was_paid(capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from btt_chain.client.chain import ChainInfo
    from cli import incentives_cmd
    from cli.submit import Submitted

    info = ChainInfo(bytes(32), 42, "Development", 5, 18, "BTT")
    monkeypatch.setattr(ChainInfo, "fetch", staticmethod(lambda rpc: info))
    monkeypatch.setattr(incentives_cmd, "RpcClient", _FakeNode)
    monkeypatch.setattr(incentives_cmd, "POLL_SECONDS", 0)
    status = {"blockNumber": 50, "blockHash": "0x" + "ab" * 32, "index": 0, "fee": "1000", "success": True,
              "events": []}
    monkeypatch.setattr(incentives_cmd, "submit_call", lambda *a, **k: Submitted("0x" + "cd" * 32, status))
    requested = {"module": "incentives", "event": "RedeemRequested", "points": 100, "requested": 100,
                 "amount": "1000000000000000000", "epoch": 3}
    evicted = {"module": "incentives", "event": "RedeemEvicted", "patient": "5Sybil", "epoch": 3, "points": 24,
               "oracle": "5Oracle", "by": "5Bob"}
    emitted = {"RedeemRequested": requested}
    monkeypatch.setattr(incentives_cmd, "_event", lambda client, sub, name: emitted.get(name))
    code, out, err = run(capsys, "incentives", "redeem", "--points", "100", "--from", "bob", "--wait-payout")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == ("asked to redeem 100 points in epoch 3: the request holds 100 points, worth 1 BTT if paid "
                        "in full")
    assert lines[1] == ("paid at the next epoch boundary (the first block of epoch 4): in full if the epoch's requests "
                        "fit the global cap and the pool, else each oracle group an equal share and each request its "
                        "group's share pro rata, the unpaid points coming back")
    assert lines[2] == "paid 78 of 100 points: 0.78 BTT (22 points returned)"

    # a request admitted to a full table in place of another says whose request it evicted
    emitted["RedeemEvicted"] = evicted
    code, out, err = run(capsys, "incentives", "redeem", "--points", "100", "--from", "bob")
    assert code == 0, err
    assert ("the epoch's table was full: this request took the row of 5Sybil's request of 24 points, the newest of "
            "the largest oracle group (home oracle 5Oracle); its points went back to it") in out.splitlines()
