"""Dispatchable calls of the payments module: signed origins only.

`pay` and `pay_invoice` charge the payment fee (`payments.fee_bps` of the amount) to the payer on top of the
amount; `payments.fee_burn_bps` of that fee is burned and the rest goes to the treasury (see logic.py).
Creating or cancelling an invoice and refunding cost only the inclusion fee.
"""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, U64
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import CallDef, ModuleDef

from ..payments import logic


def pay(ctx: CallContext, origin: Origin, to: bytes, amount: int, memo_hash: bytes) -> None:
    """Send `amount` to `to` with a memo hash (zero for none); the payment fee is paid on top."""
    logic.pay(ctx, ensure_signed(origin), to, amount, memo_hash)


def create_invoice(ctx: CallContext, origin: Origin, payee: bytes, amount: int, due_ms: int, memo_hash: bytes) -> None:
    """Bill `amount`, payable to `payee` (usually yourself) by `due_ms`, an absolute chain time in ms later than
    this block. The invoice gets the next id (see the InvoiceCreated event)."""
    logic.create_invoice(ctx, ensure_signed(origin), payee, amount, due_ms, memo_hash)


def pay_invoice(ctx: CallContext, origin: Origin, invoice_id: int) -> None:
    """Pay an open invoice (its amount, to its payee, fee on top); it is settled in this block. Paying after
    the due time is allowed and recorded as late."""
    logic.pay_invoice(ctx, ensure_signed(origin), invoice_id)


def cancel_invoice(ctx: CallContext, origin: Origin, invoice_id: int) -> None:
    """Withdraw an open invoice you issued."""
    logic.cancel_invoice(ctx, ensure_signed(origin), invoice_id)


def refund(ctx: CallContext, origin: Origin, payment_id: int, amount: int) -> None:
    """As the payee of a payment, return `amount` of it to the payer (no fee; at most what is not yet refunded;
    the payment fee is not returned)."""
    logic.refund(ctx, ensure_signed(origin), payment_id, amount)


_AMOUNT = ("amount", AMOUNT)
_MEMO = ("memo_hash", HASH)

MODULE = ModuleDef(
    index=15,
    name="payments",
    calls=(
        CallDef(0, "pay", (("to", ACCOUNT), _AMOUNT, _MEMO), 150, pay, pay.__doc__ or ""),
        CallDef(1, "create_invoice", (("payee", ACCOUNT), _AMOUNT, ("due_ms", U64), _MEMO), 100, create_invoice,
                create_invoice.__doc__ or ""),
        CallDef(2, "pay_invoice", (("invoice_id", U64),), 200, pay_invoice, pay_invoice.__doc__ or ""),
        CallDef(3, "cancel_invoice", (("invoice_id", U64),), 60, cancel_invoice, cancel_invoice.__doc__ or ""),
        CallDef(4, "refund", (("payment_id", U64), _AMOUNT), 120, refund, refund.__doc__ or ""),
    ),
)
