"""Key files: the seed encrypted under a password-derived key, readable only by their owner.

Format (JSON, version 2): type, version, public, address and `crypto`: argon2id (PyNaCl's libsodium binding;
opslimit and memlimit stored, interactive level by default: ~0.1 s and 64 MiB) derives a 32-byte key from the
password and a random salt; XSalsa20-Poly1305 (`nacl.secret.SecretBox`) encrypts the seed and authenticates
it, so a wrong password or a changed file is refused, never read as another key. Version 1 files (the seed in
the clear, written before this) still load, as long as only their owner can read them.

Every key file is written with mode 0600 and refused when its group or others can read or write it; the
message says how to fix it. The public key and address are readable without the password.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id
import nacl.secret
import nacl.utils

from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import Keypair

VERSION = 2
KDF = "argon2id"
CIPHER = "xsalsa20-poly1305"
OPSLIMIT = argon2id.OPSLIMIT_INTERACTIVE
MEMLIMIT = argon2id.MEMLIMIT_INTERACTIVE
MAX_MEMLIMIT = argon2id.MEMLIMIT_SENSITIVE
"""A file asking for more memory than this is refused (a hostile file must not exhaust the machine)."""
MIN_PASSWORD = 8

PasswordSource = Callable[[], bytes]
"""Asked only when the file is encrypted: returns the password (prompt, file or environment)."""


def _derive(password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return argon2id.kdf(nacl.secret.SecretBox.KEY_SIZE, password, salt, opslimit=opslimit, memlimit=memlimit)


def encrypt_seed(seed: bytes, password: bytes) -> dict[str, Any]:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"a key file password needs at least {MIN_PASSWORD} characters")
    salt = nacl.utils.random(argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_derive(password, salt, OPSLIMIT, MEMLIMIT))
    sealed = box.encrypt(seed)
    return {
        "kdf": KDF, "opslimit": OPSLIMIT, "memlimit": MEMLIMIT, "salt": salt.hex(), "cipher": CIPHER,
        "nonce": sealed.nonce.hex(), "ciphertext": sealed.ciphertext.hex(),
    }


def decrypt_seed(crypto: dict[str, Any], password: bytes, path: Path) -> bytes:
    try:
        if crypto["kdf"] != KDF or crypto["cipher"] != CIPHER:
            raise ValueError(f"unsupported kdf/cipher {crypto['kdf']}/{crypto['cipher']}")
        opslimit, memlimit = int(crypto["opslimit"]), int(crypto["memlimit"])
        if not (argon2id.OPSLIMIT_MIN <= opslimit <= argon2id.OPSLIMIT_SENSITIVE
                and argon2id.MEMLIMIT_MIN <= memlimit <= MAX_MEMLIMIT):
            raise ValueError("key derivation limits out of range")
        salt, nonce = bytes.fromhex(crypto["salt"]), bytes.fromhex(crypto["nonce"])
        ciphertext = bytes.fromhex(crypto["ciphertext"])
        box = nacl.secret.SecretBox(_derive(password, salt, opslimit, memlimit))
        seed = box.decrypt(ciphertext, nonce)
    except nacl.exceptions.CryptoError:
        raise ConfigError(f"wrong password for key file {path} (or the file was changed)") from None
    except (KeyError, TypeError, ValueError, nacl.exceptions.ValueError) as exc:
        raise ConfigError(f"{path}: malformed encrypted key: {exc}") from None
    if len(seed) != 32:
        raise ConfigError(f"{path}: the encrypted seed is not 32 bytes")
    return seed


def save_keyfile(path: Path, pair: Keypair, ss58_prefix: int, password: bytes) -> None:
    """Write an encrypted key file (mode 0600); refuses to overwrite."""
    from btt_chain.primitives.address import encode_address

    data = {
        "type": "ed25519", "version": VERSION, "public": pair.public.hex(),
        "address": encode_address(pair.public, ss58_prefix), "crypto": encrypt_seed(pair.seed, password),
    }
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{path} exists; refusing to overwrite a key file") from None
    except OSError as exc:
        raise ConfigError(f"cannot write key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")


def check_private(path: Path) -> None:
    """Refuse a key file its group or others may read or write."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        raise ConfigError(f"key file not found: {path}") from None
    if mode & 0o077:
        raise ConfigError(
            f"key file {path} is readable or writable by others (mode {mode:04o}); only its owner may read it: "
            f"run `chmod 600 {path}`"
        )


def _read(path: Path) -> dict[str, Any]:
    check_private(path)
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not a btt-chain key file: {exc}") from None
    if not isinstance(data, dict) or data.get("type") != "ed25519":
        raise ConfigError(f"{path} is not an ed25519 key file")
    return data


def is_encrypted(path: Path) -> bool:
    return "crypto" in _read(path)


def keyfile_public(path: Path) -> bytes:
    """The public key of a key file, without its password."""
    data = _read(path)
    try:
        public = bytes.fromhex(data["public"])
    except (KeyError, TypeError, ValueError):
        return load_keyfile(path, None).public
    if len(public) != 32:
        raise ConfigError(f"{path}: the public key is not 32 bytes")
    return public


def load_keyfile(path: Path, password: PasswordSource | None) -> Keypair:
    """The key pair in `path`; `password` is asked for only if the file is encrypted."""
    data = _read(path)
    if "crypto" in data:
        if password is None:
            raise ConfigError(f"{path} is encrypted: give its password")
        seed = decrypt_seed(data["crypto"], password(), path)
    else:
        try:
            seed = bytes.fromhex(data["seed"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path} is not a btt-chain key file: {exc}") from None
        if len(seed) != 32:
            raise ConfigError(f"{path} is not an ed25519 key file")
    pair = Keypair(seed)
    if "public" in data and data["public"] != pair.public.hex():
        raise ConfigError(f"{path}: public key does not match the seed")
    return pair
