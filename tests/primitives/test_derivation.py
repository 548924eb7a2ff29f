"""Keys from words and secret URIs: Substrate's parsing (sp_core `AddressUri::parse`) and ed25519 derivation, checked
against the keys `subkey --scheme ed25519` prints; tests/primitives/test_suri_vectors.py holds the vectors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mnemonic import Mnemonic

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.derivation import (
    Junction,
    chain_code,
    derive_path,
    junction_integer,
    mini_secret,
    parse_path,
    parse_suri,
)
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import DEV_ENTROPY, DEV_MINI_SECRET, DEV_PHRASE, dev_keypair, dev_name_uri
from btt_chain.primitives.mnemonic import generate, is_dev_phrase, is_mnemonic, keypair_from_suri

# subkey inspect --scheme ed25519 //Alice (and //Bob): Substrate's published dev keys
ALICE = "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"
BOB = "d17c2d7823ebf260fd138f2d7e27d114c0145d968b5ff5006125f2414fadae69"


def test_dev_accounts_are_substrates_ed25519_dev_keys() -> None:
    assert dev_keypair("alice").public.hex() == ALICE
    assert dev_keypair("bob").public.hex() == BOB
    assert encode_address(dev_keypair("alice").public, 42) == "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"
    assert keypair_from_suri(DEV_PHRASE + "//Alice").public.hex() == ALICE
    assert keypair_from_suri("//Alice").public.hex() == ALICE
    assert dev_keypair("alice//stash") == keypair_from_suri(DEV_PHRASE + "//Alice//stash")


def test_the_stored_dev_seed_and_entropy_are_the_phrases() -> None:
    entropy = bytes(Mnemonic("english").to_entropy(DEV_PHRASE))
    assert entropy == DEV_ENTROPY
    assert mini_secret(entropy) == DEV_MINI_SECRET
    # with a password the word list is not needed either, and gives the same key as the words
    assert keypair_from_suri("//Alice///pw") == keypair_from_suri(DEV_PHRASE + "//Alice///pw")


def test_generated_phrases_round_trip_and_bad_ones_are_refused() -> None:
    phrase = generate()
    assert len(phrase.split()) == 12 and is_mnemonic(phrase)
    assert keypair_from_suri(phrase) == keypair_from_suri("  ".join(phrase.split()))
    assert keypair_from_suri(phrase + "//x") != keypair_from_suri(phrase)
    words = phrase.split()
    words[0], words[1] = words[1], words[0]
    if not Mnemonic("english").check(" ".join(words)):
        with pytest.raises(ConfigError, match="checksum") as bad:
            keypair_from_suri(" ".join(words))
        # the phrase is never echoed: the message is the same whatever the phrase (a word of the phrase may be a word
        # of the message itself: "word", "valid" and "unknown" are BIP-39 words)
        assert str(bad.value) == "not a valid BIP-39 mnemonic (unknown word or bad checksum)"
    with pytest.raises(ConfigError, match="this one has 11"):
        keypair_from_suri(" ".join(phrase.split()[:11]) + "//x")
    with pytest.raises(ConfigError, match="12, 15"):
        generate(13)


def test_the_parser_is_substrates() -> None:
    """sp_core address_uri.rs's own cases, with btt's phrase/junction/password split."""
    uri = parse_suri("hello world/s//h///pass")
    assert (uri.phrase, uri.junctions, uri.password) == (
        "hello world", (Junction("s", False), Junction("h", True)), "pass")
    assert parse_suri("///") == parse_suri("///")
    assert (parse_suri("///").phrase, parse_suri("///").password) == (None, "")
    assert parse_suri("////////").password == "/////"
    assert parse_suri("sdasd/xx//a/b//c///pass").path == "/xx//a/b//c"
    assert parse_suri("sdasd//asd.a").junctions == (Junction("asd.a", True),)
    assert parse_suri("//Alice///a/b//c").password == "a/b//c"  # the password runs to the end
    for bad, what in (("sdasd//", "empty"), ("sdasd/", "empty"), ("sd.asd", "phrase"), ("sd.asd//asd.a", "phrase"),
                      ("///\n", "password"), ("///a\n", "password"), ("sd.asd///asd.a\n", "phrase")):
        with pytest.raises(ConfigError, match=what):
            parse_suri(bad)


def test_the_uri_string_hides_the_phrase_and_the_password() -> None:
    uri = parse_suri(DEV_PHRASE + "//Alice//0///hunter22")
    assert str(uri) == "<secret>//Alice//0///<password>"
    assert "hunter22" not in repr(uri) and "bottom" not in repr(uri)


def test_numeric_junctions_are_rusts_u64() -> None:
    assert junction_integer("0") == 0 and junction_integer("007") == 7 and junction_integer("+5") == 5
    assert junction_integer(str(2**64 - 1)) == 2**64 - 1
    for text in (str(2**64), "-1", "+", "1e3", "0x12", "٣", " 1", "1 "):
        assert junction_integer(text) is None, text
    assert chain_code("0") == bytes(32)
    assert chain_code("1234567890123456789") == (1234567890123456789).to_bytes(8, "little").ljust(32, b"\0")
    assert chain_code("+5") == chain_code("5") == chain_code("005")
    # not a u64: a SCALE string
    assert chain_code(str(2**64)) == (bytes([20 << 2]) + str(2**64).encode()).ljust(32, b"\0")
    assert chain_code("0x12") == (b"\x10" + b"0x12").ljust(32, b"\0")
    # a huge number does not crash: it is a string, long enough to be hashed
    assert len(chain_code("9" * 200)) == 32


def test_long_junctions_are_hashed_at_the_33rd_byte() -> None:
    import hashlib

    text31, text32 = "a" * 31, "a" * 32
    assert chain_code(text31) == bytes([31 << 2]) + text31.encode()  # 32 bytes: kept
    assert chain_code(text32) == hashlib.blake2b(bytes([32 << 2]) + text32.encode(), digest_size=32).digest()
    text70 = "é" * 35  # 70 UTF-8 bytes: a two-byte compact length
    assert chain_code(text70) == hashlib.blake2b((70 << 2 | 1).to_bytes(2, "little") + text70.encode(),
                                                 digest_size=32).digest()


def test_soft_junctions_are_refused_with_the_hard_spelling() -> None:
    for uri in ("/soft", "//Alice/soft", DEV_PHRASE + "/soft", "//a/soft//b///pw", "0x" + "11" * 32 + "/soft"):
        with pytest.raises(ConfigError, match=r"ed25519 cannot derive soft junction '/soft'; use '//soft'"):
            keypair_from_suri(uri)
    with pytest.raises(ConfigError, match="soft junction '/b'"):
        parse_path("//a/b")


def test_a_password_is_the_pbkdf2_salt_not_a_junction() -> None:
    with_password = keypair_from_suri("//Alice///password")
    assert with_password == keypair_from_suri(DEV_PHRASE + "//Alice///password")
    assert with_password != keypair_from_suri("//Alice//password") != keypair_from_suri("//Alice")
    seed = mini_secret(DEV_ENTROPY, "password")
    assert seed == mini_secret(DEV_ENTROPY, "password")
    assert keypair_from_suri("///password").seed == seed
    assert keypair_from_suri("///") == keypair_from_suri(DEV_PHRASE)  # the empty password is no password


def test_hex_seeds() -> None:
    seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    assert keypair_from_suri("0x" + seed).seed.hex() == seed
    for bad in ("0x" + seed[:-2], "0x" + seed + "00", "0x" + "zz" * 32):
        with pytest.raises(ConfigError, match="64 hex digits"):
            keypair_from_suri(bad + "//0")
    with pytest.raises(ConfigError, match="recovery phrase only"):
        keypair_from_suri("0x" + seed + "///password")  # Substrate would silently ignore it


def test_dev_phrase_detection_and_dev_names() -> None:
    for dev in ("//Alice", "///pw", DEV_PHRASE + "//x", "0x" + DEV_MINI_SECRET.hex() + "//Alice"):
        assert is_dev_phrase(parse_suri(dev)), dev
    assert not is_dev_phrase(parse_suri(generate() + "//Alice"))
    assert dev_name_uri("alice") == "//Alice" and dev_name_uri("Bob//stash") == "//Bob//stash"
    assert dev_name_uri("alice//0///pw") == "//Alice//0///pw" and dev_name_uri("alice/soft") == "//Alice/soft"
    assert dev_name_uri("alice.json") is None and dev_name_uri("mallory") is None


def test_paths() -> None:
    assert parse_path("//Alice//stash") == ["Alice", "stash"]
    assert derive_path(DEV_MINI_SECRET, "") == DEV_MINI_SECRET
    for bad in ("Alice", "//Alice///pw", "//a//"):
        with pytest.raises(ConfigError):
            parse_path(bad)
    assert derive_path(DEV_MINI_SECRET, "//0") != derive_path(DEV_MINI_SECRET, "//1")


junction_text = st.text(st.characters(blacklist_characters="/\n", blacklist_categories=("Cs",)), min_size=1,
                        max_size=40)


@given(st.lists(st.tuples(junction_text, st.booleans()), max_size=5),
       st.one_of(st.none(), st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)))))
def test_any_path_and_password_parse_back(junctions: list[tuple[str, bool]], password: str | None) -> None:
    text = "".join(("//" if hard else "/") + j for j, hard in junctions)
    if password is not None:
        text += "///" + password
    uri = parse_suri(text)
    assert uri.junctions == tuple(Junction(j, hard) for j, hard in junctions)
    assert uri.password == password and uri.phrase is None
    assert uri.path + ("" if password is None else "///" + password) == text
