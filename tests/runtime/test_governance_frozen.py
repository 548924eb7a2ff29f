"""A referendum's tally is frozen when voting closes (issue 42, finding 5).

The runtime stores every figure of the verdict that closed a referendum (`governance.tally_at_close`): per house aye,
nay, aye voters, weights, turnout against the electorate, floor and head count met, in favour; the houses rule, the
quorum, the threshold and the backing, with the parameters they were checked against, and the block and time. The
RPC (`btt_referendum`'s `tallyAtClose`, which the CLI and the explorer show) renders what was stored; nothing is
recounted against electorates that have moved since. The report's drift: a compute house that decided with 100%
aye read `0.00%, below floor` and `houses in favour 2 of 2` once the compute window had slid past its credit.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from btt_chain.rpc import methods_governance
from runtime.consensus import storage as consensus_storage
from runtime.governance import electorate, logic, storage
from runtime.governance.types import CANCELLED, EXPIRED, FIXED_ONE, PASSED, REJECTED, ClosedTally
from runtime.system import time
from runtime.vesting import storage as vesting_storage
from tests.runtime.test_governance import DELAY_MS, close, make_chain, propose, ref, run_at, vote
from tests.runtime.test_governance_attacks import FLOOR, FLOOR_BPS, give_work_credit
from tests.support.runtime_builder import UNIT, TestChain, acct, assert_noop, assert_ok

WINDOW = "governance.compute_window_days"


def rpc_referendum(chain: TestChain, ref_id: int) -> dict[str, Any]:
    """`btt_referendum` as the node serves it, over the test chain's state (a stand-in for the node: the method reads
    the head's state, its hash for the compute electorate's cache, and the address prefix)."""
    methods_governance._WORK_TOTALS.clear()
    node = SimpleNamespace(
        chain=SimpleNamespace(head_hash=bytes([chain.number % 256]) * 32, head=None,
                              db=SimpleNamespace(state=chain.backend)),
        spec=SimpleNamespace(ss58_prefix=42),
    )
    out = methods_governance.btt_referendum(SimpleNamespace(node=node), ref_id, None).finish()
    assert out is not None
    return out


def frozen(chain: TestChain, ref_id: int) -> ClosedTally:
    closed = storage.closed_tallies.get(chain.view(), ref_id)
    assert closed is not None
    return closed


WINDOW_EPOCHS = 3
EPOCH_SLOTS = 20


def chain_with_a_short_compute_window() -> TestChain:
    """A test chain whose compute window (`governance.compute_window_days` = 1) is 3 epochs of 20 blocks: long
    enough for a vote, short enough to slide past in a test (a day here is 3 epochs: the genesis month is set so)."""
    chain = make_chain(epoch_slots=EPOCH_SLOTS, params={FLOOR: FLOOR_BPS, WINDOW: 1})
    view = chain.view()
    day_ms = WINDOW_EPOCHS * consensus_storage.epoch_ms(view)
    vesting_storage.month_seconds.put(view, day_ms * time.DAYS_PER_MONTH // 1000)
    chain.backend.apply(view.changes())
    assert electorate.compute_window_epochs(chain.view()) == WINDOW_EPOCHS
    return chain


def compute_house_decides(chain: TestChain) -> int:
    """Holders (alice, bob), the institution dave and the compute house's only provider charlie (5 credit, all of
    it) vote aye: three houses in favour, the compute house with 100% aye at 100% turnout."""
    give_work_credit(chain, {"charlie": 5})
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), 1_000 * UNIT)
    vote(chain, "alice", ref_id, True)
    vote(chain, "bob", ref_id, True)
    assert_ok(chain.submit("dave", "governance.vote", ref_id, True, 0))
    assert_ok(chain.submit("charlie", "governance.vote", ref_id, True, 0))  # the credit only
    return ref_id


def test_a_closed_tally_does_not_drift_when_the_compute_window_slides() -> None:
    chain = chain_with_a_short_compute_window()
    ref_id = compute_house_decides(chain)
    assert storage.closed_tallies.get(chain.view(), ref_id) is None  # nothing frozen while voting
    live = rpc_referendum(chain, ref_id)
    assert not live["frozen"] and live["tallyAtClose"] is None and live["liveTally"]["verdict"] == "passed"

    r = close(chain, ref_id)
    assert r.status == PASSED
    closed = frozen(chain, ref_id)
    assert (closed.block, closed.status) == (chain.number, PASSED)
    assert closed.closed_ms >= r.voting_ends_ms == closed.figures.at_ms
    compute = closed.figures.houses[1]
    assert (compute.aye, compute.nay, compute.aye_voters, compute.voted, compute.electorate) == (5, 0, 1, 5, 5)
    assert compute.turnout == FIXED_ONE and compute.meets_floor and compute.in_favour
    assert (closed.figures.houses_in_favour, closed.figures.houses_needed) == (3, 2)
    assert closed.figures.aye_share == FIXED_ONE and closed.figures.quorum_met

    shown = rpc_referendum(chain, ref_id)
    assert shown["frozen"] and shown["liveTally"] is None
    at_close = shown["tallyAtClose"]
    assert (at_close["block"], at_close["closedMs"], at_close["at"]) == (closed.block, closed.closed_ms,
                                                                          r.voting_ends_ms)
    assert at_close["verdict"] == "passed" and at_close["verdictReason"] is None
    assert at_close["houses"]["compute"] | {"turnout": "1", "turnoutPpm": 1_000_000, "meetsTurnoutFloor": True,
                                           "inFavour": True, "ayeShare": "1", "ayeVoters": 1,
                                           "electorate": "5"} == at_close["houses"]["compute"]
    assert at_close["housesInFavour"] == {"count": 3, "needed": 2, "turnoutFloorBps": FLOOR_BPS, "minAyeVoters": 1,
                                          "minOtherAyeBps": 50, "otherAyeLeavesOut": 0, "otherAyeRecorded": True,
                                          "met": True}
    # the weight rule as stored beside the figures: with one aye voter asked, the house's whole aye weight counts
    assert at_close["houses"]["compute"] | {"otherAye": "5", "otherAyeShare": "1", "otherAyeSharePpm": 1_000_000,
                                           "enoughOtherAye": True} == at_close["houses"]["compute"]

    # the window slides past charlie's credit (and the spend is enacted, moving 1,000 BTT into circulation)
    run_at(chain, r.enact_at_ms)
    for _ in range((WINDOW_EPOCHS + 1) * EPOCH_SLOTS):
        chain.run_block([])
    view = chain.view()
    assert electorate.work_total(view) == 0
    recount = logic.verdict(view, ref(chain, ref_id), r.voting_ends_ms)
    assert recount.houses[1].turnout == 0 and not recount.houses[1].meets_floor
    assert recount.in_favour == 2  # what the report saw: "0.00% below floor", "houses in favour 2 of 2"

    assert frozen(chain, ref_id) == closed
    later = rpc_referendum(chain, ref_id)
    assert later["status"] == "enacted" and later["frozen"]
    assert later["tallyAtClose"] == at_close  # not one figure moved


def test_a_rejected_and_an_expired_referendum_keep_their_figures_and_reasons() -> None:
    chain = make_chain()
    rejected = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    expired = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    vote(chain, "alice", rejected, True)
    vote(chain, "bob", rejected, True)  # the holders alone: one house
    close(chain, rejected)
    close(chain, expired)
    r = ref(chain, rejected)
    assert r.status == REJECTED and frozen(chain, rejected).status == REJECTED
    assert frozen(chain, rejected).figures.houses_in_favour == 1
    shown = rpc_referendum(chain, rejected)["tallyAtClose"]
    assert shown["verdict"] == "rejected" and shown["verdictReason"] == r.error
    assert frozen(chain, expired).status == EXPIRED and not frozen(chain, expired).figures.quorum_met
    assert rpc_referendum(chain, expired)["tallyAtClose"]["verdictReason"] == ref(chain, expired).error


def test_a_cancelled_referendum_freezes_the_backing_that_decided_its_deposit() -> None:
    chain = make_chain()
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    vote(chain, "bob", ref_id, True)
    # only the proposer may withdraw: refused, and nothing is frozen
    assert_noop(chain, "bob", "governance.cancel", ref_id, error="NotProposer")
    assert storage.closed_tallies.get(chain.view(), ref_id) is None
    assert_ok(chain.submit("alice", "governance.cancel", ref_id))
    closed = frozen(chain, ref_id)
    assert closed.status == CANCELLED and closed.block == chain.number
    assert closed.figures.backed_share == FIXED_ONE and not closed.figures.spam  # the deposit came back
    shown = rpc_referendum(chain, ref_id)
    assert shown["status"] == "cancelled" and shown["frozen"] and shown["liveTally"] is None
    assert shown["tallyAtClose"]["verdict"] == "cancelled" and shown["tallyAtClose"]["deposit"]["spam"] is False
    # a second cancellation is refused and the frozen figures stay
    assert_noop(chain, "alice", "governance.cancel", ref_id, error="VotingClosed")
    assert frozen(chain, ref_id) == closed
    run_at(chain, ref(chain, ref_id).voting_ends_ms + DELAY_MS)
    assert frozen(chain, ref_id) == closed


def test_the_live_and_the_frozen_tally_are_one_rendering() -> None:
    # the figures the RPC shows while voting are the ones the runtime freezes at the close: same function, same
    # keys, and at the last moment of voting the same values
    chain = chain_with_a_short_compute_window()
    ref_id = compute_house_decides(chain)
    r = ref(chain, ref_id)
    view = chain.view()
    verdict = logic.verdict(view, r, r.voting_ends_ms)
    expected = logic.figures(verdict)
    live = methods_governance.render_figures(expected, r.track, logic.other_aye_figures(verdict))
    close(chain, ref_id)
    assert frozen(chain, ref_id).figures.houses == expected.houses
    at_close = rpc_referendum(chain, ref_id)["tallyAtClose"]
    assert set(at_close) == set(live) | {"verdict", "verdictReason", "block", "closedMs"}
    assert at_close["houses"] == live["houses"]
    assert at_close["housesInFavour"] == live["housesInFavour"] and live["housesInFavour"]["otherAyeRecorded"]
