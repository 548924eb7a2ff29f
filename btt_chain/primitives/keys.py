"""ed25519 keys (PyNaCl) for accounts, validators and providers, and the deterministic dev accounts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.signing

from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.hashing import blake2b_256

DEV_PHRASE = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
"""The published dev phrase (Substrate's). Dev seeds are blake2b-256(DEV_PHRASE + '//' + name)."""

DEV_NAMES = ("alice", "bob", "charlie", "dave", "eve", "ferdie")
SIGNATURE_LEN = 64
PUBLIC_KEY_LEN = 32


@dataclass(frozen=True)
class Keypair:
    """An ed25519 key pair made from a 32-byte seed."""

    seed: bytes = field(repr=False)
    public: bytes = field(init=False)

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise ConfigError("an ed25519 seed must be 32 bytes")
        object.__setattr__(self, "_signing", nacl.signing.SigningKey(self.seed))
        object.__setattr__(self, "public", bytes(self._signing.verify_key))  # type: ignore[attr-defined]

    @classmethod
    def generate(cls) -> Keypair:
        return cls(os.urandom(32))

    def sign(self, message: bytes) -> bytes:
        return bytes(self._signing.sign(message).signature)  # type: ignore[attr-defined]


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid ed25519 signature of `message` by `public`."""
    if len(public) != PUBLIC_KEY_LEN or len(signature) != SIGNATURE_LEN:
        return False
    try:
        nacl.signing.VerifyKey(public).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return False
    return True


def is_dev_name(name: str) -> bool:
    """alice, bob, ... and their stash accounts alice//stash, bob//stash, ... (Substrate's dev naming)."""
    base = name[: -len("//stash")] if name.endswith("//stash") else name
    return base in DEV_NAMES


def dev_keypair(name: str) -> Keypair:
    """The dev account `name` (alice, bob, ... or any other word): deterministic, for dev chains only."""
    return Keypair(blake2b_256(f"{DEV_PHRASE}//{name}".encode()))
