"""Dispatchable calls of the params module.

`set_parameter` moves a value inside its bounds: any referendum for a standard parameter, only the emergency
track (a 2/3 supermajority, TOKENOMICS.md) for the seed's figures. `set_bounds` narrows or moves the bounds
inside the genesis range (emergency track), so no referendum can reach past the seed's range or switch a
mechanism off below its genesis floor. `set_shares` changes a group of shares that split one whole (the
governance houses, say) together, keeping their sum at 10,000 bps (emergency track).
"""

from __future__ import annotations

from collections.abc import Sequence

from btt_chain.primitives.codec import AMOUNT, ListOf, Text
from runtime.context import CallContext, Origin, ensure_emergency, ensure_governance
from runtime.dispatch import CallDef, ModuleDef

from ..params import errors, events, storage
from ..params.groups import SHARE_GROUPS, SHARE_TOTAL, group_of

BPS_DENOMINATOR = 10_000
"""A 'bps' parameter is a share of this (the genesis loader holds 'bps' values to it too)."""


def set_parameter(ctx: CallContext, origin: Origin, name: str, new: int) -> None:
    """Change a bounded parameter (governance only; a seed figure only by the emergency track); a value outside
    its range is refused, and so is one share of a group that must add up to the whole (use set_shares)."""
    ensure_governance(origin)
    old = storage.value.get(ctx.state, name)
    if old is None:
        raise errors.UnknownParameter(f"no parameter named {name!r}")
    if storage.track.get(ctx.state, name) == storage.EMERGENCY and origin.kind not in ("emergency", "root"):
        raise errors.EmergencyTrackOnly(f"{name} is one of the seed's figures: only the emergency track changes it")
    group = group_of(name)
    if group is not None:
        raise errors.SharesMustSumToWhole(
            f"{name} is one of the {group} shares, which add up to {SHARE_TOTAL} bps: change them together with "
            "params.set_shares"
        )
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
    limits = storage.limits.get(ctx.state, name)
    if limits is not None and not limits[0] <= new_min <= new_max <= limits[1]:
        raise errors.InvalidBounds(
            f"{name}: bounds may only narrow inside its genesis range [{limits[0]}, {limits[1]}]"
        )
    if not new_min <= current <= new_max:
        raise errors.BoundsExcludeValue(f"{name}: the current value {current} is outside [{new_min}, {new_max}]")
    old_min, old_max = storage.bounds.get(ctx.state, name)
    storage.bounds.put(ctx.state, name, (new_min, new_max))
    ctx.emit(events.BoundsChanged(name, old_min, old_max, new_min, new_max))


def set_shares(ctx: CallContext, origin: Origin, group: str, values: Sequence[int]) -> None:
    """Change every share of a group at once (emergency track only): one value per member, in the group's order,
    each inside its bounds, adding up to 10,000 bps."""
    ensure_emergency(origin)
    names = SHARE_GROUPS.get(group)
    if names is None:
        raise errors.UnknownParameter(f"no share group {group!r} (groups: {', '.join(SHARE_GROUPS)})")
    if len(values) != len(names):
        raise errors.InvalidBounds(f"{group}: {len(names)} values ({', '.join(names)}), got {len(values)}")
    if sum(values) != SHARE_TOTAL:
        raise errors.SharesMustSumToWhole(f"{group}: the shares add up to {sum(values)}, not {SHARE_TOTAL}")
    for name, new in zip(names, values, strict=True):
        lo, hi = storage.bounds.get(ctx.state, name)
        if not lo <= new <= hi:
            raise errors.ParameterOutOfRange(f"{name}: {new} is outside its range [{lo}, {hi}]")
    for name, new in zip(names, values, strict=True):
        old = storage.value.get(ctx.state, name)
        storage.value.put(ctx.state, name, new)
        ctx.emit(events.ParameterChanged(name, old, new))
    ctx.emit(events.SharesChanged(group, tuple(values)))


MODULE = ModuleDef(
    index=2,
    name="params",
    calls=(
        CallDef(0, "set_parameter", (("name", Text(64)), ("value", AMOUNT)), 10, set_parameter,
                set_parameter.__doc__ or ""),
        CallDef(1, "set_bounds", (("name", Text(64)), ("min", AMOUNT), ("max", AMOUNT)), 10, set_bounds,
                set_bounds.__doc__ or ""),
        CallDef(2, "set_shares", (("group", Text(64)), ("values", ListOf(AMOUNT, 16))), 10, set_shares,
                set_shares.__doc__ or ""),
    ),
)
