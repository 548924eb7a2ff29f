"""Events of the payments module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, HASH, U64
from runtime.events import Event


@dataclass(frozen=True)
class Paid(Event):
    """`payer` paid `amount` to `payee`, and `fee` on top: `burned` of it burned, the rest to the treasury."""

    MODULE: ClassVar[str] = "payments"
    payment_id: int
    payer: bytes
    payee: bytes
    amount: int
    fee: int
    burned: int
    memo_hash: bytes
    invoice_id: int
    """The invoice this payment settles; 0 for a direct payment."""
    WIRE = (
        ("payment_id", U64), ("payer", ACCOUNT), ("payee", ACCOUNT), ("amount", AMOUNT), ("fee", AMOUNT),
        ("burned", AMOUNT), ("memo_hash", HASH), ("invoice_id", U64),
    )


@dataclass(frozen=True)
class InvoiceCreated(Event):
    """`issuer` billed `amount`, to be paid to `payee` by `due_ms` (chain time)."""

    MODULE: ClassVar[str] = "payments"
    invoice_id: int
    issuer: bytes
    payee: bytes
    amount: int
    due_ms: int
    memo_hash: bytes
    WIRE = (
        ("invoice_id", U64), ("issuer", ACCOUNT), ("payee", ACCOUNT), ("amount", AMOUNT), ("due_ms", U64),
        ("memo_hash", HASH),
    )


@dataclass(frozen=True)
class InvoiceSettled(Event):
    """An invoice was paid by `payer` with payment `payment_id`, in this block; `late` if past its due time."""

    MODULE: ClassVar[str] = "payments"
    invoice_id: int
    payment_id: int
    payer: bytes
    late: bool
    WIRE = (("invoice_id", U64), ("payment_id", U64), ("payer", ACCOUNT), ("late", BOOL))


@dataclass(frozen=True)
class InvoiceCancelled(Event):
    """The issuer withdrew an open invoice; it can no longer be paid."""

    MODULE: ClassVar[str] = "payments"
    invoice_id: int
    issuer: bytes
    WIRE = (("invoice_id", U64), ("issuer", ACCOUNT))


@dataclass(frozen=True)
class Refunded(Event):
    """The payee returned `amount` of a payment to its payer (no fee); `refunded` is the total returned so far."""

    MODULE: ClassVar[str] = "payments"
    payment_id: int
    payee: bytes
    payer: bytes
    amount: int
    refunded: int
    WIRE = (
        ("payment_id", U64), ("payee", ACCOUNT), ("payer", ACCOUNT), ("amount", AMOUNT), ("refunded", AMOUNT),
    )


EVENTS = (
    Paid,
    InvoiceCreated,
    InvoiceSettled,
    InvoiceCancelled,
    Refunded,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
