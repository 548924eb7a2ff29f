"""Errors of the multisig module."""

from __future__ import annotations

from runtime.errors import ModuleError


class MultisigError(ModuleError):
    MODULE = "multisig"


class ThresholdOutOfRange(MultisigError):
    """The threshold must be at least 2 and at most the number of signatories."""


class TooManySignatories(MultisigError):
    """More signatories than multisig.max_signatories allows."""


class SenderInSignatories(MultisigError):
    """List the other signatories only: the caller is a signatory already."""


class DuplicateSignatory(MultisigError):
    """A signatory is listed twice."""


class AlreadyApproved(MultisigError):
    """This signatory already approved this call."""


class NotFound(MultisigError):
    """No call with this hash awaits approval by this multisig."""


class NotOwner(MultisigError):
    """Only the first approver may cancel."""


class InvalidCall(MultisigError):
    """The call data is not a valid encoded call."""


class NestingTooDeep(MultisigError):
    """A multisig call inside a multisig execution may not execute another multisig call."""


ERRORS = (
    ThresholdOutOfRange,
    TooManySignatories,
    SenderInSignatories,
    DuplicateSignatory,
    AlreadyApproved,
    NotFound,
    NotOwner,
    InvalidCall,
    NestingTooDeep,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
