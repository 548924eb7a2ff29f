"""Events of the utility module: FRAME's, at FRAME's variant indices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from btt_chain.primitives.codec import U32, Nested
from runtime.events import Event

from ..system.dispatch_types import DispatchErrorValue


def named_error(out: dict[str, Any], error: DispatchErrorValue) -> dict[str, Any]:
    """`out` with the error by name as well (`balances.InsufficientBalance`; null for `Other`), as ExtrinsicFailed's."""
    from ..metadata.indices import error_name

    named = error_name(error.pallet, error.error) if error.variant else None
    out["error_name"] = None if named is None else f"{named[0]}.{named[1]}"
    return out


@dataclass(frozen=True)
class BatchInterrupted(Event):
    """A `batch` stopped at call `index`, which failed with `error`; the calls before it stay done."""

    MODULE: ClassVar[str] = "utility"
    index: int
    error: DispatchErrorValue
    WIRE = (("index", U32), ("error", Nested(DispatchErrorValue)))

    def to_json(self, render_account: Any) -> dict[str, Any]:
        return named_error(super().to_json(render_account), self.error)


@dataclass(frozen=True)
class BatchCompleted(Event):
    """Every call of the batch succeeded."""

    MODULE: ClassVar[str] = "utility"
    WIRE = ()


@dataclass(frozen=True)
class BatchCompletedWithErrors(Event):
    """A `force_batch` ran every call; some failed (each has its ItemFailed)."""

    MODULE: ClassVar[str] = "utility"
    WIRE = ()


@dataclass(frozen=True)
class ItemCompleted(Event):
    """One call of a batch succeeded."""

    MODULE: ClassVar[str] = "utility"
    WIRE = ()


@dataclass(frozen=True)
class ItemFailed(Event):
    """One call of a `force_batch` failed with `error` (its own writes undone)."""

    MODULE: ClassVar[str] = "utility"
    error: DispatchErrorValue
    WIRE = (("error", Nested(DispatchErrorValue)),)

    def to_json(self, render_account: Any) -> dict[str, Any]:
        return named_error(super().to_json(render_account), self.error)


EVENTS = (
    BatchInterrupted,
    BatchCompleted,
    BatchCompletedWithErrors,
    ItemCompleted,
    ItemFailed,
)
"""Fixed variant indices in the metadata (FRAME's 0-4): append only, never reorder or remove."""
