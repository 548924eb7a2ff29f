"""A session key's proof of possession as the tests make it: the key's ed25519 signature of "btt-session-keys" ++
account ++ key ++ commitment (`btt_chain.primitives.key_authorization.session_keys_ownership_message`), which
`session.set_keys` checks, and `bonds.register_validator` from spec 17 on. One place for every test that makes one."""

from __future__ import annotations

from btt_chain.primitives.key_authorization import session_keys_ownership_message
from btt_chain.primitives.keys import Keypair, dev_keypair


def _pair(key: str | Keypair) -> Keypair:
    return dev_keypair(key) if isinstance(key, str) else key


def _account(owner: str | bytes) -> bytes:
    return dev_keypair(owner).public if isinstance(owner, str) else owner


def possession_proof(key: str | Keypair, owner: str | bytes, commitment: bytes, named: bytes | None = None) -> bytes:
    """`key`'s (a dev name or a key pair) signature letting `owner` (a dev name or an account) sign with it, revealing
    from the hash chain that ends in `commitment`. `named`: the key the message names, when not `key` itself (a proof
    by another key, which the chain refuses)."""
    pair = _pair(key)
    return pair.sign(session_keys_ownership_message(_account(owner), named or pair.public, commitment))


def registration(key: str | Keypair, owner: str | bytes, commitment: bytes) -> tuple[bytes, bytes, bytes]:
    """`bonds.register_validator`'s arguments from spec 17 on, for `owner` to register `key`: the key, the commitment
    and the key's proof for `owner`."""
    pair = _pair(key)
    return pair.public, commitment, possession_proof(pair, owner, commitment)
