"""docs/wire-format.md's keys and balances are the code's: its key tables (ed25519; sr25519 and ECDSA from the pinned
@polkadot/keyring) derive here, the worked example's intermediate values are the code's, a derivation written from
the document alone (hashlib, pynacl and the BIP-39 word list) reproduces every ed25519 row, the signature vectors of
each scheme verify (ECDSA's also by a verifier written from the document alone, with coincurve and hashlib), and the
ECDSA one is what btt signs."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import coincurve
import nacl.signing
from mnemonic import Mnemonic

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.derivation import chain_code, derive_hard, mini_secret
from btt_chain.primitives.ecdsa import EcdsaKeypair
from btt_chain.primitives.keys import DEV_ENTROPY, DEV_MINI_SECRET
from btt_chain.primitives.mnemonic import keypair_from_suri
from btt_chain.primitives.signatures import ECDSA, SR25519, verify_multi
from runtime.system.types import AccountInfo

DOC = (Path(__file__).parents[2] / "docs" / "wire-format.md").read_text()
OZONE = "ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic"
DEV_PHRASE = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
MESSAGE = b"btt-chain wire-format vector"
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""The order of secp256k1's group."""


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


# --- sr25519 and ECDSA -------------------------------------------------------------------------------------------

def doc_table(name: str) -> list[list[str]]:
    block = DOC.split(f"<!-- {name}:begin -->\n", 1)[1].split(f"<!-- {name}:end -->", 1)[0]
    return [[m.group(1) if (m := re.search(r"`([^`]*)`", cell)) else cell.strip()
             for cell in line.strip().strip("|").split("|")] for line in block.strip().splitlines()[2:]]


def test_the_sr25519_and_ecdsa_key_table_is_the_codes() -> None:
    rows = doc_table("scheme-key-vectors")
    assert len(rows) == 8 and {r[0] for r in rows} == {"sr25519", "ecdsa"}
    for scheme, uri, public, account, address in rows:
        key = keypair_from_suri(uri, SR25519 if scheme == "sr25519" else ECDSA)
        assert key.public.hex() == public, uri
        assert key.account.hex() == (public if account == "= public key" else account), uri
        assert encode_address(key.account, 42) == address, uri
    alice = keypair_from_suri("//Alice", ECDSA)
    assert isinstance(alice, EcdsaKeypair) and alice.seed.hex() in DOC  # subkey's "Secret seed" of ecdsa //Alice


def test_the_signature_vectors_verify_and_the_ecdsa_one_is_what_btt_signs() -> None:
    rows = {scheme: (bytes.fromhex(account), bytes.fromhex(sig)) for scheme, account, sig in doc_table(
        "signature-vectors")}
    assert MESSAGE.hex() in DOC
    for account, multi in rows.values():
        assert verify_multi(account, MESSAGE, multi)
        assert not verify_multi(account, MESSAGE + b".", multi)
    assert b"\x02" + keypair_from_suri("//Alice", ECDSA).sign(MESSAGE) == rows["ecdsa"][1]  # RFC 6979: the same bytes


def test_an_ecdsa_verifier_written_from_the_document_alone_agrees() -> None:
    def doc_verify(account: bytes, message: bytes, signature: bytes) -> bool:
        v = signature[64] - 27 if signature[64] > 26 else signature[64]
        if v > 3:
            return False
        digest = hashlib.blake2b(message, digest_size=32).digest()
        try:
            public = coincurve.PublicKey.from_signature_and_message(signature[:64] + bytes([v]), digest, hasher=None)
        except ValueError:
            return False
        return hashlib.blake2b(public.format(compressed=True), digest_size=32).digest() == account

    def other_encodings(signature: bytes) -> list[bytes]:
        """(r, n - s) with v's low bit flipped, and v + 27: accepted too, as the document says."""
        high_s = signature[:32] + (N - int.from_bytes(signature[32:64], "big")).to_bytes(32, "big")
        return [high_s + bytes([signature[64] ^ 1]), signature[:64] + bytes([signature[64] + 27])]

    alice = keypair_from_suri("//Alice", ECDSA)
    for message in (MESSAGE, b"", bytes(300)):
        signature = alice.sign(message)
        valid = [signature, *other_encodings(signature)]
        for variant in (*valid, signature[:64] + b"\x05", bytes(65)):
            expected = variant in valid
            assert doc_verify(alice.account, message, variant) is expected
            assert verify_multi(alice.account, message, b"\x02" + variant) is expected
