"""Errors of the roles module."""

from __future__ import annotations

from runtime.errors import ModuleError


class RolesError(ModuleError):
    MODULE = "roles"


class UnknownActivity(RolesError):
    """Not an activity type: preventive_visit, treatment_adherence, healthy_lifestyle or referral."""


class AlreadyVerifier(RolesError):
    """The account is an asset verifier already."""


class NotVerifier(RolesError):
    """The account is not an asset verifier."""


class AlreadyOracle(RolesError):
    """The account is a health oracle for that activity already."""


class NotOracle(RolesError):
    """The account is not a health oracle for that activity."""


class DuplicateRepresentative(RolesError):
    """An account appears more than once in the representatives list."""


class TooManyRepresentatives(RolesError):
    """The representatives list is longer than the house allows (100)."""


ERRORS = (
    UnknownActivity,
    AlreadyVerifier,
    NotVerifier,
    AlreadyOracle,
    NotOracle,
    DuplicateRepresentative,
    TooManyRepresentatives,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
