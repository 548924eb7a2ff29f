"""`btt-chain build-spec` and `genesis validate --key` (issue 43, item 1): a chain spec with the operator's own
validators, their commitments computed at the spec's own hash-chain length; the trap of a commitment computed at
another length (what `key inspect --hash-chain` gives at its default length for a chain of 2**24 reveals) caught
by `genesis validate --key` and by the node, which refuses to start as that validator in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.amounts import parse_btt
from btt_chain.primitives.hash_chain import hash_chain_for
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.keystore import save_keyfile
from genesis.loader import load_chain_spec, load_chain_spec_doc
from tests.support.cli_runner import assert_one_error_line, run, succeed
from tests.support.light_kdf import light_kdf  # noqa: F401 - autouse: key files at the least cost

LENGTH = 64
"""A short hash chain: the spec's own length in these tests (the presets' 2**24 takes seconds a key)."""


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, Keypair]]:
    """Three encrypted validator key files, their password in BTT_PASSWORD."""
    monkeypatch.setenv("BTT_PASSWORD", "a long password")
    monkeypatch.delenv("BTT_PASSWORD_FILE", raising=False)
    out = []
    for i in range(3):
        pair = Keypair(bytes([i + 1]) * 32)
        path = tmp_path / f"v{i + 1}.key"
        save_keyfile(path, pair, 42, b"a long password")
        out.append((path, pair))
    return out


def commitment(pair: Keypair, length: int = LENGTH) -> str:
    return "0x" + hash_chain_for(pair.seed, length).commitment.hex()


def build(capsys: pytest.CaptureFixture[str], tmp_path: Path, *validators: str, base: str = "btt-21m") -> Path:
    out = tmp_path / "my-net.json"
    succeed(capsys, "build-spec", "--chain", base, "--id", "my-net", "--name", "My network", "--slot-ms", "1000",
            "--epoch-slots", "5", "--hash-chain-length", str(LENGTH), "--genesis-time", "now", "--out", str(out),
            *(a for v in validators for a in ("--validator", v)))
    return out


def test_validators_from_key_files_with_commitments_at_the_specs_length(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, keys: list[tuple[Path, Keypair]]) -> None:
    path = build(capsys, tmp_path, *(f"{k}:10000" for k, _ in keys))
    spec = load_chain_spec(path)
    assert (spec.id, spec.name, spec.chain_type) == ("my-net", "My network", "live")
    assert (spec.consensus.slot_ms, spec.consensus.epoch_slots, spec.consensus.hash_chain_length) == (1000, 5, LENGTH)
    assert [v.account for v in spec.validators] == [p.public for _, p in keys]
    assert [v.session_key for v in spec.validators] == [p.public for _, p in keys]
    assert ["0x" + v.hash_chain_commitment.hex() for v in spec.validators] == [commitment(p) for _, p in keys]
    assert all(v.bond == parse_btt("10000") for v in spec.validators)
    # each bond (and 10 BTT beside it for its stash's fees) is held in the liquid row, taken from its largest
    # holder; the row's total is unchanged
    base = load_chain_spec("btt-21m")
    liquid = next(r for r in spec.allocations if r.release.kind == "liquid")
    base_liquid = next(r for r in base.allocations if r.release.kind == "liquid")
    held = {h.account: h.amount for h in liquid.holders}
    assert all(held[p.public] == parse_btt("10010") for _, p in keys)
    assert sum(held.values()) == liquid.amount == base_liquid.amount
    assert held[base_liquid.holders[0].account] == base_liquid.holders[0].amount - 3 * parse_btt("10010")
    out = succeed(capsys, "genesis", "validate", str(path), *(a for k, _ in keys for a in ("--key", str(k))))
    assert out.startswith(f"ok: {path} is a valid chain spec") and "3 validator keys checked" in out, out


def test_written_to_stdout_with_dev_names_on_a_local_chain(capsys: pytest.CaptureFixture[str]) -> None:
    out = succeed(capsys, "build-spec", "--chain", "dev", "--id", "mini", "--chain-type", "local",
                  "--validator", "alice:100", "--validator", "bob:100", "--hash-chain-length", str(LENGTH),
                  "--genesis-time", "1000")
    doc = json.loads(out)
    assert doc["chain_type"] == "local" and doc["genesis_time_ms"] == 1000
    assert doc["validators"] == [
        {"account": name, "bond": "100", "hash_chain_commitment": commitment(dev_keypair(name))}
        for name in ("alice", "bob")
    ]
    # both already hold more than their bonds in the liquid row: no allocation moved
    assert doc["allocations"] == load_chain_spec_doc("dev")["allocations"]


def test_genesis_build_is_build_spec_with_only_the_start_time(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    succeed(capsys, "genesis", "build", "btt-21m", "--output", str(tmp_path / "a.json"), "--genesis-time", "5000")
    succeed(capsys, "build-spec", "--chain", "btt-21m", "--genesis-time", "5000", "--out", str(tmp_path / "b.json"))
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert json.loads((tmp_path / "a.json").read_text()) == {**load_chain_spec_doc("btt-21m"),
                                                            "genesis_time_ms": 5000}


def test_the_wrong_length_trap_is_caught_by_validate_and_by_the_node(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, keys: list[tuple[Path, Keypair]]) -> None:
    """The issue's trap: v1's commitment computed at the default length (2**20) for a spec of LENGTH reveals."""
    (k1, p1), (k2, _), _ = keys
    wrong = commitment(p1, 2**20)
    path = build(capsys, tmp_path, f"{encode_address(p1.public)}:10000:{wrong}", f"{k2}:10000")
    # without the key nothing can tell
    assert succeed(capsys, "genesis", "validate", str(path)).startswith("ok:")
    code, _, err = run(capsys, "genesis", "validate", str(path), "--key", str(k1), "--key", str(k2))
    assert code == 1 and "Traceback" not in err
    lines = err.splitlines()
    assert lines[0] == f"error: {path} is not a valid chain spec (1 problem):", err
    assert len(lines) == 2 and lines[1].startswith("  validators[0].hash_chain_commitment: "), err
    assert f"at consensus.hash_chain_length {LENGTH:,} ends in {commitment(p1)}" in lines[1], err
    assert f"`btt-chain key inspect KEY --hash-chain --chain SPEC` (or --hash-chain-length {LENGTH})" in lines[1], err
    # the node refuses to start as that validator: one line, nothing written
    base = tmp_path / "node"
    code, out, err = run(capsys, "node", "--chain", str(path), "--base-path", str(base), "--validator", "--key",
                         str(k1), "--no-p2p", "--no-prometheus", "--rpc-port", "0")
    assert_one_error_line(code, err, "refusing to start as a validator: the validator key "
                                     f"{encode_address(p1.public)} does not match its registration on my-net")
    assert "could never author a block" in err and not out and not base.exists()


@pytest.mark.parametrize("validator, fragment", [
    ("{k1}:10000:{wrong}", "not the commitment given (computed at another length?)"),
    ("{a1}:10000", f"give the hash-chain commitment of {{a1}}'s session key (ADDRESS:BOND:0x...), which its owner "
                   "prints with `btt-chain key inspect KEY --hash-chain --chain SPEC` "
                   f"(or --hash-chain-length {LENGTH})"),
    ("{k1}", "expected KEYFILE:BOND"),
    ("{k1}:ten", "the bond 'ten' is not an amount"),
    ("{k1}:0", "the bond must be more than 0"),
    ("{a1}:10:0x12", "is not a hash-chain commitment"),
    ("nobody.key:10", "key file nobody.key does not exist"),
    ("5Nothing:10", "is neither a key file, a dev name nor an address"),
    ("alice:10", "dev account 'alice' is only accepted on dev chains"),
    ("{k1}:100000000", "cannot fund validator"),
])
def test_bad_validators_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                     keys: list[tuple[Path, Keypair]], validator: str, fragment: str) -> None:
    (k1, p1), _, _ = keys
    values = {"k1": k1, "a1": encode_address(p1.public), "wrong": commitment(p1, 2**10)}
    code, out, err = run(capsys, "build-spec", "--chain", "btt-21m", "--hash-chain-length", str(LENGTH),
                         "--validator", validator.format(**values))
    assert_one_error_line(code, err, fragment.format(**values))
    assert not out


def test_a_validator_twice_and_raw_are_refused(capsys: pytest.CaptureFixture[str],
                                               keys: list[tuple[Path, Keypair]]) -> None:
    (k1, _), _, _ = keys
    code, _, err = run(capsys, "build-spec", "--chain", "btt-21m", "--hash-chain-length", str(LENGTH),
                       "--validator", f"{k1}:1", "--validator", f"{k1}:2")
    assert_one_error_line(code, err, "is given twice")
    code, _, err = run(capsys, "build-spec", "--chain", "btt-21m", "--raw")
    assert_one_error_line(code, err, "--raw: this chain has no raw chain spec")


def test_an_invalid_result_is_one_line_per_problem(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "build-spec", "--chain", "btt-21m", "--id", "Not An Id", "--chain-type", "dev",
                       "--genesis-time", "1")
    assert code == 1 and "Traceback" not in err
    assert err.startswith("error: the built spec is not a valid chain spec (1 problem):\n  id: "), err


def test_validate_checks_written_dev_commitments_and_session_keys(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    doc = load_chain_spec_doc("dev")
    doc["consensus"]["hash_chain_length"] = LENGTH
    doc["validators"] = [{"account": "alice", "bond": "10", "hash_chain_commitment": commitment(dev_keypair("bob"))},
                         {"account": "bob", "bond": "10", "session_key": "charlie"}]
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(doc))
    code, _, err = run(capsys, "genesis", "validate", str(path), "--key", "bob", "--key", "dave")
    assert code == 1, err
    problems = err.splitlines()[1:]
    assert problems[0].startswith('  validators[0].hash_chain_commitment: "alice"\'s hash chain at '
                                  f"consensus.hash_chain_length {LENGTH} ends in {commitment(dev_keypair('alice'))}")
    assert problems[1].startswith("  validators[1].session_key: bob is this validator's account, but its session "
                                  f"key is 0x{dev_keypair('charlie').public.hex()}")
    assert problems[2] == f"  dave (0x{dev_keypair('dave').public.hex()}) is no validator's session key in dev"
    assert len(problems) == 3
