"""Substrate's session-key methods on the node's keystore (`btt_chain.node.keystore`), all unsafe (they make, reveal
or take keys; served only on loopback with `--rpc-methods unsafe`):

- `author_rotateKeys()`: a new session key in the keystore; returns its session keys as `session.set_keys` takes
  them (64 bytes of SCALE: the ed25519 key and the commitment of the hash chain it will reveal);
- `author_hasSessionKeys(keys)`, `author_hasKey(publicKey, keyType)`: whether the keystore holds the key;
- `author_insertKey(keyType, suri, publicKey)`: put a key into the keystore (the secret URI must give `publicKey`);
- `btt_sessionKeysProof(keys, owner)`: the proof `session.set_keys` wants: the session key's signature of
  "btt-session-keys" ++ the owner (the validator's stash) ++ the keys. Substrate's `set_keys` proof is empty for
  ed25519 keys; btt requires it, so nobody registers a key its node does not hold (`runtime.session.calls`).

Shapes: polkadot-sdk `substrate/client/rpc-api/src/author/mod.rs`.
"""

from __future__ import annotations

from typing import Any

from btt_chain.node.keystore import KEY_TYPES
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.mnemonic import keypair_from_suri
from btt_chain.rpc import params as p
from btt_chain.rpc.errors import RpcError, invalid_params
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext
from btt_chain.rpc.render import hex0x
from runtime.consensus import storage as consensus
from runtime.session.types import SessionKeys

method = REGISTRY.method

NOT_A_KEY = 5002
"""Substrate's `author` error for a key the keystore does not hold (`KeystoreUnavailable`-like)."""


def session_keys_for(ctx: RpcContext, pair: Keypair) -> SessionKeys:
    """`pair`'s session keys at the head: its key and the commitment of the hash chain it would reveal next (the
    chain's next generation for a key it has seen before, else the first)."""
    chain = ctx.node.chain
    seen = consensus.reveals.get(chain.state(), pair.public)
    generation = 0 if seen is None else seen.generation + 1
    return SessionKeys(pair.public, chain.hash_chain(pair, generation).commitment)


def _session_keys(value: Any, ctx: RpcContext) -> SessionKeys:
    raw = p.decode_hex(value, "keys", 64)
    return SessionKeys(raw[:32], raw[32:])


def _key_type(value: Any, ctx: RpcContext) -> str:
    if value not in KEY_TYPES:
        raise invalid_params(f"keyType: {value!r} is not one of {', '.join(KEY_TYPES)} (all name the session key)")
    return str(value)


def _suri(value: Any, ctx: RpcContext) -> str:
    if not isinstance(value, str) or not value:
        raise invalid_params("suri: expected a secret URI (a phrase, 0x-hex seed or //Dev path)")
    return value


def _public(value: Any, ctx: RpcContext) -> bytes:
    return p.decode_hex(value, "publicKey", 32)


@method("author_rotateKeys", unsafe=True)
def author_rotate_keys(ctx: RpcContext) -> str:
    """Make a new session key in the node's keystore and return its session keys (hex, 64 bytes) for
    `session.set_keys`; the node signs with it once the chain names it."""
    pair = ctx.node.keys.generate()
    return hex0x(session_keys_for(ctx, pair).encode())


@method("author_hasSessionKeys", Param("keys", _session_keys), unsafe=True)
def author_has_session_keys(ctx: RpcContext, keys: SessionKeys) -> bool:
    """Whether the keystore holds the key of these session keys (as `author_rotateKeys` returned them)."""
    return keys.session_key in ctx.node.keys


@method("author_hasKey", Param("publicKey", _public), Param("keyType", _key_type), unsafe=True)
def author_has_key(ctx: RpcContext, public: bytes, key_type: str) -> bool:
    """Whether the keystore holds this session key."""
    return public in ctx.node.keys


@method("author_insertKey", Param("keyType", _key_type), Param("suri", _suri), Param("publicKey", _public),
        unsafe=True)
def author_insert_key(ctx: RpcContext, key_type: str, suri: str, public: bytes) -> None:
    """Put the ed25519 key of `suri` into the keystore (written to disk); `publicKey` must be what it gives."""
    try:
        pair = keypair_from_suri(suri)
    except ConfigError as exc:
        raise invalid_params(f"suri: {exc}") from None
    if not isinstance(pair, Keypair) or pair.public != public:
        raise invalid_params(f"publicKey: the secret URI gives the ed25519 key {hex0x(pair.public)}, not "
                             f"{hex0x(public)}")
    ctx.node.keys.insert(pair)


@method("btt_sessionKeysProof", Param("keys", _session_keys), Param("owner", p.account), unsafe=True)
def btt_session_keys_proof(ctx: RpcContext, keys: SessionKeys, owner: bytes) -> str:
    """The proof `session.set_keys` wants from `owner` (the validator's stash) for these keys: their key's signature,
    made here, so only a node holding the key can give it."""
    pair = ctx.node.keys.get(keys.session_key)
    if pair is None:
        raise RpcError(NOT_A_KEY, f"this node's keystore does not hold the session key {hex0x(keys.session_key)}")
    return hex0x(pair.sign(keys.ownership_message(owner)))
