"""Dispatchable calls of the bonds module."""

from __future__ import annotations

from btt_chain.primitives import ed25519
from btt_chain.primitives.codec import AMOUNT, HASH, Bytes
from btt_chain.primitives.key_authorization import MAX_PROOF_BYTES, session_keys_ownership_message
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import NOTHING, CallDef, ModuleDef, spends_argument

from ..bonds import errors, logic


def bond(ctx: CallContext, origin: Origin, amount: int) -> None:
    """Bond `amount` of spendable balance (reserved; slashable). The account must not be bonded yet."""
    logic.bond(ctx, ensure_signed(origin), amount)


def bond_extra(ctx: CallContext, origin: Origin, amount: int) -> None:
    """Add `amount` to an existing bond."""
    logic.bond_extra(ctx, ensure_signed(origin), amount)


def unbond(ctx: CallContext, origin: Origin, amount: int) -> None:
    """Start unbonding `amount`; it stays reserved and slashable until the unbonding period has passed."""
    logic.unbond(ctx, ensure_signed(origin), amount)


def withdraw_unbonded(ctx: CallContext, origin: Origin) -> None:
    """Release every unbonding chunk that has matured."""
    logic.withdraw_unbonded(ctx, ensure_signed(origin))


def rebond(ctx: CallContext, origin: Origin, amount: int) -> None:
    """Take `amount` back from unbonding into the active bond, newest chunks first."""
    logic.rebond(ctx, ensure_signed(origin), amount)


def register_validator(
    ctx: CallContext, origin: Origin, session_key: bytes, hash_chain_commitment: bytes, proof: bytes
) -> None:
    """Register as a validator (needs the minimum validator bond), signing blocks and votes with `session_key`, whose
    hash chain ends in `hash_chain_commitment` (what `author_rotateKeys` returns, or `btt-chain key inspect
    --hash-chain`). `proof` is the session key's ed25519 signature of "btt-session-keys" ++ your account ++ the key ++
    the commitment, as `session.set_keys` takes it: the node holding the key gives it (`btt_sessionKeysProof(keys,
    account)`), so nobody registers a key it does not hold. The set of the next epoch is already fixed: the validator
    is queued at the next epoch's start and active (leading slots, voting) in the epoch after."""
    who = ensure_signed(origin)
    logic.check_registration(ctx, who, session_key)  # the proof last: a bad one says everything else would pass
    if not ed25519.verify(session_key, session_keys_ownership_message(who, session_key, hash_chain_commitment), proof):
        raise errors.BadKeyProof()
    logic.register_validator(ctx, who, session_key, hash_chain_commitment)


def deregister_validator(ctx: CallContext, origin: Origin) -> None:
    """Stop validating: the validator stays in the sets already fixed (through the next epoch) and leaves at
    the start of the epoch after; the bond stays until unbonded."""
    logic.deregister_validator(ctx, ensure_signed(origin))


_AMOUNT = ("amount", AMOUNT)

MODULE = ModuleDef(
    index=7,
    name="bonds",
    calls=(
        CallDef(0, "bond", (_AMOUNT,), 200, bond, bond.__doc__ or "", spends=spends_argument("amount")),
        CallDef(1, "bond_extra", (_AMOUNT,), 200, bond_extra, bond_extra.__doc__ or "",
                spends=spends_argument("amount")),
        CallDef(2, "unbond", (_AMOUNT,), 200, unbond, unbond.__doc__ or "", spends=NOTHING),
        CallDef(3, "withdraw_unbonded", (), 200, withdraw_unbonded, withdraw_unbonded.__doc__ or "", spends=NOTHING),
        CallDef(4, "rebond", (_AMOUNT,), 200, rebond, rebond.__doc__ or "", spends=NOTHING),
        CallDef(5, "register_validator", (("session_key", HASH), ("hash_chain_commitment", HASH),
                                          ("proof", Bytes(max_len=MAX_PROOF_BYTES))), 500,
                register_validator, register_validator.__doc__ or "", spends=NOTHING),
        CallDef(6, "deregister_validator", (), 200, deregister_validator, deregister_validator.__doc__ or "",
                spends=NOTHING),
    ),
)
"""No hook of its own: the consensus hook calls `logic.rotate_session` at each epoch's first block, between
its leader check and drawing the next schedule."""
