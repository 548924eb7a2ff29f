"""Dispatchable calls of the system module."""

from __future__ import annotations

from btt_chain.primitives.codec import U32, Bytes
from btt_chain.primitives.hashing import blake2b_256
from runtime.context import CallContext, Origin, ensure_emergency, ensure_governance, ensure_signed
from runtime.dispatch import CallDef, ModuleDef

from .. import upgrade
from ..system import events, logic


def remark(ctx: CallContext, origin: Origin, data: bytes) -> None:
    """Put a note on chain; only its hash is kept (in the event)."""
    who = ensure_signed(origin)
    ctx.emit(events.Remarked(who, blake2b_256(data)))


def schedule_spec(ctx: CallContext, origin: Origin, spec: int, at: int) -> None:
    """Schedule the upgrade to `spec` (the spec after the one running) at block `at` (after this one): from that
    block on, blocks run under its rules, its migrations first. An emergency-track referendum only: a spec may change
    any rule. Nodes that cannot run it say so from now on and stop before block `at`."""
    ensure_emergency(origin)
    upgrade.schedule(ctx, spec, at)


def cancel_spec(ctx: CallContext, origin: Origin) -> None:
    """Cancel the scheduled upgrade before its block (any referendum)."""
    ensure_governance(origin)
    upgrade.cancel(ctx)


MODULE = ModuleDef(
    index=0,
    name="system",
    calls=(
        CallDef(0, "remark", (("data", Bytes(max_len=4096)),), 10, remark, remark.__doc__ or ""),
        CallDef(1, "schedule_spec", (("spec", U32), ("at", U32)), 20, schedule_spec, schedule_spec.__doc__ or ""),
        CallDef(2, "cancel_spec", (), 20, cancel_spec, cancel_spec.__doc__ or ""),
    ),
    on_initialize=logic.on_initialize,
)
