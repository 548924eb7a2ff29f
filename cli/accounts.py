"""Resolving what users type: dev names (dev chains only), addresses, hex ids and key files."""

from __future__ import annotations

import difflib
from pathlib import Path

from btt_chain.primitives.address import decode_address
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import DEV_NAMES, Keypair, dev_keypair, is_dev_name
from cli.passwords import keyfile_account, open_keyfile

DEV_CHAIN_TYPES = ("Development", "Local")


def resolve_signer(text: str, chain_type: str) -> Keypair:
    """A key from a dev name or `//Alice`-style dev path (on dev chains only), a mnemonic with an optional
    `//path` (Substrate's secret URI, ed25519), or a key file."""
    from btt_chain.primitives.mnemonic import is_mnemonic, keypair_from_suri

    if is_mnemonic(text):
        return keypair_from_suri(text)
    if text.startswith("//") and is_dev_name(text[2:].split("//")[0].lower()):
        text = text[2:].lower()
    if is_dev_name(text.lower()):
        if chain_type not in DEV_CHAIN_TYPES:
            raise ConfigError(f"dev account {text!r} is only accepted on dev chains; this chain is {chain_type}")
        return dev_keypair(text.lower())
    path = Path(text)
    if path.exists():
        return open_keyfile(path)
    raise ConfigError(f"{text!r} is neither a dev account name ({', '.join(DEV_NAMES)}) nor a key file")


def resolve_account(text: str, chain_type: str, ss58_prefix: int | None) -> bytes:
    """An account id from a dev name (dev chains only), an SS58 address, 0x-hex, or a key file."""
    if is_dev_name(text.lower()):
        if chain_type not in DEV_CHAIN_TYPES:
            raise ConfigError(f"dev account {text!r} is only accepted on dev chains; this chain is {chain_type}")
        return dev_keypair(text.lower()).public
    if text.startswith("0x"):
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            raise ConfigError(f"{text!r} is not valid hex") from None
        if len(raw) != 32:
            raise ConfigError(f"{text!r} is not a 32-byte account id")
        return raw
    if Path(text).is_file():
        return keyfile_account(Path(text))
    try:
        return decode_address(text, ss58_prefix)
    except ConfigError as exc:
        if chain_type in DEV_CHAIN_TYPES and text.isalpha() and len(text) <= 16:
            close = difflib.get_close_matches(text.lower(), DEV_NAMES, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{exc}; {hint}dev accounts on this chain: {', '.join(DEV_NAMES)}") from None
        raise
