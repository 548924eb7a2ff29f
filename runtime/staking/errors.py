"""Errors of the staking module."""

from __future__ import annotations

from runtime.errors import ModuleError


class StakingError(ModuleError):
    MODULE = "staking"


class UnknownTier(StakingError):
    """No staking tier has that name (tiers: 30d, 90d, 180d, 365d, 1095d)."""


class BelowMinimum(StakingError):
    """The amount is below the tier's minimum deposit."""


class UnknownDeposit(StakingError):
    """No open deposit has that id (it never existed or was already withdrawn)."""


class NotOwner(StakingError):
    """The deposit belongs to another account."""


class StillLocked(StakingError):
    """The deposit's lock has not ended; principal cannot be withdrawn before then."""


class NothingToClaim(StakingError):
    """The account has no fee share to claim."""


ERRORS = (
    UnknownTier,
    BelowMinimum,
    UnknownDeposit,
    NotOwner,
    StillLocked,
    NothingToClaim,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
