"""p2p_model_weights: a model owner brings a trained model to a two-node devnet. `btt-chain model register` puts the
weights (three 64 KiB chunks) into node A (its own node, unsafe RPC methods on loopback) and registers the model with
the owner's deposit; node B, which never had the blob, sees the registration, fetches the blob by hash from A over
`weights/get`, holds it (`btt_weightsStatus`) and serves byte for byte the same manifest and chunks
(`btt_modelWeights`). Waits on events, never on fixed sleeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from btt_chain.models.files import write_model
from runtime.compute.model import chunk_hashes, model_hash
from tests.functional.framework import Harness, assert_raises_rpc_error, wait_until
from tests.support.cli_runner import run
from tests.support.models import dense_blob

SPEC, BLOB = dense_blob("three-chunks-v1", (512, 256, 3), seed=11)
WEIGHTS_NOT_HELD = -32010


def hex0x(data: bytes) -> str:
    return "0x" + data.hex()


def test_a_registered_model_reaches_a_node_that_never_had_its_weights(
    harness: Harness, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (a,) = harness.add_devnet(1)
    a.extra_args = ["--rpc-methods", "unsafe"]
    b = harness.add_node(chain=str(harness.spec_path), validator_key=None, bootnodes=[a.multiaddr])
    harness.start_all([a, b])
    wait_until(lambda: a.peers() >= 1 and b.peers() >= 1, 60, what="A and B connected")
    weights = hex0x(SPEC.weights_hash)
    assert len(chunk_hashes(BLOB)) == 3
    assert b.call("btt_weightsStatus", weights)["state"] == "missing"
    assert_raises_rpc_error(WEIGHTS_NOT_HELD, "no registered model names them", b.call, "btt_modelWeights", weights)

    harness.log("the owner uploads the weights to A and registers the model")
    spec_path, _ = write_model(tmp_path / "models", SPEC, BLOB)
    code, out, err = run(capsys, "model", "register", str(spec_path), "--key", "ferdie", "--rpc",
                         f"http://127.0.0.1:{a.rpc_port}")
    assert code == 0, err
    model = hex0x(model_hash(SPEC))
    assert model in out
    assert a.call("btt_weightsStatus", model)["state"] == "held"

    harness.log("B sees the registration and fetches the blob from A")
    wait_until(lambda: b.call("btt_model", model) is not None, 60, what="the registration on B")
    status = wait_until(lambda: (s := b.call("btt_weightsStatus", model))["state"] == "held" and s, 60,
                        what="B holding the weights")
    assert (status["weightsHash"], status["size"], status["have"], status["total"]) == (weights, len(BLOB), 3, 3)
    manifest = b.call("btt_modelWeights", model)
    assert manifest == a.call("btt_modelWeights", weights)
    assert manifest == {"weightsHash": weights, "size": len(BLOB), "chunks": 3,
                        "chunkHashes": [hex0x(h) for h in chunk_hashes(BLOB)]}
    served = b"".join(bytes.fromhex(b.call("btt_modelWeights", weights, i)["data"][2:]) for i in range(3))
    assert served == BLOB
    assert b.call("btt_model", model)["weightsHeld"] is True
    assert b.metric('btt_weights_fetches{outcome="completed"}') >= 1 and b.metric("btt_weights_bad_data") == 0
    assert b.metric("btt_weights_blobs_held") == 1 and b.metric("btt_weights_bytes_held") == len(BLOB)
    harness.log("B holds the blob it never had, byte for byte")
