"""PayFi rules: pay an account or an invoice with the payment fee on top, create and cancel invoices, refund.

Every operation checks first and writes last, so a refused call changes nothing even outside a snapshot.

Fee arithmetic, to the base unit (TOKENOMICS.md, "Fees and burns"):
    fee    = amount * payments.fee_bps // 10,000          (rounded down; paid by the payer on top of amount)
    burned = fee * payments.fee_burn_bps // 10,000        (rounded down; total issuance falls by exactly this)
    treasury share = fee - burned                         (to module_account("treasury"))
The payee receives `amount` exactly. A refund moves part or all of `amount` back, payee to payer, with no fee
of its own, and returns none of the fee: the fee paid for the settlement that happened.
"""

from __future__ import annotations

from collections.abc import Iterator

from btt_chain.primitives.accounts import module_account
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..balances import logic as balances
from ..balances.locks import get_current_account
from ..items import StorageMap, u64_from_key
from ..params.storage import get_param
from ..payments import errors, events, params, storage
from ..payments.types import (
    BPS,
    CANCELLED,
    INVOICE_STATES,
    ISSUER,
    NO_INVOICE,
    OPEN,
    PAYEE,
    PAYER,
    SETTLED,
    Invoice,
    Payment,
)
from ..system import storage as system

TREASURY = "treasury"


def compute_fee(amount: int, fee_bps: int, burn_bps: int) -> tuple[int, int]:
    """(fee, burned) of a payment of `amount`: both rounded down, so the payer never pays more than the rate."""
    fee = amount * fee_bps // BPS
    return fee, fee * burn_bps // BPS


def get_fee(state: Overlay, amount: int) -> tuple[int, int]:
    """(fee, burned) of a payment of `amount` at the current parameters."""
    return compute_fee(amount, get_param(state, params.FEE), get_param(state, params.FEE_BURN))


def _check_send(ctx: CallContext, source: bytes, dest: bytes, amount: int, charge: int) -> None:
    """Refuse unless `source` can spend `amount + charge` without being left holding dust, and `dest` ends up
    holding at least the existential deposit."""
    ed = ctx.param(balances.ED_PARAM)
    src = get_current_account(ctx, source)
    needed = amount + charge
    if src.spendable < needed:
        extra = f" ({amount} and a fee of {charge})" if charge else ""
        raise errors.InsufficientBalance(f"spendable {src.spendable}, needed {needed}{extra}")
    remaining = src.total - needed
    if 0 < remaining < ed:
        raise errors.KeepAlive(f"the sender would keep {remaining}, below the existential deposit {ed}")
    if system.account.get(ctx.state, dest).total + amount < ed:
        raise errors.ExistentialDeposit(f"the recipient would hold less than the existential deposit {ed}")


def _index(state: Overlay, index: StorageMap[int], who: bytes, record_id: int, role: int) -> None:
    """Add `role` to `who`'s entry for `record_id` in `index` (account_payments or account_invoices)."""
    key = (who, record_id)
    index.put(state, key, index.get(state, key) | role)


def pay(ctx: CallContext, payer: bytes, payee: bytes, amount: int, memo_hash: bytes,
        invoice_id: int = NO_INVOICE) -> Payment:
    """Pay `amount` to `payee` with the payment fee on top; record the payment and return it."""
    if amount == 0:
        raise errors.ZeroAmount()
    if payer == payee:
        raise errors.SelfPayment()
    fee, burned = get_fee(ctx.state, amount)
    _check_send(ctx, payer, payee, amount, fee)
    state = ctx.state
    payment = Payment(storage.next_payment_id.get(state), payer, payee, amount, fee, burned, 0, memo_hash,
                      ctx.env.number, invoice_id)
    # The fee goes through the payer's reserve: `slash_reserved` credits the treasury without the recipient's
    # existential-deposit minimum (the treasury starts empty and a fee share can be smaller than it), and a
    # reserved fee cannot be taken as dust by the transfer below.
    if fee:
        balances.reserve(ctx, payer, fee)
    balances.transfer(ctx, payer, payee, amount, keep_alive=False)
    if burned:
        balances.slash_reserved(ctx, payer, burned)
    if fee - burned:
        balances.slash_reserved(ctx, payer, fee - burned, module_account(TREASURY))
    storage.payments.put(state, payment.id, payment)
    storage.next_payment_id.put(state, payment.id + 1)
    _index(state, storage.account_payments, payer, payment.id, PAYER)
    _index(state, storage.account_payments, payee, payment.id, PAYEE)
    ctx.emit(events.Paid(payment.id, payer, payee, amount, fee, burned, memo_hash, invoice_id))
    return payment


def create_invoice(ctx: CallContext, issuer: bytes, payee: bytes, amount: int, due_ms: int, memo_hash: bytes) -> int:
    """Open an invoice of `amount` payable to `payee` by `due_ms` (absolute chain time); return its id."""
    if amount == 0:
        raise errors.ZeroAmount()
    now = ctx.env.timestamp_ms
    if due_ms <= now:
        raise errors.DueInPast(f"due at {due_ms} ms, but this block is at {now} ms")
    state = ctx.state
    invoice = Invoice(storage.next_invoice_id.get(state), issuer, payee, amount, due_ms, memo_hash, ctx.env.number)
    storage.invoices.put(state, invoice.id, invoice)
    storage.next_invoice_id.put(state, invoice.id + 1)
    _index(state, storage.account_invoices, issuer, invoice.id, ISSUER)
    _index(state, storage.account_invoices, payee, invoice.id, PAYEE)
    ctx.emit(events.InvoiceCreated(invoice.id, issuer, payee, amount, due_ms, memo_hash))
    return invoice.id


def get_open_invoice(ctx: CallContext, invoice_id: int) -> Invoice:
    invoice = storage.invoices.get(ctx.state, invoice_id)
    if invoice is None:
        raise errors.UnknownInvoice(f"no invoice {invoice_id}")
    if invoice.status != OPEN:
        raise errors.InvoiceNotOpen(f"invoice {invoice_id} is {INVOICE_STATES[invoice.status]}")
    return invoice


def pay_invoice(ctx: CallContext, payer: bytes, invoice_id: int) -> Payment:
    """Pay an open invoice (anyone but its payee may) and mark it settled in this block. A payment after the
    due time is accepted and recorded as late: the debt stands, and refusing would only make the issuer bill
    again."""
    invoice = get_open_invoice(ctx, invoice_id)
    payment = pay(ctx, payer, invoice.payee, invoice.amount, invoice.memo_hash, invoice.id)
    late = ctx.env.timestamp_ms > invoice.due_ms
    settled = invoice.replace(status=SETTLED, payment_id=payment.id, closed_block=ctx.env.number, late=late)
    storage.invoices.put(ctx.state, invoice.id, settled)
    _index(ctx.state, storage.account_invoices, payer, invoice.id, PAYER)
    ctx.emit(events.InvoiceSettled(invoice.id, payment.id, payer, late))
    return payment


def cancel_invoice(ctx: CallContext, who: bytes, invoice_id: int) -> None:
    """The issuer withdraws an open invoice."""
    invoice = get_open_invoice(ctx, invoice_id)
    if invoice.issuer != who:
        raise errors.NotIssuer()
    storage.invoices.put(ctx.state, invoice.id, invoice.replace(status=CANCELLED, closed_block=ctx.env.number))
    ctx.emit(events.InvoiceCancelled(invoice.id, who))


def refund(ctx: CallContext, who: bytes, payment_id: int, amount: int) -> None:
    """The payee returns `amount` of a payment to its payer: no fee, never more than is left unrefunded."""
    payment = storage.payments.get(ctx.state, payment_id)
    if payment is None:
        raise errors.UnknownPayment(f"no payment {payment_id}")
    if payment.payee != who:
        raise errors.NotPayee()
    if amount == 0:
        raise errors.ZeroAmount()
    if amount > payment.refundable:
        raise errors.RefundTooLarge(
            f"paid {payment.amount}, refunded {payment.refunded}: at most {payment.refundable} more"
        )
    _check_send(ctx, who, payment.payer, amount, 0)
    balances.transfer(ctx, who, payment.payer, amount, keep_alive=False)
    updated = payment.replace(refunded=payment.refunded + amount)
    storage.payments.put(ctx.state, payment.id, updated)
    ctx.emit(events.Refunded(payment.id, who, payment.payer, amount, updated.refunded))


# read helpers (RPC, wallets) ----------------------------------------------------------------------------


def get_invoice_index(state: Overlay, who: bytes) -> Iterator[tuple[int, int]]:
    """(invoice id, role bits) of `who`'s invoices (as issuer, payee or payer), oldest first. Reads only `who`'s
    index range, not the invoices."""
    return _entries(state, storage.account_invoices, who)


def get_payment_index(state: Overlay, who: bytes) -> Iterator[tuple[int, int]]:
    """(payment id, role bits) of `who`'s payments (as payer or payee), oldest first."""
    return _entries(state, storage.account_payments, who)


def get_invoices_of(state: Overlay, who: bytes) -> Iterator[tuple[Invoice, int]]:
    """`who`'s invoices with its role bits in each, oldest first."""
    for invoice_id, roles in get_invoice_index(state, who):
        yield storage.invoices.get(state, invoice_id), roles


def get_payments_of(state: Overlay, who: bytes) -> Iterator[tuple[Payment, int]]:
    """`who`'s payments with its role bits in each, oldest first."""
    for payment_id, roles in get_payment_index(state, who):
        yield storage.payments.get(state, payment_id), roles


def _entries(state: Overlay, index: StorageMap[int], who: bytes) -> Iterator[tuple[int, int]]:
    """(record id, role bits) of `who`'s entries in `index`, in id order."""
    prefix = index.prefix + who
    for key, raw in state.iterate(prefix):
        yield u64_from_key(key[len(prefix):]), index.codec.decode(raw)
