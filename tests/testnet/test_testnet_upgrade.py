"""The `upgrade` testnet manifest end to end (root, `ip netns`): the network spec 11's release recorded
(testnets/spec11-network.tar.xz, made by commit 2010233) resumes from its databases under load and the demo economy,
takes spec 12 by an emergency referendum, has a validator and a full node SIGKILLed at the boundary, leaves a
`--max-spec 11` node stopped before the boundary with its one line, and is joined after the boundary by a warp-synced
and a fully synced node. Every check of the run must pass, the upgrade's among them, and the run must show that the
boundary really came: block #at on every upgraded node carries the upgrade's events, and the spec-11 node's head is
the block before it. Skipped, with the reason, where namespaces cannot be made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btt_chain.testnet.manifest import load_manifest
from btt_chain.testnet.netns import unavailable_reason
from tests.testnet.test_testnet_ci import JOIN_CHECKS, assert_nothing_left, run_manifest

REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"testnet needs network namespaces: {REASON}")


def test_upgrade_manifest_takes_spec_12_by_referendum_through_kills_and_leaves_nothing(tmp_path: Path) -> None:
    """Eight nodes, 100 s of schedule and 12 s settling (longer while a joined node is still catching up), from a
    recorded database (about 3 minutes on a busy 2-core machine)."""
    manifest = load_manifest("upgrade")
    assert manifest.upgrade is not None and manifest.upgrade.spec == 12
    proc, out, base, report = run_manifest("upgrade", tmp_path, 600)
    try:
        assert proc.returncode == 0, out
        doc = json.loads(report.read_text())
        by_name = {c["name"]: c for c in doc["checks"]}
        for name in ("upgrade to spec 12 by referendum", "one finalized chain", "no node crashed",
                     "no equivocation by an honest node", "transfers included once or reported", "issuance invariant",
                     *JOIN_CHECKS):
            assert by_name[name]["passed"], by_name[name]
        assert doc["passed"] and all(c["passed"] for c in doc["checks"]), out
        lines = "\n".join(by_name["upgrade to spec 12 by referendum"]["lines"])
        assert "killed at the boundary: v2, f0" in lines, lines
        assert "o0 (--max-spec 11) stopped at #" in lines, lines
        assert "(SpecUpgraded, MigrationsCompleted) and run spec 12" in lines, lines
    finally:
        assert_nothing_left(proc.pid, base)
