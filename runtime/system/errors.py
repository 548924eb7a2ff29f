"""Errors of the system module: the ones every module may raise, defined in `runtime.errors`."""

from __future__ import annotations

from runtime.errors import BadArguments, BadOrigin, ModuleError, Overflow


class SystemModuleError(ModuleError):
    MODULE = "system"


class SpecNotNext(SystemModuleError):
    """Only the spec right after the one running may be scheduled (each upgrade runs its own migrations)."""


class UpgradeInThePast(SystemModuleError):
    """An upgrade takes effect at a block after this one."""


class UpgradeAlreadyScheduled(SystemModuleError):
    """An upgrade is scheduled already: cancel it first (`system.cancel_spec`)."""


class NoUpgradeScheduled(SystemModuleError):
    """No upgrade is scheduled."""


class UpgradeUnderWay(SystemModuleError):
    """The last upgrade's migrations are still running."""


ERRORS = (
    BadOrigin,
    BadArguments,
    Overflow,
    SpecNotNext,
    UpgradeInThePast,
    UpgradeAlreadyScheduled,
    NoUpgradeScheduled,
    UpgradeUnderWay,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
