"""RPC of job outputs: btt_submitOutputs keeps only a revealed result (junk is refused with -32602 and
nothing is kept), btt_jobOutputs serves it (from the node, or from the chain once posted), btt_jobOutput
serves one item with Merkle paths that verify: the arguments of a challenge."""

from __future__ import annotations

from typing import Any

import pytest

from btt_chain.miner.clinic import input_chunk_args
from btt_chain.miner.engine import JobSpec, MinerEngine, PreparedResult, output_chunks
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hashing import ZERO_HASH, merkle_root
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.merkle import verify_merkle_proof
from runtime.compute.model import model_hash
from runtime.compute.reference import reference_spec
from runtime.compute.types import MAX_JOB_ITEMS

from .harness import UNIT, RpcHarness

MODEL = "breast-cancer-v1"
SEED = b"\x5a" * 32
ITEMS = 16
BAD_PARAMS = -32602


def hexes(items: Any) -> list[str]:
    return ["0x" + x.hex() for x in items]


async def revealed_job(rpc: RpcHarness) -> PreparedResult:
    """Ferdie's job, computed and revealed by alice: her assignment is verified."""
    alice, ferdie = rpc.alice, dev_keypair("ferdie")
    await rpc.submit_in_block(alice, "compute.register_provider", 4, 0, 2)
    await rpc.submit_in_block(ferdie, "compute.post_job", model_hash(reference_spec(MODEL)), ZERO_HASH, SEED, ITEMS,
                              UNIT, 1, 120_000)
    rpc.author_block()
    job = await rpc.call("btt_job", 0)
    result = MinerEngine().prepare(JobSpec(0, reference_spec(MODEL), SEED, bytes.fromhex(job["inputRoot"][2:]),
                                           ITEMS))
    await rpc.submit_in_block(alice, "compute.commit_result", 0, result.commitment)
    await rpc.author_until_sampled(0)
    (a,) = (await rpc.call("btt_job", 0))["assignments"]
    await rpc.submit_in_block(alice, "compute.reveal_result", 0, result.output_root, result.salt,
                              result.openings(a["sampleIndices"]))
    assert (await rpc.call("btt_job", 0))["assignments"][0]["state"] == "verified"
    return result


@pytest.mark.asyncio
async def test_outputs_are_kept_only_if_they_are_the_revealed_result(rpc: RpcHarness) -> None:
    alice = "0x" + rpc.alice.public.hex()
    result = await revealed_job(rpc)
    good = hexes(result.outputs)
    assert await rpc.call("btt_jobOutputs", 0, alice) is None
    assert await rpc.call("btt_jobOutput", 0, alice, 3) is None
    flipped = ["0x" + bytes([result.outputs[0][0] ^ 1]).hex() + good[0][4:], *good[1:]]
    for params, fragment in [
        ((0, alice, flipped), "Merkle root is not the output root"),
        ((0, alice, good[:-1]), "has 16 output items, got 15"),
        ((0, alice, [*good[:-1], good[-1] + "00"]), "output 15 is 4 bytes"),
        ((0, "0x" + dev_keypair("bob").public.hex(), good), "holds no assignment of job 0"),
        ((7, alice, good), "no job 7"),
        ((0, alice, []), "non-empty list"),
        ((0, alice, "0x00"), "non-empty list"),
        ((0, alice, ["0x00"] * (MAX_JOB_ITEMS + 1)), "at most 4096 items"),
        ((0, alice, ["0xzz"] * ITEMS), "output 0"),
        ((-1, alice, good), "job id"),
        ((0, "nobody", good), "account"),
    ]:
        await rpc.assert_raises_rpc_error(BAD_PARAMS, fragment, "btt_submitOutputs", *params)
        assert rpc.node.outputs.store.entries == 0
    kept = await rpc.call("btt_submitOutputs", 0, alice, good)
    head = {"jobId": 0, "provider": encode_address(rpc.alice.public, rpc.node.spec.ss58_prefix),
            "outputRoot": "0x" + result.output_root.hex(), "items": ITEMS, "source": "node"}
    assert kept == head
    assert await rpc.call("btt_jobOutputs", 0, alice) == {**head, "outputs": good}
    # the same set again is harmless; an address works as well as hex
    assert await rpc.call("btt_submitOutputs", 0, head["provider"], good) == head


@pytest.mark.asyncio
async def test_one_item_comes_with_paths_that_verify(rpc: RpcHarness) -> None:
    alice = "0x" + rpc.alice.public.hex()
    result = await revealed_job(rpc)
    await rpc.call("btt_submitOutputs", 0, alice, hexes(result.outputs))
    for i in (0, 9, ITEMS - 1):
        item = await rpc.call("btt_jobOutput", 0, alice, i)
        assert item["index"] == i and item["output"] == "0x" + result.outputs[i].hex()
        assert item["input"] == "0x" + result.inputs[i].hex() and item["inputRoot"] == "0x" + result.input_root.hex()
        out_proof = [bytes.fromhex(h[2:]) for h in item["outputProof"]]
        in_proof = [bytes.fromhex(h[2:]) for h in item["inputProof"]]
        assert verify_merkle_proof(result.output_root, result.outputs[i], i, ITEMS, out_proof)
        assert verify_merkle_proof(result.input_root, result.inputs[i], i, ITEMS, in_proof)
    await rpc.assert_raises_rpc_error(BAD_PARAMS, "has items 0 to 15, not 16", "btt_jobOutput", 0, alice, ITEMS)
    await rpc.assert_raises_rpc_error(BAD_PARAMS, "index", "btt_jobOutput", 0, alice, -1)
    await rpc.assert_raises_rpc_error(BAD_PARAMS, "index", "btt_jobOutput", 0, alice, True)


@pytest.mark.asyncio
async def test_outputs_posted_on_chain_are_served(rpc: RpcHarness) -> None:
    alice = "0x" + rpc.alice.public.hex()
    result = await revealed_job(rpc)
    await rpc.submit_in_block(dev_keypair("ferdie"), "compute.demand_outputs", 0, rpc.alice.public)
    ((first, items, proof),) = output_chunks(result, reference_spec(MODEL))  # 16 items: one chunk
    await rpc.submit_in_block(rpc.alice, "compute.post_outputs", 0, first, items, proof)
    posted = await rpc.call("btt_jobOutputs", 0, alice)
    assert posted["source"] == "chain" and posted["outputs"] == hexes(result.outputs)
    item = await rpc.call("btt_jobOutput", 0, alice, 2)
    assert item["source"] == "chain" and item["output"] == "0x" + result.outputs[2].hex()
    # kept by the node too: the node's copy is served first
    await rpc.call("btt_submitOutputs", 0, alice, hexes(result.outputs))
    assert (await rpc.call("btt_jobOutputs", 0, alice))["source"] == "node"


@pytest.mark.asyncio
async def test_a_requesters_cases_are_kept_only_if_they_give_its_root_and_are_served_a_page_at_a_time(
    rpc: RpcHarness,
) -> None:
    ferdie, items = dev_keypair("ferdie"), 1024
    cases = [i.to_bytes(2, "big") * 15 for i in range(items)]  # 30-byte items: the model's 30 features
    root = merkle_root(cases)
    terms = await rpc.call("btt_jobTerms", "0x" + model_hash(reference_spec(MODEL)).hex(), items)
    await rpc.submit_in_block(ferdie, "compute.post_job", model_hash(reference_spec(MODEL)), root, ZERO_HASH, items,
                              int(terms["minPrice"]), 1, 600_000)
    assert await rpc.call("btt_jobInputs", 0) is None  # not handed over yet
    for bad, why in ((cases[:-1], "has 1024 input items, got 1023"), (cases[:-1] + [b"\x00" * 29], "input 1023 is 29"),
                     (list(reversed(cases)), "Merkle root is not job 0's input root")):
        await rpc.assert_raises_rpc_error(BAD_PARAMS, why, "btt_submitJobInputs", 0, hexes(bad))
    assert await rpc.call("btt_jobInputs", 0) is None  # every refusal kept nothing
    kept = await rpc.call("btt_submitJobInputs", 0, hexes(cases))
    assert kept == {"jobId": 0, "inputRoot": "0x" + root.hex(), "items": items}
    page = await rpc.call("btt_jobInputs", 0)
    assert page["inputs"] == hexes(cases) and page["next"] is None and page["first"] == 0
    tail = await rpc.call("btt_jobInputs", 0, 1000)
    assert tail["inputs"] == hexes(cases[1000:]) and tail["next"] is None
    await rpc.assert_raises_rpc_error(BAD_PARAMS, "first: expected an item index", "btt_jobInputs", 0, MAX_JOB_ITEMS)


@pytest.mark.asyncio
async def test_a_requesters_cases_posted_on_chain_are_served_with_none_handed_to_the_node(rpc: RpcHarness) -> None:
    # spec 17: the requester posts its job's inputs on chain (`compute.post_inputs`); every node serves them from
    # there, a page at a time, once all are there, and `btt_job` counts them (`inputsPosted`)
    ferdie, items = dev_keypair("ferdie"), 1024
    spec = reference_spec(MODEL)
    cases = [i.to_bytes(2, "big") * 15 for i in range(items)]
    terms = await rpc.call("btt_jobTerms", "0x" + model_hash(spec).hex(), items)
    await rpc.submit_in_block(ferdie, "compute.post_job", model_hash(spec), merkle_root(cases), ZERO_HASH, items,
                              int(terms["minPrice"]), 1, 600_000)
    job = await rpc.call("btt_job", 0)
    assert job["inputsPosted"] == 0 and job["assignments"] == []
    assert await rpc.call("btt_jobInputs", 0) is None
    ((_, first, chunk, proof),) = input_chunk_args(0, cases, spec)  # 1,024 items of 30 bytes: one chunk
    # a chunk whose proof does not lead to the input root is refused on chain: nothing changes
    bad = await rpc.call("btt_dryRun", "0x" + rpc.sign(ferdie, "compute.post_inputs", 0, first, chunk[::-1],
                                                       proof).encode().hex())
    assert not bad["success"] and "range proof" in bad["error"]
    assert await rpc.call("btt_job", 0) == job and await rpc.call("btt_jobInputs", 0) is None
    await rpc.submit_in_block(ferdie, "compute.post_inputs", 0, first, chunk, proof)
    assert (await rpc.call("btt_job", 0))["inputsPosted"] == items
    page = await rpc.call("btt_jobInputs", 0)
    assert page == {"jobId": 0, "inputRoot": "0x" + merkle_root(cases).hex(), "items": items, "first": 0,
                    "sealed": False, "inputs": hexes(cases), "next": None}
    assert (await rpc.call("btt_jobInputs", 0, 1000))["inputs"] == hexes(cases[1000:])
    assert rpc.node.outputs.store.entries == 0  # served from the chain, kept nowhere else
    # a synthetic job owes nothing on chain: null
    await rpc.submit_in_block(ferdie, "compute.post_job", model_hash(spec), ZERO_HASH, SEED, ITEMS, UNIT, 1, 120_000)
    assert (await rpc.call("btt_job", 1))["inputsPosted"] is None
