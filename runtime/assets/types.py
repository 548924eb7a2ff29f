"""Types of the assets module: asset classes and statuses, the asset record, offers, and structural limits."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, HASH, U8, U64, Struct, Text

ASSET_CLASSES = ("equipment", "real_estate", "intellectual_property", "medical_data", "service_rights")
"""Asset class codes 0..4 (TOKENOMICS.md, Asset registry)."""

# asset statuses
PENDING = 0
"""Registered, waiting for a verifier."""
VERIFIED = 1
"""Approved by a verifier; the owner may tokenise it."""
REJECTED = 2
"""Refused by a verifier (terminal but for retirement)."""
TOKENISED = 3
"""Its fractions exist and trade."""
RETIRED = 4
"""Withdrawn by its owner (for a tokenised asset: with the whole supply back in the owner's hands)."""
STATUSES = ("pending", "verified", "rejected", "tokenised", "retired")

MIN_SYMBOL = 2
MAX_SYMBOL = 12
"""A token symbol is 2 to 12 characters of A-Z and 0-9."""
SYMBOL_ARG_LIMIT = 64
"""Decoding bound of the `symbol` argument: longer strings are refused at decoding, strings between MAX_SYMBOL
and this by the call, with a readable error."""
SYMBOL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
MAX_DECIMALS = 18
"""Most decimals a fractional token may have (as BTT)."""
BPS = 10_000


@dataclass(frozen=True)
class Asset(Struct):
    """One registered real-world asset and, once tokenised, its fractional token."""

    id: int
    owner: bytes
    """The account that registered it: pays its minting and revaluation fees, may retire it."""
    asset_class: int
    """Index into ASSET_CLASSES."""
    metadata_hash: bytes
    """Hash of the off-chain description (deeds, serial numbers, appraisal documents)."""
    valuation: int
    """Base units of BTT: the value at registration, or at the last revaluation."""
    status: int
    """Index into STATUSES."""
    frozen: bool = False
    """Frozen for compliance by a verifier or governance: no transfers, offers, acceptances, tokenisation or
    retirement until thawed."""
    report_hash: bytes = bytes(32)
    """Hash of the latest verification or revaluation report (zero until verified)."""
    verifier: bytes = bytes(32)
    """The verifier who approved or rejected it (zero while pending)."""
    registered_block: int = 0
    symbol: str = ""
    """The fractional token's symbol, unique across assets ("" until tokenised)."""
    supply: int = 0
    """Fractions in base units of the token (0 until tokenised)."""
    decimals: int = 0
    min_balance: int = 0
    """A holding of this asset is 0 or at least this many base units of the token."""

    WIRE = (
        ("id", U64),
        ("owner", ACCOUNT),
        ("asset_class", U8),
        ("metadata_hash", HASH),
        ("valuation", AMOUNT),
        ("status", U8),
        ("frozen", BOOL),
        ("report_hash", HASH),
        ("verifier", ACCOUNT),
        ("registered_block", U64),
        ("symbol", Text(MAX_SYMBOL)),
        ("supply", AMOUNT),
        ("decimals", U8),
        ("min_balance", AMOUNT),
    )


@dataclass(frozen=True)
class Offer(Struct):
    """A sell offer: `amount` fractions held in escrow by the offer until it is accepted or cancelled."""

    id: int
    asset_id: int
    seller: bytes
    amount: int
    """Base units of the asset's token, escrowed (taken from the seller's holding when posted)."""
    price: int
    """Base units of BTT the buyer pays the seller for the whole amount (the trade fee comes on top)."""
    posted_block: int

    WIRE = (
        ("id", U64),
        ("asset_id", U64),
        ("seller", ACCOUNT),
        ("amount", AMOUNT),
        ("price", AMOUNT),
        ("posted_block", U64),
    )


@dataclass(frozen=True)
class FeeSplit:
    """An asset fee to the base unit: `gross` at the parameter rate, `discount` off it for a 180-day-or-longer
    staker, `fee` = gross - discount paid, of which `burned` is destroyed and `to_treasury` goes to the treasury."""

    gross: int
    discount: int
    burned: int
    to_treasury: int

    @property
    def fee(self) -> int:
        return self.gross - self.discount
