"""An unchanged polkadot-api 2.x (pinned in tests/substrate/papi/package-lock.json) against a real dev node, as a user
would drive it: its CLI generates the chain's descriptors from the node (`papi add btt -w ws://...`), then the
client connects through its WebSocket provider (`createClient(getWsProvider(url))`, which rebuilds the new JSON-RPC
spec from a legacy node's calls), reads System.Account of //Alice as btt_account reports it, and signs
`Balances.transfer_keep_alive` with an ed25519 //Alice signer (funding sr25519 //Alice, a different, empty
account) and with an sr25519 //Alice signer (spending from it), both made as polkadot-api's docs make them
(@polkadot-labs/hdkd + getPolkadotSigner), and sees both finalized with FRAME's events.

The descriptors are generated at test time, into the test's own temporary directory: they are made from the metadata
of the node under test, which changes with the runtime (a new pallet, a new call), so descriptors made at install
time would go stale; and it runs `papi add` itself, the step every polkadot-api user takes first. It needs nothing
from outside: the CLI reads the metadata from the node and compiles the descriptors locally (no package install:
the config's `noDescriptorsPackage` keeps it from adding a package to a package.json and running `npm install`; the
flow imports the generated module by its path).

Node.js 20 has its WebSocket behind --experimental-websocket (Node.js 22 has it by default): both the CLI and the
flow get that flag when the global is missing."""

from __future__ import annotations

import json
import re

import pytest

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.keys import dev_keypair
from tests.functional.framework import Harness, wait_until
from tests.substrate.tools import (
    SUBSTRATE,
    dev_node,
    node_missing,
    node_options_for_websocket,
    packages_missing,
    tool_process,
)

PAPI = SUBSTRATE / "papi"


def retrying(output: str) -> str | None:
    """polkadot-api's clients retry a failed request forever, logging each retry: the first such line (with the
    error the node answered) is where the tool stopped."""
    for line in output.splitlines():
        if re.search(r"retrying", line, re.IGNORECASE):
            return line.strip()
    return None


def findings(output: str) -> dict:
    lines = [line for line in output.splitlines() if line.startswith("{")]
    assert lines, f"the flow printed no findings:\n{output[-3000:]}"
    result: dict = json.loads(lines[-1])
    return result


@pytest.mark.skipif(node_missing() is not None, reason=str(node_missing()))
def test_polkadot_api_generates_descriptors_reads_and_signs_with_ed25519_and_sr25519(harness: Harness) -> None:
    not_installed = packages_missing(PAPI, "polkadot-api", "@polkadot-labs/hdkd", "@polkadot-labs/hdkd-helpers")
    assert not_installed is None, not_installed
    node = dev_node(harness, ["--no-p2p"])
    node.start()
    url = f"ws://127.0.0.1:{node.rpc_port}"
    env = {"NODE_OPTIONS": node_options_for_websocket()}
    # papi reads the genesis hash from System.BlockHash(0) at the finalized block; in the genesis state FRAME holds a
    # placeholder there (69 x 0x45), set to the genesis hash by block 1: started, as on a live chain, once finality
    # has passed genesis
    wait_until(lambda: node.finalized_number() >= 1, 180, 0.5, "finality past genesis")

    harness.log(f"papi add btt -w {url}")
    work = harness.root / "papi"
    (work / ".papi").mkdir(parents=True)
    config = {"version": 0, "descriptorPath": ".papi/descriptors", "entries": {},
              "options": {"noDescriptorsPackage": True}}
    (work / ".papi" / "polkadot-api.json").write_text(json.dumps(config))
    # the CLI compiles the descriptors, and the flow imports them, against the pinned packages; the link goes when the
    # flow ends (a failed test's data is kept, and it would copy them)
    modules = work / "node_modules"
    modules.symlink_to(PAPI / "node_modules")
    try:
        with tool_process([str(PAPI / "node_modules" / ".bin" / "papi"), "add", "btt", "-w", url], work,
                          harness.root / "papi-add.log", env) as add:
            code = add.wait(180, f"papi add btt -w {url}", stop_when=retrying)
            assert code == 0, f"papi add exited with {code}:\n{add.tail()}"
        descriptors = work / ".papi" / "descriptors" / "dist" / "index.js"
        assert descriptors.exists(), f"papi add wrote no descriptors:\n{add.tail()}"

        harness.log("the polkadot-api flow: read, fund sr25519 //Alice with ed25519 //Alice, spend, both finalized")
        with tool_process(["node", str(PAPI / "flow.mjs"), url, str(descriptors)], PAPI,
                          harness.root / "papi-flow.log", env) as flow:
            flow.wait(480, "the polkadot-api flow")
            out = findings(flow.output())
    finally:
        modules.unlink()
    harness.log(json.dumps(out, indent=1))
    assert "failure" not in out, f"{out['failure']}\n(steps: {out['steps']}; warnings: {out['warnings']})"
    assert out["warnings"] == [], out["warnings"]

    assert out["genesisHash"] == node.call("chain_getBlockHash", 0)  # client.getChainSpecData()
    prefix = int(node.call("system_properties")["ss58Format"])
    assert out["edAlice"] == encode_address(dev_keypair("alice").public, prefix)  # hdkd's ed25519 //Alice is btt's
    assert out["srAlice"] != out["edAlice"]
    btt = out["bttAccount"]
    account = out["aliceAccount"]
    for key in ("free", "reserved", "frozen", "nonce"):
        assert int(account[key]) == int(btt[key]), (key, account, btt)

    for name, transfer in (("ed25519 funding", out["funding"]), ("sr25519 spend", out["spending"])):
        assert transfer["ok"], (name, transfer)
        assert "finalized" in transfer["statuses"], (name, transfer)
        assert {"Balances.Transfer", "System.ExtrinsicSuccess"} <= set(transfer["events"]), (name, transfer)
    spend_status = node.call("btt_extrinsicStatus", out["spending"]["txHash"])
    assert spend_status is not None and spend_status["success"], spend_status
    assert spend_status["blockHash"] == out["spending"]["block"]["hash"]
    fee = int(spend_status["fee"])
    assert fee > 0
    assert int(out["bobGained"]) == int(out["spend"])
    assert int(out["srAliceGained"]) == int(out["fund"]) - int(out["spend"]) - fee
    assert out["srAliceNonceAfter"] == 1

    # the genesis hash papi read from System.BlockHash(0) (FRAME keeps that entry forever) and recorded in its config
    entry = json.loads((work / ".papi" / "polkadot-api.json").read_text())["entries"]["btt"]
    assert entry["genesis"] == node.call("chain_getBlockHash", 0), f"papi add recorded {entry}"
