"""Errors of the evidence module."""

from __future__ import annotations

from runtime.errors import ModuleError


class EvidenceError(ModuleError):
    MODULE = "evidence"


class InvalidEvidence(EvidenceError):
    """The evidence does not prove an offence (the detail says why)."""


class NotAValidator(EvidenceError):
    """The offender is not in the current validator set."""


class DuplicateReport(EvidenceError):
    """This offence was already reported and punished."""


ERRORS = (
    InvalidEvidence,
    NotAValidator,
    DuplicateReport,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
