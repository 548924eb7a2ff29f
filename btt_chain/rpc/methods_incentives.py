"""RPC methods of the patient incentives, read at the head: `btt_points` (an account's points, what it redeemed
this epoch, the cap left, the rate and its attestations) and `btt_oracles` (the health oracles appointed per
activity type, from the roles module's storage, with the points each activity earns).

Amounts and points are decimal strings (amounts in base units); accounts are SS58 addresses; hashes are 0x-hex.
"This epoch" is the epoch of the head block: the next block may open a new one, and with it a fresh cap.
"""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.address import encode_address
from btt_chain.rpc import params as p
from btt_chain.rpc.at import state_view
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from runtime.incentives import logic
from runtime.incentives import params as iparams
from runtime.incentives.types import ACTIVITIES, Attestation
from runtime.overlay import Overlay
from runtime.params import storage as params
from runtime.roles import logic as roles
from runtime.system import storage as system

method = REGISTRY.method

MAX_ATTESTATIONS = 500
"""Attestations `btt_points` lists, the newest (`attestationCount` gives them all)."""


def render_attestation(evidence: bytes, a: Attestation, prefix: int) -> dict[str, Any]:
    return {
        "evidence": "0x" + evidence.hex(),
        "activity": a.activity,
        "oracle": encode_address(a.oracle, prefix),
        "points": str(a.points),
        "block": a.block,
    }


def points_report(state: Overlay, who: bytes, prefix: int) -> dict[str, Any]:
    """What `btt_points` answers for `who` at `state`."""
    held = logic.get_points(state, who)
    rate = params.get_param(state, iparams.REDEEM_RATE)
    cap = params.get_param(state, iparams.REDEEM_CAP)
    epoch = logic.get_head_epoch(state)
    redeemed = logic.get_redeemed_in_epoch(state, who, epoch)
    left = logic.compute_cap_left(cap, redeemed)
    pool = system.account.get(state, logic.pool_account())
    attestations = logic.get_attestations(state, who)
    return {
        "account": encode_address(who, prefix),
        "points": str(held),
        "value": str(logic.compute_payout(held, rate)),
        "rate": str(rate),
        "epoch": epoch,
        "redeemedThisEpoch": str(redeemed),
        "capPerEpoch": str(cap),
        "capLeft": str(left),
        "redeemableNow": str(min(held, left // rate) if rate else 0),
        "poolBalance": str(pool.spendable),
        "attestationCount": len(attestations),
        "attestations": [render_attestation(e, a, prefix) for e, a in attestations[-MAX_ATTESTATIONS:]],
    }


@method("btt_points", Param("account", p.account), optional("at", p.block_hash))
def btt_points(ctx: RpcContext, who: bytes, at: bytes | None) -> dict[str, Any]:
    """An account's incentive points: held, their value at the rate, the head's epoch, what it redeemed in it,
    the cap and what is left of it, the points redeemable now (within the cap), the pool's spendable balance,
    and its attestations oldest first (the newest MAX_ATTESTATIONS)."""
    return points_report(state_view(ctx, at), who, ctx.node.spec.ss58_prefix)


@method("btt_oracles", optional("at", p.block_hash))
def btt_oracles(ctx: RpcContext, at: bytes | None) -> list[dict[str, Any]]:
    """Each activity type with the points it earns and the oracles governance appointed for it."""
    state = state_view(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    return [
        {
            "activity": activity,
            "points": str(params.get_param(state, iparams.points(activity))),
            "oracles": [encode_address(who, prefix) for who in roles.oracles_of(state, activity)],
        }
        for activity in ACTIVITIES
    ]
