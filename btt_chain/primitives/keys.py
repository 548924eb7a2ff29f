"""ed25519 keys (PyNaCl) for accounts, validators and providers, the deterministic dev accounts, and what signs an
extrinsic (`Signer`, which the sr25519 and ECDSA key pairs of `btt_chain.primitives.sr25519` and `.ecdsa` are too).

Validators' session keys (block seals, finality votes, the evidence of equivocation) are ed25519 only: the
header's seal and a vote carry a bare 64-byte signature with no scheme byte, and the consensus code checks them
with `verify`, the chain's ed25519 rule (`btt_chain.primitives.ed25519`). Accounts may sign with any scheme.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import nacl.signing

from btt_chain.primitives.ed25519 import verify as verify
from btt_chain.primitives.errors import ConfigError

DEV_PHRASE = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
"""The published dev phrase (Substrate's)."""
DEV_ENTROPY = bytes.fromhex("1a486a5fbe53639984cb64b070755f7b")
"""The BIP-39 entropy of DEV_PHRASE (what PBKDF2 stretches: `//Alice///password` needs no word list either)."""
DEV_MINI_SECRET = bytes.fromhex("fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e")
"""The ed25519 seed of DEV_PHRASE (BIP-39 entropy through PBKDF2, see `derivation`); a test recomputes it from
the words, so reading dev keys needs no word list."""

DEV_NAMES = ("alice", "bob", "charlie", "dave", "eve", "ferdie")


class Signer(Protocol):
    """What signs an extrinsic: an account and a scheme (FRAME's MultiSignature variant)."""

    @property
    def account(self) -> bytes:
        """The AccountId32 it signs for."""
        ...

    @property
    def scheme(self) -> int:
        """0 ed25519, 1 sr25519, 2 ecdsa."""
        ...

    def sign(self, message: bytes) -> bytes:
        ...


@dataclass(frozen=True)
class Keypair:
    """An ed25519 key pair made from a 32-byte seed."""

    seed: bytes = field(repr=False)
    public: bytes = field(init=False)
    scheme: ClassVar[int] = 0
    """FRAME's MultiSignature variant of ed25519."""

    @property
    def account(self) -> bytes:
        """The AccountId32: an ed25519 account is its public key."""
        return self.public

    @property
    def secret(self) -> bytes:
        """What restores this key: its seed."""
        return self.seed

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


@functools.lru_cache(maxsize=4096)
def dev_keypair(name: str) -> Keypair:
    """The dev account `name` for dev chains only: Substrate's ed25519 `//Alice`, `//Bob`, ... of the dev phrase
    (`alice//stash` is `//Alice//stash`; another word is its own junction), as `subkey inspect --scheme
    ed25519 //Alice` prints it. Remembered (a frozen key pair of a public dev key: tests and the demo ask for the
    same few names thousands of times, each a derivation and a key expansion)."""
    from btt_chain.primitives.derivation import derive_path

    first, _, rest = name.partition("//")
    junction = first.capitalize() if first.lower() in DEV_NAMES else first
    return Keypair(derive_path(DEV_MINI_SECRET, "//" + junction + ("//" + rest if rest else "")))
