"""Key paths at the CLI (issue 29): every secret URI form an ed25519 user types derives Substrate's key, a soft
junction and a missing key file each get their own one-line answer (never "invalid base58"), keys from the public
dev phrase stay on dev chains, and a mistyped subcommand is answered with the closest ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import DEV_MINI_SECRET, DEV_PHRASE, Keypair
from btt_chain.primitives.keystore import save_keyfile
from cli.accounts import resolve_account, resolve_signer
from tests.support.cli_runner import assert_one_error_line, run

VECTORS = json.loads((Path(__file__).parents[1] / "primitives" / "data" / "ed25519_suri_vectors.json").read_text())
BY_URI = {v["uri"]: v for v in VECTORS["keyring"]["keys"]}
PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def no_password(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BTT_PASSWORD", "BTT_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("typed, uri", [
    ("//Alice//0", "//Alice//0"), ("alice//0", "//Alice//0"), ("Alice//1", "//Alice//1"), ("//0", "//0"),
    ("//1234567890123456789", "//1234567890123456789"), ("//007", "//7"),
    ("//abcdefghijklmnopqrstuvwxyz0123456789", "//abcdefghijklmnopqrstuvwxyz0123456789"),
    ("///password", "///password"), ("//Alice///password", "//Alice///password"),
    ("alice///password", "//Alice///password"), (DEV_PHRASE + "//Alice///password", "//Alice///password"),
    ("//Alice//0///password", "//Alice//0///password"), ("//Alice///a/b//c", "//Alice///a/b//c"),
])
def test_key_inspect_derives_substrates_key_for_every_path_form(capsys, typed, uri):
    code, out, err = run(capsys, "key", "inspect", typed, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info == {"address": BY_URI[uri]["address"], "public": "0x" + BY_URI[uri]["public"]}
    assert "password" not in out + err


@pytest.mark.parametrize("typed", ["//Alice/soft", "alice/soft", DEV_PHRASE + "/soft", "//Alice/soft///hunter22x",
                                   "//a//b/soft"])
def test_a_soft_junction_is_refused_with_the_hard_spelling(capsys, typed):
    code, _, err = run(capsys, "key", "inspect", typed)
    assert_one_error_line(code, err, "ed25519 cannot derive soft junction '/soft'; use '//soft'")
    assert "base58" not in err and "hunter22x" not in err and "bottom drive" not in err


def test_a_missing_key_file_says_so_and_a_bad_address_stays_a_bad_address(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for missing in ("./missing.json", "missing.json", str(tmp_path / "nodir" / "k.json"), "~/nope-29.json",
                    "keys\\k.json"):
        code, _, err = run(capsys, "key", "inspect", missing)
        assert_one_error_line(code, err, f"key file {missing} does not exist")
        assert "base58" not in err
        code, _, err = run(capsys, "key", "inspect", missing, "--hash-chain")
        assert_one_error_line(code, err, f"key file {missing} does not exist")
        with pytest.raises(ConfigError, match="does not exist"):
            resolve_signer(missing, "Development")
        with pytest.raises(ConfigError, match="does not exist"):
            resolve_account(missing, "Live", 42)
    assert list(tmp_path.iterdir()) == []  # nothing was created on the way
    code, _, err = run(capsys, "key", "inspect", "/soft")
    assert_one_error_line(code, err, "key file /soft does not exist; as a secret URI, '/soft' is a soft junction")
    code, _, err = run(capsys, "key", "inspect", "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpX")
    assert_one_error_line(code, err, "is not an address: bad checksum")
    code, _, err = run(capsys, "key", "inspect", "5FA9nQDVg267DEd8m1Zyp0")
    assert_one_error_line(code, err, "invalid base58 character '0'")
    assert "key file" not in err


def test_an_existing_key_file_under_a_dev_named_directory_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BTT_PASSWORD", PASSWORD)
    (tmp_path / "alice").mkdir()
    pair = Keypair.generate()
    save_keyfile(tmp_path / "alice" / "soft", pair, 42, PASSWORD.encode())
    assert resolve_signer("alice/soft", "Live") == pair  # a file wins over the dev path "alice/soft"
    assert resolve_account("alice/soft", "Live", 42) == pair.public
    with pytest.raises(ConfigError, match="soft junction '/other'"):
        resolve_signer("alice/other", "Development")


@pytest.mark.parametrize("typed", ["//Alice//0", "alice//0", "///hunter22x", "//Bob//stash", "alice///hunter22x",
                                   DEV_PHRASE + "//x", "0x" + DEV_MINI_SECRET.hex() + "//Alice"])
def test_keys_from_the_public_dev_phrase_stay_on_dev_chains(typed):
    for resolve in (lambda t: resolve_signer(t, "Live"), lambda t: resolve_account(t, "Live", 42)):
        with pytest.raises(ConfigError, match="only accepted on dev chains") as refused:
            resolve(typed)
        assert "hunter22x" not in str(refused.value) and "bottom" not in str(refused.value)
    assert resolve_signer(typed, "Development").public == resolve_account(typed, "Local", 42)


def test_a_phrase_of_ones_own_is_accepted_on_any_chain_and_never_echoed(capsys):
    from btt_chain.primitives.mnemonic import generate, keypair_from_suri

    phrase = generate()
    assert resolve_signer(phrase + "//0///pw", "Live") == keypair_from_suri(phrase + "//0///pw")
    words = phrase.split()
    bad = " ".join(words[:11] + [words[0] if words[0] != words[11] else words[1]])
    code, _, err = run(capsys, "key", "inspect", bad + "//0///hunter22x")
    if "checksum" in err:  # one phrase in 16 passes the checksum with the last word swapped
        assert_one_error_line(code, err, "not a valid BIP-39 mnemonic")
    assert bad not in err and "hunter22x" not in err
    code, _, err = run(capsys, "key", "inspect", " ".join(words[:11]) + "//0")
    assert_one_error_line(code, err, "this one has 11")


def test_a_signer_is_never_an_account_id():
    with pytest.raises(ConfigError, match="is an account id, not a key"):
        resolve_signer("0x" + "ab" * 32, "Development")
    with pytest.raises(ConfigError, match="neither a dev account name"):
        resolve_signer("mallory", "Development")


@pytest.mark.parametrize("argv, suggestion", [
    (["tranfer", "--to", "bob"], "No such command 'tranfer'. Did you mean 'transfer'?"),
    (["query", "acount", "alice"], "No such command 'acount'. Did you mean 'account'?"),
    (["key", "inspec", "alice"], "No such command 'inspec'. Did you mean 'inspect' or 'insert'?"),
    (["genesis", "buidl"], "No such command 'buidl'. Did you mean 'build'?"),
    (["STAKE"], "Did you mean 'stake'?"),
])
def test_a_mistyped_subcommand_gets_the_closest_ones(capsys, argv, suggestion):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert_one_error_line(code, err, suggestion)


def test_a_subcommand_like_nothing_gets_no_guess(capsys):
    code, _, err = run(capsys, "frobnicate")
    assert_one_error_line(code, err, "No such command 'frobnicate'.")
    assert "Did you mean" not in err
    code, out, _ = run(capsys, "query", "--help")  # options still reach the group
    assert code == 0 and "account" in out


def test_a_directory_or_nothing_is_not_a_key(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keys").mkdir()
    for what in ("keys", str(tmp_path), "."):
        with pytest.raises(ConfigError, match="is a directory, not a key file"):
            resolve_signer(what, "Development")
        code, _, err = run(capsys, "key", "inspect", what)
        assert_one_error_line(code, err, "is a directory, not a key file")
    with pytest.raises(ConfigError, match="an empty value is not a key"):
        resolve_signer("", "Development")
    assert [p.name for p in tmp_path.iterdir()] == ["keys"] and list((tmp_path / "keys").iterdir()) == []


def test_the_secret_seed_is_printed_only_when_asked(capsys, tmp_path, monkeypatch):
    code, out, _ = run(capsys, "key", "inspect", "//Alice//0", "--json")
    assert code == 0 and "secret_seed" not in json.loads(out)
    code, out, err = run(capsys, "key", "inspect", "//Alice//0", "--show-secret", "--json")
    assert code == 0 and "Keep the secret seed safe" in err
    # the worked example's seed in docs/wire-format.md, what substrate-interface's create_from_seed takes
    assert json.loads(out)["secret_seed"] == "0xc389de380858a8bcfadc4fbb7f93d840fc113c3ca0757f603763579580445427"
    monkeypatch.setenv("BTT_PASSWORD", PASSWORD)
    path = tmp_path / "k.json"
    pair = Keypair.generate()
    save_keyfile(path, pair, 42, PASSWORD.encode())
    code, out, _ = run(capsys, "key", "inspect", str(path), "--show-secret", "--json")
    assert code == 0 and json.loads(out) == {"address": json.loads(out)["address"], "public": "0x" + pair.public.hex(),
                                             "verified": True, "secret_seed": "0x" + pair.seed.hex()}
    code, _, err = run(capsys, "key", "inspect", "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu", "--show-secret")
    assert_one_error_line(code, err, "--show-secret needs the key's secret")
