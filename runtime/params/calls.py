"""Dispatchable calls of the params module.

`set_parameter` moves a value inside its bounds (any governance referendum); `set_bounds` moves the bounds
themselves and needs the emergency track (a 2/3 supermajority, TOKENOMICS.md).
"""

from __future__ import annotations

from btt_chain.primitives.codec import AMOUNT, Text
from runtime.context import CallContext, Origin, ensure_emergency, ensure_governance
from runtime.dispatch import CallDef, ModuleDef
from runtime.params import errors, events, storage

BPS_DENOMINATOR = 10_000
"""A 'bps' parameter is a share of this (the genesis loader holds 'bps' values to it too)."""


def set_parameter(ctx: CallContext, origin: Origin, name: str, new: int) -> None:
    """Change a bounded parameter (governance only); a value outside its range is refused."""
    ensure_governance(origin)
    old = storage.value.get(ctx.state, name)
    if old is None:
        raise errors.UnknownParameter(f"no parameter named {name!r}")
    lo, hi = storage.bounds.get(ctx.state, name)
    if not lo <= new <= hi:
        raise errors.ParameterOutOfRange(f"{name}: {new} is outside its range [{lo}, {hi}]")
    storage.value.put(ctx.state, name, new)
    ctx.emit(events.ParameterChanged(name, old, new))


def set_bounds(ctx: CallContext, origin: Origin, name: str, new_min: int, new_max: int) -> None:
    """Change a parameter's range (emergency track only). The new range must hold the current value, and a
    'bps' parameter stays within 10,000."""
    ensure_emergency(origin)
    current = storage.value.get(ctx.state, name)
    if current is None:
        raise errors.UnknownParameter(f"no parameter named {name!r}")
    if new_min > new_max:
        raise errors.InvalidBounds(f"{name}: min {new_min} is above max {new_max}")
    if storage.unit.get(ctx.state, name) == "bps" and new_max > BPS_DENOMINATOR:
        raise errors.InvalidBounds(f"{name} is in basis points: max {new_max} is above {BPS_DENOMINATOR}")
    if not new_min <= current <= new_max:
        raise errors.BoundsExcludeValue(f"{name}: the current value {current} is outside [{new_min}, {new_max}]")
    old_min, old_max = storage.bounds.get(ctx.state, name)
    storage.bounds.put(ctx.state, name, (new_min, new_max))
    ctx.emit(events.BoundsChanged(name, old_min, old_max, new_min, new_max))


MODULE = ModuleDef(
    index=2,
    name="params",
    calls=(
        CallDef(0, "set_parameter", (("name", Text(64)), ("value", AMOUNT)), 10, set_parameter,
                set_parameter.__doc__ or ""),
        CallDef(1, "set_bounds", (("name", Text(64)), ("min", AMOUNT), ("max", AMOUNT)), 10, set_bounds,
                set_bounds.__doc__ or ""),
    ),
)
