"""RPC methods of the asset registry, read at the head: `btt_assets` (every asset, optionally one owner's),
`btt_asset` (one asset with its holders, open offers and the fee its next step costs) and `btt_assetHoldings`
(the fractions an account holds and has in open offers).

Amounts (BTT and fractions alike) are decimal strings of base units: a token's `decimals` says how to show its
fractions; accounts are SS58 addresses; hashes are 0x-hex, null where not set yet.
"""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.address import encode_address
from btt_chain.rpc import params as p
from btt_chain.rpc.paging import Scan, SeekableReader, bounded_scan, int_in, state_views, wire_index, wire_of
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from btt_chain.rpc.render import hex0x
from runtime.assets import logic, storage
from runtime.assets.types import ASSET_CLASSES, STATUSES, TOKENISED, VERIFIED, Asset, FeeSplit, Offer
from runtime.items import u64_from_key, u64_key
from runtime.overlay import Overlay

method = REGISTRY.method

ZERO = bytes(32)
ASSETS_DEFAULT = 50
ASSETS_MAX = 100
"""Assets per `btt_assets` page."""
ASSET_IDS_SCANNED = 2_000
"""Asset ids `btt_assets` reads per call (an owner filter reads each one's owner from its stored form)."""
HOLDING_IDS_SCANNED = 500
"""Asset ids `btt_assetHoldings` reads per call (a holding read and the asset's open offers each)."""
COUNTED = 100
"""Holders and open offers counted per asset in `btt_assets` (`countsComplete` says whether that was all)."""
PAGE_DEFAULT = 100
PAGE_MAX = 200
"""Holders and offers per `btt_asset` page."""
OFFERS_SCANNED = 250
"""Offers `btt_assetHoldings` reads per call to find the account's escrow."""


def asset_id(value: Any, ctx: RpcContext) -> int:
    return p.u64_id(value, "asset id")


# rendering ------------------------------------------------------------------------------------------


def render_fee(fee: FeeSplit) -> dict[str, str]:
    return {
        "gross": str(fee.gross),
        "discount": str(fee.discount),
        "fee": str(fee.fee),
        "burned": str(fee.burned),
        "toTreasury": str(fee.to_treasury),
    }


def _holders(reader: SeekableReader, asset_id: int, budget: int, after: bytes | None = None) -> Scan:
    """At most `budget` (key, value) holdings of the asset in account order, after the account `after`."""
    prefix = storage.holdings.prefix + u64_key(asset_id)
    return bounded_scan(reader, prefix, budget, None if after is None else prefix + after)


def _offer_ids(reader: SeekableReader, asset_id: int, budget: int, after: int | None = None) -> tuple[list[int], bool]:
    """At most `budget` open offer ids of the asset, oldest first, after the offer `after`; and whether that is all."""
    prefix = storage.asset_offers.prefix + u64_key(asset_id)
    scan = bounded_scan(reader, prefix, budget, None if after is None else prefix + u64_key(after))
    return [u64_from_key(k[len(prefix):]) for k, _ in scan.items], scan.next is None


def render_asset(reader: SeekableReader, state: Overlay, asset: Asset, prefix: int) -> dict[str, Any]:
    """The asset with its holder count, open offers and fractions in escrow, each counted up to COUNTED
    (`countsComplete`: whether that was all of them)."""
    tokenised = asset.status == TOKENISED
    holders = _holders(reader, asset.id, COUNTED) if tokenised else Scan([], None)
    offer_ids, offers_complete = _offer_ids(reader, asset.id, COUNTED) if tokenised else ([], True)
    offers = [o for o in (storage.offers.get(state, i) for i in offer_ids) if o is not None]
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
        "holderCount": len(holders.items),
        "openOffers": len(offers),
        "escrowed": str(sum(o.amount for o in offers)),
        "countsComplete": holders.next is None and offers_complete,
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


_OWNER = wire_index(Asset, "owner")


@method(
    "btt_assets",
    optional("owner", p.account),
    optional("at", p.block_hash),
    optional("limit", int_in("limit", 1, ASSETS_MAX), ASSETS_DEFAULT),
    optional("after", asset_id),
)
def btt_assets(
    ctx: RpcContext, owner: bytes | None, at: bytes | None, count: int, after: int | None
) -> list[dict[str, Any]]:
    """Assets in id order after the id `after` (default: from the first), only `owner`'s if given, at most `limit`
    (default 50, at most 100): class, metadata hash, valuation, status, frozen, the last report's hash and verifier,
    the token (symbol, supply, decimals, minimum balance) once tokenised, and its holder count, open offers and
    fractions in escrow, each counted up to 100 (`countsComplete`; `btt_asset` pages through them all). One call
    reads at most 2,000 ids: [after + 1, after + 2,000]. To page on, pass the last id listed as `after` if the page
    is full, else `after` + 2,000 (nothing is left at or above `btt_assets`' last id)."""
    reader, state = state_views(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    first = 0 if after is None else after + 1
    end = min(storage.next_asset_id.get(state), first + ASSET_IDS_SCANNED)
    out = []
    for aid in range(first, end):
        raw = state.get(storage.assets.key(aid))
        if raw is None or (owner is not None and wire_of(Asset, raw)[_OWNER] != owner):
            continue
        out.append(render_asset(reader, state, storage.assets.get(state, aid), prefix))
        if len(out) >= count:
            break
    return out


@method(
    "btt_asset",
    Param("id", asset_id),
    optional("at", p.block_hash),
    optional("limit", int_in("limit", 1, PAGE_MAX), PAGE_DEFAULT),
    optional("holdersAfter", p.account),
    optional("offersAfter", asset_id),
)
def btt_asset(
    ctx: RpcContext, aid: int, at: bytes | None, count: int, holders_after: bytes | None, offers_after: int | None
) -> dict[str, Any] | None:
    """One asset (as in `btt_assets`) with `holdings` (account, amount; escrow not included) in account order and
    `offers` (the open offers, oldest first, each with its undiscounted trade fee), each a page of at most `limit`
    (default 100, at most 200) after `holdersAfter` (an account) and `offersAfter` (an offer id), found by a seek;
    `holdingsNext` and `offersNext` are where the next pages start (null: no more); and `mintFee` (what tokenising
    costs its owner now, staker discount included; null unless the asset is verified and not tokenised), or null."""
    reader, state = state_views(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    asset = storage.assets.get(state, aid)
    if asset is None:
        return None
    out = render_asset(reader, state, asset, prefix)
    holders = _holders(reader, aid, count, holders_after)
    n = len(storage.holdings.prefix) + 8
    out["holdings"] = [
        {"account": encode_address(key[n:], prefix), "amount": str(storage.holdings.codec.decode(raw))}
        for key, raw in holders.items
    ]
    out["holdingsNext"] = None if holders.next is None else encode_address(holders.next[n:], prefix)
    offer_ids, complete = _offer_ids(reader, aid, count, offers_after)
    out["offers"] = [render_offer(state, o, prefix) for o in (storage.offers.get(state, i) for i in offer_ids)
                     if o is not None]
    out["offersNext"] = None if complete or not offer_ids else offer_ids[-1]
    out["mintFee"] = render_fee(logic.mint_fee(state, asset.owner, asset.valuation)) if asset.status == VERIFIED \
        else None
    return out


_SELLER = wire_index(Offer, "seller")
_STATUS = wire_index(Asset, "status")


@method(
    "btt_assetHoldings",
    Param("account", p.account),
    optional("at", p.block_hash),
    optional("after", asset_id),
)
def btt_asset_holdings(ctx: RpcContext, who: bytes, at: bytes | None, after: int | None) -> list[dict[str, Any]]:
    """Every tokenised asset `account` holds fractions of or offers, in id order after the id `after`: held,
    escrowed in its open offers, and their total, with the token's symbol, decimals and supply, and whether the
    asset is frozen. One call reads at most 500 asset ids ([after + 1, after + 500]: page on with `after` + 500)
    and 250 open offers (`escrowComplete` false on the rows whose offers were not all read)."""
    reader, state = state_views(ctx, at)
    first = 0 if after is None else after + 1
    end = min(storage.next_asset_id.get(state), first + HOLDING_IDS_SCANNED)
    offers_left = OFFERS_SCANNED
    out = []
    for aid in range(first, end):
        raw = state.get(storage.assets.key(aid))
        if raw is None or wire_of(Asset, raw)[_STATUS] != TOKENISED:
            continue
        held = storage.holdings.get(state, (aid, who))
        offer_ids, complete = _offer_ids(reader, aid, max(offers_left, 0))
        offers_left -= len(offer_ids)
        offered = 0
        for oid in offer_ids:
            offer_raw = state.get(storage.offers.key(oid))
            if offer_raw is not None:
                wire = wire_of(Offer, offer_raw)
                if wire[_SELLER] == who:
                    offered += storage.offers.codec.decode(offer_raw).amount
        if held or offered:
            asset = storage.assets.get(state, aid)
            out.append({
                "assetId": asset.id,
                "symbol": asset.symbol,
                "decimals": asset.decimals,
                "supply": str(asset.supply),
                "held": str(held),
                "escrowed": str(offered),
                "total": str(held + offered),
                "frozen": asset.frozen,
                "escrowComplete": complete,
            })
    return out
