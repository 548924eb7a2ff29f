"""Storage of the payments module: payments and invoices by id, and per-account indexes of both.

The indexes let a wallet or the RPC list one account's records by reading that account's key range:
key = account (32 bytes) | id (u64, big-endian), value = the account's role bits in the record (types.py)."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, U8, U64, Nested

from ..items import ID_KEY, StorageMap, StorageValue, u64_from_key, u64_key
from ..payments.types import Invoice, Payment

M = "payments"

payments: StorageMap[Payment] = StorageMap(M, "payments", Nested(Payment), u64_key, u64_from_key)
"""Payment id -> record (kept for good: refunds and queries read it)."""
next_payment_id: StorageValue[int] = StorageValue(M, "next_payment_id", U64, default=1)

invoices: StorageMap[Invoice] = StorageMap(M, "invoices", Nested(Invoice), u64_key, u64_from_key)
"""Invoice id -> invoice, in every state (open, settled, cancelled)."""
next_invoice_id: StorageValue[int] = StorageValue(M, "next_invoice_id", U64, default=1)


def account_key(key: tuple[bytes, int]) -> bytes:
    """(account, id) -> account | id (u64): one account's entries share a prefix, in id order."""
    who, record_id = key
    return who + u64_key(record_id)


def account_from_key(raw: bytes) -> tuple[bytes, int]:
    return raw[:32], u64_from_key(raw[32:])


account_payments: StorageMap[int] = StorageMap(M, "account_payments", U8, account_key, account_from_key, default=0,
                                               key_types=(ACCOUNT, ID_KEY))
"""(account, payment id) -> role bits (PAYER, PAYEE) of the account in that payment."""

account_invoices: StorageMap[int] = StorageMap(M, "account_invoices", U8, account_key, account_from_key, default=0,
                                               key_types=(ACCOUNT, ID_KEY))
"""(account, invoice id) -> role bits (ISSUER, PAYEE, PAYER) of the account in that invoice."""
