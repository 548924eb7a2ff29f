"""Bond floors other modules hold: the active bond an account must keep while it owes something (a compute
provider's open assignments, each of which may yet cost it a fixed slash). `unbond` refuses to go below the
largest floor any registered source names. Sources register once, when the runtime is assembled
(`runtime.modules`), so the bonds module never imports the modules that rely on it."""

from __future__ import annotations

from collections.abc import Callable

from runtime.overlay import Overlay

FloorFn = Callable[[Overlay, bytes], int]
"""(state, account) -> base units of active bond the account must keep (0 for none)."""

_SOURCES: dict[str, FloorFn] = {}


def register_bond_floor(fn: FloorFn, name: str | None = None) -> None:
    """Register `fn` under `name` (default: its qualified name); registering the same name again replaces it."""
    _SOURCES[name or f"{fn.__module__}.{fn.__qualname__}"] = fn


def bond_floor(state: Overlay, who: bytes) -> tuple[int, str]:
    """The largest floor any source holds on `who`'s active bond, and which source holds it ("" for none)."""
    best, by = 0, ""
    for name, fn in _SOURCES.items():
        value = fn(state, who)
        if value > best:
            best, by = value, name
    return best, by
