"""Errors of the timestamp module: any of them makes the block that carries the inherent invalid."""

from __future__ import annotations

from runtime.errors import ModuleError


class TimestampError(ModuleError):
    MODULE = "timestamp"


class AlreadySet(TimestampError):
    """The timestamp was set already in this block (one `timestamp.set` per block)."""


class WrongTime(TimestampError):
    """`timestamp.set` must carry the start of the block's slot, the time its header states."""


ERRORS = (AlreadySet, WrongTime)
