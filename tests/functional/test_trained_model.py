"""A model owner brings a trained model to a 3-node devnet, end to end (issue 26's "done when").

The test trains the breast-cancer model with a seed of its own (so its weights are no shipped model's, and no
node has them), quantises it and checks the int8 model's held-out accuracy against the float model's. Eve
registers it through node 0 with `btt-chain model register`; node 2, which never had the weights, fetches them
by hash from a peer. Charlie's miner serves jobs through node 2, a clinic posts real held-out cases through node 0,
the jobs settle, and every label the chain's results give is the label a direct run of the quantised model gives.
(A miner faking outputs of the trained reference model is caught by the sample in
test_feature_compute.test_a_miner_faking_outputs_is_caught_and_slashed.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from btt_chain.models.files import write_model
from btt_chain.models.train import train_breast_cancer
from runtime.compute.inference import infer
from runtime.compute.model import model_hash, parse_weights
from tests.functional.framework import Harness, NodeProcess, cli_process, wait_until
from tests.support.cli_runner import succeed as cli

NAME = "breast-cancer-owner"
SEED = 7
"""Not the shipped model's seed (20261123): other weights, another hash, a blob no node starts with."""
ITEMS = 16
FAST_JOBS = {"compute.commit_window_slots": 5}
"""A job's commit window of 5 slots, not dev's 10 (the sample comes two epochs after it). The challenge window stays
dev's 15 s: the clinic reads a result while its job is in it (it fetches the outputs from node 0, which fetches them
from the provider's node 2), and a shorter one settled jobs before it had."""


def events_of(node: NodeProcess, first: int, name: str) -> list[dict[str, Any]]:
    return [e for n in range(first, node.height() + 1)
            for e in node.call("btt_events", node.call("chain_getBlockHash", n)) if e["event"] == name]


def test_an_owner_brings_a_trained_model_and_real_cases_settle(
    harness: Harness, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    harness.log(f"train the breast-cancer model with seed {SEED}, quantise it to int8")
    trained = train_breast_cancer(SEED)
    q = trained.quantized
    spec = q.spec.replace(name=NAME)
    float_acc, int8_acc = trained.float_accuracy, trained.int8_accuracy
    harness.log(f"held-out accuracy on {trained.cases} cases: float {float_acc:.2%}, int8 {int8_acc:.2%}")
    assert abs(float_acc - int8_acc) <= 0.02, f"float {float_acc:.4f} vs int8 {int8_acc:.4f}"
    assert int8_acc > 0.9, f"int8 accuracy {int8_acc:.4f}"
    spec_path, _ = write_model(tmp_path, spec, q.blob)
    model = parse_weights(spec, q.blob)
    mh = "0x" + model_hash(spec).hex()
    wh = "0x" + spec.weights_hash.hex()

    nodes = harness.add_devnet(3, parameters=FAST_JOBS)
    harness.start_all(nodes)
    wait_until(lambda: all(n.peers() >= 2 for n in nodes), 60, 0.5, "a full mesh of 3 nodes")
    wait_until(lambda: nodes[0].height() >= 2, 60, 0.5, "the devnet authors blocks")
    owner_node, provider_node = nodes[0], nodes[2]
    assert provider_node.call("btt_weightsStatus", wh)["state"] != "held"

    harness.log("eve registers the model through node 0 (its weights go to node 0's content store first)")
    registered = json.loads(cli(capsys, "model", "register", str(spec_path), "--key", "eve",
                                "--rpc", owner_node.rpc.url, "--json"))
    assert registered["modelHash"] == mh and int(registered["deposit"]) > 0
    row = wait_until(lambda: provider_node.call("btt_model", mh), 60, 0.3, "node 2 imports the registration")
    assert row["owner"] is not None and row["spec"]["weightsHash"] == wh

    harness.log("node 2 never had the weights: it fetches them by hash from a peer")
    wait_until(lambda: provider_node.call("btt_weightsStatus", wh)["state"] == "held", 120, 0.5,
               "node 2 holds the weights")
    manifest = provider_node.call("btt_modelWeights", wh)
    fetched = b"".join(bytes.fromhex(provider_node.call("btt_modelWeights", wh, i)["data"][2:])
                       for i in range(manifest["chunks"]))
    assert fetched == q.blob
    assert provider_node.call("btt_model", mh)["weightsHeld"] is True

    harness.log("charlie's miner serves jobs through node 2; a clinic posts real held-out cases through node 0")
    rpc0, rpc2 = ("--rpc", owner_node.rpc.url), ("--rpc", provider_node.rpc.url)
    start = owner_node.height()
    with cli_process(harness.root / "miner.log", "miner", "--key", "charlie", "--bond", "200", "--data-dir",
                     str(harness.root / "miner"), "--interval", "0.3", *rpc2), \
            cli_process(harness.root / "clinic.log", "job", "clinic", "--key", "ferdie", "--model", NAME,
                        "--cases", "held-out", "--items", str(ITEMS), "--price", "2", "--every", "2", "--count",
                        "2", *rpc0):
        wait_until(lambda: len(events_of(owner_node, start, "JobReceipt")) >= 2, 400, 1.0,
                   "two jobs of real cases settle")
    clinic_log = (harness.root / "clinic.log").read_text()
    assert "real held-out cases" in clinic_log and "match the recorded diagnosis" in clinic_log, clinic_log

    harness.log("every label the chain's results give is the label of a direct run of the quantised model")
    receipts = events_of(owner_node, start, "JobReceipt")
    for receipt in receipts[:2]:
        jid = receipt["job_id"]
        inputs = owner_node.call("btt_jobInputs", jid)
        assert inputs is not None and len(inputs["inputs"]) == ITEMS
        cases = [bytes.fromhex(x[2:]) for x in inputs["inputs"]]
        expected = [o[0] for o in infer(model, cases)]
        results = provider_node.call("btt_jobResults", jid)
        (res,) = results["results"]
        assert res["classes"] == expected
        assert results["labels"] == ["malignant", "benign"]
        held = trained.held_out_inputs.reshape(trained.cases, -1)
        assert all(any(c == h.tobytes() for h in held) for c in cases)  # real held-out cases, not noise
