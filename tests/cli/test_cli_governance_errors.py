"""Governance commands (`propose`, `vote`, `referendum show|list|cancel`, `query referenda|referendum|voter`):
every bad argument is one `error:` line and a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.functional.framework import free_port
from tests.support.cli_runner import assert_one_error_line, run

DOWN = f"http://127.0.0.1:{free_port()}"
SPEND = ["propose", "--call", "treasury.spend", "--args", '["ecosystem_fund", "bob", "1000"]', "--from", "alice"]




@pytest.mark.parametrize(
    "argv, fragment",
    [
        ([*SPEND, "--rpc", DOWN], "cannot reach a node"),
        ([*SPEND, "--deposit", "100", "--description", "grant", "--rpc", DOWN], "cannot reach a node"),
        ([*SPEND, "--deposit", "0", "--rpc", DOWN], "--deposit must be above zero"),
        ([*SPEND, "--deposit", "1e3", "--rpc", DOWN], "is not an amount"),
        ([*SPEND, "--deposit", "-5", "--rpc", DOWN], "is not an amount"),
        (["propose", "--call", "treasury.steal", "--from", "alice"], "unknown call 'treasury.steal'"),
        (["propose", "--call", "spend", "--from", "alice"], "unknown call 'spend'"),
        (["propose", "--call", "governance.vote", "--args", "[0, true]", "--from", "alice"],
         "a referendum cannot carry it"),
        (["propose", "--call", "treasury.release_strategic_reserve", "--args", '["alice", "1"]', "--from", "alice"],
         "add --emergency"),
        (["propose", "--call", "params.set_bounds", "--args", '["fees.base", "0", "1"]', "--from", "alice"],
         "add --emergency"),
        (["propose", "--call", "treasury.spend", "--args", "[1,", "--from", "alice"], "--args is not JSON"),
        (["propose", "--call", "treasury.spend", "--args", '["ecosystem_fund"]', "--from", "alice"],
         "takes a JSON array of 3 arguments"),
        (["propose", "--call", "treasury.spend", "--args", '["ecosystem_fund", "bob", true]', "--from", "alice"],
         "argument amount: expected u128"),
        (["propose", "--call", "treasury.spend", "--args", '["ecosystem_fund", "bob", "1"]'],
         "Missing option '--from'"),
        (["propose", "--args", "[]", "--from", "alice"], "Missing option '--call'"),
        (["vote", "0", "aye", "--from", "bob", "--rpc", DOWN], "cannot reach a node"),
        (["vote", "0", "maybe", "--from", "bob"], "'maybe' is not one of"),
        (["vote", "zero", "aye", "--from", "bob"], "'zero' is not a valid integer"),
        (["vote", "-1", "aye", "--from", "bob"], "-1"),
        (["vote", "0", "--from", "bob"], "Missing argument 'aye|nay'"),
        (["vote", "0", "nay"], "Missing option '--from'"),
        (["vote", "0", "aye", "--balance", "lots", "--from", "bob"], "is not an amount"),
        (["referendum", "cancel", "0", "--from", "alice", "--rpc", DOWN], "cannot reach a node"),
        (["referendum", "cancel", "x", "--from", "alice"], "'x' is not a valid integer"),
        (["referendum", "cancel", "0"], "Missing option '--from'"),
        (["referendum", "show", "0", "--rpc", DOWN], "cannot reach a node"),
        (["referendum", "list", "--status", "won"], "'won' is not one of"),
        (["query", "referenda", "--rpc", DOWN], "cannot reach a node"),
        (["query", "referenda", "--status", "open"], "'open' is not one of"),
        (["query", "referendum", "1", "--json", "--rpc", DOWN], "cannot reach a node"),
        (["query", "referendum", "one"], "'one' is not a valid integer"),
        (["query", "referendum"], "Missing argument 'REF_ID'"),
        (["query", "voter", "bob", "--rpc", DOWN], "cannot reach a node"),
        (["query", "voter"], "Missing argument 'WHO'"),
    ],
)
def test_bad_arguments_give_one_clear_line(capsys: pytest.CaptureFixture[str], argv: list[str],
                                           fragment: str) -> None:
    code, _, err = run(capsys, *argv)
    assert_one_error_line(code, err, fragment)


def test_help_lists_the_governance_commands() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0
    for name in ("propose", "vote", "referendum"):
        assert f"  {name} " in top.output
    group = runner.invoke(cli, ["referendum", "--help"])
    for name in ("show", "list", "cancel"):
        assert f"  {name} " in group.output
    query = runner.invoke(cli, ["query", "--help"])
    for name in ("referenda", "referendum", "voter"):
        assert f"  {name} " in query.output
