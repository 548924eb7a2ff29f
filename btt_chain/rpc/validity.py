"""Why an extrinsic cannot be included, as Substrate's `TransactionValidityError` (what `system_dryRun` returns and
what a client decodes): `Invalid(InvalidTransaction)` for what is wrong with the extrinsic itself, by the reason
btt's checks give.

    InvalidTransaction = Call 0 | Payment 1 | Future 2 | Stale 3 | BadProof 4 | AncientBirthBlock 5
                       | ExhaustsResources 6 | Custom(u8) 7 | BadMandatory 8 | MandatoryValidation 9 | BadSigner 10

Source: polkadot-sdk `substrate/primitives/runtime/src/transaction_validity.rs`.
"""

from __future__ import annotations

INVALID = 0
CALL, PAYMENT, FUTURE, STALE, BAD_PROOF, ANCIENT_BIRTH_BLOCK, EXHAUSTS_RESOURCES = range(7)
BAD_SIGNER = 10

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
