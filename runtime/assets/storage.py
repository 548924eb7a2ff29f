"""Storage of the assets module: assets by id, holdings keyed (asset, account), offers by id with an index by
asset, and the symbol index.

Every key that is iterated starts with the asset id (u64, big-endian), so an asset's holders and offers are one
prefix scan each and come out in account and offer-id order.
"""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, U64, Nested

from ..assets.types import Asset, Offer
from ..items import ID_KEY, StorageMap, StorageValue, str_from_key, str_key, u64_from_key, u64_key

M = "assets"

assets: StorageMap[Asset] = StorageMap(M, "assets", Nested(Asset), u64_key, u64_from_key)
"""Asset id -> the asset (retired assets stay, with their final record)."""
next_asset_id: StorageValue[int] = StorageValue(M, "next_asset_id", U64, default=0)


def holding_key(key: tuple[int, bytes]) -> bytes:
    """(asset id, account) -> asset id (u64) | account (32 bytes): an asset's holders share a prefix."""
    asset_id, who = key
    return u64_key(asset_id) + who


def holding_from_key(raw: bytes) -> tuple[int, bytes]:
    return u64_from_key(raw[:8]), raw[8:]


holdings: StorageMap[int] = StorageMap(M, "holdings", AMOUNT, holding_key, holding_from_key, default=0,
                                      key_types=(ID_KEY, ACCOUNT))
"""(asset id, account) -> base units of the asset's token held (absent: none). Fractions escrowed by an open
offer are not in the seller's holding; they are the offer's `amount`."""

offers: StorageMap[Offer] = StorageMap(M, "offers", Nested(Offer), u64_key, u64_from_key)
"""Offer id -> an open offer (removed when accepted or cancelled)."""
next_offer_id: StorageValue[int] = StorageValue(M, "next_offer_id", U64, default=0)


def asset_offer_key(key: tuple[int, int]) -> bytes:
    """(asset id, offer id) -> both u64: an asset's open offers share a prefix."""
    asset_id, offer_id = key
    return u64_key(asset_id) + u64_key(offer_id)


def asset_offer_from_key(raw: bytes) -> tuple[int, int]:
    return u64_from_key(raw[:8]), u64_from_key(raw[8:])


asset_offers: StorageMap[bool] = StorageMap(M, "asset_offers", BOOL, asset_offer_key, asset_offer_from_key,
                                            key_size=16)
"""(asset id, offer id) -> True for each open offer of the asset."""

symbols: StorageMap[int] = StorageMap(M, "symbols", U64, str_key, str_from_key)
"""Token symbol -> the asset id that took it (kept after retirement: a symbol names one asset for good)."""
