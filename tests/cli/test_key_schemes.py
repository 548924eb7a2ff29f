"""The CLI's keys of every scheme: `key generate --scheme`, `key inspect --scheme` (or a `sr25519:` prefix) as
`subkey inspect --scheme` shows them, key files that keep their scheme, `--from`/`--to` resolving them, validators'
session keys ed25519 only, and one `error:` line for every bad scheme, URI or key file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btt_chain.primitives.ecdsa import account_of
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keystore import load_keyfile, save_keyfile
from btt_chain.primitives.mnemonic import keypair_from_suri
from btt_chain.primitives.signatures import ECDSA, ED25519, SR25519
from cli.accounts import resolve_account, resolve_signer
from cli.node_cmd import _validator_key
from tests.support.cli_runner import assert_one_error_line, run, succeed
from tests.support.light_kdf import light_kdf  # noqa: F401 - autouse: key files at the least cost

PASSWORD = "a long enough password"
ALICE_SR = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
ALICE_ECDSA = "5C7C2Z5sWbytvHpuLTvzKunnnRwQxft1jiqrLD5rhucQ5S9X"


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BTT_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("BTT_PASSWORD", PASSWORD)


def inspect_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    return dict(json.loads(succeed(capsys, "key", "inspect", *argv, "--json")))


def test_inspect_shows_what_subkey_shows_for_each_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    sr = inspect_json(capsys, "--scheme", "sr25519", "//Alice")
    assert sr == {"address": ALICE_SR, "scheme": "sr25519",
                  "public": "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"}
    assert inspect_json(capsys, "sr25519://Alice") == sr == inspect_json(capsys, "--scheme", "SR25519", "alice")
    ecdsa = inspect_json(capsys, "--scheme", "ecdsa", "//Alice", "--show-secret")
    assert ecdsa == {
        "address": ALICE_ECDSA, "scheme": "ecdsa",
        "public": "0x020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1",
        "account_id": "0x01e552298e47454041ea31273b4b630c64c104e4514aa3643490b8aaca9cf8ed",
        "secret_seed": "0xcb6df9de1efca7a3998a8ead4e02159d5fa99c3e0d4fd6432667390bb4726854",  # subkey's
    }
    assert inspect_json(capsys, "//Alice") == {  # ed25519 stays the default, shown as before
        "address": "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu",
        "public": "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"}
    text = succeed(capsys, "key", "inspect", "--scheme", "sr25519", "//Alice")
    assert ALICE_SR in text and "sr25519" in text


def test_a_derived_sr25519_key_shows_its_secret_key_which_gives_it_back(capsys: pytest.CaptureFixture[str]) -> None:
    soft = inspect_json(capsys, "sr25519://Alice/soft", "--show-secret")
    assert "secret_seed" not in soft and len(str(soft["secret_key"])) == 2 + 128
    again = inspect_json(capsys, f"sr25519:{soft['secret_key']}")
    assert again["address"] == soft["address"] == "5C8PhJPLE54x23RjmqBcEEnALryCDWdTJM5xLaoL9W8XEpnt"


@pytest.mark.parametrize("scheme", ["sr25519", "ecdsa"])
def test_generate_keeps_the_scheme_in_the_key_file(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                   scheme: str) -> None:
    path = tmp_path / "key.json"
    made = json.loads(succeed(capsys, "key", "generate", "--scheme", scheme, "--output", str(path), "--json"))
    assert made["scheme"] == scheme and json.loads(path.read_text())["type"] == scheme
    assert inspect_json(capsys, str(path))["address"] == made["address"]
    assert inspect_json(capsys, "--scheme", scheme, str(path))["verified"] is True
    key = resolve_signer(str(path), "Live")
    assert key.scheme == (SR25519 if scheme == "sr25519" else ECDSA)
    assert resolve_account(str(path), "Live", None) == key.account
    other = "ecdsa" if scheme == "sr25519" else "sr25519"
    code, _, err = run(capsys, "key", "inspect", "--scheme", other, str(path))
    assert_one_error_line(code, err, f"holds an {scheme} key, not {other}")


def test_from_and_to_take_a_scheme_prefix_and_dev_keys_stay_dev_only() -> None:
    assert resolve_signer("sr25519://Alice", "Development").scheme == SR25519
    assert resolve_signer("ecdsa:alice//stash", "Local").account == keypair_from_suri("//Alice//stash", ECDSA).account
    assert resolve_signer("ed25519://Alice", "Development").scheme == ED25519
    assert resolve_account("ecdsa://Bob", "Development", 42) == account_of(keypair_from_suri("//Bob", ECDSA).public)
    with pytest.raises(ConfigError, match="only accepted on dev chains"):
        resolve_signer("sr25519://Alice", "Live")


def test_a_validators_session_key_is_ed25519(tmp_path: Path) -> None:
    path = tmp_path / "validator.json"
    save_keyfile(path, keypair_from_suri("//Alice", SR25519), 42, PASSWORD.encode())
    with pytest.raises(ConfigError, match="a validator's session key is ed25519"):
        _validator_key(str(path), "dev", False)
    assert load_keyfile(path, lambda: PASSWORD.encode()).scheme == SR25519


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["key", "inspect", "foo://Alice"], "unknown signature scheme 'foo'"),
        (["key", "inspect", "ecdsa://Alice/soft"], "ecdsa cannot derive soft junction '/soft'; use '//soft'"),
        (["key", "inspect", "sr25519:"], "after 'sr25519:' give a secret URI"),
        (["key", "inspect", "sr25519:5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"],
         "after 'sr25519:' give a secret URI"),
        (["key", "inspect", "--scheme", "ecdsa", "sr25519://Alice"], "sr25519: contradicts --scheme ecdsa"),
        (["key", "inspect", "--scheme", "sr25519", ALICE_SR], "an account id, which shows no scheme"),
        (["key", "inspect", "sr25519:0x1234"], "or an sr25519 secret key of 128"),
        (["key", "inspect", "--scheme", "sr25519", "//Alice", "--hash-chain"],
         "a validator's session key, which is ed25519"),
        (["key", "generate", "--scheme", "rsa", "--show-secret"], "'rsa' is not one of"),
        (["key", "inspect", "--show-secret", "dsa:alice"], "unknown signature scheme 'dsa'"),
    ],
)
def test_bad_schemes_and_uris_are_one_error_line(capsys: pytest.CaptureFixture[str], argv: list[str],
                                                 fragment: str) -> None:
    code, _, err = run(capsys, *argv)
    assert_one_error_line(code, err, fragment)


def test_a_key_file_of_an_unknown_scheme_is_one_error_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps({"type": "rsa", "version": 2, "public": "00" * 32}))
    path.chmod(0o600)
    code, _, err = run(capsys, "key", "inspect", str(path))
    assert_one_error_line(code, err, "is not a key file of a known scheme (ed25519, sr25519, ecdsa)")
