"""Errors of the assets module."""

from __future__ import annotations

from runtime.errors import ModuleError


class AssetsError(ModuleError):
    MODULE = "assets"


class UnknownAsset(AssetsError):
    """No asset with that id is registered."""


class UnknownClass(AssetsError):
    """Not an asset class: 0 equipment, 1 real_estate, 2 intellectual_property, 3 medical_data, 4 service_rights."""


class ZeroValuation(AssetsError):
    """A valuation must be above zero."""


class NotVerifier(AssetsError):
    """Only an appointed asset verifier may make this call."""


class NotOwner(AssetsError):
    """Only the asset's owner may make this call."""


class OwnAsset(AssetsError):
    """A verifier may not verify or revalue an asset it owns."""


class NotPending(AssetsError):
    """The asset is not waiting for verification."""


class NotVerified(AssetsError):
    """Only a verified asset that is not tokenised yet may be tokenised."""


class NotTokenised(AssetsError):
    """The asset has no fractional token."""


class NotValued(AssetsError):
    """Only a verified or tokenised asset may be revalued."""


class AssetRetired(AssetsError):
    """The asset has been retired."""


class AssetRejected(AssetsError):
    """The asset was rejected by a verifier."""


class AssetFrozen(AssetsError):
    """The asset is frozen for compliance; its fractions do not move until it is thawed."""


class AlreadyFrozen(AssetsError):
    """The asset is frozen already."""


class NotFrozen(AssetsError):
    """The asset is not frozen."""


class BadSymbol(AssetsError):
    """A token symbol is 2 to 12 characters of A-Z and 0-9."""


class SymbolTaken(AssetsError):
    """Another asset's token has that symbol."""


class ZeroSupply(AssetsError):
    """A token's supply must be above zero."""


class TooManyDecimals(AssetsError):
    """A token has at most 18 decimals."""


class MinBalanceAboveSupply(AssetsError):
    """The minimum balance may not exceed the supply."""


class ZeroAmount(AssetsError):
    """The amount of fractions must be above zero."""


class ZeroPrice(AssetsError):
    """An offer's price must be above zero (give fractions away with a transfer)."""


class SelfTransfer(AssetsError):
    """Fractions cannot be sent to their own holder."""


class InsufficientFractions(AssetsError):
    """The holder has fewer fractions of the asset than the amount."""


class BelowMinBalance(AssetsError):
    """A holding would be above zero but below the asset's minimum balance."""


class UnknownOffer(AssetsError):
    """No open offer with that id (it may have been accepted or cancelled)."""


class NotSeller(AssetsError):
    """Only the seller may cancel the offer."""


class OwnOffer(AssetsError):
    """A seller may not accept its own offer (cancel it instead)."""


class CannotPay(AssetsError):
    """The payer's spendable balance does not cover the payment and fee, or would fall below the existential
    deposit."""


class SupplyNotHeld(AssetsError):
    """The owner must hold the whole supply (no holdings elsewhere, no open offers) to retire the asset."""


ERRORS = (
    UnknownAsset,
    UnknownClass,
    ZeroValuation,
    NotVerifier,
    NotOwner,
    OwnAsset,
    NotPending,
    NotVerified,
    NotTokenised,
    NotValued,
    AssetRetired,
    AssetRejected,
    AssetFrozen,
    AlreadyFrozen,
    NotFrozen,
    BadSymbol,
    SymbolTaken,
    ZeroSupply,
    TooManyDecimals,
    MinBalanceAboveSupply,
    ZeroAmount,
    ZeroPrice,
    SelfTransfer,
    InsufficientFractions,
    BelowMinBalance,
    UnknownOffer,
    NotSeller,
    OwnOffer,
    CannotPay,
    SupplyNotHeld,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
