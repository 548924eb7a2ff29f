"""Asset commands (`asset register|verify|tokenize|transfer|offer|accept|cancel-offer|revalue|freeze|thaw|retire`,
`query assets|asset`): every bad argument is one `error:` line and a non-zero exit, never a traceback; what can be
checked without a node is checked before one is asked."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.functional.framework import free_port
from tests.support.cli_runner import assert_one_error_line, run

DOWN = f"http://127.0.0.1:{free_port()}"
REGISTER = ["asset", "register", "--class", "equipment", "--metadata", "X-ray PX-2291", "--valuation", "50000",
            "--from", "bob"]
TOKENIZE = ["asset", "tokenize", "0", "--symbol", "XRAY", "--supply", "1000000", "--from", "bob"]
HASH = "ab" * 32




@pytest.mark.parametrize(
    "argv, fragment",
    [
        ([*REGISTER, "--rpc", DOWN], "cannot reach a node"),
        (["asset", "register", "--class", "spaceship", "--metadata", "m", "--valuation", "1", "--from", "bob"],
         "'spaceship' is not one of"),
        (["asset", "register", "--class", "equipment", "--valuation", "1", "--from", "bob"],
         "give exactly one of --metadata TEXT or --metadata-hash HEX"),
        ([*REGISTER, "--metadata-hash", HASH], "give exactly one of --metadata TEXT or --metadata-hash HEX"),
        (["asset", "register", "--class", "equipment", "--metadata-hash", "xyz", "--valuation", "1", "--from", "bob"],
         "is not hex"),
        (["asset", "register", "--class", "equipment", "--metadata-hash", "0xabcd", "--valuation", "1", "--from",
          "bob"], "must be 32 bytes"),
        ([*REGISTER[:6], "--valuation", "0", "--from", "bob"], "--valuation must be above zero"),
        ([*REGISTER[:6], "--valuation", "-5", "--from", "bob"], "is not an amount"),
        (["asset", "register", "--class", "equipment", "--metadata", "m", "--valuation", "1"],
         "Missing option '--from'"),
        (["asset", "register", "--metadata", "m", "--valuation", "1", "--from", "bob"], "Missing option '--class'"),
        (["asset", "verify", "0", "maybe", "--report", "r", "--from", "charlie"], "'maybe' is not one of"),
        (["asset", "verify", "0", "approve", "--from", "charlie"], "one of --report TEXT or --report-hash HEX"),
        (["asset", "verify", "x", "approve", "--report", "r", "--from", "charlie"], "'x' is not a valid integer"),
        (["asset", "verify", "0", "approve", "--report", "r", "--from", "charlie", "--rpc", DOWN],
         "cannot reach a node"),
        ([*TOKENIZE, "--rpc", DOWN], "cannot reach a node"),
        (["asset", "tokenize", "0", "--symbol", "xray", "--supply", "1", "--from", "bob"], "--symbol 'xray'"),
        (["asset", "tokenize", "0", "--symbol", "X", "--supply", "1", "--from", "bob"], "--symbol 'X'"),
        (["asset", "tokenize", "0", "--symbol", "ABCDEFGHIJKLM", "--supply", "1", "--from", "bob"], "2 to 12"),
        (["asset", "tokenize", "0", "--symbol", "XRAY", "--supply", "0", "--from", "bob"],
         "--supply must be above zero"),
        (["asset", "tokenize", "0", "--symbol", "XRAY", "--supply", "1.5", "--from", "bob"], "has 1 decimals"),
        (["asset", "tokenize", "0", "--symbol", "XRAY", "--supply", "lots", "--from", "bob"], "is not an amount"),
        ([*TOKENIZE, "--decimals", "19"], "--decimals"),
        ([*TOKENIZE, "--min-balance", "1000001"], "is above the supply"),
        (["asset", "tokenize", "0", "--symbol", "XRAY", "--supply", "10", "--decimals", "2", "--min-balance",
          "0.001", "--from", "bob"], "has 3 decimals"),
        (["asset", "tokenize", "0", "--symbol", "XRAY", "--from", "bob"], "Missing option '--supply'"),
        (["asset", "transfer", "0", "--to", "eve", "--amount", "1", "--from", "bob", "--rpc", DOWN],
         "cannot reach a node"),
        (["asset", "transfer", "0", "--to", "eve", "--amount", "-1", "--from", "bob"], "is not an amount"),
        (["asset", "transfer", "0", "--amount", "1", "--from", "bob"], "Missing option '--to'"),
        (["asset", "transfer", "-3", "--to", "eve", "--amount", "1", "--from", "bob"], "-3"),
        (["asset", "offer", "0", "--amount", "1", "--price", "0", "--from", "bob"], "--price must be above zero"),
        (["asset", "offer", "0", "--amount", "1", "--price", "1e3", "--from", "bob"], "is not an amount"),
        (["asset", "offer", "0", "--amount", "one", "--price", "1", "--from", "bob"], "is not an amount"),
        (["asset", "offer", "0", "--amount", "1", "--price", "1", "--from", "bob", "--rpc", DOWN],
         "cannot reach a node"),
        (["asset", "accept", "x", "--from", "eve"], "'x' is not a valid integer"),
        (["asset", "accept", "0", "--from", "eve", "--rpc", DOWN], "cannot reach a node"),
        (["asset", "accept", "0"], "Missing option '--from'"),
        (["asset", "cancel-offer", "-1", "--from", "bob"], "-1"),
        (["asset", "cancel-offer", "0", "--from", "bob", "--rpc", DOWN], "cannot reach a node"),
        (["asset", "revalue", "0", "--valuation", "0", "--report", "r", "--from", "charlie"],
         "--valuation must be above zero"),
        (["asset", "revalue", "0", "--valuation", "10", "--report", "r", "--report-hash", HASH, "--from", "charlie"],
         "give exactly one of --report TEXT or --report-hash HEX"),
        (["asset", "revalue", "0", "--valuation", "10", "--report", "r", "--from", "charlie", "--rpc", DOWN],
         "cannot reach a node"),
        (["asset", "freeze", "0", "--from", "charlie", "--rpc", DOWN], "cannot reach a node"),
        (["asset", "thaw", "zero", "--from", "charlie"], "'zero' is not a valid integer"),
        (["asset", "retire", "0", "--from", "bob", "--rpc", DOWN], "cannot reach a node"),
        (["asset", "retire", "0"], "Missing option '--from'"),
        (["query", "assets", "--rpc", DOWN], "cannot reach a node"),
        (["query", "asset", "0", "--rpc", DOWN], "cannot reach a node"),
        (["query", "asset", "first"], "'first' is not a valid integer"),
        (["query", "asset"], "Missing argument 'ID'"),
    ],
)
def test_bad_arguments_give_one_clear_line(capsys: pytest.CaptureFixture[str], argv: list[str],
                                           fragment: str) -> None:
    code, _, err = run(capsys, *argv)
    assert_one_error_line(code, err, fragment)


def test_help_lists_the_asset_commands() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0 and "  asset " in top.output
    group = runner.invoke(cli, ["asset", "--help"])
    for name in ("register", "verify", "tokenize", "transfer", "offer", "accept", "cancel-offer", "revalue",
                 "freeze", "thaw", "retire"):
        assert f"  {name} " in group.output, name
    query = runner.invoke(cli, ["query", "--help"])
    assert "  assets " in query.output and "  asset " in query.output
