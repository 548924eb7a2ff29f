"""sr25519 and ECDSA as FRAME accepts them, through the one function that decides (`verify_multi`): valid signatures,
another key, another message, truncated or mislabelled signatures, ECDSA's recovery byte and high S; the keys of
each scheme as Substrate derives them (and substrate-interface agrees); key files of each scheme. The documented
vectors of each scheme are checked in test_wire_format_keys.py."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import coincurve
import pytest

from btt_chain.primitives import ecdsa, sr25519
from btt_chain.primitives.account_keys import KeyIdentity, identity, key_from_secret
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.ecdsa import EcdsaKeypair
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import DEV_MINI_SECRET, dev_keypair
from btt_chain.primitives.keystore import keyfile_identity, load_keyfile, save_keyfile
from btt_chain.primitives.mnemonic import keypair_from_suri
from btt_chain.primitives.signatures import ECDSA, ED25519, SR25519, verify_multi
from btt_chain.primitives.sr25519 import Sr25519Keypair
from tests.support.light_kdf import light_kdf  # noqa: F401 - autouse: key files at the least cost

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""The order of secp256k1's group."""
MESSAGE = b"btt-chain wire-format vector"
PASSWORD = b"a long enough password"


# --- each scheme: valid, another key, another message, truncated -------------------------------------------------

@pytest.mark.parametrize("scheme", [ED25519, SR25519, ECDSA])
def test_a_valid_signature_verifies_and_nothing_else_does(scheme: int) -> None:
    key = keypair_from_suri("//Alice", scheme)
    other = keypair_from_suri("//Bob", scheme)
    signature = key.sign(MESSAGE)
    multi = bytes([scheme]) + signature
    assert key.scheme == scheme and verify_multi(key.account, MESSAGE, multi)
    assert not verify_multi(other.account, MESSAGE, multi)  # another key
    assert not verify_multi(key.account, MESSAGE + b"!", multi)  # another message
    assert not verify_multi(key.account, MESSAGE, multi[:-1])  # truncated
    assert not verify_multi(key.account, MESSAGE, multi + b"\x00")  # too long
    assert not verify_multi(key.account[:31], MESSAGE, multi)  # a short account
    for wrong in {ED25519, SR25519, ECDSA} - {scheme}:
        assert not verify_multi(key.account, MESSAGE, bytes([wrong]) + signature)  # another scheme's label
    assert not verify_multi(key.account, MESSAGE, b"\x03" + signature)  # no such variant
    assert not verify_multi(key.account, MESSAGE, b"")


def test_sr25519_signatures_are_randomised_and_need_the_marker_bit() -> None:
    key = keypair_from_suri("//Alice", SR25519)
    one, two = key.sign(MESSAGE), key.sign(MESSAGE)
    assert one != two and sr25519.verify(key.public, MESSAGE, one) and sr25519.verify(key.public, MESSAGE, two)
    unmarked = one[:63] + bytes([one[63] & 0x7F])
    assert not sr25519.verify(key.public, MESSAGE, unmarked)


def test_sr25519_agrees_with_substrate_interface_both_ways() -> None:
    from substrateinterface import Keypair, KeypairType

    theirs = Keypair.create_from_uri("//Alice", crypto_type=KeypairType.SR25519)
    ours = keypair_from_suri("//Alice", SR25519)
    assert theirs.public_key == ours.public
    assert verify_multi(ours.account, MESSAGE, b"\x01" + theirs.sign(MESSAGE))
    assert theirs.verify(MESSAGE, ours.sign(MESSAGE))
    soft = Keypair.create_from_uri("//Alice/soft//0", crypto_type=KeypairType.SR25519)
    assert soft.public_key == keypair_from_suri("//Alice/soft//0", SR25519).public


# --- ECDSA: the recovery byte and high S, as FRAME reads them ----------------------------------------------------

def high_s(signature: bytes) -> bytes:
    """The other valid encoding of an ECDSA signature: s -> n - s, the recovery id's low bit flipped."""
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (N - s).to_bytes(32, "big") + bytes([signature[64] ^ 1])


def test_ecdsa_accepts_high_s_and_the_ethereum_recovery_byte_as_frame_does() -> None:
    key = keypair_from_suri("//Alice", ECDSA)
    signature = key.sign(MESSAGE)
    assert int.from_bytes(signature[32:64], "big") <= N // 2 and signature[64] in (0, 1)  # we sign low S, v 0/1
    flipped = high_s(signature)
    for variant in (signature, flipped, signature[:64] + bytes([signature[64] + 27]), flipped[:64] + bytes([
            flipped[64] + 27])):
        assert ecdsa.verify(key.account, MESSAGE, variant), variant.hex()
    assert not ecdsa.verify(key.account, MESSAGE, flipped[:64] + signature[64:])  # high S, v unflipped: another key


@pytest.mark.parametrize("v", [2, 3, 4, 26, 29, 30, 31, 255])
def test_an_honest_signature_with_another_recovery_byte_is_refused(v: int) -> None:
    key = keypair_from_suri("//Alice", ECDSA)
    assert ecdsa.recovery_id(v) == {2: 2, 3: 3, 29: 2, 30: 3}.get(v)
    assert not ecdsa.verify(key.account, MESSAGE, key.sign(MESSAGE)[:64] + bytes([v]))


def test_recovery_ids_2_and_3_are_accepted_as_frames_host_function_accepts_them() -> None:
    """A signature whose R has x = r + n (recovery id 2): made here from a small r, recovering some key whose account
    it then signs for; a signer meets one with probability about 2^-127."""
    digest_of = hashlib.blake2b(MESSAGE, digest_size=32).digest()
    for r in range(1, 1000):
        signature = r.to_bytes(32, "big") + (12345).to_bytes(32, "big")
        try:
            public = coincurve.PublicKey.from_signature_and_message(signature + b"\x02", digest_of, hasher=None)
        except ValueError:
            continue
        account = ecdsa.account_of(public.format(compressed=True))
        assert ecdsa.verify(account, MESSAGE, signature + b"\x02")
        assert ecdsa.verify(account, MESSAGE, signature + bytes([29]))
        assert not ecdsa.verify(account, MESSAGE, signature + b"\x00")
        return
    raise AssertionError("no r below 1000 has r + n on the curve")


def test_ecdsa_refuses_out_of_range_r_and_s() -> None:
    key = keypair_from_suri("//Alice", ECDSA)
    signature = key.sign(MESSAGE)
    r, s, v = signature[:32], signature[32:64], signature[64:]
    for bad in (bytes(32) + s + v, r + bytes(32) + v, N.to_bytes(32, "big") + s + v, r + N.to_bytes(32, "big") + v,
                b"\xff" * 64 + v):
        assert not ecdsa.verify(key.account, MESSAGE, bad)


# --- keys ----------------------------------------------------------------------------------------------------------

def test_the_dev_account_alice_of_each_scheme() -> None:
    addresses = {encode_address(keypair_from_suri("//Alice", s).account, 42) for s in (ED25519, SR25519, ECDSA)}
    assert addresses == {"5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu",
                         "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
                         "5C7C2Z5sWbytvHpuLTvzKunnnRwQxft1jiqrLD5rhucQ5S9X"}
    assert keypair_from_suri("//Alice").public == dev_keypair("alice").public  # ed25519 stays the default


def test_soft_junctions_derive_sr25519_keys_only() -> None:
    with pytest.raises(ConfigError, match="ecdsa cannot derive soft junction '/soft'; use '//soft'"):
        keypair_from_suri("//Alice/soft", ECDSA)
    with pytest.raises(ConfigError, match="ed25519 cannot derive soft junction '/soft'; use '//soft'"):
        keypair_from_suri("//Alice/soft")
    soft = keypair_from_suri("//Alice/soft", SR25519)
    assert isinstance(soft, Sr25519Keypair) and soft.seed is None and len(soft.secret) == 64
    again = keypair_from_suri("0x" + soft.secret_key.hex(), SR25519)  # its 64-byte secret key, as a 0x seed
    assert again.public == soft.public and verify_multi(soft.account, MESSAGE, b"\x01" + again.sign(MESSAGE))


def test_an_unrooted_sr25519_key_keeps_its_seed_and_a_0x_seed_derives_like_the_phrase() -> None:
    root = keypair_from_suri("0x" + DEV_MINI_SECRET.hex(), SR25519)
    assert isinstance(root, Sr25519Keypair) and root.seed == DEV_MINI_SECRET
    assert keypair_from_suri("0x" + DEV_MINI_SECRET.hex() + "//Alice", SR25519).public == keypair_from_suri(
        "//Alice", SR25519).public
    with pytest.raises(ConfigError, match="or an sr25519 secret key of 128"):
        keypair_from_suri("0x1234//Alice", SR25519)


def test_an_invalid_ecdsa_secret_is_refused() -> None:
    for secret in (bytes(32), N.to_bytes(32, "big"), b"\x01" * 31):
        with pytest.raises(ConfigError):
            EcdsaKeypair(secret)


@pytest.mark.parametrize(("scheme", "uri"), [(SR25519, "//Alice"), (SR25519, "//Alice/soft"),
                                             (SR25519, "0x" + DEV_MINI_SECRET.hex()), (ECDSA, "//Bob//stash")])
def test_key_files_keep_every_scheme(tmp_path: Path, scheme: int, uri: str) -> None:
    key = keypair_from_suri(uri, scheme)
    path = tmp_path / "key.json"
    save_keyfile(path, key, 42, PASSWORD)
    stored = json.loads(path.read_text())
    assert stored["type"] == ("sr25519" if scheme == SR25519 else "ecdsa")
    assert stored["address"] == encode_address(key.account, 42) and stored["public"] == key.public.hex()
    assert keyfile_identity(path, None) == (KeyIdentity(scheme, key.public), False)
    loaded = load_keyfile(path, lambda: PASSWORD)
    assert identity(loaded) == identity(key) and verify_multi(key.account, MESSAGE, bytes([scheme]) + loaded.sign(
        MESSAGE))
    assert identity(key_from_secret(scheme, key.secret)) == identity(key)


def test_a_key_file_whose_address_is_not_its_keys_is_refused(tmp_path: Path) -> None:
    key, other = keypair_from_suri("//Alice", ECDSA), keypair_from_suri("//Bob", ECDSA)
    path = tmp_path / "key.json"
    save_keyfile(path, key, 42, PASSWORD)
    doc = json.loads(path.read_text())
    doc["address"] = encode_address(other.account, 42)
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="does not match the stored public key"):
        load_keyfile(path, lambda: PASSWORD)
    doc["public"], doc["address"] = other.public.hex(), encode_address(other.account, 42)  # a consistent lie
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="does not match the key's secret"):
        load_keyfile(path, lambda: PASSWORD)
