"""Options that put a 32-byte hash on chain: `--WHAT TEXT` (hashed here) or `--WHAT-hash HEX` (given)."""

from __future__ import annotations

from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.hashing import blake2b_256


def text_or_hash(text: str | None, hex_text: str | None, what: str) -> bytes:
    """blake2b-256 of `--WHAT TEXT`, or `--WHAT-hash HEX` itself (32 bytes, optional 0x); exactly one of them."""
    if (text is None) == (hex_text is None):
        raise ConfigError(f"give exactly one of --{what} TEXT or --{what}-hash HEX")
    if text is not None:
        if not text:
            raise ConfigError(f"--{what} must not be empty")
        return blake2b_256(text.encode())
    assert hex_text is not None
    digits = hex_text[2:] if hex_text.lower().startswith("0x") else hex_text
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        raise ConfigError(f"--{what}-hash {hex_text!r} is not hex") from None
    if len(raw) != 32:
        raise ConfigError(f"--{what}-hash must be 32 bytes (64 hex digits), got {len(raw)}")
    return raw
