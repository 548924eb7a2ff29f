"""The light client installed into an empty venv (`pip install "btt-chain[client]"` from this repository) has no
libp2p, plyvel or numpy, and its Python moves BTT on a real dev node: //Alice pays //Bob, the transfer is watched
to inclusion over the WebSocket, and Bob's balance grows by exactly the amount."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.rpc.test_rpc_node_process import START_TIMEOUT_S, NodeProcess, free_port

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("btt_chain", "runtime", "p2p", "storage", "cli", "genesis", "bench")
NO_INDEX = ("Could not find a version that satisfies", "No matching distribution found", "NewConnectionError",
            "Temporary failure in name resolution", "Network is unreachable", "Max retries exceeded")
log = logging.getLogger("test.client.install")

CLIENT_SCRIPT = """
import json, sys
import btt_chain
from btt_chain.client import NotSent, Wallet, keypair_from_uri, parse_btt

alice = Wallet(keypair_from_uri("//Alice"), sys.argv[1])
bob = keypair_from_uri("//Bob")
amount = parse_btt("12.5")
before = alice.free_balance(bob.public)
dry = alice.dry_run("balances.transfer_allow_death", bob.public, amount)
assert dry["valid"] and dry["success"], dry
try:
    alice.transfer(bob.public, alice.free_balance() * 2)
    raise AssertionError("a transfer of more than the balance was sent")
except NotSent as exc:
    refused = str(exc)
done = alice.transfer(bob.public, amount)
after = alice.free_balance(bob.public)
print(json.dumps({
    "package": btt_chain.__file__,
    "loaded": sorted({m.split(".")[0] for m in sys.modules} & {"libp2p", "plyvel", "numpy"}),
    "amount": amount, "before": before, "after": after, "block": done.status["blockNumber"],
    "bob": alice.account(bob.public)["address"], "events": done.events, "refused": refused,
}))
"""


def copy_sources(dest: Path) -> None:
    """The installable part of the repository (no .venv, no test data), so pip builds away from the work tree."""
    for name in SOURCES:
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, dest / name)


def install_client(tmp_path: Path) -> Path:
    """An empty venv with `btt-chain[client]` installed; its python."""
    source = tmp_path / "btt-chain-src"
    copy_sources(source)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    log.info("pip install '%s[client]' into an empty venv", source)
    done = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", f"{source}[client]"],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        output = done.stdout + done.stderr
        if any(sign in output for sign in NO_INDEX):
            pytest.skip("pip cannot reach a package index to install the client's dependencies:\n" + output[-2000:])
        raise AssertionError(f"pip install failed:\n{output[-4000:]}")
    return python


def installed(python: Path) -> set[str]:
    listing = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                             check=True, timeout=120)
    return {row["name"].lower().replace("_", "-") for row in json.loads(listing.stdout)}


def wait_for_rpc(node: NodeProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "system_health", "params": []}).encode()
    while time.monotonic() < deadline:
        assert node.proc.poll() is None, f"the node exited with code {node.proc.returncode}"
        try:
            req = urllib.request.Request(node.url, data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the node's RPC did not answer within {START_TIMEOUT_S} s")


def test_the_client_installs_without_node_dependencies_and_transfers_on_a_dev_node(tmp_path: Path) -> None:
    python = install_client(tmp_path)
    packages = installed(python)
    assert {"btt-chain", "pynacl", "msgpack", "aiohttp", "mnemonic"} <= packages
    assert packages.isdisjoint({"libp2p", "plyvel", "numpy"}), packages

    node = NodeProcess(free_port(), tmp_path / "node.log")
    try:
        log.info("start a dev node and wait for its RPC")
        wait_for_rpc(node)
        script = tmp_path / "pay_bob.py"
        script.write_text(CLIENT_SCRIPT)
        log.info("//Alice pays //Bob 12.5 BTT from the client's venv")
        done = subprocess.run([str(python), str(script), node.url], cwd=tmp_path, capture_output=True, text=True,
                              timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        result = json.loads(done.stdout)
        assert result["package"].startswith(str(tmp_path / "venv")), result["package"]
        assert result["loaded"] == []
        assert result["after"] - result["before"] == result["amount"] == 12_500_000_000_000_000_000
        assert result["block"] >= 1
        assert result["refused"].startswith("not sent: the call would fail:"), result["refused"]
        transfers = [e for e in result["events"] if (e["module"], e["event"]) == ("balances", "Transfer")]
        assert len(transfers) == 1 and transfers[0]["dest"] == result["bob"], result["events"]

        log.info("the venv's btt-chain: wallet commands work, node commands name the extra they need")
        cli = str(python.parent / "btt-chain")
        paid = subprocess.run([cli, "transfer", "--from", "alice", "--to", "bob", "--amount", "1", "--json",
                               "--rpc", node.url], capture_output=True, text=True, timeout=180)
        assert paid.returncode == 0, paid.stdout + paid.stderr
        assert json.loads(paid.stdout)["success"] is True
        account = subprocess.run([cli, "query", "account", "bob", "--json", "--rpc", node.url], capture_output=True,
                                 text=True, timeout=120)
        assert account.returncode == 0, account.stderr
        assert int(json.loads(account.stdout)["free"]) == result["after"] + 10**18
        refused = subprocess.run([cli, "node", "--dev", "--tmp"], capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1
        assert refused.stderr.strip().endswith("is not installed): pip install 'btt-chain[node]'"), refused.stderr
    except BaseException:
        print(f"---- node log ({node.log_path}) ----\n{node.output()}\n---- end of node log ----")
        raise
    finally:
        node.stop()
