"""assets: register, verify, tokenise, transfer fractions, trade them through escrowed offers, revalue, freeze
and thaw, retire. Every fee and burn to the base unit (the issue's 50,000 BTT machine paying 1,000 BTT with 30
burned; a 180-day staker's 20% off), every refusal leaving storage unchanged, and a randomized trading run in
which every asset's holdings plus its escrowed offers equal its supply after every step."""

from __future__ import annotations

import random

import pytest

from btt_chain.primitives.accounts import module_account
from runtime.assets import events, logic, storage
from runtime.assets.types import PENDING, REJECTED, RETIRED, TOKENISED, VERIFIED, Asset, Offer
from runtime.context import EMERGENCY, GOVERNANCE, ROOT, Origin
from runtime.system import storage as system
from tests.support.runtime_builder import (
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_dispatch_noop,
    assert_last_event,
    assert_noop,
    assert_ok,
)

TREASURY = module_account("treasury")
DOCS = b"\x11" * 32
REPORT = b"\x22" * 32
REPORT2 = b"\x33" * 32
MACHINE = 50_000 * UNIT
"""The issue's panoramic X-ray machine."""
FRACTIONS = 1_000_000
EQUIPMENT, REAL_ESTATE, SERVICE_RIGHTS = 0, 1, 4


def make_chain(**balances: int) -> TestChain:
    """bob is the clinic, charlie the appointed verifier, dave and eve buyers."""
    funds = {"alice": 1_000, "bob": 100_000, "charlie": 1_000, "dave": 100_000, "eve": 1_000, "ferdie": 1_000}
    funds.update(balances)
    chain = GenesisBuilder(balances=funds).build()
    chain.dispatch(GOVERNANCE, "roles.appoint_verifier", acct("charlie"))
    return chain


@pytest.fixture
def chain() -> TestChain:
    return make_chain()


def issuance(chain: TestChain) -> int:
    return system.total_issuance.get(chain.view())


def free(chain: TestChain, who: bytes | str) -> int:
    return chain.account(who).free


def asset_of(chain: TestChain, asset_id: int) -> Asset:
    found = storage.assets.get(chain.view(), asset_id)
    assert found is not None
    return found


def holding(chain: TestChain, asset_id: int, who: str) -> int:
    return storage.holdings.get(chain.view(), (asset_id, acct(who)))


def ok(chain: TestChain, who: str, call: str, *args: object) -> int:
    """Submit and check success; the inclusion fee paid."""
    outcome = chain.submit(who, call, *args)
    assert_ok(outcome)
    return outcome.fee


def registered(chain: TestChain, owner: str = "bob", valuation: int = MACHINE, asset_class: int = EQUIPMENT) -> int:
    asset_id = storage.next_asset_id.get(chain.view())
    ok(chain, owner, "assets.register", asset_class, DOCS, valuation)
    return asset_id


def verified(chain: TestChain, owner: str = "bob", valuation: int = MACHINE) -> int:
    asset_id = registered(chain, owner, valuation)
    ok(chain, "charlie", "assets.verify", asset_id, True, REPORT)
    return asset_id


def tokenised(chain: TestChain, owner: str = "bob", symbol: str = "XRAY", supply: int = FRACTIONS,
              min_balance: int = 0, valuation: int = MACHINE) -> int:
    asset_id = verified(chain, owner, valuation)
    ok(chain, owner, "assets.tokenize", asset_id, symbol, supply, 0, min_balance)
    return asset_id


def verified_by(chain: TestChain, verifier: str) -> int:
    asset_id = registered(chain)
    ok(chain, verifier, "assets.verify", asset_id, True, REPORT)
    return asset_id


def offered(chain: TestChain, asset_id: int, seller: str, amount: int, price: int) -> int:
    offer_id = storage.next_offer_id.get(chain.view())
    ok(chain, seller, "assets.offer", asset_id, amount, price)
    return offer_id


def check_supply(chain: TestChain) -> None:
    """For every asset: its holdings plus the fractions in its open offers equal its supply (0 once retired)."""
    view = chain.view()
    for asset in logic.all_assets(view):
        held = sum(amount for _, amount in logic.holders_of(view, asset.id))
        expected = asset.supply if asset.status == TOKENISED else 0
        assert held + logic.escrowed(view, asset.id) == expected, asset
        assert all(amount >= max(1, asset.min_balance) for _, amount in logic.holders_of(view, asset.id))
    indexed = sorted(o.id for asset in logic.all_assets(view) for o in logic.offers_of(view, asset.id))
    assert indexed == [offer_id for offer_id, _ in storage.offers.items(view)]


# --- register -------------------------------------------------------------------------------------------


def test_register_makes_a_pending_asset_owned_by_the_caller(chain):
    assert registered(chain) == 0
    assert_last_event(chain, events.Registered(0, acct("bob"), EQUIPMENT, DOCS, MACHINE))
    assert asset_of(chain, 0) == Asset(0, acct("bob"), EQUIPMENT, DOCS, MACHINE, PENDING,
                                       registered_block=chain.number)
    assert registered(chain, "dave", UNIT, SERVICE_RIGHTS) == 1
    assert asset_of(chain, 1).owner == acct("dave") and storage.next_asset_id.get(chain.view()) == 2


def test_registering_costs_only_the_inclusion_fee(chain):
    bob, total = free(chain, "bob"), issuance(chain)
    fee = ok(chain, "bob", "assets.register", REAL_ESTATE, DOCS, MACHINE)
    assert free(chain, "bob") == bob - fee and issuance(chain) == total


@pytest.mark.parametrize("asset_class, valuation, error", [(5, UNIT, "UnknownClass"), (255, UNIT, "UnknownClass"),
                                                          (0, 0, "ZeroValuation")])
def test_register_refusals(chain, asset_class, valuation, error):
    assert_noop(chain, "bob", "assets.register", asset_class, DOCS, valuation, error=error)


# --- verify ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("approve, status", [(True, VERIFIED), (False, REJECTED)])
def test_a_verifier_approves_or_rejects_with_a_report(chain, approve, status):
    asset_id = registered(chain)
    ok(chain, "charlie", "assets.verify", asset_id, approve, REPORT)
    assert_last_event(chain, events.Verified(asset_id, acct("charlie"), approve, REPORT))
    asset = asset_of(chain, asset_id)
    assert (asset.status, asset.report_hash, asset.verifier) == (status, REPORT, acct("charlie"))


def test_verify_refusals(chain):
    asset_id = registered(chain)
    assert_noop(chain, "bob", "assets.verify", asset_id, True, REPORT, error="NotVerifier")
    assert_noop(chain, "dave", "assets.verify", asset_id, True, REPORT, error="NotVerifier")
    assert_noop(chain, "charlie", "assets.verify", 7, True, REPORT, error="UnknownAsset")
    own = registered(chain, "charlie", UNIT)
    assert_noop(chain, "charlie", "assets.verify", own, True, REPORT, error="OwnAsset")
    ok(chain, "charlie", "assets.verify", asset_id, False, REPORT)
    assert_noop(chain, "charlie", "assets.verify", asset_id, True, REPORT, error="NotPending")


def test_a_removed_verifier_can_no_longer_verify(chain):
    asset_id = registered(chain)
    chain.dispatch(GOVERNANCE, "roles.remove_verifier", acct("charlie"))
    assert_noop(chain, "charlie", "assets.verify", asset_id, True, REPORT, error="NotVerifier")


# --- tokenize and the minting fee -----------------------------------------------------------------------


def test_the_issues_machine_pays_exactly_1000_btt_with_30_burned(chain):
    """50,000 BTT tokenised into 1,000,000 fractions: 2% = 1,000 BTT, 3% of it (30 BTT) burned, 970 BTT to the
    treasury; the owner holds the whole supply."""
    asset_id = verified(chain)
    bob, total, treasury = free(chain, "bob"), issuance(chain), free(chain, TREASURY)
    fee = ok(chain, "bob", "assets.tokenize", asset_id, "XRAY", FRACTIONS, 0, 0)
    assert free(chain, "bob") == bob - fee - 1_000 * UNIT
    assert issuance(chain) == total - 30 * UNIT
    assert free(chain, TREASURY) == treasury + 970 * UNIT
    assert_last_event(chain, events.Tokenised(asset_id, acct("bob"), "XRAY", FRACTIONS, 0, 0, 1_000 * UNIT, 0,
                                              30 * UNIT))
    asset = asset_of(chain, asset_id)
    assert (asset.status, asset.symbol, asset.supply, asset.decimals) == (TOKENISED, "XRAY", FRACTIONS, 0)
    assert holding(chain, asset_id, "bob") == FRACTIONS
    assert storage.symbols.get(chain.view(), "XRAY") == asset_id
    check_supply(chain)


def test_a_180_day_staker_pays_20_percent_less_minting_fee(chain):
    """1,000 BTT less 20% = 800 BTT paid, 3% of that (24 BTT) burned, 776 BTT to the treasury."""
    ok(chain, "bob", "staking.stake", "180d", 10_000 * UNIT)
    asset_id = verified(chain)
    bob, total, treasury = free(chain, "bob"), issuance(chain), free(chain, TREASURY)
    fee = ok(chain, "bob", "assets.tokenize", asset_id, "XRAY", FRACTIONS, 0, 0)
    assert free(chain, "bob") == bob - fee - 800 * UNIT
    assert issuance(chain) == total - 24 * UNIT
    assert free(chain, TREASURY) == treasury + 776 * UNIT
    assert_last_event(chain, events.Tokenised(asset_id, acct("bob"), "XRAY", FRACTIONS, 0, 0, 800 * UNIT,
                                              200 * UNIT, 24 * UNIT))


def test_a_90_day_staker_gets_no_asset_fee_discount(chain):
    ok(chain, "bob", "staking.stake", "90d", 5_000 * UNIT)
    asset_id = verified(chain)
    bob = free(chain, "bob")
    fee = ok(chain, "bob", "assets.tokenize", asset_id, "XRAY", FRACTIONS, 0, 0)
    assert free(chain, "bob") == bob - fee - 1_000 * UNIT


def test_the_minting_fee_rounds_down_to_the_base_unit(chain):
    """A valuation of 123,456,789 base units: 2% = 2,469,135 (rounded down), 3% of it = 74,074 burned."""
    asset_id = verified(chain, valuation=123_456_789)
    total, treasury = issuance(chain), free(chain, TREASURY)
    ok(chain, "bob", "assets.tokenize", asset_id, "ODD1", 10, 0, 0)
    assert issuance(chain) == total - 74_074
    assert free(chain, TREASURY) == treasury + 2_469_135 - 74_074


def test_the_minting_fee_follows_the_parameters():
    chain = GenesisBuilder(balances={"alice": 1_000, "bob": 100_000},
                           params={"assets.mint_fee_bps": 300, "assets.mint_fee_burn_bps": 500}).build()
    chain.dispatch(GOVERNANCE, "roles.appoint_verifier", acct("alice"))
    asset_id = verified_by(chain, "alice")
    total, treasury = issuance(chain), free(chain, TREASURY)
    ok(chain, "bob", "assets.tokenize", asset_id, "XRAY", FRACTIONS, 0, 0)
    assert issuance(chain) == total - 75 * UNIT  # 5% of 1,500
    assert free(chain, TREASURY) == treasury + 1_425 * UNIT


def test_tokenize_with_decimals_and_a_minimum_balance(chain):
    asset_id = verified(chain)
    ok(chain, "bob", "assets.tokenize", asset_id, "ROOM42", 10**24, 18, 10**18)
    asset = asset_of(chain, asset_id)
    assert (asset.supply, asset.decimals, asset.min_balance) == (10**24, 18, 10**18)


@pytest.mark.parametrize("symbol", ["A", "ABCDEFGHIJKLM", "xray", "X-RAY", "", "XRAY ", "ÄBC"])
def test_bad_symbols_are_refused(chain, symbol):
    asset_id = verified(chain)
    assert_noop(chain, "bob", "assets.tokenize", asset_id, symbol, FRACTIONS, 0, 0, error="BadSymbol")


def test_tokenize_refusals(chain):
    asset_id = verified(chain)
    pending = registered(chain)
    rejected = registered(chain)
    ok(chain, "charlie", "assets.verify", rejected, False, REPORT)
    args = ("XRAY", FRACTIONS, 0, 0)
    assert_noop(chain, "dave", "assets.tokenize", asset_id, *args, error="NotOwner")
    assert_noop(chain, "bob", "assets.tokenize", 99, *args, error="UnknownAsset")
    assert_noop(chain, "bob", "assets.tokenize", pending, *args, error="NotVerified")
    assert_noop(chain, "bob", "assets.tokenize", rejected, *args, error="NotVerified")
    assert_noop(chain, "bob", "assets.tokenize", asset_id, "XRAY", 0, 0, 0, error="ZeroSupply")
    assert_noop(chain, "bob", "assets.tokenize", asset_id, "XRAY", FRACTIONS, 19, 0, error="TooManyDecimals")
    assert_noop(chain, "bob", "assets.tokenize", asset_id, "XRAY", FRACTIONS, 0, FRACTIONS + 1,
                error="MinBalanceAboveSupply")
    ok(chain, "charlie", "assets.freeze", asset_id)
    assert_noop(chain, "bob", "assets.tokenize", asset_id, *args, error="AssetFrozen")
    ok(chain, "charlie", "assets.thaw", asset_id)
    ok(chain, "bob", "assets.tokenize", asset_id, *args)
    assert_noop(chain, "bob", "assets.tokenize", asset_id, "XRAY2", FRACTIONS, 0, 0, error="NotVerified")
    other = verified(chain, "dave")
    assert_noop(chain, "dave", "assets.tokenize", other, *args, error="SymbolTaken")


def test_an_owner_who_cannot_pay_the_minting_fee_is_refused():
    chain = make_chain(bob=1_000)
    asset_id = verified(chain)  # 1,000 BTT fee on 50,000 BTT; bob has a little less after inclusion fees
    assert_noop(chain, "bob", "assets.tokenize", asset_id, "XRAY", FRACTIONS, 0, 0, error="CannotPay")
    assert storage.symbols.get(chain.view(), "XRAY") is None


def test_the_minting_fee_may_not_leave_the_owner_below_the_existential_deposit(chain):
    """Paying the fee must leave at least the existential deposit (0.01 BTT): one base unit short is refused."""
    asset_id = verified(chain)
    args = (asset_id, "XRAY", FRACTIONS, 0, 0)
    inclusion = chain.fee_of("bob", "assets.tokenize", *args)
    keep = 1_000 * UNIT + inclusion + UNIT // 100 - 1
    ok(chain, "bob", "balances.transfer_allow_death", acct("eve"),
       free(chain, "bob") - chain.fee_of("bob", "balances.transfer_allow_death",
                                         acct("eve"), free(chain, "bob")) - keep)
    assert free(chain, "bob") == keep
    assert_noop(chain, "bob", "assets.tokenize", *args, error="CannotPay")
    ok(chain, "dave", "balances.transfer_allow_death", acct("bob"), inclusion + 1)
    ok(chain, "bob", "assets.tokenize", *args)
    assert free(chain, "bob") == UNIT // 100


# --- transfer -------------------------------------------------------------------------------------------


def test_transfer_moves_fractions(chain):
    asset_id = tokenised(chain)
    ok(chain, "bob", "assets.transfer", asset_id, acct("dave"), 250_000)
    assert_last_event(chain, events.Transferred(asset_id, acct("bob"), acct("dave"), 250_000))
    assert (holding(chain, asset_id, "bob"), holding(chain, asset_id, "dave")) == (750_000, 250_000)
    ok(chain, "dave", "assets.transfer", asset_id, acct("eve"), 250_000)
    assert not storage.holdings.contains(chain.view(), (asset_id, acct("dave")))
    assert logic.holders_of(chain.view(), asset_id) == sorted([(acct("bob"), 750_000), (acct("eve"), 250_000)])
    check_supply(chain)


def test_transfer_costs_no_asset_fee(chain):
    asset_id = tokenised(chain)
    bob, total = free(chain, "bob"), issuance(chain)
    fee = ok(chain, "bob", "assets.transfer", asset_id, acct("dave"), 10)
    assert free(chain, "bob") == bob - fee and issuance(chain) == total


def test_transfer_refusals(chain):
    asset_id = tokenised(chain, min_balance=1_000)
    plain = verified(chain, "dave")
    assert_noop(chain, "bob", "assets.transfer", 99, acct("dave"), 1_000, error="UnknownAsset")
    assert_noop(chain, "dave", "assets.transfer", plain, acct("bob"), 1_000, error="NotTokenised")
    assert_noop(chain, "bob", "assets.transfer", asset_id, acct("dave"), 0, error="ZeroAmount")
    assert_noop(chain, "bob", "assets.transfer", asset_id, acct("bob"), 1_000, error="SelfTransfer")
    assert_noop(chain, "dave", "assets.transfer", asset_id, acct("eve"), 1_000, error="InsufficientFractions")
    assert_noop(chain, "bob", "assets.transfer", asset_id, acct("dave"), FRACTIONS + 1, error="InsufficientFractions")
    # the recipient would hold 999 < 1,000; then the sender would keep 999
    assert_noop(chain, "bob", "assets.transfer", asset_id, acct("dave"), 999, error="BelowMinBalance")
    assert_noop(chain, "bob", "assets.transfer", asset_id, acct("dave"), FRACTIONS - 999, error="BelowMinBalance")
    ok(chain, "bob", "assets.transfer", asset_id, acct("dave"), 1_000)
    ok(chain, "bob", "assets.transfer", asset_id, acct("dave"), 1)  # dave already holds the minimum
    ok(chain, "charlie", "assets.freeze", asset_id)
    assert_noop(chain, "bob", "assets.transfer", asset_id, acct("dave"), 1_000, error="AssetFrozen")
    check_supply(chain)


def test_a_whole_holding_may_move_whatever_the_minimum_balance(chain):
    asset_id = tokenised(chain, min_balance=1_000)
    ok(chain, "bob", "assets.transfer", asset_id, acct("dave"), FRACTIONS)
    assert holding(chain, asset_id, "bob") == 0 and holding(chain, asset_id, "dave") == FRACTIONS


# --- offers: post, cancel, accept -----------------------------------------------------------------------


def test_an_offer_escrows_its_fractions_and_a_cancel_returns_them(chain):
    asset_id = tokenised(chain)
    offer_id = offered(chain, asset_id, "bob", 100_000, 5_000 * UNIT)
    assert_last_event(chain, events.OfferPosted(offer_id, asset_id, acct("bob"), 100_000, 5_000 * UNIT))
    assert storage.offers.get(chain.view(), offer_id) == Offer(offer_id, asset_id, acct("bob"), 100_000,
                                                               5_000 * UNIT, chain.number)
    assert holding(chain, asset_id, "bob") == 900_000 and logic.escrowed(chain.view(), asset_id) == 100_000
    check_supply(chain)
    ok(chain, "bob", "assets.cancel_offer", offer_id)
    assert_last_event(chain, events.OfferCancelled(offer_id, asset_id, acct("bob"), 100_000))
    assert holding(chain, asset_id, "bob") == FRACTIONS and logic.offers_of(chain.view(), asset_id) == []
    assert not storage.offers.contains(chain.view(), offer_id)
    check_supply(chain)


def test_the_issues_sale_100000_fractions_to_bob_with_the_secondary_fee():
    """The clinic (dave here) sells 100,000 fractions for 5,000 BTT: the buyer pays 5,000 BTT to the seller and
    0.75% = 37.5 BTT fee, of which 3% = 1.125 BTT is burned and 36.375 BTT goes to the treasury."""
    chain = make_chain()
    asset_id = tokenised(chain, "dave")
    offer_id = offered(chain, asset_id, "dave", 100_000, 5_000 * UNIT)
    bob, dave, total, treasury = free(chain, "bob"), free(chain, "dave"), issuance(chain), free(chain, TREASURY)
    fee = ok(chain, "bob", "assets.accept", offer_id)
    assert free(chain, "bob") == bob - fee - 5_000 * UNIT - 37_500_000_000_000_000_000
    assert free(chain, "dave") == dave + 5_000 * UNIT
    assert issuance(chain) == total - 1_125_000_000_000_000_000
    assert free(chain, TREASURY) == treasury + 36_375_000_000_000_000_000
    assert_last_event(chain, events.OfferAccepted(offer_id, asset_id, acct("dave"), acct("bob"), 100_000,
                                                  5_000 * UNIT, 37_500_000_000_000_000_000, 0,
                                                  1_125_000_000_000_000_000))
    assert (holding(chain, asset_id, "bob"), holding(chain, asset_id, "dave")) == (100_000, 900_000)
    assert not storage.offers.contains(chain.view(), offer_id)
    assert logic.offers_of(chain.view(), asset_id) == []
    check_supply(chain)
    assert_noop(chain, "eve", "assets.accept", offer_id, error="UnknownOffer")


def test_a_180_day_staker_pays_20_percent_less_trade_fee(chain):
    """37.5 BTT less 20% = 30 BTT paid, 0.9 BTT burned, 29.1 BTT to the treasury."""
    asset_id = tokenised(chain)
    offer_id = offered(chain, asset_id, "bob", 100_000, 5_000 * UNIT)
    ok(chain, "dave", "staking.stake", "365d", 50_000 * UNIT)  # longer tiers keep the benefit
    dave, total, treasury = free(chain, "dave"), issuance(chain), free(chain, TREASURY)
    fee = ok(chain, "dave", "assets.accept", offer_id)
    assert free(chain, "dave") == dave - fee - 5_000 * UNIT - 30 * UNIT
    assert issuance(chain) == total - 900_000_000_000_000_000
    assert free(chain, TREASURY) == treasury + 29_100_000_000_000_000_000
    assert_last_event(chain, events.OfferAccepted(offer_id, asset_id, acct("bob"), acct("dave"), 100_000,
                                                  5_000 * UNIT, 30 * UNIT, 7_500_000_000_000_000_000,
                                                  900_000_000_000_000_000))


def test_the_trade_fee_rounds_down_and_may_be_zero(chain):
    asset_id = tokenised(chain)
    tiny = offered(chain, asset_id, "bob", 10, 133)  # 0.75% of 133 base units is 0.9975: no fee
    odd = offered(chain, asset_id, "bob", 10, 10**6 + 1)  # 7,500 fee, 225 burned
    total, treasury, bob = issuance(chain), free(chain, TREASURY), free(chain, "bob")
    ok(chain, "dave", "assets.accept", tiny)
    assert issuance(chain) == total and free(chain, TREASURY) == treasury and free(chain, "bob") == bob + 133
    assert_last_event(chain, events.OfferAccepted(tiny, asset_id, acct("bob"), acct("dave"), 10, 133, 0, 0, 0))
    ok(chain, "dave", "assets.accept", odd)
    assert issuance(chain) == total - 225 and free(chain, TREASURY) == treasury + 7_275
    check_supply(chain)


def test_offer_refusals(chain):
    asset_id = tokenised(chain, min_balance=1_000)
    plain = verified(chain, "dave")
    assert_noop(chain, "bob", "assets.offer", 99, 1_000, UNIT, error="UnknownAsset")
    assert_noop(chain, "dave", "assets.offer", plain, 1_000, UNIT, error="NotTokenised")
    assert_noop(chain, "bob", "assets.offer", asset_id, 0, UNIT, error="ZeroAmount")
    assert_noop(chain, "bob", "assets.offer", asset_id, 1_000, 0, error="ZeroPrice")
    assert_noop(chain, "dave", "assets.offer", asset_id, 1_000, UNIT, error="InsufficientFractions")
    assert_noop(chain, "bob", "assets.offer", asset_id, FRACTIONS + 1, UNIT, error="InsufficientFractions")
    assert_noop(chain, "bob", "assets.offer", asset_id, 999, UNIT, error="BelowMinBalance")
    assert_noop(chain, "bob", "assets.offer", asset_id, FRACTIONS - 999, UNIT, error="BelowMinBalance")
    ok(chain, "charlie", "assets.freeze", asset_id)
    assert_noop(chain, "bob", "assets.offer", asset_id, 1_000, UNIT, error="AssetFrozen")


def test_cancel_refusals_and_a_cancel_while_frozen(chain):
    asset_id = tokenised(chain)
    offer_id = offered(chain, asset_id, "bob", 1_000, UNIT)
    assert_noop(chain, "dave", "assets.cancel_offer", offer_id, error="NotSeller")
    assert_noop(chain, "bob", "assets.cancel_offer", 99, error="UnknownOffer")
    ok(chain, "charlie", "assets.freeze", asset_id)
    ok(chain, "bob", "assets.cancel_offer", offer_id)  # nothing changes hands: allowed while frozen
    assert holding(chain, asset_id, "bob") == FRACTIONS
    assert_noop(chain, "bob", "assets.cancel_offer", offer_id, error="UnknownOffer")


def test_accept_refusals(chain):
    asset_id = tokenised(chain)
    offer_id = offered(chain, asset_id, "bob", 1_000, 900 * UNIT)
    assert_noop(chain, "bob", "assets.accept", offer_id, error="OwnOffer")
    assert_noop(chain, "dave", "assets.accept", 99, error="UnknownOffer")
    # eve holds 1,000 BTT less fees: the price and the 6.75 BTT fee are more than she can spend and keep alive
    assert_noop(chain, "eve", "assets.accept", offered(chain, asset_id, "bob", 1_000, 995 * UNIT),
                error="CannotPay")
    ok(chain, "charlie", "assets.freeze", asset_id)
    assert_noop(chain, "dave", "assets.accept", offer_id, error="AssetFrozen")
    ok(chain, "charlie", "assets.thaw", asset_id)
    ok(chain, "dave", "assets.accept", offer_id)
    check_supply(chain)


def test_a_failed_accept_moves_neither_money_nor_fractions(chain):
    asset_id = tokenised(chain)
    offer_id = offered(chain, asset_id, "bob", 1_000, 2_000 * UNIT)
    bob, treasury, total = free(chain, "bob"), free(chain, TREASURY), issuance(chain)
    assert_noop(chain, "eve", "assets.accept", offer_id, error="CannotPay")
    assert (free(chain, "bob"), free(chain, TREASURY), issuance(chain)) == (bob, treasury, total)
    assert holding(chain, asset_id, "eve") == 0 and storage.offers.contains(chain.view(), offer_id)


# --- revalue --------------------------------------------------------------------------------------------


def test_a_verifier_revalues_and_the_owner_pays_the_fee(chain):
    """60,000 BTT: 0.25% = 150 BTT, 3% of it = 4.5 BTT burned, 145.5 BTT to the treasury."""
    asset_id = tokenised(chain)
    bob, total, treasury = free(chain, "bob"), issuance(chain), free(chain, TREASURY)
    ok(chain, "charlie", "assets.revalue", asset_id, 60_000 * UNIT, REPORT2)
    assert free(chain, "bob") == bob - 150 * UNIT
    assert issuance(chain) == total - 4_500_000_000_000_000_000
    assert free(chain, TREASURY) == treasury + 145_500_000_000_000_000_000
    assert_last_event(chain, events.Revalued(asset_id, acct("charlie"), MACHINE, 60_000 * UNIT, REPORT2,
                                             150 * UNIT, 0, 4_500_000_000_000_000_000))
    asset = asset_of(chain, asset_id)
    assert (asset.valuation, asset.report_hash) == (60_000 * UNIT, REPORT2)


def test_a_180_day_staker_owner_pays_20_percent_less_revaluation_fee(chain):
    """125 BTT (0.25% of 50,000) less 20% = 100 BTT paid, 3 BTT burned, 97 BTT to the treasury."""
    asset_id = verified(chain)
    ok(chain, "bob", "staking.stake", "180d", 10_000 * UNIT)
    bob, total, treasury = free(chain, "bob"), issuance(chain), free(chain, TREASURY)
    ok(chain, "charlie", "assets.revalue", asset_id, MACHINE, REPORT2)
    assert free(chain, "bob") == bob - 100 * UNIT
    assert issuance(chain) == total - 3 * UNIT
    assert free(chain, TREASURY) == treasury + 97 * UNIT


def test_revalue_refusals(chain):
    asset_id = tokenised(chain)
    pending = registered(chain)
    chain.dispatch(GOVERNANCE, "roles.appoint_verifier", acct("ferdie"))
    own = registered(chain, "charlie", UNIT)
    ok(chain, "ferdie", "assets.verify", own, True, REPORT)  # another verifier approves charlie's asset
    assert_noop(chain, "bob", "assets.revalue", asset_id, UNIT, REPORT, error="NotVerifier")
    assert_noop(chain, "charlie", "assets.revalue", 99, UNIT, REPORT, error="UnknownAsset")
    assert_noop(chain, "charlie", "assets.revalue", pending, UNIT, REPORT, error="NotValued")
    assert_noop(chain, "charlie", "assets.revalue", asset_id, 0, REPORT, error="ZeroValuation")
    assert_noop(chain, "charlie", "assets.revalue", own, UNIT, REPORT, error="OwnAsset")
    # frozen assets may still be revalued
    ok(chain, "charlie", "assets.freeze", asset_id)
    ok(chain, "charlie", "assets.revalue", asset_id, UNIT, REPORT)


def test_revalue_is_refused_when_the_owner_cannot_pay():
    chain = make_chain(eve=10)
    asset_id = registered(chain, "eve", UNIT)
    ok(chain, "charlie", "assets.verify", asset_id, True, REPORT)
    # 0.25% of 10,000,000 BTT = 25,000 BTT: eve has 10
    assert_noop(chain, "charlie", "assets.revalue", asset_id, 10_000_000 * UNIT, REPORT, error="CannotPay")
    assert asset_of(chain, asset_id).valuation == UNIT


def test_revalue_of_a_retired_or_rejected_asset_is_refused(chain):
    retired = verified(chain)
    ok(chain, "bob", "assets.retire", retired)
    rejected = registered(chain)
    ok(chain, "charlie", "assets.verify", rejected, False, REPORT)
    assert_noop(chain, "charlie", "assets.revalue", retired, UNIT, REPORT, error="AssetRetired")
    assert_noop(chain, "charlie", "assets.revalue", rejected, UNIT, REPORT, error="NotValued")


# --- freeze and thaw ------------------------------------------------------------------------------------


def test_a_verifier_freezes_and_thaws(chain):
    asset_id = tokenised(chain)
    ok(chain, "charlie", "assets.freeze", asset_id)
    assert_last_event(chain, events.Frozen(asset_id, False))
    assert asset_of(chain, asset_id).frozen
    ok(chain, "charlie", "assets.thaw", asset_id)
    assert_last_event(chain, events.Thawed(asset_id, False))
    assert not asset_of(chain, asset_id).frozen


@pytest.mark.parametrize("origin", [GOVERNANCE, EMERGENCY, ROOT])
def test_governance_freezes_and_thaws(chain, origin):
    asset_id = tokenised(chain)
    chain.dispatch(origin, "assets.freeze", asset_id)
    assert_last_event(chain, events.Frozen(asset_id, True))
    assert_noop(chain, "bob", "assets.transfer", asset_id, acct("dave"), 1, error="AssetFrozen")
    chain.dispatch(origin, "assets.thaw", asset_id)
    assert_last_event(chain, events.Thawed(asset_id, True))
    ok(chain, "bob", "assets.transfer", asset_id, acct("dave"), 1)


def test_freeze_refusals(chain):
    asset_id = tokenised(chain)
    assert_noop(chain, "bob", "assets.freeze", asset_id, error="NotVerifier")
    assert_dispatch_noop(chain, Origin.signed(acct("dave")), "assets.freeze", asset_id, error="NotVerifier")
    assert_noop(chain, "charlie", "assets.freeze", 99, error="UnknownAsset")
    assert_noop(chain, "charlie", "assets.thaw", asset_id, error="NotFrozen")
    assert_dispatch_noop(chain, GOVERNANCE, "assets.thaw", asset_id, error="NotFrozen")
    ok(chain, "charlie", "assets.freeze", asset_id)
    assert_noop(chain, "charlie", "assets.freeze", asset_id, error="AlreadyFrozen")
    assert_noop(chain, "bob", "assets.thaw", asset_id, error="NotVerifier")
    rejected = registered(chain)
    ok(chain, "charlie", "assets.verify", rejected, False, REPORT)
    assert_noop(chain, "charlie", "assets.freeze", rejected, error="AssetRejected")
    retired = registered(chain)
    ok(chain, "bob", "assets.retire", retired)
    assert_noop(chain, "charlie", "assets.freeze", retired, error="AssetRetired")


def test_only_signed_verifiers_or_governance_origins_may_freeze(chain):
    asset_id = tokenised(chain)
    assert_dispatch_noop(chain, Origin("nobody"), "assets.freeze", asset_id, error="BadOrigin")


def test_signed_only_calls_refuse_a_governance_origin(chain):
    asset_id = tokenised(chain)
    assert_dispatch_noop(chain, GOVERNANCE, "assets.register", 0, DOCS, UNIT, error="BadOrigin")
    assert_dispatch_noop(chain, GOVERNANCE, "assets.revalue", asset_id, UNIT, REPORT, error="BadOrigin")
    assert_dispatch_noop(chain, GOVERNANCE, "assets.retire", asset_id, error="BadOrigin")


def test_freezing_a_pending_asset_holds_its_tokenisation_until_thawed(chain):
    asset_id = registered(chain)
    ok(chain, "charlie", "assets.freeze", asset_id)
    ok(chain, "charlie", "assets.verify", asset_id, True, REPORT)  # the verifier's work goes on
    assert_noop(chain, "bob", "assets.tokenize", asset_id, "XRAY", FRACTIONS, 0, 0, error="AssetFrozen")
    assert_noop(chain, "bob", "assets.retire", asset_id, error="AssetFrozen")


# --- retire ---------------------------------------------------------------------------------------------


def test_the_owner_retires_a_tokenised_asset_holding_the_whole_supply(chain):
    asset_id = tokenised(chain)
    ok(chain, "bob", "assets.transfer", asset_id, acct("dave"), 10)
    offer_id = offered(chain, asset_id, "bob", 10, UNIT)
    assert_noop(chain, "bob", "assets.retire", asset_id, error="SupplyNotHeld")
    ok(chain, "dave", "assets.transfer", asset_id, acct("bob"), 10)
    assert_noop(chain, "bob", "assets.retire", asset_id, error="SupplyNotHeld")  # the offer escrows 10
    ok(chain, "bob", "assets.cancel_offer", offer_id)
    bob, total = free(chain, "bob"), issuance(chain)
    fee = ok(chain, "bob", "assets.retire", asset_id)
    assert_last_event(chain, events.Retired(asset_id, acct("bob"), FRACTIONS))
    assert free(chain, "bob") == bob - fee and issuance(chain) == total
    assert asset_of(chain, asset_id).status == RETIRED
    assert logic.holders_of(chain.view(), asset_id) == []
    check_supply(chain)
    # the symbol stays taken; nothing moves any more
    other = verified(chain, "dave")
    assert_noop(chain, "dave", "assets.tokenize", other, "XRAY", FRACTIONS, 0, 0, error="SymbolTaken")
    assert_noop(chain, "bob", "assets.transfer", asset_id, acct("dave"), 1, error="AssetRetired")
    assert_noop(chain, "bob", "assets.offer", asset_id, 1, UNIT, error="AssetRetired")
    assert_noop(chain, "bob", "assets.retire", asset_id, error="AssetRetired")
    assert_noop(chain, "bob", "assets.tokenize", asset_id, "XRAY9", FRACTIONS, 0, 0, error="AssetRetired")


@pytest.mark.parametrize("approve", [None, True, False])
def test_an_untokenised_asset_may_be_retired(chain, approve):
    asset_id = registered(chain)
    if approve is not None:
        ok(chain, "charlie", "assets.verify", asset_id, approve, REPORT)
    ok(chain, "bob", "assets.retire", asset_id)
    assert_last_event(chain, events.Retired(asset_id, acct("bob"), 0))
    assert_noop(chain, "charlie", "assets.verify", asset_id, True, REPORT, error="NotPending")


def test_retire_refusals(chain):
    asset_id = tokenised(chain)
    assert_noop(chain, "dave", "assets.retire", asset_id, error="NotOwner")
    assert_noop(chain, "charlie", "assets.retire", asset_id, error="NotOwner")
    assert_noop(chain, "bob", "assets.retire", 99, error="UnknownAsset")
    ok(chain, "charlie", "assets.freeze", asset_id)
    assert_noop(chain, "bob", "assets.retire", asset_id, error="AssetFrozen")


# --- reads ----------------------------------------------------------------------------------------------


def test_holdings_of_an_account_count_held_and_escrowed_fractions(chain):
    first = tokenised(chain)
    second = tokenised(chain, "dave", "MRI1", 500)
    ok(chain, "bob", "assets.transfer", first, acct("eve"), 300)
    offered(chain, first, "eve", 100, UNIT)
    ok(chain, "dave", "assets.transfer", second, acct("eve"), 50)
    rows = [(a.id, held, escrow) for a, held, escrow in logic.holdings_of(chain.view(), acct("eve"))]
    assert rows == [(first, 200, 100), (second, 50, 0)]
    assert logic.holdings_of(chain.view(), acct("ferdie")) == []


# --- randomized trading ---------------------------------------------------------------------------------

TRADERS = ("bob", "dave", "eve", "ferdie")


def test_randomized_trading_keeps_every_supply_whole():
    """300 random steps (transfers, offers, cancels, accepts, freezes, thaws; many of them refused) between four
    accounts over three assets with different minimum balances: after every step, every asset's holdings plus
    escrowed offers equal its supply, every holding is 0 or at least the minimum, and issuance has fallen by
    exactly the trade fees burned."""
    chain = make_chain(eve=100_000, ferdie=100_000)
    rng = random.Random(20240607)
    assets = [tokenised(chain, "bob", "RNDA", 1_000_000, 0),
              tokenised(chain, "dave", "RNDB", 10_000, 100, valuation=1_000 * UNIT),
              tokenised(chain, "eve", "RNDC", 7, 2, valuation=10 * UNIT)]
    start = issuance(chain)
    burned = 0
    tally: dict[str, int] = {}

    def step(signer: str, call: str, *args: object) -> bool:
        outcome = chain.submit(signer, call, *args)
        name = call if outcome.success else (outcome.error or "?").split(":")[0]
        tally[name] = tally.get(name, 0) + 1
        return outcome.success

    for _ in range(300):
        view = chain.view()
        asset_id = rng.choice(assets)
        holders = [name for name in TRADERS if storage.holdings.get(view, (asset_id, acct(name)))]
        who = rng.choice(holders) if holders and rng.random() < 0.7 else rng.choice(TRADERS)
        held = storage.holdings.get(view, (asset_id, acct(who)))
        amount = rng.choice([0, 1, 99, 100, max(1, held // 10), max(1, held // 3), max(1, held // 3), held,
                             held + 1])
        offers = logic.offers_of(view, asset_id)
        verifier = "charlie" if rng.random() < 0.85 else who
        op = rng.choices(["transfer", "offer", "cancel", "accept", "freeze", "thaw"], [5, 3, 1, 3, 1, 3])[0]
        if op == "cancel" and offers:
            o = rng.choice(offers)
            seller = next(n for n in TRADERS if acct(n) == o.seller)
            step(seller if rng.random() < 0.8 else who, "assets.cancel_offer", o.id)
        elif op == "accept" and offers:
            if step(who, "assets.accept", rng.choice(offers).id):
                burned += next(e.burned for e in chain.events() if isinstance(e, events.OfferAccepted))
        elif op == "offer":
            step(who, "assets.offer", asset_id, amount, rng.randrange(1, 50 * UNIT))
        elif op in ("freeze", "thaw"):
            step(verifier, f"assets.{op}", asset_id)
        else:  # a transfer, or a cancel or accept with no open offer
            to = rng.choice([n for n in TRADERS if n != who] if rng.random() < 0.9 else TRADERS)
            step(who, "assets.transfer", asset_id, acct(to), amount)
        check_supply(chain)
        assert issuance(chain) == start - burned
    succeeded = {k: v for k, v in tally.items() if k.startswith("assets.") and k[7:8].islower()}
    for call in ("transfer", "offer", "cancel_offer", "accept", "freeze", "thaw"):
        assert succeeded.get(f"assets.{call}", 0) >= 3, sorted(tally.items())
    assert sum(succeeded.values()) > 100 and sum(tally.values()) - sum(succeeded.values()) > 50, tally
    assert burned > 0
