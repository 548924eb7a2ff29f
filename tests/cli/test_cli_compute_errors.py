"""Compute commands (`miner`, `job`, `provider`, `query power-table|jobs|providers|mining|models`, the demo
economy options): every bad argument is one `error:` line and a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.functional.framework import free_port
from tests.support.cli_runner import assert_one_error_line, run

DOWN = f"http://127.0.0.1:{free_port()}"
POST = ["job", "post", "--model", "breast-cancer-v1", "--items", "16", "--price", "1", "--key", "ferdie"]




@pytest.mark.parametrize(
    "argv, fragment",
    [
        ([*POST, "--rpc", DOWN], "cannot reach a node"),
        ([*POST[:6], "--price", "0", "--key", "ferdie", "--rpc", DOWN], "--price must be above zero"),
        ([*POST[:6], "--price", "1.5e3", "--key", "ferdie", "--rpc", DOWN], "is not an amount"),
        ([*POST, "--seed", "xyz", "--rpc", DOWN], "is not hex"),
        ([*POST, "--seed", "ab" * 31, "--rpc", DOWN], "must be 32 bytes"),
        ([*POST, "--seed", "0x" + "00" * 32, "--rpc", DOWN], "must not be all zeros"),
        ([*POST, "--redundancy", "9", "--rpc", DOWN], "--redundancy"),
        ([*POST, "--deadline", "0", "--rpc", DOWN], "--deadline"),
        (["job", "post", "--model", "m", "--items", "0", "--price", "1", "--key", "ferdie"], "--items"),
        (["job", "post", "--items", "4", "--price", "1", "--key", "ferdie"], "Missing option '--model'"),
        (["job", "post", "--model", "m", "--items", "4", "--price", "1"], "Missing option '--key'"),
        (["job", "show", "seven"], "'seven' is not a valid integer"),
        (["job", "show", "7", "--rpc", DOWN], "cannot reach a node"),
        (["job", "list", "--status", "finished"], "'finished' is not one of"),
        (["job", "list", "--limit", "0"], "--limit"),
        (["job", "list", "--rpc", DOWN], "cannot reach a node"),
        (["job", "cancel", "-1", "--key", "ferdie"], "-1"),
        (["job", "cancel", "3", "--key", "ferdie", "--rpc", DOWN], "cannot reach a node"),
        (["job", "post", "--model", "m", "--price", "1", "--key", "ferdie"], "give --cases FILE.npz"),
        (["job", "post", "--model", "m", "--price", "1", "--key", "ferdie", "--cases", "no-such.npz"],
         "does not exist"),
        ([*POST, "--decoys", "3", "--rpc", DOWN], "--decoys, --decoy-cases and --data-dir go with --cases"),
        ([*POST[:4], "--price", "1", "--key", "ferdie", "--cases", __file__, "--redundancy", "2", "--rpc", DOWN],
         "do not apply"),
        ([*POST[:4], "--price", "1", "--key", "ferdie", "--cases", __file__, "--no-wait", "--rpc", DOWN],
         "do not apply"),
        (["job", "clinic", "--key", "ferdie", "--cases", "no-such.npz"], "give generated, synthetic, held-out or"),
        (["job", "clinic", "--key", "ferdie", "--redundancy", "2", "--rpc", DOWN], "a private job has one provider"),
        (["job", "clinic", "--key", "ferdie", "--decoys", "0"], "--decoys"),
        (["job", "resume", "no-such.json", "--key", "ferdie"], "does not exist"),
        (["job", "resume", __file__, "--key", "ferdie"], "not a readable private order"),
        (["job", "clinic", "--key", "ferdie", "--every", "0.1"], "--every"),
        (["job", "clinic", "--key", "ferdie", "--price", "-1", "--rpc", DOWN], "is not an amount"),
        (["miner", "--key", "alice", "--rpc", DOWN], "cannot reach a node"),
        (["miner", "--key", "alice", "--bond", "0", "--rpc", DOWN], "--bond must be above zero"),
        (["miner", "--key", "alice", "--region", "mars"], "'mars' is not one of"),
        (["miner", "--key", "alice", "--energy", "f"], "'f' is not one of"),
        (["miner", "--key", "alice", "--capacity", "0"], "--capacity"),
        (["miner", "--key", "alice", "--unsafe-fake-items", "-2"], "--unsafe-fake-items"),
        (["miner"], "Missing option '--key'"),
        (["provider", "register", "--key", "bob", "--region", "moon"], "'moon' is not one of"),
        (["provider", "register", "--key", "bob", "--rpc", DOWN], "cannot reach a node"),
        (["provider", "deregister", "--key", "bob", "--rpc", DOWN], "cannot reach a node"),
        (["query", "power-table", "--rpc", DOWN], "cannot reach a node"),
        (["query", "jobs", "--status", "bogus"], "'bogus' is not one of"),
        (["query", "providers", "--rpc", DOWN], "cannot reach a node"),
        (["query", "mining", "--rpc", DOWN], "cannot reach a node"),
        (["query", "models", "--rpc", DOWN], "cannot reach a node"),
        (["node", "--dev", "--demo-economy", "--demo-clinic", "nobody"], "neither a dev name, a key file nor"),
        (["node", "--chain", "btt-21m", "--tmp", "--demo-economy"], "only on dev and local chains"),
        (["node", "--chain", "dev", "--tmp", "--demo-economy", "--demo-clinic", "none"], "nothing to run"),
    ],
)
def test_bad_arguments_give_one_clear_line(capsys: pytest.CaptureFixture[str], argv: list[str],
                                           fragment: str) -> None:
    code, _, err = run(capsys, *argv)
    assert_one_error_line(code, err, fragment)


def test_help_lists_the_compute_commands() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0
    for name in ("miner", "job", "provider"):
        assert f"  {name} " in top.output
    job = runner.invoke(cli, ["job", "--help"])
    for name in ("post", "show", "list", "cancel", "clinic"):
        assert f"  {name} " in job.output
    query = runner.invoke(cli, ["query", "--help"])
    for name in ("power-table", "jobs", "providers", "mining", "models"):
        assert f"  {name} " in query.output
    miner = runner.invoke(cli, ["miner", "--help"])
    assert "--unsafe-fake-items" not in miner.output  # a test helper, hidden like the node's


def test_click_reports_a_usage_error_for_a_bad_choice() -> None:
    result = CliRunner().invoke(cli, ["miner", "--key", "alice", "--region", "mars"], standalone_mode=False)
    assert result.exception is not None and "mars" in str(result.exception)
