"""An unchanged @polkadot/api 16.5.6 (pinned in tests/substrate/js) reading what FRAME chains publish from a real dev
node: `derive.balances.all` shows a vesting account's locked balance (from `Balances.Locks`), `query.vesting.schedules`
takes an SS58 address, FRAME's constants hold the chain's own figures, `tx.paymentInfo` (signed with the dummy
signature) quotes what the signed transaction pays, and the runtime's validity check, `:code` and the legacy methods
added for other tools answer in the shapes polkadot.js decodes."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.functional.framework import Harness

JS = Path(__file__).parent / "js"


@pytest.mark.skipif(shutil.which("node") is None,
                    reason="Node.js is not installed (scripts/bootstrap-test-tools installs it)")
def test_polkadot_js_reads_locks_constants_fees_and_validity(harness: Harness) -> None:
    assert (JS / "node_modules" / "@polkadot" / "api" / "package.json").exists(), \
        "run scripts/bootstrap-test-tools: it installs tests/substrate/js's pinned packages with npm ci"
    node = harness.add_node()
    node.start()
    harness.log("run the unchanged @polkadot/api reads")
    done = subprocess.run(["node", str(JS / "frame_reads.mjs"), f"ws://127.0.0.1:{node.rpc_port}"], cwd=JS,
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no findings printed:\n{done.stdout}\n{done.stderr}"
    out = json.loads(lines[-1])
    harness.log(json.dumps(out, indent=1)[:20000])
    assert "failure" not in out, out.get("failure")
    assert out["warnings"] == [], out["warnings"]  # every method the node lists is one polkadot.js knows

    # Balances.Locks -> derive.balances.all: dave's genesis vesting, as btt reports it
    dave, vesting = out["dave"], out["daveVesting"]
    assert int(vesting["locked"]) > 0
    assert dave["lockedBalance"] == dave["vestingLocked"] == vesting["locked"] == out["daveAccount"]["frozen"]
    assert dave["isVesting"] and dave["lockIds"] == ["0x" + b"vesting ".hex()] and dave["lockReasons"] == ["All"]
    assert len(out["schedules"]) == len(vesting["schedules"]) == 1  # queried by SS58 address

    consts, params = out["consts"], out["params"]
    version, runtime = consts["version"], consts["runtimeVersion"]
    assert version["specVersion"] == runtime["specVersion"] and version["transactionVersion"] == runtime[
        "transactionVersion"]
    assert version["apis"] == runtime["apis"]
    figures = {p["name"]: p["value"] for p in params}
    assert int(consts["maxBlockRefTime"]) == int(figures["block.max_weight"])
    assert set(consts["blockLength"].values()) == {int(figures["block.max_bytes"])}
    assert consts["dbWeight"] == {"read": 0, "write": 0} and consts["operationalFeeMultiplier"] == 0
    assert consts["blockHashCount"] >= 64

    # fees: the dummy-signed estimate is the signed transaction's quote; the details add up to it
    assert str(out["paymentInfo"]["partialFee"]) == out["signedQueryInfo"]["partialFee"]
    details = out["feeDetails"]["inclusionFee"]
    assert sum(int(v) if isinstance(v, int) else int(v, 16) for v in details.values()) == int(
        out["signedQueryInfo"]["partialFee"])
    call_details = out["callFeeDetails"]["inclusionFee"]
    assert sum(int(v) if isinstance(v, int) else int(v, 16) for v in call_details.values()) == int(
        out["signedQueryInfo"]["partialFee"])

    assert out["validity"]["isOk"], out["validity"]
    code = bytes.fromhex(out["codeValue"][2:])
    assert out["codeHash"] == "0x" + hashlib.blake2b(code, digest_size=32).hexdigest()
    assert set(out["syncState"]) == {"startingBlock", "currentBlock", "highestBlock"}
    assert out["nodeRoles"] == ["Authority"] and out["reservedPeers"] == [] and out["childStorage"] is None
    for name in ("state_getStorageHash", "state_getStorageAt", "childstate_getStorage", "system_syncState",
                 "payment_queryFeeDetails", "state_getKeys"):
        assert name in out["methods"], name
    assert out["unknownMethod"].startswith("-32601: Method not found"), out["unknownMethod"]
