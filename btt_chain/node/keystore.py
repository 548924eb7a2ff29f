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
from btt_chain.primitives.keys import Keypair

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
