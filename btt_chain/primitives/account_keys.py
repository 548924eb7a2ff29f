"""Account keys of every scheme an extrinsic may be signed with, as key files, the CLI and the light client hold
them: ed25519 (`keys.Keypair`, the default, and every dev account), sr25519 and ECDSA. What a key's account is, and
how a key is restored from the secret a key file keeps."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives import ecdsa, sr25519
from btt_chain.primitives.ecdsa import EcdsaKeypair
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.signatures import ECDSA, ED25519, SCHEME_NAMES, SR25519
from btt_chain.primitives.sr25519 import Sr25519Keypair

AccountKey = Keypair | Sr25519Keypair | EcdsaKeypair
"""A key that signs for an account: each has `account`, `scheme`, `public`, `secret` and `sign`."""
PUBLIC_KEY_LENGTHS = {ED25519: 32, SR25519: sr25519.PUBLIC_KEY_LEN, ECDSA: ecdsa.PUBLIC_KEY_LEN}


@dataclass(frozen=True)
class KeyIdentity:
    """A key's public side: its scheme and public key, and so its account."""

    scheme: int
    public: bytes

    @property
    def account(self) -> bytes:
        """The AccountId32: the public key itself, or for ECDSA its blake2b-256."""
        return ecdsa.account_of(self.public) if self.scheme == ECDSA else self.public

    @property
    def scheme_name(self) -> str:
        return SCHEME_NAMES[self.scheme]


def identity(key: AccountKey) -> KeyIdentity:
    return KeyIdentity(key.scheme, key.public)


def key_from_secret(scheme: int, secret: bytes) -> AccountKey:
    """The key a key file's secret restores: a 32-byte seed (an sr25519 mini secret), or sr25519's 64-byte secret
    key."""
    if scheme == ED25519:
        return Keypair(secret)
    if scheme == ECDSA:
        return EcdsaKeypair(secret)
    if scheme == SR25519:
        return Sr25519Keypair.from_secret(secret)
    raise ConfigError(f"unknown signature scheme {scheme}")
