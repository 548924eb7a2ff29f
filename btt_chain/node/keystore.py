"""The node's keystore: the session keys it may sign blocks and finality votes with (Substrate's keystore).

A validator's session key is separate from its stash: the stash holds the bond and sets the keys on chain
(`session.set_keys`), the node holds the keys' secrets here and signs with whichever the chain's schedule names.
So a validator moves its signing to a new machine, or away from a leaked key, without touching its bond: the new
node makes a key (`author_rotateKeys`) or is given one (`btt-chain key insert`, `author_insertKey`), the stash sets
it, and from the epoch the chain says the new key signs and the old one is never asked again.

On disk: one file per key in `<base>/chains/<chain id>/keystore/`, named as Substrate names them (the key type's 4
bytes and the public key, in hex: `73657373` for `sess`), holding the key's 32-byte seed as a JSON string
`"0x..."`, written durably with mode 0600. The key given with `--key` is held in memory beside them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import DEV_NAMES, Keypair

KEY_TYPE = b"sess"
"""The one key type a btt node keeps: the session key (blocks and finality votes are both ed25519 signatures)."""
KEY_TYPES = (KEY_TYPE.decode(), "babe", "gran", "aura")
"""Key types `author_insertKey` and `key insert` take: Substrate's block and finality types name the same key here."""
DIRECTORY = "keystore"


def key_file_name(public: bytes) -> str:
    return KEY_TYPE.hex() + public.hex()


class Keystore:
    """The session keys of one node: those in its directory (None: in memory only) and `extra` (e.g. `--key`)."""

    def __init__(self, directory: Path | None, extra: Iterable[Keypair] = ()) -> None:
        self.directory = directory
        self._keys: dict[bytes, Keypair] = {}
        if directory is not None and directory.is_dir():
            for path in sorted(directory.iterdir()):
                pair = _read(path)
                if pair is not None:
                    self._keys[pair.public] = pair
        for pair in extra:
            self._keys[pair.public] = pair

    def __contains__(self, public: object) -> bool:
        return public in self._keys

    def __iter__(self) -> Iterator[Keypair]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, public: bytes | None) -> Keypair | None:
        return None if public is None else self._keys.get(public)

    def publics(self) -> list[bytes]:
        return list(self._keys)

    def generate(self) -> Keypair:
        """A new random session key, written to disk before it is returned (so a node that says it holds a key does,
        across a restart)."""
        pair = Keypair.generate()
        self.insert(pair)
        return pair

    def insert(self, pair: Keypair) -> None:
        if self.directory is not None:
            write_key(self.directory, pair)
        self._keys[pair.public] = pair


DEV_CHAIN_TYPES = ("development", "dev", "local")
"""Chain types (any case) on which a session key may derive from the public dev phrase."""


def session_keypair_from_suri(suri: str, chain_type: str, option: str = "--suri") -> Keypair:
    """The ed25519 session key of a secret URI (`//Alice`, "<words>//path", `0x<seed>`, or any of them after
    `ed25519:`), as `btt-chain key insert` and `author_insertKey` take it. A URI naming another scheme
    (`sr25519://Alice`) is refused for what it is, a key of the wrong scheme, and so is a scheme's name or a dev name
    written without its `:` or `//` (`sr25519//Alice`, `Alice`), before the secret URI parser would call them a phrase
    of one word. An empty URI, and on a chain whose `chain_type` is not a dev one any key of the public dev phrase
    (anyone could sign with it: blocks and votes in the validator's name, and the slashing for them), are refused.
    Errors start with `option` and never echo a phrase or password."""
    from btt_chain.primitives.derivation import parse_suri
    from btt_chain.primitives.mnemonic import is_dev_phrase, keypair_from_suri, split_scheme
    from btt_chain.primitives.signatures import ED25519, SCHEME_NAMES

    if not suri.strip():
        raise ConfigError(f"{option}: empty: give a secret URI (a recovery phrase, a 0x seed, or //Alice on a dev "
                          "chain)")
    try:
        named, rest = split_scheme(suri)
    except ConfigError as exc:
        raise ConfigError(f"{option}: {exc} (the name before the secret URI's ':')") from None
    if named is not None and named != ED25519:
        name = SCHEME_NAMES[named]
        raise ConfigError(f"{option}: a session key is ed25519 (block seals and finality votes are ed25519 "
                          f"signatures), and this secret URI names an {name} key ('{name}:'); drop the prefix to "
                          "derive the ed25519 key of the same URI (//Alice, or the phrase)")
    head = rest.split("/", 1)[0]
    if head.lower() in SCHEME_NAMES.values():
        raise ConfigError(f"{option}: '{head}' is a scheme's name, not a recovery phrase: a scheme comes first with "
                          f"a colon ({head}://Alice), and a session key is ed25519 (//Alice, or the phrase)")
    if head.lower() in DEV_NAMES:
        raise ConfigError(f"{option}: a dev key is a path on the dev phrase, written with two slashes: //{head}")
    try:
        dev = is_dev_phrase(parse_suri(rest))
        pair = keypair_from_suri(rest, ED25519)
    except ConfigError as exc:
        raise ConfigError(f"{option}: {exc}") from None
    if dev and chain_type.lower() not in DEV_CHAIN_TYPES:
        raise ConfigError(f"{option}: this key derives from the public dev phrase, so anyone can sign with it; a "
                          f"session key on a {chain_type} chain must be secret (author_rotateKeys makes one)")
    assert isinstance(pair, Keypair)
    return pair


def write_key(directory: Path, pair: Keypair) -> Path:
    """Write `pair` into the keystore `directory` (mode 0600, fsynced, the directory entry too)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / key_file_name(pair.public)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps("0x" + pair.seed.hex()).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def _read(path: Path) -> Keypair | None:
    """The key in a keystore file; None for a file of another key type (or a leftover `.tmp`); ConfigError, in one
    line, for a damaged one."""
    name = path.name
    if path.suffix == ".tmp" or not name.startswith(KEY_TYPE.hex()):
        return None
    try:
        text = json.loads(path.read_text())
        if not isinstance(text, str) or not text.startswith("0x"):
            raise ValueError("not a JSON string 0x...")
        pair = Keypair(bytes.fromhex(text[2:]))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError, ConfigError) as exc:
        raise ConfigError(f"keystore file {path} is unreadable ({exc}); remove it or restore it") from None
    if key_file_name(pair.public) != name:
        raise ConfigError(f"keystore file {path} holds the key 0x{pair.public.hex()}, not the one its name says")
    return pair
