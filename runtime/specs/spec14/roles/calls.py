"""Dispatchable calls of the roles module: governance origin only (TOKENOMICS.md, Governance)."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, ListOf, Text
from runtime.context import CallContext, Origin, ensure_governance
from runtime.dispatch import CallDef, ModuleDef

from ..roles import errors, events, logic, storage
from ..roles.types import MAX_ACTIVITY_NAME, REPRESENTATIVES_ARG_LIMIT


def appoint_verifier(ctx: CallContext, origin: Origin, who: bytes) -> None:
    """Appoint `who` as an asset verifier (approves, rejects, revalues and freezes registered assets)."""
    ensure_governance(origin)
    if logic.is_verifier(ctx.state, who):
        raise errors.AlreadyVerifier()
    storage.verifiers.put(ctx.state, who, True)
    ctx.emit(events.VerifierAppointed(who))


def remove_verifier(ctx: CallContext, origin: Origin, who: bytes) -> None:
    """Remove `who` from the asset verifiers."""
    ensure_governance(origin)
    if not logic.is_verifier(ctx.state, who):
        raise errors.NotVerifier()
    storage.verifiers.remove(ctx.state, who)
    ctx.emit(events.VerifierRemoved(who))


def appoint_oracle(ctx: CallContext, origin: Origin, activity: str, who: bytes) -> None:
    """Appoint `who` as a health oracle for one activity type (preventive_visit, treatment_adherence,
    healthy_lifestyle, referral)."""
    ensure_governance(origin)
    logic.check_activity(activity)
    if logic.is_oracle(ctx.state, activity, who):
        raise errors.AlreadyOracle(f"already an oracle for {activity}")
    storage.oracles.put(ctx.state, (activity, who), True)
    ctx.emit(events.OracleAppointed(activity, who))


def remove_oracle(ctx: CallContext, origin: Origin, activity: str, who: bytes) -> None:
    """Remove `who` from the health oracles of one activity type."""
    ensure_governance(origin)
    logic.check_activity(activity)
    if not logic.is_oracle(ctx.state, activity, who):
        raise errors.NotOracle(f"not an oracle for {activity}")
    storage.oracles.remove(ctx.state, (activity, who))
    ctx.emit(events.OracleRemoved(activity, who))


def set_representatives(ctx: CallContext, origin: Origin, accounts: tuple[bytes, ...]) -> None:
    """Replace the community representatives with `accounts` (no repeats, at most 100; empty is allowed)."""
    ensure_governance(origin)
    accounts = tuple(accounts)
    logic.check_representatives(accounts)
    storage.representatives.put(ctx.state, accounts)
    ctx.emit(events.RepresentativesChanged(len(accounts)))


_ACTIVITY = ("activity", Text(MAX_ACTIVITY_NAME))

MODULE = ModuleDef(
    index=13,
    name="roles",
    calls=(
        CallDef(0, "appoint_verifier", (("who", ACCOUNT),), 30, appoint_verifier, appoint_verifier.__doc__ or ""),
        CallDef(1, "remove_verifier", (("who", ACCOUNT),), 30, remove_verifier, remove_verifier.__doc__ or ""),
        CallDef(2, "appoint_oracle", (_ACTIVITY, ("who", ACCOUNT)), 30, appoint_oracle, appoint_oracle.__doc__ or ""),
        CallDef(3, "remove_oracle", (_ACTIVITY, ("who", ACCOUNT)), 30, remove_oracle, remove_oracle.__doc__ or ""),
        CallDef(4, "set_representatives", (("accounts", ListOf(ACCOUNT, REPRESENTATIVES_ARG_LIMIT)),), 200,
                set_representatives, set_representatives.__doc__ or ""),
    ),
)
