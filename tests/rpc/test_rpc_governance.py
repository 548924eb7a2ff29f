"""RPC of governance: btt_referenda and btt_referendum through a referendum's life (proposed, voted by the
holders and an institution, the live tally per house with empty houses re-spread, passed, enacted), the
walkthrough of docs/governance.md with each house's turnout against its floor, a referendum rejected by the houses rule
with its reason, a cancelled one, btt_voter (weights per house and the vote lock), and bad parameters."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.rpc.methods_governance import share
from runtime.modules import RUNTIME
from runtime.system import time

from .harness import UNIT, RpcHarness

HOUSES = ("institutions", "compute", "holders", "representatives")
GRANT = 1_000 * UNIT
ALL = 2**128 - 1
"""A vote's balance: all of the free balance (the runtime takes at most what there is)."""


def addr(rpc: RpcHarness, name: str) -> str:
    return encode_address(dev_keypair(name).public, rpc.node.spec.ss58_prefix)


def hexid(name: str) -> str:
    return "0x" + dev_keypair(name).public.hex()


async def params(rpc: RpcHarness) -> dict[str, int]:
    return {row["name"]: int(row["value"]) for row in await rpc.call("btt_params")}






def spend_call() -> Any:
    return RUNTIME.call("treasury.spend", "ecosystem_fund", dev_keypair("bob").public, GRANT)


@pytest.mark.asyncio
async def test_a_referendum_through_the_rpc_from_proposal_to_enactment(rpc: RpcHarness) -> None:
    alice, bob, charlie, dave = (dev_keypair(n) for n in ("alice", "bob", "charlie", "dave"))
    p = await params(rpc)
    assert await rpc.call("btt_referenda") == []
    assert await rpc.call("btt_referendum", 0) is None

    # dave holds the China Digital Healthcare Group row (an institution), all of it locked: give him fees
    await submit_fee(rpc, alice, "balances.transfer_allow_death", dave.public, 10 * UNIT)
    voter = await rpc.call("btt_voter", hexid("dave"))
    assert voter["address"] == addr(rpc, "dave")
    assert voter["weights"]["institutions"] == str(1_050_000 * UNIT)
    assert voter["weights"]["compute"] == "0" and voter["lock"] is None and voter["votes"] == []

    description = blake2b_256(b"a grant of 1,000 BTT to bob")
    deposit = p["governance.min_deposit"]
    await submit_fee(rpc, alice, "governance.propose", spend_call(), description, deposit, False)
    (ref,) = await rpc.call("btt_referenda")
    assert (ref["id"], ref["status"], ref["track"], ref["deposit"]) == (0, "voting", "standard", str(deposit))
    assert ref["proposer"] == addr(rpc, "alice") and ref["descriptionHash"] == "0x" + description.hex()
    assert ref["call"] == {
        "name": "treasury.spend", "module": 9, "function": 0,
        "args": {"source": "ecosystem_fund", "dest": addr(rpc, "bob"), "amount": str(GRANT)},
    }
    assert ref["votingEndsMs"] - ref["submittedMs"] == p["governance.voting_period_ms"]
    assert ref["enactAtMs"] is None and ref["ayeShare"] is None and ref["ayeSharePpm"] is None
    assert ref["tally"] == {"houses": {h: {"aye": "0", "nay": "0"} for h in HOUSES}, "turnout": "0"}

    live = (await rpc.call("btt_referendum", 0))["liveTally"]
    assert all(h["empty"] and h["weight"] == "0" and h["ayeShare"] is None for h in live["houses"].values())
    assert live["ayeShare"] == "0" and live["verdict"] == "expired" and not live["quorum"]["met"]
    assert live["threshold"] == {"track": "standard", "thresholdBps": p["governance.threshold_bps"], "rule": "above"}

    # the holders bob (aye) and charlie (nay) vote; each weighs its free balance once the vote's fee is paid
    bob_weight = int((await rpc.call("btt_voter", hexid("bob")))["weights"]["holders"])
    bob_weight -= await submit_fee(rpc, bob, "governance.vote", 0, True, ALL)
    charlie_weight = int((await rpc.call("btt_voter", hexid("charlie")))["weights"]["holders"])
    charlie_weight -= await submit_fee(rpc, charlie, "governance.vote", 0, False, ALL)
    ref = await rpc.call("btt_referendum", 0)
    houses = ref["liveTally"]["houses"]
    assert ref["tally"]["houses"]["holders"] == {"aye": str(bob_weight), "nay": str(charlie_weight)}
    assert houses["holders"]["weight"] == "1" and houses["holders"]["weightPpm"] == 1_000_000
    assert houses["holders"]["ayeShare"] == share(Fraction(bob_weight, bob_weight + charlie_weight))
    assert ref["liveTally"]["ayeShare"] == houses["holders"]["ayeShare"]
    assert ref["tally"]["turnout"] == str(bob_weight + charlie_weight)

    # bob's vote locks his free balance until voting ends
    bob_voter = await rpc.call("btt_voter", hexid("bob"))
    assert bob_voter["lock"] == {"amount": str(bob_weight), "untilMs": ref["votingEndsMs"], "locked": str(bob_weight)}
    assert bob_voter["votes"] == [{"referendum": 0, "vote": "aye", "weights": {
        "institutions": "0", "compute": "0", "holders": str(bob_weight), "representatives": "0"},
        "turnout": str(bob_weight)}]

    # dave votes aye as an institution (and a holder); alice aye as a holder: two houses now count, the empty
    # compute and representatives houses' weight is spread over them in proportion to their weights
    await submit_fee(rpc, dave, "governance.vote", 0, True, ALL)
    await submit_fee(rpc, alice, "governance.vote", 0, True, ALL)
    ref = await rpc.call("btt_referendum", 0)
    live = ref["liveTally"]
    base = {h: p[f"governance.house_bps.{h}"] for h in HOUSES}
    counted = base["institutions"] + base["holders"]
    assert live["houses"]["institutions"]["weight"] == share(Fraction(base["institutions"], counted))
    assert live["houses"]["holders"]["weight"] == share(Fraction(base["holders"], counted))
    assert live["houses"]["compute"]["empty"] and live["houses"]["representatives"]["weight"] == "0"
    assert live["houses"]["institutions"]["weightThisYear"] == share(Fraction(base["institutions"], sum(base.values())))
    assert live["houses"]["institutions"] == live["houses"]["institutions"] | {
        "aye": str(1_050_000 * UNIT), "nay": "0", "ayeShare": "1", "ayeSharePpm": 1_000_000}
    holders = live["houses"]["holders"]
    ayes, nays = int(holders["aye"]), int(holders["nay"])
    assert nays == charlie_weight and ayes > bob_weight
    holders_share = Fraction(ayes, ayes + nays)
    expected = Fraction(base["institutions"], counted) + Fraction(base["holders"], counted) * holders_share
    assert live["ayeShare"] == share(expected)
    quorum = live["quorum"]
    assert quorum["turnout"] == ref["tally"]["turnout"] and quorum["quorumBps"] == p["governance.quorum_bps"]
    assert int(quorum["required"]) * 10_000 >= int(quorum["circulating"]) * quorum["quorumBps"]
    assert quorum["met"], quorum
    assert live["verdict"] == "passed"

    # voting closes: passed, with its aye share; enacted after the delay, bob is paid exactly the grant
    rpc.author_at_time(ref["votingEndsMs"])
    ref = await rpc.call("btt_referendum", 0)
    assert ref["status"] == "passed" and ref["liveTally"] is None and ref["frozen"]
    at_close = ref["tallyAtClose"]  # the figures stored when voting closed: the last live ones, and the verdict
    assert at_close["verdict"] == "passed" and at_close["houses"] == live["houses"]
    assert at_close["ayeSharePpm"] == live["ayeSharePpm"] and at_close["at"] == ref["votingEndsMs"]
    assert ref["ayeSharePpm"] == live["ayeSharePpm"] and ref["ayeShare"] == share(Fraction(live["ayeSharePpm"], 10**6))
    assert ref["enactAtMs"] == ref["votingEndsMs"] + p["governance.enactment_delay_ms"]
    assert [r["id"] for r in await rpc.call("btt_referenda", "passed")] == [0]
    bob_before = int((await rpc.call("btt_account", hexid("bob")))["free"])
    rpc.author_at_time(ref["enactAtMs"])
    ref = await rpc.call("btt_referendum", 0)
    assert ref["status"] == "enacted" and ref["error"] is None
    assert int((await rpc.call("btt_account", hexid("bob")))["free"]) - bob_before == GRANT
    assert (await rpc.call("btt_voter", hexid("bob")))["lock"]["locked"] == "0"
    assert (await rpc.call("btt_voter", hexid("bob")))["votes"] == []


@pytest.mark.asyncio
async def test_the_docs_walkthrough_passes_with_two_houses_above_their_turnout_floor(rpc: RpcHarness) -> None:
    """docs/governance.md, "A referendum on a dev node": bob and charlie vote aye as token holders and dave as the
    founding institution of row 2; the houses in favour are the institutions (dave's 1,050,000 of the five rows'
    4,830,000 BTT) and the holders, each above the dev chain's 1% turnout floor."""
    alice, bob, charlie, dave = (dev_keypair(n) for n in ("alice", "bob", "charlie", "dave"))
    p = await params(rpc)
    floor = p["governance.house_turnout_floor_bps"]
    await submit_fee(rpc, alice, "balances.transfer_allow_death", dave.public, 10 * UNIT)
    await submit_fee(rpc, alice, "governance.propose", spend_call(), ZERO_HASH, p["governance.min_deposit"], False)
    for voter in (bob, charlie, dave):
        await submit_fee(rpc, voter, "governance.vote", 0, True, ALL)
    ref = await rpc.call("btt_referendum", 0)
    live = ref["liveTally"]
    houses = live["houses"]
    institutions, holders = houses["institutions"], houses["holders"]
    assert institutions["voted"] == str(1_050_000 * UNIT) and institutions["electorate"] == str(4_830_000 * UNIT)
    assert institutions["turnout"] == share(Fraction(1_050_000, 4_830_000))
    assert institutions["turnoutPpm"] == 1_050_000 * 10**6 // 4_830_000
    assert institutions["meetsTurnoutFloor"] and institutions["inFavour"]
    # the holders' turnout is the plain balance that voted (the quorum's turnout) over the circulating supply
    assert holders["voted"] == ref["tally"]["turnout"] and holders["electorate"] == live["quorum"]["circulating"]
    assert holders["turnout"] == share(Fraction(int(holders["voted"]), int(holders["electorate"])))
    assert holders["meetsTurnoutFloor"] and holders["inFavour"]
    assert int(holders["voted"]) * 10_000 >= int(holders["electorate"]) * floor
    for house in ("compute", "representatives"):
        assert houses[house]["voted"] == "0" and houses[house]["turnout"] == "0"
        assert not houses[house]["meetsTurnoutFloor"] and not houses[house]["inFavour"]
    assert houses["representatives"]["electorate"] == "1"  # eve's seat
    assert live["housesInFavour"] == {"count": 2, "needed": p["governance.min_houses_in_favour"],
                                      "turnoutFloorBps": floor,
                                      "minAyeVoters": p["governance.house_min_aye_voters"],
                                      "minOtherAyeBps": p["governance.house_min_other_aye_bps"],
                                      "otherAyeLeavesOut": 0, "otherAyeRecorded": True, "met": True}
    assert institutions["ayeVoters"] == 1 and institutions["enoughAyeVoters"]  # dave: the dev chain asks for 1
    # the weight bar: with one aye voter asked, none is left out, so the house's whole aye weight counts (the
    # holders' in plain balance, the unit of their electorate), against 0.5% of the electorate on the dev chain
    assert (institutions["otherAye"], institutions["enoughOtherAye"]) == (str(1_050_000 * UNIT), True)
    assert institutions["otherAyeShare"] == institutions["turnout"]
    assert institutions["otherAyeSharePpm"] == institutions["turnoutPpm"]
    assert holders["otherAye"] == holders["voted"] and holders["enoughOtherAye"]  # nobody voted nay
    assert int(holders["otherAye"]) * 10_000 >= int(holders["electorate"]) * p["governance.house_min_other_aye_bps"]
    for house in ("compute", "representatives"):
        assert houses[house]["otherAye"] == "0" and houses[house]["otherAyeSharePpm"] == 0
        assert houses[house]["enoughOtherAye"] is False  # nobody voted: 0 is below any bar above 0
    assert live["verdict"] == "passed" and live["verdictReason"] is None
    assert live["deposit"] == {"backedShare": "1", "backedSharePpm": 1_000_000,
                               "spamThresholdBps": p["governance.spam_threshold_bps"], "spam": False}

    rpc.author_at_time(ref["votingEndsMs"])
    ref = await rpc.call("btt_referendum", 0)
    assert ref["status"] == "passed" and ref["reason"] is None
    bob_before = int((await rpc.call("btt_account", hexid("bob")))["free"])
    rpc.author_at_time(ref["enactAtMs"])
    assert (await rpc.call("btt_referendum", 0))["status"] == "enacted"
    assert int((await rpc.call("btt_account", hexid("bob")))["free"]) - bob_before == GRANT


@pytest.mark.asyncio
async def test_a_referendum_rejected_by_the_houses_rule_says_why(rpc: RpcHarness) -> None:
    """Only token holders vote: the quorum is met and the aye share is 100%, but one house is not two; the live
    tally says so before the close, and the closed referendum keeps the reason."""
    p = await params(rpc)
    await submit_fee(rpc, rpc.alice, "governance.propose", spend_call(), ZERO_HASH, p["governance.min_deposit"], False)
    for name in ("bob", "charlie"):
        await submit_fee(rpc, dev_keypair(name), "governance.vote", 0, True, ALL)
    live = (await rpc.call("btt_referendum", 0))["liveTally"]
    reason = "rejected: 1 house (holders) in favour at or above the turnout floor of 1.00%, 2 needed"
    assert live["ayeShare"] == "1" and live["quorum"]["met"]
    assert live["housesInFavour"]["count"] == 1 and not live["housesInFavour"]["met"]
    assert live["verdict"] == "rejected" and live["verdictReason"] == reason
    rpc.author_at_time(live["at"] + p["governance.voting_period_ms"])
    ref = await rpc.call("btt_referendum", 0)
    assert ref["status"] == "rejected" and ref["reason"] == reason and ref["error"] is None
    assert (await rpc.call("btt_referenda", "rejected"))[0]["reason"] == reason


@pytest.mark.asyncio
async def test_a_cancelled_referendum_and_the_status_filter(rpc: RpcHarness) -> None:
    alice = rpc.alice
    p = await params(rpc)
    deposit = p["governance.min_deposit"]
    reserved = int((await rpc.call("btt_account", "0x" + alice.public.hex()))["reserved"])  # her validator bond
    await submit_fee(rpc, alice, "governance.propose", spend_call(), ZERO_HASH, deposit, False)
    await submit_fee(rpc, alice, "governance.propose", spend_call(), ZERO_HASH, deposit, False)
    await submit_fee(rpc, alice, "governance.cancel", 0)
    assert [r["id"] for r in await rpc.call("btt_referenda")] == [1, 0]
    assert [r["id"] for r in await rpc.call("btt_referenda", "cancelled")] == [0]
    assert [r["id"] for r in await rpc.call("btt_referenda", "voting")] == [1]
    assert await rpc.call("btt_referenda", "enacted") == []
    cancelled = await rpc.call("btt_referendum", 0)
    assert cancelled["status"] == "cancelled" and cancelled["ayeSharePpm"] is None
    assert cancelled["liveTally"] is None and cancelled["frozen"]
    assert cancelled["tallyAtClose"]["verdict"] == "cancelled" and cancelled["tallyAtClose"]["deposit"]["spam"]
    assert (await rpc.call("btt_account", "0x" + alice.public.hex()))["reserved"] == str(reserved + deposit)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "method, params, fragment",
    [
        ("btt_referenda", ["open"], "status: expected one of voting, passed"),
        ("btt_referenda", [3], "status: expected one of"),
        ("btt_referendum", [], "missing parameter 'id'"),
        ("btt_referendum", [-1], "referendum id: expected an integer"),
        ("btt_referendum", ["0"], "referendum id: expected an integer"),
        ("btt_referendum", [True], "referendum id: expected an integer"),
        ("btt_referendum", [2**64], "referendum id: expected an integer"),
        ("btt_voter", [], "missing parameter 'account'"),
        ("btt_voter", ["not-an-address"], "account:"),
        ("btt_voter", ["0x1234"], "expected 32 bytes"),
    ],
)
async def test_governance_methods_reject_bad_params(rpc: RpcHarness, method: str, params: list[Any],
                                                    fragment: str) -> None:
    await rpc.assert_raises_rpc_error(-32602, fragment, method, *params)


@pytest.mark.asyncio
async def test_year_two_weights_and_the_representatives_house(rpc: RpcHarness) -> None:
    """A year after genesis (365 dev days of 2 s) the institutions house weighs 30% x 50/70 = 3/14 and the freed
    weight goes to the others in proportion (25:35:10); eve, the dev chain's community representative, votes
    with one seat and her balance, so only the holders and representatives houses count."""
    eve = dev_keypair("eve")
    rpc.author_at_time(rpc.node.chain.clock.genesis_time_ms + time.year_ms(rpc.node.chain.state()))
    voter = await rpc.call("btt_voter", hexid("eve"))
    assert voter["weights"]["representatives"] == "1" and voter["weights"]["institutions"] == "0"
    p = await params(rpc)
    await submit_fee(rpc, rpc.alice, "governance.propose", spend_call(), ZERO_HASH, p["governance.min_deposit"], False)
    await submit_fee(rpc, eve, "governance.vote", 0, True, ALL)
    houses = (await rpc.call("btt_referendum", 0))["liveTally"]["houses"]
    this_year = {"institutions": Fraction(3, 14), "compute": Fraction(11, 14) * Fraction(25, 70),
                 "holders": Fraction(11, 28), "representatives": Fraction(11, 98)}
    assert {h: houses[h]["weightThisYear"] for h in HOUSES} == {h: share(w) for h, w in this_year.items()}
    counted = this_year["holders"] + this_year["representatives"]
    assert houses["representatives"] | {"aye": "1", "nay": "0", "ayeShare": "1"} == houses["representatives"]
    assert houses["representatives"]["weight"] == share(this_year["representatives"] / counted)
    assert houses["holders"]["weight"] == share(this_year["holders"] / counted)
    assert houses["institutions"]["empty"] and houses["compute"]["weight"] == "0"


async def submit_fee(rpc: RpcHarness, who: Keypair, call: str, *args: Any) -> int:
    """Submit in a block; the fee it paid."""
    return int((await rpc.submit_in_block(who, call, *args))["fee"])


@pytest.mark.asyncio
async def test_btt_account_shows_the_locks_in_force_at_the_head(rpc: RpcHarness) -> None:
    # reported by a new user: after a vote ended, btt_account still showed the vote's lock while a transfer of
    # the "frozen" balance went through; the account view now is what the next transaction is checked against
    alice, bob = dev_keypair("alice"), dev_keypair("bob")
    await rpc.submit_in_block(alice, "governance.propose", spend_call(), blake2b_256(b"x"), 100 * UNIT, False)
    (ref,) = await rpc.call("btt_referenda")
    await rpc.submit_in_block(bob, "governance.vote", ref["id"], True, 5_000 * UNIT)
    during = await rpc.call("btt_account", hexid("bob"))
    assert int(during["frozen"]) >= 5_000 * UNIT
    rpc.author_at_time(ref["votingEndsMs"] + 1)
    after = await rpc.call("btt_account", hexid("bob"))
    voter = await rpc.call("btt_voter", hexid("bob"))
    assert voter["lock"]["locked"] == "0"
    assert after["frozen"] == "0" and int(after["spendable"]) == int(after["free"])
