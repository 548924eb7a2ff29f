"""Substrate's session-key methods on the node's keystore (`btt_chain.node.keystore`), all unsafe (they make, reveal
or take keys; served only on loopback with `--rpc-methods unsafe`):

- `author_rotateKeys()`: a new session key in the keystore; returns its session keys as `session.set_keys` takes
  them (64 bytes of SCALE: the ed25519 key and the commitment of the hash chain it will reveal). The hash chain is
  `consensus.hash_chain_length` hashes (~0.45 s of CPU at 2**20, ~7 s at 2**24), built in a child process by the
  node's one `HashChainBuilder` (`btt_chain.node.hash_chain_builder`): the node authors and answers meanwhile; the
  call answers `Later`, and "busy" (-32001) at once, with no key made, while the builder's queue is full;
- `author_hasSessionKeys(keys)`, `author_hasKey(publicKey, keyType)`: whether the keystore holds the key;
- `author_insertKey(keyType, suri, publicKey)`: put a key into the keystore (the secret URI must give `publicKey`; one
  naming another scheme, `sr25519://...`, is refused as such, and on a live chain so is a key of the public dev phrase:
  `keystore.session_keypair_from_suri`);
  the key's hash chain is then built the same way before the answer (unless the builder is full), so the key's first
  block does not build it on the event loop;
- `btt_sessionKeysProof(keys, owner)`: the proof `session.set_keys` (and, from spec 17, `bonds.register_validator`)
  wants: the session key's signature of "btt-session-keys" ++ the owner (the validator's stash) ++ the keys.
  Substrate's `set_keys` proof is empty for ed25519 keys; btt requires it, so nobody registers a key its node does not
  hold (`runtime.session.calls`, `runtime.bonds.calls`). Given
  only for keys whose commitment ends the key's hash chain (built off the loop as above if not held yet), so
  `set-keys --keys` cannot set a key its node could never author with, and its first block finds the chain built;
- `btt_localSessionKeys()`: the keystore's keys, each with the validator account the chain gives it to, so
  `btt-chain set-keys` can refuse a node that already signs for another validator (one process signing for two).

Shapes: polkadot-sdk `substrate/client/rpc-api/src/author/mod.rs`.
"""

from __future__ import annotations

import logging
from typing import Any

from btt_chain.node.hash_chain_builder import BuilderBusy, BuildFailed, HashChainBuilder, builder_of
from btt_chain.node.keystore import KEY_TYPES, session_keypair_from_suri
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.hash_chain import cached_hash_chain
from btt_chain.primitives.keys import Keypair
from btt_chain.rpc import params as p
from btt_chain.rpc.errors import INTERNAL_ERROR, SERVER_BUSY, RpcError, invalid_params
from btt_chain.rpc.registry import REGISTRY, Later, Param, RpcContext
from btt_chain.rpc.render import hex0x
from runtime.consensus import storage as consensus
from runtime.session import storage as session
from runtime.session.types import SessionKeys

log = logging.getLogger("btt.rpc")

method = REGISTRY.method

NOT_A_KEY = 5002
"""Substrate's `author` error for a key the keystore does not hold (`KeystoreUnavailable`-like)."""


def next_generation(ctx: RpcContext, public: bytes) -> int:
    """The generation of the hash chain a key would start if set now (`consensus.set_commitment`): the first for a
    key the chain has not seen, else one more than its last."""
    seen = consensus.reveals.get(ctx.node.chain.state(), public)
    return 0 if seen is None else seen.generation + 1


def current_generation(ctx: RpcContext, public: bytes) -> int:
    """The generation of the hash chain the key reveals from now (the first for a key the chain has not seen)."""
    seen = consensus.reveals.get(ctx.node.chain.state(), public)
    return 0 if seen is None else seen.generation


def _busy(builder: HashChainBuilder) -> RpcError:
    return RpcError(SERVER_BUSY, f"busy: the node is building {builder.pending} session keys' hash chains; try again "
                                 "in a few seconds (nothing was made)")


async def _rotated(ctx: RpcContext, builder: HashChainBuilder, pair: Keypair, generation: int) -> str:
    """Build the new key's hash chain off the loop, then keep the key (on disk) and answer its session keys."""
    length = ctx.node.chain.genesis.spec.consensus.hash_chain_length
    try:
        chain = await builder.build(pair.seed, length, generation)
    except BuilderBusy:
        raise _busy(builder) from None
    except BuildFailed as exc:
        raise RpcError(INTERNAL_ERROR, f"{exc} (no key was made)") from None
    ctx.node.keys.insert(pair)  # only now: a refused or failed call leaves no key behind
    return hex0x(SessionKeys(pair.public, chain.commitment).encode())


async def _proved(ctx: RpcContext, builder: HashChainBuilder, pair: Keypair, keys: SessionKeys, owner: bytes,
                  generation: int) -> str:
    """Sign the ownership proof once the keys' commitment is found to end the key's hash chain of `generation`."""
    length = ctx.node.chain.genesis.spec.consensus.hash_chain_length
    try:
        chain = await builder.build(pair.seed, length, generation)  # at once if this process holds it
    except BuilderBusy:
        raise _busy(builder) from None
    except BuildFailed as exc:
        raise RpcError(INTERNAL_ERROR, str(exc)) from None
    if chain.commitment != keys.hash_chain_commitment:
        raise invalid_params(
            f"keys: the commitment {hex0x(keys.hash_chain_commitment)} does not end this key's hash chain "
            f"{generation} at consensus.hash_chain_length {length:,} (that ends in {hex0x(chain.commitment)}): its "
            "blocks could never reveal from it; ask author_rotateKeys for keys")
    return hex0x(pair.sign(keys.ownership_message(owner)))


async def _warmed(ctx: RpcContext, builder: HashChainBuilder, pair: Keypair) -> None:
    """Build the inserted key's current hash chain off the loop, so its first block finds it built."""
    length = ctx.node.chain.genesis.spec.consensus.hash_chain_length
    try:
        await builder.build(pair.seed, length, current_generation(ctx, pair.public))
    except (BuilderBusy, BuildFailed) as exc:  # the key is in: its first block builds the chain instead
        log.warning("session key 0x%s inserted; its hash chain was not built ahead: %s", pair.public.hex()[:16], exc)


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
def author_rotate_keys(ctx: RpcContext) -> Later:
    """Make a new session key in the node's keystore and return its session keys (hex, 64 bytes) for
    `session.set_keys`; the node signs with it once the chain names it. Its hash chain is built in a child process
    (one at a time; the node goes on meanwhile); -32001 "busy" at once, with nothing made, when three callers wait."""
    builder = builder_of(ctx.node)
    if not builder.has_room():
        raise _busy(builder)
    pair = Keypair.generate()
    return Later(_rotated(ctx, builder, pair, next_generation(ctx, pair.public)))


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
def author_insert_key(ctx: RpcContext, key_type: str, suri: str, public: bytes) -> Later | None:
    """Put the ed25519 key of `suri` into the keystore (written to disk); `publicKey` must be what it gives. Answers
    once the key's hash chain is built in a child process, or at once if the node's builder is full (then the key's
    first block builds it)."""
    try:
        pair = session_keypair_from_suri(suri, ctx.node.spec.chain_type, option="suri")
    except ConfigError as exc:
        raise invalid_params(str(exc)) from None
    if pair.public != public:
        raise invalid_params(f"publicKey: the secret URI gives the ed25519 key {hex0x(pair.public)}, not "
                             f"{hex0x(public)}")
    ctx.node.keys.insert(pair)
    builder = builder_of(ctx.node)
    return Later(_warmed(ctx, builder, pair)) if builder.has_room() else None


@method("btt_sessionKeysProof", Param("keys", _session_keys), Param("owner", p.account), unsafe=True)
def btt_session_keys_proof(ctx: RpcContext, keys: SessionKeys, owner: bytes) -> Later:
    """The proof `session.set_keys` wants from `owner` (the validator's stash) for these keys: their key's signature,
    made here, so only a node holding the key can give it. Given only when the keys' commitment ends the key's hash
    chain (the generation `set_keys` would start, at `consensus.hash_chain_length`), so no key is set that its node
    could never author with (-32602 naming `keys`); the chain is built in a child process as for
    `author_rotateKeys` if the node does not hold it yet (-32001 busy as there), and kept for the key's first block."""
    pair = ctx.node.keys.get(keys.session_key)
    if pair is None:
        raise RpcError(NOT_A_KEY, f"this node's keystore does not hold the session key {hex0x(keys.session_key)}")
    builder = builder_of(ctx.node)
    generation = next_generation(ctx, pair.public)
    length = ctx.node.chain.genesis.spec.consensus.hash_chain_length
    if cached_hash_chain(pair.seed, length, generation) is None and not builder.has_room():
        raise _busy(builder)
    return Later(_proved(ctx, builder, pair, keys, owner, generation))


@method("btt_localSessionKeys", unsafe=True)
def btt_local_session_keys(ctx: RpcContext) -> list[dict[str, Any]]:
    """The session keys this node may sign with (its keystore and `--key`), each with `account`: the validator
    account the chain at the head gives the key to (`session.owner_of_key`: a member of the active or queued set, a
    registration, or the account it signed for before), or null for a key the chain does not know. `btt-chain
    set-keys` asks it first and refuses a node that holds another validator's key. Cost: one owner look-up per key
    the keystore holds."""
    state = ctx.node.chain.state()
    prefix = ctx.node.spec.ss58_prefix
    out = []
    for public in ctx.node.keys.publics():
        owner = session.owner_of_key(state, public)
        out.append({"sessionKey": hex0x(public), "account": None if owner is None else encode_address(owner, prefix)})
    return out
