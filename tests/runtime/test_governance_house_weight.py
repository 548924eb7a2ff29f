"""A house's minimum of aye voters counts weight, not accounts (issue 52, finding 6).

The report: in a weighted house a 0.5 BTT Sybil was the whale's second aye voter, so one whale and dust met
`governance.house_min_aye_voters`. Now a house counts in favour only when the aye weight of its aye voters other
than the `house_min_aye_voters` - 1 largest reaches `governance.house_min_other_aye_bps` of its electorate
(`tally.other_aye`). Every attack here runs on btt-21m's governance parameters (read from the preset) and fails:
the whale with one dust account, or many, in the holders', compute and institutions houses; honest houses of
several real members still count, the bar counts at its share exactly and not one unit below, and every refusal
(a late vote, a vote without weight, turning the bar off by the wrong track or out of its range) changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genesis.loader import load_chain_spec
from runtime.context import EMERGENCY, GOVERNANCE
from runtime.governance import electorate, logic, params, storage, tally
from runtime.governance.types import CANCELLED, ENACTED, PASSED, REJECTED, VOTING, ClosedOtherAye
from runtime.params import storage as params_storage
from tests.runtime.test_governance import (
    DELAY_MS,
    ECOSYSTEM,
    close,
    free,
    make_chain,
    propose,
    ref,
    run_at,
    vote,
)
from tests.runtime.test_governance_attacks import give_work_credit
from tests.support.runtime_builder import UNIT, TestChain, acct, assert_dispatch_noop, assert_noop, assert_ok

LIVE = {p.name: p.value for p in load_chain_spec("btt-21m").parameters}
GOVERNANCE_21M = {name: LIVE[name] for name in params.ALL if not name.startswith("governance.house_bps.")
                  and name not in (params.VOTING_PERIOD, params.ENACTMENT_DELAY, params.MIN_DEPOSIT,
                                   params.EMERGENCY_DEPOSIT)}
"""btt-21m's governance rules (floor, head count, weight bar, quorum, thresholds; the house weights are the test
chain's, the same figures): the voting period, delay and deposits stay the test chain's, which only set the pace."""
OTHER_BPS = LIVE[params.HOUSE_MIN_OTHER_AYE]
MIN_AYE_VOTERS = LIVE[params.HOUSE_MIN_AYE_VOTERS]
SPEND = 1_000 * UNIT
INSTITUTIONS, COMPUTE, HOLDERS = tally.INSTITUTIONS, tally.COMPUTE, tally.HOLDERS
BALANCES = {"alice": 20_000, "bob": 10_000, "charlie": 5_000, "dave": 1_000, "eve": 100, "ferdie": 100,
            "whale": 40_000}


def test_the_live_presets_bar_is_on_and_a_fifth_of_the_turnout_floor() -> None:
    assert (OTHER_BPS, MIN_AYE_VOTERS, LIVE[params.HOUSE_TURNOUT_FLOOR]) == (100, 2, 500)
    for name in ("btt-21m", "btt-210m"):
        bar = next(p for p in load_chain_spec(name).parameters if p.name == params.HOUSE_MIN_OTHER_AYE)
        assert (bar.value, bar.min, bar.max, bar.track) == (100, 50, 5000, "emergency")


def chain_21m(**kw: Any) -> TestChain:
    extra = kw.pop("params", {})
    return make_chain(**{"balances": BALANCES, **kw}, params={**GOVERNANCE_21M, **extra})


def dust(chain: TestChain, name: str, amount: int = UNIT // 2) -> None:
    """The whale makes a Sybil: a transfer of `amount` (0.5 BTT) to a fresh account."""
    assert_ok(chain.submit("whale", "balances.transfer_allow_death", acct(name), amount))


def dust_votes(chain: TestChain, ref_id: int, names: list[str], balance: int) -> None:
    """Each of `names` votes aye with `balance` of its free balance, many to a block."""
    for i in range(0, len(names), 25):
        chain.run_block([chain.sign(n, "governance.vote", ref_id, True, balance) for n in names[i:i + 25]])
    assert all(storage.votes.get(chain.view(), storage.vote_key(ref_id, acct(n))) is not None for n in names)


# --- the attack in each kind of weighted house -------------------------------------------------------------


def whale_and_dust(kind: str, bar_bps: int, sybils: int = 1) -> tuple[TestChain, int]:
    """A spend to the whale, voted by the whale and `sybils` dust accounts in the `kind` house, and by an honest
    house of two real members (two institutions, or three holders when the attacked house is the institutions')."""
    institutions = {"dave": 1_050_000, "ferdie": 630_000}
    if kind == "institutions":  # genesis rows: the dust is a row of 1 BTT beside a whale of a million
        institutions = {"whale": 1_000_000, **{f"sybil-{i}": 1 for i in range(sybils)}, "dave": 60_000}
    balances = {**BALANCES, **{f"sybil-{i}": 1 for i in range(sybils)}} if sybils > 1 else BALANCES
    chain = chain_21m(balances=balances, institutions=institutions, epoch_slots=20,
                      params={params.HOUSE_MIN_OTHER_AYE: bar_bps})
    names = [f"sybil-{i}" for i in range(sybils)]
    if sybils == 1:
        dust(chain, names[0])
    if kind == "compute":  # a big provider and dust providers (another bond each), beside credit that does not vote
        give_work_credit(chain, {"whale": 900_000, "charlie": 100_000 - sybils, **dict.fromkeys(names, 1)})
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("whale"), SPEND)
    if kind == "holders":
        vote(chain, "whale", ref_id, True)
        dust_votes(chain, ref_id, names, UNIT // 4)
        assert_ok(chain.submit("dave", "governance.vote", ref_id, True, 0))
        assert_ok(chain.submit("ferdie", "governance.vote", ref_id, True, 0))
    elif kind == "compute":
        assert_ok(chain.submit("whale", "governance.vote", ref_id, True, 0))  # the credit only
        dust_votes(chain, ref_id, names, 0)
        assert_ok(chain.submit("dave", "governance.vote", ref_id, True, 0))
        assert_ok(chain.submit("ferdie", "governance.vote", ref_id, True, 0))
        vote(chain, "alice", ref_id, True)  # the holders' quorum: alone she is one holder, not a house
    else:
        assert_ok(chain.submit("whale", "governance.vote", ref_id, True, 0))  # the allocation only
        dust_votes(chain, ref_id, names, 0)
        for honest in ("alice", "bob", "charlie"):
            vote(chain, honest, ref_id, True)
    return chain, ref_id


HOUSE_OF = {"holders": HOLDERS, "compute": COMPUTE, "institutions": INSTITUTIONS}


@pytest.mark.parametrize("kind", ["holders", "compute", "institutions"])
def test_the_attack_as_it_stood_passes_with_the_bar_at_zero(kind: str) -> None:
    # the report's rule (a head count only): the whale and one dust account make the house, and it is pivotal
    chain, ref_id = whale_and_dust(kind, 0)
    house = HOUSE_OF[kind]
    assert ref(chain, ref_id).tally.aye_voters[house] == 2
    r = close(chain, ref_id)
    assert r.status == PASSED, r.error
    closed = storage.closed_tallies.get(chain.view(), ref_id).figures
    assert closed.houses[house].in_favour and closed.houses_in_favour == 2


@pytest.mark.parametrize("kind", ["holders", "compute", "institutions"])
@pytest.mark.parametrize("sybils", [1, 30])
def test_a_whale_and_dust_are_not_a_house(kind: str, sybils: int) -> None:
    chain, ref_id = whale_and_dust(kind, OTHER_BPS, sybils)
    house = HOUSE_OF[kind]
    assert ref(chain, ref_id).tally.aye_voters[house] == 1 + sybils  # the head count is met many times over
    fund0, whale0 = free(chain, ECOSYSTEM), free(chain, "whale")
    r = close(chain, ref_id)
    assert r.status == REJECTED
    name = params.HOUSES[house]
    assert r.error.startswith(f"rejected: 1 house ({'holders' if kind == 'institutions' else 'institutions'}) in "
                              f"favour"), r.error
    assert (f"in favour with under 1.00% of the house's weight voting aye beyond the largest aye voter: {name} "
            f"(0.00%)") in r.error, r.error
    figures = storage.closed_tallies.get(chain.view(), ref_id).figures.houses[house]
    assert figures.aye > figures.nay and figures.meets_floor and figures.enough_aye_voters
    assert not figures.in_favour
    weight = storage.closed_other_ayes.get(chain.view(), ref_id)
    assert not weight.enough_other_aye[house] and weight.min_other_aye_bps == OTHER_BPS
    # what the dust carried, all of it counted: a quarter BTT each in the holders' house, one unit each elsewhere
    each = UNIT // 4 if kind == "holders" else (1 if kind == "compute" else UNIT)
    assert weight.other_aye[house] == sybils * each
    assert weight.other_aye[house] * 10_000 < OTHER_BPS * figures.electorate
    # the close is final and nothing is spent: a late vote is refused and changes nothing
    assert_noop(chain, "eve", "governance.vote", ref_id, True, 0, error="VotingClosed")  # a seat nobody used
    run_at(chain, r.voting_ends_ms + DELAY_MS)
    assert free(chain, ECOSYSTEM) == fund0 and free(chain, "whale") >= whale0 - UNIT  # fees only, no spend
    assert ref(chain, ref_id).status == REJECTED


def test_one_whale_with_dust_in_two_houses_cannot_pass_a_spend_against_the_institutions() -> None:
    # the whole report: one account that is both a big holder and a big provider, and one 0.5 BTT Sybil with a
    # sliver of credit, are two houses in favour (holders 35 + compute 25 of 90 aye) against 1,680,000 BTT of
    # institutional nays under the head count alone; with the bar neither house counts
    outcomes = {}
    for bar in (0, OTHER_BPS):
        chain = chain_21m(institutions={"dave": 1_050_000, "ferdie": 630_000}, epoch_slots=20,
                          params={params.HOUSE_MIN_OTHER_AYE: bar})
        dust(chain, "sybil")
        give_work_credit(chain, {"whale": 900_000, "sybil": 1, "charlie": 99_999})
        ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("whale"), SPEND)
        vote(chain, "whale", ref_id, True)
        assert_ok(chain.submit("sybil", "governance.vote", ref_id, True, UNIT // 4))
        for institution in ("dave", "ferdie"):
            assert_ok(chain.submit(institution, "governance.vote", ref_id, False, 0))
        assert ref(chain, ref_id).tally.aye_voters == (0, 2, 2, 0)
        fund0 = free(chain, ECOSYSTEM)
        r = close(chain, ref_id)
        run_at(chain, r.voting_ends_ms + DELAY_MS)
        outcomes[bar] = (r.status, fund0 - free(chain, ECOSYSTEM), r.error)
    assert outcomes[0][:2] == (PASSED, SPEND)  # the attack as it stood
    status, spent, error = outcomes[OTHER_BPS]
    assert (status, spent) == (REJECTED, 0)
    assert error == ("rejected: 0 houses in favour at or above the turnout floor of 5.00%, 2 needed; in favour with "
                     "under 1.00% of the house's weight voting aye beyond the largest aye voter: compute (0.00%), "
                     "holders (0.00%)"), error


# --- honest houses still count ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["holders", "compute", "institutions"])
def test_an_honest_house_of_several_real_members_still_counts(kind: str) -> None:
    # several real members, one of them the largest: what the others hold together is well above 1%; the other
    # house in favour is honest too (the institutions, or the holders when the institutions are the one tested)
    chain = chain_21m(institutions={"dave": 1_050_000, "ferdie": 630_000, "whale": 300_000}, epoch_slots=20)
    give_work_credit(chain, {"bob": 50, "charlie": 30, "ferdie": 20})
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("eve"), SPEND)
    by_weight = {"holders": ("dave", "ferdie"), "compute": ("bob", "charlie", "ferdie", "dave"),
                 "institutions": ("dave", "ferdie", "whale")}[kind]
    by_balance = {"holders": ("alice", "bob", "charlie"), "compute": ("alice",),
                  "institutions": ("alice", "bob", "charlie")}[kind]
    for who in by_weight:  # credit or allocation only
        assert_ok(chain.submit(who, "governance.vote", ref_id, True, 0))
    for who in by_balance:  # in the compute case alice alone is the holders' quorum, one holder and not a house
        vote(chain, who, ref_id, True)
    eve0 = free(chain, "eve")
    r = close(chain, ref_id)
    assert r.status == PASSED, r.error
    weight = storage.closed_other_ayes.get(chain.view(), ref_id)
    assert weight.enough_other_aye[HOUSE_OF[kind]] and weight.other_aye[HOUSE_OF[kind]] > 0
    run_at(chain, r.enact_at_ms)
    assert ref(chain, ref_id).status == ENACTED and free(chain, "eve") == eve0 + SPEND


def test_many_small_real_holders_beside_a_whale_count_together() -> None:
    # a bar per head would stop this honest house (no small holder is 1% of it alone); this bar counts what they
    # hold together: 40 holders of 300 BTT (11,600 voted of about 88,000 circulating) beside the whale
    small = {f"holder-{i}": 300 for i in range(40)}
    chain = chain_21m(balances={**BALANCES, **small}, institutions={"dave": 1_050_000, "ferdie": 630_000})
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("eve"), SPEND)
    vote(chain, "whale", ref_id, True)
    dust_votes(chain, ref_id, list(small), 290 * UNIT)
    for institution in ("dave", "ferdie"):
        assert_ok(chain.submit(institution, "governance.vote", ref_id, True, 0))
    assert 290 * UNIT * 10_000 < OTHER_BPS * electorate.circulating(chain.view())  # each one below the bar alone
    r = close(chain, ref_id)
    assert r.status == PASSED, r.error
    assert storage.closed_other_ayes.get(chain.view(), ref_id).other_aye[HOLDERS] == 40 * 290 * UNIT


def test_the_largest_voter_lowering_its_vote_leaves_no_stale_maximum() -> None:
    # the verdict reads the votes as they stand: a whale that votes big and then re-votes with 1 BTT is no longer
    # the largest, so it cannot hold the house below its bar (a running maximum kept in the tally would)
    chain = chain_21m(institutions={"dave": 1_050_000, "ferdie": 630_000})
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("eve"), SPEND)
    vote(chain, "whale", ref_id, True)
    for who in ("bob", "charlie", "dave", "ferdie"):
        assert_ok(chain.submit(who, "governance.vote", ref_id, True, free(chain, who) - 10 * UNIT
                               if who in ("bob", "charlie") else 0))
    assert_ok(chain.submit("whale", "governance.vote", ref_id, True, UNIT))
    view = chain.view()
    others = logic.others_aye(view, ref(chain, ref_id), MIN_AYE_VOTERS)
    record = {who: storage.votes.get(view, storage.vote_key(ref_id, acct(who))).turnout for who in ("bob", "charlie")}
    assert others[HOLDERS] == record["charlie"] + UNIT  # bob is the largest now; charlie and the whale's 1 BTT
    assert close(chain, ref_id).status == PASSED


def test_a_second_voter_that_re_votes_with_dust_stops_counting() -> None:
    # the reverse: the second account votes real weight, then takes it back to dust before the close
    chain = chain_21m(institutions={"dave": 1_050_000, "ferdie": 630_000})
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("whale"), SPEND)
    vote(chain, "whale", ref_id, True)
    vote(chain, "bob", ref_id, True)
    for institution in ("dave", "ferdie"):
        assert_ok(chain.submit(institution, "governance.vote", ref_id, True, 0))
    live = logic.verdict(chain.view(), ref(chain, ref_id), ref(chain, ref_id).voting_ends_ms)
    assert live.status == PASSED and live.houses[HOLDERS].enough_other_aye
    assert_ok(chain.submit("bob", "governance.vote", ref_id, True, UNIT // 2))
    r = close(chain, ref_id)
    assert r.status == REJECTED and "holders (0.00%)" in r.error, r.error


# --- the boundary -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("second, status", [(100, PASSED), (99, REJECTED)])
def test_the_institutions_house_counts_at_the_bar_exactly_and_not_just_below(second: int, status: int) -> None:
    # the second institution's 100 BTT of 10,000 is exactly 1%: the house counts; 99 of 10,000 is 0.99%
    chain = chain_21m(institutions={"whale": 10_000 - second, "dave": second})
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("eve"), SPEND)
    for who in ("alice", "bob", "charlie"):
        vote(chain, who, ref_id, True)
    for who in ("whale", "dave"):
        assert_ok(chain.submit(who, "governance.vote", ref_id, True, 0))
    r = close(chain, ref_id)
    assert r.status == status, r.error
    weight = storage.closed_other_ayes.get(chain.view(), ref_id)
    assert weight.other_aye[INSTITUTIONS] == second * UNIT
    assert weight.enough_other_aye[INSTITUTIONS] == (status == PASSED)
    if status == REJECTED:
        assert r.error.endswith("beyond the largest aye voter: institutions (0.99%)"), r.error


@pytest.mark.parametrize("whale, second, status", [(99, 1, PASSED), (100, 1, REJECTED)])
def test_the_compute_house_counts_at_the_bar_exactly_and_not_just_below(whale: int, second: int,
                                                                        status: int) -> None:
    # 1 credit of 100 is exactly 1%; of 101, just below
    chain = chain_21m(institutions={"dave": 1_050_000, "ferdie": 630_000}, epoch_slots=20)
    give_work_credit(chain, {"whale": whale, "charlie": second})
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("eve"), SPEND)
    for who in ("whale", "charlie", "dave", "ferdie"):
        assert_ok(chain.submit(who, "governance.vote", ref_id, True, 0))
    vote(chain, "alice", ref_id, False)  # the holders against: the quorum is met, the holders do not count
    r = close(chain, ref_id)
    assert r.status == status, r.error


@pytest.mark.parametrize("below", [0, 1])
def test_the_holders_house_counts_at_the_bar_exactly_and_not_one_base_unit_below(below: int) -> None:
    # the second holder's plain balance against 1% of the circulating supply at the close, to the base unit: the
    # vote's fee moves the supply (half of it leaves circulation), so the second votes twice and the second vote,
    # the same size, moves it by what the first did
    chain = chain_21m(institutions={"dave": 1_050_000, "ferdie": 630_000})
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("eve"), SPEND)
    vote(chain, "whale", ref_id, True)
    for institution in ("dave", "ferdie"):
        assert_ok(chain.submit(institution, "governance.vote", ref_id, True, 0))
    before = electorate.circulating(chain.view())
    # the same size of call as the last vote (a compact amount of as many bytes), so the same fee
    assert_ok(chain.submit("bob", "governance.vote", ref_id, True, before * OTHER_BPS // 10_000))
    step = before - electorate.circulating(chain.view())
    at_close = electorate.circulating(chain.view()) - step
    needed = -(-at_close * OTHER_BPS // 10_000)  # the least plain balance that is 1% of it
    assert_ok(chain.submit("bob", "governance.vote", ref_id, True, needed - below))
    assert electorate.circulating(chain.view()) == at_close
    r = close(chain, ref_id)
    weight = storage.closed_other_ayes.get(chain.view(), ref_id)
    assert storage.closed_tallies.get(chain.view(), ref_id).figures.houses[HOLDERS].electorate == at_close
    assert weight.other_aye[HOLDERS] == needed - below
    assert r.status == (REJECTED if below else PASSED), r.error


# --- refusals change nothing --------------------------------------------------------------------------------


def test_a_vote_without_weight_is_refused_and_moves_no_figure() -> None:
    chain, ref_id = whale_and_dust("holders", OTHER_BPS)
    others0 = logic.others_aye(chain.view(), ref(chain, ref_id), MIN_AYE_VOTERS)
    tally0 = ref(chain, ref_id).tally
    # a dust account that votes nothing, or an account that holds nothing, adds no weight and no head
    assert_ok(chain.submit("whale", "balances.transfer_allow_death", acct("sybil-x"), UNIT // 2))
    assert_noop(chain, "sybil-x", "governance.vote", ref_id, True, 0, error="NoVotingWeight")
    assert ref(chain, ref_id).tally == tally0
    assert logic.others_aye(chain.view(), ref(chain, ref_id), MIN_AYE_VOTERS) == others0


def test_the_bar_is_not_turned_off_by_the_standard_track_nor_moved_outside_its_range() -> None:
    chain = chain_21m()
    name = params.HOUSE_MIN_OTHER_AYE
    assert_dispatch_noop(chain, GOVERNANCE, "params.set_parameter", name, 0, error="EmergencyTrackOnly")
    _, hi = params_storage.bounds.get(chain.view(), name)
    assert_dispatch_noop(chain, EMERGENCY, "params.set_parameter", name, hi + 1, error="ParameterOutOfRange")
    assert params_storage.value.get(chain.view(), name) == OTHER_BPS


# --- frozen with the verdict --------------------------------------------------------------------------------


def test_the_weight_rule_is_frozen_at_the_close_and_on_cancellation_and_not_while_voting() -> None:
    chain, ref_id = whale_and_dust("holders", OTHER_BPS)
    assert ref(chain, ref_id).status == VOTING and storage.closed_other_ayes.get(chain.view(), ref_id) is None
    other = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("eve"), UNIT)
    vote(chain, "bob", other, True)
    assert_ok(chain.submit("alice", "governance.cancel", other))
    assert ref(chain, other).status == CANCELLED
    # bob alone in the holders' house: nothing beyond the largest aye voter, no house meets the bar
    assert storage.closed_other_ayes.get(chain.view(), other) == ClosedOtherAye((0, 0, 0, 0), (False,) * 4, OTHER_BPS)
    close(chain, ref_id)
    frozen = storage.closed_other_ayes.get(chain.view(), ref_id)
    # the electorate moves afterwards (the whale gives most of its balance to the treasury's fund): nothing moves
    assert_ok(chain.submit("whale", "balances.transfer_allow_death", ECOSYSTEM, 1_000 * UNIT))
    run_at(chain, ref(chain, ref_id).voting_ends_ms + DELAY_MS)
    assert storage.closed_other_ayes.get(chain.view(), ref_id) == frozen


# --- the rule, pure -----------------------------------------------------------------------------------------


def test_other_aye_leaves_out_the_largest_voters_asked_for() -> None:
    assert tally.other_aye([900, 1], 2) == 1
    assert tally.other_aye([900, 1] + [1] * 30, 2) == 31
    assert tally.other_aye([5, 5, 5], 2) == 10  # ties: one of them is left out
    assert tally.other_aye([5, 3, 2, 0], 3) == 2  # beyond the two largest; no weight, no voter
    assert tally.other_aye([7], 1) == 7 and tally.other_aye([7], 2) == 0 and tally.other_aye([], 2) == 0
    assert tally.meets_other_aye(100, 10_000, 100) and not tally.meets_other_aye(99, 10_000, 100)
    assert tally.meets_other_aye(1, 100, 100) and not tally.meets_other_aye(1, 101, 100)
    assert tally.meets_other_aye(0, 10_000, 0) and tally.meets_other_aye(0, 0, 0)
    assert not tally.meets_other_aye(5, 0, 100)  # an empty electorate meets no bar, as it meets no floor
    # the holders' house weighs plain balance (the turnout), not the multiplied stake
    votes = [(True, (0, 0, 150, 0), 100), (True, (0, 0, 30, 0), 20), (False, (0, 0, 999, 0), 999)]
    assert tally.others_aye_by_house(votes, 2) == (0, 0, 20, 0)


WEIGHTS = st.lists(st.integers(0, 10**24), max_size=12)


@given(WEIGHTS, WEIGHTS, st.integers(1, 5))
def test_dust_adds_at_most_its_weight_and_more_ayes_never_lower_the_figure(weights: list[int], extra: list[int],
                                                                           min_voters: int) -> None:
    before = tally.other_aye(weights, min_voters)
    after = tally.other_aye(weights + extra, min_voters)
    assert before <= after <= before + sum(extra)  # monotone; splitting into Sybils buys nothing beyond the weight
    assert tally.other_aye(weights, min_voters + 1) <= before  # more heads asked never counts more
    assert after <= sum(weights) + sum(extra)


@given(st.integers(0, 10**24), st.integers(1, 10**24), st.integers(0, 5000), st.integers(0, 5000))
def test_a_higher_bar_never_counts_a_house_a_lower_one_refuses(others: int, electorate_: int, low: int,
                                                                high: int) -> None:
    low, high = sorted((low, high))
    assert tally.meets_other_aye(others, electorate_, high) <= tally.meets_other_aye(others, electorate_, low)
    assert tally.meets_other_aye(others, electorate_, low) == (low == 0 or others * 10_000 >= low * electorate_)


def test_a_house_counts_only_with_the_bar_met_whatever_else_holds() -> None:
    ayes, nays, counts, voted, electorates = (10, 100, 60, 2), (0, 0, 0, 0), (2, 3, 3, 2), (10, 100, 60, 2), \
        (10, 100, 100, 2)
    results = tally.house_results(ayes, nays, counts, voted, electorates, 500, 2, others=(1, 0, 0, 1),
                                  min_other_bps=100)
    assert [r.in_favour for r in results] == [True, False, False, True]
    assert all(r.meets_floor and r.enough_aye_voters for r in results)
    assert [r.enough_other_aye for r in results] == [True, False, False, True]
