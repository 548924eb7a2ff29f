"""The timestamp module's call: `set`, the unsigned inherent each block starts with, and the block-end check."""

from __future__ import annotations

from btt_chain.primitives.codec import Compact
from btt_chain.primitives.errors import InvalidBlock
from runtime.context import CallContext, Origin, ensure_none
from runtime.dispatch import CallDef, ModuleDef

from ..timestamp import errors, storage

SET_WEIGHT = 20
"""Two reads and two writes."""


def set_now(ctx: CallContext, origin: Origin, now: int) -> None:
    """Set the block's time (an inherent: unsigned, put in by the block's author as the block's first extrinsic);
    `now` must be the start of the block's slot, in ms since the Unix epoch."""
    ensure_none(origin)
    if storage.did_update.get(ctx.state):
        raise errors.AlreadySet("the timestamp was set already in this block")
    if now != ctx.env.timestamp_ms:
        raise errors.WrongTime(f"timestamp {now} is not the start of the block's slot, {ctx.env.timestamp_ms}")
    storage.now.put(ctx.state, now)
    storage.did_update.put(ctx.state, True)


def on_finalize(ctx: CallContext) -> None:
    """A block without its `timestamp.set` is invalid (FRAME's rule: it must be set once in every block)."""
    if not storage.did_update.get(ctx.state):
        raise InvalidBlock("the block has no timestamp.set inherent")
    storage.did_update.kill(ctx.state)


MODULE = ModuleDef(
    index=19,
    name="timestamp",
    calls=(CallDef(0, "set", (("now", Compact(64)),), SET_WEIGHT, set_now, set_now.__doc__ or ""),),
    on_finalize=on_finalize,
)
"""Index 19: after the runtime's modules 0-16 and the metadata-only pallets 17 (TransactionPayment) and 18 (Fees)."""
