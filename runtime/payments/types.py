"""Types of the payments module: payment records, invoices and their states, the per-account index roles."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, HASH, U8, U64, Struct

BPS = 10_000
NO_INVOICE = 0
"""`Payment.invoice_id` of a direct payment: invoice ids start at 1."""
NO_PAYMENT = 0
"""`Invoice.payment_id` of an invoice not paid: payment ids start at 1."""

# invoice states
OPEN = 0
SETTLED = 1
CANCELLED = 2
INVOICE_STATES = ("open", "settled", "cancelled")

# roles in the per-account indexes (bit flags: one account may hold several roles in the same record)
ISSUER = 1
PAYEE = 2
PAYER = 4
INVOICE_ROLES = ((ISSUER, "issuer"), (PAYEE, "payee"), (PAYER, "payer"))
PAYMENT_ROLES = ((PAYER, "payer"), (PAYEE, "payee"))


def role_names(bits: int, roles: tuple[tuple[int, str], ...]) -> tuple[str, ...]:
    return tuple(name for bit, name in roles if bits & bit)


@dataclass(frozen=True)
class Payment(Struct):
    """One payment, direct or of an invoice. The fee was paid by the payer on top of `amount`."""

    id: int
    payer: bytes
    payee: bytes
    amount: int
    """What the payee received."""
    fee: int
    """The payment fee the payer paid on top: `burned` of it burned, the rest to the treasury."""
    burned: int
    refunded: int
    """What the payee has returned so far (never more than `amount`; refunds carry no fee)."""
    memo_hash: bytes
    """A hash of the off-chain memo (zero for none); the memo itself never goes on chain."""
    block: int
    """The block the payment (and the settlement of its invoice, if any) is in."""
    invoice_id: int = NO_INVOICE

    WIRE = (
        ("id", U64),
        ("payer", ACCOUNT),
        ("payee", ACCOUNT),
        ("amount", AMOUNT),
        ("fee", AMOUNT),
        ("burned", AMOUNT),
        ("refunded", AMOUNT),
        ("memo_hash", HASH),
        ("block", U64),
        ("invoice_id", U64),
    )

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded


@dataclass(frozen=True)
class Invoice(Struct):
    """A bill: the issuer asks for `amount` to be paid to `payee` (usually the issuer itself) by `due_ms`."""

    id: int
    issuer: bytes
    payee: bytes
    amount: int
    due_ms: int
    """Chain time (block timestamp, ms) it is due by. Paying later is allowed and recorded as late."""
    memo_hash: bytes
    created_block: int
    status: int = OPEN
    payment_id: int = NO_PAYMENT
    """The payment that settled it (settled only)."""
    closed_block: int = 0
    """The block it was settled or cancelled in (0 while open)."""
    late: bool = False
    """Settled by a block whose timestamp was past `due_ms`."""

    WIRE = (
        ("id", U64),
        ("issuer", ACCOUNT),
        ("payee", ACCOUNT),
        ("amount", AMOUNT),
        ("due_ms", U64),
        ("memo_hash", HASH),
        ("created_block", U64),
        ("status", U8),
        ("payment_id", U64),
        ("closed_block", U64),
        ("late", BOOL),
    )
