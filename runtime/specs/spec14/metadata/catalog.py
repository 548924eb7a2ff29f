"""What each pallet of the metadata holds: its index, name, calls, events and errors, from the runtime's modules.

A pallet is a runtime module (`ModuleDef`, at the module's index) or one of `METADATA_ONLY_PALLETS`: a pallet with
no calls that only names events (and errors) the runtime emits outside any module. Its events are the tuple
`EVENTS` at the bottom of `runtime/<module>/events.py`, its errors the tuple `ERRORS` at the bottom of
`runtime/<module>/errors.py`; a class's position in its tuple is its variant index, fixed for good (append only).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from runtime.dispatch import CallDef, Runtime
from runtime.errors import ModuleError
from runtime.events import Event

from ..storage_schema import pascal_case


@dataclass(frozen=True)
class MetadataOnlyPallet:
    index: int
    module: str
    """btt's name for it, as its events' MODULE and its package `runtime/<module>/` say."""


METADATA_ONLY_PALLETS = (
    MetadataOnlyPallet(17, "transaction_payment"),
    MetadataOnlyPallet(18, "fees"),
)
"""Pallets with no runtime module: FRAME's `TransactionPayment` (its `TransactionFeePaid` event) and btt's `Fees` (the
block's fee split, `FeesDistributed`, emitted at block end). Their indices follow the runtime's first 17 modules
(0-16) and are as fixed as those; modules added later take the next free index (`timestamp`, 19)."""


@dataclass(frozen=True)
class PalletSource:
    """One pallet as the runtime defines it."""

    index: int
    module: str
    calls: tuple[CallDef, ...]
    events: tuple[type[Event], ...]
    errors: tuple[type[ModuleError], ...]

    @property
    def name(self) -> str:
        return pascal_case(self.module)


_RUNTIME_PACKAGE = __name__.rsplit(".", 2)[0]
"""`runtime`, or `runtime.specs.specNN` in an older spec's copy of this file: each spec lists its own classes."""


def _tuple_of(module: str, part: str, name: str) -> tuple[Any, ...]:
    """`<this spec's runtime>.<module>.<part>.<name>`, or () where the module has no such file."""
    qualified = f"{_RUNTIME_PACKAGE}.{module}.{part}"
    try:
        found = importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name == qualified:
            return ()
        raise
    return tuple(getattr(found, name, ()))


def events_of(module: str) -> tuple[type[Event], ...]:
    """A module's events in variant-index order (its `EVENTS` tuple)."""
    events: tuple[type[Event], ...] = _tuple_of(module, "events", "EVENTS")
    for cls in events:
        if not (isinstance(cls, type) and issubclass(cls, Event)) or cls.MODULE != module:
            raise TypeError(f"runtime.{module}.events.EVENTS holds {cls!r}, not an event of module {module}")
    return events


def errors_of(module: str) -> tuple[type[ModuleError], ...]:
    """A module's errors in error-index order (its `ERRORS` tuple)."""
    errors: tuple[type[ModuleError], ...] = _tuple_of(module, "errors", "ERRORS")
    for cls in errors:
        if not (isinstance(cls, type) and issubclass(cls, ModuleError)) or cls.MODULE != module:
            raise TypeError(f"runtime.{module}.errors.ERRORS holds {cls!r}, not an error of module {module}")
    return errors


def pallet_sources(runtime: Runtime) -> tuple[PalletSource, ...]:
    """Every pallet, in index order: the runtime's modules and the metadata-only pallets."""
    found = [PalletSource(m.index, m.name, tuple(m.calls), events_of(m.name), errors_of(m.name))
             for m in runtime.modules]
    found += [PalletSource(p.index, p.module, (), events_of(p.module), errors_of(p.module))
              for p in METADATA_ONLY_PALLETS]
    indices = [p.index for p in found]
    names = [p.name for p in found]
    if len(set(indices)) != len(indices) or len(set(names)) != len(names):
        raise ValueError(f"pallet indices or names used twice: {sorted(zip(indices, names, strict=True))}")
    if not all(0 <= i <= 255 for i in indices):
        raise ValueError(f"pallet indices are u8: {indices}")
    for p in found:
        for what, items in (("events", p.events), ("errors", p.errors)):
            if len(items) > 256 or len({c.__name__ for c in items}) != len(items):
                raise ValueError(f"{p.module} {what}: more than 256, or a name used twice")
    return tuple(sorted(found, key=lambda p: p.index))
