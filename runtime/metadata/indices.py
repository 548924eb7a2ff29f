"""Fixed indices of events and errors, as the metadata gives them: what `System.Events` and a `DispatchError`
carry on the wire.

    event           = pallet index u8 ++ variant index u8 ++ SCALE(fields)         (`event_index`)
    module error    = 0x03 ++ pallet index u8 ++ [error index, 0, 0, 0]             (`error_index`)

The tables are those of the assembled runtime (`runtime.modules.RUNTIME`), built on first use.
"""

from __future__ import annotations

from functools import cache

from runtime.events import Event

from ..metadata.catalog import pallet_sources


@cache
def _tables() -> tuple[dict[type[Event], tuple[int, int]], dict[tuple[str, str], tuple[int, int]]]:
    from ..modules import RUNTIME  # the runtime imports its modules, which may import this one

    events: dict[type[Event], tuple[int, int]] = {}
    errors: dict[tuple[str, str], tuple[int, int]] = {}
    for pallet in pallet_sources(RUNTIME):
        for i, event in enumerate(pallet.events):
            events[event] = (pallet.index, i)
        for i, error in enumerate(pallet.errors):
            errors[(pallet.module, error.__name__)] = (pallet.index, i)
    return events, errors


def event_index(event: Event | type[Event]) -> tuple[int, int]:
    """(pallet index, variant index) of an event (or event class). KeyError for an event in no `EVENTS` tuple."""
    cls = event if isinstance(event, type) else type(event)
    try:
        return _tables()[0][cls]
    except KeyError:
        raise KeyError(f"event {cls.__module__}.{cls.__qualname__} is in no pallet's EVENTS tuple") from None


def error_index(module_name: str, error_name: str) -> tuple[int, int]:
    """(pallet index, error index) of module `module_name`'s error `error_name` (a `ModuleError` subclass's name, as
    `DispatchError.module` and `.error` carry them). KeyError for an error in no `ERRORS` tuple."""
    try:
        return _tables()[1][(module_name, error_name)]
    except KeyError:
        raise KeyError(f"error {module_name}.{error_name} is in no pallet's ERRORS tuple") from None


def error_name(pallet: int, error: int) -> tuple[str, str] | None:
    """(module name, error name) of a module error by its indices (None if no pallet lists it)."""
    for (module, name), (p, e) in _tables()[1].items():
        if (p, e) == (pallet, error):
            return module, name
    return None
