"""RPC of model weights: an owner puts a blob into their node chunk by chunk (unsafe: loopback callers of a node
with unsafe methods only; every chunk checked, refusals change nothing), registers the model, and anyone reads the
manifest and the chunks back by model hash or weights hash; a blob the node lacks is a clear error that says what
the node does about it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from btt_chain.miner.engine import JobSpec, MinerEngine
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc.errors import INVALID_PARAMS, METHOD_NOT_FOUND, WEIGHTS_NOT_HELD
from runtime.compute.model import WEIGHTS_CHUNK, chunk_hashes, model_hash
from tests.support.models import dense_blob

from .conftest import dev_harness
from .harness import RpcHarness

SPEC, BLOB = dense_blob("three-chunks-v1", (512, 256, 3), seed=5)
"""A model whose blob is three chunks (the last one short)."""
FERDIE = dev_keypair("ferdie")


def hex0x(data: bytes) -> str:
    return "0x" + data.hex()


WEIGHTS = hex0x(SPEC.weights_hash)
HASHES = [hex0x(h) for h in chunk_hashes(BLOB)]


def piece(i: int) -> str:
    return hex0x(BLOB[i * WEIGHTS_CHUNK:(i + 1) * WEIGHTS_CHUNK])


@pytest_asyncio.fixture
async def owner() -> AsyncIterator[RpcHarness]:
    """A dev node serving unsafe methods to loopback callers (a model owner's own node)."""
    async for harness in dev_harness(unsafe=True):
        yield harness


async def put(rpc: RpcHarness, i: int, *extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = await rpc.call("btt_putModelWeights", WEIGHTS, len(BLOB), i, piece(i), *extra)
    return result


async def test_an_owner_puts_a_blob_registers_it_and_anyone_reads_it_back(owner: RpcHarness) -> None:
    missing = await owner.call("btt_weightsStatus", WEIGHTS)
    assert missing == {"weightsHash": WEIGHTS, "state": "missing", "fetching": False, "size": None, "have": 0,
                       "total": None}
    assert (await put(owner, 2, HASHES))["have"] == 1  # any order, every chunk checked against the manifest
    assert (await put(owner, 2))["have"] == 1  # again: harmless
    status = await put(owner, 0)
    assert (status["state"], status["have"], status["total"], status["size"]) == ("partial", 2, 3, len(BLOB))
    tampered = "0x00" + piece(1)[4:]
    await owner.assert_raises_rpc_error(INVALID_PARAMS, "does not match its hash", "btt_putModelWeights", WEIGHTS,
                                        len(BLOB), 1, tampered)
    await owner.assert_raises_rpc_error(INVALID_PARAMS, "another size", "btt_putModelWeights", WEIGHTS,
                                        len(BLOB) + 1, 1, piece(1))
    assert (await owner.call("btt_weightsStatus", WEIGHTS))["have"] == 2  # the refusals changed nothing
    await owner.assert_raises_rpc_error(WEIGHTS_NOT_HELD, "no registered model names them", "btt_modelWeights",
                                        WEIGHTS)
    held = await put(owner, 1)
    assert (held["state"], held["have"], held["total"]) == ("held", 3, 3)
    assert owner.node.content.get_weights(SPEC.weights_hash) == BLOB

    await owner.submit_in_block(FERDIE, "compute.register_model", SPEC)
    model = hex0x(model_hash(SPEC))
    for h in (model, WEIGHTS):
        manifest = await owner.call("btt_modelWeights", h)
        assert manifest == {"weightsHash": WEIGHTS, "size": len(BLOB), "chunks": 3, "chunkHashes": HASHES}
        chunks = [await owner.call("btt_modelWeights", h, i) for i in range(3)]
        assert chunks == [{"weightsHash": WEIGHTS, "index": i, "data": piece(i)} for i in range(3)]
        assert (await owner.call("btt_weightsStatus", h))["state"] == "held"
    await owner.assert_raises_rpc_error(INVALID_PARAMS, "chunks 0 to 2", "btt_modelWeights", model, 3)
    await owner.assert_raises_rpc_error(INVALID_PARAMS, "chunkIndex", "btt_modelWeights", model, 128)
    assert (await owner.call("btt_model", model))["weightsHeld"] is True


async def test_an_upload_without_chunk_hashes_is_checked_as_a_whole(owner: RpcHarness) -> None:
    await put(owner, 0)  # as `btt-chain model register` uploads: weights hash, size, index, data
    await owner.call("btt_putModelWeights", WEIGHTS, len(BLOB), 1, "0x00" + piece(1)[4:])  # cannot be told yet
    await owner.assert_raises_rpc_error(INVALID_PARAMS, "the upload is dropped", "btt_putModelWeights", WEIGHTS,
                                        len(BLOB), 2, piece(2))
    assert (await owner.call("btt_weightsStatus", WEIGHTS))["state"] == "missing"
    for i in (2, 0):
        await put(owner, i)
    await put(owner, 1, HASHES)  # the manifest may come with any chunk: the ones held are checked then
    assert (await owner.call("btt_weightsStatus", WEIGHTS))["state"] == "held"
    assert owner.node.content.get_weights(SPEC.weights_hash) == BLOB


async def test_a_registered_model_whose_blob_is_missing_says_so(owner: RpcHarness) -> None:
    await owner.submit_in_block(FERDIE, "compute.register_model", SPEC)  # registered, but never put here
    model = hex0x(model_hash(SPEC))
    error = await owner.assert_raises_rpc_error(WEIGHTS_NOT_HELD, "no peers to fetch them from", "btt_modelWeights",
                                                model, 0)
    assert error.data is not None and error.data["weightsHash"] == WEIGHTS and error.data["state"] == "missing"
    assert owner.node.model_weights.missing() == [SPEC.weights_hash]
    assert (await owner.call("btt_model", model))["weightsHeld"] is False


async def test_bad_uploads_are_refused(owner: RpcHarness) -> None:
    for args, why in [
        ((WEIGHTS, len(BLOB), 0, hex0x(b"\x00" * (WEIGHTS_CHUNK + 1)), HASHES), "longer than"),
        ((WEIGHTS, 0, 0, piece(0), HASHES), "size"),
        ((WEIGHTS, len(BLOB), 0, piece(0), HASHES[:2]), "has 3 chunks, not 2"),
        ((WEIGHTS, len(BLOB), 0, piece(0), HASHES[::-1]), "does not hash to"),
        ((WEIGHTS, len(BLOB), 0, piece(0), ["0x12"] * 3), "32 bytes"),
        ((WEIGHTS, len(BLOB), -1, piece(0), HASHES), "chunkIndex"),
    ]:
        await owner.assert_raises_rpc_error(INVALID_PARAMS, why, "btt_putModelWeights", *args)
    assert (await owner.call("btt_weightsStatus", WEIGHTS))["state"] == "missing"


async def test_unregistered_uploads_are_unsafe_registered_ones_are_not(rpc: RpcHarness) -> None:
    # a blob no registered model names is taken only from a loopback caller of a node run with unsafe methods
    await rpc.assert_raises_rpc_error(METHOD_NOT_FOUND, "register the model first", "btt_putModelWeights", WEIGHTS,
                                      len(BLOB), 0, piece(0), HASHES)
    assert (await rpc.call("btt_weightsStatus", WEIGHTS))["state"] == "missing"
    assert {"btt_modelWeights", "btt_weightsStatus", "btt_putModelWeights"} <= set(
        (await rpc.call("btt_rpcMethods"))["methods"])
    # once a registered model names it, the node takes it from anyone, checked against the chain's hash
    await rpc.submit_in_block(FERDIE, "compute.register_model", SPEC)
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "weights not kept", "btt_putModelWeights", WEIGHTS, len(BLOB),
                                      0, "0x00" + piece(0)[4:], HASHES)
    # nothing a stranger sends may stall the registered blob, which the node keeps for good: no other size, and no
    # chunk that cannot be checked on arrival
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, f"weights are {len(BLOB)} bytes", "btt_putModelWeights",
                                      WEIGHTS, len(BLOB) + 1, 0, piece(0))
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "send the blob's chunk hashes", "btt_putModelWeights",
                                      WEIGHTS, len(BLOB), 0, "0x00" + piece(0)[4:])
    assert (await rpc.call("btt_weightsStatus", WEIGHTS))["state"] == "missing"
    await rpc.call("btt_putModelWeights", WEIGHTS, len(BLOB), 0, piece(0), HASHES)
    for i in range(1, len(HASHES)):  # the manifest once is enough
        await rpc.call("btt_putModelWeights", WEIGHTS, len(BLOB), i, piece(i))
    assert (await rpc.call("btt_weightsStatus", WEIGHTS))["state"] == "held"


async def test_a_dry_run_that_needs_a_missing_blob_says_so_and_the_node_fetches_it(owner: RpcHarness) -> None:
    alice, seed = owner.alice, b"\x44" * 32
    owner.node.content.put(BLOB)
    await owner.submit_in_block(FERDIE, "compute.register_model", SPEC)
    await owner.submit_in_block(alice, "compute.register_provider", 4, 1, 0)
    await owner.submit_in_block(alice, "compute.serve_model", model_hash(SPEC), True)
    terms = await owner.call("btt_jobTerms", hex0x(model_hash(SPEC)), 16)
    await owner.submit_in_block(FERDIE, "compute.post_job", model_hash(SPEC), ZERO_HASH, seed, 16,
                                int(terms["minPrice"]), 1, 120_000)
    owner.author_block()
    job = await owner.call("btt_job", 0)
    result = MinerEngine().prepare(JobSpec(0, SPEC, seed, bytes.fromhex(job["inputRoot"][2:]), 16))
    await owner.submit_in_block(alice, "compute.commit_result", 0, result.commitment)
    await owner.author_until_sampled(0)
    indices = (await owner.call("btt_job", 0))["assignments"][0]["sampleIndices"]
    reveal = owner.sign(alice, "compute.reveal_result", 0, result.output_root, result.salt, result.openings(indices))

    owner.node.content.drop(SPEC.weights_hash)
    error = await owner.assert_raises_rpc_error(WEIGHTS_NOT_HELD, "cannot dry-run this call yet", "btt_dryRun",
                                                hex0x(reveal.encode()))
    assert error.data == {"weightsHash": WEIGHTS}
    assert owner.node.model_weights.missing() == [SPEC.weights_hash]  # and the node fetches it (it has no peers)
    owner.node.content.put(BLOB)
    dry = await owner.call("btt_dryRun", hex0x(reveal.encode()))
    assert dry["valid"] and dry["success"], dry


async def test_listing_models_reads_no_weights(owner: RpcHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    owner.node.content.put(BLOB)
    await owner.submit_in_block(FERDIE, "compute.register_model", SPEC)

    def no_reading(_h: bytes) -> bytes | None:
        raise AssertionError("a whole blob was read to list the models")

    monkeypatch.setattr(owner.node.content, "get_weights", no_reading)
    rows = {row["name"]: row["weightsHeld"] for row in await owner.call("btt_models")}
    assert rows[SPEC.name] is True and all(rows.values())
