"""The light client's promise: `btt_chain.client` and the CLI's wallet commands load without the node's
dependencies, build the same calls as the runtime does, and the CLI names `btt-chain[node]` when a command
needs what is missing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from btt_chain.client import CallTable, keypair_from_uri
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.extrinsic import Call
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.mnemonic import keypair_from_suri
from runtime.modules import RUNTIME

REPO = Path(__file__).resolve().parents[2]
NODE_ONLY = ("libp2p", "plyvel", "numpy")
LIGHT_MODULES = ("btt_chain.client", "cli.main", "cli.wallet", "cli.submit", "cli.accounts",
                 "cli.call_args", "cli.keys", "cli.query", "cli.multisig_cmd",
                 "cli.staking_cmd", "cli.bonds_cmd", "cli.vesting_cmd", "cli.governance_cmd", "cli.assets_cmd",
                 "cli.payments_cmd", "cli.incentives_cmd")
"""The light client and the wallet commands (`btt-chain transfer|stake|bond|vote|multisig|key|query ...`)."""

# A stand-in for an install without the node's dependencies: importing one of them fails as it would there.
BLOCK_NODE_DEPENDENCIES = """
import sys
class _Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("libp2p", "plyvel", "numpy"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _Missing())
"""


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_the_client_and_the_wallet_commands_load_without_node_dependencies() -> None:
    code = "import json, sys\n" + "".join(f"import {m}\n" for m in LIGHT_MODULES) + (
        f"print(json.dumps(sorted({{k.split('.')[0] for k in sys.modules}} & set({NODE_ONLY!r}))))"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("balances.transfer_allow_death", (dev_keypair("bob").public, 10**18)),
        ("staking.stake", ("flexible", 5 * 10**18)),
        ("bonds.register_validator", (b"\x01" * 32, b"\x02" * 32, b"\x03" * 64)),
        ("governance.vote", (3, True, 7)),
        ("multisig.approve", ([dev_keypair("bob").public], 2, b"call bytes")),
        ("governance.propose", (RUNTIME.call("balances.transfer_allow_death",
                                             b"\x03" * 32, 1), b"\x00" * 32, 10**20, False)),
    ],
)
def test_the_call_table_builds_what_the_runtime_builds(name: str, args: tuple[object, ...]) -> None:
    built = CallTable(RUNTIME.metadata()).build_call(name, *args)
    assert isinstance(built, Call)
    assert built.encode() == RUNTIME.call(name, *args).encode()


def test_the_call_table_refuses_unknown_calls_and_wrong_arguments() -> None:
    table = CallTable(RUNTIME.metadata())
    with pytest.raises(ConfigError, match="unknown call 'balances.teleport'"):
        table.build_call("balances.teleport")
    with pytest.raises(ConfigError, match="takes 2 arguments"):
        table.build_call("balances.transfer_allow_death", b"\x00" * 32)
    with pytest.raises(ConfigError, match="argument value"):
        table.build_call("balances.transfer_allow_death", b"\x00" * 32, -1)


def test_key_uris_are_dev_paths_or_secret_phrases() -> None:
    assert keypair_from_uri("//Alice").public == dev_keypair("alice").public
    assert keypair_from_uri("//Bob//stash").public == dev_keypair("bob//stash").public
    phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
    assert keypair_from_uri(phrase + "//Alice").public == keypair_from_suri(phrase + "//Alice").public
    with pytest.raises(ConfigError, match="key URI"):
        keypair_from_uri("alice")


def test_without_node_dependencies_wallet_commands_load_and_node_commands_name_the_extra() -> None:
    code = BLOCK_NODE_DEPENDENCIES + """
from click.testing import CliRunner
from cli.main import cli, main
runner = CliRunner()
for args in (["transfer", "--help"], ["multisig", "--help"], ["--help"]):
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, (args, result.output, result.exception)
    print(result.output)
main(["node", "--dev"])
"""
    done = run_python(code)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Send BTT from one account to another." in done.stdout
    assert "(needs btt-chain[node]: numpy is not installed)" in done.stdout  # in the command list
    assert done.stderr.strip() == (
        "error: `btt-chain node` needs the node's dependencies (numpy is not installed): pip install 'btt-chain[node]'"
    )
