"""Errors of the utility module."""

from __future__ import annotations

from runtime.errors import ModuleError


class UtilityError(ModuleError):
    MODULE = "utility"


class TooManyCalls(UtilityError):
    """More calls in one batch than utility.max_calls allows."""


class CallWeightExceeded(UtilityError):
    """On the state it met, this call weighs more than what was left of the weight the batch paid for (a call before
    it changed what it works on)."""


ERRORS = (
    TooManyCalls,
    CallWeightExceeded,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove. TooManyCalls
is FRAME's index 0."""
