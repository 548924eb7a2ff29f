"""`btt-chain vest` and `btt-chain query vesting`: registered, and one clear error line when no node answers."""

from __future__ import annotations

import pytest

from tests.functional.framework import free_port
from tests.support.cli_runner import run

DOWN = f"http://127.0.0.1:{free_port()}"




@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["vest", "--from", "alice", "--rpc", DOWN], "cannot reach a node"),
        (["query", "vesting", "bob", "--rpc", DOWN], "cannot reach a node"),
        (["vest"], "Missing option '--from'"),
    ],
)
def test_vesting_commands_fail_with_one_line(capsys, argv, fragment):
    code, _, err = run(capsys, *argv)
    assert code != 0 and "Traceback" not in err
    assert err.startswith("error: ") and fragment in err.splitlines()[0], err


@pytest.mark.parametrize(
    "argv", [["vest", "--help"], ["query", "vesting", "--help"], ["genesis", "schedule", "--help"]]
)
def test_vesting_commands_are_registered(capsys, argv):
    code, out, _ = run(capsys, *argv)
    assert code == 0 and out.startswith("Usage: ")
