"""The runtime APIs `state_call` answers, by Substrate's name (`<Api>_<function>`), with SCALE arguments and results
as `sp_api::decl_runtime_apis!` declares them. The APIs and their versions are `runtime.version.RUNTIME_APIS`.

| function | arguments | result |
|---|---|---|
| Core_version | none | RuntimeVersion |
| Metadata_metadata | none | OpaqueMetadata (Vec<u8>) |
| Metadata_metadata_versions | none | Vec<u32> ([14, 15]) |
| Metadata_metadata_at_version | u32 | Option<OpaqueMetadata> |
| AccountNonceApi_account_nonce | AccountId32 | u32 |
| TransactionPaymentApi_query_info | extrinsic, u32 length | RuntimeDispatchInfo |
| TransactionPaymentApi_query_fee_details | extrinsic, u32 length | FeeDetails |
| TransactionPaymentApi_query_weight_to_fee | Weight | u128 |
| TransactionPaymentApi_query_length_to_fee | u32 | u128 |
| TaggedTransactionQueue_validate_transaction | TransactionSource, extrinsic, block hash | TransactionValidity |

Metadata V15 (`runtime.metadata.apis`) lists each of these with its argument and result types; V14 stays what
`Metadata_metadata` and `state_getMetadata` serve (Subsquid decodes V14 at most).

Each answers for the runtime at the block `at` (`runtime_info`: the spec that runs the block's child), as Substrate
calls into the `:code` of that block's state: `Core_version` and the metadata are that spec's, fees are weighed by
its rules, and a transaction is checked by the executive of the block after `block_hash`. Every function's work is
bounded: one read, one fee computation, the metadata (built once per spec and set of figures), or one transaction
check (what admitting a transaction to the pool costs).
"""

from __future__ import annotations

from collections.abc import Callable

from btt_chain.primitives import scale
from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic
from btt_chain.primitives.extrinsic import Extrinsic, is_inherent_encoding
from btt_chain.rpc import fee_info, runtime_info, validity
from btt_chain.rpc.at import reader_at, state_view
from btt_chain.rpc.errors import RpcError, invalid_params, unknown_block
from btt_chain.rpc.registry import RpcContext
from runtime.context import BlockEnv
from runtime.overlay import Overlay
from runtime.specs import UnsupportedSpec
from runtime.system import storage as system

RuntimeCall = Callable[[RpcContext, bytes, bytes | None], bytes]
RUNTIME_CALLS: dict[str, RuntimeCall] = {}
"""`state_call` functions by Substrate's name: (context, SCALE arguments, block) -> SCALE result."""

TRANSACTION_SOURCES = ("InBlock", "Local", "External")
"""`sp_runtime::transaction_validity::TransactionSource`, by index (btt's check is the same for each)."""


def runtime_call(name: str) -> Callable[[RuntimeCall], RuntimeCall]:
    def register(fn: RuntimeCall) -> RuntimeCall:
        RUNTIME_CALLS[name] = fn
        return fn
    return register


def _no_arguments(data: bytes, name: str) -> None:
    scale.finish(data, 0, f"arguments ({name} takes none)")


def _metadata(ctx: RpcContext, at: bytes | None, version: int = 14) -> bytes:
    return runtime_info.metadata(state_view(ctx, at), ctx.node.spec.ss58_prefix, version)


def _fee(state: Overlay, length: int, weight: int) -> fee_info.FeeDetails:
    return fee_info.compute_fee(runtime_info.runtime_at(state), state, length, weight)


# Core, Metadata ---------------------------------------------------------------------------------------------------


@runtime_call("Core_version")
def core_version(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """`RuntimeVersion` of the runtime at `at` as SCALE (`runtime.version`)."""
    _no_arguments(data, "Core_version")
    encoded: bytes = runtime_info.version_of(runtime_info.runtime_at(state_view(ctx, at))).encode()
    return encoded


@runtime_call("Metadata_metadata")
def metadata(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """`OpaqueMetadata`: the V14 metadata as a `Vec<u8>`."""
    _no_arguments(data, "Metadata_metadata")
    return scale.encode_bytes(_metadata(ctx, at))


@runtime_call("Metadata_metadata_versions")
def metadata_versions(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """The metadata versions the runtime at `at` serves: `Vec<u32>` ([14, 15]; [14] for a spec from before V15)."""
    _no_arguments(data, "Metadata_metadata_versions")
    versions = runtime_info.metadata_versions(state_view(ctx, at))
    return scale.encode_vec([version.to_bytes(4, "little") for version in versions])


@runtime_call("Metadata_metadata_at_version")
def metadata_at_version(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """`Option<OpaqueMetadata>` of one version (a u32): Some for one of `Metadata_metadata_versions`, None for any
    other."""
    version = scale.decode_all(data, lambda d, i: scale.decode_uint(d, i, 4), "metadata version")
    if version not in runtime_info.metadata_versions(state_view(ctx, at)):
        return scale.encode_option(None)
    return scale.encode_option(scale.encode_bytes(_metadata(ctx, at, version)))


# AccountNonceApi, TransactionPaymentApi ---------------------------------------------------------------------------


@runtime_call("AccountNonceApi_account_nonce")
def account_nonce(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """The account's nonce in the state at `at` (u32), as FRAME's `AccountNonceApi` answers."""
    who = scale.decode_all(data, lambda d, i: scale.decode_fixed(d, i, 32), "account id")
    return system.account.get(state_view(ctx, at), who).nonce.to_bytes(4, "little")


def _extrinsic_and_length(data: bytes) -> tuple[bytes, int]:
    """`(uxt: Block::Extrinsic, len: u32)`: the extrinsic's encoding and the length to count."""
    if len(data) < 4:
        raise DecodeError("expected an extrinsic and its length")
    return data[:-4], int.from_bytes(data[-4:], "little")


@runtime_call("TransactionPaymentApi_query_info")
def query_info(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """`RuntimeDispatchInfo {weight: Weight {ref_time, proof_size} (compact), class, partial_fee: u128}` of an
    extrinsic; its signature is not checked (`fee_info`)."""
    encoded, length = _extrinsic_and_length(data)
    state = state_view(ctx, at)
    quote = fee_info.quote(state, encoded, length, runtime_info.runtime_at(state))
    return b"".join((
        scale.encode_compact(quote.weight), scale.encode_compact(0), b"\x00",
        scale.encode_uint(quote.fee.inclusion_fee, 16),
    ))


@runtime_call("TransactionPaymentApi_query_fee_details")
def query_fee_details(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """`FeeDetails {inclusion_fee: Option<InclusionFee {base_fee, len_fee, adjusted_weight_fee}>, tip}` (u128s;
    the tip 0, as FRAME's API leaves it); its signature is not checked (`fee_info`)."""
    encoded, length = _extrinsic_and_length(data)
    state = state_view(ctx, at)
    parts = fee_info.quote(state, encoded, length, runtime_info.runtime_at(state)).inclusion_parts
    inclusion = b"".join(scale.encode_uint(part, 16) for part in parts)
    return scale.encode_option(inclusion) + scale.encode_uint(0, 16)


@runtime_call("TransactionPaymentApi_query_weight_to_fee")
def query_weight_to_fee(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """The fee for a `Weight` (u128): its ref time at `fees.per_weight` (btt prices no proof size)."""
    ref_time, pos = scale.decode_compact(data, 0, 2**64 - 1)
    _, pos = scale.decode_compact(data, pos, 2**64 - 1)
    scale.finish(data, pos, "weight")
    return scale.encode_uint(_fee(state_view(ctx, at), 0, ref_time).weight_fee, 16)


@runtime_call("TransactionPaymentApi_query_length_to_fee")
def query_length_to_fee(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """The fee for an encoded length (a u32): the length at `fees.per_byte` (u128)."""
    length = scale.decode_all(data, lambda d, i: scale.decode_uint(d, i, 4), "length")
    return scale.encode_uint(_fee(state_view(ctx, at), length, 0).length_fee, 16)


# TaggedTransactionQueue -------------------------------------------------------------------------------------------


def _validate_arguments(data: bytes) -> tuple[bytes, bytes]:
    """`(source: TransactionSource, tx: Block::Extrinsic, block_hash: Block::Hash)` -> (extrinsic, block hash)."""
    if not data or data[0] >= len(TRANSACTION_SOURCES):
        raise DecodeError(f"expected a TransactionSource (0 to {len(TRANSACTION_SOURCES) - 1}) first")
    length, start = scale.decode_compact(data, 1, len(data))
    end = start + length
    if len(data) != end + 32:
        raise DecodeError("expected the extrinsic (with its length) and then the 32-byte block hash, nothing more")
    return data[1:end], data[end:]


@runtime_call("TaggedTransactionQueue_validate_transaction")
def validate_transaction(ctx: RpcContext, data: bytes, at: bytes | None) -> bytes:
    """`TransactionValidity` of an extrinsic as the next block after `block_hash` would see it, decided by the check
    that admits transactions to the pool (`author_submitExtrinsic`): the executive's `validate_transaction`, at the
    head through the node's own `Chain.validate_transaction`, at an earlier block on that block's state (any block
    the state methods serve; for a known block whose state is not kept, a side chain's or a pruned one,
    `Err(Unknown(CannotLookup))`: polkadot-api validates at every recent leaf and needs an answer, not an error).
    `at`, if given, must be `block_hash`. SCALE in `btt_chain.rpc.validity`."""
    encoded, block_hash = _validate_arguments(data)
    if at is not None and at != block_hash:
        raise invalid_params("TaggedTransactionQueue_validate_transaction: the block hash argument must be the block "
                             "the call runs at")
    if is_inherent_encoding(encoded):
        return validity.UNSIGNED
    xt = Extrinsic.decode_checked(encoded)
    chain = ctx.node.chain
    if chain.db.get_header(block_hash) is None:
        raise unknown_block(block_hash, chain.db.warp_base())
    try:
        if block_hash == chain.head_hash:
            number = chain.head.number + 1
            checked = chain.validate_transaction(xt, len(encoded))
        else:
            try:
                _, header, reader = reader_at(ctx, block_hash)
            except RpcError:
                return validity.CANNOT_LOOK_UP
            number, slot = header.number + 1, header.slot + 1
            env = BlockEnv(number, block_hash, slot, chain.clock.slot_start_ms(slot), bytes(32))
            checked = chain.executive_for(reader, number).validate_transaction(reader, env, xt, len(encoded))
    except InvalidExtrinsic as exc:
        return validity.invalid(exc)
    except UnsupportedSpec as exc:
        raise runtime_info.unsupported(exc) from None
    return validity.valid(xt, checked, number)
