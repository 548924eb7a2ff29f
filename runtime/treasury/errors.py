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


class UnknownMilestone(TreasuryError):
    """No milestone burn of that name is in the genesis file."""


class MilestoneAlreadyExecuted(TreasuryError):
    """That milestone has been burned already (at genesis or by an earlier referendum); each burns once."""


class FoundationCannotCover(TreasuryError):
    """The Foundation allocation's locked, unapproved remainder is smaller than the milestone burn."""


ERRORS = (
    UnknownSource,
    InsufficientFunds,
    WouldLeaveDust,
    ZeroAmount,
    UnknownMilestone,
    MilestoneAlreadyExecuted,
    FoundationCannotCover,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
