"""Errors of the params module."""

from __future__ import annotations

from runtime.errors import ModuleError


class ParamsError(ModuleError):
    MODULE = "params"


class UnknownParameter(ParamsError):
    """No parameter has that name."""


class ParameterOutOfRange(ParamsError):
    """The value is outside the parameter's bounds."""
