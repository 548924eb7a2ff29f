"""An unchanged dedot (pinned in tests/substrate/dedot/package-lock.json) against a real dev node, with its default
client as its docs start a user off (`DedotClient.new(new WsProvider(url))`: it falls back to the legacy JSON-RPC
methods by itself): it reads the metadata V15 the node offers (`Metadata_metadata_at_version(15)`, the runtime APIs in
it), quotes `tx.balances.transferKeepAlive(...).paymentInfo(alice)` at exactly what `payment_queryInfo` says for the
same bytes and what the transfer is then charged, calls a runtime API by name, and sends the transfer to inclusion.

Without V15 dedot has no type for `TransactionPaymentApi_query_info` and `paymentInfo` fails ("Runtime api spec not
found"): issue 53."""

from __future__ import annotations

import json

import pytest

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.keys import dev_keypair
from tests.functional.framework import Harness
from tests.substrate.tools import SUBSTRATE, dev_node, node_missing, packages_missing, tool_process

DEDOT = SUBSTRATE / "dedot"
AMOUNT = 3 * 10**18
FALLBACK = "JSON-RPC v2 is not supported by the connected node, falling back to legacy JSON-RPC."


def findings(output: str) -> dict:
    lines = [line for line in output.splitlines() if line.startswith("{")]
    assert lines, f"the flow printed no findings:\n{output[-3000:]}"
    result: dict = json.loads(lines[-1])
    return result


@pytest.mark.skipif(node_missing() is not None, reason=str(node_missing()))
def test_dedot_default_client_quotes_the_fee_and_sends(harness: Harness) -> None:
    not_installed = packages_missing(DEDOT, "dedot", "@polkadot/keyring", "@polkadot/util-crypto")
    assert not_installed is None, not_installed
    node = dev_node(harness, ["--no-p2p"])
    node.start()
    url = f"ws://127.0.0.1:{node.rpc_port}"
    harness.log(f"the dedot flow against {url}")
    argv = ["node", str(DEDOT / "flow.mjs"), url, str(AMOUNT)]
    with tool_process(argv, DEDOT, harness.root / "dedot-flow.log") as flow:
        flow.wait(300, "the dedot flow")
        out = findings(flow.output())
    harness.log(json.dumps(out, indent=1))
    assert "failure" not in out, f"{out['failure']}\n(steps: {out['steps']}; warnings: {out['warnings']})"
    # the one line dedot prints when it falls back by itself (the node serves no chainHead_v1), and nothing else
    assert out["warnings"] == [f"warn: {FALLBACK}"], out["warnings"]
    assert out["rpcVersion"] == "legacy"
    assert out["metadataVersion"] == "V15"
    assert out["runtimeApis"] == ["Core", "Metadata", "AccountNonceApi", "TransactionPaymentApi",
                                  "TaggedTransactionQueue"]
    prefix = int(node.call("system_properties")["ss58Format"])
    assert out["alice"] == encode_address(dev_keypair("alice").public, prefix)
    assert out["aliceNonce"] == 0

    quoted = int(out["paymentInfo"]["partialFee"])
    assert quoted > 0 and out["paymentInfo"]["class"] == "Normal", out["paymentInfo"]
    node_info = node.call("payment_queryInfo", out["quotedTx"])
    assert quoted == int(node_info["partialFee"])
    assert int(out["paymentInfo"]["weight"]["refTime"]) == int(node_info["weight"]["refTime"])

    transfer = out["transfer"]
    assert not transfer["failed"] and "BestChainBlockIncluded" in transfer["statuses"], transfer
    assert {"Balances.Transfer", "System.ExtrinsicSuccess"} <= set(transfer["events"]), transfer
    status = node.call("btt_extrinsicStatus", transfer["txHash"])
    assert status is not None and status["success"] and status["blockHash"] == transfer["block"], status
    assert int(status["fee"]) == quoted  # the quote is what the signed transfer was charged
    assert int(out["bobFreeAfter"]) - int(out["bobFreeBefore"]) == AMOUNT
