"""Asset registry rules: register, verify, tokenise, move fractions, trade them through escrowed offers, revalue,
freeze and retire; the asset fees with their burn; and the reads the RPC uses.

Every call checks first and writes last, so a refused call changes nothing even outside a snapshot. For every
asset, the holdings plus the fractions escrowed by its open offers always add up to its supply.

Fees (TOKENOMICS.md, Fees and burns): gross = base x rate (rounded down), less the payer's fee discount as a
180-day-or-longer staker (`fees.discounts`, rounded down); of the fee paid, the burn share (rounded down) is
burned and the rest goes to the treasury module account.
"""

from __future__ import annotations

from collections.abc import Iterator

from btt_chain.primitives.accounts import module_account
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..assets import errors, events, params, storage
from ..assets.types import (
    ASSET_CLASSES,
    BPS,
    MAX_DECIMALS,
    MAX_SYMBOL,
    MIN_SYMBOL,
    PENDING,
    REJECTED,
    RETIRED,
    STATUSES,
    SYMBOL_CHARS,
    TOKENISED,
    VERIFIED,
    Asset,
    FeeSplit,
    Offer,
)
from ..balances import events as balances_events
from ..balances import logic as balances
from ..balances.locks import get_current_account, refresh_frozen
from ..fees import discounts
from ..items import u64_from_key, u64_key
from ..params.storage import get_param
from ..roles import logic as roles
from ..system import events as system_events
from ..system import storage as system

TREASURY = "treasury"
"""The module account that receives the unburned part of every asset fee."""


# --- fees ----------------------------------------------------------------------------------------


def compute_fee(state: Overlay, payer: bytes, base: int, rate_param: str, burn_param: str) -> FeeSplit:
    """The fee on `base` at the rate `rate_param`, with `payer`'s staker discount, and its burn at `burn_param`."""
    gross = base * get_param(state, rate_param) // BPS
    discount = discounts.apply_discount(gross, discounts.get_fee_discount_bps(state, payer))
    burned = (gross - discount) * get_param(state, burn_param) // BPS
    return FeeSplit(gross, discount, burned, gross - discount - burned)


def mint_fee(state: Overlay, owner: bytes, valuation: int) -> FeeSplit:
    return compute_fee(state, owner, valuation, params.MINT_FEE, params.MINT_FEE_BURN)


def trade_fee(state: Overlay, buyer: bytes, price: int) -> FeeSplit:
    return compute_fee(state, buyer, price, params.TRADE_FEE, params.TRADE_FEE_BURN)


def revalue_fee(state: Overlay, owner: bytes, valuation: int) -> FeeSplit:
    return compute_fee(state, owner, valuation, params.REVALUE_FEE, params.REVALUE_FEE_BURN)


def check_can_pay(ctx: CallContext, payer: bytes, total: int) -> None:
    """Refuse unless `payer` can spend `total` and keep at least the existential deposit (it holds fractions and
    will pay fees again)."""
    if total == 0:
        return
    acc = get_current_account(ctx, payer)
    if acc.spendable < total:
        raise errors.CannotPay(f"spendable {acc.spendable}, needed {total}")
    ed = ctx.param(balances.ED_PARAM)
    if acc.total - total < ed:
        raise errors.CannotPay(f"paying {total} would leave {acc.total - total}, below the existential deposit {ed}")


def pay(ctx: CallContext, payer: bytes, fee: FeeSplit, price: int = 0, seller: bytes | None = None) -> None:
    """Burn the fee's burn share, pay its rest to the treasury and `price` to `seller`. The caller has checked
    `check_can_pay(payer, price + fee.fee)`."""
    refresh_frozen(ctx, payer)
    if fee.burned:
        balances.burn(ctx, payer, fee.burned, keep_alive=False)
    if seller is not None:
        _move(ctx, payer, seller, price)
    _move(ctx, payer, module_account(TREASURY), fee.to_treasury)


def _move(ctx: CallContext, source: bytes, dest: bytes, amount: int) -> None:
    """Move checked spendable balance. The recipient may be new and receive less than the existential deposit
    (a small fee share to an empty treasury), which `balances.transfer` would refuse."""
    if amount == 0:
        return
    src = system.account.get(ctx.state, source)
    new_account = system.account.get(ctx.state, dest).total == 0
    system.account.put(ctx.state, source, src.replace(free=src.free - amount))
    balances.deposit(ctx, dest, amount)
    ctx.emit(balances_events.Transfer(source, dest, amount))
    if new_account:
        ctx.emit(system_events.NewAccount(dest))


# --- checks --------------------------------------------------------------------------------------


def get_asset(state: Overlay, asset_id: int) -> Asset:
    asset = storage.assets.get(state, asset_id)
    if asset is None:
        raise errors.UnknownAsset(f"no asset {asset_id}")
    return asset


def check_verifier(state: Overlay, who: bytes) -> None:
    if not roles.is_verifier(state, who):
        raise errors.NotVerifier()


def check_symbol(symbol: str) -> None:
    if not MIN_SYMBOL <= len(symbol) <= MAX_SYMBOL or not set(symbol) <= SYMBOL_CHARS:
        raise errors.BadSymbol(f"{symbol!r}: use {MIN_SYMBOL} to {MAX_SYMBOL} characters of A-Z and 0-9")


def _check_not_retired(asset: Asset) -> None:
    if asset.status == RETIRED:
        raise errors.AssetRetired(f"asset {asset.id} is retired")


def _check_not_frozen(asset: Asset) -> None:
    if asset.frozen:
        raise errors.AssetFrozen(f"asset {asset.id} is frozen")


def get_tradable(state: Overlay, asset_id: int) -> Asset:
    """A tokenised asset that is not frozen: its fractions may move."""
    asset = get_asset(state, asset_id)
    _check_not_retired(asset)
    if asset.status != TOKENISED:
        raise errors.NotTokenised(f"asset {asset_id} is {_status_name(asset)}")
    _check_not_frozen(asset)
    return asset


def check_holding(asset: Asset, after: int, whose: str) -> None:
    """A holding is 0 or at least the asset's minimum balance."""
    if 0 < after < asset.min_balance:
        raise errors.BelowMinBalance(
            f"{whose} would hold {after}, below the minimum balance {asset.min_balance} of {asset.symbol}"
        )


def _status_name(asset: Asset) -> str:
    return STATUSES[asset.status]


def _set_holding(state: Overlay, asset_id: int, who: bytes, amount: int) -> None:
    if amount == 0:
        storage.holdings.remove(state, (asset_id, who))
    else:
        storage.holdings.put(state, (asset_id, who), amount)


def get_offer(state: Overlay, offer_id: int) -> Offer:
    offer = storage.offers.get(state, offer_id)
    if offer is None:
        raise errors.UnknownOffer(f"no open offer {offer_id}")
    return offer


# --- calls ---------------------------------------------------------------------------------------


def register(ctx: CallContext, who: bytes, asset_class: int, metadata_hash: bytes, valuation: int) -> int:
    if asset_class >= len(ASSET_CLASSES):
        raise errors.UnknownClass(f"class {asset_class} is not one of 0..{len(ASSET_CLASSES) - 1}")
    if valuation == 0:
        raise errors.ZeroValuation()
    asset_id = storage.next_asset_id.get(ctx.state)
    asset = Asset(asset_id, who, asset_class, metadata_hash, valuation, PENDING, registered_block=ctx.env.number)
    storage.assets.put(ctx.state, asset_id, asset)
    storage.next_asset_id.put(ctx.state, asset_id + 1)
    ctx.emit(events.Registered(asset_id, who, asset_class, metadata_hash, valuation))
    return asset_id


def verify(ctx: CallContext, who: bytes, asset_id: int, approve: bool, report_hash: bytes) -> None:
    check_verifier(ctx.state, who)
    asset = get_asset(ctx.state, asset_id)
    if asset.status != PENDING:
        raise errors.NotPending(f"asset {asset_id} is {_status_name(asset)}")
    if asset.owner == who:
        raise errors.OwnAsset()
    status = VERIFIED if approve else REJECTED
    storage.assets.put(ctx.state, asset_id, asset.replace(status=status, report_hash=report_hash, verifier=who))
    ctx.emit(events.Verified(asset_id, who, approve, report_hash))


def tokenize(
    ctx: CallContext, who: bytes, asset_id: int, symbol: str, supply: int, decimals: int, min_balance: int
) -> None:
    state = ctx.state
    asset = get_asset(state, asset_id)
    if asset.owner != who:
        raise errors.NotOwner()
    _check_not_retired(asset)
    if asset.status != VERIFIED:
        raise errors.NotVerified(f"asset {asset_id} is {_status_name(asset)}")
    _check_not_frozen(asset)
    check_symbol(symbol)
    if storage.symbols.contains(state, symbol):
        raise errors.SymbolTaken(f"{symbol} belongs to asset {storage.symbols.get(state, symbol)}")
    if supply == 0:
        raise errors.ZeroSupply()
    if decimals > MAX_DECIMALS:
        raise errors.TooManyDecimals(f"{decimals} decimals, at most {MAX_DECIMALS}")
    if min_balance > supply:
        raise errors.MinBalanceAboveSupply(f"minimum balance {min_balance} above the supply {supply}")
    fee = mint_fee(state, who, asset.valuation)
    check_can_pay(ctx, who, fee.fee)
    pay(ctx, who, fee)
    storage.assets.put(
        state,
        asset_id,
        asset.replace(status=TOKENISED, symbol=symbol, supply=supply, decimals=decimals, min_balance=min_balance),
    )
    storage.symbols.put(state, symbol, asset_id)
    _set_holding(state, asset_id, who, supply)
    ctx.emit(events.Tokenised(asset_id, who, symbol, supply, decimals, min_balance, fee.fee, fee.discount, fee.burned))


def transfer(ctx: CallContext, who: bytes, asset_id: int, dest: bytes, amount: int) -> None:
    state = ctx.state
    asset = get_tradable(state, asset_id)
    if amount == 0:
        raise errors.ZeroAmount()
    if dest == who:
        raise errors.SelfTransfer()
    held = storage.holdings.get(state, (asset_id, who))
    if held < amount:
        raise errors.InsufficientFractions(f"holds {held} of {asset.symbol}, sends {amount}")
    received = storage.holdings.get(state, (asset_id, dest)) + amount
    check_holding(asset, held - amount, "the sender")
    check_holding(asset, received, "the recipient")
    _set_holding(state, asset_id, who, held - amount)
    _set_holding(state, asset_id, dest, received)
    ctx.emit(events.Transferred(asset_id, who, dest, amount))


def offer(ctx: CallContext, who: bytes, asset_id: int, amount: int, price: int) -> int:
    """Post a sell offer; `amount` leaves the seller's holding for the offer's escrow. The amount must reach the
    minimum balance, so that the buyer's holding, or the seller's after a cancel, is never below it."""
    state = ctx.state
    asset = get_tradable(state, asset_id)
    if amount == 0:
        raise errors.ZeroAmount()
    if price == 0:
        raise errors.ZeroPrice()
    held = storage.holdings.get(state, (asset_id, who))
    if held < amount:
        raise errors.InsufficientFractions(f"holds {held} of {asset.symbol}, offers {amount}")
    if amount < asset.min_balance:
        raise errors.BelowMinBalance(f"an offer of {amount} is below the minimum balance {asset.min_balance}")
    check_holding(asset, held - amount, "the seller")
    offer_id = storage.next_offer_id.get(state)
    _set_holding(state, asset_id, who, held - amount)
    storage.offers.put(state, offer_id, Offer(offer_id, asset_id, who, amount, price, ctx.env.number))
    storage.asset_offers.put(state, (asset_id, offer_id), True)
    storage.next_offer_id.put(state, offer_id + 1)
    ctx.emit(events.OfferPosted(offer_id, asset_id, who, amount, price))
    return offer_id


def cancel_offer(ctx: CallContext, who: bytes, offer_id: int) -> None:
    """The seller withdraws an open offer (allowed while the asset is frozen: no fraction changes hands)."""
    state = ctx.state
    o = get_offer(state, offer_id)
    if o.seller != who:
        raise errors.NotSeller()
    held = storage.holdings.get(state, (o.asset_id, who))
    _set_holding(state, o.asset_id, who, held + o.amount)
    _close_offer(state, o)
    ctx.emit(events.OfferCancelled(offer_id, o.asset_id, who, o.amount))


def accept(ctx: CallContext, who: bytes, offer_id: int) -> None:
    """The buyer pays the price to the seller and the trade fee, and receives the escrowed fractions."""
    state = ctx.state
    o = get_offer(state, offer_id)
    if o.seller == who:
        raise errors.OwnOffer()
    get_tradable(state, o.asset_id)
    fee = trade_fee(state, who, o.price)
    check_can_pay(ctx, who, o.price + fee.fee)
    pay(ctx, who, fee, o.price, o.seller)
    _set_holding(state, o.asset_id, who, storage.holdings.get(state, (o.asset_id, who)) + o.amount)
    _close_offer(state, o)
    ctx.emit(events.OfferAccepted(offer_id, o.asset_id, o.seller, who, o.amount, o.price, fee.fee, fee.discount,
                                  fee.burned))


def _close_offer(state: Overlay, o: Offer) -> None:
    storage.offers.remove(state, o.id)
    storage.asset_offers.remove(state, (o.asset_id, o.id))


def revalue(ctx: CallContext, who: bytes, asset_id: int, new_valuation: int, report_hash: bytes) -> None:
    """A verifier sets a new valuation; the owner pays the revaluation fee on it (allowed while frozen)."""
    state = ctx.state
    check_verifier(state, who)
    asset = get_asset(state, asset_id)
    _check_not_retired(asset)
    if asset.status not in (VERIFIED, TOKENISED):
        raise errors.NotValued(f"asset {asset_id} is {_status_name(asset)}")
    if asset.owner == who:
        raise errors.OwnAsset()
    if new_valuation == 0:
        raise errors.ZeroValuation()
    fee = revalue_fee(state, asset.owner, new_valuation)
    check_can_pay(ctx, asset.owner, fee.fee)
    pay(ctx, asset.owner, fee)
    storage.assets.put(state, asset_id, asset.replace(valuation=new_valuation, report_hash=report_hash))
    ctx.emit(events.Revalued(asset_id, who, asset.valuation, new_valuation, report_hash, fee.fee, fee.discount,
                             fee.burned))


def set_frozen(ctx: CallContext, asset_id: int, frozen: bool, by_governance: bool) -> None:
    """Freeze (any asset neither rejected nor retired) or thaw a frozen asset. The caller checked the origin."""
    asset = get_asset(ctx.state, asset_id)
    if frozen:
        _check_not_retired(asset)
        if asset.status == REJECTED:
            raise errors.AssetRejected(f"asset {asset_id} was rejected")
        if asset.frozen:
            raise errors.AlreadyFrozen(f"asset {asset_id} is frozen already")
    elif not asset.frozen:
        raise errors.NotFrozen(f"asset {asset_id} is not frozen")
    storage.assets.put(ctx.state, asset_id, asset.replace(frozen=frozen))
    ctx.emit(events.Frozen(asset_id, by_governance) if frozen else events.Thawed(asset_id, by_governance))


def retire(ctx: CallContext, who: bytes, asset_id: int) -> None:
    """The owner retires its asset; a tokenised one only with the whole supply in its own holding (which means no
    other holder and no open offer), and the fractions are gone with it. The symbol stays taken."""
    state = ctx.state
    asset = get_asset(state, asset_id)
    if asset.owner != who:
        raise errors.NotOwner()
    _check_not_retired(asset)
    _check_not_frozen(asset)
    supply = 0
    if asset.status == TOKENISED:
        held = storage.holdings.get(state, (asset_id, who))
        if held != asset.supply:
            raise errors.SupplyNotHeld(f"the owner holds {held} of the supply {asset.supply}")
        supply = asset.supply
        _set_holding(state, asset_id, who, 0)
    storage.assets.put(state, asset_id, asset.replace(status=RETIRED))
    ctx.emit(events.Retired(asset_id, who, supply))


# --- reads (RPC, tests) --------------------------------------------------------------------------


def all_assets(state: Overlay) -> Iterator[Asset]:
    """Every asset in id order."""
    for _, asset in storage.assets.items(state):
        yield asset


def holders_of(state: Overlay, asset_id: int) -> list[tuple[bytes, int]]:
    """(account, amount) of every holder of the asset, in account order (escrowed fractions not included)."""
    prefix = storage.holdings.prefix + storage.holding_key((asset_id, b""))
    return [(key[len(prefix):], storage.holdings.codec.decode(raw)) for key, raw in state.iterate(prefix)]


def offers_of(state: Overlay, asset_id: int) -> list[Offer]:
    """The asset's open offers, oldest first."""
    prefix = storage.asset_offers.prefix + u64_key(asset_id)
    out = []
    for key, _ in state.iterate(prefix):
        o = storage.offers.get(state, u64_from_key(key[len(prefix):]))
        if o is not None:
            out.append(o)
    return out


def escrowed(state: Overlay, asset_id: int) -> int:
    """Fractions of the asset held by its open offers."""
    return sum(o.amount for o in offers_of(state, asset_id))


def holdings_of(state: Overlay, who: bytes) -> list[tuple[Asset, int, int]]:
    """(asset, held, escrowed in `who`'s open offers) for every asset `who` holds or offers fractions of."""
    out = []
    for asset in all_assets(state):
        if asset.status != TOKENISED:
            continue
        held = storage.holdings.get(state, (asset.id, who))
        offered = sum(o.amount for o in offers_of(state, asset.id) if o.seller == who)
        if held or offered:
            out.append((asset, held, offered))
    return out
