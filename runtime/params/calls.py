"""Dispatchable calls of the params module."""

from __future__ import annotations

from btt_chain.primitives.codec import AMOUNT, Text
from runtime.context import CallContext, Origin, ensure_governance
from runtime.dispatch import CallDef, ModuleDef
from runtime.params import errors, events, storage


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


MODULE = ModuleDef(
    index=2,
    name="params",
    calls=(CallDef(0, "set_parameter", (("name", Text(64)), ("value", AMOUNT)), 10, set_parameter,
                   set_parameter.__doc__ or ""),),
)
