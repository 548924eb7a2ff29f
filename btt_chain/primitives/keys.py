"""ed25519 keys (PyNaCl) for accounts, validators and providers, and the deterministic dev accounts."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

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


def save_keyfile(path: Path, pair: Keypair, ss58_prefix: int) -> None:
    """Write a key file (JSON, mode 0600) holding the seed, public key and address."""
    from btt_chain.primitives.address import encode_address

    data = {
        "type": "ed25519",
        "seed": pair.seed.hex(),
        "public": pair.public.hex(),
        "address": encode_address(pair.public, ss58_prefix),
    }
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")


def load_keyfile(path: Path) -> Keypair:
    """Read a key file written by `save_keyfile`; a clear ConfigError if it is not one."""
    try:
        data = json.loads(Path(path).read_text())
        seed = bytes.fromhex(data["seed"])
    except FileNotFoundError:
        raise ConfigError(f"key file not found: {path}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a btt-chain key file: {exc}") from None
    if data.get("type") != "ed25519" or len(seed) != 32:
        raise ConfigError(f"{path} is not an ed25519 key file")
    pair = Keypair(seed)
    if "public" in data and data["public"] != pair.public.hex():
        raise ConfigError(f"{path}: public key does not match the seed")
    return pair
