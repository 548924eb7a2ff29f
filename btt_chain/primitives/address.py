"""SS58-style addresses: base58(prefix || public key || checksum), checksum = blake2b-512(b'SS58PRE' ...)[:2]."""

from __future__ import annotations

import hashlib

from btt_chain.primitives.errors import ConfigError

_ALPHABET = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
_NOT_A_DIGIT = 255
_DIGITS = bytes(_INDEX.get(b, _NOT_A_DIGIT) for b in range(256))
"""ASCII byte -> its base58 digit (255: not one)."""
DEFAULT_SS58_PREFIX = 42


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = bytearray()
    while n:
        n, r = divmod(n, 58)
        out.append(_ALPHABET[r])
    pad = len(data) - len(data.lstrip(b"\x00"))
    return (bytes([_ALPHABET[0]]) * pad + bytes(reversed(out))).decode()


def b58decode(text: str) -> bytes:
    """Base58 text to bytes. Any other character (non-ASCII ones and lone surrogates included) is a ConfigError
    naming it (escaped, so the message itself is always printable)."""
    digits = text.encode().translate(_DIGITS) if text.isascii() else b"\xff"
    if _NOT_A_DIGIT in digits:
        for ch in text:
            if not (ch.isascii() and ord(ch) in _INDEX):
                surrogate = " (a lone surrogate: not valid UTF-8 text)" if "\ud800" <= ch <= "\udfff" else ""
                raise ConfigError(f"invalid base58 character {ch!r}{surrogate}")
    n = 0
    for digit in digits:  # a chain spec holds up to millions of addresses: bytes, not a dict lookup per character
        n = n * 58 + digit
    pad = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\x00" * pad + body


def _checksum(prefix: int, public: bytes) -> bytes:
    return hashlib.blake2b(b"SS58PRE" + bytes([prefix]) + public, digest_size=64).digest()[:2]


def encode_address(public: bytes, prefix: int = DEFAULT_SS58_PREFIX) -> str:
    """The address of a 32-byte account id under a network prefix (0-63)."""
    if not 0 <= prefix <= 63:
        raise ConfigError(f"ss58 prefix must be 0-63, got {prefix}")
    if len(public) != 32:
        raise ConfigError("an account id is 32 bytes")
    return b58encode(bytes([prefix]) + public + _checksum(prefix, public))


def decode_address(address: str, prefix: int | None = None) -> bytes:
    """The 32-byte account id of an address; checks length, checksum and (if given) the network prefix."""
    raw = b58decode(address)
    if len(raw) != 35:
        raise ConfigError(f"{address!r} is not an address: wrong length")
    pfx, public, check = raw[0], raw[1:33], raw[33:]
    if pfx > 63:
        raise ConfigError(f"{address!r} is not an address: bad prefix")
    if _checksum(pfx, public) != check:
        raise ConfigError(f"{address!r} is not an address: bad checksum")
    if prefix is not None and pfx != prefix:
        raise ConfigError(f"{address!r} belongs to network prefix {pfx}, this chain uses {prefix}")
    return public
