"""governance: referenda through their whole lifecycle, the four houses, vote locks, and every privileged call
made through a real referendum (and refused with a signed origin)."""

from __future__ import annotations

from typing import Any

import pytest

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call
from btt_chain.primitives.hashing import blake2b_256
from runtime.context import Origin
from runtime.governance import events, storage
from runtime.governance.types import (
    CANCELLED,
    ENACTED,
    EXPIRED,
    FAILED,
    PASSED,
    REJECTED,
    VOTING,
    Referendum,
    Tally,
    VoteLock,
)
from runtime.modules import RUNTIME
from runtime.params import storage as params_storage
from runtime.roles import storage as roles
from runtime.system import storage as system
from runtime.treasury import storage as treasury_storage
from runtime.vesting import storage as vesting_storage
from runtime.vesting.types import MILESTONE, VestingSchedule
from tests.support.runtime_builder import (
    DEFAULT_PARAMS,
    SLOT_MS,
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_dispatch_noop,
    assert_last_event,
    assert_noop,
    assert_ok,
)

DEPOSIT = DEFAULT_PARAMS["governance.min_deposit"][0]
EMERGENCY_DEPOSIT = DEFAULT_PARAMS["governance.emergency_deposit"][0]
VOTING_MS = DEFAULT_PARAMS["governance.voting_period_ms"][0]
DELAY_MS = DEFAULT_PARAMS["governance.enactment_delay_ms"][0]
DESCRIPTION = blake2b_256(b"spend 1,000 BTT on a dental imaging pilot")
ECOSYSTEM = module_account("ecosystem_fund")
ALL = 10**30
"""Vote with the whole free balance."""



def make_chain(**kw: Any) -> TestChain:
    builder: dict[str, Any] = {
        "balances": {"alice": 20_000, "bob": 10_000, "charlie": 5_000, "dave": 1_000, "eve": 100},
        "module_balances": {"ecosystem_fund": (5_000, 0), "community_incentives": (5_000, 0),
                            "strategic_reserve": (210, 210)},
        "institutions": {"dave": 1_050_000},
        "representatives": ("eve",),
    }
    builder.update(kw)
    return GenesisBuilder(**builder).build()


def call(name: str, *args: Any) -> Call:
    return RUNTIME.call(name, *args)


def propose(chain: TestChain, who: str, name: str, *args: Any, emergency: bool = False,
            deposit: int | None = None) -> int:
    deposit = (EMERGENCY_DEPOSIT if emergency else DEPOSIT) if deposit is None else deposit
    assert_ok(chain.submit(who, "governance.propose", call(name, *args), DESCRIPTION, deposit, emergency))
    return storage.next_id.get(chain.view()) - 1


def ref(chain: TestChain, ref_id: int) -> Referendum:
    r = storage.referenda.get(chain.view(), ref_id)
    assert r is not None
    return r


def next_block_ms(chain: TestChain) -> int:
    return 1_000_000 + (chain.slot + 1) * SLOT_MS + chain.time_offset_ms


def run_at(chain: TestChain, ms: int) -> None:
    """Run the next block at `ms` (or at its normal time if that is later)."""
    gap = ms - next_block_ms(chain)
    if gap > 0:
        chain.advance_time(gap)
    chain.run_block([])


def close(chain: TestChain, ref_id: int) -> Referendum:
    run_at(chain, ref(chain, ref_id).voting_ends_ms)
    return ref(chain, ref_id)


def through(chain: TestChain, name: str, *args: Any, emergency: bool = False,
            voters: tuple[str, ...] = ("alice", "bob", "dave")) -> Referendum:
    """A referendum that everyone in `voters` backs, run to its enactment."""
    ref_id = propose(chain, "alice", name, *args, emergency=emergency)
    for v in voters:
        vote(chain, v, ref_id, True)
    r = close(chain, ref_id)
    assert r.status == PASSED, r
    run_at(chain, r.enact_at_ms)
    return ref(chain, ref_id)


def vote(chain: TestChain, who: str, ref_id: int, aye: bool) -> None:
    """Vote with all but 10 BTT of the free balance (kept for fees)."""
    assert_ok(chain.submit(who, "governance.vote", ref_id, aye, free(chain, who) - 10 * UNIT))


def free(chain: TestChain, who: str | bytes) -> int:
    return chain.account(who).free


# --- proposing ---------------------------------------------------------------------------------------------


def test_a_proposal_reserves_its_deposit_and_opens_voting():
    chain = make_chain()
    alice0 = chain.account("alice")
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), 1_000 * UNIT)
    r = ref(chain, ref_id)
    assert (r.proposer, r.deposit, r.status, r.track) == (acct("alice"), DEPOSIT, VOTING, 0)
    assert r.call == call("treasury.spend", "ecosystem_fund", acct("bob"), 1_000 * UNIT)
    assert r.voting_ends_ms == r.submitted_ms + VOTING_MS
    assert chain.account("alice").reserved == alice0.reserved + DEPOSIT
    assert_last_event(chain, events.Proposed(ref_id, acct("alice"), "treasury.spend", 0, DEPOSIT, r.voting_ends_ms))


@pytest.mark.parametrize(
    "args, error",
    [
        ((call("treasury.spend", "ecosystem_fund", acct("bob"), UNIT), DESCRIPTION, DEPOSIT - 1, False),
         "DepositTooLow"),
        ((call("treasury.release_strategic_reserve", acct("bob"), UNIT), DESCRIPTION, EMERGENCY_DEPOSIT, False),
         "EmergencyOnly"),
        ((call("params.set_bounds", "fees.base", 0, UNIT), DESCRIPTION, EMERGENCY_DEPOSIT, False), "EmergencyOnly"),
        ((call("treasury.release_strategic_reserve", acct("bob"), UNIT), DESCRIPTION, DEPOSIT, True),
         "DepositTooLow"),
        ((call("governance.vote", 0, True, ALL), DESCRIPTION, DEPOSIT, False), "BadProposal"),
        ((call("treasury.spend", "ecosystem_fund", acct("bob"), UNIT), DESCRIPTION, 10**6 * UNIT, False),
         "InsufficientBalance"),
    ],
)
def test_proposal_refusals_change_nothing(args, error):
    chain = make_chain()
    assert_noop(chain, "alice", "governance.propose", *args, error=error)


def test_a_proposal_carrying_no_call_is_not_even_a_valid_extrinsic():
    """A carried call is decoded by the call table before inclusion: one at no index (or with bad arguments) makes
    the proposal undecodable, refused before it is included, so it costs no fee."""
    chain = make_chain()
    before = chain.account("alice")
    for carried in (Call(99, 0, b""), Call(1, 0, b"\x00" + acct("bob"))):
        with pytest.raises(InvalidExtrinsic):
            chain.submit("alice", "governance.propose", carried, DESCRIPTION, DEPOSIT, False)
    assert chain.account("alice") == before


def test_the_number_of_open_referenda_is_bounded():
    chain = make_chain(params={"governance.max_open_referenda": 1})
    propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    assert_noop(chain, "alice", "governance.propose", call("treasury.spend", "ecosystem_fund", acct("bob"), UNIT),
                DESCRIPTION, DEPOSIT, False, error="TooManyOpen")


# --- voting ------------------------------------------------------------------------------------------------


def test_a_vote_counts_in_every_house_the_account_belongs_to():
    chain = make_chain()
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    vote(chain, "dave", ref_id, True)  # institution and holder
    vote(chain, "eve", ref_id, False)  # representative and holder
    tally = ref(chain, ref_id).tally
    dave_balance = storage.votes.get(chain.view(), storage.vote_key(ref_id, acct("dave"))).turnout
    eve_balance = storage.votes.get(chain.view(), storage.vote_key(ref_id, acct("eve"))).turnout
    assert tally.ayes == (1_050_000 * UNIT, 0, dave_balance, 0)
    assert tally.nays == (0, 0, eve_balance, 1)
    assert tally.turnout == dave_balance + eve_balance
    assert_last_event(chain, events.Voted(ref_id, acct("eve"), False))


def test_voting_again_replaces_the_vote():
    chain = make_chain()
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    assert_ok(chain.submit("bob", "governance.vote", ref_id, True, 4_000 * UNIT))
    assert_ok(chain.submit("bob", "governance.vote", ref_id, False, 3_000 * UNIT))
    tally = ref(chain, ref_id).tally
    bob_weight = storage.votes.get(chain.view(), storage.vote_key(ref_id, acct("bob"))).weights[2]
    assert bob_weight == 3_000 * UNIT
    assert tally.ayes == (0, 0, 0, 0) and tally.nays == (0, 0, bob_weight, 0)
    assert tally.turnout == bob_weight
    # the first vote's lock (4,000) still holds: a lock only grows while voting is open
    assert storage.locks.get(chain.view(), acct("bob")).amount == 4_000 * UNIT


def test_a_long_stake_weighs_one_and_a_half_times_in_the_holders_house():
    chain = make_chain(balances={"alice": 20_000, "bob": 60_000, "charlie": 5_000})
    assert_ok(chain.submit("bob", "staking.stake", "365d", 50_000 * UNIT))
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    bob_free = free(chain, "bob")
    vote(chain, "bob", ref_id, True)
    record = storage.votes.get(chain.view(), storage.vote_key(ref_id, acct("bob")))
    voted_free = bob_free - 10 * UNIT
    assert record.turnout == voted_free + 50_000 * UNIT
    # only the 365-day principal counts 1.5x; the free balance counts once
    assert record.weights[2] == voted_free + 50_000 * UNIT * 15_000 // 10_000


def test_vote_refusals_change_nothing():
    chain = make_chain()
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    assert_noop(chain, "bob", "governance.vote", 7, True, ALL, error="UnknownReferendum")
    # an account with no balance, stake, seat or work credit has no weight anywhere
    assert_dispatch_noop(chain, Origin.signed(b"\x77" * 32), "governance.vote", ref_id, True, ALL,
                         error="NoVotingWeight")


def test_voting_after_the_end_is_refused():
    chain = make_chain()
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("bob"), UNIT)
    close(chain, ref_id)
    assert_noop(chain, "bob", "governance.vote", ref_id, True, ALL, error="VotingClosed")


def test_voted_tokens_are_locked_until_voting_ends_so_they_cannot_vote_twice():
    chain = make_chain()
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("charlie"), UNIT)
    assert_ok(chain.submit("bob", "governance.vote", ref_id, True, 9_000 * UNIT))
    locked = storage.votes.get(chain.view(), storage.vote_key(ref_id, acct("bob"))).turnout
    assert locked == 9_000 * UNIT
    assert storage.locks.get(chain.view(), acct("bob")) == VoteLock(locked, ref(chain, ref_id).voting_ends_ms)
    # bob cannot hand the counted tokens to charlie for a second vote
    assert_noop(chain, "bob", "balances.transfer_allow_death",
                acct("charlie"), 5_000 * UNIT, error="InsufficientBalance")
    assert chain.account("bob").frozen == locked
    close(chain, ref_id)  # the lock has ended
    assert_ok(chain.submit("bob", "balances.transfer_allow_death", acct("charlie"), 5_000 * UNIT))
    assert chain.account("bob").frozen == 0


# --- closing, enactment, deposits -------------------------------------------------------------------------


def test_a_passed_referendum_is_enacted_after_the_delay_and_the_deposit_comes_back():
    chain = make_chain()
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("charlie"), 1_000 * UNIT)
    for v in ("alice", "bob", "dave"):
        vote(chain, v, ref_id, True)
    charlie0, alice_reserved0 = free(chain, "charlie"), chain.account("alice").reserved
    r = close(chain, ref_id)
    assert r.status == PASSED and r.aye_share_ppm == 1_000_000
    assert r.enact_at_ms == r.voting_ends_ms + DELAY_MS
    assert events.VotingClosed(ref_id, PASSED, 1_000_000, 0) in chain.events()
    assert free(chain, "charlie") == charlie0  # not yet: the enactment delay
    run_at(chain, r.enact_at_ms)
    assert ref(chain, ref_id).status == ENACTED
    assert free(chain, "charlie") == charlie0 + 1_000 * UNIT
    assert chain.account("alice").reserved == alice_reserved0 - DEPOSIT
    assert events.Enacted(ref_id, True, "") in chain.events()
    assert not storage.open_referenda.contains(chain.view(), ref_id)


def test_a_rejected_referendum_returns_the_deposit_and_changes_nothing_else():
    chain = make_chain(balances={"alice": 5_000, "bob": 10_000, "charlie": 100})
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("charlie"), UNIT)
    vote(chain, "alice", ref_id, True)
    vote(chain, "bob", ref_id, False)
    reserved0, fund0 = chain.account("alice").reserved, free(chain, ECOSYSTEM)
    r = close(chain, ref_id)
    assert r.status == REJECTED and 100_000 <= r.aye_share_ppm < 500_000
    assert chain.account("alice").reserved == reserved0 - DEPOSIT
    assert free(chain, ECOSYSTEM) == fund0


def test_rejected_spam_loses_its_deposit_to_the_burn():
    chain = make_chain()
    ref_id = propose(chain, "charlie", "treasury.spend", "ecosystem_fund", acct("charlie"), 4_000 * UNIT)
    vote(chain, "alice", ref_id, False)
    vote(chain, "bob", ref_id, False)
    issued0, charlie0 = system.total_issuance.get(chain.view()), chain.account("charlie")
    r = close(chain, ref_id)
    assert r.status == REJECTED and r.aye_share_ppm == 0
    assert events.VotingClosed(ref_id, REJECTED, 0, DEPOSIT) in chain.events()
    assert system.total_issuance.get(chain.view()) == issued0 - DEPOSIT
    assert chain.account("charlie").reserved == charlie0.reserved - DEPOSIT
    assert chain.account("charlie").free == charlie0.free


def test_without_the_holders_quorum_the_referendum_expires():
    chain = make_chain(params={"governance.quorum_bps": 5_000})
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("charlie"), UNIT)
    vote(chain, "eve", ref_id, True)  # a tiny holder
    reserved0 = chain.account("alice").reserved
    r = close(chain, ref_id)
    assert r.status == EXPIRED
    assert r.error.startswith("expired: token holders' turnout 0.2") and r.error.endswith("quorum of 50.00%"), r.error
    assert chain.account("alice").reserved == reserved0 - DEPOSIT


def test_a_call_that_fails_at_enactment_marks_the_referendum_failed_and_changes_nothing():
    chain = make_chain()
    fund0 = free(chain, ECOSYSTEM)
    r = through(chain, "treasury.spend", "ecosystem_fund", acct("charlie"), 10**6 * UNIT)
    assert r.status == FAILED
    assert "insufficient" in r.error.lower(), r.error
    assert free(chain, ECOSYSTEM) == fund0
    assert events.Enacted(r.id, False, r.error) in chain.events()


def test_the_proposer_may_cancel_while_voting_is_open():
    chain = make_chain()
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("charlie"), UNIT)
    vote(chain, "bob", ref_id, True)  # backed: the deposit comes back (an unbacked one burns, see the attacks)
    assert_noop(chain, "bob", "governance.cancel", ref_id, error="NotProposer")
    reserved0, issued0 = chain.account("alice").reserved, system.total_issuance.get(chain.view())
    assert_ok(chain.submit("alice", "governance.cancel", ref_id))
    assert ref(chain, ref_id).status == CANCELLED
    assert chain.account("alice").reserved == reserved0 - DEPOSIT
    assert system.total_issuance.get(chain.view()) == issued0
    assert_last_event(chain, events.Cancelled(ref_id))
    assert_noop(chain, "alice", "governance.cancel", ref_id, error="VotingClosed")
    assert_noop(chain, "bob", "governance.vote", ref_id, True, ALL, error="VotingClosed")


def test_the_emergency_track_needs_two_thirds():
    chain = make_chain(balances={"alice": 30_000, "bob": 25_000, "charlie": 5_000, "eve": 100}, institutions={})
    # holders: alice 30k aye, bob 25k nay (54.5% aye, 7/9 of the weight); the representative eve aye (2/9):
    # about 64.6% aye, from two houses
    standard = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("charlie"), UNIT)
    emergency = propose(chain, "alice", "treasury.release_strategic_reserve", acct("charlie"), UNIT,
                        emergency=True)
    for ref_id in (standard, emergency):
        vote(chain, "alice", ref_id, True)
        vote(chain, "bob", ref_id, False)
        vote(chain, "eve", ref_id, True)
    close(chain, emergency)
    assert ref(chain, standard).status == PASSED
    r = ref(chain, emergency)
    assert r.status == REJECTED and 500_000 < r.aye_share_ppm < 666_667
    assert r.error.startswith("rejected: aye share 63.") and r.error.endswith(", needs at least 66.67%"), r.error


def test_an_empty_house_hands_its_weight_to_the_houses_that_voted():
    # institutions vote nay, holders aye; compute and representatives are silent: 30 : 35 of the weight
    chain = make_chain()
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("charlie"), UNIT)
    vote(chain, "alice", ref_id, True)
    vote(chain, "dave", ref_id, False)
    r = close(chain, ref_id)
    dave_holder = storage.votes.get(chain.view(), storage.vote_key(ref_id, acct("dave"))).weights[2]
    alice_holder = storage.votes.get(chain.view(), storage.vote_key(ref_id, acct("alice"))).weights[2]
    from fractions import Fraction

    expected = Fraction(35, 65) * Fraction(alice_holder, alice_holder + dave_holder)
    assert r.aye_share_ppm == expected.numerator * 1_000_000 // expected.denominator
    # 35/65 of an almost all-aye holders' house beats the institutions' 30/65, but one house in favour alone
    # decides nothing
    assert expected > Fraction(1, 2) and r.status == REJECTED
    assert r.error == "rejected: 1 house (holders) in favour at or above the turnout floor of 1.00%, 2 needed"


# --- every privileged call: refused when signed, done through a referendum ----------------------------------


def foundation_chain() -> TestChain:
    schedule = VestingSchedule(1_000 * UNIT, 1_000_000, 1_000_000, 1_000_000 + 48 * 60_000, MILESTONE)
    return make_chain(
        module_balances={"ecosystem_fund": (5_000, 0), "community_incentives": (5_000, 0),
                         "strategic_reserve": (210, 210), "foundation": (1_000, 1_000)},
        vesting={"foundation": (schedule,)},
        milestones=(("hospitals_100", 70, False),),
    )


@pytest.mark.parametrize(
    "name, args, emergency, check",
    [
        ("treasury.spend", ("ecosystem_fund", acct("charlie"), 1_000 * UNIT), False,
         lambda c, before: free(c, "charlie") == before["charlie"] + 1_000 * UNIT),
        ("treasury.spend", ("community_incentives", acct("charlie"), 7 * UNIT), False,
         lambda c, before: free(c, "charlie") == before["charlie"] + 7 * UNIT),
        ("vesting.approve_tranche", (module_account("foundation"), 100 * UNIT), False,
         lambda c, before: vesting_storage.schedules.get(c.view(), module_account("foundation"))[0].approved
         == 100 * UNIT),
        ("treasury.release_strategic_reserve", (acct("charlie"), 10 * UNIT), True,
         lambda c, before: free(c, "charlie") == before["charlie"] + 10 * UNIT),
        ("treasury.execute_milestone_burn", ("hospitals_100",), False,
         lambda c, before: system.total_issuance.get(c.view()) == before["issuance"] - 70 * UNIT),
        ("params.set_parameter", ("fees.base", UNIT // 100), False,
         lambda c, before: params_storage.value.get(c.view(), "fees.base") == UNIT // 100),
        ("params.set_bounds", ("fees.base", 0, UNIT // 20), True,
         lambda c, before: params_storage.bounds.get(c.view(), "fees.base") == (0, UNIT // 20)),
        ("roles.appoint_verifier", (acct("charlie"),), False,
         lambda c, before: roles.verifiers.contains(c.view(), acct("charlie"))),
        ("roles.appoint_oracle", ("preventive_visit", acct("charlie")), False,
         lambda c, before: roles.oracles.contains(c.view(), ("preventive_visit", acct("charlie")))),
        ("roles.set_representatives", ([acct("charlie"), acct("bob")],), False,
         lambda c, before: roles.representatives.get(c.view()) == (acct("charlie"), acct("bob"))),
    ],
)
def test_each_privileged_call_is_refused_when_signed_and_done_by_a_referendum(name, args, emergency, check):
    chain = foundation_chain()
    assert_noop(chain, "alice", name, *args, error="BadOrigin")
    before = {"charlie": free(chain, "charlie"), "issuance": system.total_issuance.get(chain.view())}
    r = through(chain, name, *args, emergency=emergency)
    assert r.status == ENACTED, r.error
    assert check(chain, before)


def test_a_milestone_burn_through_governance_happens_once():
    chain = foundation_chain()
    issued0 = system.total_issuance.get(chain.view())
    assert through(chain, "treasury.execute_milestone_burn", "hospitals_100").status == ENACTED
    assert system.total_issuance.get(chain.view()) == issued0 - 70 * UNIT
    assert treasury_storage.milestones.get(chain.view(), "hospitals_100").executed
    again = through(chain, "treasury.execute_milestone_burn", "hospitals_100")
    assert again.status == FAILED and "MilestoneAlreadyExecuted" in again.error
    assert system.total_issuance.get(chain.view()) == issued0 - 70 * UNIT


def test_removing_roles_through_referenda():
    chain = foundation_chain()
    through(chain, "roles.appoint_verifier", acct("charlie"))
    through(chain, "roles.appoint_oracle", "referral", acct("charlie"))
    assert through(chain, "roles.remove_verifier", acct("charlie")).status == ENACTED
    assert through(chain, "roles.remove_oracle", "referral", acct("charlie")).status == ENACTED
    assert not roles.verifiers.contains(chain.view(), acct("charlie"))
    assert not roles.oracles.contains(chain.view(), ("referral", acct("charlie")))


def test_a_new_representative_votes_in_the_representatives_house():
    chain = foundation_chain()
    through(chain, "roles.set_representatives", [acct("charlie")])
    ref_id = propose(chain, "alice", "treasury.spend", "ecosystem_fund", acct("charlie"), UNIT)
    vote(chain, "charlie", ref_id, True)
    vote(chain, "eve", ref_id, True)  # no longer a representative
    tally: Tally = ref(chain, ref_id).tally
    assert tally.ayes[3] == 1
