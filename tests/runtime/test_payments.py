"""payments: direct payments with the payment fee on top (part burned, the rest to the treasury), invoices from
open to settled (in the payment's block) or cancelled, refunds up to what was paid, and the per-account
indexes. Fees and burns are checked to the base unit, issuance falls by exactly each burn, and every failing
call is checked to leave storage unchanged."""

from __future__ import annotations

import pytest

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from runtime.context import EMERGENCY, GOVERNANCE
from runtime.events import Event
from runtime.executive import ApplyOutcome
from runtime.payments import events, logic, storage
from runtime.payments.types import (
    CANCELLED,
    ISSUER,
    NO_INVOICE,
    NO_PAYMENT,
    OPEN,
    PAYEE,
    PAYER,
    SETTLED,
    Invoice,
    Payment,
)
from runtime.system import storage as system
from tests.support.runtime_builder import (
    DEFAULT_PARAMS,
    SLOT_MS,
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_dispatch_noop,
    assert_noop,
    assert_ok,
)

TREASURY = module_account("treasury")
ED = DEFAULT_PARAMS["balances.existential_deposit"][0]
FEE_BPS = DEFAULT_PARAMS["payments.fee_bps"][0]
BURN_BPS = DEFAULT_PARAMS["payments.fee_burn_bps"][0]
MEMO = blake2b_256(b"invoice 2024-117: panoramic X-ray, patient ref 42")

# An uneven amount: the 0.6% fee and the 0.75% burn of it both round down.
AMOUNT = 12_345_678_901_234_567_891
FEE = 74_074_073_407_407_407
BURNED = 555_555_550_555_555


@pytest.fixture
def chain() -> TestChain:
    return GenesisBuilder(balances={"alice": 1_000, "bob": 10_000, "charlie": 1_000, "dave": 500}).build()


def issuance(chain: TestChain) -> int:
    return system.total_issuance.get(chain.view())


def burned_total(chain: TestChain) -> int:
    return system.total_burned.get(chain.view())


def payment(chain: TestChain, pid: int) -> Payment:
    return storage.payments.get(chain.view(), pid)


def invoice(chain: TestChain, iid: int) -> Invoice:
    return storage.invoices.get(chain.view(), iid)


def payment_events(chain: TestChain) -> list[Event]:
    return [e for e in chain.events() if e.MODULE == "payments"]


def next_block_ms(chain: TestChain) -> int:
    """The timestamp of the next block TestChain produces (alice leads every slot)."""
    return 1_000_000 + (chain.slot + 1) * SLOT_MS + chain.time_offset_ms


def pay(chain: TestChain, signer: str, to: str, amount: int, memo: bytes = ZERO_HASH) -> ApplyOutcome:
    outcome = chain.submit(signer, "payments.pay", acct(to), amount, memo)
    assert_ok(outcome)
    return outcome


def create_invoice(chain: TestChain, issuer: str, payee: str, amount: int, due_in_ms: int = 60_000) -> int:
    iid = storage.next_invoice_id.get(chain.view())
    assert_ok(chain.submit(issuer, "payments.create_invoice", acct(payee), amount, next_block_ms(chain) + due_in_ms,
                           MEMO))
    return iid


# --- fee arithmetic ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount, fee, burned",
    [
        (1, 0, 0),
        (166, 0, 0),  # 166 * 0.6% = 0.996: no fee at all
        (167, 1, 0),
        (22_333, 133, 0),  # 133 * 0.75% = 0.9975: nothing burned
        (22_334, 134, 1),
        (1_000 * UNIT, 6 * UNIT, 45 * UNIT // 1000),
        (AMOUNT, FEE, BURNED),
    ],
)
def test_fee_and_burn_round_down(amount, fee, burned):
    assert logic.compute_fee(amount, FEE_BPS, BURN_BPS) == (fee, burned)


# --- pay -----------------------------------------------------------------------------------------------


def test_pay_moves_the_amount_charges_the_fee_on_top_and_burns_part_of_it(chain):
    bob, charlie, treasury = chain.account("bob"), chain.account("charlie"), chain.account(TREASURY)
    supply, burned_before = issuance(chain), burned_total(chain)
    outcome = pay(chain, "bob", "charlie", AMOUNT, MEMO)
    assert chain.account("bob").free == bob.free - AMOUNT - FEE - outcome.fee
    assert chain.account("bob").reserved == bob.reserved
    assert chain.account("charlie").free == charlie.free + AMOUNT
    assert chain.account(TREASURY).free == treasury.free + FEE - BURNED
    assert issuance(chain) == supply - BURNED
    assert burned_total(chain) == burned_before + BURNED
    assert payment(chain, 1) == Payment(1, acct("bob"), acct("charlie"), AMOUNT, FEE, BURNED, 0, MEMO, chain.number,
                                        NO_INVOICE)
    assert payment_events(chain) == [
        events.Paid(1, acct("bob"), acct("charlie"), AMOUNT, FEE, BURNED, MEMO, NO_INVOICE)
    ]


def test_payment_ids_count_up_and_both_parties_are_indexed(chain):
    pay(chain, "bob", "charlie", UNIT)
    pay(chain, "charlie", "bob", 2 * UNIT)
    pay(chain, "bob", "dave", 3 * UNIT)
    view = chain.view()
    assert storage.next_payment_id.get(view) == 4
    assert [(p.id, roles) for p, roles in logic.get_payments_of(view, acct("bob"))] == [(1, PAYER), (2, PAYEE),
                                                                                        (3, PAYER)]
    assert [(p.id, roles) for p, roles in logic.get_payments_of(view, acct("charlie"))] == [(1, PAYEE), (2, PAYER)]
    assert [(p.id, roles) for p, roles in logic.get_payments_of(view, acct("dave"))] == [(3, PAYEE)]
    assert list(logic.get_payments_of(view, acct("eve"))) == []


@pytest.mark.parametrize("amount, fee, burned", [(166, 0, 0), (167, 1, 0), (22_333, 133, 0), (22_334, 134, 1)])
def test_small_payments_pay_the_rounded_down_fee_exactly(chain, amount, fee, burned):
    bob, charlie, treasury = chain.account("bob"), chain.account("charlie"), chain.account(TREASURY)
    supply = issuance(chain)
    outcome = pay(chain, "bob", "charlie", amount)
    assert chain.account("bob").free == bob.free - amount - fee - outcome.fee
    assert chain.account("charlie").free == charlie.free + amount
    assert chain.account(TREASURY).free == treasury.free + fee - burned
    assert issuance(chain) == supply - burned
    assert payment(chain, 1).fee == fee and payment(chain, 1).burned == burned


def test_the_fee_follows_the_parameters():
    chain = GenesisBuilder(params={"payments.fee_bps": 80, "payments.fee_burn_bps": 100}).build()
    supply = issuance(chain)
    pay(chain, "bob", "charlie", 500 * UNIT)
    fee = 500 * UNIT * 80 // 10_000
    assert payment(chain, 1).fee == fee == 4 * UNIT
    assert payment(chain, 1).burned == fee // 100
    assert chain.account(TREASURY).free == fee - fee // 100
    assert issuance(chain) == supply - fee // 100


def test_the_emergency_track_may_change_the_fee_within_its_bounds(chain):
    chain.dispatch(EMERGENCY, "params.set_parameter", "payments.fee_bps", 50)
    pay(chain, "bob", "charlie", 1_000 * UNIT)
    assert payment(chain, 1).fee == 5 * UNIT


def test_a_payment_may_create_the_payees_account(chain):
    pay(chain, "bob", "eve", ED)
    assert chain.account("eve").free == ED


def pay_everything(chain: TestChain, payer: str, to: str) -> ApplyOutcome:
    """Pay `to` the amount whose fee on top leaves `payer` with nothing at all."""
    fee = chain.fee_of(payer, "payments.pay", acct(to), 1, ZERO_HASH)
    left = chain.account(payer).free - fee
    estimate = left * 10_000 // (10_000 + FEE_BPS)
    (amount,) = [a for a in range(estimate - 2, estimate + 3) if a + logic.compute_fee(a, FEE_BPS, BURN_BPS)[0] == left]
    outcome = pay(chain, payer, to, amount)
    assert outcome.fee == fee
    return outcome


def test_the_payer_may_spend_everything(chain):
    """Nothing left is fine; the fee on top is part of what must be spendable."""
    pay_everything(chain, "dave", "charlie")
    assert chain.account("dave").total == 0


@pytest.mark.parametrize(
    "to, amount, error",
    [
        ("charlie", 0, "ZeroAmount"),
        ("bob", UNIT, "SelfPayment"),
        ("charlie", 10_001 * UNIT, "InsufficientBalance"),
        ("eve", ED - 1, "ExistentialDeposit"),
    ],
)
def test_pay_refusals(chain, to, amount, error):
    assert_noop(chain, "bob", "payments.pay", acct(to), amount, MEMO, error=error)


def test_the_fee_on_top_must_be_covered_too(chain):
    """dave can send 499 BTT but not 499 BTT plus the 2.994 BTT fee."""
    assert_noop(chain, "dave", "payments.pay", acct("charlie"), 499 * UNIT, ZERO_HASH, error="InsufficientBalance")
    assert storage.next_payment_id.get(chain.view()) == 1


def test_a_payment_may_not_leave_dust_behind(chain):
    fee = chain.fee_of("dave", "payments.pay", acct("charlie"), UNIT, ZERO_HASH)
    left = chain.account("dave").free - fee
    # leave about ED / 2 (plus the rounding slack of the fee) behind
    amount = (left - ED // 2) * 10_000 // (10_000 + FEE_BPS)
    remaining = left - amount - logic.compute_fee(amount, FEE_BPS, BURN_BPS)[0]
    assert 0 < remaining < ED
    assert_noop(chain, "dave", "payments.pay", acct("charlie"), amount, ZERO_HASH, error="KeepAlive")


def test_locked_balance_cannot_pay():
    chain = GenesisBuilder(balances={"alice": 1_000, "bob": 1_000, "charlie": 100}, locked={"bob": 900}).build()
    assert_noop(chain, "bob", "payments.pay", acct("charlie"), 100 * UNIT, ZERO_HASH, error="InsufficientBalance")
    pay(chain, "bob", "charlie", 90 * UNIT)


def test_pay_needs_a_signed_origin(chain):
    assert_dispatch_noop(chain, GOVERNANCE, "payments.pay", acct("bob"), UNIT, ZERO_HASH, error="BadOrigin")


# --- invoices ------------------------------------------------------------------------------------------


def test_create_invoice_opens_it_and_indexes_issuer_and_payee(chain):
    due = next_block_ms(chain) + 3_600_000
    assert_ok(chain.submit("charlie", "payments.create_invoice", acct("charlie"), 250 * UNIT, due, MEMO))
    created = chain.number
    assert invoice(chain, 1) == Invoice(1, acct("charlie"), acct("charlie"), 250 * UNIT, due, MEMO, created)
    assert invoice(chain, 1).status == OPEN and invoice(chain, 1).payment_id == NO_PAYMENT
    assert payment_events(chain) == [
        events.InvoiceCreated(1, acct("charlie"), acct("charlie"), 250 * UNIT, due, MEMO)
    ]
    assert [(i.id, r) for i, r in logic.get_invoices_of(chain.view(), acct("charlie"))] == [(1, ISSUER | PAYEE)]
    iid = create_invoice(chain, "charlie", "dave", UNIT)
    assert iid == 2
    assert [(i.id, r) for i, r in logic.get_invoices_of(chain.view(), acct("charlie"))] == [(1, ISSUER | PAYEE),
                                                                                            (2, ISSUER)]
    assert [(i.id, r) for i, r in logic.get_invoices_of(chain.view(), acct("dave"))] == [(2, PAYEE)]


def test_creating_an_invoice_costs_only_the_inclusion_fee(chain):
    before, supply = chain.account("charlie").free, issuance(chain)
    outcome = chain.submit("charlie", "payments.create_invoice", acct("charlie"), 1_000 * UNIT,
                           next_block_ms(chain) + 1_000, MEMO)
    assert_ok(outcome)
    assert chain.account("charlie").free == before - outcome.fee
    assert issuance(chain) == supply


@pytest.mark.parametrize(
    "amount, due_offset, error",
    [(0, 60_000, "ZeroAmount"), (UNIT, 0, "DueInPast"), (UNIT, -1, "DueInPast"), (UNIT, -500_000, "DueInPast")],
)
def test_create_invoice_refusals(chain, amount, due_offset, error):
    due = next_block_ms(chain) + due_offset
    assert_noop(chain, "charlie", "payments.create_invoice", acct("charlie"), amount, due, MEMO, error=error)


def test_create_invoice_needs_a_signed_origin(chain):
    assert_dispatch_noop(chain, GOVERNANCE, "payments.create_invoice", acct("bob"), UNIT, 10**12, MEMO,
                         error="BadOrigin")


def test_paying_an_invoice_settles_it_in_the_same_block(chain):
    iid = create_invoice(chain, "charlie", "charlie", AMOUNT)
    bob, charlie, treasury = chain.account("bob"), chain.account("charlie"), chain.account(TREASURY)
    supply = issuance(chain)
    outcome = chain.submit("bob", "payments.pay_invoice", iid)
    assert_ok(outcome)
    block = chain.number
    assert chain.account("bob").free == bob.free - AMOUNT - FEE - outcome.fee
    assert chain.account("charlie").free == charlie.free + AMOUNT
    assert chain.account(TREASURY).free == treasury.free + FEE - BURNED
    assert issuance(chain) == supply - BURNED
    assert payment(chain, 1) == Payment(1, acct("bob"), acct("charlie"), AMOUNT, FEE, BURNED, 0, MEMO, block, iid)
    settled = invoice(chain, iid)
    assert (settled.status, settled.payment_id, settled.closed_block, settled.late) == (SETTLED, 1, block, False)
    assert payment_events(chain) == [
        events.Paid(1, acct("bob"), acct("charlie"), AMOUNT, FEE, BURNED, MEMO, iid),
        events.InvoiceSettled(iid, 1, acct("bob"), False),
    ]
    view = chain.view()
    assert [(i.id, r) for i, r in logic.get_invoices_of(view, acct("bob"))] == [(iid, PAYER)]
    assert [(p.id, r) for p, r in logic.get_payments_of(view, acct("charlie"))] == [(1, PAYEE)]


def test_an_invoice_cannot_be_paid_twice(chain):
    iid = create_invoice(chain, "charlie", "charlie", 10 * UNIT)
    assert_ok(chain.submit("bob", "payments.pay_invoice", iid))
    assert_noop(chain, "bob", "payments.pay_invoice", iid, error="InvoiceNotOpen")
    assert_noop(chain, "dave", "payments.pay_invoice", iid, error="InvoiceNotOpen")
    assert storage.next_payment_id.get(chain.view()) == 2


def test_an_invoice_paid_after_its_due_time_is_settled_and_marked_late(chain):
    iid = create_invoice(chain, "charlie", "charlie", 10 * UNIT, due_in_ms=5_000)
    chain.advance_time(10_000)
    assert next_block_ms(chain) > invoice(chain, iid).due_ms
    assert_ok(chain.submit("bob", "payments.pay_invoice", iid))
    assert invoice(chain, iid).status == SETTLED and invoice(chain, iid).late
    assert payment_events(chain)[-1] == events.InvoiceSettled(iid, 1, acct("bob"), True)


def test_an_invoice_paid_exactly_at_its_due_time_is_on_time(chain):
    due = next_block_ms(chain) + SLOT_MS
    assert_ok(chain.submit("charlie", "payments.create_invoice", acct("charlie"), UNIT, due, MEMO))
    assert next_block_ms(chain) == due
    assert_ok(chain.submit("bob", "payments.pay_invoice", 1))
    assert not invoice(chain, 1).late


def test_an_invoice_may_name_another_payee(chain):
    iid = create_invoice(chain, "charlie", "dave", 7 * UNIT)
    dave = chain.account("dave").free
    assert_ok(chain.submit("bob", "payments.pay_invoice", iid))
    assert chain.account("dave").free == dave + 7 * UNIT
    assert payment(chain, 1).payee == acct("dave")
    # the issuer may pay an invoice whose payee is someone else
    iid = create_invoice(chain, "charlie", "dave", UNIT)
    assert_ok(chain.submit("charlie", "payments.pay_invoice", iid))
    assert [(i.id, r) for i, r in logic.get_invoices_of(chain.view(), acct("charlie"))] == [(1, ISSUER),
                                                                                            (2, ISSUER | PAYER)]


def test_the_payee_cannot_pay_its_own_invoice(chain):
    iid = create_invoice(chain, "charlie", "charlie", UNIT)
    assert_noop(chain, "charlie", "payments.pay_invoice", iid, error="SelfPayment")


def test_an_invoice_payer_without_funds_leaves_it_open(chain):
    iid = create_invoice(chain, "charlie", "charlie", 500 * UNIT)
    assert_noop(chain, "dave", "payments.pay_invoice", iid, error="InsufficientBalance")
    assert invoice(chain, iid).status == OPEN


def test_pay_unknown_invoice(chain):
    assert_noop(chain, "bob", "payments.pay_invoice", 1, error="UnknownInvoice")
    assert_noop(chain, "bob", "payments.pay_invoice", 2**64 - 1, error="UnknownInvoice")


def test_the_issuer_cancels_an_open_invoice(chain):
    iid = create_invoice(chain, "charlie", "dave", UNIT)
    assert_ok(chain.submit("charlie", "payments.cancel_invoice", iid))
    cancelled = invoice(chain, iid)
    assert (cancelled.status, cancelled.closed_block, cancelled.payment_id) == (CANCELLED, chain.number, NO_PAYMENT)
    assert payment_events(chain) == [events.InvoiceCancelled(iid, acct("charlie"))]
    assert_noop(chain, "bob", "payments.pay_invoice", iid, error="InvoiceNotOpen")
    assert_noop(chain, "charlie", "payments.cancel_invoice", iid, error="InvoiceNotOpen")


@pytest.mark.parametrize("who", ["dave", "bob"])
def test_only_the_issuer_may_cancel(chain, who):
    """Neither the payee (dave) nor anyone else (bob)."""
    iid = create_invoice(chain, "charlie", "dave", UNIT)
    assert_noop(chain, who, "payments.cancel_invoice", iid, error="NotIssuer")


def test_a_settled_invoice_cannot_be_cancelled(chain):
    iid = create_invoice(chain, "charlie", "charlie", UNIT)
    assert_ok(chain.submit("bob", "payments.pay_invoice", iid))
    assert_noop(chain, "charlie", "payments.cancel_invoice", iid, error="InvoiceNotOpen")


def test_cancel_unknown_invoice(chain):
    assert_noop(chain, "charlie", "payments.cancel_invoice", 9, error="UnknownInvoice")


# --- refunds -------------------------------------------------------------------------------------------


def test_the_payee_refunds_part_then_the_rest_without_a_fee(chain):
    pay(chain, "bob", "charlie", AMOUNT, MEMO)
    treasury, supply = chain.account(TREASURY).free, issuance(chain)
    bob, charlie = chain.account("bob").free, chain.account("charlie").free
    part = AMOUNT // 3
    outcome = chain.submit("charlie", "payments.refund", 1, part)
    assert_ok(outcome)
    assert chain.account("bob").free == bob + part
    assert chain.account("charlie").free == charlie - part - outcome.fee
    assert chain.account(TREASURY).free == treasury and issuance(chain) == supply
    assert payment(chain, 1).refunded == part
    assert payment_events(chain) == [events.Refunded(1, acct("charlie"), acct("bob"), part, part)]

    assert_noop(chain, "charlie", "payments.refund", 1, AMOUNT - part + 1, error="RefundTooLarge")
    assert_ok(chain.submit("charlie", "payments.refund", 1, AMOUNT - part))
    assert payment(chain, 1).refunded == AMOUNT and payment(chain, 1).refundable == 0
    assert payment_events(chain) == [events.Refunded(1, acct("charlie"), acct("bob"), AMOUNT - part, AMOUNT)]
    # the fee stays paid: bob is short exactly the fee and his inclusion fee
    assert_noop(chain, "charlie", "payments.refund", 1, 1, error="RefundTooLarge")


def test_a_refund_may_return_everything_at_once(chain):
    pay(chain, "bob", "charlie", 10 * UNIT)
    assert_ok(chain.submit("charlie", "payments.refund", 1, 10 * UNIT))
    assert payment(chain, 1).refunded == 10 * UNIT


def test_refund_more_than_paid_is_refused(chain):
    pay(chain, "bob", "charlie", 10 * UNIT)
    assert_noop(chain, "charlie", "payments.refund", 1, 10 * UNIT + 1, error="RefundTooLarge")


def test_an_invoice_payment_can_be_refunded_and_the_invoice_stays_settled(chain):
    iid = create_invoice(chain, "charlie", "charlie", 10 * UNIT)
    assert_ok(chain.submit("bob", "payments.pay_invoice", iid))
    assert_ok(chain.submit("charlie", "payments.refund", 1, 4 * UNIT))
    assert invoice(chain, iid).status == SETTLED and payment(chain, 1).refunded == 4 * UNIT


@pytest.mark.parametrize("who", ["bob", "dave"])
def test_only_the_payee_may_refund(chain, who):
    """Not the payer (bob) and not a stranger (dave)."""
    pay(chain, "bob", "charlie", 10 * UNIT)
    assert_noop(chain, who, "payments.refund", 1, UNIT, error="NotPayee")


def test_refund_refusals(chain):
    pay(chain, "bob", "charlie", 10 * UNIT)
    assert_noop(chain, "charlie", "payments.refund", 1, 0, error="ZeroAmount")
    assert_noop(chain, "charlie", "payments.refund", 2, UNIT, error="UnknownPayment")


def test_a_payee_that_spent_the_payment_cannot_refund_it(chain):
    pay(chain, "bob", "dave", 400 * UNIT)
    assert_ok(chain.submit("dave", "balances.transfer_allow_death", acct("charlie"), 850 * UNIT))
    assert_noop(chain, "dave", "payments.refund", 1, 400 * UNIT, error="InsufficientBalance")


def test_a_refund_may_not_leave_the_payee_with_dust(chain):
    pay(chain, "bob", "eve", 2 * UNIT)
    fee = chain.fee_of("eve", "payments.refund", 1, UNIT)
    amount = chain.account("eve").free - fee - ED // 2
    assert_noop(chain, "eve", "payments.refund", 1, amount, error="KeepAlive")


def test_a_refund_too_small_for_an_emptied_payer_is_refused(chain):
    """dave paid everything he had: a refund must bring him back to at least the existential deposit."""
    pay_everything(chain, "dave", "charlie")
    assert_noop(chain, "charlie", "payments.refund", 1, ED - 1, error="ExistentialDeposit")
    assert_ok(chain.submit("charlie", "payments.refund", 1, ED))
    assert chain.account("dave").free == ED


def test_refund_needs_a_signed_origin(chain):
    pay(chain, "bob", "charlie", 10 * UNIT)
    assert_dispatch_noop(chain, GOVERNANCE, "payments.refund", 1, UNIT, error="BadOrigin")


# --- a day of a clinic -----------------------------------------------------------------------------------


def test_a_clinic_bills_patients_and_the_books_balance_to_the_base_unit(chain):
    """Several invoices and payments in one run: the treasury holds exactly the fees less the burns, and
    issuance fell by exactly the burns (the invariants are checked after every block as well)."""
    supply = issuance(chain)
    amounts = [125 * UNIT, 3 * UNIT + 7, 22_334, 999_999_999_999_999_999]
    for amount in amounts:
        iid = create_invoice(chain, "charlie", "charlie", amount)
        assert_ok(chain.submit("bob", "payments.pay_invoice", iid))
    pay(chain, "dave", "charlie", 40 * UNIT + 1)
    assert_ok(chain.submit("charlie", "payments.create_invoice", acct("charlie"), UNIT, next_block_ms(chain) + 1,
                           ZERO_HASH))
    assert_ok(chain.submit("charlie", "payments.cancel_invoice", 5))
    figures = [logic.compute_fee(a, FEE_BPS, BURN_BPS) for a in [*amounts, 40 * UNIT + 1]]
    fees, burns = sum(f for f, _ in figures), sum(b for _, b in figures)
    view = chain.view()
    recorded = [p for p, _ in logic.get_payments_of(view, acct("charlie"))]
    assert [p.amount for p in recorded] == [*amounts, 40 * UNIT + 1]
    assert sum(p.fee for p in recorded) == fees and sum(p.burned for p in recorded) == burns
    assert chain.account(TREASURY).free == fees - burns
    assert issuance(chain) == supply - burns
    states = [(i.id, i.status) for i, _ in logic.get_invoices_of(view, acct("charlie"))]
    assert states == [(1, SETTLED), (2, SETTLED), (3, SETTLED), (4, SETTLED), (5, CANCELLED)]
