"""PayFi commands (`pay`, `invoice create|pay|cancel|refund|show`, `query invoices|payments`): every bad argument
is one `error:` line and a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from cli.main import cli
from cli.payments_cmd import memo_hash
from tests.functional.framework import free_port
from tests.support.cli_runner import assert_one_error_line, run

DOWN = f"http://127.0.0.1:{free_port()}"
PAY = ["pay", "--to", "charlie", "--from", "bob"]
CREATE = ["invoice", "create", "--payee", "charlie", "--amount", "250", "--from", "charlie"]




@pytest.mark.parametrize(
    "argv, fragment",
    [
        ([*PAY, "--amount", "1", "--rpc", DOWN], "cannot reach a node"),
        ([*PAY, "--amount", "1", "--memo", "visit 42", "--rpc", DOWN], "cannot reach a node"),
        ([*PAY, "--amount", "0", "--rpc", DOWN], "--amount must be above zero"),
        ([*PAY, "--amount", "-1", "--rpc", DOWN], "is not an amount"),
        ([*PAY, "--amount", "1.5e3", "--rpc", DOWN], "is not an amount"),
        ([*PAY, "--amount", "0.0000000000000000001", "--rpc", DOWN], "at most 18"),
        (["pay", "--amount", "1", "--from", "bob"], "Missing option '--to'"),
        (["pay", "--to", "charlie", "--amount", "1"], "Missing option '--from'"),
        ([*PAY], "Missing option '--amount'"),
        ([*CREATE, "--due", "60", "--rpc", DOWN], "cannot reach a node"),
        ([*CREATE, "--due-ms", "1700000000000", "--rpc", DOWN], "cannot reach a node"),
        ([*CREATE, "--rpc", DOWN], "give exactly one of --due SECONDS or --due-ms MS"),
        ([*CREATE, "--due", "60", "--due-ms", "1700000000000", "--rpc", DOWN], "give exactly one of"),
        ([*CREATE, "--due", "0"], "--due"),
        ([*CREATE, "--due", "soon"], "'soon' is not a valid integer"),
        ([*CREATE, "--due-ms", "0"], "--due-ms"),
        ([*CREATE, "--due-ms", str(2**64)], "--due-ms"),
        ([*CREATE[:4], "--amount", "0", "--from", "charlie", "--due", "60", "--rpc", DOWN],
         "--amount must be above zero"),
        (["invoice", "create", "--amount", "1", "--due", "60", "--from", "charlie"], "Missing option '--payee'"),
        (["invoice", "create", "--payee", "charlie", "--due", "60", "--from", "charlie"], "Missing option '--amount'"),
        (["invoice", "pay", "seven", "--from", "bob"], "'seven' is not a valid integer"),
        (["invoice", "pay", "-1", "--from", "bob"], "-1"),
        (["invoice", "pay", str(2**64), "--from", "bob"], str(2**64)),
        (["invoice", "pay", "1"], "Missing option '--from'"),
        (["invoice", "pay", "--from", "bob"], "Missing argument 'ID'"),
        (["invoice", "pay", "1", "--from", "bob", "--rpc", DOWN], "cannot reach a node"),
        (["invoice", "cancel", "-3", "--from", "charlie"], "-3"),
        (["invoice", "cancel", "3", "--from", "charlie", "--rpc", DOWN], "cannot reach a node"),
        (["invoice", "refund", "1", "--amount", "0", "--from", "charlie", "--rpc", DOWN],
         "--amount must be above zero"),
        (["invoice", "refund", "1", "--amount", "x", "--from", "charlie", "--rpc", DOWN], "is not an amount"),
        (["invoice", "refund", "1", "--from", "charlie"], "Missing option '--amount'"),
        (["invoice", "refund", "one", "--amount", "1", "--from", "charlie"], "'one' is not a valid integer"),
        (["invoice", "refund", "1", "--amount", "1", "--from", "charlie", "--rpc", DOWN], "cannot reach a node"),
        (["invoice", "show", "x"], "'x' is not a valid integer"),
        (["invoice", "show", "1", "--rpc", DOWN], "cannot reach a node"),
        (["invoice", "settle", "1"], "No such command 'settle'"),
        (["query", "invoices"], "Missing argument 'ACCOUNT'"),
        (["query", "invoices", "bob", "--status", "paid"], "'paid' is not one of"),
        (["query", "invoices", "bob", "--limit", "0"], "--limit"),
        (["query", "invoices", "bob", "--rpc", DOWN], "cannot reach a node"),
        (["query", "payments"], "Missing argument 'ACCOUNT'"),
        (["query", "payments", "bob", "--limit", "201"], "--limit"),
        (["query", "payments", "bob", "--json", "--rpc", DOWN], "cannot reach a node"),
    ],
)
def test_bad_arguments_give_one_clear_line(capsys: pytest.CaptureFixture[str], argv: list[str],
                                           fragment: str) -> None:
    code, _, err = run(capsys, *argv)
    assert_one_error_line(code, err, fragment)


def test_help_lists_the_payments_commands() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0
    for name in ("pay", "invoice"):
        assert f"  {name} " in top.output
    invoice = runner.invoke(cli, ["invoice", "--help"])
    for name in ("create", "pay", "cancel", "refund", "show"):
        assert f"  {name} " in invoice.output
    query = runner.invoke(cli, ["query", "--help"])
    for name in ("invoices", "payments"):
        assert f"  {name} " in query.output


def test_the_memo_goes_on_chain_only_as_its_hash() -> None:
    assert memo_hash(None) == ZERO_HASH
    assert memo_hash("visit 42") == blake2b_256(b"visit 42")
    assert memo_hash("Zahnärztin") == blake2b_256("Zahnärztin".encode())
