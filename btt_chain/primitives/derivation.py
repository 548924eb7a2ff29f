"""Substrate's secret URIs, and the seed-hashing hard derivation of its ed25519 and ECDSA keys, as `subkey --scheme
ed25519|ecdsa` and sp_core's `Pair::from_string` read them (sr25519 derives in `btt_chain.primitives.sr25519`).

A secret URI is `[phrase][/soft | //hard]...[///password]` (sp_core `AddressUri::parse`):

- the phrase is the longest prefix of ASCII letters, digits and spaces: a BIP-39 phrase, or `0x` and a 32-byte hex
  seed; with no phrase (the URI starts with `/`) it is the public dev phrase, so `//Alice` is
  `"bottom drive ... walk//Alice"`;
- then junctions: `//j` hard, `/j` soft, `j` any characters but `/` (never empty);
- `///` starts the password, which runs to the end (it may hold `/`, not a newline); `///` alone is the empty
  password, the same as none.

Keys (sp_core `Pair::from_phrase`, substrate-bip39 `mini_secret_from_entropy`, sp_core ed25519
`derive_hard_junction`):

- mini secret = PBKDF2-HMAC-SHA512(password = the phrase's BIP-39 entropy, salt = "mnemonic" + URI password,
  2048 rounds), first 32 bytes: an ed25519 key's seed; a `0x` seed is used as is;
- each junction has a 32-byte chain code: a junction that Rust's `str::parse::<u64>` accepts (decimal digits with
  an optional leading `+`, at most 2^64 - 1; leading zeros allowed, so `//007` is `//7`) is that integer as u64
  little-endian; any other is SCALE-encoded as a string (compact length prefix, then UTF-8); an encoding longer
  than 32 bytes is replaced by its blake2b-256, a shorter one padded with zeros to 32 bytes;
- a hard junction turns a seed into blake2b-256(SCALE(tag) || seed || chain code), the tag "Ed25519HDKD" for
  ed25519 and "Secp256k1HDKD" for ECDSA (sp_core `ecdsa` `derive_hard_junction`); neither scheme has soft
  derivation, so a soft junction is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from btt_chain.primitives.errors import ConfigError

HDKD_TAG = b"Ed25519HDKD"
JUNCTION_ID_LEN = 32
U64_MAX = 2**64 - 1
PBKDF2_ROUNDS = 2048
_PHRASE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ")


def _compact_len(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    raise ConfigError("a derivation junction is too long")


def junction_integer(text: str) -> int | None:
    """The u64 that Rust's `str::parse::<u64>` reads from `text`, or None (then the junction is a string)."""
    digits = text[1:] if text.startswith("+") else text
    if not digits or any(c not in "0123456789" for c in digits):
        return None
    value = int(digits)
    return value if value <= U64_MAX else None


def chain_code(junction: str) -> bytes:
    """The 32-byte chain code of a junction's text (sp_core `DeriveJunction::from`)."""
    number = junction_integer(junction)
    if number is not None:
        encoded = number.to_bytes(8, "little")
    else:
        raw = junction.encode()
        encoded = _compact_len(len(raw)) + raw
    if len(encoded) > JUNCTION_ID_LEN:
        return hashlib.blake2b(encoded, digest_size=32).digest()
    return encoded.ljust(JUNCTION_ID_LEN, b"\0")


@dataclass(frozen=True)
class Junction:
    """One step of a derivation path."""

    text: str
    """What follows the slashes (never empty, never holds `/`)."""
    hard: bool
    """`//text` when true, `/text` (soft) when false."""

    def __str__(self) -> str:
        return ("//" if self.hard else "/") + self.text

    @property
    def chain_code(self) -> bytes:
        return chain_code(self.text)


@dataclass(frozen=True)
class SecretUri:
    """A parsed secret URI. Its `str` never shows the phrase or the password."""

    phrase: str | None = field(repr=False)
    """The BIP-39 words or `0x` seed as written; None for the dev phrase."""
    junctions: tuple[Junction, ...]
    password: str | None = field(repr=False)
    """What follows `///`; None when there is none."""

    @property
    def path(self) -> str:
        return "".join(str(j) for j in self.junctions)

    def __str__(self) -> str:
        secret = "" if self.phrase is None else "<secret>"
        return secret + self.path + ("" if self.password is None else "///<password>")


def _take(text: str, start: int, allowed) -> int:  # type: ignore[no-untyped-def]
    end = start
    while end < len(text) and allowed(text[end]):
        end += 1
    return end


def parse_suri(text: str) -> SecretUri:
    """Split a secret URI as Substrate does (sp_core `AddressUri::parse`). Messages never echo the phrase or the
    password."""
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:  # a lone surrogate (a byte of the command line that is not UTF-8)
            raise ConfigError("the secret URI is not valid UTF-8 text (it holds a lone surrogate)") from None
    pos = _take(text, 0, lambda c: c in _PHRASE_CHARS)
    phrase = text[:pos] or None
    junctions: list[Junction] = []
    password: str | None = None
    while pos < len(text):
        if text.startswith("///", pos):
            end = _take(text, pos + 3, lambda c: c != "\n")
            password = text[pos + 3:end]
            if end < len(text):
                raise ConfigError("invalid character in the secret URI's password (a newline)")
            pos = end
        elif text.startswith("/", pos):
            hard = text.startswith("//", pos)
            begin = pos + (2 if hard else 1)
            end = _take(text, begin, lambda c: c != "/")
            if end == begin:
                raise ConfigError(f"empty derivation junction after {text[:begin][len(phrase or ''):]!r} "
                                  "(write //name or //0)")
            junctions.append(Junction(text[begin:end], hard))
            pos = end
        else:
            raise ConfigError("invalid character in the secret URI's phrase: a phrase is words of ASCII letters "
                              "separated by spaces (or 0x and 64 hex digits), then //junctions, then ///password")
    return SecretUri(phrase, tuple(junctions), password)


def hard_junctions(junctions: tuple[Junction, ...], scheme: str = "ed25519") -> tuple[Junction, ...]:
    """`junctions`, all hard: ed25519 and ECDSA refuse a soft one (sp_core `DeriveError::SoftKeyInPath`)."""
    for junction in junctions:
        if not junction.hard:
            raise ConfigError(f"{scheme} cannot derive soft junction '/{junction.text}'; use '//{junction.text}'")
    return junctions


def derive_hard(seed: bytes, junction: str, tag: bytes = HDKD_TAG) -> bytes:
    data = _compact_len(len(tag)) + tag + seed + chain_code(junction)
    return hashlib.blake2b(data, digest_size=32).digest()


def mini_secret(entropy: bytes, password: str = "") -> bytes:
    """substrate-bip39's `mini_secret_from_entropy`: PBKDF2's password is the entropy, its salt "mnemonic" + the
    URI password."""
    return hashlib.pbkdf2_hmac("sha512", entropy, b"mnemonic" + password.encode(), PBKDF2_ROUNDS)[:32]


def parse_path(path: str) -> list[str]:
    """The hard junctions of a bare path such as `//Alice//0` (no phrase, no password; soft junctions refused)."""
    if not path:
        return []
    uri = parse_suri(path)
    if uri.phrase is not None or uri.password is not None:
        raise ConfigError("a derivation path holds only //junctions, like //Alice//stash")
    return [j.text for j in hard_junctions(uri.junctions)]


def derive_path(seed: bytes, path: str) -> bytes:
    for junction in parse_path(path):
        seed = derive_hard(seed, junction)
    return seed


def derive_junctions(seed: bytes, junctions: tuple[Junction, ...], tag: bytes = HDKD_TAG) -> bytes:
    """The seed at hard `junctions` below `seed`, hashed with `tag` (ed25519's by default)."""
    for junction in hard_junctions(junctions):
        seed = derive_hard(seed, junction.text, tag)
    return seed
