"""docs/wire-format.md's keys and balances are the code's: its key table derives here, the worked example's
intermediate values are the code's, and a derivation written from the document alone (hashlib, pynacl and the
BIP-39 word list) reproduces every row."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import nacl.signing
from mnemonic import Mnemonic

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.derivation import chain_code, derive_hard, mini_secret
from btt_chain.primitives.keys import DEV_ENTROPY, DEV_MINI_SECRET
from btt_chain.primitives.mnemonic import keypair_from_suri
from runtime.system.types import AccountInfo

DOC = (Path(__file__).parents[2] / "docs" / "wire-format.md").read_text()
OZONE = "ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic"
DEV_PHRASE = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"


def table() -> list[tuple[str, str, str]]:
    block = DOC.split("<!-- key-vectors:begin -->\n", 1)[1].split("<!-- key-vectors:end -->", 1)[0]
    rows = []
    for line in block.splitlines()[2:]:
        uri, public, address = (re.search(r"`([^`]*)`", cell).group(1) for cell in line.strip("|").split("|"))
        rows.append((uri.replace("OZONE", OZONE), public, address))
    return rows


def test_the_key_table_is_the_codes() -> None:
    rows = table()
    assert len(rows) >= 17
    for uri, public, address in rows:
        pair = keypair_from_suri(uri)
        assert (pair.public.hex(), encode_address(pair.public, 42)) == (public, address), uri


def test_the_worked_example_is_the_codes() -> None:
    after_alice = derive_hard(DEV_MINI_SECRET, "Alice")
    for value in (DEV_ENTROPY.hex(), DEV_MINI_SECRET.hex(), chain_code("Alice").hex(), after_alice.hex(),
                  derive_hard(after_alice, "0").hex(), mini_secret(DEV_ENTROPY, "password").hex(),
                  mini_secret(bytes(Mnemonic("english").to_entropy(OZONE)), "Substrate").hex()):
        assert value in DOC, value
    example = AccountInfo(nonce=7, free=12_500_000_000_000_000_000, reserved=0, frozen=10**18)
    assert "`0x" + example.encode_scale().hex() + "`" in DOC


# --- what a reader of the document alone writes ---------------------------------------------------------------


def doc_chain_code(j: str) -> bytes:
    digits = j[1:] if j.startswith("+") else j
    if digits and all(c in "0123456789" for c in digits) and int(digits) < 2**64:
        encoded = int(digits).to_bytes(8, "little")
    else:
        raw = j.encode()
        n = len(raw)
        length = bytes([n << 2]) if n < 64 else (n << 2 | 1).to_bytes(2, "little")
        encoded = length + raw
    return hashlib.blake2b(encoded, digest_size=32).digest() if len(encoded) > 32 else encoded.ljust(32, b"\0")


def doc_public(uri: str) -> bytes:
    phrase, _, rest = uri.partition("/")
    rest = "/" + rest if rest else ""
    path, _, password = rest.partition("///")
    if phrase.startswith("0x"):
        seed = bytes.fromhex(phrase[2:])
    else:
        entropy = bytes(Mnemonic("english").to_entropy(phrase or DEV_PHRASE))
        seed = hashlib.pbkdf2_hmac("sha512", entropy, b"mnemonic" + password.encode(), 2048)[:32]
    for junction in path.split("//")[1:]:
        assert "/" not in junction  # hard junctions only
        seed = hashlib.blake2b(b"\x2c" + b"Ed25519HDKD" + seed + doc_chain_code(junction), digest_size=32).digest()
    return bytes(nacl.signing.SigningKey(seed).verify_key)


def test_a_derivation_from_the_document_alone_gives_every_row() -> None:
    for uri, public, _ in table():
        assert doc_public(uri).hex() == public, uri
