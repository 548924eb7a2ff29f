"""Errors of the bonds module."""

from __future__ import annotations

from runtime.errors import ModuleError


class BondsError(ModuleError):
    MODULE = "bonds"


class ZeroAmount(BondsError):
    """The amount must be above zero."""


class AlreadyBonded(BondsError):
    """This account already has a bond; use bond_extra to add to it."""


class NotBonded(BondsError):
    """This account has no bond."""


class InsufficientBond(BondsError):
    """The active bond is smaller than the amount asked for."""


class InsufficientUnlocking(BondsError):
    """Less is unbonding than the amount asked to rebond."""


class TooManyUnlockChunks(BondsError):
    """Too many unbonding chunks; withdraw or rebond first."""


class NothingToWithdraw(BondsError):
    """No unbonding chunk has matured yet."""


class BelowMinimum(BondsError):
    """The bond would fall below a minimum: the validator bond, or what open compute assignments hold."""


class AlreadyRegistered(BondsError):
    """This account is already a registered validator."""


class NotRegistered(BondsError):
    """This account is not a registered validator."""


class SessionKeyInUse(BondsError):
    """Another validator already uses this session key."""


class SessionKeyTaken(BondsError):
    """This session key signed for another account once: a key stays its first account's for good, so what it signed
    stays that account's. Make a new key (`author_rotateKeys`)."""


ERRORS = (
    ZeroAmount,
    AlreadyBonded,
    NotBonded,
    InsufficientBond,
    InsufficientUnlocking,
    TooManyUnlockChunks,
    NothingToWithdraw,
    BelowMinimum,
    AlreadyRegistered,
    NotRegistered,
    SessionKeyInUse,
    SessionKeyTaken,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
