"""Resolving what users type: dev names and secret URIs (Substrate's), addresses, hex ids and key files.

- A dev name, alone or followed by a path (`alice`, `bob//stash`, `alice//0///pw`), is the secret URI `//Alice...`
  on the public dev phrase; so is anything starting with `//`. Keys from the dev phrase are accepted on dev chains
  only: anyone can compute them.
- Words before the first `/` (`"<12-24 words>//0///password"`), or a `0x` seed followed by a path, are a secret URI.
- A secret URI is an ed25519 key unless it starts with a scheme's name and a colon: `sr25519://Alice`,
  `ecdsa:alice//stash`, `sr25519:<words>/soft`, `sr25519:0x<seed>` (`ed25519:` may be written too). A key file
  holds its own scheme.
- An existing file is a key file (a bare dev name or `//` path wins over a file of that name); a path that does
  not exist (anything with `/`, `.`, `\\` or `~`, none of which an SS58 address holds) is said to be missing, not
  read as a malformed address.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from btt_chain.primitives.account_keys import AccountKey
from btt_chain.primitives.address import decode_address
from btt_chain.primitives.derivation import hard_junctions, parse_suri
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import DEV_NAMES, dev_name_uri
from btt_chain.primitives.signatures import ED25519, SCHEME_NAMES, SR25519
from cli.passwords import keyfile_account, open_keyfile

DEV_CHAIN_TYPES = ("Development", "Local")
_PATH_CHARS = "/\\.~"
"""Characters of a file path that are not in base58, so no address holds them."""


def secret_uri(text: str) -> str | None:
    """The secret URI `text` stands for, or None when it is not one (an address, hex id or key file)."""
    dev = dev_name_uri(text)
    if dev is not None:
        return dev
    if text.startswith("//"):
        return text
    head = text.split("/", 1)[0]
    if len(head.split()) > 1:
        return text
    if head.startswith("0x") and len(head) == 66 and "/" in text:
        return text
    return None


def scheme_and_uri(text: str, scheme: int | None = None) -> tuple[int, str | None]:
    """(scheme, secret URI) that `text` stands for: its own scheme prefix, else `scheme` (ed25519 when None), which a
    prefix may not contradict; the URI is None when `text` is not one (then it is an address, hex id or key file)."""
    from btt_chain.primitives.mnemonic import split_scheme

    try:
        named, rest = split_scheme(text)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (in {text.split('/', 1)[0]!r}...; no key file has that name)") from None
    if named is None:
        return (ED25519 if scheme is None else scheme), secret_uri(text)
    if scheme is not None and scheme != named:
        raise ConfigError(f"{text.split(':', 1)[0]}: contradicts --scheme {SCHEME_NAMES[scheme]}")
    uri = secret_uri(rest) or (rest if rest.startswith("0x") else None)
    if uri is None:
        raise ConfigError(f"after '{SCHEME_NAMES[named]}:' give a secret URI: a dev name or //path, \"<12-24 words>"
                          "//path\" or 0x<seed>")
    return named, uri


def looks_like_path(text: str) -> bool:
    return any(c in text for c in _PATH_CHARS)


def is_key_file(text: str) -> bool:
    """An existing file, and not a bare dev name or `//` path (which win over a file of that name)."""
    return text.lower() not in DEV_NAMES and not text.startswith("//") and Path(text).is_file()


def missing_key_file(text: str) -> ConfigError:
    """The error for a key file path that does not exist (with what `/soft` would mean as a secret URI), or that
    names a directory."""
    if text and Path(text).is_dir():
        return ConfigError(f"{text} is a directory, not a key file")
    hint = ""
    # `/soft` or `/Alice/soft`, not `/home/me/k.json`: its first directory does not exist either
    if text.startswith("/") and not text.startswith("//") and not Path("/" + text[1:].split("/")[0]).exists():
        try:
            soft = [j for j in parse_suri(text).junctions if not j.hard]
        except ConfigError:
            soft = []
        if soft:
            hint = (f"; as a secret URI, '/{soft[0].text}' is a soft junction, which ed25519 cannot derive: "
                    f"use '//{soft[0].text}'")
    return ConfigError(f"key file {text} does not exist{hint}")


def _keypair_from_uri(text: str, uri: str, scheme: int, chain_type: str) -> AccountKey:
    from btt_chain.primitives.mnemonic import is_dev_phrase, keypair_from_suri

    parsed = parse_suri(uri)
    if scheme != SR25519:
        hard_junctions(parsed.junctions, SCHEME_NAMES[scheme])
    if is_dev_phrase(parsed) and chain_type not in DEV_CHAIN_TYPES:
        label = text if parsed.phrase is None and parsed.password is None else str(parsed)
        raise ConfigError(f"dev account {label!r} is only accepted on dev chains (its key derives from the public "
                          f"dev phrase); this chain is {chain_type}")
    return keypair_from_suri(uri, scheme)


def check_key_scheme(held: int, scheme: int | None, text: str) -> None:
    """Refuse a key file `text` holding a key of scheme `held` where `scheme` (None: any) is asked for."""
    if scheme is not None and held != scheme:
        raise ConfigError(f"{text} holds an {SCHEME_NAMES[held]} key, not {SCHEME_NAMES[scheme]}")


def _open_keyfile(text: str, scheme: int | None) -> AccountKey:
    key = open_keyfile(Path(text))
    check_key_scheme(key.scheme, scheme, text)
    return key


def resolve_signer(text: str, chain_type: str, scheme: int | None = None) -> AccountKey:
    """A key from a dev name or dev path (`alice`, `//Alice//0`; dev chains only), a secret URI
    (`"<words>//path///password"`, `sr25519://Alice`: Substrate's derivation), or a key file. `scheme` is the
    scheme of a URI without a prefix (ed25519 when None), and the one a key file must hold (any when None)."""
    if is_key_file(text):
        return _open_keyfile(text, scheme)
    scheme_of_uri, uri = scheme_and_uri(text, scheme)
    if uri is not None:
        return _keypair_from_uri(text, uri, scheme_of_uri, chain_type)
    if not text:
        raise ConfigError("an empty value is not a key: give a dev name, a secret URI or a key file")
    if Path(text).exists() and not Path(text).is_dir():  # not a regular file: a pipe such as <(...)
        return _open_keyfile(text, scheme)
    if looks_like_path(text) or Path(text).is_dir():
        raise missing_key_file(text)
    if text.startswith("0x"):
        raise ConfigError(f"{text!r} is an account id, not a key: a signer needs a dev name, a secret URI or a key "
                          "file")
    raise ConfigError(f"{text!r} is neither a dev account name ({', '.join(DEV_NAMES)}), a secret URI nor a key "
                      "file")


def resolve_account(text: str, chain_type: str, ss58_prefix: int | None) -> bytes:
    """An account id from a dev name or path (dev chains only), a secret URI, an SS58 address, 0x-hex, or a key
    file."""
    if is_key_file(text):
        return keyfile_account(Path(text))
    scheme, uri = scheme_and_uri(text)
    if uri is not None:
        return _keypair_from_uri(text, uri, scheme, chain_type).account
    if text.startswith("0x"):
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            raise ConfigError(f"{text!r} is not valid hex") from None
        if len(raw) != 32:
            raise ConfigError(f"{text!r} is not a 32-byte account id")
        return raw
    try:
        return decode_address(text, ss58_prefix)
    except ConfigError as exc:
        if looks_like_path(text) or (text and Path(text).is_dir()):
            raise missing_key_file(text) from None
        if chain_type in DEV_CHAIN_TYPES and text.isalpha() and len(text) <= 16:
            close = difflib.get_close_matches(text.lower(), DEV_NAMES, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{exc}; {hint}dev accounts on this chain: {', '.join(DEV_NAMES)}") from None
        raise
