"""Errors of the params module."""

from __future__ import annotations

from runtime.errors import ModuleError


class ParamsError(ModuleError):
    MODULE = "params"


class UnknownParameter(ParamsError):
    """No parameter has that name."""


class ParameterOutOfRange(ParamsError):
    """The value is outside the parameter's bounds."""


class InvalidBounds(ParamsError):
    """The new range is empty (min above max) or, for a basis-point parameter, goes above 10,000."""


class BoundsExcludeValue(ParamsError):
    """The new range would not contain the parameter's current value: change the value first."""


class EmergencyTrackOnly(ParamsError):
    """This parameter is one of the seed's figures: only an emergency-track referendum may change it."""


class SharesMustSumToWhole(ParamsError):
    """This parameter splits a whole with others: change the group together with params.set_shares."""


ERRORS = (
    UnknownParameter,
    ParameterOutOfRange,
    InvalidBounds,
    BoundsExcludeValue,
    EmergencyTrackOnly,
    SharesMustSumToWhole,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
