"""Errors of the treasury module."""

from __future__ import annotations

from runtime.errors import ModuleError


class TreasuryError(ModuleError):
    MODULE = "treasury"


class UnknownSource(TreasuryError):
    """Governance may spend only from ecosystem_fund or community_incentives."""


class InsufficientFunds(TreasuryError):
    """The module account holds less than the amount asked for."""


class WouldLeaveDust(TreasuryError):
    """The payment would leave the module account below the existential deposit without emptying it."""


class ZeroAmount(TreasuryError):
    """The amount must be above zero."""
