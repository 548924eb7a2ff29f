"""Errors of the payments module."""

from __future__ import annotations

from runtime.errors import ModuleError


class PaymentsError(ModuleError):
    MODULE = "payments"


class ZeroAmount(PaymentsError):
    """The amount must be above zero."""


class SelfPayment(PaymentsError):
    """An account cannot pay itself."""


class InsufficientBalance(PaymentsError):
    """The spendable balance does not cover the amount (and, for a payment, the payment fee on top)."""


class KeepAlive(PaymentsError):
    """The payment would leave the sender holding something, but less than the existential deposit."""


class ExistentialDeposit(PaymentsError):
    """The recipient would hold less than the existential deposit."""


class DueInPast(PaymentsError):
    """An invoice's due time must be later than the block it is created in."""


class UnknownInvoice(PaymentsError):
    """No invoice has that id."""


class InvoiceNotOpen(PaymentsError):
    """The invoice was settled or cancelled already."""


class NotIssuer(PaymentsError):
    """Only the account that created an invoice may cancel it."""


class UnknownPayment(PaymentsError):
    """No payment has that id."""


class NotPayee(PaymentsError):
    """Only the payee of a payment may refund it."""


class RefundTooLarge(PaymentsError):
    """A refund may return at most what was paid less what has been refunded already."""


ERRORS = (
    ZeroAmount,
    SelfPayment,
    InsufficientBalance,
    KeepAlive,
    ExistentialDeposit,
    DueInPast,
    UnknownInvoice,
    InvoiceNotOpen,
    NotIssuer,
    UnknownPayment,
    NotPayee,
    RefundTooLarge,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
