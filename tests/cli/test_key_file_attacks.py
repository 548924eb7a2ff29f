"""Attacks on key files and password files (issue 25, item 4), each asserting it fails: a deeply nested key
file, an edited public key or address, a password file others can read, an old plaintext key file used
silently. The address `key inspect` shows is the one that signs, or it says it could not check."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from btt_chain.primitives.account_keys import KeyIdentity
from btt_chain.primitives.address import decode_address, encode_address
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.keystore import is_encrypted, keyfile_identity, load_keyfile, save_keyfile
from cli import passwords
from tests.support.cli_runner import assert_one_error_line, run
from tests.support.light_kdf import light_kdf  # noqa: F401 - autouse: key files at the least cost

PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def no_password(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BTT_PASSWORD", "BTT_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)


def private(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def encrypted(tmp_path: Path, name: str = "k.json", prefix: int = 42) -> tuple[Path, Keypair]:
    pair = Keypair.generate()
    path = tmp_path / name
    save_keyfile(path, pair, prefix, PASSWORD.encode())
    return path, pair


def plaintext(tmp_path: Path, pair: Keypair, prefix: int = 42, name: str = "old.json") -> Path:
    """A version 1 key file: the seed in the clear, as written before key files were encrypted."""
    doc = {"type": "ed25519", "version": 1, "seed": pair.seed.hex(), "public": pair.public.hex(),
           "address": encode_address(pair.public, prefix)}
    return private(tmp_path / name, json.dumps(doc))


def edited(path: Path, **fields: str) -> None:
    doc = json.loads(path.read_text())
    doc.update(fields)
    path.write_text(json.dumps(doc))


# 1. a key file nested deeper than the JSON parser goes -----------------------------------------------------------

@pytest.mark.parametrize("content", ["[" * 6_000, '{"type": "ed25519", "crypto": ' + "[" * 6_000, '{"a":' * 3_000])
def test_a_deeply_nested_key_file_is_one_clear_error(capsys, tmp_path, content):
    path = private(tmp_path / "deep.json", content)
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_keyfile(path, None)
    for argv in (["key", "inspect", str(path)], ["key", "inspect", str(path), "--hash-chain"],
                 ["key", "encrypt", str(path)]):
        code, _, err = run(capsys, *argv)
        assert_one_error_line(code, err, f"{path} is not a btt-chain key file: nested too deeply")


# 2. an edited public key or address ------------------------------------------------------------------------------

def test_inspect_without_the_password_shows_an_edited_address_only_as_unverified(capsys, tmp_path):
    path, pair = encrypted(tmp_path)
    thief = Keypair.generate()
    edited(path, public=thief.public.hex(), address=encode_address(thief.public, 42))
    code, out, err = run(capsys, "key", "inspect", str(path), "--json")
    assert code == 0
    assert json.loads(out) == {"address": encode_address(thief.public, 42), "public": "0x" + thief.public.hex(),
                               "verified": False}
    assert "unverified" in err
    code, out, err = run(capsys, "key", "inspect", str(path))
    assert code == 0 and "verified  NO: what the file claims" in out and "unverified" in err


def test_with_the_password_an_edited_public_key_or_address_is_refused(capsys, tmp_path, monkeypatch):
    thief = Keypair.generate()
    for n, fields in enumerate(({"public": thief.public.hex(), "address": encode_address(thief.public, 42)},
                                {"public": thief.public.hex()}, {"address": encode_address(thief.public, 42)},
                                {"address": encode_address(thief.public, 7)})):
        path, pair = encrypted(tmp_path, f"k{n}.json")
        edited(path, **fields)
        monkeypatch.setenv("BTT_PASSWORD", PASSWORD)
        for argv in (["key", "inspect", str(path)], ["key", "inspect", str(path), "--hash-chain"]):
            code, out, err = run(capsys, *argv)
            assert_one_error_line(code, err, str(path))
            assert "does not match" in err and thief.public.hex() not in out
        with pytest.raises(ConfigError, match="does not match"):  # loading it to sign
            passwords.open_keyfile(path)
        with pytest.raises(ConfigError, match="does not match the key's secret|does not match the stored public"):
            load_keyfile(path, lambda: PASSWORD.encode())
        monkeypatch.delenv("BTT_PASSWORD")


def test_without_the_password_a_public_key_and_address_that_disagree_are_refused(capsys, tmp_path):
    path, pair = encrypted(tmp_path)
    edited(path, address=encode_address(Keypair.generate().public, 42))
    code, _, err = run(capsys, "key", "inspect", str(path))
    assert_one_error_line(code, err, "the stored address does not match the stored public key")


def test_an_untouched_file_is_verified_with_the_password_given_or_typed(capsys, tmp_path, monkeypatch):
    path, pair = encrypted(tmp_path, prefix=7)
    monkeypatch.setenv("BTT_PASSWORD", PASSWORD)
    code, out, err = run(capsys, "key", "inspect", str(path), "--json")
    assert code == 0 and err == ""
    assert json.loads(out) == {"address": encode_address(pair.public, 42), "public": "0x" + pair.public.hex(),
                               "verified": True}
    monkeypatch.delenv("BTT_PASSWORD")

    class Terminal:
        def isatty(self) -> bool:
            return True

    asked: list[str] = []
    monkeypatch.setattr(passwords.sys, "stdin", Terminal())
    monkeypatch.setattr(passwords.click, "prompt", lambda text, **_: asked.append(text) or PASSWORD)
    code, out, _ = run(capsys, "key", "inspect", str(path), "--json")
    assert code == 0 and json.loads(out)["verified"] is True and asked == [f"password for {path}"]


def test_an_edited_plaintext_file_is_refused_even_without_a_password(capsys, tmp_path):
    pair, thief = Keypair.generate(), Keypair.generate()
    path = plaintext(tmp_path, pair)
    edited(path, public=thief.public.hex(), address=encode_address(thief.public, 42))
    assert keyfile_identity(plaintext(tmp_path, pair, name="fine.json"), None) == (KeyIdentity(0, pair.public), True)
    code, _, err = run(capsys, "key", "inspect", str(path))
    assert_one_error_line(code, err, "does not match the key's secret")


# 3. a password file others can read ------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620, 0o602], ids=oct)
def test_a_password_file_others_can_read_or_write_is_refused_with_the_fix(capsys, tmp_path, monkeypatch, mode):
    path, _ = encrypted(tmp_path)
    old = plaintext(tmp_path, Keypair.generate())
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(mode)
    fix = f"password file {secret} is readable or writable by others (mode {mode:04o})"
    for argv in (["key", "inspect", str(path)], ["key", "inspect", str(path), "--hash-chain"],
                 ["key", "generate", "--output", str(tmp_path / "new.json")], ["key", "encrypt", str(old)]):
        code, _, err = run(capsys, "--password-file", str(secret), *argv)
        assert_one_error_line(code, err, fix)
        assert f"chmod 600 {secret}" in err
        monkeypatch.setenv("BTT_PASSWORD_FILE", str(secret))
        code, _, err = run(capsys, *argv)
        assert_one_error_line(code, err, f"chmod 600 {secret}")
        monkeypatch.delenv("BTT_PASSWORD_FILE")
    assert not (tmp_path / "new.json").exists() and not is_encrypted(old)


@pytest.mark.parametrize("mode", [0o600, 0o400], ids=oct)
def test_a_password_file_only_its_owner_can_read_is_used(capsys, tmp_path, mode):
    path, pair = encrypted(tmp_path)
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(mode)
    code, out, err = run(capsys, "--password-file", str(secret), "key", "inspect", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["verified"] is True


# 4. an old plaintext key file ------------------------------------------------------------------------------------

def test_using_a_plaintext_key_file_warns_and_names_the_command_that_encrypts_it(capsys, tmp_path):
    pair = Keypair.generate()
    path = plaintext(tmp_path, pair)
    warning = f"warning: key file {path} is not encrypted"
    for argv in (["key", "inspect", str(path), "--json"], ["key", "inspect", str(path), "--hash-chain", "--json"]):
        code, out, err = run(capsys, *argv)
        assert code == 0 and json.loads(out)["public"] == "0x" + pair.public.hex()
        assert warning in err and f"btt-chain key encrypt {path}" in err
    assert passwords.open_keyfile(path).public == pair.public
    assert warning in capsys.readouterr().err
    assert passwords.keyfile_account(path) == pair.public
    assert warning in capsys.readouterr().err


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604], ids=oct)
def test_a_plaintext_key_file_others_can_read_is_refused(capsys, tmp_path, mode):
    path = plaintext(tmp_path, Keypair.generate())
    path.chmod(mode)
    for argv in (["key", "inspect", str(path)], ["key", "encrypt", str(path)]):
        code, _, err = run(capsys, *argv)
        assert_one_error_line(code, err, f"chmod 600 {path}")


@pytest.mark.parametrize("prefix", [42, 7])
def test_key_encrypt_rewrites_a_plaintext_file_encrypted_with_the_same_address(capsys, tmp_path, monkeypatch, prefix):
    pair = Keypair.generate()
    path = plaintext(tmp_path, pair, prefix)
    address = json.loads(path.read_text())["address"]
    monkeypatch.setenv("BTT_PASSWORD", PASSWORD)
    code, out, err = run(capsys, "key", "encrypt", str(path), "--json")
    assert code == 0, err
    assert json.loads(out) == {"address": address, "public": "0x" + pair.public.hex(), "key_file": str(path)}
    text = path.read_text()
    assert pair.seed.hex() not in text and json.loads(text)["address"] == address and is_encrypted(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == [path.name]  # no temporary file left beside it
    assert load_keyfile(path, lambda: PASSWORD.encode()).seed == pair.seed
    assert decode_address(address) == pair.public
    code, out, err = run(capsys, "key", "inspect", str(path), "--json")
    assert code == 0 and "not encrypted" not in err and json.loads(out)["verified"] is True
    code, _, err = run(capsys, "key", "encrypt", str(path))
    assert_one_error_line(code, err, "is already encrypted")


def test_key_encrypt_refuses_an_edited_file_and_a_failed_write_leaves_the_old_one(capsys, tmp_path, monkeypatch):
    pair = Keypair.generate()
    monkeypatch.setenv("BTT_PASSWORD", PASSWORD)
    path = plaintext(tmp_path, pair, name="edited.json")
    edited(path, address=encode_address(Keypair.generate().public, 42))
    code, _, err = run(capsys, "key", "encrypt", str(path))
    assert_one_error_line(code, err, "does not match")
    assert not is_encrypted(path)
    path.unlink()

    path = plaintext(tmp_path, pair)
    before = path.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", crash)
        code, _, err = run(capsys, "key", "encrypt", str(path))
    assert_one_error_line(code, err, f"cannot encrypt key file {path}: No space left on device; it is unchanged")
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == [path.name]
    monkeypatch.setenv("BTT_PASSWORD", "short")
    code, _, err = run(capsys, "key", "encrypt", str(path))
    assert_one_error_line(code, err, "at least 8")
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == [path.name]
