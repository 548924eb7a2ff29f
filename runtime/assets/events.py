"""Events of the assets module. Fee-paying events give the fee paid (after any staker discount), the discount
and the part burned; the rest of the fee went to the treasury."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, HASH, U8, U64, Text
from runtime.events import Event

from ..assets.types import MAX_SYMBOL


@dataclass(frozen=True)
class Registered(Event):
    """An asset was registered, pending verification."""

    MODULE: ClassVar[str] = "assets"
    asset_id: int
    owner: bytes
    asset_class: int
    metadata_hash: bytes
    valuation: int
    WIRE = (("asset_id", U64), ("owner", ACCOUNT), ("asset_class", U8), ("metadata_hash", HASH),
            ("valuation", AMOUNT))


@dataclass(frozen=True)
class Verified(Event):
    """A verifier approved (`approved`) or rejected a pending asset, with its report's hash."""

    MODULE: ClassVar[str] = "assets"
    asset_id: int
    verifier: bytes
    approved: bool
    report_hash: bytes
    WIRE = (("asset_id", U64), ("verifier", ACCOUNT), ("approved", BOOL), ("report_hash", HASH))


@dataclass(frozen=True)
class Tokenised(Event):
    """The owner minted the asset's fractional token: the whole supply is its holding; it paid the minting fee."""

    MODULE: ClassVar[str] = "assets"
    asset_id: int
    owner: bytes
    symbol: str
    supply: int
    decimals: int
    min_balance: int
    fee: int
    discount: int
    burned: int
    WIRE = (("asset_id", U64), ("owner", ACCOUNT), ("symbol", Text(MAX_SYMBOL)), ("supply", AMOUNT),
            ("decimals", U8), ("min_balance", AMOUNT), ("fee", AMOUNT), ("discount", AMOUNT), ("burned", AMOUNT))


@dataclass(frozen=True)
class Transferred(Event):
    """Fractions moved between holders."""

    MODULE: ClassVar[str] = "assets"
    asset_id: int
    source: bytes
    dest: bytes
    amount: int
    WIRE = (("asset_id", U64), ("source", ACCOUNT), ("dest", ACCOUNT), ("amount", AMOUNT))


@dataclass(frozen=True)
class OfferPosted(Event):
    """A seller offered fractions for a price in BTT; the fractions are in the offer's escrow."""

    MODULE: ClassVar[str] = "assets"
    offer_id: int
    asset_id: int
    seller: bytes
    amount: int
    price: int
    WIRE = (("offer_id", U64), ("asset_id", U64), ("seller", ACCOUNT), ("amount", AMOUNT), ("price", AMOUNT))


@dataclass(frozen=True)
class OfferCancelled(Event):
    """The seller withdrew an offer; its escrowed fractions are back in the seller's holding."""

    MODULE: ClassVar[str] = "assets"
    offer_id: int
    asset_id: int
    seller: bytes
    amount: int
    WIRE = (("offer_id", U64), ("asset_id", U64), ("seller", ACCOUNT), ("amount", AMOUNT))


@dataclass(frozen=True)
class OfferAccepted(Event):
    """A buyer took an offer: it paid `price` to the seller and the trade fee, and holds the fractions."""

    MODULE: ClassVar[str] = "assets"
    offer_id: int
    asset_id: int
    seller: bytes
    buyer: bytes
    amount: int
    price: int
    fee: int
    discount: int
    burned: int
    WIRE = (("offer_id", U64), ("asset_id", U64), ("seller", ACCOUNT), ("buyer", ACCOUNT), ("amount", AMOUNT),
            ("price", AMOUNT), ("fee", AMOUNT), ("discount", AMOUNT), ("burned", AMOUNT))


@dataclass(frozen=True)
class Revalued(Event):
    """A verifier set a new valuation with its report's hash; the owner paid the revaluation fee."""

    MODULE: ClassVar[str] = "assets"
    asset_id: int
    verifier: bytes
    old_valuation: int
    new_valuation: int
    report_hash: bytes
    fee: int
    discount: int
    burned: int
    WIRE = (("asset_id", U64), ("verifier", ACCOUNT), ("old_valuation", AMOUNT), ("new_valuation", AMOUNT),
            ("report_hash", HASH), ("fee", AMOUNT), ("discount", AMOUNT), ("burned", AMOUNT))


@dataclass(frozen=True)
class Frozen(Event):
    """The asset was frozen for compliance by a verifier or by governance (`by_governance`)."""

    MODULE: ClassVar[str] = "assets"
    asset_id: int
    by_governance: bool
    WIRE = (("asset_id", U64), ("by_governance", BOOL))


@dataclass(frozen=True)
class Thawed(Event):
    """The asset was thawed by a verifier or by governance (`by_governance`)."""

    MODULE: ClassVar[str] = "assets"
    asset_id: int
    by_governance: bool
    WIRE = (("asset_id", U64), ("by_governance", BOOL))


@dataclass(frozen=True)
class Retired(Event):
    """The owner retired the asset; a tokenised asset's supply, all in the owner's hands, is gone with it."""

    MODULE: ClassVar[str] = "assets"
    asset_id: int
    owner: bytes
    supply: int
    WIRE = (("asset_id", U64), ("owner", ACCOUNT), ("supply", AMOUNT))


EVENTS = (
    Registered,
    Verified,
    Tokenised,
    Transferred,
    OfferPosted,
    OfferCancelled,
    OfferAccepted,
    Revalued,
    Frozen,
    Thawed,
    Retired,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
