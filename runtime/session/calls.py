"""Dispatchable calls of the session module: a validator's session keys (Substrate's `session.set_keys`). The bonds
module computes the sets and the consensus hook rotates them."""

from __future__ import annotations

from btt_chain.primitives import ed25519
from btt_chain.primitives.codec import Bytes, Nested
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import NOTHING, CallDef, ModuleDef

from ..bonds import logic as bonds
from ..consensus.logic import epoch_of
from ..session import errors, events
from ..session.types import SessionKeys


def set_keys(ctx: CallContext, origin: Origin, keys: SessionKeys, proof: bytes) -> None:
    """A registered validator (its stash account signs) moves its block and vote signing to new session keys, e.g.
    made by `author_rotateKeys` on the node that will sign. `proof` is the new key's signature of
    "btt-session-keys" ++ your account ++ the keys (`btt_sessionKeysProof`). The set queued at the next epoch's start
    carries the new key: it signs from the epoch after that, and the old key stops there. The bond is untouched."""
    who = ensure_signed(origin)
    bonds.check_new_session_key(ctx, who, keys.session_key)  # the proof last (spec 17): a bad one says all else passes
    if not ed25519.verify(keys.session_key, keys.ownership_message(who), proof):
        raise errors.BadKeyProof()
    bonds.set_session_keys(ctx, who, keys.session_key, keys.hash_chain_commitment)
    ctx.emit(events.SessionKeysSet(who, keys.session_key, epoch_of(ctx.state, ctx.env.slot) + 2))


MODULE = ModuleDef(
    index=3,
    name="session",
    calls=(CallDef(0, "set_keys", (("keys", Nested(SessionKeys)), ("proof", Bytes(max_len=64))), 500, set_keys,
                   set_keys.__doc__ or "", spends=NOTHING),),
)
