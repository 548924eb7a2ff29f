"""Dispatchable calls of the system module."""

from __future__ import annotations

from btt_chain.primitives.codec import Bytes
from btt_chain.primitives.hashing import blake2b_256
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import CallDef, ModuleDef
from runtime.system import events, logic


def remark(ctx: CallContext, origin: Origin, data: bytes) -> None:
    """Put a note on chain; only its hash is kept (in the event)."""
    who = ensure_signed(origin)
    ctx.emit(events.Remarked(who, blake2b_256(data)))


MODULE = ModuleDef(
    index=0,
    name="system",
    calls=(CallDef(0, "remark", (("data", Bytes(max_len=4096)),), 10, remark, remark.__doc__ or ""),),
    on_initialize=logic.on_initialize,
)
