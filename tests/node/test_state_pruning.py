"""--state-pruning: its values, and the `btt-chain node` flag refusing a bad one before anything starts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from btt_chain.node.pruning import DEFAULT_STATE_PRUNING, parse_state_pruning
from btt_chain.node.service import NodeConfig
from cli.main import cli


def test_values() -> None:
    assert parse_state_pruning("archive") is None
    assert parse_state_pruning("ARCHIVE") is None
    assert parse_state_pruning("0") == 0
    assert parse_state_pruning("1000") == 1000
    for bad in ("", "-1", "1.5", "all"):
        with pytest.raises(ValueError):
            parse_state_pruning(bad)
    assert NodeConfig("dev", None, True, None).state_pruning == DEFAULT_STATE_PRUNING == 256


def test_a_bad_flag_is_one_error_line() -> None:
    result = CliRunner().invoke(cli, ["node", "--dev", "--state-pruning", "lots"])
    assert result.exit_code != 0
    assert "--state-pruning" in result.output and "archive" in result.output
