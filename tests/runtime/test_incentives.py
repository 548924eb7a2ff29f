"""incentives: oracles attest patients' activities for points (each evidence hash once), patients redeem points
for BTT from the Community Incentives pool at the parameter rate, within a per-patient cap each epoch."""

from __future__ import annotations

import pytest

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.hashing import blake2b_256
from runtime.consensus import logic as consensus
from runtime.context import GOVERNANCE, Origin
from runtime.incentives import events, logic, storage
from runtime.incentives.types import ACTIVITIES, Attestation, EpochRedemption
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
POINTS = {a: DEFAULT_PARAMS[f"incentives.points.{a}"][0] for a in ACTIVITIES}
BALANCES = {"alice": 1_000, "bob": 1_000, "charlie": 100, "dave": 100, "eve": 100}


def ev(text: str) -> bytes:
    return blake2b_256(text.encode())


def build(pool: int = 500, epoch_slots: int = 0) -> TestChain:
    """Oracles: charlie for preventive visits, dave for referrals; the pool holds `pool` BTT."""
    chain = GenesisBuilder(balances=dict(BALANCES), module_balances={"community_incentives": (pool, 0)},
                           epoch_slots=epoch_slots).build()
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


# --- redeem ---------------------------------------------------------------------------------------------------

def test_a_patient_redeems_points_for_btt_from_the_pool(chain):
    attest(chain, "charlie", "bob", "preventive_visit", ev("v"))
    bob, pool, supply = chain.account("bob").free, chain.account(POOL).free, issuance(chain)
    outcome = chain.submit("bob", "incentives.redeem", 60)
    assert_ok(outcome)
    payout = 60 * RATE
    assert payout == 600_000_000_000_000_000  # 0.6 BTT at 0.01 BTT per point
    assert chain.account("bob").free == bob - outcome.fee + payout
    assert chain.account(POOL).free == pool - payout
    assert issuance(chain) == supply  # the payout moved; nothing minted or burned besides the fee rules
    assert points(chain, "bob") == 40
    view = chain.view()
    assert logic.get_redeemed_in_epoch(view, acct("bob"), 0) == payout
    assert storage.redeemed.get(view, acct("bob")) == EpochRedemption(0, payout)
    assert storage.outstanding_points.get(view) == 40
    assert storage.total_paid.get(view) == payout
    assert_last_event(chain, events.Redeemed(acct("bob"), 60, payout, 0))


def test_redeeming_every_point_clears_the_entry(chain):
    attest(chain, "charlie", "bob", "preventive_visit", ev("v"))
    assert_ok(chain.submit("bob", "incentives.redeem", 100))
    assert not storage.points.contains(chain.view(), acct("bob"))
    assert points(chain, "bob") == 0
    assert storage.outstanding_points.get(chain.view()) == 0


def test_the_payout_follows_the_rate_to_the_base_unit(chain):
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_rate", 1_234_567_890_123_457)
    attest(chain, "charlie", "bob", "preventive_visit", ev("v"))
    pool, bob = chain.account(POOL).free, chain.account("bob").free
    outcome = chain.submit("bob", "incentives.redeem", 37)
    assert_ok(outcome)
    assert chain.account(POOL).free == pool - 45_679_011_934_567_909
    assert chain.account("bob").free == bob - outcome.fee + 45_679_011_934_567_909
    assert storage.total_paid.get(chain.view()) == 45_679_011_934_567_909


def test_redeeming_zero_points_is_refused(chain):
    attest(chain, "charlie", "bob", "preventive_visit", ev("v"))
    assert_noop(chain, "bob", "incentives.redeem", 0, error="ZeroPoints")


def test_redeeming_more_points_than_held_is_refused(chain):
    assert_noop(chain, "bob", "incentives.redeem", 1, error="InsufficientPoints")
    attest(chain, "charlie", "bob", "preventive_visit", ev("v"))
    outcome = assert_noop(chain, "bob", "incentives.redeem", 101, error="InsufficientPoints")
    assert "holds 100 points" in (outcome.error or "")


def test_a_zero_rate_refuses_redemption(chain):
    attest(chain, "charlie", "bob", "preventive_visit", ev("v"))
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_rate", 0)
    assert_noop(chain, "bob", "incentives.redeem", 10, error="RedeemDisabled")


def _earn(chain: TestChain, patient: str, n: int, tag: str = "") -> None:
    for i in range(n):
        attest(chain, "charlie", patient, "preventive_visit", ev(f"{tag}{patient}{i}"))


def test_the_cap_per_epoch_holds_and_says_what_is_left():
    chain = build()
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_cap_per_epoch", 3 * UNIT)
    _earn(chain, "bob", 5)  # 500 points = 5 BTT
    assert_ok(chain.submit("bob", "incentives.redeem", 250))  # 2.5 BTT
    outcome = assert_noop(chain, "bob", "incentives.redeem", 51, error="OverEpochCap")
    assert "0.5 BTT (50 points) of the 3 BTT cap is left in epoch 0" in (outcome.error or "")
    assert_ok(chain.submit("bob", "incentives.redeem", 50))  # exactly to the cap
    assert logic.get_redeemed_in_epoch(chain.view(), acct("bob"), 0) == 3 * UNIT
    outcome = assert_noop(chain, "bob", "incentives.redeem", 1, error="OverEpochCap")
    assert "0 BTT (0 points)" in (outcome.error or "")


def test_the_cap_is_per_patient(chain):
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_cap_per_epoch", UNIT)
    _earn(chain, "bob", 2)
    _earn(chain, "eve", 2)
    assert_ok(chain.submit("bob", "incentives.redeem", 100))
    assert_ok(chain.submit("eve", "incentives.redeem", 100))
    assert_noop(chain, "bob", "incentives.redeem", 1, error="OverEpochCap")
    assert_noop(chain, "eve", "incentives.redeem", 1, error="OverEpochCap")


def test_a_zero_cap_refuses_every_redemption(chain):
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_cap_per_epoch", 0)
    _earn(chain, "bob", 1)
    assert_noop(chain, "bob", "incentives.redeem", 1, error="OverEpochCap")


def test_the_cap_opens_again_in_the_next_epoch():
    slots = 20
    chain = build(epoch_slots=slots)
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.redeem_cap_per_epoch", UNIT)
    _earn(chain, "bob", 3)  # 300 points = 3 BTT
    epoch = chain.slot // slots
    assert_ok(chain.submit("bob", "incentives.redeem", 100))
    assert chain.slot // slots == epoch
    # run on until the next block is the epoch's last slot: still capped there
    while (chain.slot + 2) // slots == epoch:
        chain.run_block([])
    outcome = assert_noop(chain, "bob", "incentives.redeem", 1, error="OverEpochCap")
    assert f"left in epoch {epoch}" in (outcome.error or "")
    assert chain.slot == (epoch + 1) * slots - 1
    # the next block opens epoch + 1 and a fresh cap
    pool, supply = chain.account(POOL).free, issuance(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 100))
    assert consensus.epoch_of(chain.view(), chain.slot) == epoch + 1
    assert chain.account(POOL).free == pool - UNIT
    assert issuance(chain) == supply
    assert_last_event(chain, events.Redeemed(acct("bob"), 100, UNIT, epoch + 1))
    view = chain.view()
    assert logic.get_redeemed_in_epoch(view, acct("bob"), epoch + 1) == UNIT
    assert logic.get_redeemed_in_epoch(view, acct("bob"), epoch) == 0  # only the latest epoch is kept
    assert_noop(chain, "bob", "incentives.redeem", 1, error="OverEpochCap")
    assert points(chain, "bob") == 100


def test_a_pool_that_cannot_pay_changes_nothing():
    chain = build(pool=1)  # 1 BTT: 100 points' worth
    _earn(chain, "bob", 2)
    outcome = assert_noop(chain, "bob", "incentives.redeem", 101, error="PoolCannotPay")
    assert "the pool can pay 1 BTT, the redemption needs 1.01 BTT" in (outcome.error or "")
    assert points(chain, "bob") == 200


def test_a_payout_that_would_leave_the_pool_with_dust_is_refused():
    chain = build(pool=1)
    _earn(chain, "bob", 1)
    # 99 points leave one point's worth (0.01 BTT) in the pool: below a 0.02 BTT existential deposit
    chain.dispatch(GOVERNANCE, "params.set_parameter", "balances.existential_deposit", 2 * RATE)
    outcome = assert_noop(chain, "bob", "incentives.redeem", 99, error="PoolCannotPay")
    assert "would leave the pool holding dust" in (outcome.error or "")
    assert_ok(chain.submit("bob", "incentives.redeem", 98))  # leaves exactly the deposit
    assert chain.account(POOL).free == 2 * RATE


def test_the_pool_can_be_emptied_exactly():
    chain = build(pool=1)
    _earn(chain, "bob", 1)
    supply = issuance(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 100))
    assert chain.account(POOL).free == 0
    assert issuance(chain) == supply


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


def test_sybil_patients_of_one_oracle_share_the_global_cap_per_epoch():
    # the reported attack: four patient accounts redeemed 400 BTT in one epoch against a 100 BTT per-patient cap
    chain = build(pool=2_000)
    global_cap = DEFAULT_PARAMS["incentives.redeem_cap_global_per_epoch"][0]
    assert global_cap == 250 * UNIT and CAP == 100 * UNIT
    patients = ("bob", "dave", "eve", "alice")
    for p in patients:
        _earn(chain, p, 100, tag="sybil")  # 10,000 points = 100 BTT each, all attested by charlie
    pool0 = chain.account(POOL).free
    assert_ok(chain.submit("bob", "incentives.redeem", 10_000))
    assert_ok(chain.submit("dave", "incentives.redeem", 10_000))
    outcome = assert_noop(chain, "eve", "incentives.redeem", 10_000, error="OverGlobalEpochCap")
    assert "50 BTT of the 250 BTT all patients may redeem in epoch 0 is left" in (outcome.error or "")
    assert_ok(chain.submit("eve", "incentives.redeem", 5_000))  # exactly to the global cap
    assert_noop(chain, "alice", "incentives.redeem", 1, error="OverGlobalEpochCap")
    assert pool0 - chain.account(POOL).free == global_cap
