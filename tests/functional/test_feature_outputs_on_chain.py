"""feature_outputs_on_chain: outputs too big for one extrinsic go on chain in chunks, and outputs posted after
they were due are refused and slashed as withheld; all through the command line against a real dev node.

The chain spec is dev's with one more model written out in it, `wide-findings` (64 classes: an output item is
65 bytes, 1,024 of them 66,560 bytes, more than one 64 KiB extrinsic can carry). Bob runs a miner that keeps
its outputs off chain (`--unsafe-withhold-outputs`); charlie posts two 1,024-item jobs and demands both
results. For job B bob posts with `btt-chain job post-outputs`, which sends the chain's chunks with their range
proofs, every fee paid back from charlie's posting deposit. For job A bob waits past the due time: the command
refuses to send (the dry run names the lateness, no fee is spent), and when the challenge window closes bob
loses the fixed withholding slash and charlie gets the escrow and the deposit back.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from btt_chain.models.files import write_model
from btt_chain.models.random_model import dense_chain
from genesis.loader import canonical_json, load_chain_spec_doc, materialise
from tests.functional.framework import Harness, NodeProcess, cli_process, wait_until
from tests.support.cli_runner import run
from tests.support.cli_runner import succeed as cli
from tests.support.dev_accounts import dev_address as address

UNIT = 10**18
ITEMS = 1024
WIDE = "wide-findings"
"""A 64-class model: an output item is 65 bytes, 1,024 of them more than one extrinsic may carry."""
OUTPUTS_DUE_MS = 12_000
"""Job B's outputs are due this long after charlie demands them: bob's `job post-outputs` sends two chunks in it, a few
seconds even on a busy machine."""
WINDOW_MS = 18_000
"""Each job's challenge window from its verification: both demands land inside it (they follow the later of the two
verifications by a CLI call each); job A's window closes at the later of its end and its outputs' due time."""


def assignment(node: NodeProcess, job_id: int) -> dict[str, Any]:
    job = node.call("btt_job", job_id)
    return job["assignments"][0] if job and job["assignments"] else {}


def head_time_ms(node: NodeProcess) -> int:
    return int(node.call("btt_header")["timestamp"], 16)


def test_chunked_outputs_and_late_outputs_through_the_cli(harness: Harness,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    doc = load_chain_spec_doc("dev")
    doc["consensus"]["epoch_slots"] = 5  # samples come two 5-slot epochs after the commit window: a quicker test
    doc["parameters"]["compute.commit_window_slots"]["value"] = 4
    doc["parameters"]["compute.outputs_due_ms"]["value"] = OUTPUTS_DUE_MS
    doc["parameters"]["compute.challenge_window_ms"]["value"] = WINDOW_MS
    spec = harness.root / "outputs-dev.json"
    spec.write_bytes(canonical_json(materialise(doc, int(time.time()) * 1000)))
    node = harness.add_node(chain=str(spec), validator_key="alice")
    node.start()
    rpc = ("--rpc", node.rpc.url)
    harness.log("charlie brings a 64-class model: its weights to the node, its registration with a deposit")
    spec_path, _ = write_model(harness.root, *dense_chain(WIDE, (64, 64), seed=0x77))
    cli(capsys, "model", "register", str(spec_path), "--key", "charlie", *rpc)
    terms = json.loads(cli(capsys, "job", "terms", "--model", "wide-findings", "--items", str(ITEMS), "--json",
                           *rpc))
    assert terms["chunks"] == 2 and int(terms["minPrice"]) > int(terms["postingCost"]) > 0

    harness.log("bob's miner bonds 200 BTT and serves jobs, but keeps its outputs off chain")
    data_dir = harness.root / "miner"
    with cli_process(harness.root / "miner.log", "miner", "--key", "bob", "--bond", "200", "--data-dir",
                     str(data_dir), "--unsafe-withhold-outputs", "--interval", "0.3", *rpc):
        wait_until(lambda: any(p["registered"] for p in node.call("btt_providers", address("bob"))), 60, 0.3,
                   "bob registered")
        harness.log("charlie posts two 1,024-item jobs of wide-findings")
        jobs = []
        for _ in range(2):
            posted = json.loads(cli(capsys, "job", "post", "--model", "wide-findings", "--items", str(ITEMS),
                                    "--price", "5", "--key", "charlie", "--json", *rpc))
            jobs.append(posted["jobId"])
        job_a, job_b = jobs
        for jid in jobs:
            wait_until(lambda jid=jid: assignment(node, jid).get("state") == "verified", 180, 0.5,
                       f"job #{jid} verified (its sample waits two epochs past the commit window)")

        harness.log("charlie demands both results; bob posts job B's outputs with the CLI, in chunks")
        for jid in jobs:
            out = cli(capsys, "job", "demand", str(jid), "--provider", "bob", "--key", "charlie", *rpc)
            assert f"demanded the outputs of {address('bob')} for job #{jid}: due on chain by" in out, out
        deposit = int(assignment(node, job_b)["postingDeposit"])
        assert deposit == int(terms["postingCost"])
        bob_before = int(node.call("btt_account", address("bob"))["free"])
        out = cli(capsys, "job", "post-outputs", str(job_b), "--key", "bob", "--data-dir", str(data_dir), *rpc)
        assert f"posted items 0 to {ITEMS - 1} of job #{job_b} in 2 chunks" in out, out
        a = assignment(node, job_b)
        assert a["outputsPosted"] and a["postedItems"] == ITEMS
        assert int(node.call("btt_account", address("bob"))["free"]) == bob_before  # fees paid back
        served = node.call("btt_jobOutputs", job_b, address("bob"))
        assert served["source"] in ("chain", "node") and len(served["outputs"]) == ITEMS
        shown = cli(capsys, "job", "show", str(job_b), *rpc)
        assert "outputs on chain" in shown, shown
        assert "    why: verified: its sampled items re-executed to its outputs;" in shown, shown  # its reason

        harness.log("job A: bob waits until the outputs are due, then tries to post them")
        due = int(assignment(node, job_a)["outputsDueMs"])
        wait_until(lambda: head_time_ms(node) >= due, 90, 0.5, "job A's outputs overdue")
        bob_before = int(node.call("btt_account", address("bob"))["free"])
        capsys.readouterr()
        code, _, err = run(capsys, "job", "post-outputs", str(job_a), "--key", "bob", "--data-dir", str(data_dir),
                           *rpc)
        # refused before sending, whichever the CLI sees first on a busy machine: the chain would refuse a late
        # chunk, or the window already closed and the assignment is judged withheld
        late = "not sent" in err and "OutputsLate" in err
        judged = "is fraud: only a verified one, inside its challenge window, posts outputs" in err
        assert code == 1 and (late or judged), err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert int(node.call("btt_account", address("bob"))["free"]) == bob_before  # no fee spent

        harness.log("job A's window closes: bob slashed as withholding, charlie refunded with the deposit")
        wait_until(lambda: assignment(node, job_a).get("state") == "fraud", WINDOW_MS / 1000 + 60, 0.5,
                   "job A's window closed")
        bonded = int(node.call("btt_bonds", address("bob"))["bonded"])
        assert bonded == 200 * UNIT - 25 * UNIT
        withheld = [e for n in range(1, node.height() + 1)
                    for e in node.call("btt_events", node.call("chain_getBlockHash", n))
                    if e["event"] == "OutputsWithheld"]
        assert [(e["job_id"], e["provider"], int(e["slashed"])) for e in withheld] == [(job_a, address("bob"),
                                                                                        25 * UNIT)]
        issuance = node.call("btt_issuance")
        assert int(issuance["totalIssuance"]) == int(issuance["genesisSupply"]) - int(issuance["totalBurned"])
