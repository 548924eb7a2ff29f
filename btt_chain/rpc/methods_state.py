"""Substrate's state methods that clients read storage and call runtime APIs with: `state_getKeysPaged`,
`state_getKeys`, `state_getPairs` (unsafe), `state_queryStorageAt`, `state_getStorageHash`, `state_getStorageSize`
and `state_call` (its runtime APIs are `btt_chain.rpc.runtime_api`). Each has a bounded cost: key pages of at most
MAX_KEYS_PAGE keys found by a seek, whole-prefix answers (`state_getKeys`, `state_getPairs`, a prefix's size)
refused past MAX_KEYS_PAGE keys, at most MAX_QUERY_KEYS keys per query, runtime calls whose work is bounded.

Shapes and names, aliases included: polkadot-sdk `substrate/client/rpc-api/src/state/mod.rs` (`StorageChangeSet
{block, changes}`; `state_getStorageHash` is the blake2_256 of the value, `state_getStorageSize` its length or,
for a key that holds no value, the sum of the values under it as a prefix; both null for nothing).
"""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.rpc import params as p
from btt_chain.rpc import virtual_storage
from btt_chain.rpc.at import reader_at
from btt_chain.rpc.errors import invalid_params
from btt_chain.rpc.paging import SeekableReader, bounded_scan
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from btt_chain.rpc.render import hex0x
from btt_chain.rpc.runtime_api import RUNTIME_CALLS

method = REGISTRY.method

MAX_KEYS_PAGE = 1000
"""Substrate's own bound on `state_getKeysPaged`'s count; also the most keys a whole-prefix answer covers."""
MAX_QUERY_KEYS = 1000
"""Keys one `state_queryStorageAt` reads."""
MAX_CALL_DATA = 64 * 1024 + 16
"""A runtime call's argument bytes: an extrinsic and its length at most."""


def page_count(value: Any, ctx: RpcContext) -> int:
    """A key page's `count`: 0 to MAX_KEYS_PAGE (Substrate's bound)."""
    if type(value) is not int or not 0 <= value <= MAX_KEYS_PAGE:
        raise invalid_params(f"count: expected an integer from 0 to {MAX_KEYS_PAGE}, got {value!r}")
    return value


def _query_keys(value: Any, ctx: RpcContext) -> list[bytes]:
    if not isinstance(value, list):
        raise invalid_params("keys: expected a list of 0x-hex storage keys")
    if len(value) > MAX_QUERY_KEYS:
        raise invalid_params(f"keys: at most {MAX_QUERY_KEYS} keys per query, got {len(value)}")
    return [p.storage_key(v, ctx) for v in value]


def _call_name(value: Any, ctx: RpcContext) -> str:
    if not isinstance(value, str) or len(value) > 128:
        raise invalid_params("method: expected a runtime API function name such as 'Metadata_metadata_versions'")
    return value


def _call_data(value: Any, ctx: RpcContext) -> bytes:
    """SCALE arguments as hex, with or without `0x` (Substrate's `Bytes`): `""` and `"0x"` are no arguments."""
    if isinstance(value, str) and not value.startswith(("0x", "0X")):
        value = "0x" + value
    return p.decode_hex(value, "data", max_len=MAX_CALL_DATA)


def page_keys(reader: SeekableReader, prefix: bytes, count: int, start_key: bytes | None) -> list[bytes]:
    """Up to `count` keys under `prefix` after `start_key` (not including it), in key order, found by a seek."""
    if start_key is not None and start_key > prefix and not start_key.startswith(prefix):
        return []  # a start past every key under the prefix
    after = start_key if start_key is not None and start_key.startswith(prefix) else None
    return [key for key, _ in bounded_scan(reader, prefix, count, after).items]


@method(
    "state_getKeysPaged",
    Param("prefix", p.storage_key),
    Param("count", page_count),
    optional("startKey", p.storage_key),
    optional("at", p.block_hash),
    aliases=("state_getKeysPagedAt",),
)
def state_get_keys_paged(
    ctx: RpcContext, prefix: bytes, count: int, start_key: bytes | None, at: bytes | None
) -> list[str]:
    """Up to `count` keys under `prefix` after `startKey` (not including it), in key order, at the block `at`."""
    reader: SeekableReader = reader_at(ctx, at)[2]  # type: ignore[assignment]
    return [hex0x(key) for key in page_keys(reader, prefix, count, start_key)]


def _whole_prefix(reader: Any, prefix: bytes, method_name: str) -> list[tuple[bytes, bytes]]:
    """Every (key, value) under `prefix` in `reader` (a block's state), or -32602 past MAX_KEYS_PAGE of them:
    Substrate answers these whole, however many there are, so the bound refuses rather than cuts."""
    scan = bounded_scan(reader, prefix, MAX_KEYS_PAGE)
    if scan.next is not None:
        raise invalid_params(f"{method_name}: more than {MAX_KEYS_PAGE} keys under prefix {hex0x(prefix)[:80]}: page "
                             "them with state_getKeysPaged")
    return scan.items


@method("state_getKeys", Param("prefix", p.storage_key), optional("at", p.block_hash))
def state_get_keys(ctx: RpcContext, prefix: bytes, at: bytes | None) -> list[str]:
    """Every key under `prefix` at the block `at`, in key order: at most MAX_KEYS_PAGE (1,000), a prefix with more
    is refused (Substrate deprecated this method for the same reason; `state_getKeysPaged` pages)."""
    return [hex0x(key) for key, _ in _whole_prefix(reader_at(ctx, at)[2], prefix, "state_getKeys")]


@method("state_getPairs", Param("prefix", p.storage_key), optional("at", p.block_hash), unsafe=True)
def state_get_pairs(ctx: RpcContext, prefix: bytes, at: bytes | None) -> list[list[str]]:
    """Every [key, value] under `prefix` at the block `at`: unsafe, as in Substrate, and bounded like
    `state_getKeys`."""
    pairs = _whole_prefix(reader_at(ctx, at)[2], prefix, "state_getPairs")
    return [[hex0x(key), hex0x(value)] for key, value in pairs]


@method("state_getStorageHash", Param("key", p.storage_key), optional("at", p.block_hash),
        aliases=("state_getStorageHashAt",))
def state_get_storage_hash(ctx: RpcContext, key: bytes, at: bytes | None) -> str | None:
    """The blake2_256 of the value at `key` in the block `at` (null for none), as `state_getStorage` serves it
    (virtual items such as `:code` and `System.Events` included)."""
    block_hash, _, reader = reader_at(ctx, at)
    value = virtual_storage.read(ctx.node.chain, reader, key, block_hash)
    return None if value is None else hex0x(blake2b_256(value))


@method("state_getStorageSize", Param("key", p.storage_key), optional("at", p.block_hash),
        aliases=("state_getStorageSizeAt",))
def state_get_storage_size(ctx: RpcContext, key: bytes, at: bytes | None) -> int | None:
    """The length of the value at `key` in the block `at`; for a key that holds none, the summed length of the values
    under it as a prefix (at most MAX_KEYS_PAGE of them, a prefix with more is refused, as Substrate's safe mode
    refuses a sum that takes too long); null for nothing."""
    block_hash, _, reader = reader_at(ctx, at)
    value = virtual_storage.read(ctx.node.chain, reader, key, block_hash)
    if value is not None:
        return len(value)
    total = sum(len(v) for _, v in _whole_prefix(reader, key, "state_getStorageSize"))
    return total or None


@method("state_queryStorageAt", Param("keys", _query_keys), optional("at", p.block_hash))
def state_query_storage_at(ctx: RpcContext, keys: list[bytes], at: bytes | None) -> list[dict[str, Any]]:
    """The values of `keys` at the block `at` (default the head) as one change set: [[key, value or null], ...]."""
    block_hash, _, reader = reader_at(ctx, at)
    changes = []
    for key in keys:
        value = virtual_storage.read(ctx.node.chain, reader, key, block_hash)
        changes.append([hex0x(key), None if value is None else hex0x(value)])
    return [{"block": hex0x(block_hash), "changes": changes}]


@method("state_call", Param("method", _call_name), Param("data", _call_data), optional("at", p.block_hash),
        aliases=("state_callAt",))
def state_call(ctx: RpcContext, name: str, data: bytes, at: bytes | None) -> str:
    """A runtime API function by Substrate's name, with SCALE arguments (hex, `0x` optional; empty for none); its
    SCALE result as 0x-hex."""
    fn = RUNTIME_CALLS.get(name)
    if fn is None:
        raise invalid_params(f"no runtime API function {name!r} (this node serves {', '.join(sorted(RUNTIME_CALLS))})")
    try:
        return hex0x(fn(ctx, data, at))
    except DecodeError as exc:
        raise invalid_params(f"{name}: bad arguments: {exc}") from None
