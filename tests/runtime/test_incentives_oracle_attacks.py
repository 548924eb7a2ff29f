"""incentives against a corrupt oracle (issue 52, finding 5), on btt-21m's incentives parameters and fees.

The finding: rows of the request table were fair per oracle, but the epoch's budget was shared pro rata to the points
asked, and an oracle mints points for an attestation's fee: one corrupt oracle's 10 Sybils took 238 of 249.5 BTT an
epoch for 0.74 BTT of fees while 50 honest patients got 23% of what they asked. It also captured honest patients by
attesting them first: the home oracle never changed. Now

- the budget is shared per oracle group, max-min fair (`redemption.compute_group_budgets`), each request its group's
  share pro rata;
- one oracle attests at most `incentives.oracle_points_per_epoch` points an epoch (btt-21m: 5,000, 50 BTT's worth);
- a patient's home is the oracle that attested it the most points, or its own choice among the oracles that attested
  it (`incentives.choose_oracle`), never fixed by whoever attested first;
- the storage migration (version 0 -> 1) fills what each oracle attested each patient and recomputes the homes.

Each attack is tried and asserted to fail; every refusal changes nothing (`assert_noop`), and the builder checks the
runtime's invariants (the new records included) after every block. A test chain's epoch here is 4 slots (btt-21m's
is 600): the rules count per epoch, not per slot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair
from genesis.loader import load_chain_spec
from runtime.consensus import logic as consensus
from runtime.consensus import storage as consensus_storage
from runtime.context import GOVERNANCE, ROOT
from runtime.executive import ApplyOutcome
from runtime.incentives import events, home, logic, migrations, redemption, storage
from runtime.incentives.invariants import check_attested, check_points
from runtime.incentives.types import Attestation, OracleTally
from runtime.overlay import Overlay
from runtime.storage_version import put_storage_version
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

LIVE = {p.name: p.value for p in load_chain_spec("btt-21m").parameters}
LIVE_PARAMS = {n: LIVE[n] for n in DEFAULT_PARAMS if n.startswith(("incentives.", "fees."))}
"""btt-21m's incentives parameters and fees."""
RATE = LIVE["incentives.redeem_rate"]
CAP = LIVE["incentives.redeem_cap_per_epoch"]
GLOBAL_CAP = LIVE["incentives.redeem_cap_global_per_epoch"]
ORACLE_CAP = LIVE["incentives.oracle_points_per_epoch"]
VISIT = LIVE["incentives.points.preventive_visit"]
LIFESTYLE = LIVE["incentives.points.healthy_lifestyle"]
SLOTS = 4
SYBILS = [f"sybil{i}" for i in range(10)]
HONEST = [f"honest{i}" for i in range(50)]
HONEST_ASK = 100
"""Points each honest patient asks an epoch (1 BTT): 50 of them ask 50 BTT, as in the report."""
HOARD_EPOCHS = 20
"""Epochs charlie mints at its cap into its Sybils' accounts: 20 x 5,000 points, the per-patient cap (10,000
points) for each of the 10 Sybils, the size of the reported requests."""


def test_btt_21m_sets_the_oracle_cap_the_figures_assume() -> None:
    assert (RATE, CAP, GLOBAL_CAP) == (UNIT // 100, 100 * UNIT, 250 * UNIT)
    assert (ORACLE_CAP, VISIT, LIFESTYLE) == (5_000, 100, 20)
    assert HOARD_EPOCHS * ORACLE_CAP == len(SYBILS) * CAP // RATE


def ev(text: str) -> bytes:
    return blake2b_256(text.encode())


def build(extra: Iterable[str] = (), epoch_slots: int = SLOTS, **params: int) -> TestChain:
    """btt-21m's incentives parameters and fees; charlie (corrupt) attests preventive visits and healthy
    lifestyles, dave (an honest clinic) preventive visits, eve referrals; each of `extra` holds 1 BTT for its
    fees; the pool holds 100,000 BTT, so the global cap bounds every epoch."""
    balances = {"alice": 1_000, "bob": 1_000, "charlie": 100, "dave": 100, "eve": 100, "ferdie": 100}
    balances.update({name: 1 for name in extra})
    chain = GenesisBuilder(balances=balances, module_balances={"community_incentives": (100_000, 0)},
                           epoch_slots=epoch_slots, params={**LIVE_PARAMS, **params}).build()
    for oracle, activity in (("charlie", "preventive_visit"), ("charlie", "healthy_lifestyle"),
                             ("dave", "preventive_visit"), ("eve", "referral")):
        chain.dispatch(GOVERNANCE, "roles.appoint_oracle", activity, acct(oracle))
    return chain


def epoch(chain: TestChain) -> int:
    return consensus.epoch_of(chain.view(), chain.slot)


def start_epoch(chain: TestChain) -> int:
    """Run empty blocks until the last one opened an epoch; that epoch."""
    per = consensus_storage.epoch_slots.get(chain.view())
    while chain.slot % per:
        chain.run_block([])
    return epoch(chain)


def block(chain: TestChain, calls: Iterable[tuple[str, str, tuple[object, ...]]]) -> list[ApplyOutcome]:
    """Apply (signer, call, args) in one block; their outcomes."""
    ex = chain.begin_block()
    nonces: dict[str, int] = {}
    outcomes = []
    for signer, call, args in calls:
        nonce = nonces.get(signer, chain.account(signer).nonce)
        nonces[signer] = nonce + 1
        xt = chain.sign(signer, call, *args, nonce=nonce)
        outcomes.append(chain.executive.apply_extrinsic(ex, xt, len(xt.encode())))
    chain.end_block()
    return outcomes


def attest_visits(chain: TestChain, oracle: str, patients: Iterable[str], tag: str) -> list[ApplyOutcome]:
    """`oracle` attests one preventive visit of each patient (in order, a patient as often as it is listed), in one
    block."""
    return block(chain, ((oracle, "incentives.attest", (acct(p), "preventive_visit", ev(f"{tag} {oracle} {p} {i}")))
                         for i, p in enumerate(patients)))


def settle(chain: TestChain) -> dict[bytes, events.RedeemPaid]:
    """Run empty blocks up to the one that settles the open round; its payouts by patient."""
    while storage.open_round.get(chain.view()) is not None:
        chain.run_block([])
    return {e.patient: e for e in chain.events() if isinstance(e, events.RedeemPaid)}


def took(paid: dict[bytes, events.RedeemPaid], names: Iterable[str]) -> tuple[int, int, int]:
    """(base units paid, points paid, points requested) of `names`' requests."""
    got = [paid[acct(n)] for n in names]
    return sum(p.amount for p in got), sum(p.paid for p in got), sum(p.requested for p in got)


def old_rule(asks: dict[str, int]) -> dict[str, int]:
    """Points each request is paid under spec 13's rule, pro rata to the points asked over the whole epoch, with the
    pool ample and the global cap the budget."""
    asked = sum(asks.values()) * RATE
    budget = redemption.compute_budget(asked, GLOBAL_CAP, 10**30, 10**30, 1)
    return {who: redemption.compute_paid_points(n, asked, budget) for who, n in asks.items()}


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%"


# --- 1. the reported attack, repeated every epoch ----------------------------------------------------------------

def test_the_reported_sybil_attack_repeated_every_epoch_takes_only_what_its_oracle_may_mint(capsys) -> None:  # type: ignore[no-untyped-def]
    """Each epoch charlie tries the reported attack: 1,000 preventive visits (100,000 points) for its 10 Sybils,
    who then ask for everything they hold; dave attests his 50 patients one visit each and they ask 100 points each.
    Before: the Sybils asked 1,000 BTT against the honest 50 BTT and took 238 of 249.5 BTT, the honest got 23%.
    Now charlie's 51st attestation of an epoch is refused (5,000 points, its cap), so its Sybils ask 50 BTT an
    epoch, everything fits the budget and the honest are paid in full, epoch after epoch."""
    chain = build([*SYBILS, *HONEST])
    start_epoch(chain)
    before = old_rule({**{s: CAP // RATE for s in SYBILS}, **{h: HONEST_ASK for h in HONEST}})
    before_sybils = sum(before[s] for s in SYBILS) * RATE
    before_honest = sum(before[h] for h in HONEST)
    assert (before_sybils, before_honest) == (238 * UNIT, 1_150)  # the report's figures: 238 BTT; 23% of 5,000
    for n in range(3):
        e = epoch(chain)
        tries = [SYBILS[i % len(SYBILS)] for i in range(ORACLE_CAP // VISIT + 1)]
        outcomes = attest_visits(chain, "charlie", tries, f"attack {n}")
        assert all(o.success for o in outcomes[:-1])
        assert not outcomes[-1].success and "OracleCapReached" in (outcomes[-1].error or "")
        fees = sum(o.fee for o in outcomes[:-1])
        assert all(o.success for o in attest_visits(chain, "dave", HONEST, f"visit {n}"))
        assert logic.get_oracle_epoch_points(chain.view(), acct("charlie"), e) == ORACLE_CAP
        asks = [(s, "incentives.redeem", (logic.get_points(chain.view(), acct(s)),)) for s in SYBILS]
        asks += [(h, "incentives.redeem", (HONEST_ASK,)) for h in HONEST]
        assert all(o.success for o in block(chain, asks))
        assert epoch(chain) == e
        paid = settle(chain)
        sybils, _, _ = took(paid, SYBILS)
        _, honest_paid, honest_asked = took(paid, HONEST)
        assert sybils == ORACLE_CAP * RATE  # 50 BTT: what charlie may mint in an epoch, never more
        assert honest_paid == honest_asked == len(HONEST) * HONEST_ASK
    with capsys.disabled():
        print(f"\nbtt-21m, one corrupt oracle's 10 Sybils every epoch: before they took {format_btt(before_sybils)} "
              f"BTT an epoch and 50 honest patients got {pct(before_honest, len(HONEST) * HONEST_ASK)} of what they "
              f"asked; now they take {format_btt(sybils)} BTT an epoch (charlie's cap, {format_btt(fees)} BTT of "
              f"attestation fees) and the honest get {pct(honest_paid, honest_asked)}")


# --- 2. points saved over many epochs ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hoard() -> TestChain:
    """charlie attests honest0..honest4 a healthy lifestyle *first* (the capture), then mints at its cap for
    HOARD_EPOCHS epochs into its Sybils' accounts (10,000 points each, the reported requests' size); in the last,
    dave attests each of his 50 patients one visit. The chain stands at the start of the epoch after."""
    chain = build([*SYBILS, *HONEST])
    start_epoch(chain)
    captured = block(chain, (("charlie", "incentives.attest", (acct(h), "healthy_lifestyle", ev(f"capture {h}")))
                             for h in HONEST[:5]))
    assert all(o.success for o in captured)
    chain.run_block([])
    start_epoch(chain)
    for n in range(HOARD_EPOCHS):
        sybils = [SYBILS[i % len(SYBILS)] for i in range(ORACLE_CAP // VISIT)]  # 5 visits each
        assert all(o.success for o in attest_visits(chain, "charlie", sybils, f"hoard {n}"))
        if n == HOARD_EPOCHS - 1:
            assert all(o.success for o in attest_visits(chain, "dave", HONEST, "visit"))
        chain.run_block([])
        start_epoch(chain)
    return chain


def test_points_saved_over_twenty_epochs_take_only_what_the_other_groups_leave(hoard: TestChain, capsys) -> None:  # type: ignore[no-untyped-def]
    """The reported requests on btt-21m, after charlie saved its cap for 20 epochs: 10 Sybils ask 100 BTT each,
    50 honest patients 1 BTT each. Each oracle's group is owed half the 250 BTT: dave's asks 50 BTT and is paid in
    full; charlie's gets what is left, 200 BTT, pro rata among the Sybils. The Sybils' points came at 5,000 an
    epoch, so over the 21 epochs they took less than charlie's cap, and never the honest patients' share."""
    chain = hoard.fork()
    view = chain.view()
    held = [logic.get_points(view, acct(s)) for s in SYBILS]
    assert sum(held) >= len(SYBILS) * CAP // RATE
    asks = [(s, "incentives.redeem", (CAP // RATE,)) for s in SYBILS]
    asks += [(h, "incentives.redeem", (HONEST_ASK,)) for h in HONEST]
    assert all(o.success for o in block(chain, asks))
    view, rnd = chain.view(), storage.open_round.get(chain.view())
    if_now = {who: redemption.get_paid_if_settled(view, rnd, acct(who), GLOBAL_CAP) for who in ("sybil0", "honest0")}
    paid = settle(chain)
    assert if_now == {who: paid[acct(who)].paid for who in if_now}  # what `btt_points` shows before the settlement
    sybils, _, _ = took(paid, SYBILS)
    honest, honest_paid, honest_asked = took(paid, HONEST)
    assert (honest_paid, honest) == (honest_asked, len(HONEST) * HONEST_ASK * RATE)  # dave's group in full
    assert sybils == GLOBAL_CAP - honest == 200 * UNIT
    assert all(paid[acct(s)].paid == 2_000 for s in SYBILS)  # 10,000 x 200 / 1,000 BTT each
    assert storage.last_round.get(chain.view()).paid == GLOBAL_CAP
    # the old rule on the same requests: the Sybils' 1,000 BTT asked took 238 BTT, the honest got 23%
    before = old_rule({**{s: CAP // RATE for s in SYBILS}, **{h: HONEST_ASK for h in HONEST}})
    assert sum(before[h] for h in HONEST) * 100 // honest_asked == 23
    with capsys.disabled():
        print(f"\nbtt-21m, the reported requests after {HOARD_EPOCHS} epochs of saving at the cap: before the "
              f"Sybils took {format_btt(sum(before[s] for s in SYBILS) * RATE)} BTT and the honest got "
              f"{pct(sum(before[h] for h in HONEST), honest_asked)}; now the honest get "
              f"{pct(honest_paid, honest_asked)} and the Sybils {format_btt(sybils)} BTT, what the honest group "
              f"left ({sybils / UNIT / (HOARD_EPOCHS + 1):.1f} BTT an epoch over the {HOARD_EPOCHS + 1} epochs)")


def test_the_budget_is_shared_per_group_whatever_one_group_asks() -> None:
    """A group's share does not grow with what its oracle mints: with k groups all asking more than budget / k,
    each gets budget / k (the Sybils' 1,000 BTT or 100,000 BTT alike); a group asking less is paid in full and the
    rest is shared equally by the others."""
    sybil, honest, other = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
    for sybils_ask in (1_000 * UNIT, 100_000 * UNIT):
        shares = redemption.compute_group_budgets([(sybil, sybils_ask), (honest, 150 * UNIT)], GLOBAL_CAP)
        assert shares == {sybil: 125 * UNIT, honest: 125 * UNIT}
        shares = redemption.compute_group_budgets([(sybil, sybils_ask), (honest, 150 * UNIT), (other, 30 * UNIT)],
                                                  GLOBAL_CAP)
        assert shares == {sybil: 110 * UNIT, honest: 110 * UNIT, other: 30 * UNIT}
    # before, the honest 150 BTT beside the Sybils' 1,000 BTT was paid 150 x 250 / 1,150 = 32.6 BTT: 21.7%
    assert redemption.compute_paid_points(15_000, 1_150 * UNIT, GLOBAL_CAP) == 3_260


@settings(max_examples=300, deadline=None)
@given(asks=st.lists(st.integers(0, 10**6), min_size=1, max_size=40), budget=st.integers(0, 2 * 10**7))
def test_group_budgets_are_max_min_fair(asks: list[int], budget: int) -> None:
    groups = [(i.to_bytes(32, "big"), a) for i, a in enumerate(asks)]
    shares = redemption.compute_group_budgets(groups, budget)
    assert set(shares) == {g for g, _ in groups}
    assert all(0 <= shares[g] <= a for g, a in groups)
    assert sum(shares.values()) == min(budget, sum(asks))  # nothing lost, nothing over
    floor = budget // len(groups)
    assert all(shares[g] >= min(a, floor) for g, a in groups)  # an equal share, or the whole ask
    for g, a in groups:  # a group paid less than it asked gets at least what any other gets, to a base unit
        if shares[g] < a:
            assert max(shares.values()) <= shares[g] + 1


@settings(max_examples=8, deadline=None)
@given(asks=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 10_000)), min_size=1, max_size=9),
       global_cap=st.integers(1, 300))
def test_a_random_epoch_of_several_groups_is_settled_by_the_rule_on_chain(asks: list[tuple[int, int]],
                                                                          global_cap: int) -> None:
    """Patients of three oracles ask in one block; the settlement pays each its group's share pro rata, exactly as
    `compute_group_budgets` and `compute_paid_points` say, and the builder checks the invariants."""
    names = ("charlie", "dave", "eve")
    activity = {"charlie": "preventive_visit", "dave": "preventive_visit", "eve": "referral"}
    patients = [Keypair(bytes([i + 1]) * 32) for i in range(len(asks))]
    chain = GenesisBuilder(balances={"alice": 1_000, "charlie": 100, "dave": 100, "eve": 100},
                           module_balances={"community_incentives": (1_000, 0)},
                           accounts={p.public: 1 for p in patients}, epoch_slots=SLOTS,
                           params={**LIVE_PARAMS, "incentives.redeem_cap_global_per_epoch": global_cap * UNIT,
                                   "incentives.points.preventive_visit": 10_000, "incentives.points.referral": 10_000,
                                   "incentives.oracle_points_per_epoch": 100_000}).build()
    for oracle in names:
        chain.dispatch(GOVERNANCE, "roles.appoint_oracle", activity[oracle], acct(oracle))
    nonces = {o: chain.account(o).nonce for o in names}
    xts = []
    for i, (p, (o, _)) in enumerate(zip(patients, asks, strict=True)):
        oracle = names[o]
        xts.append(chain.sign(oracle, "incentives.attest", p.public, activity[oracle], ev(f"r{i}"),
                              nonce=nonces[oracle]))
        nonces[oracle] += 1
    assert all(o.success for o in chain.run_block(xts).outcomes[1:])
    start_epoch(chain)
    assert all(o.success for o in chain.run_block(
        [chain.sign(p, "incentives.redeem", n) for p, (_, n) in zip(patients, asks, strict=True)]).outcomes[1:])
    group_points: dict[bytes, int] = {}
    for o, n in asks:
        group_points[acct(names[o])] = group_points.get(acct(names[o]), 0) + n
    asked = sum(group_points.values()) * RATE
    budget = min(asked, global_cap * UNIT)  # the pool is ample
    shares = redemption.compute_group_budgets([(g, n * RATE) for g, n in group_points.items()], budget)
    paid = settle(chain)
    for p, (o, n) in zip(patients, asks, strict=True):
        g = acct(names[o])
        assert paid[p.public].paid == redemption.compute_paid_points(n, group_points[g] * RATE, shares[g])
    assert sum(e.amount for e in paid.values()) <= budget


# --- 3. the per-oracle cap --------------------------------------------------------------------------------------

def test_an_oracle_attests_at_most_its_cap_an_epoch_and_the_excess_changes_nothing() -> None:
    """charlie attests 50 visits (5,000 points: the cap, accepted at the boundary); its 51st, and even a 20-point
    lifestyle, are refused with nothing changed, the evidence left unused; dave is not held by charlie's tally; in
    the next epoch charlie attests again, the refused evidence too. Governance lowering the cap below an oracle's
    tally refuses it at once."""
    chain = build(HONEST, epoch_slots=20)
    e = start_epoch(chain)
    assert all(o.success for o in attest_visits(chain, "charlie", HONEST, "cap"))
    assert storage.oracle_tally.get(chain.view(), acct("charlie")) == OracleTally(e, ORACLE_CAP)
    outcome = assert_noop(chain, "charlie", "incentives.attest", acct("bob"), "preventive_visit", ev("excess"),
                          error="OracleCapReached")
    assert f"you attested {ORACLE_CAP} points in epoch {e}" in (outcome.error or "")
    assert f"attest again in epoch {e + 1}" in (outcome.error or "")
    assert_noop(chain, "charlie", "incentives.attest", acct("bob"), "healthy_lifestyle", ev("small"),
                error="OracleCapReached")
    assert logic.get_attestation(chain.view(), ev("excess")) is None
    assert logic.get_points(chain.view(), acct("bob")) == 0
    assert_ok(chain.submit("dave", "incentives.attest", acct("bob"), "preventive_visit", ev("dave's")))
    assert epoch(chain) == e
    start_epoch(chain)
    assert logic.get_oracle_epoch_points(chain.view(), acct("charlie"), e + 1) == 0
    assert_ok(chain.submit("charlie", "incentives.attest", acct("bob"), "preventive_visit", ev("excess")))
    assert storage.oracle_tally.get(chain.view(), acct("charlie")) == OracleTally(e + 1, VISIT)
    chain.dispatch(GOVERNANCE, "params.set_parameter", "incentives.oracle_points_per_epoch", 100)
    assert_noop(chain, "charlie", "incentives.attest", acct("bob"), "healthy_lifestyle", ev("lowered"),
                error="OracleCapReached")
    assert_noop(chain, "charlie", "incentives.attest", acct("bob"), "preventive_visit", ev("lowered"),
                error="OracleCapReached")


def test_the_oracle_cap_is_a_bounded_parameter() -> None:
    chain = build()
    lo, hi = DEFAULT_PARAMS["incentives.oracle_points_per_epoch"][1:3]
    assert (lo, hi) == (100, 100_000_000)
    assert_dispatch_noop(chain, GOVERNANCE, "params.set_parameter", "incentives.oracle_points_per_epoch", lo - 1,
                         error="ParameterOutOfRange")
    assert_dispatch_noop(chain, GOVERNANCE, "params.set_parameter", "incentives.oracle_points_per_epoch", hi + 1,
                         error="ParameterOutOfRange")


# --- 4. capture: attesting first -------------------------------------------------------------------------------

def test_attesting_honest_patients_first_no_longer_captures_them(hoard: TestChain, capsys) -> None:  # type: ignore[no-untyped-def]
    """charlie attested honest0..honest4 first (20 points each); dave's visit (100) moved their home to dave. Under
    the old home rule they would be in charlie's group for good: with the budget shared per group that would pay
    them a fifth of what they ask beside the Sybils. charlie outbidding dave for honest5 (300 points of its own
    cap: the points are honest5's to keep) moves it, until honest5 chooses dave: then no attestation moves it.
    In the contested epoch all of them are paid in full."""
    chain = hoard.fork()
    view = chain.view()
    for h in HONEST[:5]:
        assert home.get_attested(view, acct(h), acct("charlie")) == LIFESTYLE
        assert redemption.get_home_oracle(view, acct(h)) == acct("dave")
    moved = attest_visits(chain, "charlie", ["honest5"] * 3, "outbid")[-1]
    assert moved.success and redemption.get_home_oracle(chain.view(), acct("honest5")) == acct("charlie")
    assert events.HomeOracleMoved(acct("honest5"), acct("dave"), acct("charlie"), 2 * VISIT) in chain.events()
    assert_ok(chain.submit("honest5", "incentives.choose_oracle", acct("dave")))
    assert_last_event(chain, events.HomeOracleChosen(acct("honest5"), acct("charlie"), acct("dave")))
    attest_visits(chain, "charlie", ["honest5"] * 5, "outbid again")
    assert redemption.get_home_oracle(chain.view(), acct("honest5")) == acct("dave")
    start_epoch(chain)
    asks = [(s, "incentives.redeem", (CAP // RATE,)) for s in SYBILS]
    asks += [(h, "incentives.redeem", (HONEST_ASK,)) for h in HONEST]
    assert all(o.success for o in block(chain, asks))
    e = epoch(chain)
    assert redemption.get_group_rows(chain.view(), e, acct("dave")) == len(HONEST)
    shares_if_captured = redemption.compute_group_budgets(
        [(acct("charlie"), (len(SYBILS) * CAP // RATE + 6 * HONEST_ASK) * RATE),
         (acct("dave"), (len(HONEST) - 6) * HONEST_ASK * RATE)], GLOBAL_CAP)
    if_captured = redemption.compute_paid_points(HONEST_ASK, (len(SYBILS) * CAP // RATE + 6 * HONEST_ASK) * RATE,
                                                 shares_if_captured[acct("charlie")])
    assert if_captured == 20
    paid = settle(chain)
    assert all(paid[acct(h)].paid == HONEST_ASK for h in HONEST[:6])
    with capsys.disabled():
        print(f"\nbtt-21m, capture by attesting first: a captured patient would be paid {if_captured} of "
              f"{HONEST_ASK} points beside the Sybils; its home moved to its clinic and it was paid "
              f"{paid[acct('honest0')].paid}; outbid by 300 points and then its own choice: "
              f"{paid[acct('honest5')].paid}")


# --- 5. the patient's choice -----------------------------------------------------------------------------------

def test_a_patient_chooses_its_home_among_the_oracles_that_attested_it() -> None:
    """bob, attested by dave (100) and charlie (20), chooses charlie: no later attestation moves it; choosing again
    moves it back. A request already in the table stays in the group it was filed in; the next one follows."""
    chain = build(epoch_slots=20)
    assert_ok(chain.submit("dave", "incentives.attest", acct("bob"), "preventive_visit", ev("d1")))
    assert_ok(chain.submit("charlie", "incentives.attest", acct("bob"), "healthy_lifestyle", ev("c1")))
    e = start_epoch(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 10))
    assert_ok(chain.submit("bob", "incentives.choose_oracle", acct("charlie")))
    assert_last_event(chain, events.HomeOracleChosen(acct("bob"), acct("dave"), acct("charlie")))
    view = chain.view()
    assert redemption.get_home_oracle(view, acct("bob")) == acct("charlie") and home.is_home_chosen(view, acct("bob"))
    assert_ok(chain.submit("dave", "incentives.attest", acct("bob"), "preventive_visit", ev("d2")))
    assert redemption.get_home_oracle(chain.view(), acct("bob")) == acct("charlie")  # 200 against 20: chosen
    assert_ok(chain.submit("bob", "incentives.redeem", 10))  # adds to the row filed in dave's group
    assert epoch(chain) == e
    assert redemption.get_group_rows(chain.view(), e, acct("dave")) == 1
    assert redemption.get_group_rows(chain.view(), e, acct("charlie")) == 0
    settle(chain)
    assert_ok(chain.submit("bob", "incentives.redeem", 10))
    assert redemption.get_group_rows(chain.view(), e + 1, acct("charlie")) == 1
    assert_ok(chain.submit("bob", "incentives.choose_oracle", acct("dave")))
    assert redemption.get_home_oracle(chain.view(), acct("bob")) == acct("dave")


def test_a_choice_is_refused_with_nothing_changed() -> None:
    """Not a patient (no oracle attested it), not an oracle now (never, or removed by governance), an oracle that
    never attested the patient, an unsigned origin: each refused, the home and the choice unchanged."""
    chain = build(epoch_slots=1_000)
    assert_ok(chain.submit("dave", "incentives.attest", acct("bob"), "preventive_visit", ev("d1")))
    assert_ok(chain.submit("charlie", "incentives.attest", acct("bob"), "healthy_lifestyle", ev("c1")))
    assert_noop(chain, "ferdie", "incentives.choose_oracle", acct("dave"), error="NotPatient")
    assert_noop(chain, "bob", "incentives.choose_oracle", acct("alice"), error="UnknownOracle")
    assert_noop(chain, "bob", "incentives.choose_oracle", acct("eve"), error="NotAttestedBy")
    chain.dispatch(GOVERNANCE, "roles.remove_oracle", "healthy_lifestyle", acct("charlie"))
    chain.dispatch(GOVERNANCE, "roles.remove_oracle", "preventive_visit", acct("charlie"))
    assert_noop(chain, "bob", "incentives.choose_oracle", acct("charlie"), error="UnknownOracle")
    assert_dispatch_noop(chain, ROOT, "incentives.choose_oracle", acct("dave"), error="BadOrigin")
    view = chain.view()
    assert redemption.get_home_oracle(view, acct("bob")) == acct("dave") and not home.is_home_chosen(view, acct("bob"))
    assert storage.home_oracle.get(view, acct("ferdie")) is None


# --- 6. the invariants of the new records ----------------------------------------------------------------------

def test_the_invariants_catch_a_wrong_sum_a_home_that_is_not_the_most_and_a_tally_above_the_attested() -> None:
    chain = build()
    assert_ok(chain.submit("dave", "incentives.attest", acct("bob"), "preventive_visit", ev("d1")))
    assert_ok(chain.submit("charlie", "incentives.attest", acct("bob"), "healthy_lifestyle", ev("c1")))
    assert check_points(chain.view()) == []

    def problems(change: Callable[[Overlay], object]) -> list[str]:
        view = chain.view()
        change(view)
        return check_attested(view)

    assert any("`attested` holds 101" in p for p in problems(
        lambda v: storage.attested.put(v, (acct("bob"), acct("dave")), 101)))
    assert any("did not choose it" in p for p in problems(
        lambda v: storage.home_oracle.put(v, acct("bob"), acct("charlie"))))
    assert problems(lambda v: (storage.home_oracle.put(v, acct("bob"), acct("charlie")),
                               storage.home_chosen.put(v, acct("bob"), True))) == []
    assert any("has not attested it" in p for p in problems(
        lambda v: storage.home_oracle.put(v, acct("bob"), acct("eve"))))
    assert any("no attestation" in p for p in problems(
        lambda v: storage.home_oracle.put(v, acct("ferdie"), acct("dave"))))
    assert any("chose a home oracle and has none" in p for p in problems(
        lambda v: storage.home_chosen.put(v, acct("ferdie"), True)))
    assert any("tally" in p for p in problems(
        lambda v: storage.oracle_tally.put(v, acct("dave"), OracleTally(epoch(chain), 2 * VISIT))))
    assert any("tally" in p for p in problems(
        lambda v: storage.oracle_tally.put(v, acct("dave"), OracleTally(epoch(chain) + 1, VISIT))))


# --- 7. the storage migration ----------------------------------------------------------------------------------

def old_attest(state: Overlay, oracle: bytes, patient: bytes, activity: str, points: int, block_no: int,
               evidence: bytes, keep_home: bool = True) -> None:
    """What spec 13's `attest` stored (storage version 0): the attestation, its index entry, the home oracle if the
    patient had none (the first attestation's oracle; `keep_home=False`: a patient attested before home oracles were
    kept), the points; nothing in `attested`, `home_chosen` or `oracle_tally`."""
    storage.evidence.put(state, evidence, Attestation(patient, activity, oracle, points, block_no))
    storage.by_patient.put(state, (patient, block_no, evidence), True)
    if keep_home and not storage.home_oracle.contains(state, patient):
        storage.home_oracle.put(state, patient, oracle)
    storage.points.put(state, patient, storage.points.get(state, patient) + points)
    storage.outstanding_points.put(state, storage.outstanding_points.get(state) + points)


def old_state() -> tuple[TestChain, Overlay]:
    """A chain whose attestations were stored the old way (a view over it, not yet migrated): bob: charlie 20
    first, then dave 100 twice -> dave; eve: charlie 100, then dave 100 (a tie keeps the first) -> charlie; ferdie:
    dave 30 before home oracles were kept (no home recorded), then charlie 20 and 20 -> charlie (40 against 30);
    alice: dave 100 alone -> dave."""
    chain = build(epoch_slots=1_000)
    view = chain.view()
    put_storage_version(view, "incentives", 0)  # as spec 13 left it
    c, d = acct("charlie"), acct("dave")
    history = [(c, "bob", 20, 5), (d, "bob", 100, 6), (d, "bob", 100, 9),
               (c, "eve", 100, 5), (d, "eve", 100, 7),
               (d, "ferdie", 30, 4), (c, "ferdie", 20, 8), (c, "ferdie", 20, 9),
               (d, "alice", 100, 3)]
    for i, (oracle, patient, points, block_no) in enumerate(history):
        old_attest(view, oracle, acct(patient), "preventive_visit", points, block_no, ev(f"old {i}"),
                   keep_home=patient != "ferdie")
    return chain, view


EXPECTED_HOMES = {"bob": "dave", "eve": "charlie", "ferdie": "charlie", "alice": "dave"}


@pytest.mark.parametrize("limit", [1, 2, 4, 1_000])
def test_the_migration_fills_what_each_oracle_attested_and_moves_the_homes_to_the_most(limit: int) -> None:
    """Run in steps of `limit` attestations (a step may end inside a patient's attestations), from a state spec 13
    made: the sums and homes come out the same whatever the steps, and the invariants hold after."""
    _, view = old_state()
    assert any("`attested` holds 0" in p for p in check_attested(view))  # the old state lacks the new records
    assert migrations.ATTESTED_AND_HOMES.count(view) == 9
    assert (migrations.ATTESTED_AND_HOMES.module, migrations.ATTESTED_AND_HOMES.from_version,
            migrations.ATTESTED_AND_HOMES.to_version) == ("incentives", 0, 1)
    cursor: bytes | None = b""
    steps = done = 0
    while cursor is not None:
        cursor, items = migrations.ATTESTED_AND_HOMES.step(view, cursor, limit)
        assert items <= limit
        done += items
        steps += 1
    assert done == 9 and steps == -(-9 // limit)  # the last step finds nothing after it
    for patient, oracle in EXPECTED_HOMES.items():
        assert storage.home_oracle.get(view, acct(patient)) == acct(oracle), patient
    assert home.get_attested(view, acct("bob"), acct("dave")) == 200
    assert home.get_attested(view, acct("bob"), acct("charlie")) == 20
    assert home.get_attested(view, acct("ferdie"), acct("charlie")) == 40
    assert home.get_attested(view, acct("ferdie"), acct("dave")) == 30
    assert check_points(view) == []
    put_storage_version(view, "incentives", 1)  # what the runner records after the last step
    assert migrations.ATTESTED_AND_HOMES.count(view) == 0  # nothing left (try-upgrade's check), the entries kept


def test_after_the_migration_the_new_rules_run_on_the_old_patients() -> None:
    """Migrated, the chain goes on: bob (home dave) may choose charlie, which attested it; eve's tie is broken by
    dave's next visit; and the invariants hold after every block."""
    chain, view = old_state()
    cursor: bytes | None = b""
    while cursor is not None:
        cursor, _ = migrations.ATTESTED_AND_HOMES.step(view, cursor, 3)
    chain.backend.apply(view.changes())
    assert_ok(chain.submit("bob", "incentives.choose_oracle", acct("charlie")))
    assert_ok(chain.submit("dave", "incentives.attest", acct("eve"), "preventive_visit", ev("new")))
    assert_last_event(chain, events.HomeOracleMoved(acct("eve"), acct("charlie"), acct("dave"), 200))
    assert_noop(chain, "alice", "incentives.choose_oracle", acct("charlie"), error="NotAttestedBy")
