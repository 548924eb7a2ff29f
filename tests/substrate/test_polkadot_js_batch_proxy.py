"""An unchanged @polkadot/api 16.5.6 (pinned in tests/substrate/js) sends `api.tx.utility.batch([...transfers])` and
`api.tx.proxy.proxy(real, null, call)` to a real dev node, to inclusion, and decodes their events from the node's
metadata: FRAME's batch events, an interrupted batch with the failing call's index and error, a failed batch_all,
ProxyAdded, Proxy.Proxies as FRAME's tuple, ProxyExecuted Ok for an Any proxy's transfer of the real account's money
and Err(proxy.Unproxyable) for a NonTransfer proxy's, with nothing of the real account's moved."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.functional.framework import Harness
from tests.support.runtime_builder import DEFAULT_PARAMS

JS = Path(__file__).parent / "js"
UNIT = 10**18


def names(result: dict[str, Any]) -> list[str]:
    return [e["name"] for e in result["events"]]


def errors(result: dict[str, Any]) -> list[str]:
    return [e["error"] for e in result["events"] if e["error"]]


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed (scripts/bootstrap installs it)")
def test_polkadot_js_sends_a_batch_of_transfers_and_a_proxy_call(harness: Harness) -> None:
    assert (JS / "node_modules" / "@polkadot" / "api" / "package.json").exists(), \
        "run scripts/bootstrap: it installs tests/substrate/js's pinned packages with npm ci"
    node = harness.add_node()
    node.start()
    harness.log("polkadot.js: a batch of transfers and proxy calls, each to inclusion")
    done = subprocess.run(["node", str(JS / "batch_proxy.mjs"), f"ws://127.0.0.1:{node.rpc_port}"], cwd=JS,
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no findings printed:\n{done.stdout}\n{done.stderr}"
    out = json.loads(lines[-1])
    harness.log(json.dumps(out, indent=1)[:20000])
    assert "failure" not in out, out.get("failure")
    assert out["warnings"] == [], out["warnings"]
    assert out["hasUtility"] and out["hasProxy"] and out["specVersion"] >= 15

    batch = out["batch"]
    assert batch["dispatchError"] is None
    assert names(batch).count("utility.ItemCompleted") == 2 and "utility.BatchCompleted" in names(batch)
    assert names(batch).count("balances.Transfer") == 2 and "system.ExtrinsicSuccess" in names(batch)
    assert out["batchGains"] == [str(UNIT), str(2 * UNIT)]
    assert int(out["batchQuote"]) > 0

    interrupted = out["interrupted"]
    assert interrupted["dispatchError"] is None  # FRAME's batch succeeds; its event says where it stopped
    stop = [e for e in interrupted["events"] if e["name"] == "utility.BatchInterrupted"]
    assert len(stop) == 1 and stop[0]["data"][0] == 1 and stop[0]["error"] == "balances.SelfTransfer"
    assert names(interrupted).count("balances.Transfer") == 1
    assert out["batchAll"]["dispatchError"] == "balances.SelfTransfer"
    assert "balances.Transfer" not in names(out["batchAll"]) and "system.ExtrinsicFailed" in names(out["batchAll"])

    assert out["overspend"].startswith("1010: Invalid Transaction: cannot pay the fees, tips and amounts"), \
        out["overspend"]

    assert "proxy.ProxyAdded" in names(out["addAny"]) and "proxy.ProxyAdded" in names(out["addNonTransfer"])
    proxies = out["proxies"]
    base, factor = DEFAULT_PARAMS["proxy.deposit_base"][0], DEFAULT_PARAMS["proxy.deposit_factor"][0]
    assert int(proxies["deposit"]) == base + 2 * factor
    assert sorted((d["delegate"], d["proxyType"], d["delay"]) for d in proxies["definitions"]) == sorted([
        (out["addresses"]["bob"], "Any", 0), (out["addresses"]["charlie"], "NonTransfer", 0)])

    proxy = out["proxy"]
    executed = [e for e in proxy["events"] if e["name"] == "proxy.ProxyExecuted"]
    assert len(executed) == 1 and executed[0]["data"][0] == {"ok": None} and executed[0]["error"] is None
    assert out["proxyGain"] == str(3 * UNIT) == out["aliceLost"]  # bob signed and paid the fee
    refused = out["refused"]
    assert refused["dispatchError"] is None and errors(refused) == ["proxy.Unproxyable"]
    assert [e["name"] for e in refused["events"] if e["name"].startswith(("utility.", "proxy."))] == [
        "utility.ItemCompleted", "utility.BatchInterrupted", "proxy.ProxyExecuted"]
    assert out["aliceAfterRefusal"] == out["aliceLost"]  # nothing more of alice's moved
