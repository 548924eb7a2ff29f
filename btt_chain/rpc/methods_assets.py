"""RPC methods of the asset registry, read at the head: `btt_assets` (every asset, optionally one owner's),
`btt_asset` (one asset with its holders, open offers and the fee its next step costs) and `btt_assetHoldings`
(the fractions an account holds and has in open offers).

Amounts (BTT and fractions alike) are decimal strings of base units: a token's `decimals` says how to show its
fractions; accounts are SS58 addresses; hashes are 0x-hex, null where not set yet.
"""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.codec import U64_MAX
from btt_chain.rpc import params as p
from btt_chain.rpc.at import state_view
from btt_chain.rpc.errors import invalid_params
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from btt_chain.rpc.render import hex0x
from runtime.assets import logic, storage
from runtime.assets.types import ASSET_CLASSES, STATUSES, TOKENISED, VERIFIED, Asset, FeeSplit, Offer
from runtime.overlay import Overlay

method = REGISTRY.method

ZERO = bytes(32)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def asset_id(value: Any, ctx: RpcContext) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U64_MAX:
        raise invalid_params(f"asset id: expected an integer from 0 to 2^64-1, got {_show(value)}")
    return value


# rendering ------------------------------------------------------------------------------------------


def render_fee(fee: FeeSplit) -> dict[str, str]:
    return {
        "gross": str(fee.gross),
        "discount": str(fee.discount),
        "fee": str(fee.fee),
        "burned": str(fee.burned),
        "toTreasury": str(fee.to_treasury),
    }


def render_asset(state: Overlay, asset: Asset, prefix: int) -> dict[str, Any]:
    tokenised = asset.status == TOKENISED
    holders = logic.holders_of(state, asset.id) if tokenised else []
    offers = logic.offers_of(state, asset.id) if tokenised else []
    return {
        "id": asset.id,
        "owner": encode_address(asset.owner, prefix),
        "class": ASSET_CLASSES[asset.asset_class],
        "metadataHash": hex0x(asset.metadata_hash),
        "valuation": str(asset.valuation),
        "status": STATUSES[asset.status],
        "frozen": asset.frozen,
        "reportHash": hex0x(asset.report_hash) if asset.report_hash != ZERO else None,
        "verifier": encode_address(asset.verifier, prefix) if asset.verifier != ZERO else None,
        "registeredBlock": asset.registered_block,
        "token": {
            "symbol": asset.symbol,
            "supply": str(asset.supply),
            "decimals": asset.decimals,
            "minBalance": str(asset.min_balance),
        } if asset.symbol else None,
        "holderCount": len(holders),
        "openOffers": len(offers),
        "escrowed": str(sum(o.amount for o in offers)),
    }


def render_offer(state: Overlay, o: Offer, prefix: int) -> dict[str, Any]:
    """An open offer with the trade fee a buyer without a staker discount would pay on top of the price."""
    return {
        "id": o.id,
        "assetId": o.asset_id,
        "seller": encode_address(o.seller, prefix),
        "amount": str(o.amount),
        "price": str(o.price),
        "postedBlock": o.posted_block,
        "tradeFee": render_fee(logic.trade_fee(state, ZERO, o.price)),
    }


# methods --------------------------------------------------------------------------------------------


@method("btt_assets", optional("owner", p.account), optional("at", p.block_hash))
def btt_assets(ctx: RpcContext, owner: bytes | None, at: bytes | None) -> list[dict[str, Any]]:
    """Every asset in id order (only `owner`'s if given): class, metadata hash, valuation, status, frozen, the
    last report's hash and verifier, the token (symbol, supply, decimals, minimum balance) once tokenised, and
    its holder count, open offers and fractions in escrow."""
    state = state_view(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    return [render_asset(state, a, prefix) for a in logic.all_assets(state) if owner is None or a.owner == owner]


@method("btt_asset", Param("id", asset_id), optional("at", p.block_hash))
def btt_asset(ctx: RpcContext, aid: int, at: bytes | None) -> dict[str, Any] | None:
    """One asset (as in `btt_assets`) with `holdings` (account, amount; escrow not included), `offers` (the open
    offers, oldest first, each with its undiscounted trade fee) and `mintFee` (what tokenising costs its owner
    now, staker discount included; null unless the asset is verified and not tokenised), or null."""
    state = state_view(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    asset = storage.assets.get(state, aid)
    if asset is None:
        return None
    out = render_asset(state, asset, prefix)
    out["holdings"] = [
        {"account": encode_address(who, prefix), "amount": str(amount)}
        for who, amount in logic.holders_of(state, aid)
    ]
    out["offers"] = [render_offer(state, o, prefix) for o in logic.offers_of(state, aid)]
    out["mintFee"] = render_fee(logic.mint_fee(state, asset.owner, asset.valuation)) if asset.status == VERIFIED \
        else None
    return out


@method("btt_assetHoldings", Param("account", p.account), optional("at", p.block_hash))
def btt_asset_holdings(ctx: RpcContext, who: bytes, at: bytes | None) -> list[dict[str, Any]]:
    """Every tokenised asset `account` holds fractions of or offers: held, escrowed in its open offers, and
    their total, with the token's symbol, decimals and supply, and whether the asset is frozen."""
    state = state_view(ctx, at)
    return [
        {
            "assetId": asset.id,
            "symbol": asset.symbol,
            "decimals": asset.decimals,
            "supply": str(asset.supply),
            "held": str(held),
            "escrowed": str(offered),
            "total": str(held + offered),
            "frozen": asset.frozen,
        }
        for asset, held, offered in logic.holdings_of(state, who)
    ]
