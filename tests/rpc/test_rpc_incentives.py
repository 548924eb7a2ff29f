"""RPC of the patient incentives: btt_oracles (oracles per activity, from the roles module: the dev chain's
genesis oracle, then one a referendum appoints, with each oracle's points this epoch against the cap), btt_points
through an attestation, a redemption request and its settlement at the next epoch boundary, a patient's home
oracle and the oracles that attested it, `btt-chain incentives choose-oracle` against the node (a choice, and each
refusal costing nothing), and bad parameters."""

from __future__ import annotations

import json
from typing import Any

import pytest

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.rpc.methods_incentives import MAX_ATTESTED_BY
from runtime.consensus import logic as consensus
from runtime.incentives import storage as incentives
from runtime.incentives.types import MAX_REQUESTS_PER_EPOCH
from runtime.modules import RUNTIME
from runtime.params import storage as params
from runtime.roles.types import ACTIVITIES
from runtime.system import storage as system
from storage import schema
from tests.support.cli_runner import assert_one_error_line

from .harness import UNIT, RpcHarness
from .test_cli_vote_fee_margin import btt_chain

ALL = 2**128 - 1
EVIDENCE = blake2b_256(b"preventive visit of bob, 2025-03-01")


def addr(rpc: RpcHarness, name: str) -> str:
    return encode_address(dev_keypair(name).public, rpc.node.spec.ss58_prefix)


def hexid(name: str) -> str:
    return "0x" + dev_keypair(name).public.hex()


def param(rpc: RpcHarness, name: str) -> int:
    return params.get_param(rpc.node.chain.state(), name)






async def appoint_oracle(rpc: RpcHarness, activity: str, who: str) -> None:
    """Governance appoints `who` through a referendum: alice proposes, dave (an institution) and alice vote aye."""
    alice, dave = rpc.alice, dev_keypair("dave")
    await submit_fee(rpc, alice, "balances.transfer_allow_death", dave.public, 10 * UNIT)
    call = RUNTIME.call("roles.appoint_oracle", activity, dev_keypair(who).public)
    await submit_fee(rpc, alice, "governance.propose", call, blake2b_256(b"appoint an oracle"),
                 param(rpc, "governance.min_deposit"), False)
    (ref,) = await rpc.call("btt_referenda")
    await submit_fee(rpc, dave, "governance.vote", ref["id"], True, ALL)
    await submit_fee(rpc, alice, "governance.vote", ref["id"], True, ALL)
    rpc.author_at_time(ref["votingEndsMs"])
    ref = await rpc.call("btt_referendum", ref["id"])
    rpc.author_at_time(ref["enactAtMs"])
    ref = await rpc.call("btt_referendum", ref["id"])
    assert ref["status"] == "enacted" and ref["error"] is None, ref


@pytest.mark.asyncio
async def test_points_through_an_attestation_a_request_and_its_settlement(rpc: RpcHarness) -> None:
    bob, eve = dev_keypair("bob"), dev_keypair("eve")
    visit = param(rpc, "incentives.points.preventive_visit")
    rate, cap = param(rpc, "incentives.redeem_rate"), param(rpc, "incentives.redeem_cap_per_epoch")
    global_cap = param(rpc, "incentives.redeem_cap_global_per_epoch")
    pool = module_account("community_incentives")

    oracle_cap = str(param(rpc, "incentives.oracle_points_per_epoch"))
    state = rpc.node.chain.state()
    epoch = consensus.epoch_of(state, system.slot.get(state))
    oracles = await rpc.call("btt_oracles")
    assert oracles == [
        {"activity": a, "points": str(param(rpc, f"incentives.points.{a}")), "oracles": [addr(rpc, "eve")],
         "epoch": epoch, "epochPoints": {addr(rpc, "eve"): "0"}, "oraclePointsPerEpoch": oracle_cap}
        for a in ACTIVITIES
    ]

    assert await rpc.call("btt_points", hexid("bob")) == {
        "account": addr(rpc, "bob"), "points": "0", "value": "0", "rate": str(rate), "epoch": epoch,
        "requested": "0", "requestedAmount": "0", "paidIfSettledNow": "0",
        "capPerEpoch": str(cap), "capLeft": str(cap), "redeemableNow": "0", "homeOracle": None, "homeOracleRows": 0,
        "homeOracleChosen": False, "homeOracleAttested": "0", "homeOracleEpochPoints": "0",
        "oraclePointsPerEpoch": oracle_cap, "attestedBy": [], "attestedByComplete": True,
        "epochRequests": {"epoch": epoch, "requests": 0, "maxRequests": MAX_REQUESTS_PER_EPOCH, "points": "0",
                          "asked": "0", "globalCap": str(global_cap), "budgetIfSettledNow": "0",
                          "oracleGroups": 0, "largestGroupRows": 0},
        "lastPayout": None,
        "poolBalance": str(system.account.get(state, pool).spendable), "attestationCount": 0,
            "attestationCountComplete": True, "attestations": [],
    }

    await submit_fee(rpc, eve, "incentives.attest", bob.public, "preventive_visit", EVIDENCE)
    block = rpc.node.chain.head.number
    report = await rpc.call("btt_points", addr(rpc, "bob"))
    assert (report["points"], report["value"]) == (str(visit), str(visit * rate))
    assert report["redeemableNow"] == str(min(visit, cap // rate))
    assert (report["homeOracle"], report["homeOracleRows"]) == (addr(rpc, "eve"), 0)  # the first attestation's
    assert (report["homeOracleChosen"], report["homeOracleAttested"], report["homeOracleEpochPoints"]) == (
        False, str(visit), str(visit))  # the attestation's block is the head: its epoch is the head's
    assert report["attestedBy"] == [{"oracle": addr(rpc, "eve"), "points": str(visit), "home": True,
                                     "isOracle": True, "epochPoints": str(visit)}]
    assert report["attestedByComplete"] is True
    assert report["attestationCount"] == 1
    assert report["attestations"] == [{
        "evidence": "0x" + EVIDENCE.hex(), "activity": "preventive_visit", "oracle": addr(rpc, "eve"),
        "points": str(visit), "block": block,
    }]

    state = rpc.node.chain.state()
    pool_before, issuance = system.account.get(state, pool).free, system.total_issuance.get(state)
    await submit_fee(rpc, bob, "incentives.redeem", 40)
    state = rpc.node.chain.state()
    epoch = consensus.epoch_of(state, system.slot.get(state))
    assert system.account.get(state, pool).free == pool_before  # nothing is paid before the epoch ends
    report = await rpc.call("btt_points", hexid("bob"))
    assert report["epoch"] == epoch
    assert (report["points"], report["requested"], report["requestedAmount"]) == (
        str(visit - 40), "40", str(40 * rate))
    assert report["paidIfSettledNow"] == "40"  # 0.4 BTT asked fits the global cap and the pool
    assert report["capLeft"] == str(cap - 40 * rate)
    assert report["epochRequests"] == {
        "epoch": epoch, "requests": 1, "maxRequests": MAX_REQUESTS_PER_EPOCH, "points": "40",
        "asked": str(40 * rate), "globalCap": str(global_cap), "budgetIfSettledNow": str(40 * rate),
        "oracleGroups": 1, "largestGroupRows": 1,
    }
    assert report["homeOracleRows"] == 1
    assert report["lastPayout"] is None

    # the first block of the next epoch pays the request
    while consensus.epoch_of(state, system.slot.get(state)) == epoch:
        rpc.author_block()
        state = rpc.node.chain.state()
    assert system.account.get(state, pool).free == pool_before - 40 * rate
    assert system.total_issuance.get(state) == issuance
    report = await rpc.call("btt_points", hexid("bob"))
    assert report["epoch"] == epoch + 1
    assert (report["points"], report["requested"]) == (str(visit - 40), "0")
    assert report["lastPayout"] == {"epoch": epoch, "requested": "40", "paid": "40", "returned": "0",
                                    "amount": str(40 * rate)}
    assert report["capLeft"] == str(cap)
    assert report["poolBalance"] == str(pool_before - 40 * rate)
    assert report["epochRequests"]["requests"] == 0


@pytest.mark.asyncio
async def test_btt_oracles_shows_an_oracle_a_referendum_appointed(rpc: RpcHarness) -> None:
    await appoint_oracle(rpc, "referral", "charlie")
    oracles = {o["activity"]: o["oracles"] for o in await rpc.call("btt_oracles")}
    eve, charlie = addr(rpc, "eve"), addr(rpc, "charlie")
    both = [a for _, a in sorted([(dev_keypair("eve").public, eve), (dev_keypair("charlie").public, charlie)])]
    assert oracles == {"preventive_visit": [eve], "treatment_adherence": [eve], "healthy_lifestyle": [eve],
                       "referral": both}
    await submit_fee(rpc, dev_keypair("charlie"), "incentives.attest", dev_keypair("bob").public, "referral", EVIDENCE)
    report = await rpc.call("btt_points", hexid("bob"))
    assert report["points"] == str(param(rpc, "incentives.points.referral"))
    assert report["attestations"][0]["oracle"] == charlie


def start_next_epoch(rpc: RpcHarness) -> int:
    """Author one block in the first slot of the next epoch; that epoch (the few blocks after it stay in it)."""
    chain, per = rpc.node.chain, rpc.node.spec.consensus.epoch_slots
    epoch = chain.head.slot // per + 1
    rpc.author_at_time(chain.clock.genesis_time_ms + epoch * per * chain.clock.slot_ms)
    assert chain.head.slot // per == epoch
    return epoch


async def account(rpc: RpcHarness, name: str) -> tuple[str, int]:
    """(free balance, nonce) of a dev account: what a refused command must leave as it was."""
    a = await rpc.call("btt_account", addr(rpc, name))
    return a["free"], a["nonce"]


@pytest.mark.asyncio
async def test_a_patient_chooses_its_home_oracle_from_the_cli_and_a_refusal_costs_nothing(
        rpc: RpcHarness, capsys: pytest.CaptureFixture[str]) -> None:
    await appoint_oracle(rpc, "referral", "charlie")
    bob, dave, eve, charlie = (dev_keypair(n) for n in ("bob", "dave", "eve", "charlie"))
    visit, referral = param(rpc, "incentives.points.preventive_visit"), param(rpc, "incentives.points.referral")
    lifestyle = param(rpc, "incentives.points.healthy_lifestyle")
    cap = param(rpc, "incentives.oracle_points_per_epoch")
    assert visit > referral
    epoch = start_next_epoch(rpc)  # the attestations below fall in one epoch: the tallies shown are theirs
    await submit_fee(rpc, eve, "incentives.attest", bob.public, "preventive_visit", EVIDENCE)
    await submit_fee(rpc, charlie, "incentives.attest", bob.public, "referral", blake2b_256(b"referral of bob"))
    await submit_fee(rpc, eve, "incentives.attest", dave.public, "healthy_lifestyle", blake2b_256(b"dave walks"))
    await submit_fee(rpc, bob, "incentives.redeem", 10)  # filed in eve's group, where it stays
    E, C = addr(rpc, "eve"), addr(rpc, "charlie")

    report = await rpc.call("btt_points", addr(rpc, "bob"))
    assert report["epoch"] == epoch
    assert (report["homeOracle"], report["homeOracleChosen"], report["homeOracleAttested"]) == (E, False, str(visit))
    assert report["homeOracleEpochPoints"] == str(visit + lifestyle) and report["oraclePointsPerEpoch"] == str(cap)
    assert report["homeOracleRows"] == 1
    assert report["attestedBy"] == [  # most points first
        {"oracle": E, "points": str(visit), "home": True, "isOracle": True, "epochPoints": str(visit + lifestyle)},
        {"oracle": C, "points": str(referral), "home": False, "isOracle": True, "epochPoints": str(referral)},
    ]
    referral_oracles = next(o for o in await rpc.call("btt_oracles") if o["activity"] == "referral")
    assert referral_oracles["epoch"] == epoch and referral_oracles["oraclePointsPerEpoch"] == str(cap)
    assert referral_oracles["epochPoints"] == {E: str(visit + lifestyle), C: str(referral)}

    code, out, err = await btt_chain(rpc, capsys, "query", "points", "bob")
    assert code == 0, err
    assert (f"{E} (attested you the most: {visit} points); its patients hold 1 rows of this epoch's table; it "
            f"attested {visit + lifestyle} of {cap} points this epoch") in out
    assert f"  {E}: {visit} points, home; attested {visit + lifestyle} of {cap} points this epoch" in out
    assert f"  {C}: {referral} points; attested {referral} of {cap} points this epoch" in out

    # each refusal is one line saying why and what may be chosen, before any fee: nothing is sent or charged
    choices = f"you may choose among the oracles that attested you: {E} ({visit} points, your home now), " \
              f"{C} ({referral} points) (nothing was sent or charged)"
    for who, oracle, why in (
        ("ferdie", "eve", f"no oracle has attested {addr(rpc, 'ferdie')}: only a patient, an account an oracle "
                          "attested, has a home oracle to choose"),
        ("bob", "dave", f"{addr(rpc, 'dave')} is not a health oracle of any activity now; {choices}"),
        ("dave", "charlie", f"oracle {C} has not attested {addr(rpc, 'dave')}; you may choose among the oracles that "
                            f"attested you: {E} ({lifestyle} points, your home now)"),
    ):
        before = await account(rpc, who)
        with rpc.unchanged():
            code, out, err = await btt_chain(rpc, capsys, "incentives", "choose-oracle", "--oracle", oracle,
                                             "--from", who)
        assert_one_error_line(code, err, f"error: not sent: {why}")
        assert "nothing was sent or charged" in err and out == ""
        assert await account(rpc, who) == before
    assert (await rpc.call("btt_points", addr(rpc, "bob")))["homeOracleChosen"] is False

    # bob chooses charlie, who attested him less: his home from now on; the request he filed stays in eve's group
    code, out, err = await btt_chain(rpc, capsys, "incentives", "choose-oracle", "--oracle", "charlie", "--from", "bob")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (f"your home oracle is {C} (was {E}), by your choice: no attestation moves it (you may choose "
                        "again); your next new redemption request joins its group")
    assert lines[1] == f"your request of epoch {epoch} (10 points) stays in the group it was filed in"
    report = await rpc.call("btt_points", addr(rpc, "bob"))
    assert (report["homeOracle"], report["homeOracleChosen"], report["homeOracleAttested"]) == (C, True, str(referral))
    assert report["homeOracleRows"] == 0 and report["epochRequests"]["oracleGroups"] == 1  # the row is eve's still
    assert [(o["oracle"], o["home"]) for o in report["attestedBy"]] == [(E, False), (C, True)]
    code, out, err = await btt_chain(rpc, capsys, "query", "points", "bob")
    assert code == 0 and f"{C} (your choice, attested you {referral} points); its patients hold 0 rows" in out, err
    assert f"  {C}: {referral} points, home; attested" in out

    # eve outbids the chosen home: it does not move
    await submit_fee(rpc, eve, "incentives.attest", bob.public, "treatment_adherence", blake2b_256(b"bob's pills"))
    report = await rpc.call("btt_points", addr(rpc, "bob"))
    assert (report["homeOracle"], report["homeOracleChosen"]) == (C, True)
    assert report["attestedBy"][0]["points"] == str(visit + param(rpc, "incentives.points.treatment_adherence"))

    # and he may choose again (--json: the choice, and the inclusion)
    code, out, err = await btt_chain(rpc, capsys, "incentives", "choose-oracle", "--oracle", E, "--from", "bob",
                                     "--json")
    assert code == 0, err
    sent = json.loads(out)
    assert (sent["oracle"], sent["previous"], sent["success"]) == (E, C, True)
    assert (await rpc.call("btt_points", addr(rpc, "bob")))["homeOracle"] == E


@pytest.mark.asyncio
async def test_btt_points_lists_a_bounded_number_of_attesting_oracles_and_says_so(rpc: RpcHarness) -> None:
    """A patient attested by more oracles than `attestedBy` lists (written straight into the state: governance
    would take a referendum each): the list stops at its bound and says so, and the home is shown in full apart,
    though it sorts after every listed oracle."""
    bob = dev_keypair("bob").public
    oracles = [bytes([0x10]) + i.to_bytes(31, "big") for i in range(MAX_ATTESTED_BY + 20)]
    home = b"\xff" * 32
    writes = {incentives.attested.prefix + bob + o: incentives.attested.codec.encode(1 + i % 7)
              for i, o in enumerate(oracles)}
    writes[incentives.attested.prefix + bob + home] = incentives.attested.codec.encode(500)
    writes[incentives.home_oracle.prefix + bob] = incentives.home_oracle.codec.encode(home)
    db = rpc.node.chain.db
    db.kv.write({schema.state_key(k): v for k, v in writes.items()})
    db.state.forget()

    report = await rpc.call("btt_points", addr(rpc, "bob"))
    listed = report["attestedBy"]
    assert len(listed) == MAX_ATTESTED_BY and report["attestedByComplete"] is False
    prefix = rpc.node.spec.ss58_prefix
    assert {o["oracle"] for o in listed} == {encode_address(o, prefix) for o in oracles[:MAX_ATTESTED_BY]}
    assert [int(o["points"]) for o in listed] == sorted((int(o["points"]) for o in listed), reverse=True)
    assert not any(o["home"] or o["isOracle"] for o in listed)  # none is appointed: none may be chosen
    assert (report["homeOracle"], report["homeOracleAttested"]) == (encode_address(home, prefix), "500")


@pytest.mark.asyncio
async def test_btt_points_rejects_a_bad_account(rpc: RpcHarness) -> None:
    await rpc.assert_raises_rpc_error(-32602, "account", "btt_points", "not-an-address")
    await rpc.assert_raises_rpc_error(-32602, "account", "btt_points", "0x1234")
    await rpc.assert_raises_rpc_error(-32602, "account", "btt_points", 7)


async def submit_fee(rpc: RpcHarness, who: Keypair, call: str, *args: Any) -> int:
    """Submit in a block; the fee it paid."""
    return int((await rpc.submit_in_block(who, call, *args))["fee"])
