"""Substrate's state methods that clients read storage and call runtime APIs with: `state_getKeysPaged`,
`state_queryStorageAt`, `state_call`. Each has a bounded cost: key pages of at most MAX_KEYS_PAGE keys found by a
seek, at most MAX_QUERY_KEYS keys per query, runtime calls whose work is one read or one fee computation.

Shapes: polkadot-sdk `substrate/client/rpc-api/src/state/mod.rs` (`StorageChangeSet {block, changes}`), and the
runtime APIs' SCALE arguments and results as `sp_api::decl_runtime_apis!` declares them (`AccountNonceApi`,
`TransactionPaymentApi`, `Metadata`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from btt_chain.primitives import scale
from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic
from btt_chain.primitives.extrinsic import Extrinsic
from btt_chain.rpc import params as p
from btt_chain.rpc import virtual_storage
from btt_chain.rpc.at import reader_at, state_view
from btt_chain.rpc.errors import invalid_params
from btt_chain.rpc.paging import SeekableReader, bounded_scan
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from btt_chain.rpc.render import hex0x
from runtime.fees.logic import compute_fee
from runtime.modules import RUNTIME
from runtime.system import storage as system

method = REGISTRY.method

MAX_KEYS_PAGE = 1000
"""Substrate's own bound on `state_getKeysPaged`'s count."""
MAX_QUERY_KEYS = 1000
"""Keys one `state_queryStorageAt` reads."""
MAX_CALL_DATA = 64 * 1024 + 16
"""A runtime call's argument bytes: an extrinsic and its length at most."""


def _count(value: Any, ctx: RpcContext) -> int:
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
    return p.decode_hex(value, "data", max_len=MAX_CALL_DATA)


@method(
    "state_getKeysPaged",
    Param("prefix", p.storage_key),
    Param("count", _count),
    optional("startKey", p.storage_key),
    optional("at", p.block_hash),
    aliases=("state_getKeysPagedAt",),
)
def state_get_keys_paged(
    ctx: RpcContext, prefix: bytes, count: int, start_key: bytes | None, at: bytes | None
) -> list[str]:
    """Up to `count` keys under `prefix` after `startKey` (not including it), in key order, at the block `at`."""
    reader: SeekableReader = reader_at(ctx, at)[2]  # type: ignore[assignment]
    if start_key is not None and start_key > prefix and not start_key.startswith(prefix):
        return []  # a start past every key under the prefix
    after = start_key if start_key is not None and start_key.startswith(prefix) else None
    scan = bounded_scan(reader, prefix, count, after)
    return [hex0x(key) for key, _ in scan.items]


@method("state_queryStorageAt", Param("keys", _query_keys), optional("at", p.block_hash))
def state_query_storage_at(ctx: RpcContext, keys: list[bytes], at: bytes | None) -> list[dict[str, Any]]:
    """The values of `keys` at the block `at` (default the head) as one change set: [[key, value or null], ...]."""
    block_hash, _, reader = reader_at(ctx, at)
    changes = []
    for key in keys:
        value = virtual_storage.read(ctx.node.chain, reader, key, block_hash)
        changes.append([hex0x(key), None if value is None else hex0x(value)])
    return [{"block": hex0x(block_hash), "changes": changes}]


# runtime APIs -----------------------------------------------------------------------------------------------------

RuntimeCall = Callable[[RpcContext, bytes, bytes | None], bytes]
RUNTIME_CALLS: dict[str, RuntimeCall] = {}
"""`state_call` functions by Substrate's name (`<Api>_<function>`): (context, SCALE arguments, block) -> SCALE
result."""


def runtime_call(name: str) -> Callable[[RuntimeCall], RuntimeCall]:
    def register(fn: RuntimeCall) -> RuntimeCall:
        RUNTIME_CALLS[name] = fn
        return fn
    return register


@method("state_call", Param("method", _call_name), Param("data", _call_data), optional("at", p.block_hash),
        aliases=("state_callAt",))
def state_call(ctx: RpcContext, name: str, data: bytes, at: bytes | None) -> str:
    """A runtime API function by Substrate's name, with SCALE arguments; its SCALE result as 0x-hex."""
    fn = RUNTIME_CALLS.get(name)
    if fn is None:
        raise invalid_params(f"no runtime API function {name!r} (this node serves {', '.join(sorted(RUNTIME_CALLS))})")
    try:
        return hex0x(fn(ctx, data, at))
    except DecodeError as exc:
        raise invalid_params(f"{name}: bad arguments: {exc}") from None


@runtime_call("AccountNonceApi_account_nonce")
def account_nonce(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """The account's nonce in the state at `at` (u32), as FRAME's `AccountNonceApi` answers."""
    who = scale.decode_all(data, lambda d, i: scale.decode_fixed(d, i, 32), "account id")
    return system.account.get(state_view(ctx, at), who).nonce.to_bytes(4, "little")


@runtime_call("TransactionPaymentApi_query_info")
def query_info(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """`RuntimeDispatchInfo {weight: Weight {ref_time, proof_size} (compact), class, partial_fee: u128}` of an
    extrinsic (its SCALE encoding, then its length as u32)."""
    if len(data) < 4:
        raise DecodeError("expected an extrinsic and its length")
    encoded, length = data[:-4], int.from_bytes(data[-4:], "little")
    xt = Extrinsic.decode_checked(encoded)
    state = state_view(ctx, at)
    try:
        weight = RUNTIME.weight(state, RUNTIME.decode_call(xt.call))
    except InvalidExtrinsic as exc:
        raise DecodeError(str(exc)) from None
    fee = compute_fee(state, length, weight, xt.signer)
    return b"".join((
        scale.encode_compact(weight), scale.encode_compact(0), b"\x00", fee.inclusion_fee.to_bytes(16, "little"),
    ))


@runtime_call("Core_version")
def core_version(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """`RuntimeVersion` as SCALE: spec and impl names, authoring, spec and impl versions, the APIs, the transaction
    and state versions."""
    from btt_chain.rpc.methods import runtime_version

    scale.finish(data, 0, "arguments (Core_version takes none)")
    reader_at(ctx, at)
    version = runtime_version()
    apis = [bytes.fromhex(api_id[2:]) + ver.to_bytes(4, "little") for api_id, ver in version["apis"]]
    return b"".join((
        scale.encode_str(version["specName"]), scale.encode_str(version["implName"]),
        version["authoringVersion"].to_bytes(4, "little"), version["specVersion"].to_bytes(4, "little"),
        version["implVersion"].to_bytes(4, "little"), scale.encode_vec(apis),
        version["transactionVersion"].to_bytes(4, "little"), bytes([version["stateVersion"]]),
    ))


@runtime_call("Metadata_metadata")
def metadata(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """`OpaqueMetadata`: the V14 metadata as a `Vec<u8>`."""
    from btt_chain.rpc.methods import metadata_at

    scale.finish(data, 0, "arguments (Metadata_metadata takes none)")
    return scale.encode_bytes(metadata_at(ctx, at))


@runtime_call("Metadata_metadata_versions")
def metadata_versions(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """The metadata versions served: `Vec<u32>` [14]."""
    scale.finish(data, 0, "arguments (Metadata_metadata_versions takes none)")
    reader_at(ctx, at)
    return scale.encode_vec([version.to_bytes(4, "little") for version in METADATA_VERSIONS])


@runtime_call("Metadata_metadata_at_version")
def metadata_at_version(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """`Option<OpaqueMetadata>` of one version (a u32): Some for 14, None for any other."""
    from btt_chain.rpc.methods import metadata_at

    version = scale.decode_all(data, lambda d, i: scale.decode_uint(d, i, 4), "metadata version")
    if version not in METADATA_VERSIONS:
        reader_at(ctx, at)
        return scale.encode_option(None)
    return scale.encode_option(scale.encode_bytes(metadata_at(ctx, at)))


METADATA_VERSIONS = (14,)
