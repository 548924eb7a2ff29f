"""RPC methods of PayFi payments, read at the head: `btt_invoices` (an account's invoices as issuer, payee or
payer), `btt_invoice` (one invoice), `btt_payments` (an account's payments as payer or payee) and
`btt_payment` (one payment). Lists read only the account's own index range, newest first.

Amounts are decimal strings of base units; accounts are SS58 addresses; hashes are 0x-hex (null for a zero
memo hash); times are chain milliseconds since the Unix epoch.
"""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.rpc import params as p
from btt_chain.rpc.at import state_view
from btt_chain.rpc.errors import invalid_params
from btt_chain.rpc.paging import bounded_scan, state_views, wire_index, wire_of
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from btt_chain.rpc.render import hex0x
from runtime.items import u64_from_key
from runtime.overlay import Overlay
from runtime.payments import logic, storage
from runtime.payments.types import (
    INVOICE_ROLES,
    INVOICE_STATES,
    NO_INVOICE,
    NO_PAYMENT,
    OPEN,
    PAYMENT_ROLES,
    Invoice,
    Payment,
    role_names,
)
from runtime.system import storage as system

method = REGISTRY.method

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
"""Invoices or payments per page."""
INVOICES_SCANNED = 1_000
"""Index entries `btt_invoices` reads per call when it filters by status (each invoice's status is read from its
stored form; only the listed invoices are decoded)."""


# parameters -----------------------------------------------------------------------------------------


def _record_id(value: Any, what: str) -> int:
    return p.u64_id(value, what)


def invoice_id(value: Any, ctx: RpcContext) -> int:
    return _record_id(value, "invoice id")


def payment_id(value: Any, ctx: RpcContext) -> int:
    return _record_id(value, "payment id")


def invoice_status(value: Any, ctx: RpcContext) -> int:
    if not isinstance(value, str) or value not in INVOICE_STATES:
        raise invalid_params(f"status: expected one of {', '.join(INVOICE_STATES)}, got {p.describe(value)}")
    return INVOICE_STATES.index(value)


def limit(value: Any, ctx: RpcContext) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise invalid_params(f"limit: expected an integer from 1 to {MAX_LIMIT}, got {p.describe(value)}")
    return value


# rendering ------------------------------------------------------------------------------------------


def _memo(memo_hash: bytes) -> str | None:
    return None if memo_hash == ZERO_HASH else hex0x(memo_hash)


def render_payment(pay: Payment, prefix: int) -> dict[str, Any]:
    return {
        "id": pay.id,
        "payer": encode_address(pay.payer, prefix),
        "payee": encode_address(pay.payee, prefix),
        "amount": str(pay.amount),
        "fee": str(pay.fee),
        "burned": str(pay.burned),
        "toTreasury": str(pay.fee - pay.burned),
        "refunded": str(pay.refunded),
        "refundable": str(pay.refundable),
        "memoHash": _memo(pay.memo_hash),
        "block": pay.block,
        "invoiceId": None if pay.invoice_id == NO_INVOICE else pay.invoice_id,
    }


def render_invoice(state: Overlay, inv: Invoice, prefix: int) -> dict[str, Any]:
    """The invoice; `payer` from its payment once settled, and `fee` / `burned`: what it cost (settled) or
    would cost at the current parameters (otherwise)."""
    pay = storage.payments.get(state, inv.payment_id) if inv.payment_id != NO_PAYMENT else None
    fee, burned = (pay.fee, pay.burned) if pay is not None else logic.get_fee(state, inv.amount)
    return {
        "id": inv.id,
        "issuer": encode_address(inv.issuer, prefix),
        "payee": encode_address(inv.payee, prefix),
        "amount": str(inv.amount),
        "dueMs": inv.due_ms,
        "memoHash": _memo(inv.memo_hash),
        "createdBlock": inv.created_block,
        "status": INVOICE_STATES[inv.status],
        "overdue": inv.status == OPEN and system.timestamp_ms.get(state) > inv.due_ms,
        "paymentId": pay.id if pay is not None else None,
        "payer": encode_address(pay.payer, prefix) if pay is not None else None,
        "closedBlock": inv.closed_block if inv.status != OPEN else None,
        "late": inv.late,
        "fee": str(fee),
        "burned": str(burned),
    }


# methods --------------------------------------------------------------------------------------------


@method(
    "btt_invoices",
    Param("account", p.account),
    optional("status", invoice_status),
    optional("limit", limit, DEFAULT_LIMIT),
    optional("at", p.block_hash),
    optional("before", invoice_id),
)
def btt_invoices(
    ctx: RpcContext, who: bytes, status: int | None, count: int, at: bytes | None, before: int | None
) -> list[dict[str, Any]]:
    """`account`'s invoices newest first with ids below `before` (default: all), as issuer, payee or payer
    (`roles`), optionally of one status; at most `limit` (default 50, at most 200). Read from the account's own
    index from `before` back (a seek): page on with the last id listed as `before`. With a status filter only the
    1,000 entries below `before` are read per call, so a short page is not the end: the unfiltered list pages
    through every entry."""
    reader, state = state_views(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    index = storage.account_invoices.prefix + who
    after = None if before is None else storage.account_invoices.key((who, before))
    budget = count if status is None else INVOICES_SCANNED
    out = []
    for key, raw in bounded_scan(reader, index, budget, after, reverse=True).items:
        iid = u64_from_key(key[len(index):])
        inv_raw = state.get(storage.invoices.key(iid))
        if inv_raw is None or (status is not None and wire_of(Invoice, inv_raw)[_STATUS] != status):
            continue
        roles = storage.account_invoices.codec.decode(raw)
        out.append({**render_invoice(state, storage.invoices.get(state, iid), prefix),
                    "roles": list(role_names(roles, INVOICE_ROLES))})
        if len(out) >= count:
            break
    return out


_STATUS = wire_index(Invoice, "status")


@method("btt_invoice", Param("id", invoice_id), optional("at", p.block_hash))
def btt_invoice(ctx: RpcContext, iid: int, at: bytes | None) -> dict[str, Any] | None:
    """One invoice, or null."""
    state = state_view(ctx, at)
    inv = storage.invoices.get(state, iid)
    return None if inv is None else render_invoice(state, inv, ctx.node.spec.ss58_prefix)


@method(
    "btt_payments",
    Param("account", p.account),
    optional("limit", limit, DEFAULT_LIMIT),
    optional("at", p.block_hash),
    optional("before", payment_id),
)
def btt_payments(
    ctx: RpcContext, who: bytes, count: int, at: bytes | None, before: int | None
) -> list[dict[str, Any]]:
    """`account`'s payments newest first with ids below `before` (default: all), as payer or payee (`roles`), with
    fee, burn and refunds; at most `limit` (default 50, at most 200), read from the account's own index from
    `before` back (a seek): page on with the last id listed as `before`."""
    reader, state = state_views(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    index = storage.account_payments.prefix + who
    after = None if before is None else storage.account_payments.key((who, before))
    out = []
    for key, raw in bounded_scan(reader, index, count, after, reverse=True).items:
        pay = storage.payments.get(state, u64_from_key(key[len(index):]))
        if pay is not None:
            roles = storage.account_payments.codec.decode(raw)
            out.append({**render_payment(pay, prefix), "roles": list(role_names(roles, PAYMENT_ROLES))})
    return out


@method("btt_payment", Param("id", payment_id), optional("at", p.block_hash))
def btt_payment(ctx: RpcContext, pid: int, at: bytes | None) -> dict[str, Any] | None:
    """One payment, or null."""
    pay = storage.payments.get(state_view(ctx, at), pid)
    return None if pay is None else render_payment(pay, ctx.node.spec.ss58_prefix)
