"""What an assignment holds of its provider's bond follows what its job can cost if the work is fake (issue 52,
finding 3; `runtime.compute.holds`), on btt-21m's compute and fee parameters.

Spec 13 held one fixed slash (1,000 BTT live) of an honest provider's bond for every assignment, for its whole
one-day challenge window, however small the job: a 0.0138 BTT floor job tied 1,000 BTT, ten of them a provider's
whole minimum bond, and a clinic's 1,000 BTT job found no provider. Each attack is tried here and fails:

- floor jobs that an honest provider takes hold 1.38 BTT each (100x the price, plus the fee of challenging them):
  the clinic's job is drawn in the block after it is posted; tying one provider's 10,000 BTT bond for a day now
  takes over 7,000 floor jobs, not 10 (the figures are printed);
- a fraud (a wrong sampled item, a challenged item) and a withholding (a sample never opened, outputs never posted)
  on a small and on a large job each cost exactly that assignment's hold, fixed when it was made; the hold counts
  what a challenge (or, for a private job, opening a case) costs, and the challenger's share of it pays for that;
- unbonding below what the assignments hold is refused and changes nothing; a bond that exactly covers one more
  hold is drawn, one base unit less is not; registration needs capacity x `compute.min_assignment_hold`;
- the migration to compute storage version 2 writes down what assignments made before holds existed hold, and they
  settle and are slashed at that figure;
- genesis validation refuses a missed-assignment fee that could exceed the smallest hold.

Time parameters (epochs, windows) are shortened so that a job's round takes tens of blocks: no figure here reads
them. Every block is checked against the runtime's invariants by the test chain, and the bond-floor rule
(`check_parameter_rules`) after each attack.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.hashing import ZERO_HASH
from genesis.loader import load_chain_spec, load_chain_spec_doc, parse_chain_spec
from runtime.bonds import events as bond_events
from runtime.compute import costs, events, hold_migration, holds, storage
from runtime.compute.invariants import check_parameter_rules
from runtime.compute.reference import reference_spec
from runtime.compute.types import ASSIGNED, FRAUD, LATE, MISSED, SETTLED, VERIFIED
from runtime.context import GOVERNANCE
from runtime.overlay import Overlay
from runtime.params.storage import get_param
from tests.runtime.test_compute import (
    MODEL,
    Worker,
    close_window,
    job_of,
    ledger,
    make_chain,
    provider_of,
    register,
)
from tests.runtime.test_compute_attacks import challenge_args, item_outside_sample
from tests.runtime.test_compute_market_attacks import LIVE
from tests.runtime.test_compute_outage import all_in_one_block, until
from tests.runtime.test_compute_private import DEADLINE as PRIVATE_DEADLINE
from tests.runtime.test_compute_private import DECOYS, ITEMS, ready
from tests.runtime.test_compute_private import chain_with as private_chain
from tests.support.runtime_builder import DEFAULT_PARAMS, UNIT, TestChain, acct, assert_noop, assert_ok

MIN_BOND = LIVE["compute.min_provider_bond"]
CAP = max(LIVE["compute.fraud_slash"], LIVE["compute.withheld_slash"])
"""Spec 13's hold of every assignment, and the most any assignment holds now."""
FAST = {
    "compute.commit_window_slots": 10,
    "compute.reveal_window_slots": 10,
    "compute.challenge_window_ms": 60_000,
    "compute.outputs_due_ms": 10_000,
    "compute.late_reveal_ms": 20_000,
}
"""Time parameters shortened (with 10-slot epochs) so that a round takes tens of blocks; nothing here reads them."""
DAY = 86_400_000
CLINIC_PRICE = 1_000 * UNIT
CLINIC_ITEMS = 256


def holds_chain(**params: int) -> TestChain:
    """btt-21m's compute and fee parameters (as `live_chain`), its time parameters shortened."""
    names = [n for n in DEFAULT_PARAMS if n.startswith(("compute.", "fees.")) and n in LIVE]
    values = {n: LIVE[n] for n in names} | FAST | params
    return make_chain(epoch_slots=10, params=values,
                      balances={"alice": 1_000, "prov": 100_000, "prov2": 100_000, "clinic": 100_000,
                                "mallory": 10_000, "charlie": 100_000})


def floor_price(chain: TestChain, items: int = 1) -> int:
    return costs.min_price(chain.view(), reference_spec("breast-cancer-v1"), items, 1)


def post_jobs(chain: TestChain, who: str, n: int, price: int, items: int = 1, seed: int = 1) -> list[int]:
    """`n` jobs of `items` items at `price` on the reference model, posted in one block (assigned in the next)."""
    first = storage.next_job_id.get(chain.view())
    nonce = chain.account(who).nonce
    result = chain.run_block([
        chain.sign(who, "compute.post_job", MODEL, ZERO_HASH, bytes([seed + i]) * 32, items, price, 1, DAY,
                   nonce=nonce + i)
        for i in range(n)
    ])
    assert all(o.success for o in result.outcomes), [o.error for o in result.outcomes]
    return list(range(first, first + n))


def held(chain: TestChain, name: str) -> int:
    return holds.held(chain.view(), acct(name))


def hold(chain: TestChain, job_id: int) -> int:
    (a,) = job_of(chain, job_id).assignments
    return holds.hold_of(chain.view(), job_id, a.provider)


def floor_rule_holds(chain: TestChain) -> None:
    assert [p for p in check_parameter_rules(chain.view()) if p.startswith("compute.bond_floor")] == []


def expected_hold(chain: TestChain, price: int, items: int) -> int:
    challenge = holds.challenge_cost(chain.view(), reference_spec("breast-cancer-v1"), items, False)
    return min(max(price * LIVE["compute.hold_per_price_bps"] // 10_000 + challenge,
                   LIVE["compute.min_assignment_hold"]), CAP)


# --- the attack of the issue: floor jobs buy an honest provider's bond --------------------------------------


def floor_attack(**params: int) -> tuple[TestChain, list[int], int]:
    """The issue's attack: an honest provider with the minimum bond and ten places; ten floor jobs drawn to it, which
    it computes honestly, so that they sit verified in their challenge window (a day live; its places free again);
    then a clinic's 1,000 BTT job. (chain, the floor jobs, the clinic's job) one block after the clinic posted."""
    chain = holds_chain(**params)
    register(chain, "prov", capacity=10, bond=MIN_BOND)
    attack = post_jobs(chain, "mallory", 10, floor_price(chain))
    chain.run_block([])
    assert all(job_of(chain, j).assignments[0].provider == acct("prov") for j in attack)
    prov = Worker(chain, "prov")
    all_in_one_block(chain, "prov", [("compute.commit_result", j, prov.commitment(j)) for j in attack])
    until(chain, lambda: all(prov.sample(j) for j in attack))
    all_in_one_block(chain, "prov", [("compute.reveal_result", *prov.reveal_args(j)) for j in attack])
    assert all(job_of(chain, j).assignments[0].state == VERIFIED for j in attack)
    assert provider_of(chain, "prov").active == 0  # type: ignore[union-attr]
    assert held(chain, "prov") == 10 * hold(chain, attack[0])
    (clinic,) = post_jobs(chain, "clinic", 1, CLINIC_PRICE, CLINIC_ITEMS, seed=100)
    chain.run_block([])
    return chain, attack, clinic


def test_floor_jobs_no_longer_buy_an_honest_providers_bond_and_the_clinic_is_drawn_the_next_block(capsys) -> None:  # type: ignore[no-untyped-def]
    # spec 13's rule (every assignment holds the fixed slash): ten floor jobs hold the whole bond for their window,
    # and the clinic's job waits for a provider as long
    old, attack, clinic = floor_attack(**{"compute.min_assignment_hold": CAP})
    assert hold(old, attack[0]) == CAP and held(old, "prov") == MIN_BOND
    assert job_of(old, clinic).assignments == ()
    assert storage.queue.get(old.view(), storage.queue_key(False, job_of(old, clinic).rank, clinic)) is not None
    # spec 14: they hold 13.8 BTT, and the clinic's job is drawn in the block after it was posted
    chain, attack, clinic = floor_attack()
    floor = floor_price(chain)
    per_floor_job = hold(chain, attack[0])
    assert per_floor_job == expected_hold(chain, floor, 1) < 2 * UNIT
    (a,) = job_of(chain, clinic).assignments
    assert (a.provider, a.state) == (acct("prov"), ASSIGNED)
    assert hold(chain, clinic) == CAP  # a 1,000 BTT job holds what every job held before
    assert held(chain, "prov") == 10 * per_floor_job + CAP
    floor_rule_holds(chain)
    before, after = -(-MIN_BOND // CAP), -(-MIN_BOND // per_floor_job)
    denied = -(-(MIN_BOND - CAP + 1) // per_floor_job)  # what keeps the clinic's 1,000 BTT job off this provider
    with capsys.disabled():
        print(f"\nbtt-21m: a floor job ({format_btt(floor)} BTT) held {format_btt(CAP)} BTT of its provider's bond "
              f"under spec 13 and holds {format_btt(per_floor_job)} BTT now; tying up one provider's "
              f"{format_btt(MIN_BOND)} BTT bond for a day took {before} floor jobs ({format_btt(before * floor)} BTT) "
              f"and takes {after:,} ({format_btt(after * floor)} BTT); keeping a clinic's 1,000 BTT job off it "
              f"takes {denied:,} ({format_btt(denied * floor)} BTT) a day, per provider")
    assert before == 10 and after >= 7_000 and after * floor >= 90 * UNIT


# --- a fraud and a withholding cost exactly the hold ----------------------------------------------------------


@pytest.mark.parametrize("size", ["small", "large"])
@pytest.mark.parametrize("how", ["fraud", "withheld"])
def test_a_fraud_and_a_withholding_cost_exactly_the_assignments_hold(size: str, how: str) -> None:
    chain = holds_chain()
    register(chain, "prov", capacity=4, bond=MIN_BOND)
    price, items = (floor_price(chain), 1) if size == "small" else (CLINIC_PRICE, CLINIC_ITEMS)
    (job_id,) = post_jobs(chain, "clinic", 1, price, items)
    chain.run_block([])
    amount = hold(chain, job_id)
    assert amount == expected_hold(chain, price, items) == held(chain, "prov")
    assert amount == CAP if size == "large" else amount < 2 * UNIT
    cheat = Worker(chain, "prov", fake=frozenset(range(items)) if how == "fraud" else frozenset())
    cheat.commit_and_wait(job_id)
    bond0 = ledger(chain, "prov").total  # type: ignore[union-attr]
    if how == "fraud":
        assert_ok(cheat.reveal(job_id))
        (ev,) = [e for e in chain.events() if isinstance(e, events.FraudDetected)]
    else:  # never opened: late at its reveal window, slashed at the end of its late-reveal time
        until(chain, lambda: job_of(chain, job_id).assignments[0].state == LATE)
        assert held(chain, "prov") == amount  # a late one keeps its hold until it is opened or slashed
        until(chain, lambda: job_of(chain, job_id).assignments[0].state == MISSED)
        (ev,) = [e for e in chain.events() if isinstance(e, events.RevealWithheld)]  # type: ignore[assignment]
    assert ev.slashed == amount
    assert bond_events.BondSlashed(acct("prov"), amount, 0) in chain.events()  # all burned: nobody earns from it
    assert ledger(chain, "prov").total == bond0 - amount  # type: ignore[union-attr]
    assert job_of(chain, job_id).assignments[0].state == (FRAUD if how == "fraud" else MISSED)
    assert held(chain, "prov") == 0 and holds.by_assignment.get(chain.view(), holds.hold_key(job_id, acct("prov"))) \
        is None
    floor_rule_holds(chain)


def test_a_challenge_and_withheld_outputs_cost_the_hold_and_the_challenger_is_paid_from_it() -> None:
    chain = holds_chain()
    register(chain, "prov", capacity=4, bond=MIN_BOND)
    price = floor_price(chain, 16)
    challenged, withheld = post_jobs(chain, "clinic", 2, price, 16)
    chain.run_block([])
    x = item_outside_sample(chain, challenged, "prov")
    cheat = Worker(chain, "prov", fake=frozenset({x}))
    for j in (challenged, withheld):
        assert_ok(cheat.commit(j))
    until(chain, lambda: all(cheat.sample(j) for j in (challenged, withheld)))
    for j in (challenged, withheld):
        assert_ok(cheat.reveal(j))  # the sample does not see item x
    amounts = {j: hold(chain, j) for j in (challenged, withheld)}
    assert amounts[challenged] == amounts[withheld] == expected_hold(chain, price, 16) < CAP
    bond0 = ledger(chain, "prov").total  # type: ignore[union-attr]
    out = chain.submit("charlie", "compute.challenge", *challenge_args(cheat, challenged, x))
    assert_ok(out)
    # the hold counted at most what the challenge cost, and the challenger's share of the slash pays for it
    counted = holds.challenge_cost(chain.view(), reference_spec("breast-cancer-v1"), 16, False)
    assert out.fee <= counted < 2 * out.fee
    (upheld,) = [e for e in chain.events() if isinstance(e, events.ChallengeUpheld)]
    reward = amounts[challenged] * get_param(chain.view(), "slashing.reporter_bps") // 10_000
    assert upheld.slashed == amounts[challenged] and upheld.reward == reward > counted
    assert ledger(chain, "prov").total == bond0 - amounts[challenged]  # type: ignore[union-attr]
    assert bond_events.BondSlashed(acct("prov"), amounts[challenged] - reward, reward) in chain.events()
    assert held(chain, "prov") == amounts[withheld]
    assert_ok(chain.submit("clinic", "compute.demand_outputs", withheld, acct("prov")))
    close_window(chain, withheld)  # the outputs were never posted
    (ev,) = [e for e in chain.events() if isinstance(e, events.OutputsWithheld)]
    assert ev.slashed == amounts[withheld]
    assert ledger(chain, "prov").total == bond0 - amounts[challenged] - amounts[withheld]  # type: ignore[union-attr]
    assert held(chain, "prov") == 0
    floor_rule_holds(chain)


def test_a_hold_is_fixed_when_the_assignment_is_made_and_released_when_it_settles() -> None:
    chain = holds_chain()
    register(chain, "prov", capacity=4, bond=MIN_BOND)
    price = floor_price(chain)
    cheat_job, paid_job = post_jobs(chain, "clinic", 2, price)
    chain.run_block([])
    amount = hold(chain, cheat_job)
    # governance raises every figure a hold is made of: the holds made stand (a provider is never caught short)
    for name in ("compute.hold_per_price_bps", "compute.min_assignment_hold", "compute.fraud_slash",
                 "compute.withheld_slash"):
        chain.dispatch(GOVERNANCE, "params.set_parameter", name, 10 * LIVE[name])
    assert hold(chain, cheat_job) == hold(chain, paid_job) == amount and held(chain, "prov") == 2 * amount
    cheat = Worker(chain, "prov", fake=frozenset({0}))
    honest = Worker(chain, "prov")
    assert_ok(cheat.commit(cheat_job))
    assert_ok(honest.commit(paid_job))
    until(chain, lambda: cheat.sample(cheat_job) != () and honest.sample(paid_job) != ())
    bond0 = ledger(chain, "prov").total  # type: ignore[union-attr]
    assert_ok(cheat.reveal(cheat_job))
    assert ledger(chain, "prov").total == bond0 - amount  # type: ignore[union-attr]
    assert_ok(honest.reveal(paid_job))
    assert held(chain, "prov") == amount
    close_window(chain, paid_job)
    assert job_of(chain, paid_job).assignments[0].state == SETTLED
    assert held(chain, "prov") == 0 and ledger(chain, "prov").total == bond0 - amount  # type: ignore[union-attr]
    floor_rule_holds(chain)


def test_a_private_jobs_hold_counts_the_fee_of_opening_one_of_its_cases() -> None:
    chain = private_chain()
    clinic, _ = ready(chain)
    spec = reference_spec("breast-cancer-v1")
    price = costs.min_price(chain.view(), spec, ITEMS, 1, DECOYS)
    assert_ok(clinic.post(ITEMS, DECOYS, price, PRIVATE_DEADLINE))
    chain.run_block([])
    opening = holds.challenge_cost(chain.view(), spec, ITEMS, True)
    assert opening > holds.challenge_cost(chain.view(), spec, ITEMS, False)  # a case, its secret, a sealed output
    bps = DEFAULT_PARAMS["compute.hold_per_price_bps"][0]
    assert hold(chain, clinic.job_id) == price * bps // 10_000 + opening < DEFAULT_PARAMS["compute.fraud_slash"][0]
    floor_rule_holds(chain)


# --- the bond: unbonding, the boundary, registration ------------------------------------------------------


def test_unbonding_below_what_the_assignments_hold_is_refused_and_changes_nothing() -> None:
    chain = holds_chain()
    register(chain, "prov", capacity=4, bond=MIN_BOND)
    post_jobs(chain, "clinic", 2, CLINIC_PRICE, 4)
    chain.run_block([])
    total = held(chain, "prov")
    assert total == 2 * CAP
    assert_noop(chain, "prov", "bonds.unbond", MIN_BOND - total + 1, error="BelowMinimum")
    assert_noop(chain, "prov", "bonds.unbond", MIN_BOND, error="BelowMinimum")
    assert_ok(chain.submit("prov", "bonds.unbond", MIN_BOND - total))  # down to exactly what they hold
    assert ledger(chain, "prov").active == total  # type: ignore[union-attr]
    assert_noop(chain, "prov", "bonds.unbond", 1, error="BelowMinimum")
    floor_rule_holds(chain)
    # below the minimum provider bond, with nothing spare: never drawn again until it bonds more
    (waiting,) = post_jobs(chain, "clinic", 1, floor_price(chain), seed=50)
    chain.run_block([])
    assert job_of(chain, waiting).assignments == ()


@pytest.mark.parametrize("short", [0, 1])
def test_a_bond_that_exactly_covers_one_more_hold_is_drawn_and_one_base_unit_less_is_not(short: int) -> None:
    chain = holds_chain()
    floor = floor_price(chain)
    small = expected_hold(chain, floor, 1)
    register(chain, "prov", capacity=12, bond=MIN_BOND + small - short)
    big = post_jobs(chain, "clinic", 10, 10 * UNIT)  # 10 BTT x 100 reaches the cap: 1,000 BTT each
    chain.run_block([])
    assert held(chain, "prov") == 10 * CAP == MIN_BOND
    (last,) = post_jobs(chain, "mallory", 1, floor, seed=60)
    chain.run_block([])
    if short:
        assert job_of(chain, last).assignments == ()  # one base unit short: it waits for another provider
        assert held(chain, "prov") == MIN_BOND
    else:
        assert job_of(chain, last).assignments[0].provider == acct("prov")
        assert held(chain, "prov") == ledger(chain, "prov").active == MIN_BOND + small  # type: ignore[union-attr]
        (another,) = post_jobs(chain, "mallory", 1, floor, seed=70)  # nothing is left for one more
        chain.run_block([])
        assert job_of(chain, another).assignments == ()
    assert all(job_of(chain, j).assignments[0].provider == acct("prov") for j in big)
    floor_rule_holds(chain)


def test_a_job_whose_hold_no_bond_covers_waits_without_holding_up_the_jobs_behind_it() -> None:
    chain = holds_chain()
    register(chain, "prov", capacity=12, bond=MIN_BOND + CAP - 1)
    post_jobs(chain, "clinic", 10, 10 * UNIT)
    chain.run_block([])
    assert MIN_BOND + CAP - 1 - held(chain, "prov") == CAP - 1  # spare: one base unit short of a 1,000 BTT hold
    big, = post_jobs(chain, "clinic", 1, CLINIC_PRICE, CLINIC_ITEMS, seed=20)
    small, = post_jobs(chain, "mallory", 1, floor_price(chain), seed=30)
    chain.run_block([])
    assert job_of(chain, big).rank > job_of(chain, small).rank  # first in the queue, and passed over
    assert job_of(chain, big).assignments == () and job_of(chain, small).assignments[0].provider == acct("prov")
    register(chain, "prov2", capacity=1, bond=MIN_BOND)  # a provider whose bond covers it: drawn at the next block
    chain.run_block([])
    assert job_of(chain, big).assignments[0].provider == acct("prov2")
    floor_rule_holds(chain)


def test_registration_needs_the_smallest_hold_for_every_place_of_capacity() -> None:
    chain = holds_chain(**{"compute.min_assignment_hold": 200 * UNIT})  # 64 places x 200 BTT > the minimum bond
    need = 64 * 200 * UNIT
    assert_ok(chain.submit("prov", "bonds.bond", need - 1))
    assert_noop(chain, "prov", "compute.register_provider", 64, 0, 0, error="BondTooLow")
    assert_ok(chain.submit("prov", "compute.register_provider", 50, 0, 0))  # 50 x 200 = the minimum bond
    assert_ok(chain.submit("prov2", "bonds.bond", need))
    assert_ok(chain.submit("prov2", "compute.register_provider", 64, 0, 0))
    assert provider_of(chain, "prov2").capacity == 64  # type: ignore[union-attr]


# --- assignments made before holds: the migration --------------------------------------------------------------


def spec13_view(chain: TestChain) -> None:
    """Take every written hold out of `chain`'s state, as spec 13 left it: no hold of its own, no total, no slash
    recorded (the assignments and provider records are unchanged: spec 14 changes no record's shape)."""
    data = chain.backend.data
    for item in (holds.by_assignment, holds.by_provider):
        for key in [k for k in data if k.startswith(item.prefix)]:
            del data[key]
    data.pop(holds.legacy_hold.key, None)


def run_migration(chain: TestChain, limit: int, between: Callable[[], None] | None = None) -> list[int]:
    """The migration's steps of `limit` items each on the chain's state, `between()` (blocks, say) after each step
    but the last; the items each step did."""
    cursor: bytes | None = b""
    steps = []
    while cursor is not None:
        view = Overlay(chain.backend)
        cursor, items = hold_migration.RECORD_HOLDS.step(view, cursor, limit)
        chain.backend.apply(view.changes())
        steps.append(items)
        if between is not None and cursor is not None:
            between()
        assert len(steps) < 100, "the migration never ends"
    return steps


def two_old_assignments() -> tuple[TestChain, Worker, Worker, int, int, int]:
    """prov and prov2 each hold a verified assignment made under spec 13 (prov's faked at item x outside its
    sample); (chain, prov's worker, prov2's, prov's job, prov2's job, x)."""
    chain = holds_chain()
    for name in ("prov", "prov2"):
        register(chain, name, capacity=1, bond=MIN_BOND)
    cheated, paid = post_jobs(chain, "clinic", 2, floor_price(chain, 16), 16)
    chain.run_block([])
    if job_of(chain, cheated).assignments[0].provider != acct("prov"):
        cheated, paid = paid, cheated
    x = item_outside_sample(chain, cheated, "prov")
    cheat, honest = Worker(chain, "prov", fake=frozenset({x})), Worker(chain, "prov2")
    assert_ok(cheat.commit(cheated))
    assert_ok(honest.commit(paid))
    until(chain, lambda: cheat.sample(cheated) != () and honest.sample(paid) != ())
    assert_ok(cheat.reveal(cheated))
    assert_ok(honest.reveal(paid))
    spec13_view(chain)
    return chain, cheat, honest, cheated, paid, x


def test_the_migration_records_the_old_holds_and_old_assignments_settle_and_are_slashed_at_them() -> None:
    chain, cheat, _, cheated, paid, x = two_old_assignments()
    view = chain.view()
    assert holds.held(view, acct("prov")) == CAP  # not reached: at_risk x the fixed slash, read from its record
    assert holds.hold_of(view, cheated, acct("prov")) == CAP
    floor_rule_holds(chain)
    assert hold_migration.RECORD_HOLDS.count(view) == 3  # the slash, and two providers
    # governance moved the slashes before the upgrade: the figure of the upgrade's block is recorded, once
    slash = CAP + 5 * UNIT
    for name in ("compute.fraud_slash", "compute.withheld_slash"):
        chain.dispatch(GOVERNANCE, "params.set_parameter", name, slash)

    def a_block_between() -> None:  # hooks run between the steps: the books read one figure throughout
        chain.run_block([])
        floor_rule_holds(chain)
        assert holds.held(chain.view(), acct("prov")) == holds.held(chain.view(), acct("prov2")) == slash

    assert run_migration(chain, 1, a_block_between) == [1, 1, 1]
    view = chain.view()
    assert holds.legacy_hold.get(view) == slash and hold_migration.RECORD_HOLDS.count(view) == 0
    assert holds.by_provider.get(view, acct("prov")) == holds.by_provider.get(view, acct("prov2")) == slash
    assert run_migration(chain, 1) == [0]  # run again: nothing to do, nothing changed
    floor_rule_holds(chain)
    for name in ("compute.fraud_slash", "compute.withheld_slash"):  # a raise after the upgrade moves no old hold
        chain.dispatch(GOVERNANCE, "params.set_parameter", name, 2 * slash)
    assert holds.hold_of(chain.view(), cheated, acct("prov")) == slash
    # the old assignments end at the recorded figure: a challenge slashes it, a settlement releases it
    bond0 = ledger(chain, "prov").total  # type: ignore[union-attr]
    # the clinic withdraws the work the chain posts again for another provider at once (`reassign`): this test
    # follows the old holds only
    repost, nonce = storage.next_job_id.get(chain.view()), chain.account("clinic").nonce
    result = chain.run_block([chain.sign("clinic", "compute.challenge", *challenge_args(cheat, cheated, x)),
                              chain.sign("clinic", "compute.cancel_job", repost, nonce=nonce + 1)])
    assert all(o.success for o in result.outcomes), [o.error for o in result.outcomes]
    assert events.JobReassigned(cheated, acct("prov"), repost) in chain.events()
    (upheld,) = [e for e in chain.events() if isinstance(e, events.ChallengeUpheld)]
    assert upheld.slashed == slash and ledger(chain, "prov").total == bond0 - slash  # type: ignore[union-attr]
    assert held(chain, "prov") == 0
    bond2 = ledger(chain, "prov2").total  # type: ignore[union-attr]
    close_window(chain, paid)
    assert job_of(chain, paid).assignments[0].state == SETTLED
    assert held(chain, "prov2") == 0 and ledger(chain, "prov2").total == bond2  # type: ignore[union-attr]
    floor_rule_holds(chain)


def test_the_migration_resumes_from_its_cursor_and_passes_over_providers_the_hooks_reached() -> None:
    chain, *_ = two_old_assignments()
    assert run_migration(chain.fork(), 100) == [3]
    # after the first step (the slash recorded) both old assignments settle and a new job is drawn: the hooks
    # release the old holds and write the new provider's total, and the migration finds nothing left to write
    paid = next(j for j, job in storage.jobs.items(chain.view()) if job.assignments[0].provider == acct("prov2"))
    register(chain, "charlie", capacity=1, bond=MIN_BOND)
    new = []

    def hooks_reach_them() -> None:
        close_window(chain, paid)  # prov's window closes with prov2's: both settle
        assert held(chain, "prov") == held(chain, "prov2") == 0
        new.extend(post_jobs(chain, "clinic", 1, floor_price(chain), seed=80))
        chain.run_block([])
        owner = job_of(chain, new[0]).assignments[0].provider
        assert holds.by_provider.get(chain.view(), owner) == hold(chain, new[0])
        floor_rule_holds(chain)

    assert run_migration(chain, 1, hooks_reach_them) == [1, 0]
    assert hold_migration.RECORD_HOLDS.count(chain.view()) == 0 and holds.legacy_hold.get(chain.view()) == CAP
    owner = job_of(chain, new[0]).assignments[0].provider
    assert holds.held(chain.view(), owner) == hold(chain, new[0]) < CAP
    floor_rule_holds(chain)
    m = hold_migration.RECORD_HOLDS
    assert (m.module, m.from_version, m.to_version) == ("compute", 1, 2)


# --- genesis: the missed-assignment fee stays below every hold ----------------------------------------------


def test_genesis_refuses_a_missed_assignment_fee_that_could_exceed_the_smallest_hold() -> None:
    for name in ("dev", "btt-21m", "btt-210m"):
        spec = load_chain_spec(name)
        fee = spec.param("compute.missed_assignment_fee")
        smallest = min(spec.param("compute.min_assignment_hold").min,
                       max(spec.param("compute.fraud_slash").min, spec.param("compute.withheld_slash").min))
        assert 0 < fee.max <= smallest, name
        assert spec.param("compute.hold_per_price_bps").min >= 100_000, name  # a fraud costs 10x its gain at least
    doc = load_chain_spec_doc("btt-21m")
    bad = copy.deepcopy(doc)
    bad["parameters"]["compute.missed_assignment_fee"]["max"] = "1.000000000000000001"
    with pytest.raises(Exception, match="missed_assignment_fee"):
        parse_chain_spec(bad)
    bad = copy.deepcopy(doc)
    bad["parameters"]["compute.min_assignment_hold"]["min"] = "0.5"
    bad["parameters"]["compute.min_assignment_hold"]["value"] = "0.5"
    with pytest.raises(Exception, match="smallest hold"):
        parse_chain_spec(bad)
    assert parse_chain_spec(copy.deepcopy(doc)).param("compute.min_assignment_hold").value == UNIT
