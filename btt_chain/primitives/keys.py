"""ed25519 keys (PyNaCl) for accounts, validators and providers, and the deterministic dev accounts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.signing

from btt_chain.primitives.errors import ConfigError

DEV_PHRASE = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
"""The published dev phrase (Substrate's)."""
DEV_ENTROPY = bytes.fromhex("1a486a5fbe53639984cb64b070755f7b")
"""The BIP-39 entropy of DEV_PHRASE (what PBKDF2 stretches: `//Alice///password` needs no word list either)."""
DEV_MINI_SECRET = bytes.fromhex("fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e")
"""The ed25519 seed of DEV_PHRASE (BIP-39 entropy through PBKDF2, see `derivation`); a test recomputes it from
the words, so reading dev keys needs no word list."""

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


def dev_name_uri(text: str) -> str | None:
    """The secret URI a dev name stands for, with what follows it: `alice` is `//Alice`, `bob//stash` is
    `//Bob//stash`, `alice//0///pw` is `//Alice//0///pw`; None when `text` does not start with a dev name."""
    head, sep, rest = text.partition("/")
    if head.lower() not in DEV_NAMES:
        return None
    return "//" + head.capitalize() + sep + rest


def dev_keypair(name: str) -> Keypair:
    """The dev account `name` for dev chains only: Substrate's ed25519 `//Alice`, `//Bob`, ... of the dev phrase
    (`alice//stash` is `//Alice//stash`; another word is its own junction), as `subkey inspect --scheme
    ed25519 //Alice` prints it."""
    from btt_chain.primitives.derivation import derive_path

    first, _, rest = name.partition("//")
    junction = first.capitalize() if first.lower() in DEV_NAMES else first
    return Keypair(derive_path(DEV_MINI_SECRET, "//" + junction + ("//" + rest if rest else "")))
