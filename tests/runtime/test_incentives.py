"""incentives: oracles attest patients' activities for points (each evidence hash once); patients file redemption
requests within a per-patient cap each epoch, and the first block of the next epoch pays them from the Community
Incentives pool, in full when they fit the global cap and the pool, else pro rata (issue 24, finding 8)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair
from runtime.balances import events as balances_events
from runtime.consensus import logic as consensus
from runtime.context import GOVERNANCE, BlockEnv, Origin
from runtime.incentives import events, logic, redemption, storage
from runtime.incentives.types import ACTIVITIES, MAX_REQUESTS_PER_EPOCH, Attestation, Payout, RedeemRound, RoundResult
from runtime.invariants import check_points
from runtime.system import storage as system
from tests.support.runtime_builder import (
    DEFAULT_PARAMS,
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_dispatch_noop,
    assert_last_event,
    assert_noop,
    assert_ok,
)

POOL = module_account("community_incentives")
RATE = DEFAULT_PARAMS["incentives.redeem_rate"][0]
CAP = DEFAULT_PARAMS["incentives.redeem_cap_per_epoch"][0]
GLOBAL_CAP = DEFAULT_PARAMS["incentives.redeem_cap_global_per_epoch"][0]
ED = DEFAULT_PARAMS["balances.existential_deposit"][0]
POINTS = {a: DEFAULT_PARAMS[f"incentives.points.{a}"][0] for a in ACTIVITIES}
BALANCES = {"alice": 1_000, "bob": 1_000, "charlie": 100, "dave": 100, "eve": 100, "ferdie": 100}
SLOTS = 20
"""Slots per epoch of the chains that settle redemptions (a test chain's slot is its block number)."""
LIFTED = {"incentives.oracle_points_per_epoch": DEFAULT_PARAMS["incentives.oracle_points_per_epoch"][2]}
"""The oracles' epoch cap at its bound: these chains test attestation and redemption with many points minted at
once (the points of many epochs); the cap itself is tested in test_incentives_oracle_attacks.py."""


def ev(text: str) -> bytes:
    return blake2b_256(text.encode())


def build(pool: int = 500, epoch_slots: int = SLOTS) -> TestChain:
    """Oracles: charlie for preventive visits, dave for referrals; the pool holds `pool` BTT."""
    chain = GenesisBuilder(balances=dict(BALANCES), module_balances={"community_incentives": (pool, 0)},
                           epoch_slots=epoch_slots, params=dict(LIFTED)).build()
    chain.dispatch(GOVERNANCE, "roles.appoint_oracle", "preventive_visit", acct("charlie"))
    chain.dispatch(GOVERNANCE, "roles.appoint_oracle", "referral", acct("dave"))
    return chain


@pytest.fixture
def chain() -> TestChain:
    return build()


def attest(chain: TestChain, oracle: str, patient: str, activity: str, evidence: bytes) -> None:
    assert_ok(chain.submit(oracle, "incentives.attest", acct(patient), activity, evidence))


def points(chain: TestChain, who: str) -> int:
    return logic.get_points(chain.view(), acct(who))


def issuance(chain: TestChain) -> int:
    return system.total_issuance.get(chain.view())


# --- attest ---------------------------------------------------------------------------------------------------

def test_an_oracle_attests_an_activity(chain):
    e = ev("visit 1")
    attest(chain, "charlie", "bob", "preventive_visit", e)
    assert points(chain, "bob") == POINTS["preventive_visit"] == 100
    assert_last_event(chain, events.Attested(acct("charlie"), acct("bob"), "preventive_visit", e, 100))
    view = chain.view()
    block = chain.number
    assert logic.get_attestation(view, e) == Attestation(acct("bob"), "preventive_visit", acct("charlie"), 100, block)
    assert logic.get_attestations(view, acct("bob")) == [(e, logic.get_attestation(view, e))]
    assert storage.outstanding_points.get(view) == 100


def test_points_add_up_over_activities_and_oracles(chain):
    attest(chain, "charlie", "bob", "preventive_visit", ev("a"))
    attest(chain, "dave", "bob", "referral", ev("b"))
    attest(chain, "charlie", "bob", "preventive_visit", ev("c"))
    assert points(chain, "bob") == 2 * POINTS["preventive_visit"] + POINTS["referral"] == 230
    rows = logic.get_attestations(chain.view(), acct("bob"))
    assert [e for e, _ in rows] == [ev("a"), ev("b"), ev("c")]  # oldest first
    assert [a.activity for _, a in rows] == ["preventive_visit", "referral", "preventive_visit"]
    assert logic.get_attestations(chain.view(), acct("eve")) == []
    assert storage.outstanding_points.get(chain.view()) == 230


@pytest.mark.parametrize("activity", ACTIVITIES)
def test_every_activity_earns_its_parameter(activity):
    chain = build()
    oracle = "dave" if activity == "referral" else "eve"
    if activity != "referral":
        chain.dispatch(GOVERNANCE, "roles.appoint_oracle", activity, acct("eve"))
    attest(chain, oracle, "bob", activity, ev(activity))
    assert points(chain, "bob") == POINTS[activity]


def test_points_are_read_at_attestation_time(chain):
    attest(chain, "charlie", "bob", "preventive_visit", ev("before"))
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.points.preventive_visit", 7)
    attest(chain, "charlie", "bob", "preventive_visit", ev("after"))
    assert points(chain, "bob") == 100 + 7
    rows = dict(logic.get_attestations(chain.view(), acct("bob")))
    assert (rows[ev("before")].points, rows[ev("after")].points) == (100, 7)


def test_a_non_oracle_cannot_attest(chain):
    assert_noop(chain, "bob", "incentives.attest", acct("eve"), "preventive_visit", ev("x"), error="NotOracle")
    assert_noop(chain, "alice", "incentives.attest", acct("bob"), "referral", ev("x"), error="NotOracle")


def test_an_oracle_of_another_activity_cannot_attest(chain):
    assert_noop(chain, "charlie", "incentives.attest", acct("bob"), "referral", ev("x"), error="NotOracle")
    assert_noop(chain, "dave", "incentives.attest", acct("bob"), "preventive_visit", ev("x"), error="NotOracle")
    assert_noop(chain, "charlie", "incentives.attest", acct("bob"), "healthy_lifestyle", ev("x"), error="NotOracle")


def test_a_removed_oracle_cannot_attest(chain):
    chain.dispatch(GOVERNANCE, "roles.remove_oracle", "preventive_visit", acct("charlie"))
    assert_noop(chain, "charlie", "incentives.attest", acct("bob"), "preventive_visit", ev("x"), error="NotOracle")


def test_an_unknown_activity_is_refused(chain):
    assert_noop(chain, "charlie", "incentives.attest", acct("bob"), "dentist", ev("x"), error="UnknownActivity")
    assert_noop(chain, "charlie", "incentives.attest", acct("bob"), "", ev("x"), error="UnknownActivity")


def test_an_oracle_cannot_attest_itself(chain):
    assert_noop(chain, "charlie", "incentives.attest", acct("charlie"), "preventive_visit", ev("x"),
                error="SelfAttestation")


def test_the_same_evidence_is_never_rewarded_twice(chain):
    e = ev("visit")
    chain.dispatch(GOVERNANCE, "roles.appoint_oracle", "referral", acct("charlie"))
    attest(chain, "charlie", "bob", "preventive_visit", e)
    # same patient and activity, another patient, another activity, another oracle: all refused
    assert_noop(chain, "charlie", "incentives.attest", acct("bob"), "preventive_visit", e, error="EvidenceUsed")
    assert_noop(chain, "charlie", "incentives.attest", acct("eve"), "preventive_visit", e, error="EvidenceUsed")
    assert_noop(chain, "charlie", "incentives.attest", acct("bob"), "referral", e, error="EvidenceUsed")
    assert_noop(chain, "dave", "incentives.attest", acct("eve"), "referral", e, error="EvidenceUsed")
    assert points(chain, "bob") == 100 and points(chain, "eve") == 0


def test_evidence_stays_used_after_its_points_are_redeemed(chain):
    e = ev("visit")
    attest(chain, "charlie", "bob", "preventive_visit", e)
    assert_ok(chain.submit("bob", "incentives.redeem", 100))
    assert_noop(chain, "charlie", "incentives.attest", acct("bob"), "preventive_visit", e, error="EvidenceUsed")


def test_an_activity_with_zero_points_cannot_be_attested_and_keeps_the_evidence_unused(chain):
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.points.preventive_visit", 0)
    e = ev("visit")
    assert_noop(chain, "charlie", "incentives.attest", acct("bob"), "preventive_visit", e,
                error="ActivityNotRewarded")
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.points.preventive_visit", 40)
    attest(chain, "charlie", "bob", "preventive_visit", e)
    assert points(chain, "bob") == 40


def test_attest_needs_a_signed_origin(chain):
    assert_dispatch_noop(chain, GOVERNANCE, "incentives.attest", acct("bob"), "preventive_visit", ev("x"),
                         error="BadOrigin")


def test_the_oracle_check_comes_before_the_evidence_check(chain):
    attest(chain, "charlie", "bob", "preventive_visit", ev("x"))
    assert_noop(chain, "eve", "incentives.attest", acct("bob"), "preventive_visit", ev("x"), error="NotOracle")


# --- redemption: requests ------------------------------------------------------------------------------------

def _earn(chain: TestChain, patient: str, n: int, tag: str = "") -> None:
    for i in range(n):
        attest(chain, "charlie", patient, "preventive_visit", ev(f"{tag}{patient}{i}"))


def earn(chain: TestChain, patient: str, amount: int) -> None:
    """Credit `patient` `amount` points (at most 10,000) with one preventive visit attested by charlie."""
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.points.preventive_visit", amount)
    attest(chain, "charlie", patient, "preventive_visit", ev(f"{patient} {amount} {chain.number}"))


def epoch(chain: TestChain) -> int:
    return consensus.epoch_of(chain.view(), chain.slot)


def start_epoch(chain: TestChain) -> int:
    """Run empty blocks until the last one opened an epoch (SLOTS - 1 blocks of it are left); that epoch."""
    while chain.slot % SLOTS:
        chain.run_block([])
    return epoch(chain)


def to_epoch_end(chain: TestChain) -> None:
    """Run empty blocks until the next block is the last of this epoch."""
    e = epoch(chain)
    while (chain.slot + 2) // SLOTS == e:
        chain.run_block([])


def settle(chain: TestChain) -> list:
    """Run empty blocks up to the one that settles the open round (the first of the next epoch); its events."""
    rnd = storage.open_round.get(chain.view())
    assert rnd is not None and epoch(chain) == rnd.epoch
    while storage.open_round.get(chain.view()) is not None:
        chain.run_block([])
    assert epoch(chain) == rnd.epoch + 1 and chain.slot % SLOTS == 0, "settled in the epoch's first block"
    return chain.events()


def noop(chain: TestChain, signer: str, *args: object, error: str):
    """assert_noop away from an epoch's first block (where the hooks of every module do their epoch's work)."""
    if (chain.slot + 1) % SLOTS == 0:
        chain.run_block([])
    return assert_noop(chain, signer, "incentives.redeem", *args, error=error)


def paid_events(emitted: list) -> dict[bytes, events.RedeemPaid]:
    """The RedeemPaid events among `emitted`, by patient."""
    return {e.patient: e for e in emitted if isinstance(e, events.RedeemPaid)}


def test_a_request_moves_the_points_and_pays_nothing_until_the_epoch_ends(chain):
    attest(chain, "charlie", "bob", "preventive_visit", ev("v"))
    e = epoch(chain)
    pool, supply = chain.account(POOL).free, issuance(chain)
    outcome = chain.submit("bob", "incentives.redeem", 60)
    assert_ok(outcome)
    assert_last_event(chain, events.RedeemRequested(acct("bob"), 60, 60, 60 * RATE, e))
    view = chain.view()
    assert points(chain, "bob") == 40
    assert redemption.get_request(view, acct("bob"), e) == 60
    assert storage.open_round.get(view) == RedeemRound(e, RATE, 60, 1, 1, 1)
    assert storage.outstanding_points.get(view) == 100  # still owed: 40 held, 60 requested
    assert chain.account(POOL).free == pool
    bob = chain.account("bob").free
    to_epoch_end(chain)
    chain.run_block([])
    assert chain.account(POOL).free == pool and storage.open_round.get(chain.view()) is not None  # the last block
    got = settle(chain)
    payout = 60 * RATE
    assert payout == 600_000_000_000_000_000  # 0.6 BTT at 0.01 BTT per point
    assert chain.account("bob").free == bob + payout
    assert chain.account(POOL).free == pool - payout
    assert issuance(chain) == supply  # moved from the pool: nothing minted, no dust burned
    assert got[-3:] == [balances_events.Transfer(POOL, acct("bob"), payout),
                        events.RedeemPaid(acct("bob"), e, 60, 60, payout),
                        events.RedeemRoundSettled(e, 1, payout, payout, payout)]
    view = chain.view()
    assert storage.payouts.get(view, acct("bob")) == Payout(e, 60, 60, payout)
    assert storage.last_round.get(view) == RoundResult(e, 1, RATE, payout, payout, payout)
    assert storage.open_round.get(view) is None and list(storage.requests.items(view)) == []
    assert points(chain, "bob") == 40 and storage.outstanding_points.get(view) == 40
    assert storage.total_paid.get(view) == payout


def test_requesting_every_point_clears_the_entry_and_settlement_does_not_bring_it_back(chain):
    attest(chain, "charlie", "bob", "preventive_visit", ev("v"))
    assert_ok(chain.submit("bob", "incentives.redeem", 100))
    assert not storage.points.contains(chain.view(), acct("bob"))
    settle(chain)
    assert not storage.points.contains(chain.view(), acct("bob"))
    assert storage.outstanding_points.get(chain.view()) == 0


def test_a_patient_adds_to_its_request_in_the_same_epoch(chain):
    _earn(chain, "bob", 2)
    e = start_epoch(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 30))
    assert_ok(chain.submit("bob", "incentives.redeem", 45))
    assert_last_event(chain, events.RedeemRequested(acct("bob"), 45, 75, 75 * RATE, e))
    assert storage.open_round.get(chain.view()) == RedeemRound(e, RATE, 75, 1, 1, 1)
    got = paid_events(settle(chain))
    assert got == {acct("bob"): events.RedeemPaid(acct("bob"), e, 75, 75, 75 * RATE)}
    assert points(chain, "bob") == 125


def test_the_payout_follows_the_rate_to_the_base_unit(chain):
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_rate", 1_234_567_890_123_457)
    attest(chain, "charlie", "bob", "preventive_visit", ev("v"))
    pool = chain.account(POOL).free
    assert_ok(chain.submit("bob", "incentives.redeem", 37))
    bob = chain.account("bob").free
    settle(chain)
    assert chain.account(POOL).free == pool - 45_679_011_934_567_909
    assert chain.account("bob").free == bob + 45_679_011_934_567_909
    assert storage.total_paid.get(chain.view()) == 45_679_011_934_567_909


def test_redeeming_zero_points_is_refused(chain):
    attest(chain, "charlie", "bob", "preventive_visit", ev("v"))
    noop(chain, "bob", 0, error="ZeroPoints")


def test_redeeming_more_points_than_held_is_refused(chain):
    noop(chain, "bob", 1, error="InsufficientPoints")
    attest(chain, "charlie", "bob", "preventive_visit", ev("v"))
    outcome = noop(chain, "bob", 101, error="InsufficientPoints")
    assert "holds 100 points" in (outcome.error or "")
    assert_ok(chain.submit("bob", "incentives.redeem", 60))
    noop(chain, "bob", 41, error="InsufficientPoints")  # requested points are no longer held


def test_a_zero_rate_refuses_requests(chain):
    attest(chain, "charlie", "bob", "preventive_visit", ev("v"))
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_rate", 0)
    noop(chain, "bob", 10, error="RedeemDisabled")


def test_the_cap_per_epoch_holds_at_its_boundary_and_says_what_is_left():
    chain = build()
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_cap_per_epoch", 3 * UNIT)
    _earn(chain, "bob", 5)  # 500 points = 5 BTT
    e = start_epoch(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 250))  # 2.5 BTT
    outcome = noop(chain, "bob", 51, error="OverEpochCap")
    assert f"0.5 BTT (50 points) of the 3 BTT cap is left in epoch {e}" in (outcome.error or "")
    assert_ok(chain.submit("bob", "incentives.redeem", 50))  # exactly to the cap
    assert redemption.get_request(chain.view(), acct("bob"), e) == 300
    outcome = noop(chain, "bob", 1, error="OverEpochCap")
    assert "0 BTT (0 points)" in (outcome.error or "")
    assert epoch(chain) == e
    got = paid_events(settle(chain))
    assert got[acct("bob")] == events.RedeemPaid(acct("bob"), e, 300, 300, 3 * UNIT)


def test_the_cap_is_per_patient(chain):
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_cap_per_epoch", UNIT)
    _earn(chain, "bob", 2)
    _earn(chain, "eve", 2)
    start_epoch(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 100))
    assert_ok(chain.submit("eve", "incentives.redeem", 100))
    noop(chain, "bob", 1, error="OverEpochCap")
    noop(chain, "eve", 1, error="OverEpochCap")


def test_a_zero_cap_refuses_every_request(chain):
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_cap_per_epoch", 0)
    _earn(chain, "bob", 1)
    noop(chain, "bob", 1, error="OverEpochCap")


def test_the_cap_opens_again_in_the_next_epoch():
    chain = build()
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_cap_per_epoch", UNIT)
    _earn(chain, "bob", 3)  # 300 points = 3 BTT
    e = start_epoch(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 100))
    to_epoch_end(chain)
    outcome = noop(chain, "bob", 1, error="OverEpochCap")  # in the epoch's last slot: still capped
    assert f"left in epoch {e}" in (outcome.error or "")
    assert chain.slot == (e + 1) * SLOTS - 1
    # the next block settles epoch e first, then takes the request into a fresh round and cap
    pool, supply = chain.account(POOL).free, issuance(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 100))
    assert epoch(chain) == e + 1
    assert chain.account(POOL).free == pool - UNIT
    assert_last_event(chain, events.RedeemRequested(acct("bob"), 100, 100, UNIT, e + 1))
    user = [x for x in chain.events() if x.MODULE == "incentives"]
    assert user[:2] == [events.RedeemPaid(acct("bob"), e, 100, 100, UNIT), events.RedeemRoundSettled(e, 1, UNIT, UNIT,
                                                                                                   UNIT)]
    assert issuance(chain) == supply
    assert storage.open_round.get(chain.view()) == RedeemRound(e + 1, RATE, 100, 1, 1, 1)
    noop(chain, "bob", 1, error="OverEpochCap")
    assert points(chain, "bob") == 100


def test_redeem_needs_a_signed_origin(chain):
    assert_dispatch_noop(chain, GOVERNANCE, "incentives.redeem", 1, error="BadOrigin")
    assert_dispatch_noop(chain, Origin("root"), "incentives.redeem", 1, error="BadOrigin")


def test_the_head_epoch_read(chain):
    assert logic.get_head_epoch(chain.view()) == 0
    slots = 3
    c = build(epoch_slots=slots)
    for _ in range(7):
        c.run_block([])
    assert logic.get_head_epoch(c.view()) == c.slot // slots


# --- redemption: settlement ----------------------------------------------------------------------------------

def test_early_redeemers_cannot_take_the_epoch_budget_every_request_gets_the_same_share():
    """The reported attack: bob, dave and eve (Sybil patients of a corrupt oracle, or just quick) ask for the
    per-patient cap each, 300 BTT against the 250 BTT global cap, in the epoch's first blocks; alice and ferdie,
    honest, ask in its last block. First come, first served paid the three and refused the two; now all five are
    paid 250/320 of what they asked, rounded down to whole points, and the rest of their points comes back."""
    chain = build(pool=2_000)
    assert GLOBAL_CAP == 250 * UNIT and CAP == 100 * UNIT
    asks = {"bob": 10_000, "dave": 10_000, "eve": 10_000, "alice": 1_500, "ferdie": 500}
    for who, n in asks.items():
        earn(chain, who, n)
    e = start_epoch(chain)
    other_order = chain.fork()
    pool = chain.account(POOL).free
    for who in ("bob", "dave", "eve"):
        assert_ok(chain.submit(who, "incentives.redeem", asks[who]))
    to_epoch_end(chain)
    chain.run_block([chain.sign("alice", "incentives.redeem", 1_500), chain.sign("ferdie", "incentives.redeem", 500)])
    assert chain.slot == (e + 1) * SLOTS - 1  # the epoch's last block
    assert storage.open_round.get(chain.view()) == RedeemRound(e, RATE, 32_000, 5, 1, 5)
    assert chain.account(POOL).free == pool
    before = {who: chain.account(who).free for who in asks}
    supply = issuance(chain)
    got = settle(chain)

    # 320 BTT asked, 250 BTT to share: 10,000 x 250/320 = 7,812.5 -> 7,812; 1,500 -> 1,171.875 -> 1,171; 500 -> 390
    paid = {"bob": 7_812, "dave": 7_812, "eve": 7_812, "alice": 1_171, "ferdie": 390}
    assert paid == {who: n * 250 // 320 for who, n in asks.items()}
    by_patient = paid_events(got)
    for who, n in asks.items():
        assert by_patient[acct(who)] == events.RedeemPaid(acct(who), e, n, paid[who], paid[who] * RATE)
        assert chain.account(who).free == before[who] + paid[who] * RATE
        assert points(chain, who) == n - paid[who]
    total = sum(paid.values()) * RATE
    assert total == 249_970_000_000_000_000_000 <= GLOBAL_CAP  # 0.03 BTT of rounding stays in the pool
    assert got[-1] == events.RedeemRoundSettled(e, 5, 320 * UNIT, 250 * UNIT, total)
    assert chain.account(POOL).free == pool - total
    assert issuance(chain) == supply
    view = chain.view()
    assert storage.outstanding_points.get(view) == sum(asks.values()) - sum(paid.values())
    assert check_points(view) == []

    # the honest latecomers are paid the same share as the early three: within one point of 250/320
    for who, n in asks.items():
        assert paid[who] * 320 <= n * 250 < (paid[who] + 1) * 320

    # the order of requests within the epoch changes nothing: the latecomers first, the three last
    other_order.run_block([other_order.sign("alice", "incentives.redeem", 1_500),
                           other_order.sign("ferdie", "incentives.redeem", 500)])
    for who in ("bob", "dave", "eve"):
        assert_ok(other_order.submit(who, "incentives.redeem", asks[who]))
    settle(other_order)
    for who in asks:
        assert storage.payouts.get(other_order.view(), acct(who)) == storage.payouts.get(view, acct(who))


def test_requests_that_fit_the_global_cap_exactly_are_paid_in_full_one_point_more_scales_them():
    chain = build()
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_cap_global_per_epoch", 3 * UNIT)
    _earn(chain, "bob", 4)
    _earn(chain, "eve", 3)
    e = start_epoch(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 200))
    assert_ok(chain.submit("eve", "incentives.redeem", 100))  # 3 BTT asked: exactly the global cap
    got = settle(chain)
    assert got[-1] == events.RedeemRoundSettled(e, 2, 3 * UNIT, 3 * UNIT, 3 * UNIT)
    assert {p.paid for p in paid_events(got).values()} == {200, 100}

    assert_ok(chain.submit("bob", "incentives.redeem", 200))
    assert_ok(chain.submit("eve", "incentives.redeem", 101))  # 3.01 BTT asked
    got = settle(chain)
    by_patient = paid_events(got)
    # 200 x 300/301 = 199.3 -> 199; 101 x 300/301 = 100.7 -> 100
    assert by_patient[acct("bob")] == events.RedeemPaid(acct("bob"), e + 1, 200, 199, 199 * RATE)
    assert by_patient[acct("eve")] == events.RedeemPaid(acct("eve"), e + 1, 101, 100, 100 * RATE)
    assert got[-1] == events.RedeemRoundSettled(e + 1, 2, 301 * RATE, 3 * UNIT, 299 * RATE)
    assert points(chain, "bob") == 400 - 200 - 199 and points(chain, "eve") == 300 - 100 - 100


def test_a_pool_that_cannot_pay_everything_scales_every_request_and_keeps_the_deposit():
    chain = build(pool=1)  # 1 BTT: 100 points' worth
    _earn(chain, "bob", 2)
    _earn(chain, "eve", 1)
    e = start_epoch(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 150))
    assert_ok(chain.submit("eve", "incentives.redeem", 50))
    supply = issuance(chain)
    got = settle(chain)
    # 2 BTT asked, the pool pays 1 BTT less the 0.01 BTT deposit: 150 x 0.99/2 = 74.25 -> 74; 50 -> 24.75 -> 24
    budget = UNIT - ED
    assert got[-1] == events.RedeemRoundSettled(e, 2, 2 * UNIT, budget, 98 * RATE)
    by_patient = paid_events(got)
    assert (by_patient[acct("bob")].paid, by_patient[acct("eve")].paid) == (74, 24)
    assert chain.account(POOL).free == UNIT - 98 * RATE == 2 * RATE  # at least the deposit: no dust burned
    assert issuance(chain) == supply
    assert points(chain, "bob") == 200 - 74 and points(chain, "eve") == 100 - 24


def test_the_pool_can_be_emptied_exactly():
    chain = build(pool=1)
    _earn(chain, "bob", 1)
    assert_ok(chain.submit("bob", "incentives.redeem", 100))
    supply = issuance(chain)
    got = settle(chain)
    assert paid_events(got)[acct("bob")].paid == 100
    assert chain.account(POOL).free == 0
    assert issuance(chain) == supply


def test_a_payout_that_would_leave_the_pool_with_dust_is_scaled_to_leave_the_deposit():
    chain = build(pool=1)
    _earn(chain, "bob", 1)
    # 99 points would leave one point's worth (0.01 BTT) in the pool: below a 0.02 BTT existential deposit
    chain.dispatch(GOVERNANCE, "params.set_parameter", "balances.existential_deposit", 2 * RATE)
    assert_ok(chain.submit("bob", "incentives.redeem", 99))
    supply = issuance(chain)
    got = settle(chain)
    assert paid_events(got)[acct("bob")].paid == 98  # the pool keeps exactly the deposit
    assert chain.account(POOL).free == 2 * RATE
    assert issuance(chain) == supply
    assert points(chain, "bob") == 2


def test_an_empty_pool_pays_nothing_and_every_point_comes_back():
    chain = build(pool=0)
    _earn(chain, "bob", 1)
    e = epoch(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 100))
    bob = chain.account("bob").free
    got = settle(chain)
    assert paid_events(got)[acct("bob")] == events.RedeemPaid(acct("bob"), e, 100, 0, 0)
    assert got[-1] == events.RedeemRoundSettled(e, 1, UNIT, 0, 0)
    assert chain.account("bob").free == bob and points(chain, "bob") == 100
    assert storage.payouts.get(chain.view(), acct("bob")).returned == 100


def test_a_zero_rate_at_settlement_pays_nothing_and_returns_the_points(chain):
    _earn(chain, "bob", 1)
    e = epoch(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 100))
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_rate", 0)  # governance stops redemption
    pool = chain.account(POOL).free
    got = settle(chain)
    assert paid_events(got)[acct("bob")] == events.RedeemPaid(acct("bob"), e, 100, 0, 0)
    assert chain.account(POOL).free == pool and points(chain, "bob") == 100


def test_an_epoch_is_paid_at_the_rate_of_its_first_request(chain):
    _earn(chain, "bob", 2)
    _earn(chain, "eve", 1)
    e = start_epoch(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 10))
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_rate", 2 * RATE)
    assert_ok(chain.submit("eve", "incentives.redeem", 10))
    assert_last_event(chain, events.RedeemRequested(acct("eve"), 10, 10, 10 * RATE, e))  # the epoch's rate
    assert_ok(chain.submit("bob", "incentives.redeem", 5))
    got = paid_events(settle(chain))
    assert got[acct("bob")].amount == 15 * RATE and got[acct("eve")].amount == 10 * RATE
    assert_ok(chain.submit("bob", "incentives.redeem", 10))
    assert_last_event(chain, events.RedeemRequested(acct("bob"), 10, 10, 20 * RATE, e + 1))  # the new rate


def test_the_cap_is_checked_at_the_epoch_rate_when_the_rate_rises_mid_epoch(chain):
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_cap_per_epoch", UNIT)
    _earn(chain, "bob", 2)
    start_epoch(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 60))
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_rate", 2 * RATE)
    assert_ok(chain.submit("bob", "incentives.redeem", 40))  # 100 points x 0.01 BTT: exactly the 1 BTT cap
    noop(chain, "bob", 1, error="OverEpochCap")
    assert paid_events(settle(chain))[acct("bob")].amount == UNIT


def test_a_full_request_table_refuses_a_new_patient_cleanly_and_settles_in_one_block():
    patients = [Keypair(i.to_bytes(4, "big") * 8) for i in range(1, MAX_REQUESTS_PER_EPOCH + 1)]
    chain = GenesisBuilder(balances=dict(BALANCES), module_balances={"community_incentives": (500, 0)},
                           accounts={p.public: 1 for p in patients}, epoch_slots=SLOTS, params=dict(LIFTED)).build()
    chain.dispatch(GOVERNANCE, "roles.appoint_oracle", "preventive_visit", acct("charlie"))
    ex = chain.begin_block()
    nonce = chain.account("charlie").nonce
    for i, who in enumerate([*(p.public for p in patients), acct("ferdie")]):
        xt = chain.sign("charlie", "incentives.attest", who, "preventive_visit", ev(f"table {i}"), nonce=nonce + i)
        assert chain.executive.apply_extrinsic(ex, xt, len(xt.encode())).success
    chain.end_block()
    e = epoch(chain)
    ex = chain.begin_block()
    for p in patients:  # the whole table in one block: it costs what the settlement will
        xt = chain.sign(p, "incentives.redeem", 10)
        assert chain.executive.apply_extrinsic(ex, xt, len(xt.encode())).success
    chain.end_block()
    assert storage.open_round.get(chain.view()) == RedeemRound(e, RATE, 10 * MAX_REQUESTS_PER_EPOCH,
                                                               MAX_REQUESTS_PER_EPOCH, 1, MAX_REQUESTS_PER_EPOCH)
    # a new patient is refused with nothing changed; one already in the table may still add to its request
    outcome = noop(chain, "ferdie", 10, error="RequestTableFull")
    assert f"{MAX_REQUESTS_PER_EPOCH} patients have requested in epoch {e}" in (outcome.error or "")
    assert f"ask again in epoch {e + 1}" in (outcome.error or "")
    assert chain.run_block([chain.sign(patients[0], "incentives.redeem", 5)]).outcomes[0].success
    assert epoch(chain) == e
    # the settlement pays the whole table in the next epoch's first block: 10.245 BTT asked fits the cap
    asked = (10 * MAX_REQUESTS_PER_EPOCH + 5) * RATE
    got = settle(chain)
    assert len(paid_events(got)) == MAX_REQUESTS_PER_EPOCH
    assert got[-1] == events.RedeemRoundSettled(e, MAX_REQUESTS_PER_EPOCH, asked, asked, asked)
    assert_ok(chain.submit("ferdie", "incentives.redeem", 10))  # a fresh table
    assert storage.open_round.get(chain.view()) == RedeemRound(e + 1, RATE, 10, 1, 1, 1)


def test_a_transaction_checked_at_the_boundary_sees_the_new_epoch_not_the_unsettled_one(chain):
    """Pool admission and dry runs skip the hooks: at an epoch's first slot they see the ended epoch's round still
    open, and must treat the new epoch as having no requests (the real block settles the old round first)."""
    _earn(chain, "bob", 1)
    e = start_epoch(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 60))
    to_epoch_end(chain)
    chain.run_block([])
    n = chain.number + 1
    env = BlockEnv(n, chain.parent_hash, chain.slot + 1, 1_000_000 + (chain.slot + 1) * 1000, chain.author)
    xt = chain.sign("bob", "incentives.redeem", 40)
    outcome, emitted = chain.executive.dry_run(chain.backend, env, xt, len(xt.encode()))
    assert outcome.success
    assert events.RedeemRequested(acct("bob"), 40, 40, 40 * RATE, e + 1) in emitted
    assert_ok(chain.submit("bob", "incentives.redeem", 40))
    assert_last_event(chain, events.RedeemRequested(acct("bob"), 40, 40, 40 * RATE, e + 1))
    assert storage.payouts.get(chain.view(), acct("bob")) == Payout(e, 60, 60, 60 * RATE)


def test_the_rpc_reads_of_a_request():
    chain = build()
    _earn(chain, "bob", 1)
    e = start_epoch(chain)
    view = chain.view()
    assert redemption.get_epoch_rate(view, e, 7) == 7  # no request yet: the parameter
    assert_ok(chain.submit("bob", "incentives.redeem", 60))
    view = chain.view()
    assert redemption.get_epoch_rate(view, e, 7) == RATE
    assert redemption.get_open_round(view, e) == RedeemRound(e, RATE, 60, 1, 1, 1)
    assert redemption.get_open_round(view, e + 1) is None


# --- the rule, for any request set ---------------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(
    requests=st.lists(st.integers(1, 10**6), min_size=1, max_size=MAX_REQUESTS_PER_EPOCH // 16),
    rate=st.integers(1, 10**18),
    global_cap=st.integers(1, 10**24),
    free=st.integers(0, 10**25),
    frozen=st.integers(0, 10**24),
    reserved=st.integers(0, 10**24),
    ed=st.integers(1, 10**18),
)
def test_payouts_never_exceed_the_global_cap_the_pool_or_a_request_and_are_proportional(
    requests: list[int], rate: int, global_cap: int, free: int, frozen: int, reserved: int, ed: int
) -> None:
    asked = sum(requests) * rate
    spendable, total = max(0, free - frozen), free + reserved
    budget = redemption.compute_budget(asked, global_cap, spendable, total, ed)
    paid = [redemption.compute_paid_points(r, asked, budget) for r in requests]
    out = sum(paid) * rate
    assert out <= budget <= min(global_cap, spendable)
    assert out == 0 or total - out == 0 or total - out >= ed  # a payout never leaves the pool holding dust
    assert all(0 <= p <= r for p, r in zip(paid, requests, strict=True))
    if budget == asked:
        assert paid == requests
    else:
        # each request the same share budget/asked, rounded down to a whole point; less than a point per request
        # stays in the pool
        assert all(p * asked <= r * budget < (p + 1) * asked for p, r in zip(paid, requests, strict=True))
        assert budget - out < len(requests) * rate
    fits = asked <= global_cap and asked <= spendable and (total == asked or total - asked >= ed)
    assert (budget == asked) == fits


@settings(max_examples=8, deadline=None)
@given(
    asks=st.lists(st.integers(1, 10_000), min_size=1, max_size=8),
    global_cap=st.integers(1, 400),
    pool=st.integers(0, 500),
)
def test_a_random_epoch_of_requests_is_settled_by_the_rule_on_chain(asks: list[int], global_cap: int,
                                                                     pool: int) -> None:
    """On a chain: every patient asks in one block; the settlement pays exactly what the rule says, moves exactly
    that from the pool, leaves issuance unchanged and conserves points (the builder checks the invariants)."""
    patients = [Keypair(bytes([i + 1]) * 32) for i in range(len(asks))]
    chain = GenesisBuilder(balances=dict(BALANCES), module_balances={"community_incentives": (pool, 0)},
                           accounts={p.public: 1 for p in patients}, epoch_slots=SLOTS,
                           params={"incentives.redeem_cap_global_per_epoch": global_cap * UNIT,
                                   "incentives.points.preventive_visit": 10_000, **LIFTED}).build()
    chain.dispatch(GOVERNANCE, "roles.appoint_oracle", "preventive_visit", acct("charlie"))
    nonce = chain.account("charlie").nonce
    chain.run_block([chain.sign("charlie", "incentives.attest", p.public, "preventive_visit", ev(f"r{i}"),
                                nonce=nonce + i) for i, p in enumerate(patients)])
    e = epoch(chain)
    result = chain.run_block([chain.sign(p, "incentives.redeem", n) for p, n in zip(patients, asks, strict=True)])
    assert all(o.success for o in result.outcomes)
    pool0, supply = chain.account(POOL), issuance(chain)
    got = paid_events(settle(chain))
    asked = sum(asks) * RATE
    budget = redemption.compute_budget(asked, global_cap * UNIT, pool0.spendable, pool0.total, ED)
    out = 0
    for p, n in zip(patients, asks, strict=True):
        paid = redemption.compute_paid_points(n, asked, budget)
        assert got[p.public] == events.RedeemPaid(p.public, e, n, paid, paid * RATE)
        assert logic.get_points(chain.view(), p.public) == 10_000 - paid
        out += paid * RATE
    assert out <= min(global_cap * UNIT, budget)
    assert chain.account(POOL).free == pool0.free - out
    assert issuance(chain) == supply


# --- points and issuance over attestation, request and settlement --------------------------------------------

def test_points_are_conserved_through_requests_and_settlement(chain):
    _earn(chain, "bob", 3)
    _earn(chain, "eve", 1)
    assert_ok(chain.submit("bob", "incentives.redeem", 250))
    assert_ok(chain.submit("eve", "incentives.redeem", 30))
    view = chain.view()
    assert check_points(view) == []
    assert storage.outstanding_points.get(view) == 400
    settle(chain)
    view = chain.view()
    assert check_points(view) == []
    assert storage.outstanding_points.get(view) == 400 - 280 == points(chain, "bob") + points(chain, "eve")
    assert storage.total_paid.get(view) == 280 * RATE
