"""Which signatures the chain accepts: FRAME's `MultiSignature` (variant byte, then the signature) by an AccountId32
over a message. One function decides for the runtime, the pool, the block import path and the signature workers.

- 0 ed25519 (64 bytes): the account is the public key; the chain's acceptance rule is `btt_chain.primitives.ed25519`
  (strict RFC 8032 with its checks made here, not left to a library version).
- 1 sr25519 (64 bytes): the account is the public key; schnorrkel in the signing context `substrate`
  (`btt_chain.primitives.sr25519`).
- 2 ecdsa (65 bytes): the account is blake2b-256 of the compressed secp256k1 key recovered from the signature over
  blake2b-256(message), as FRAME checks it (`btt_chain.primitives.ecdsa`: recovery byte and malleability).

The message is what the signer signed (an extrinsic's signing payload, or its blake2b-256 when over 256 bytes).
"""

from __future__ import annotations

from btt_chain.primitives import ecdsa, ed25519, sr25519
from btt_chain.primitives.errors import ConfigError

ED25519 = 0
SR25519 = sr25519.SCHEME
ECDSA = ecdsa.SCHEME
SIGNATURE_LENGTHS = {ED25519: ed25519.SIGNATURE_LEN, SR25519: sr25519.SIGNATURE_LEN, ECDSA: ecdsa.SIGNATURE_LEN}
"""MultiSignature variant -> its signature's length (ECDSA: r, s and the recovery byte)."""
SCHEME_NAMES = {ED25519: "ed25519", SR25519: "sr25519", ECDSA: "ecdsa"}
_VERIFIERS = {ED25519: ed25519.verify, SR25519: sr25519.verify, ECDSA: ecdsa.verify}


def scheme_named(name: str) -> int:
    """The MultiSignature variant of a scheme's name (`ed25519`, `sr25519`, `ecdsa`; any case)."""
    for scheme, known in SCHEME_NAMES.items():
        if name.lower() == known:
            return scheme
    raise ConfigError(f"unknown signature scheme {name!r}: use {', '.join(SCHEME_NAMES.values())}")


def verify_multi(account: bytes, message: bytes, multi_signature: bytes) -> bool:
    """True when `multi_signature` (FRAME's MultiSignature encoding) is a valid signature of `message` by the account
    `account` under its scheme's rule."""
    if not multi_signature:
        return False
    verifier = _VERIFIERS.get(multi_signature[0])
    return verifier is not None and verifier(account, message, multi_signature[1:])
