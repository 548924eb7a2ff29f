"""Every bad argument is one clear `error:` line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json

import pytest

from tests.functional.framework import free_port
from tests.support.cli_runner import assert_one_error_line, held_node_ports, run


def assert_one_line_error(code: int, err: str, fragment: str) -> None:
    assert code != 0
    assert "Traceback" not in err
    assert err.startswith("error: "), err
    assert fragment in err.splitlines()[0], err


DOWN = f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["transfer", "--from", "alice", "--to", "bob", "--amount", "1.0000000000000000001", "--rpc", DOWN],
         "has 19 decimals"),
        (["transfer", "--from", "alice", "--to", "bob", "--amount", "ten", "--rpc", DOWN], "is not an amount"),
        (["transfer", "--from", "alice", "--to", "bob", "--amount", "-3", "--rpc", DOWN], "is not an amount"),
        (["transfer", "--from", "alice", "--to", "bob", "--amount", "0", "--rpc", DOWN], "above zero"),
        (["transfer", "--from", "alice", "--to", "bob", "--amount", "1", "--rpc", DOWN], "cannot reach a node"),
        (["transfer", "--from", "alice", "--amount", "1"], "Missing option '--to'"),
        (["query", "account", "bob", "--rpc", DOWN], "cannot reach a node"),
        (["query", "block", "xyz", "--rpc", DOWN], "neither a block number"),
        (["node", "--chain", "nope", "--tmp"], "unknown chain spec 'nope'"),
        (["node", "--tmp", "--base-path", "/tmp/x"], "either --tmp or --base-path"),
        (["node", "--chain", "dev"], "give --base-path"),
        (["node", "--dev", "--rpc-port", "70000"], "70000"),
        (["node", "--chain", "btt-21m", "--tmp", "--validator", "--key", "alice"], "only accepted on dev chains"),
        (["node", "--chain", "dev", "--tmp", "--validator"], "needs --key"),
        (["node", "--dev", "--rpc-external", "--rpc-methods", "unsafe"], "only served on loopback"),
        (["key", "inspect", "notanaddress"], "is not an address"),
        (["key", "inspect", "0xzz"], "not valid hex"),
        (["genesis", "validate", "tests/genesis/fixtures/seed-004.json"], "is not a valid chain spec"),
        (["genesis", "inspect", "missing.json"], "chain spec file not found"),
        (["genesis", "build", "dev", "--output", "/tmp/x.json", "--genesis-time", "soon"], "--genesis-time"),
        (["frobnicate"], "No such command"),
        (["tranfer", "--to", "bob"], "Did you mean 'transfer'?"),
        (["query", "acount", "bob"], "Did you mean 'account'?"),
        (["key", "inspect", "//Alice/soft"], "ed25519 cannot derive soft junction '/soft'; use '//soft'"),
        (["key", "inspect", "./no-such-key.json"], "key file ./no-such-key.json does not exist"),
        (["key", "inspect", "//Alice//"], "empty derivation junction"),
    ],
)
def test_bad_arguments_give_one_clear_line(capsys, argv, fragment):
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, fragment)


NODE_MISTAKES = [
    (["--chain", "btt-21m", "--tmp", "--validator", "--key", "alice"], "only accepted on dev chains"),
    (["--chain", "dev", "--tmp", "--validator"], "needs --key"),
    (["--dev", "--demo-economy", "--demo-clinic", "nobody"], "neither a dev name, a key file nor"),
    (["--chain", "btt-21m", "--tmp", "--demo-economy"], "only on dev and local chains"),
    (["--chain", "dev", "--tmp", "--demo-economy", "--demo-clinic", "none"], "nothing to run"),
    (["--dev", "--bootnodes", "/ip4/127.0.0.1/tcp/30333"], "is not a multiaddr"),
]
"""Mistakes the node's command line shows by itself, each with its error."""


@pytest.mark.parametrize("argv, fragment", [*NODE_MISTAKES, ([], "Address already in use")])
def test_a_mistake_in_the_node_arguments_is_named_even_where_its_ports_are_taken(capsys, argv, fragment):
    # another node on the same ports (a devnet on the defaults): the mistake is what the user must fix first, and the
    # taken port is said only of a command line without one (the last case: the ports really are held here)
    with held_node_ports() as ports:
        code, _, err = run(capsys, "node", *(argv or ["--dev"]), *ports)
    assert_one_error_line(code, err, fragment)


def test_genesis_error_lists_each_problem(capsys):
    code, _, err = run(capsys, "genesis", "validate", "tests/genesis/fixtures/seed-002.json")
    assert code == 1
    lines = err.splitlines()
    assert "85%" in lines[1] and "15% short" in lines[1]
    assert "Traceback" not in err


def test_genesis_inspect_json(capsys):
    code, out, _ = run(capsys, "genesis", "inspect", "btt-21m", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["total_supply"] == str(21_000_000 * 10**18)
    assert len(info["allocations"]) == 12
    assert sum(int(r["amount"]) for r in info["allocations"]) == 21_000_000 * 10**18
    assert info["genesis_hash"].startswith("0x") and len(info["genesis_hash"]) == 66


def test_genesis_build_fixes_the_time_and_hash(capsys, tmp_path):
    out_file = tmp_path / "spec.json"
    code, out, _ = run(capsys, "genesis", "build", "dev", "--output", str(out_file), "--genesis-time", "1700000000000")
    assert code == 0
    assert json.loads(out_file.read_text())["genesis_time_ms"] == 1_700_000_000_000
    code2, out2, _ = run(capsys, "genesis", "validate", str(out_file))
    assert code2 == 0 and out.split("genesis hash ")[1].strip() in out2


def test_key_generate_and_inspect(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("BTT_PASSWORD", "a long enough password")
    key_file = tmp_path / "k.json"
    code, out, _ = run(capsys, "key", "generate", "--output", str(key_file), "--json")
    assert code == 0
    info = json.loads(out)
    assert "secret_seed" not in info
    code, out2, _ = run(capsys, "key", "inspect", str(key_file), "--json")
    assert json.loads(out2)["address"] == info["address"]
    code, _, err = run(capsys, "key", "generate", "--output", str(key_file))
    assert_one_line_error(code, err, "refusing to overwrite")


def test_bench_import_runs_the_real_pipeline(capsys):
    code, out, _ = run(capsys, "bench", "import", "--accounts", "50", "--transfers", "20", "--blocks", "2")
    assert code == 0
    fields = dict(line.split(None, 1) for line in out.splitlines())
    assert fields["transfers"] == "40" and fields["accounts"] == "50" and fields["blocks"] == "2"
    assert int(fields["import_tx_per_s"]) > 0 and int(fields["verify_per_s_one_core"]) > 0
    assert int(fields["authored_transfers"]) == 20 and int(fields["authoring_tx_per_s"]) > 0
    assert int(fields["rss_mib"]) > 0


def test_bench_rejects_bad_sizes(capsys):
    code, _, err = run(capsys, "bench", "import", "--transfers", "0")
    assert_one_line_error(code, err, "--transfers")


def test_runtime_messages_show_amounts_in_btt():
    from cli.submit import readable

    assert readable("tier 30d needs at least 1000000000000000000000, got 5000000000000000000") == \
        "tier 30d needs at least 1000 BTT, got 5 BTT"
    # ids, counts and millisecond times stay numbers
    plain = "job 42 of 1024 items, deadline 1798761600000 ms"
    assert readable(plain) == plain
    assert readable("fee 2660000000000000 paid") == "fee 0.00266 BTT paid"


def test_rpc_urls_without_a_scheme_are_understood():
    from btt_chain.client.rpc import RpcClient, RpcError, normalise_url

    assert normalise_url("localhost:9944") == "http://localhost:9944"
    assert normalise_url("ws://127.0.0.1:9944") == "http://127.0.0.1:9944"
    assert normalise_url("https://node.example") == "https://node.example"
    assert RpcClient("127.0.0.1:1").url == "http://127.0.0.1:1"
    import pytest

    with pytest.raises(RpcError, match="not a node URL"):
        RpcClient("ftp://x")
    with pytest.raises(RpcError, match="cannot reach a node at http://127.0.0.1:1"):
        RpcClient("127.0.0.1:1").call("system_health")


def test_genesis_build_into_a_missing_directory_is_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "genesis", "build", "dev", "--output", str(tmp_path / "no" / "x.json"))
    assert_one_line_error(code, err, "cannot write")


def test_a_mistyped_dev_name_gets_a_hint():
    import pytest

    from btt_chain.primitives.errors import ConfigError
    from cli.accounts import resolve_account

    with pytest.raises(ConfigError, match="did you mean 'bob'"):
        resolve_account("bbo", "Development", 42)
    with pytest.raises(ConfigError, match="not an address") as live:
        resolve_account("bbo", "Live", 42)
    assert "dev accounts" not in str(live.value)


def test_the_top_level_help_shows_whole_summaries(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "..." not in out.split("Commands:")[1]
