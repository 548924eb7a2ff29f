"""Dispatchable calls of the assets module.

Signed origins throughout; `freeze` and `thaw` also take a governance origin. Roles: the owner tokenises and
retires; an appointed verifier (`roles.appoint_verifier`) verifies, revalues, freezes and thaws; any holder
transfers and offers; any account but the seller accepts an offer.
"""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, HASH, U8, U64, Text
from runtime.context import CallContext, Origin, ensure_governance, ensure_signed
from runtime.dispatch import CallDef, ModuleDef

from ..assets import logic
from ..assets.types import SYMBOL_ARG_LIMIT


def register(ctx: CallContext, origin: Origin, asset_class: int, metadata_hash: bytes, valuation: int) -> None:
    """Register an asset of a class (0 equipment, 1 real_estate, 2 intellectual_property, 3 medical_data,
    4 service_rights) with the hash of its documents and a valuation in base units; it waits for a verifier."""
    logic.register(ctx, ensure_signed(origin), asset_class, metadata_hash, valuation)


def verify(ctx: CallContext, origin: Origin, asset_id: int, approve: bool, report_hash: bytes) -> None:
    """A verifier approves or rejects a pending asset, with the hash of its report."""
    logic.verify(ctx, ensure_signed(origin), asset_id, approve, report_hash)


def tokenize(
    ctx: CallContext, origin: Origin, asset_id: int, symbol: str, supply: int, decimals: int, min_balance: int
) -> None:
    """The owner of a verified asset mints its fractional token (the whole supply to itself) and pays the
    minting fee: `assets.mint_fee_bps` of the valuation, less a 180-day staker's discount; a share burned."""
    logic.tokenize(ctx, ensure_signed(origin), asset_id, symbol, supply, decimals, min_balance)


def transfer(ctx: CallContext, origin: Origin, asset_id: int, dest: bytes, amount: int) -> None:
    """Send fractions; each side's holding stays 0 or at least the asset's minimum balance."""
    logic.transfer(ctx, ensure_signed(origin), asset_id, dest, amount)


def offer(ctx: CallContext, origin: Origin, asset_id: int, amount: int, price: int) -> None:
    """Offer fractions for a price in BTT; they wait in the offer's escrow until accepted or cancelled."""
    logic.offer(ctx, ensure_signed(origin), asset_id, amount, price)


def cancel_offer(ctx: CallContext, origin: Origin, offer_id: int) -> None:
    """The seller withdraws an open offer; its fractions return to the seller."""
    logic.cancel_offer(ctx, ensure_signed(origin), offer_id)


def accept(ctx: CallContext, origin: Origin, offer_id: int) -> None:
    """Buy an offer whole: pay its price to the seller plus the trade fee (`assets.trade_fee_bps`, a share
    burned), receive its fractions; all or nothing."""
    logic.accept(ctx, ensure_signed(origin), offer_id)


def revalue(ctx: CallContext, origin: Origin, asset_id: int, new_valuation: int, report_hash: bytes) -> None:
    """A verifier sets a new valuation with its report's hash; the owner pays `assets.revalue_fee_bps` of it."""
    logic.revalue(ctx, ensure_signed(origin), asset_id, new_valuation, report_hash)


def _verifier_or_governance(ctx: CallContext, origin: Origin) -> bool:
    """Accept a signed verifier or a governance origin; True for governance."""
    if origin.kind == "signed" and origin.account is not None:
        logic.check_verifier(ctx.state, origin.account)
        return False
    ensure_governance(origin)
    return True


def freeze(ctx: CallContext, origin: Origin, asset_id: int) -> None:
    """A verifier or governance freezes an asset for compliance: its fractions stop moving."""
    logic.set_frozen(ctx, asset_id, True, _verifier_or_governance(ctx, origin))


def thaw(ctx: CallContext, origin: Origin, asset_id: int) -> None:
    """A verifier or governance lifts a compliance freeze."""
    logic.set_frozen(ctx, asset_id, False, _verifier_or_governance(ctx, origin))


def retire(ctx: CallContext, origin: Origin, asset_id: int) -> None:
    """The owner retires its asset; a tokenised one needs the whole supply back in the owner's holding."""
    logic.retire(ctx, ensure_signed(origin), asset_id)


_ASSET = ("asset_id", U64)
_OFFER = ("offer_id", U64)

MODULE = ModuleDef(
    index=14,
    name="assets",
    calls=(
        CallDef(0, "register", (("asset_class", U8), ("metadata_hash", HASH), ("valuation", AMOUNT)), 200,
                register, register.__doc__ or ""),
        CallDef(1, "verify", (_ASSET, ("approve", BOOL), ("report_hash", HASH)), 150, verify, verify.__doc__ or ""),
        CallDef(2, "tokenize", (_ASSET, ("symbol", Text(SYMBOL_ARG_LIMIT)), ("supply", AMOUNT), ("decimals", U8),
                                ("min_balance", AMOUNT)), 300, tokenize, tokenize.__doc__ or ""),
        CallDef(3, "transfer", (_ASSET, ("dest", ACCOUNT), ("amount", AMOUNT)), 150, transfer,
                transfer.__doc__ or ""),
        CallDef(4, "offer", (_ASSET, ("amount", AMOUNT), ("price", AMOUNT)), 200, offer, offer.__doc__ or ""),
        CallDef(5, "cancel_offer", (_OFFER,), 150, cancel_offer, cancel_offer.__doc__ or ""),
        CallDef(6, "accept", (_OFFER,), 300, accept, accept.__doc__ or ""),
        CallDef(7, "revalue", (_ASSET, ("new_valuation", AMOUNT), ("report_hash", HASH)), 200, revalue,
                revalue.__doc__ or ""),
        CallDef(8, "freeze", (_ASSET,), 100, freeze, freeze.__doc__ or ""),
        CallDef(9, "thaw", (_ASSET,), 100, thaw, thaw.__doc__ or ""),
        CallDef(10, "retire", (_ASSET,), 150, retire, retire.__doc__ or ""),
    ),
)
