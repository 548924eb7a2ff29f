"""`btt-chain job outputs|verify|challenge|demand`: every bad argument is one `error:` line and a non-zero
exit, never a traceback (the refusals that need a chain are in tests/functional/test_feature_challenge.py)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.functional.framework import free_port
from tests.support.cli_runner import assert_one_error_line, run

DOWN = f"http://127.0.0.1:{free_port()}"
CHALLENGE = ["job", "challenge", "3", "--key", "alice"]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["job", "outputs", "seven"], "'seven' is not a valid integer"),
        (["job", "outputs", "-1"], "-1"),
        (["job", "outputs", "3", "--rpc", DOWN], "cannot reach a node"),
        (["job", "outputs", "3", "--provider", "bob", "--output", "/tmp/o.json", "--rpc", DOWN], "cannot reach a node"),
        (["job", "outputs", "3", "--wait", "1000"], "--wait"),
        (["job", "verify", "3", "--rpc", DOWN], "cannot reach a node"),
        (["job", "verify"], "Missing argument 'JOB_ID'"),
        (["job", "verify", "3", "--wait", "-1"], "--wait"),
        ([*CHALLENGE, "--item", "0"], "Missing option '--provider'"),
        ([*CHALLENGE, "--provider", "bob"], "Missing option '--item'"),
        ([*CHALLENGE, "--provider", "bob", "--item", "-1"], "--item"),
        ([*CHALLENGE, "--provider", "bob", "--item", "x"], "'x' is not a valid integer"),
        (["job", "challenge", "3", "--provider", "bob", "--item", "0"], "Missing option '--key'"),
        ([*CHALLENGE, "--provider", "bob", "--item", "0", "--rpc", DOWN], "cannot reach a node"),
        (["job", "demand", "3", "--key", "alice"], "Missing option '--provider'"),
        (["job", "demand", "3", "--provider", "bob"], "Missing option '--key'"),
        (["job", "demand", "3", "--provider", "bob", "--key", "ferdie", "--rpc", DOWN], "cannot reach a node"),
    ],
)
def test_bad_arguments_give_one_clear_line(capsys: pytest.CaptureFixture[str], argv: list[str],
                                           fragment: str) -> None:
    code, _, err = run(capsys, *argv)
    assert_one_error_line(code, err, fragment)


def test_help_lists_the_output_commands() -> None:
    runner = CliRunner()
    job = runner.invoke(cli, ["job", "--help"])
    assert job.exit_code == 0
    for name in ("outputs", "verify", "challenge", "demand"):
        assert f"  {name} " in job.output
    challenge = runner.invoke(cli, ["job", "challenge", "--help"])
    assert "re-executed here first" in challenge.output and "--item" in challenge.output
