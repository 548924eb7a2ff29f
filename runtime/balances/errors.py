"""Errors of the balances module."""

from __future__ import annotations

from runtime.errors import ModuleError


class BalancesError(ModuleError):
    MODULE = "balances"


class InsufficientBalance(BalancesError):
    """The account's spendable balance is too low for this."""


class ExistentialDeposit(BalancesError):
    """The amount would create an account below the existential deposit."""


class KeepAlive(BalancesError):
    """The transfer would leave the sender below the existential deposit."""


class InsufficientReserved(BalancesError):
    """The account has less reserved balance than asked for."""


class ZeroAmount(BalancesError):
    """The amount must be above zero."""


class SelfTransfer(BalancesError):
    """An account cannot transfer to itself."""


ERRORS = (
    InsufficientBalance,
    ExistentialDeposit,
    KeepAlive,
    InsufficientReserved,
    ZeroAmount,
    SelfTransfer,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
