"""Substrate's `childstate_` methods: btt's state has no child tries, so every child trie is empty and each method
answers as Substrate does for a child trie that holds nothing: no keys, no values, no hash, no size.

The parameters are checked as Substrate checks them: the child trie's key must be a `PrefixedStorageKey` of a
default child trie (`:child_storage:default:` ++ its id), the block (`at`) must be one the state methods serve, and
`childstate_getStorageEntries` takes at most MAX_QUERY_KEYS keys. Names and aliases: polkadot-sdk
`substrate/client/rpc-api/src/child_state/mod.rs`; answers: `substrate/client/rpc/src/state/state_full.rs`
(`ChildType::from_prefixed_key`).
"""

from __future__ import annotations

from typing import Any

from btt_chain.rpc import params as p
from btt_chain.rpc.at import reader_at
from btt_chain.rpc.errors import invalid_params
from btt_chain.rpc.methods_state import MAX_QUERY_KEYS, page_count
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional

method = REGISTRY.method

DEFAULT_CHILD_PREFIX = b":child_storage:default:"


def _child_key(value: Any, ctx: RpcContext) -> bytes:
    """A `PrefixedStorageKey` of a default child trie: `:child_storage:default:` ++ the trie's id."""
    key = p.decode_hex(value, "child storage key", max_len=p.MAX_STORAGE_KEY_BYTES)
    if not key.startswith(DEFAULT_CHILD_PREFIX):
        raise invalid_params("child storage key: not a default child trie's key (0x3a6368696c645f73746f726167653a"
                             "64656661756c743a, ':child_storage:default:', then the trie's id)")
    return key


def _keys(value: Any, ctx: RpcContext) -> list[bytes]:
    if not isinstance(value, list):
        raise invalid_params("keys: expected a list of 0x-hex storage keys")
    if len(value) > MAX_QUERY_KEYS:
        raise invalid_params(f"keys: at most {MAX_QUERY_KEYS} keys per query, got {len(value)}")
    return [p.storage_key(v, ctx) for v in value]


def _at(ctx: RpcContext, at: bytes | None) -> None:
    """Check the block as every state method does (an unknown or pruned block is an error)."""
    reader_at(ctx, at)


@method("childstate_getKeys", Param("childKey", _child_key), Param("prefix", p.storage_key),
        optional("at", p.block_hash))
def childstate_get_keys(ctx: RpcContext, child_key: bytes, prefix: bytes, at: bytes | None) -> list[str]:
    _at(ctx, at)
    return []


@method(
    "childstate_getKeysPaged",
    Param("childKey", _child_key),
    optional("prefix", p.storage_key),
    Param("count", page_count),
    optional("startKey", p.storage_key),
    optional("at", p.block_hash),
    aliases=("childstate_getKeysPagedAt",),
)
def childstate_get_keys_paged(ctx: RpcContext, child_key: bytes, prefix: bytes | None, count: int,
                              start_key: bytes | None, at: bytes | None) -> list[str]:
    _at(ctx, at)
    return []


@method("childstate_getStorage", Param("childKey", _child_key), Param("key", p.storage_key),
        optional("at", p.block_hash))
def childstate_get_storage(ctx: RpcContext, child_key: bytes, key: bytes, at: bytes | None) -> None:
    _at(ctx, at)
    return None


@method("childstate_getStorageEntries", Param("childKey", _child_key), Param("keys", _keys),
        optional("at", p.block_hash))
def childstate_get_storage_entries(ctx: RpcContext, child_key: bytes, keys: list[bytes],
                                   at: bytes | None) -> list[None]:
    _at(ctx, at)
    return [None] * len(keys)


@method("childstate_getStorageHash", Param("childKey", _child_key), Param("key", p.storage_key),
        optional("at", p.block_hash))
def childstate_get_storage_hash(ctx: RpcContext, child_key: bytes, key: bytes, at: bytes | None) -> None:
    _at(ctx, at)
    return None


@method("childstate_getStorageSize", Param("childKey", _child_key), Param("key", p.storage_key),
        optional("at", p.block_hash))
def childstate_get_storage_size(ctx: RpcContext, child_key: bytes, key: bytes, at: bytes | None) -> None:
    _at(ctx, at)
    return None
