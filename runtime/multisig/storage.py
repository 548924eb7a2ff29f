"""Storage of the multisig module."""

from __future__ import annotations

from collections.abc import Iterator

from btt_chain.primitives.codec import ACCOUNT, HASH, Nested
from runtime.overlay import Overlay

from ..items import StorageMap
from ..multisig.types import Pending

M = "multisig"

pending: StorageMap[Pending] = StorageMap(M, "pending", Nested(Pending), key_types=(ACCOUNT, HASH))
"""multisig account (32) | call hash (32) -> the approvals collected for that call."""


def pending_key(account: bytes, call_hash: bytes) -> bytes:
    return account + call_hash


def pending_of(state: Overlay, account: bytes) -> Iterator[tuple[bytes, Pending]]:
    """(call hash, pending) for every call awaiting approval by `account`."""
    prefix = pending.prefix + account
    for key, raw in state.iterate(prefix):
        yield key[len(prefix):], pending.codec.decode(raw)
