"""RPC of the patient incentives: btt_oracles (oracles per activity, from the roles module: the dev chain's
genesis oracle, then one a referendum appoints), btt_points through an attestation, a redemption request and its
settlement at the next epoch boundary, and bad parameters."""

from __future__ import annotations

from typing import Any

import pytest

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair, dev_keypair
from runtime.consensus import logic as consensus
from runtime.incentives.types import MAX_REQUESTS_PER_EPOCH
from runtime.modules import RUNTIME
from runtime.params import storage as params
from runtime.roles.types import ACTIVITIES
from runtime.system import storage as system

from .harness import UNIT, RpcHarness

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

    oracles = await rpc.call("btt_oracles")
    assert oracles == [
        {"activity": a, "points": str(param(rpc, f"incentives.points.{a}")), "oracles": [addr(rpc, "eve")]}
        for a in ACTIVITIES
    ]

    state = rpc.node.chain.state()
    epoch = consensus.epoch_of(state, system.slot.get(state))
    assert await rpc.call("btt_points", hexid("bob")) == {
        "account": addr(rpc, "bob"), "points": "0", "value": "0", "rate": str(rate), "epoch": epoch,
        "requested": "0", "requestedAmount": "0", "paidIfSettledNow": "0",
        "capPerEpoch": str(cap), "capLeft": str(cap), "redeemableNow": "0", "homeOracle": None, "homeOracleRows": 0,
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


@pytest.mark.asyncio
async def test_btt_points_rejects_a_bad_account(rpc: RpcHarness) -> None:
    await rpc.assert_raises_rpc_error(-32602, "account", "btt_points", "not-an-address")
    await rpc.assert_raises_rpc_error(-32602, "account", "btt_points", "0x1234")
    await rpc.assert_raises_rpc_error(-32602, "account", "btt_points", 7)


async def submit_fee(rpc: RpcHarness, who: Keypair, call: str, *args: Any) -> int:
    """Submit in a block; the fee it paid."""
    return int((await rpc.submit_in_block(who, call, *args))["fee"])
