"""ECDSA over secp256k1 as FRAME checks it and Substrate's `sp_core::ecdsa` signs and derives, through coincurve
(libsecp256k1, the library behind the Rust `secp256k1` crate that Substrate's host functions call).

- What is signed: `blake2b-256(message)`; the signature is 65 bytes, `r (32) || s (32) || v (1)`, big-endian r
  and s, v the recovery id.
- The account is `blake2b-256(compressed public key)` (33 bytes: 0x02 or 0x03, then x): the AccountId32 does not
  hold the key, so it is recovered from the signature (polkadot-sdk `sp_runtime` `MultiSignature::verify` with
  `sp_io::crypto::secp256k1_ecdsa_recover_compressed`, version 2) and its hash compared with the account.
- The recovery byte: v is normalised as the host function does, `v - 27` when v > 26, and the result must be a
  recovery id of libsecp256k1, 0 to 3. So 0/1 (Substrate, polkadot.js) and 27/28 (Ethereum-style signers) are
  accepted, and 2/3 and 29/30 too (FRAME's code accepts them, whatever its comment says: they name R's x
  coordinate as r + n, which a signer meets with probability about 2^-127); any other v is refused.
- r and s must be below the group order n and not zero (libsecp256k1's parsing and recovery).
- Malleability: both s and n - s are accepted (FRAME does not require low S; recovery gives the same key with the
  recovery id's low bit flipped), and so are v and v + 27: one signed payload has up to four valid encodings, with
  four extrinsic hashes. Refusing high S alone would not make the encoding unique while 27/28 stay accepted, so the
  chain accepts exactly what FRAME accepts. The nonce, not the signature, stops a replay: only one encoding is
  ever included, and the pool keeps the first it sees (another with the same sender and nonce does not replace it
  without a higher tip). A wallet following an ECDSA-signed extrinsic should look for its (account, nonce), not
  only its hash. Signers here (and Substrate's, and polkadot.js's) sign deterministically (RFC 6979), low S, v 0/1.
- Keys: a 32-byte secret key (a non-zero scalar below n). Derivation (sp_core `ecdsa::Pair::derive`): a hard
  junction is `blake2b-256(SCALE("Secp256k1HDKD") || seed || chain_code)`; there is no soft derivation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import coincurve

from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.hashing import blake2b_256

SIGNATURE_LEN = 65
ACCOUNT_LEN = 32
PUBLIC_KEY_LEN = 33
SEED_LEN = 32
HDKD_TAG = b"Secp256k1HDKD"
SCHEME = 2
"""FRAME's MultiSignature variant of ECDSA."""


def recovery_id(v: int) -> int | None:
    """libsecp256k1's recovery id of the signature byte v as `secp256k1_ecdsa_recover_compressed` reads it, or None
    when it names none."""
    rid = v - 27 if v > 26 else v
    return rid if rid <= 3 else None


def recover(message: bytes, signature: bytes) -> bytes | None:
    """The compressed public key that signed `message` with `signature` (65 bytes, r || s || v), or None."""
    if len(signature) != SIGNATURE_LEN:
        return None
    rid = recovery_id(signature[64])
    if rid is None:
        return None
    try:
        key = coincurve.PublicKey.from_signature_and_message(
            bytes(signature[:64]) + bytes((rid,)), blake2b_256(message), hasher=None
        )
    except ValueError:
        return None
    return bytes(key.format(compressed=True))


def account_of(public: bytes) -> bytes:
    """The AccountId32 of a compressed public key."""
    return blake2b_256(public)


def verify(account: bytes, message: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid ECDSA signature of `message` by the key whose account is `account`."""
    if len(account) != ACCOUNT_LEN:
        return False
    public = recover(message, signature)
    return public is not None and account_of(public) == account


@dataclass(frozen=True)
class EcdsaKeypair:
    """A secp256k1 key pair made from a 32-byte secret key (Substrate's ECDSA seed)."""

    seed: bytes = field(repr=False)
    public: bytes = field(init=False)
    """The compressed public key (33 bytes)."""
    scheme: ClassVar[int] = SCHEME

    def __post_init__(self) -> None:
        if len(self.seed) != SEED_LEN:
            raise ConfigError("an ECDSA seed (secret key) is 32 bytes")
        try:
            key = coincurve.PrivateKey(bytes(self.seed))
        except ValueError:
            raise ConfigError("not an ECDSA secret key: zero, or not below the group order") from None
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "public", bytes(key.public_key.format(compressed=True)))

    @property
    def account(self) -> bytes:
        """The AccountId32: blake2b-256 of the compressed public key."""
        return account_of(self.public)

    @property
    def secret(self) -> bytes:
        """What restores this key: its seed."""
        return self.seed

    def sign(self, message: bytes) -> bytes:
        """r || s || v over blake2b-256(message): RFC 6979, low S, v 0 or 1 (as sp_core signs)."""
        return bytes(self._key.sign_recoverable(blake2b_256(message), hasher=None))  # type: ignore[attr-defined]
