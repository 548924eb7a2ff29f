"""Errors of the incentives module."""

from __future__ import annotations

from runtime.errors import ModuleError


class IncentivesError(ModuleError):
    MODULE = "incentives"


class UnknownActivity(IncentivesError):
    """Not an activity type: preventive_visit, treatment_adherence, healthy_lifestyle or referral."""


class NotOracle(IncentivesError):
    """Only a health oracle appointed by governance for that activity type may attest it."""


class SelfAttestation(IncentivesError):
    """An oracle may not attest an activity of its own account."""


class EvidenceUsed(IncentivesError):
    """That evidence hash has been rewarded already; each evidence hash is rewarded once, for any patient."""


class ActivityNotRewarded(IncentivesError):
    """Governance set the points of that activity type to zero; nothing can be attested for it now."""


class ZeroPoints(IncentivesError):
    """The number of points to redeem must be above zero."""


class InsufficientPoints(IncentivesError):
    """The patient holds fewer points than it asked to redeem."""


class RedeemDisabled(IncentivesError):
    """The redeem rate is zero: points buy no BTT now."""


class OverEpochCap(IncentivesError):
    """The request would be worth more than one patient may redeem in one epoch (its per-patient cap)."""


class RequestTableFull(IncentivesError):
    """This epoch holds the most redemption requests it may, and your home oracle's patients hold about as many
    as any oracle's (a full table admits a patient only in place of a group two rows larger); ask again in the
    next epoch."""


ERRORS = (
    UnknownActivity,
    NotOracle,
    SelfAttestation,
    EvidenceUsed,
    ActivityNotRewarded,
    ZeroPoints,
    InsufficientPoints,
    RedeemDisabled,
    OverEpochCap,
    RequestTableFull,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
