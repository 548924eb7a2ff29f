"""Key files are encrypted and private (issue 13): the attacks on plaintext keys, each asserting it fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nacl.pwhash.argon2id as argon2id
import pytest

from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.keystore import keyfile_public, load_keyfile, save_keyfile
from tests.support.cli_runner import run
from tests.support.light_kdf import light_kdf  # noqa: F401 - autouse: key files at the least cost

PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def no_password(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BTT_PASSWORD", "BTT_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_a_generated_key_file_holds_no_seed_in_the_clear(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("BTT_PASSWORD", PASSWORD)
    path = tmp_path / "k.json"
    code, out, err = run(capsys, "key", "generate", "--output", str(path), "--json")
    assert code == 0, err
    text = path.read_text()
    info = json.loads(out)
    assert "secret_seed" not in info and "seed" not in json.loads(text)  # nothing secret printed or stored
    pair = load_keyfile(path, lambda: PASSWORD.encode())
    assert pair.seed.hex() not in text and pair.seed.hex() not in out + err
    assert "0x" + pair.public.hex() == info["public"] and (path.stat().st_mode & 0o777) == 0o600


def test_the_secret_is_printed_only_when_asked(capsys, tmp_path):
    code, _, err = run(capsys, "key", "generate")
    assert code != 0 and "--show-secret" in err and len(err.strip().splitlines()) == 1
    code, out, _ = run(capsys, "key", "generate", "--show-secret", "--json")
    assert code == 0 and json.loads(out)["secret_seed"].startswith("0x")


def test_wrong_or_missing_password_and_tampering_are_refused(capsys, tmp_path, monkeypatch):
    path = tmp_path / "k.json"
    pair = Keypair.generate()
    save_keyfile(path, pair, 42, PASSWORD.encode())
    with pytest.raises(ConfigError, match="wrong password"):
        load_keyfile(path, lambda: b"not the password")
    assert keyfile_public(path) == pair.public  # the address needs no password
    data = json.loads(path.read_text())
    flipped = data["crypto"]["ciphertext"]
    data["crypto"]["ciphertext"] = ("0" if flipped[0] != "0" else "1") + flipped[1:]
    tampered = tmp_path / "t.json"
    tampered.write_text(json.dumps(data))
    tampered.chmod(0o600)
    with pytest.raises(ConfigError, match="wrong password|changed"):
        load_keyfile(tampered, lambda: PASSWORD.encode())
    data["crypto"]["memlimit"] = 2**40  # a hostile file must not exhaust the machine
    tampered.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="out of range"):
        load_keyfile(tampered, lambda: PASSWORD.encode())
    # the CLI without a terminal and without a password: one line that says how to give it
    code, _, err = run(capsys, "key", "inspect", str(path), "--hash-chain")
    assert code != 0 and "BTT_PASSWORD" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("BTT_PASSWORD", PASSWORD)
    code, out, err = run(capsys, "key", "inspect", str(path), "--hash-chain", "--json")
    assert code == 0 and json.loads(out)["public"] == "0x" + pair.public.hex()
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)  # a password file others can read is refused (tests/cli/test_key_file_attacks.py)
    monkeypatch.delenv("BTT_PASSWORD")
    code, out, _ = run(capsys, "--password-file", str(secret), "key", "inspect", str(path), "--hash-chain", "--json")
    assert code == 0


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused_with_the_fix(capsys, tmp_path, mode):
    path = tmp_path / "k.json"
    save_keyfile(path, Keypair.generate(), 42, PASSWORD.encode())
    path.chmod(mode)
    with pytest.raises(ConfigError, match=f"chmod 600 {path}"):
        load_keyfile(path, lambda: PASSWORD.encode())
    code, _, err = run(capsys, "key", "inspect", str(path))
    assert code != 0 and "chmod 600" in err


def test_a_short_password_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="at least 8"):
        save_keyfile(tmp_path / "k.json", Keypair.generate(), 42, b"short")
    assert not Path(tmp_path / "k.json").exists()


def test_a_key_file_that_does_not_exist_says_so(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError, match=f"key file {missing} does not exist"):
        load_keyfile(missing, lambda: PASSWORD.encode())
    with pytest.raises(ConfigError, match="does not exist"):
        keyfile_public(missing)
    assert not missing.exists()


def test_a_process_writes_key_files_at_the_interactive_limits(tmp_path):
    """This module writes key files at argon2id's least cost (`tests.support.light_kdf`); `btt-chain key generate` in a
    process of its own writes them at the interactive limits, and they read back."""
    path = tmp_path / "k.json"
    done = subprocess.run([sys.executable, "-m", "cli", "key", "generate", "--output", str(path)],
                          env={**os.environ, "BTT_PASSWORD": PASSWORD}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    crypto = json.loads(path.read_text())["crypto"]
    assert (crypto["opslimit"], crypto["memlimit"]) == (argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE)
    assert load_keyfile(path, lambda: PASSWORD.encode()).public.hex() in done.stdout
