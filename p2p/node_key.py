"""The persistent ed25519 node identity and its libp2p peer id.

File format (JSON, mode 0600): {"type": "libp2p-ed25519", "seed": "<64 hex>", "peer_id": "12D3KooW..."}.
Peer ids are computed here without importing libp2p (which takes 1-2 s), so `btt-chain devnet` and
`btt-chain key generate-node-key` can print them cheaply; a test checks they equal libp2p's own.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import nacl.bindings
import nacl.signing

from btt_chain.primitives.errors import ConfigError

if TYPE_CHECKING:
    from libp2p.crypto.keys import KeyPair

log = logging.getLogger("btt.p2p")

KEY_FILE_TYPE = "libp2p-ed25519"
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@dataclass(frozen=True)
class NodeKey:
    """An ed25519 node identity: the seed, its public key and the libp2p peer id they give."""

    seed: bytes = field(repr=False)
    public: bytes = field(init=False)
    peer_id: str = field(init=False)

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise ConfigError("a node key seed must be 32 bytes")
        public = bytes(nacl.signing.SigningKey(self.seed).verify_key)
        object.__setattr__(self, "public", public)
        object.__setattr__(self, "peer_id", compute_peer_id(public))

    def libp2p_key_pair(self) -> KeyPair:
        """The same key as a libp2p KeyPair (imports libp2p)."""
        from libp2p.crypto.ed25519 import create_new_key_pair

        return create_new_key_pair(self.seed)


def compute_peer_id(public: bytes) -> str:
    """libp2p peer id of an ed25519 public key: base58(identity multihash(protobuf PublicKey{Ed25519, key}))."""
    if len(public) != 32:
        raise ConfigError("an ed25519 public key must be 32 bytes")
    protobuf_key = b"\x08\x01\x12\x20" + public  # field 1 Type=Ed25519(1), field 2 Data (32 bytes)
    multihash = bytes([0x00, len(protobuf_key)]) + protobuf_key  # identity hash: keys up to 42 bytes are inlined
    return _base58(multihash)


def _base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rem = divmod(number, 58)
        digits.append(_B58_ALPHABET[rem])
    leading_zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * leading_zeros + "".join(reversed(digits))


def _new_seed() -> bytes:
    # libp2p refuses seeds whose public key is not a valid (canonical, non-small-order) curve point.
    while True:
        seed = secrets.token_bytes(32)
        if nacl.bindings.crypto_core_ed25519_is_valid_point(bytes(nacl.signing.SigningKey(seed).verify_key)):
            return seed


def _write_new(path: Path, key: NodeKey) -> bool:
    """Write `key` to `path` atomically with mode 0600; False if `path` already exists (never overwrites)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"type": KEY_FILE_TYPE, "seed": key.seed.hex(), "peer_id": key.peer_id}, indent=2) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic and refuses to replace: two processes racing keep one key
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def load_node_key(path: Path) -> NodeKey:
    """Read a node key file; a clear ConfigError if it is missing or not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        seed = bytes.fromhex(data["seed"])
    except FileNotFoundError:
        raise ConfigError(f"node key file not found: {path}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a node key file: {exc}") from None
    except RecursionError:  # brackets nested deeper than the JSON parser goes
        raise ConfigError(f"{path} is not a node key file: nested too deeply") from None
    if not isinstance(data, dict) or data.get("type") != KEY_FILE_TYPE or len(seed) != 32:
        raise ConfigError(f"{path} is not an ed25519 node key file")
    key = NodeKey(seed)
    if "peer_id" in data and data["peer_id"] != key.peer_id:
        raise ConfigError(f"{path}: peer_id does not match the seed")
    if path.stat().st_mode & 0o077:
        log.warning("node key file %s is readable by other users (chmod 600 it)", path)
    return key


def load_or_create_node_key(path: Path) -> NodeKey:
    """The node key at `path`, created (mode 0600, parent directories too) if the file does not exist."""
    path = Path(path)
    if not path.exists():
        key = NodeKey(_new_seed())
        if _write_new(path, key):
            log.info("created node key %s (peer id %s)", path, key.peer_id)
            return key
    return load_node_key(path)


def generate_node_key(path: Path) -> NodeKey:
    """Create a new node key file at `path` for `btt-chain key generate-node-key`; refuses to overwrite one."""
    path = Path(path)
    key = NodeKey(_new_seed())
    if path.exists() or not _write_new(path, key):
        raise ConfigError(f"{path} already exists; not overwriting a node key")
    return key


def peer_id_from_key_file(path: Path) -> str:
    """The peer id of the node key file at `path` (without starting anything or importing libp2p)."""
    return load_node_key(path).peer_id
