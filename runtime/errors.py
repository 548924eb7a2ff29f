"""Module errors: each module's errors.py subclasses ModuleError once per error, with a readable docstring."""

from __future__ import annotations

from typing import ClassVar

from btt_chain.primitives.errors import DispatchError


class ModuleError(DispatchError):
    """A runtime module refused a call."""

    MODULE: ClassVar[str] = "runtime"

    def __init__(self, detail: str = "") -> None:
        super().__init__(self.MODULE, type(self).__name__, detail or (self.__doc__ or "").strip())


class BadOrigin(ModuleError):
    """The call was made from an origin that may not make it."""

    MODULE = "system"


class BadArguments(ModuleError):
    """The call's arguments do not match its signature."""

    MODULE = "system"


class Overflow(ModuleError):
    """An amount would exceed the 128-bit range."""

    MODULE = "system"
