"""Key files: the secret encrypted under a password-derived key, readable only by their owner.

Format (JSON, version 2): type (the scheme: `ed25519`, `sr25519` or `ecdsa`), version, public (the public key:
32 bytes, 33 for ECDSA), address (of the account: for ECDSA the blake2b-256 of the public key) and `crypto`:
argon2id (PyNaCl's libsodium binding; opslimit and memlimit stored, interactive level by default: ~0.1 s and
64 MiB) derives a 32-byte key from the password and a random salt; XSalsa20-Poly1305 (`nacl.secret.SecretBox`)
encrypts the secret (the 32-byte seed; for a derived sr25519 key, its 64-byte secret key) and authenticates it, so
a wrong password or a changed file is refused, never read as another key. Version 1 files (an ed25519 seed in
the clear, written before this) still load, as long as only their owner can read them; the CLI warns on each
use and `encrypt_keyfile` (`btt-chain key encrypt`) rewrites one encrypted in place, same key and address.

Every key file is written with mode 0600 and refused when its group or others can read or write it; the
message says how to fix it. The stored public key and address are readable without the password, but they are
only what the file claims: anyone who can write the file can change them. Whenever the secret is read they are
checked against the key derived from it, and a file whose claim differs is refused (the address it shows would
not be the one that signs); `keyfile_identity` says whether the public key it returns was so checked.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id
import nacl.secret
import nacl.utils

from btt_chain.primitives.account_keys import PUBLIC_KEY_LENGTHS, AccountKey, KeyIdentity, key_from_secret
from btt_chain.primitives.address import DEFAULT_SS58_PREFIX, b58decode, decode_address, encode_address
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.signatures import ECDSA, ED25519, SCHEME_NAMES, scheme_named

VERSION = 2
KDF = "argon2id"
CIPHER = "xsalsa20-poly1305"
OPSLIMIT = argon2id.OPSLIMIT_INTERACTIVE
MEMLIMIT = argon2id.MEMLIMIT_INTERACTIVE
MAX_MEMLIMIT = argon2id.MEMLIMIT_SENSITIVE
"""A file asking for more memory than this is refused (a hostile file must not exhaust the machine)."""
MIN_PASSWORD = 8
SECRET_LENGTHS = (32, 64)
"""A seed, or sr25519's secret key."""

PasswordSource = Callable[[], bytes]
"""Asked only when the file is encrypted: returns the password (prompt, file or environment)."""


def _derive(password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return argon2id.kdf(nacl.secret.SecretBox.KEY_SIZE, password, salt, opslimit=opslimit, memlimit=memlimit)


def encrypt_seed(secret: bytes, password: bytes) -> dict[str, Any]:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"a key file password needs at least {MIN_PASSWORD} characters")
    salt = nacl.utils.random(argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_derive(password, salt, OPSLIMIT, MEMLIMIT))
    sealed = box.encrypt(secret)
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
    if len(seed) not in SECRET_LENGTHS:
        raise ConfigError(f"{path}: the encrypted secret is neither 32 nor 64 bytes")
    return seed


def _encrypted_doc(pair: AccountKey, ss58_prefix: int, password: bytes) -> dict[str, Any]:
    return {
        "type": SCHEME_NAMES[pair.scheme], "version": VERSION, "public": pair.public.hex(),
        "address": encode_address(pair.account, ss58_prefix), "crypto": encrypt_seed(pair.secret, password),
    }


def save_keyfile(path: Path, pair: AccountKey, ss58_prefix: int, password: bytes) -> None:
    """Write an encrypted key file (mode 0600); refuses to overwrite."""
    data = _encrypted_doc(pair, ss58_prefix, password)
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
        raise ConfigError(f"key file {path} does not exist") from None
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
    except RecursionError:  # brackets nested deeper than the JSON parser goes
        raise ConfigError(f"{path} is not a btt-chain key file: nested too deeply") from None
    if not isinstance(data, dict) or data.get("type") not in SCHEME_NAMES.values():
        raise ConfigError(f"{path} is not a key file of a known scheme ({', '.join(SCHEME_NAMES.values())})")
    return data


def _scheme(data: dict[str, Any]) -> int:
    return scheme_named(data["type"])


def is_encrypted(path: Path) -> bool:
    return "crypto" in _read(path)


def _claimed(path: Path, data: dict[str, Any]) -> tuple[KeyIdentity | None, bytes | None, int | None]:
    """What the file's `public` and `address` fields claim (refused if they disagree): the key's identity (None
    without a public key), its account, and the address's network prefix (None without an address)."""
    scheme = _scheme(data)
    claimed: KeyIdentity | None = None
    if "public" in data:
        try:
            public = bytes.fromhex(data["public"])
        except (TypeError, ValueError):
            public = b""
        length = PUBLIC_KEY_LENGTHS[scheme]
        if len(public) != length:
            raise ConfigError(f"{path}: the stored public key is not {length} bytes of hex")
        claimed = KeyIdentity(scheme, public)
    if "address" not in data:
        return claimed, None if claimed is None else claimed.account, None
    if not isinstance(data["address"], str):
        raise ConfigError(f"{path}: the stored address is not a string")
    try:
        from_address = decode_address(data["address"])
    except ConfigError as exc:
        raise ConfigError(f"{path}: the stored address is not valid: {exc}") from None
    if claimed is not None and from_address != claimed.account:
        raise ConfigError(f"{path}: the stored address does not match the stored public key (the file was changed)")
    if claimed is None and scheme != ECDSA:  # the account is the public key
        claimed = KeyIdentity(scheme, from_address)
    return claimed, from_address, b58decode(data["address"])[0]


def _secret(path: Path, data: dict[str, Any], password: PasswordSource | None) -> AccountKey:
    scheme = _scheme(data)
    if "crypto" in data:
        if password is None:
            raise ConfigError(f"{path} is encrypted: give its password")
        secret = decrypt_seed(data["crypto"], password(), path)
    else:
        try:
            secret = bytes.fromhex(data["seed"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path} is not a btt-chain key file: {exc}") from None
        if len(secret) != 32 or scheme != ED25519:
            raise ConfigError(f"{path} is not a btt-chain key file: a plaintext one holds a 32-byte ed25519 seed")
    try:
        pair = key_from_secret(scheme, secret)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    claimed, account, _ = _claimed(path, data)
    if (claimed is not None and claimed.public != pair.public) or (account is not None and account != pair.account):
        raise ConfigError(
            f"{path}: the stored public key or address does not match the key's secret (the file was changed); "
            "refusing it: the address it shows is not the one that would sign"
        )
    return pair


def keyfile_identity(path: Path, password: PasswordSource | None) -> tuple[KeyIdentity, bool]:
    """(identity, verified) of a key file: its scheme and public key. Verified: derived from the secret (a
    plaintext file, or an encrypted one with `password`) and the stored public key and address checked against it.
    Unverified: an encrypted file without `password`, whose stored public key (checked against its stored address)
    is only what the file claims."""
    data = _read(path)
    if "crypto" not in data or password is not None:
        pair = _secret(path, data, password)
        return KeyIdentity(pair.scheme, pair.public), True
    claimed, _, _ = _claimed(path, data)
    if claimed is None:
        raise ConfigError(f"{path} holds neither a public key nor an address that shows it: give its password")
    return claimed, False


def keyfile_public(path: Path) -> bytes:
    """The public key of a key file, without its password (see `keyfile_identity`: unverified when encrypted)."""
    return keyfile_identity(path, None)[0].public


def keyfile_account(path: Path) -> bytes:
    """The account of a key file, without its password (see `keyfile_identity`: unverified when encrypted)."""
    return keyfile_identity(path, None)[0].account


def load_keyfile(path: Path, password: PasswordSource | None) -> AccountKey:
    """The key pair in `path`; `password` is asked for only if the file is encrypted. A file whose stored
    public key or address is not that of its secret is refused."""
    return _secret(path, _read(path), password)


def encrypt_keyfile(path: Path, password: PasswordSource) -> str:
    """Rewrite a version 1 (plaintext) key file encrypted under `password`, in place: the same key, and the same
    address (its network prefix kept), which is returned. Written to a temporary file beside it (mode 0600),
    synced and renamed over it, so a crash leaves either the old file or the new one."""
    path = Path(path)
    data = _read(path)
    if "crypto" in data:
        raise ConfigError(f"{path} is already encrypted")
    pair = _secret(path, data, None)
    _, _, prefix = _claimed(path, data)
    doc = _encrypted_doc(pair, DEFAULT_SS58_PREFIX if prefix is None else prefix, password())
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a crash
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise ConfigError(f"cannot encrypt key file {path}: {exc.strerror or exc}; it is unchanged") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return str(doc["address"])
