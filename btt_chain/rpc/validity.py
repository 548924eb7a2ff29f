"""Whether an extrinsic can be included, as Substrate's `TransactionValidity` (what
`TaggedTransactionQueue_validate_transaction` returns, and in `system_dryRun` the error a client decodes):

    TransactionValidity      = Result<ValidTransaction, TransactionValidityError>      (Ok 0x00, Err 0x01)
    ValidTransaction         = priority: u64 ++ requires: Vec<Vec<u8>> ++ provides: Vec<Vec<u8>>
                               ++ longevity: u64 ++ propagate: bool
    TransactionValidityError = Invalid(InvalidTransaction) 0 | Unknown(UnknownTransaction) 1
    InvalidTransaction       = Call 0 | Payment 1 | Future 2 | Stale 3 | BadProof 4 | AncientBirthBlock 5
                             | ExhaustsResources 6 | Custom(u8) 7 | BadMandatory 8 | MandatoryValidation 9
                             | BadSigner 10
    UnknownTransaction       = CannotLookup 0 | NoUnsignedValidator 1 | Custom(u8) 2

`Invalid(...)` is chosen by the reason btt's checks give. A valid transaction's tags are FRAME's `CheckNonce` tags,
SCALE `(AccountId32, u32 nonce)`: it provides its own (sender, nonce) and requires (sender, nonce - 1) while its
nonce is ahead of the account's; its longevity is `CheckMortality`'s, the blocks left before its era ends.

Source: polkadot-sdk `substrate/primitives/runtime/src/transaction_validity.rs`,
`substrate/frame/system/src/extensions/check_nonce.rs` and `check_mortality.rs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from btt_chain.primitives import scale
from btt_chain.primitives.extrinsic import Era, Extrinsic

if TYPE_CHECKING:
    from runtime.executive import ValidTransaction

INVALID = 0
UNKNOWN = 1
CALL, PAYMENT, FUTURE, STALE, BAD_PROOF, ANCIENT_BIRTH_BLOCK, EXHAUSTS_RESOURCES = range(7)
BAD_SIGNER = 10
CANNOT_LOOKUP, NO_UNSIGNED_VALIDATOR = 0, 1
U64_MAX = 2**64 - 1

_BY_REASON: tuple[tuple[str, int], ...] = (
    ("bad signature", BAD_PROOF),
    ("stale nonce", STALE),
    ("future nonce", FUTURE),
    ("more than", FUTURE),  # a nonce too far ahead of the account's
    ("cannot pay", PAYMENT),
    ("born after block", ANCIENT_BIRTH_BLOCK),
    ("birth block", ANCIENT_BIRTH_BLOCK),
    ("limit reached", EXHAUSTS_RESOURCES),
    ("zero signer", BAD_SIGNER),
)
"""The start of btt's reason (lowercase) -> the InvalidTransaction variant; anything else is `Call`."""


def invalid_transaction_variant(reason: str) -> int:
    text = reason.lower()
    for needle, variant in _BY_REASON:
        if needle in text:
            return variant
    return CALL


def transaction_validity_error(exc: Exception) -> bytes:
    """SCALE `TransactionValidityError::Invalid(variant)` for the refusal `exc`."""
    return bytes((INVALID, invalid_transaction_variant(str(exc))))


def invalid(exc: Exception) -> bytes:
    """`TransactionValidity::Err(Invalid(...))` for the refusal `exc`."""
    return b"\x01" + transaction_validity_error(exc)


UNSIGNED = bytes((1, UNKNOWN, NO_UNSIGNED_VALIDATOR))
"""`Err(Unknown(NoUnsignedValidator))`: what FRAME answers for an unsigned extrinsic no pallet validates (btt's only
unsigned extrinsic is the block author's `timestamp.set` inherent, never a transaction)."""


CANNOT_LOOK_UP = bytes((1, UNKNOWN, CANNOT_LOOKUP))
"""`Err(Unknown(CannotLookup))`: the state the check needs is not at hand (a block whose state this node does not
keep: a side chain's, or one pruned)."""


def nonce_tag(sender: bytes, nonce: int) -> bytes:
    """FRAME's `CheckNonce` tag: SCALE `(AccountId32, u32)`."""
    return sender + scale.encode_uint(nonce, 4)


def longevity(era: Era, number: int) -> int:
    """The blocks from block `number` (the one the transaction would go in) until its era ends: `CheckMortality`'s
    `era.death(number) - number`, u64::MAX for an immortal era."""
    if era.immortal:
        return U64_MAX
    return max(era.birth(number) + era.period - number, 0)


def valid(xt: Extrinsic, checked: ValidTransaction, number: int) -> bytes:
    """`TransactionValidity::Ok(ValidTransaction)` of `xt`, as the check for block `number` found it."""
    requires = [nonce_tag(xt.signer, xt.nonce - 1)] if xt.nonce > checked.account_nonce else []
    provides = [nonce_tag(xt.signer, xt.nonce)]
    return b"".join((
        b"\x00", scale.encode_uint(min(checked.priority, U64_MAX), 8),
        scale.encode_vec([scale.encode_bytes(tag) for tag in requires]),
        scale.encode_vec([scale.encode_bytes(tag) for tag in provides]),
        scale.encode_uint(longevity(xt.era, number), 8), b"\x01",
    ))
