"""Every JSON or TOML file the node and the CLI read at start, nested deeper than the parser goes (6 KB of `[`),
is one clear error in the file's own words, never a RecursionError traceback (issue 25, item 4.1). peers.json,
which is skipped instead, is tests/p2p/test_p2p_peers_file_attacks.py; key files tests/cli/test_key_file_attacks.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from btt_chain.consensus.vote_guard import VoteGuard
from btt_chain.miner.store import ResultStore
from btt_chain.node.signing_guard import SigningGuard
from btt_chain.primitives.errors import ConfigError, StorageError
from p2p.node_key import load_node_key
from tests.support.cli_runner import assert_one_error_line, run

DEEP = "[" * 6_000


def deep_file(tmp_path: Path, name: str, prefix: str = "") -> Path:
    path = tmp_path / name
    path.write_text(prefix + DEEP)
    path.chmod(0o600)
    return path


def test_a_chain_spec(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = deep_file(tmp_path, "spec.json")
    for argv in (["genesis", "validate", str(spec)], ["node", "--chain", str(spec), "--tmp"]):
        code, _, err = run(capsys, *argv)
        assert_one_error_line(code, err, f"{spec}: not valid JSON: nested too deeply")


def test_a_testnet_manifest(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    manifest = deep_file(tmp_path, "net.toml", "a = ")
    code, _, err = run(capsys, "testnet", "run", str(manifest))
    assert_one_error_line(code, err, f"{manifest}: not valid TOML: nested too deeply")


def test_call_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "propose", "--call", "treasury.spend", "--args", DEEP, "--from", "alice")
    assert_one_error_line(code, err, "--args is not JSON: nested too deeply")


def test_a_node_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a node key file: nested too deeply"):
        load_node_key(deep_file(tmp_path, "node-key"))


def test_the_signing_records(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="unreadable .* refusing to sign"):
        SigningGuard(deep_file(tmp_path, "signing.json"))
    with pytest.raises(StorageError, match="unreadable .* refusing to vote"):
        VoteGuard(deep_file(tmp_path, "votes.json"))


def test_a_miner_result_is_set_aside(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    deep_file(tmp_path, "job-7.json")
    assert store.load(7) is None
    assert store.load_all() == [] and (tmp_path / "job-7.bad").exists()
