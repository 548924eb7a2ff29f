"""Incentive commands (`incentives attest|redeem`, `query points`): every bad argument is one `error:` line and
a non-zero exit, never a traceback; the evidence hash is parsed before the node is asked anything."""

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
    assert "attest" in sub.output and "redeem" in sub.output
    query = runner.invoke(cli, ["query", "--help"])
    assert "  points " in query.output
