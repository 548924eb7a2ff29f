"""Substrate's ed25519 key derivation: BIP-39 phrase -> mini secret -> hard junctions (`//Alice//stash`).

- mini secret = PBKDF2-HMAC-SHA512(password = the phrase's BIP-39 entropy, salt = "mnemonic" + password,
  2048 rounds)[:32] (substrate-bip39; an ed25519 key's seed is that mini secret);
- a hard junction `//j` turns a seed into blake2b-256(SCALE("Ed25519HDKD") || seed || chain code), where the
  chain code is SCALE(j) (a compact length prefix and the UTF-8 bytes) padded with zeros to 32 bytes, or, for a
  junction of only digits, the u64 little-endian; ed25519 has no soft derivation.

So `//Alice` of the standard dev phrase is the key `subkey inspect --scheme ed25519 //Alice` prints.
"""

from __future__ import annotations

import hashlib
import re

from btt_chain.primitives.errors import ConfigError

HDKD_TAG = b"Ed25519HDKD"
_JUNCTION = re.compile(r"//([^/]+)")


def _compact_len(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    raise ConfigError("a derivation junction is too long")


def chain_code(junction: str) -> bytes:
    if junction.isascii() and junction.isdigit():
        encoded = int(junction).to_bytes(8, "little")
    else:
        raw = junction.encode()
        encoded = _compact_len(len(raw)) + raw
    if len(encoded) > 32:
        return hashlib.blake2b(encoded, digest_size=32).digest()
    return encoded.ljust(32, b"\0")


def derive_hard(seed: bytes, junction: str) -> bytes:
    data = _compact_len(len(HDKD_TAG)) + HDKD_TAG + seed + chain_code(junction)
    return hashlib.blake2b(data, digest_size=32).digest()


def mini_secret(entropy: bytes, password: str = "") -> bytes:
    return hashlib.pbkdf2_hmac("sha512", entropy, b"mnemonic" + password.encode(), 2048)[:32]


def parse_path(path: str) -> list[str]:
    """The hard junctions of `//a//b` (a soft `/a` is refused: ed25519 cannot derive softly)."""
    if not path:
        return []
    junctions = _JUNCTION.findall(path)
    if "".join(f"//{j}" for j in junctions) != path:
        raise ConfigError(f"derivation path {path!r}: ed25519 takes only hard junctions like //Alice//stash")
    return junctions


def derive_path(seed: bytes, path: str) -> bytes:
    for junction in parse_path(path):
        seed = derive_hard(seed, junction)
    return seed
