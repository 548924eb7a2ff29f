"""An unchanged @polkadot/api 16.5.6 (pinned in tests/substrate/js) against a real dev node: it connects with no
warnings, reads System.Account as btt_account reports it, computes the node's block hashes itself, signs
`balances.transferKeepAlive` with ed25519 //Alice and sees it finalized with FRAME's events, and gets error 1010,
at no fee, for a stale nonce and a bad signature."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.functional.framework import Harness
from tests.substrate.tools import dev_node

JS = Path(__file__).parent / "js"


def node_modules_ready() -> bool:
    return (JS / "node_modules" / "@polkadot" / "api" / "package.json").exists()


@pytest.mark.skipif(shutil.which("node") is None,
                    reason="Node.js is not installed (scripts/bootstrap-test-tools installs it)")
def test_polkadot_js_connects_reads_follows_signs_and_is_refused_at_no_fee(harness: Harness) -> None:
    assert node_modules_ready(), \
        "run scripts/bootstrap-test-tools: it installs tests/substrate/js's pinned packages with npm ci"
    node = dev_node(harness)
    node.start()
    harness.log("run the unchanged @polkadot/api flow")
    done = subprocess.run(["node", str(JS / "flow.mjs"), f"ws://127.0.0.1:{node.rpc_port}"], cwd=JS,
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no findings printed:\n{done.stdout}\n{done.stderr}"
    out = json.loads(lines[-1])
    harness.log(json.dumps(out, indent=1))
    assert "failure" not in out, out.get("failure")
    assert out["warnings"] == [], out["warnings"]  # none from ApiPromise.create, reading, following or sending
    assert all("1010" in line for line in out["mistakeLogs"]), out["mistakeLogs"]

    btt = out["bttAccount"]
    assert out["aliceAccount"]["free"] == btt["free"] and out["aliceAccount"]["nonce"] == btt["nonce"]
    assert out["aliceAccount"]["reserved"] == btt["reserved"] and out["aliceAccount"]["frozen"] == btt["frozen"]
    assert len(out["heads"]) >= 2 and all(h["local"] == h["node"] for h in out["heads"])

    transfer = out["transfer"]
    assert "error" not in transfer, transfer
    assert transfer["success"] and "balances.Transfer" in transfer["events"]
    assert "system.ExtrinsicSuccess" in transfer["events"]
    assert out["bobGained"] == str(10**18)

    mistakes = out["mistakes"]
    assert "1010" in mistakes["staleNonce"] and "1010" in mistakes["badSignature"], mistakes
    assert out["aliceFreeAfter"] == out["aliceFreeBefore"]
