"""Errors of the consensus module's calls (a block that breaks a consensus rule raises InvalidBlock instead)."""

from __future__ import annotations

from runtime.errors import ModuleError


class ConsensusError(ModuleError):
    MODULE = "consensus"


class NotASessionKey(ConsensusError):
    """The signer is no registered session key: it has no hash chain to rotate."""


ERRORS = (
    NotASessionKey,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
