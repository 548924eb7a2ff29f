"""RPC of the compute marketplace: btt_models, btt_jobs / btt_job through a whole job (post, assignment,
commit, sample, reveal, receipt), btt_providers, btt_powerTable and btt_miningSchedule."""

from __future__ import annotations

from typing import Any

import pytest

from btt_chain.miner.engine import JobSpec, MinerEngine
from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.keys import dev_keypair
from runtime.compute.model import ModelSpec, model_hash
from runtime.compute.model_json import spec_to_json
from runtime.compute.reference import reference_spec

from .harness import UNIT, RpcCallError, RpcHarness

MODEL = "breast-cancer-v1"
SEED = bytes(range(1, 33))
# a price whose split leaves rounding dust, so the dust rule shows
PRICE = 10 * UNIT + 7


def hexid(name: str) -> str:
    return "0x" + dev_keypair(name).public.hex()


def addr(rpc: RpcHarness, name: str) -> str:
    return encode_address(dev_keypair(name).public, rpc.node.spec.ss58_prefix)


def expected_split(payment: int) -> dict[str, str]:
    burned = payment * 200 // 10_000
    rest = payment - burned
    provider, development, foundation = rest * 7000 // 10_000, rest * 1500 // 10_000, rest * 1000 // 10_000
    return {
        "burned": str(burned), "provider": str(provider), "developmentFund": str(development),
        "foundation": str(foundation), "operationalReserve": str(rest - provider - development - foundation),
    }




@pytest.mark.asyncio
async def test_btt_models_lists_the_reference_models(rpc: RpcHarness) -> None:
    rows = await rpc.call("btt_models")
    assert sorted(r["name"] for r in rows) == ["breast-cancer-v1", "digits-conv-v1"]
    m = next(r for r in rows if r["name"] == MODEL)
    spec = reference_spec(MODEL)
    assert m == {
        "hash": "0x" + model_hash(spec).hex(), "name": MODEL, "spec": spec_to_json(spec),
        "labels": ["malignant", "benign"], "weightsHash": "0x" + spec.weights_hash.hex(),
        "weightsSize": spec.weights_size, "weightsHeld": True, "macsPerItem": 30 * 16 + 16 + 16 * 2,
        "inputBytes": 30, "outputBytes": 3, "owner": None, "deposit": "0",
    }
    one = await rpc.call("btt_model", m["hash"])
    meta = one.pop("metadata")
    assert one == m and "heldOut" not in meta
    assert meta["accuracy"]["heldOutCases"] == len(meta_cases(spec)) and 0.9 < meta["accuracy"]["int8"] <= 1
    with pytest.raises(RpcCallError, match="no model 0x00"):
        await rpc.call("btt_model", "0x" + "00" * 32)


def meta_cases(spec: ModelSpec) -> list[int]:
    from runtime.compute.reference import reference_model

    return list(reference_model(spec.name).metadata["heldOut"]["labels"])


@pytest.mark.asyncio
async def test_a_job_through_the_rpc_from_post_to_receipt(rpc: RpcHarness) -> None:
    alice, ferdie = rpc.alice, dev_keypair("ferdie")
    mh = model_hash(reference_spec(MODEL))
    assert await rpc.call("btt_jobs") == []

    await rpc.submit_in_block(ferdie, "compute.post_job", mh, ZERO_HASH, SEED, 16, PRICE, 1, 120_000)
    (job,) = await rpc.call("btt_jobs")
    assert (job["id"], job["status"], job["items"], job["price"], job["redundancy"]) == (0, "open", 16, str(PRICE), 1)
    assert job["requester"] == addr(rpc, "ferdie") and job["modelName"] == MODEL
    assert job["inputSeed"] == "0x" + SEED.hex() and job["assignments"] == [] and job["unassigned"] == 1
    assert job["split"] == expected_split(PRICE)
    assert job["reason"].startswith("open: 1 of 1 places wait for a provider;")  # runtime.compute.reasons
    assert await rpc.call("btt_job", 0) == job

    # no provider yet: the job waits in the queue; alice (10,000 BTT bonded as validator) registers
    await rpc.submit_in_block(alice, "compute.register_provider", 4, 1, 0)
    rpc.author_block()
    job = await rpc.call("btt_job", 0)
    (a,) = job["assignments"]
    assert (a["provider"], a["state"], a["portion"]) == (addr(rpc, "alice"), "assigned", str(PRICE))
    assert a["commitment"] is None and a["sampleIndices"] == [] and a["split"] == expected_split(PRICE)

    engine = MinerEngine()
    result = engine.prepare(JobSpec(0, reference_spec(MODEL), SEED, bytes.fromhex(job["inputRoot"][2:]), 16))
    await rpc.submit_in_block(alice, "compute.commit_result", 0, result.commitment)
    (a,) = (await rpc.call("btt_job", 0))["assignments"]
    assert a["state"] == "committed" and a["commitment"] == "0x" + result.commitment.hex()
    assert a["sampleIndices"] == [] and a["sampleWaitsForAuthors"] == 1  # one validator: its first block from...
    assert a["sampleFromSlot"] % 20 == 0 and a["sampleFromSlot"] > a["commitBySlot"] + 20  # ...two epochs on
    while rpc.node.chain.head.slot + 1 < a["sampleFromSlot"]:
        rpc.author_block()
        assert (await rpc.call("btt_job", 0))["assignments"][0]["sampleIndices"] == []
    rpc.author_block()
    (a,) = (await rpc.call("btt_job", 0))["assignments"]
    assert len(a["sampleIndices"]) == 8 and a["sampleSeed"] is not None

    await rpc.submit_in_block(alice, "compute.reveal_result", 0, result.output_root, result.salt,
                 result.openings(a["sampleIndices"]))
    job = await rpc.call("btt_job", 0)
    (a,) = job["assignments"]
    assert job["status"] == "done" and a["state"] == "verified" and a["outputRoot"] == "0x" + result.output_root.hex()
    assert a["maturesMs"] is not None and a["outputsDueMs"] is None and a["outputsPosted"] is False
    assert [e for e in await rpc.call("btt_events") if e["event"] == "JobReceipt"] == []
    while (await rpc.call("btt_job", 0))["assignments"][0]["state"] == "verified":
        rpc.author_block()  # the challenge window closes: paid
    job = await rpc.call("btt_job", 0)
    (a,) = job["assignments"]
    assert a["state"] == "settled" and a["reason"].startswith("settled: its challenge window closed with no fault")
    assert job["reason"].startswith("done: every place ended before its deadline (1 of 1 places paid for verified")
    assert [j["reason"] for j in await rpc.call("btt_jobs")] == [job["reason"]]
    (receipt,) = [e for e in await rpc.call("btt_events") if e["event"] == "JobReceipt"]
    assert receipt["burned"] == a["split"]["burned"] and receipt["provider_paid"] == a["split"]["provider"]

    # filters
    assert [j["id"] for j in await rpc.call("btt_jobs", "done")] == [0]
    assert await rpc.call("btt_jobs", "open") == []
    assert [j["id"] for j in await rpc.call("btt_jobs", None, hexid("ferdie"))] == [0]
    assert await rpc.call("btt_jobs", None, hexid("bob")) == []
    assert [j["id"] for j in await rpc.call("btt_jobs", None, None, hexid("alice"))] == [0]
    assert await rpc.call("btt_job", 99) is None

    # providers: stats, classes and the credit waiting out its challenge window
    (p,) = await rpc.call("btt_providers")
    assert p["account"] == addr(rpc, "alice") and p["region"] == "underserved" and p["energy"] == "A"
    assert p["stats"] == {"assigned": 1, "completed": 1, "failed": 0, "frauds": 0}
    assert p["onTimeBps"] == 10_000 and p["onTimeRatio"] == "1"
    assert p["credit"]["pending"] == receipt["credit"] and p["credit"]["recent"] == "0"
    assert int(p["bond"]) == 10_000 * UNIT
    assert await rpc.call("btt_providers", hexid("bob")) == []


@pytest.mark.asyncio
async def test_btt_jobs_lists_newest_first_up_to_the_limit(rpc: RpcHarness) -> None:
    mh = model_hash(reference_spec(MODEL))
    bob = dev_keypair("bob")
    for i in range(3):
        xt = rpc.sign(bob, "compute.post_job", mh, ZERO_HASH, bytes([i + 1]) * 32, 4, UNIT, 1, 120_000,
                      nonce=rpc.node.next_account_index(bob.public))
        await rpc.call("author_submitExtrinsic", "0x" + xt.encode().hex())
    rpc.author_block()
    assert [j["id"] for j in await rpc.call("btt_jobs")] == [2, 1, 0]
    assert [j["id"] for j in await rpc.call("btt_jobs", "open", None, None, 2)] == [2, 1]
    assert [j["id"] for j in await rpc.call("btt_jobs", None, hexid("bob"), None, 1)] == [2]


@pytest.mark.asyncio
async def test_btt_power_table_and_mining_schedule_at_genesis(rpc: RpcHarness) -> None:
    table = await rpc.call("btt_powerTable")
    assert table["epoch"] == 0 and table["epochSlots"] == 20 and table["scale"] == str(10**18)
    (row,) = table["current"]["validators"]
    assert row["account"] == addr(rpc, "alice") and row["sessionKey"] == hexid("alice")
    assert (row["stakeShare"], row["workShare"], row["leaderShare"]) == ("1", "0", "1")
    assert row["weight"] == str(10**18 // 2) and row["credit"] == "0"
    assert table["following"]["epoch"] == 1
    assert len(table["nextLeaders"]) == 8
    assert {x["account"] for x in table["nextLeaders"]} == {addr(rpc, "alice")}
    assert table["nextLeaders"][0]["slot"] == rpc.node.chain.head.slot + 1

    m = await rpc.call("btt_miningSchedule")
    assert [int(r["amount"]) for r in m["periods"]] == [x * UNIT for x in (2_520_000, 1_890_000, 1_260_000, 630_000)]
    assert int(m["totalEmission"]) == 6_300_000 * UNIT
    assert m["periods"][0]["firstEpoch"] == 0 and m["periods"][1]["firstEpoch"] == m["periods"][0]["lastEpoch"] + 1
    assert (m["currentEpoch"], m["currentPeriod"], m["paid"], m["heldBack"], m["emitted"]) == (0, 1, "0", "0", "0")
    pool = await rpc.call("btt_account", "0x" + module_account("mining_pool").hex())
    assert m["poolBalance"] == pool["free"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "params", "fragment"),
    [
        ("btt_jobs", ["finished"], "status: expected one of open, done, expired, cancelled"),
        ("btt_jobs", [None, "nobody"], "account"),
        ("btt_jobs", [None, None, None, 0], "limit: expected an integer from 1 to 50"),
        ("btt_jobs", [None, None, None, 51], "limit"),
        ("btt_jobs", [None, None, None, True], "limit"),
        ("btt_job", [], "missing parameter 'id'"),
        ("btt_job", ["0"], "job id: expected an integer"),
        ("btt_job", [-1], "job id"),
        ("btt_job", [2**64], "job id"),
        ("btt_providers", ["0x12"], "account"),
    ],
)
async def test_compute_methods_reject_bad_params(rpc: RpcHarness, method: str, params: list[Any],
                                                 fragment: str) -> None:
    await rpc.assert_raises_rpc_error(-32602, fragment, method, *params)
