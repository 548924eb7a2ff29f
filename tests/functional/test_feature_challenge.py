"""feature_challenge: a faked item outside the sample is caught by a challenge sent from the command line.

Two real nodes on 127.0.0.1 (node0 validates, node1 only follows over p2p). Bob's miner fakes item 0 of each
job and publishes its outputs to node0 after its reveal. Charlie (the clinic) posts a 1024-item job; the
8-item sample misses item 0 in 1016 of 1024 draws (a caught fake means a fresh job). `btt-chain job verify`
against node1 finds item 0 wrong, node1 having fetched the outputs from node0 over `outputs/get`. Charlie
demands the outputs and bob's miner posts them on chain; a challenge of a correct item is refused before any
fee is spent; `btt-chain job challenge` of item 0 slashes bob, rewards charlie and refunds the escrow, and
total issuance stays genesis supply minus burns.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from btt_chain.primitives.extrinsic import decode_any
from genesis.loader import canonical_json, load_chain_spec_doc, materialise
from runtime.modules import RUNTIME
from tests.functional.framework import Harness, NodeProcess, cli_process, wait_until
from tests.support.cli_runner import run
from tests.support.cli_runner import succeed as cli
from tests.support.dev_accounts import dev_address as address

UNIT = 10**18
ITEMS = 1024
ATTEMPTS = 4


def assignment(node: NodeProcess, job_id: int) -> dict[str, Any] | None:
    job = node.call("btt_job", job_id)
    return job["assignments"][0] if job and job["assignments"] else None


def block_events(node: NodeProcess, name: str, first: int) -> list[dict[str, Any]]:
    return [e for n in range(first, node.height() + 1)
            for e in node.call("btt_events", node.call("chain_getBlockHash", n)) if e["event"] == name]


def test_a_clinic_challenges_a_faked_item_from_the_cli(harness: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    doc = load_chain_spec_doc("dev")
    doc["consensus"]["epoch_slots"] = 5  # samples come two 5-slot epochs after the commit window: a quicker test
    doc["parameters"]["compute.commit_window_slots"]["value"] = 5  # and that window is 5 slots, not dev's 10
    doc["parameters"]["compute.challenge_window_ms"]["value"] = 120_000  # room for a slow machine
    spec = harness.root / "challenge-dev.json"
    spec.write_bytes(canonical_json(materialise(doc, int(time.time()) * 1000)))
    node0 = harness.add_node(chain=str(spec), validator_key="alice")
    node1 = harness.add_node(chain=str(spec), validator_key=None, bootnodes=[node0.multiaddr])
    node0.start()
    rpc0, rpc1 = ("--rpc", node0.rpc.url), ("--rpc", node1.rpc.url)

    harness.log("bob bonds 100 BTT and registers as the only provider; his miner fakes item 0 of every job")
    cli(capsys, "bond", "--from", "bob", "--amount", "100", *rpc0)
    cli(capsys, "provider", "register", "--key", "bob", "--capacity", "1", *rpc0)
    miner_log = harness.root / "miner.log"
    with cli_process(miner_log, "miner", "--key", "bob", "--data-dir", str(harness.root / "miner"),
                     "--unsafe-fake-items", "1", "--interval", "0.3", *rpc0):
        node1.start()
        before = node0.call("btt_issuance")
        job_id = -1
        for attempt in range(ATTEMPTS):
            harness.log(f"charlie posts a {ITEMS}-item job (attempt {attempt + 1})")
            posted = json.loads(cli(capsys, "job", "post", "--model", "breast-cancer-v1", "--items", str(ITEMS),
                                    "--price", "3", "--deadline", "120", "--key", "charlie", "--json", *rpc0))
            job_id = posted["jobId"]
            a = wait_until(lambda jid=job_id: (x := assignment(node0, jid)) and x["state"] in ("verified", "fraud")
                           and x, 150, 0.3, "bob's result verified or caught")
            if a["state"] == "verified":
                break
            harness.log("the sample caught item 0 (8 in 1024): a fresh job")
        else:
            raise AssertionError(f"the sample caught the faked item {ATTEMPTS} times in a row")
        first_block = posted["blockNumber"]

        harness.log("the miner published its outputs to node0; node1 fetches them from node0 over p2p")
        wait_until(lambda: node0.call("btt_jobOutputs", job_id, address("bob")), 60, 0.3, "outputs on node0")
        wait_until(lambda: (x := assignment(node1, job_id)) and x["state"] == "verified", 60, 0.3, "node1 synced")
        wait_until(lambda: "published 1024 outputs to the node" in miner_log.read_text(), 60, 0.3, "publish line")
        out = cli(capsys, "job", "verify", str(job_id), "--wait", "60", *rpc1)
        assert f"{address('bob')} (verified, challenge window closes" in out, out
        assert f"1 of {ITEMS} items are WRONG: 0; prove it: btt-chain job challenge {job_id}" in out, out
        wait_until(lambda: "fetched the outputs of job" in node1.log_path.read_text(), 60, 0.3, "node1's fetch line")
        assert node1.call("btt_jobOutputs", job_id, address("bob"))["source"] == "node"

        harness.log("charlie demands the outputs on chain: bob's miner posts them")
        out = cli(capsys, "job", "demand", str(job_id), "--provider", "bob", "--key", "charlie", *rpc0)
        assert f"demanded the outputs of {address('bob')} for job #{job_id}: due on chain by" in out, out
        wait_until(lambda: assignment(node0, job_id)["outputsPosted"], 60, 0.3, "the outputs posted on chain")
        # the miner reports it once it has seen the block (its next tick): wait for the line, do not race it
        wait_until(lambda: "posted its outputs on chain" in miner_log.read_text(), 60, 0.3, "the miner's report")

        harness.log("a challenge of an item that re-executes correctly is refused before any fee is spent")
        free = node0.call("btt_account", address("charlie"))["free"]
        capsys.readouterr()
        code, _, err = run(capsys, "job", "challenge", str(job_id), "--provider", "bob", "--item", "1",
                           "--key", "charlie", *rpc0)
        assert code == 1 and err.startswith("error: not challenging, no fee spent: item 1 re-executes"), err
        assert node0.call("btt_account", address("charlie"))["free"] == free

        harness.log("charlie challenges item 0 through the CLI: bob slashed, charlie rewarded, escrow refunded")
        out = cli(capsys, "job", "challenge", str(job_id), "--provider", "bob", "--item", "0", "--key", "charlie",
                  *rpc0)
        assert (f"challenge upheld: job #{job_id} item 0 of {address('bob')} is wrong; provider slashed 25 BTT, "
                "challenger reward 2.5 BTT, requester refunded 3 BTT") in out, out
        (upheld,) = block_events(node0, "ChallengeUpheld", first_block)
        assert upheld["challenger"] == address("charlie") and upheld["provider"] == address("bob")
        assert (int(upheld["slashed"]), int(upheld["reward"]), int(upheld["refunded"])) == (25 * UNIT, UNIT * 5 // 2,
                                                                                           3 * UNIT)
        assert assignment(node0, job_id)["state"] == "fraud"
        assert node0.call("btt_bonds", address("bob"))["bonded"] == str(75 * UNIT)
        # the refunded escrow went straight into the same work posted again for another provider (`reassign`)
        (reposted,) = block_events(node0, "JobReassigned", first_block)
        assert reposted["job_id"] == job_id and reposted["provider"] == address("bob")
        reserved = int(node0.call("btt_account", address("charlie"))["reserved"])
        assert 3 * UNIT <= reserved < 3 * UNIT + 10**16  # its price and a rent deposit of a few slots
        after = node0.call("btt_issuance")
        assert int(after["totalIssuance"]) == int(after["genesisSupply"]) - int(after["totalBurned"])
        burned = int(after["totalBurned"]) - int(before["totalBurned"])
        assert burned >= 22 * UNIT  # the slash less the reward, and the fees' burn
        assert int(before["totalIssuance"]) - int(after["totalIssuance"]) == burned

        harness.log("the challenge's on-chain cost")
        number = int(out.split("included in block #")[1].split()[0])
        block = node0.call("chain_getBlock", node0.call("chain_getBlockHash", number))["block"]
        raws = [bytes.fromhex(x[2:]) for x in block["extrinsics"]]
        (raw,) = [r for r in raws if RUNTIME.decode_call(decode_any(r).call).full_name == "compute.challenge"]
        weight = node0.call("payment_queryInfo", "0x" + raw.hex())["weight"]["refTime"]
        fee = out.split("fee ")[1].split(")")[0]
        harness.log(f"challenge extrinsic: {len(raw)} bytes, weight {weight}, fee {fee}")

        harness.log("`btt-chain job outputs --output` writes the served outputs")
        path = harness.root / "outputs.json"
        cli(capsys, "job", "outputs", str(job_id), "--provider", "bob", "--output", str(path), *rpc1)
        doc_out = json.loads(path.read_text())
        (result,) = doc_out["results"]
        assert len(result["outputs"]) == ITEMS and result["state"] == "fraud"
