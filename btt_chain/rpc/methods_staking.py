"""Staking and parameter RPC methods: `btt_stakes` (an account's term deposits, benefits, fee share) and
`btt_params` (every bounded parameter with its range). Amounts are decimal strings of base units."""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.address import encode_address
from btt_chain.rpc import params as p
from btt_chain.rpc.at import state_view
from btt_chain.rpc.paging import SeekableReader, bounded_scan, state_views
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from runtime.overlay import Overlay
from runtime.params import storage as params
from runtime.params.groups import group_of
from runtime.staking import logic as staking
from runtime.staking import storage as staking_storage

method = REGISTRY.method

DEPOSITS_LISTED = 500
"""Deposits `btt_stakes` lists, oldest first (`depositsComplete` false if the account has more)."""


def stakes_report(reader: SeekableReader, state: Overlay, who: bytes, ss58_prefix: int) -> dict[str, Any]:
    """An account's open deposits (the first DEPOSITS_LISTED, with the yield accrued so far), its benefits and its
    claimable fee share."""
    now = staking.now_ms(state)
    b = staking.benefits(state, who)
    scan = bounded_scan(reader, staking_storage.deposits.prefix + who, DEPOSITS_LISTED)
    deposits = [staking_storage.deposits.codec.decode(raw) for _, raw in scan.items]
    return {
        "address": encode_address(who, ss58_prefix),
        "deposits": [
            {
                "id": d.id,
                "tier": staking.TIERS[d.tier],
                "amount": str(d.amount),
                "startMs": d.start_ms,
                "unlockMs": d.unlock_ms,
                "accruedYield": str(staking.accrued_yield(state, d, now)),
                "unlocked": staking.is_unlocked(d, now),
            }
            for d in deposits
        ],
        "depositsComplete": scan.next is None,
        "stakedTotal": str(staking.staked_total(state, who)),
        "benefits": {
            "feeDiscountBps": b.fee_discount_bps,
            "computePriority": b.compute_priority,
            "governanceMultiplierBps": b.governance_multiplier_bps,
            "specialAccess": b.special_access,
        },
        "claimableFeeShare": str(staking.claimable_fee_share(state, who)),
    }


def params_report(state: Overlay) -> list[dict[str, Any]]:
    """Every parameter by name: value, [min, max], unit, the track that may change it (`standard`: any referendum;
    `emergency`: only the emergency track), the genesis limits its bounds may narrow inside, and the share group
    it belongs to; btt amounts as decimal strings of base units."""
    out = []
    for name, value in params.value.items(state):
        lo, hi = params.bounds.get(state, name)
        unit = params.unit.get(state, name) or ""
        show = str if unit == "btt" else int
        limits = params.limits.get(state, name) or (lo, hi)
        out.append({
            "name": name, "value": show(value), "min": show(lo), "max": show(hi), "unit": unit,
            "track": params.TRACKS[params.track.get(state, name) or 0],
            "limits": [show(limits[0]), show(limits[1])],
            "shareGroup": group_of(name),
        })
    return out


@method("btt_stakes", Param("account", p.account), optional("at", p.block_hash))
def btt_stakes(ctx: RpcContext, who: bytes, at: bytes | None) -> dict[str, Any]:
    """The account's deposits (the first 500 by id; `depositsComplete` false if it has more), staked total,
    benefits and claimable fee share. (Its benefits come from the runtime, which reads every running deposit of
    the account, as it does when the account's fees are computed.)"""
    reader, state = state_views(ctx, at)
    return stakes_report(reader, state, who, ctx.node.spec.ss58_prefix)


@method("btt_params", optional("at", p.block_hash))
def btt_params(ctx: RpcContext, at: bytes | None) -> list[dict[str, Any]]:
    """Every runtime parameter (a fixed set, registered at genesis) with its bounds, unit, track and share group."""
    return params_report(state_view(ctx, at))
