"""`btt-chain key insert --suri` says what is wrong with a secret URI it refuses (issue 53: `sr25519://Alice` was
called a phrase with an invalid character): a URI of another scheme is a key of the wrong scheme, a scheme's name or a
dev name without its `:` or `//` is named as such, an empty URI and (on a live chain) a key of the public dev phrase
are refused; every refusal is one line naming --suri, echoes no secret, and leaves the keystore as it was. The good
URIs (`//Alice`, `ed25519://Alice`, a phrase) insert the ed25519 key `subkey --scheme ed25519` derives."""

from __future__ import annotations

from pathlib import Path

import pytest

from btt_chain.node.keystore import DIRECTORY, key_file_name, session_keypair_from_suri
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import DEV_PHRASE, dev_keypair
from btt_chain.primitives.keystore import save_keyfile
from btt_chain.primitives.mnemonic import keypair_from_suri
from btt_chain.primitives.signatures import SR25519
from tests.support.cli_runner import assert_one_error_line, run, succeed

ALICE = dev_keypair("alice")
PHRASE = "legal winner thank year wave sausage worth useful legal winner thank yellow"
"""A BIP-39 test vector's phrase (not the dev phrase)."""


def keystore(base: Path, chain_id: str = "dev") -> Path:
    return base / "chains" / chain_id / DIRECTORY


def files(base: Path) -> list[str]:
    return sorted(p.name for p in base.rglob("*") if p.is_file())


@pytest.mark.parametrize("suri, fragment", [
    ("sr25519://Alice", "a session key is ed25519 (block seals and finality votes are ed25519 signatures), and this "
                        "secret URI names an sr25519 key ('sr25519:')"),
    ("SR25519://Alice", "names an sr25519 key"),
    ("ecdsa://Alice//0", "names an ecdsa key ('ecdsa:')"),
    (f"sr25519:{PHRASE}", "names an sr25519 key"),
    ("sr25519//Alice", "'sr25519' is a scheme's name, not a recovery phrase: a scheme comes first with a colon "
                       "(sr25519://Alice)"),
    ("ecdsa//Alice", "'ecdsa' is a scheme's name"),
    ("foo://Alice", "unknown signature scheme 'foo'"),
    ("Alice", "a dev key is a path on the dev phrase, written with two slashes: //Alice"),
    ("bob//stash///hunter2", "written with two slashes: //bob"),
    ("", "--suri: empty"),
    ("  ", "--suri: empty"),
    ("0xzz", "--suri: a 0x secret seed is 64 hex digits"),
    ("//Alice/soft", "--suri: ed25519 cannot derive soft junction '/soft'"),
    ("legal winner thank year", "--suri: not a valid BIP-39 mnemonic"),
])
def test_a_malformed_or_foreign_suri_says_what_is_wrong(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, suri: str, fragment: str,
) -> None:
    code, _, err = run(capsys, "key", "insert", "--base-path", str(tmp_path), "--chain", "dev", "--suri", suri)
    assert_one_error_line(code, err, fragment)
    assert "invalid character" not in err and "hunter2" not in err
    assert files(tmp_path) == []


def test_no_secret_of_a_refused_uri_is_echoed() -> None:
    eleven = " ".join(PHRASE.split()[:11])
    for suri in (f"sr25519:{PHRASE}", f"sr25519:{PHRASE}///hunter2", f"{eleven}///hunter2", f"{PHRASE}//"):
        with pytest.raises(ConfigError) as exc:
            session_keypair_from_suri(suri, "live")
        assert "legal" not in str(exc.value) and "hunter2" not in str(exc.value), exc.value


def test_a_dev_key_is_refused_on_a_live_chain(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for suri in ("//Alice", "ed25519://Alice", f"{DEV_PHRASE}//Alice", "//Alice///password"):
        code, _, err = run(capsys, "key", "insert", "--base-path", str(tmp_path), "--chain", "btt-21m",
                           "--suri", suri)
        assert_one_error_line(code, err, "this key derives from the public dev phrase, so anyone can sign with it; "
                                         "a session key on a live chain must be secret")
    assert files(tmp_path) == []


def test_the_good_uris_insert_the_ed25519_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for suri in ("//Alice", "ed25519://Alice", "ED25519://Alice"):
        out = succeed(capsys, "key", "insert", "--base-path", str(tmp_path), "--chain", "dev", "--suri", suri)
        assert f"inserted session key 0x{ALICE.public.hex()}" in out
    assert files(tmp_path) == [key_file_name(ALICE.public)]
    phrase_key = keypair_from_suri(f"{PHRASE}//sess")
    out = succeed(capsys, "key", "insert", "--base-path", str(tmp_path), "--chain", "btt-21m", "--suri",
                  f"{PHRASE}//sess")
    assert f"0x{phrase_key.public.hex()}" in out
    assert (keystore(tmp_path, "btt-21m") / key_file_name(phrase_key.public)).is_file()


def test_a_key_file_of_another_scheme_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTT_PASSWORD", "a long enough password")
    key_file = tmp_path / "sr.json"
    save_keyfile(key_file, keypair_from_suri(PHRASE, SR25519), 42, b"a long enough password")
    base = tmp_path / "node"
    code, _, err = run(capsys, "key", "insert", "--base-path", str(base), "--chain", "dev", "--key-file",
                       str(key_file))
    assert_one_error_line(code, err, f"{key_file} holds an sr25519 key")
    assert not base.exists()
