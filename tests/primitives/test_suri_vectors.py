"""Secret URI vectors (tests/primitives/data/ed25519_suri_vectors.json): Substrate's published ones, the pinned
@polkadot/keyring's for every path form (numeric, long and text junctions, passwords, their combinations), and the
few where Substrate's rule and polkadot.js differ. Each must derive here as it does there."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from mnemonic import Mnemonic

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.derivation import chain_code, derive_hard, mini_secret
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.mnemonic import keypair_from_suri

VECTORS = json.loads((Path(__file__).parent / "data" / "ed25519_suri_vectors.json").read_text())
KEYRING = VECTORS["keyring"]["keys"]


def test_the_vectors_cover_every_path_form() -> None:
    uris = [v["uri"] for v in KEYRING]
    assert "//Alice//0" in uris and "//0" in uris and "//1234567890123456789" in uris
    assert "///password" in uris and "//Alice///password" in uris
    assert any(len(u.removeprefix("//").encode()) > 32 and "/" not in u[2:] for u in uris)  # a long junction
    assert any(" " in u and "///" in u for u in uris)  # a phrase with a password


@pytest.mark.parametrize("vector", VECTORS["published"]["keys"], ids=lambda v: v["uri"][:24])
def test_substrates_published_keys(vector: dict[str, str]) -> None:
    pair = keypair_from_suri(vector["uri"])
    assert pair.public.hex() == vector["public"]
    if "address" in vector:
        assert encode_address(pair.public, 42) == vector["address"]


def test_substrates_published_hard_derivation() -> None:
    for vector in VECTORS["published"]["hard_derivations"]:
        assert chain_code(vector["junction"]).hex() == vector["chain_code"]
        assert derive_hard(bytes.fromhex(vector["seed"]), vector["junction"]).hex() == vector["derived_seed"]
        uri = "0x" + vector["seed"] + "//" + vector["junction"]
        assert keypair_from_suri(uri) == Keypair(bytes.fromhex(vector["derived_seed"]))


def test_substrate_bip39_published_mini_secrets_settle_password_and_salt() -> None:
    """PBKDF2's password is the entropy and its salt "mnemonic" + the URI password: swapping them, or using the
    phrase's text as BIP-39 does, misses every one of these."""
    table = VECTORS["published"]["mini_secrets"]
    words = Mnemonic("english")
    for vector in table["vectors"]:
        entropy = bytes(words.to_entropy(vector["phrase"]))
        assert entropy.hex() == vector["entropy"]
        expected = vector["seed"][:64]
        assert mini_secret(entropy, table["password"]).hex() == expected
        assert keypair_from_suri(vector["phrase"] + "///" + table["password"]).seed.hex() == expected
        swapped = hashlib.pbkdf2_hmac("sha512", b"mnemonic" + table["password"].encode(), entropy, 2048)[:32]
        bip39 = hashlib.pbkdf2_hmac("sha512", vector["phrase"].encode(), b"mnemonic" + table["password"].encode(),
                                    2048)[:32]
        assert expected not in (swapped.hex(), bip39.hex())


@pytest.mark.parametrize("vector", KEYRING, ids=lambda v: v["uri"][-32:])
def test_the_keyrings_keys(vector: dict[str, str]) -> None:
    pair = keypair_from_suri(vector["uri"])
    assert pair.public.hex() == vector["public"]
    assert encode_address(pair.public, 42) == vector["address"]


def test_where_substrate_and_polkadot_js_differ_substrate_wins() -> None:
    for vector in VECTORS["substrate_only"]["keys"]:
        junction = vector["uri"].removeprefix("//")
        assert chain_code(junction).hex() == vector["chain_code"]
        pair = keypair_from_suri(vector["uri"])
        assert pair.public.hex() == vector["public"] and encode_address(pair.public, 42) == vector["address"]
        if "same_as" in vector:
            assert pair == keypair_from_suri(vector["same_as"])
