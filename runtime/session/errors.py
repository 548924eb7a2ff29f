"""Errors of the session module's calls."""

from __future__ import annotations

from runtime.errors import ModuleError


class SessionError(ModuleError):
    MODULE = "session"


class NotAValidator(SessionError):
    """The signer is no registered validator: register with `bonds.register_validator` first."""


class BadKeyProof(SessionError):
    """The proof is not the session key's ed25519 signature of "btt-session-keys" ++ the signer's account ++ the keys:
    a node gives it for a key it holds (`btt_sessionKeysProof`), so nobody registers a key it does not hold."""


class SameKeys(SessionError):
    """These are the validator's session keys already."""


ERRORS = (
    NotAValidator,
    BadKeyProof,
    SameKeys,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
