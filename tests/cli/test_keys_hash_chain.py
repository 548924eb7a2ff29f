"""`btt-chain key inspect KEY --hash-chain`: the commitment a genesis file or bonds.register_validator takes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hash_chain import hash_chain_for
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.keystore import save_keyfile
from genesis.loader import load_chain_spec
from tests.support.cli_runner import run


def commitment(pair: Keypair, length: int = 2**20) -> str:
    return "0x" + hash_chain_for(pair.seed, length).commitment.hex()


def fields(text: str) -> dict[str, str]:
    return dict(line.split(None, 1) for line in text.splitlines())


def test_text_output_of_a_dev_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "key", "inspect", "alice", "--hash-chain")
    assert code == 0, err
    alice = dev_keypair("alice")
    assert fields(out) == {
        "address": encode_address(alice.public, 42),
        "public": "0x" + alice.public.hex(),
        "hash_chain_commitment": commitment(alice),
        "hash_chain_length": "1048576",
        "hash_chain_generation": "0",
    }
    # what the dev preset derives for its validator alice
    assert load_chain_spec("dev").validators[0].hash_chain_commitment.hex() == commitment(alice)[2:]


def test_json_output_with_a_length(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "key", "inspect", "bob", "--hash-chain", "--hash-chain-length", "64", "--json")
    assert code == 0, err
    info = json.loads(out)
    bob = dev_keypair("bob")
    assert info == {
        "address": encode_address(bob.public, 42),
        "public": "0x" + bob.public.hex(),
        "hash_chain_commitment": commitment(bob, 64),
        "hash_chain_length": 64,
        "hash_chain_generation": 0,
    }
    assert info["hash_chain_commitment"] != commitment(bob)


def test_length_alone_implies_hash_chain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "key", "inspect", "bob", "--hash-chain-length", "64", "--json")
    assert code == 0
    assert json.loads(out)["hash_chain_commitment"] == commitment(dev_keypair("bob"), 64)


def test_a_later_generation_is_another_chain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "key", "inspect", "bob", "--hash-chain-generation", "2", "--json")
    assert code == 0
    info = json.loads(out)
    bob = dev_keypair("bob")
    assert info["hash_chain_generation"] == 2
    assert info["hash_chain_commitment"] == "0x" + hash_chain_for(bob.seed, 2**20, 2).commitment.hex()
    assert info["hash_chain_commitment"] != commitment(bob)


def test_key_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pair = Keypair(bytes(range(32)))
    path = tmp_path / "validator.json"
    save_keyfile(path, pair, 42, b"validator password")
    monkeypatch.setenv("BTT_PASSWORD", "validator password")
    code, out, err = run(capsys, "key", "inspect", str(path), "--hash-chain", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["public"] == "0x" + pair.public.hex()
    assert info["hash_chain_commitment"] == commitment(pair)


def test_without_the_flag_nothing_changes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "key", "inspect", "alice", "--json")
    assert code == 0
    assert set(json.loads(out)) == {"address", "public"}


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["key", "inspect", encode_address(bytes(32), 42), "--hash-chain"], "needs the key's secret"),
        (["key", "inspect", "0x" + "00" * 32, "--hash-chain"], "neither a dev name"),
        (["key", "inspect", "alice", "--hash-chain-length", "15"], "--hash-chain-length"),
        (["key", "inspect", "alice", "--hash-chain-length", "16777217"], "--hash-chain-length"),
    ],
)
def test_errors_are_one_clear_line(capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code != 0
    assert "Traceback" not in err
    assert err.startswith("error: "), err
    assert fragment in err.splitlines()[0], err


def test_a_long_hash_chain_shows_progress_and_the_same_commitment(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "key", "inspect", "bob", "--hash-chain-length", str(1 << 20), "--json")
    assert code == 0
    assert "hash chain: 99% of 1,048,576 reveals" in err and "s left" in err
    assert json.loads(out)["hash_chain_commitment"] == commitment(dev_keypair("bob"))


def test_the_chains_own_length(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`--chain SPEC`: the length is the spec's consensus.hash_chain_length (issue 43: `btt-21m` needs 2**24, not the
    default 2**20); a --hash-chain-length that contradicts it is refused before any hashing."""
    doc = json.loads((Path(__file__).resolve().parents[2] / "genesis" / "presets" / "dev.json").read_text())
    doc["consensus"]["hash_chain_length"] = 64
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(doc))
    code, out, err = run(capsys, "key", "inspect", "bob", "--chain", str(spec), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["hash_chain_length"] == 64 and info["hash_chain_commitment"] == commitment(dev_keypair("bob"), 64)
    code, _, err = run(capsys, "key", "inspect", "bob", "--hash-chain", "--chain", "btt-21m",
                       "--hash-chain-length", str(2**20))
    assert code == 1 and err.startswith("error: --hash-chain-length 1048576 contradicts --chain btt-21m, whose "
                                        "consensus.hash_chain_length is 16777216"), err
