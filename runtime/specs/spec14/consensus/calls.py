"""Dispatchable calls of the consensus module; its rules run in every block's initialisation."""

from __future__ import annotations

from btt_chain.primitives.codec import HASH
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import CallDef, ModuleDef

from ..consensus import errors, events, logic, storage


def rotate_hash_chain(ctx: CallContext, origin: Origin, commitment: bytes) -> None:
    """Signed by a session key: its next block reveals from a new hash chain ending in `commitment` (the key's
    next generation; nodes do this by themselves before a chain runs out)."""
    key = ensure_signed(origin)
    if not storage.reveals.contains(ctx.state, key):
        raise errors.NotASessionKey()
    generation = storage.set_commitment(ctx.state, key, commitment)
    ctx.emit(events.HashChainRotated(key, generation, commitment))


MODULE = ModuleDef(
    index=11,
    name="consensus",
    calls=(CallDef(0, "rotate_hash_chain", (("commitment", HASH),), 200, rotate_hash_chain,
                   rotate_hash_chain.__doc__ or ""),),
    on_initialize=logic.on_initialize,
)
