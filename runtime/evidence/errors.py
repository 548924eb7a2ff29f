"""Errors of the evidence module."""

from __future__ import annotations

from runtime.errors import ModuleError


class EvidenceError(ModuleError):
    MODULE = "evidence"


class InvalidEvidence(EvidenceError):
    """The evidence does not prove an offence (the detail says why), e.g. its items are signed by keys of two
    different accounts."""


class NotAValidator(EvidenceError):
    """A key that signed the evidence never signed for any account on this chain; a key authorization (the account's
    signed `session.set_keys` or `bonds.register_validator` naming it) can name its account."""


class DuplicateReport(EvidenceError):
    """This offence of this account was already reported and punished (whichever of its keys signed it)."""


class BadKeyAuthorization(EvidenceError):
    """A key authorization does not prove that its signer asked for the key to sign for it on this chain (it does not
    decode, its call is not set_keys or register_validator, a signature or proof fails), or it names no key of the
    evidence, or the authorizations are by two accounts."""


class OffenceTooOld(EvidenceError):
    """The offence is older than the evidence window (`bonds.evidence_window_ms`): it can no longer be punished."""


class NothingToSlash(EvidenceError):
    """The offending account holds nothing bonded or unlocking: there is nothing to slash."""


ERRORS = (
    InvalidEvidence,
    NotAValidator,
    DuplicateReport,
    BadKeyAuthorization,
    OffenceTooOld,
    NothingToSlash,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
