"""The FRAME types the runtime APIs take and return, with FRAME's paths, fields and variant indices, for metadata V15's
`apis` (`runtime.metadata.apis`).

Each is what the node's `state_call` encodes (`btt_chain.rpc.runtime_api`, `btt_chain.rpc.validity`) and what a
client decodes the answer with: dedot and polkadot-api read these types from the metadata, not from their own
definitions. Sources: polkadot-sdk `substrate/frame/transaction-payment/src/types.rs` (`RuntimeDispatchInfo`,
`FeeDetails`, `InclusionFee`), `substrate/primitives/runtime/src/transaction_validity.rs` (`TransactionSource`,
`ValidTransaction`, `TransactionValidityError`, `InvalidTransaction` with its 13 variants, `UnknownTransaction`),
`substrate/primitives/core/src/lib.rs` (`OpaqueMetadata`); scale-info's `Result<T, E>` (Ok 0, Err 1).
"""

from __future__ import annotations

from ..metadata import frame_types
from ..metadata.registry import Composite, FieldInfo, Registry, TypeInfo, TypeParam, Variant, VariantInfo

PAYMENT_TYPES = "pallet_transaction_payment::types"
VALIDITY = "sp_runtime::transaction_validity"


def _path(key: str) -> tuple[str, ...]:
    return tuple(key.split("::"))


def balance(reg: Registry) -> int:
    """FRAME's `Balance` here: u128."""
    return reg.primitive("u128")


def opaque_metadata(reg: Registry) -> int:
    """`sp_core::OpaqueMetadata(Vec<u8>)`: the metadata's bytes with their length."""
    key = "sp_core::OpaqueMetadata"
    return reg.named(key, lambda: TypeInfo(Composite((FieldInfo(reg.byte_vec(), type_name="Vec<u8>"),)), _path(key)))


def option_opaque_metadata(reg: Registry) -> int:
    return frame_types.option(reg, opaque_metadata(reg))


def metadata_versions(reg: Registry) -> int:
    """`Vec<u32>`."""
    return reg.sequence(reg.primitive("u32"))


def _generic(reg: Registry, key: str, fields: tuple[FieldInfo, ...], params: tuple[TypeParam, ...]) -> int:
    return reg.named(key, lambda: TypeInfo(Composite(fields), _path(key), params))


def runtime_dispatch_info(reg: Registry) -> int:
    """`RuntimeDispatchInfo<u128, Weight> {weight, class, partial_fee}`: `query_info`'s answer."""
    weight, amount = frame_types.weight(reg), balance(reg)
    return _generic(reg, f"{PAYMENT_TYPES}::RuntimeDispatchInfo", (
        FieldInfo(weight, "weight", "Weight"),
        FieldInfo(frame_types.dispatch_class(reg), "class", "DispatchClass"),
        FieldInfo(amount, "partial_fee", "Balance"),
    ), (TypeParam("Balance", amount), TypeParam("Weight", weight)))


def inclusion_fee(reg: Registry) -> int:
    """`InclusionFee<u128> {base_fee, len_fee, adjusted_weight_fee}`."""
    amount = balance(reg)
    return _generic(reg, f"{PAYMENT_TYPES}::InclusionFee", tuple(
        FieldInfo(amount, name, "Balance") for name in ("base_fee", "len_fee", "adjusted_weight_fee")
    ), (TypeParam("Balance", amount),))


def fee_details(reg: Registry) -> int:
    """`FeeDetails<u128> {inclusion_fee: Option<InclusionFee>, tip}`: `query_fee_details`' answer."""
    amount = balance(reg)
    optional = frame_types.option(reg, inclusion_fee(reg))
    return _generic(reg, f"{PAYMENT_TYPES}::FeeDetails", (
        FieldInfo(optional, "inclusion_fee", "Option<InclusionFee<Balance>>"),
        FieldInfo(amount, "tip", "Balance"),
    ), (TypeParam("Balance", amount),))


def _enum(reg: Registry, key: str, variants: tuple[VariantInfo, ...]) -> int:
    return reg.named(key, lambda: TypeInfo(Variant(variants), _path(key)))


def transaction_source(reg: Registry) -> int:
    """`TransactionSource`: InBlock 0, Local 1, External 2."""
    return _enum(reg, f"{VALIDITY}::TransactionSource", tuple(
        VariantInfo(name, i) for i, name in enumerate(("InBlock", "Local", "External"))))


INVALID_TRANSACTION = (
    "Call", "Payment", "Future", "Stale", "BadProof", "AncientBirthBlock", "ExhaustsResources", "Custom",
    "BadMandatory", "MandatoryValidation", "BadSigner", "IndeterminateImplicit", "UnknownOrigin",
)
"""`InvalidTransaction`'s variants by index; `Custom` (7) holds a u8."""
UNKNOWN_TRANSACTION = ("CannotLookup", "NoUnsignedValidator", "Custom")
"""`UnknownTransaction`'s variants by index; `Custom` (2) holds a u8."""


def _with_custom(reg: Registry, key: str, names: tuple[str, ...]) -> int:
    u8 = FieldInfo(reg.primitive("u8"), type_name="u8")
    return _enum(reg, key, tuple(
        VariantInfo(name, i, (u8,) if name == "Custom" else ()) for i, name in enumerate(names)))


def transaction_validity_error(reg: Registry) -> int:
    """`TransactionValidityError`: Invalid(InvalidTransaction) 0, Unknown(UnknownTransaction) 1."""
    invalid = _with_custom(reg, f"{VALIDITY}::InvalidTransaction", INVALID_TRANSACTION)
    unknown = _with_custom(reg, f"{VALIDITY}::UnknownTransaction", UNKNOWN_TRANSACTION)
    return _enum(reg, f"{VALIDITY}::TransactionValidityError", (
        VariantInfo("Invalid", 0, (FieldInfo(invalid, type_name="InvalidTransaction"),)),
        VariantInfo("Unknown", 1, (FieldInfo(unknown, type_name="UnknownTransaction"),)),
    ))


def valid_transaction(reg: Registry) -> int:
    """`ValidTransaction {priority: u64, requires, provides: Vec<Vec<u8>>, longevity: u64, propagate: bool}`."""
    u64 = reg.primitive("u64")
    tags = reg.sequence(reg.byte_vec())
    key = f"{VALIDITY}::ValidTransaction"
    return reg.named(key, lambda: TypeInfo(Composite((
        FieldInfo(u64, "priority", "TransactionPriority"),
        FieldInfo(tags, "requires", "Vec<TransactionTag>"),
        FieldInfo(tags, "provides", "Vec<TransactionTag>"),
        FieldInfo(u64, "longevity", "TransactionLongevity"),
        FieldInfo(reg.primitive("bool"), "propagate", "bool"),
    )), _path(key)))


def transaction_validity(reg: Registry) -> int:
    """`TransactionValidity = Result<ValidTransaction, TransactionValidityError>`: Ok 0, Err 1."""
    ok, err = valid_transaction(reg), transaction_validity_error(reg)
    return reg.add(TypeInfo(Variant((
        VariantInfo("Ok", 0, (FieldInfo(ok, type_name="T"),)),
        VariantInfo("Err", 1, (FieldInfo(err, type_name="E"),)),
    )), ("Result",), (TypeParam("T", ok), TypeParam("E", err))))
