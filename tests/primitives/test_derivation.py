"""Keys from words: Substrate's ed25519 derivation, checked against the keys `subkey --scheme ed25519` prints."""

from __future__ import annotations

import pytest
from mnemonic import Mnemonic

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.derivation import derive_path, mini_secret, parse_path
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import DEV_MINI_SECRET, DEV_PHRASE, dev_keypair
from btt_chain.primitives.mnemonic import generate, is_mnemonic, keypair_from_suri

# subkey inspect --scheme ed25519 //Alice (and //Bob): Substrate's published dev keys
ALICE = "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"
BOB = "d17c2d7823ebf260fd138f2d7e27d114c0145d968b5ff5006125f2414fadae69"


def test_dev_accounts_are_substrates_ed25519_dev_keys() -> None:
    assert dev_keypair("alice").public.hex() == ALICE
    assert dev_keypair("bob").public.hex() == BOB
    assert encode_address(dev_keypair("alice").public, 42) == "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"
    assert keypair_from_suri(DEV_PHRASE + "//Alice").public.hex() == ALICE
    assert dev_keypair("alice//stash") == keypair_from_suri(DEV_PHRASE + "//Alice//stash")


def test_the_stored_dev_seed_is_the_phrases() -> None:
    assert mini_secret(bytes(Mnemonic("english").to_entropy(DEV_PHRASE))) == DEV_MINI_SECRET


def test_generated_phrases_round_trip_and_bad_ones_are_refused() -> None:
    phrase = generate()
    assert len(phrase.split()) == 12 and is_mnemonic(phrase)
    assert keypair_from_suri(phrase) == keypair_from_suri("  ".join(phrase.split()))
    assert keypair_from_suri(phrase + "//x") != keypair_from_suri(phrase)
    words = phrase.split()
    words[0], words[1] = words[1], words[0]
    if not Mnemonic("english").check(" ".join(words)):
        with pytest.raises(ConfigError, match="checksum"):
            keypair_from_suri(" ".join(words))
    with pytest.raises(ConfigError, match="12, 15"):
        generate(13)


def test_paths() -> None:
    assert parse_path("//Alice//stash") == ["Alice", "stash"]
    assert derive_path(DEV_MINI_SECRET, "") == DEV_MINI_SECRET
    for bad in ("/soft", "//a/b", "Alice"):
        with pytest.raises(ConfigError, match="hard junctions"):
            parse_path(bad)
    assert derive_path(DEV_MINI_SECRET, "//0") != derive_path(DEV_MINI_SECRET, "//1")
