"""Errors of the system module: the ones every module may raise, defined in `runtime.errors`."""

from __future__ import annotations

from runtime.errors import BadArguments, BadOrigin, Overflow

ERRORS = (
    BadOrigin,
    BadArguments,
    Overflow,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
