"""The `fork-race` testnet manifest end to end (root, `ip netns`): four equal validators and an observer split 2/2 half
a slot before the last slot of an epoch, healed about two epochs later. The run must pass every check, finality must
pass the heal point on every node within the manifest's bound, and the run must show that the race really happened:
at the heal each side's nodes had built past the boundary on a checkpoint of that epoch the other side did not have,
and every validator had voted for its own side's checkpoint. Skipped, with the reason, where namespaces cannot be
made."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from btt_chain.testnet.manifest import load_manifest
from btt_chain.testnet.netns import unavailable_reason
from tests.testnet.test_testnet_ci import assert_nothing_left, run_manifest

REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"testnet needs network namespaces: {REASON}")


def test_fork_race_manifest_resumes_finality_after_a_real_race_and_leaves_nothing(tmp_path: Path) -> None:
    """Five nodes, at most 60 s of schedule, 15 s settling, and the start (about 1.5 minutes on a busy 2-core
    machine)."""
    manifest = load_manifest("fork-race")
    bound = manifest.finality_resume_epochs
    assert bound is not None
    proc, out, base, report = run_manifest("fork-race", tmp_path, 600)
    try:
        assert proc.returncode == 0, out
        doc = json.loads(report.read_text())
        by_name = {c["name"]: c for c in doc["checks"]}
        resumed = f"finality resumed after every partition within {bound} epochs"
        for name in ("fork race at the epoch boundary", resumed, "one finalized chain", "no node crashed",
                     "no equivocation by an honest node", "transfers included once or reported"):
            assert by_name[name]["passed"], by_name[name]
        assert doc["passed"] and all(c["passed"] for c in doc["checks"]), out

        # the race happened: read back from the nodes' chains at the heal (RPC), not taken on the checks' word
        (part,) = doc["figures"]["partitions"]
        epoch, boundary = part["epoch"], part["boundary_slot"]
        assert part["stalls"] and epoch is not None and boundary == epoch * manifest.epoch_slots, part
        side_checkpoints = []
        for side in part["sides"]:
            assert set(side["head_slots"]) == set(side["nodes"]), side  # every node answered
            assert all(slot >= boundary for slot in side["head_slots"].values()), side  # built past the boundary
            cps = {side["checkpoints"][n][str(epoch)] for n in side["nodes"]}
            side_checkpoints.append(cps)
        assert all(side_checkpoints) and not side_checkpoints[0] & side_checkpoints[1], side_checkpoints
        race_lines = "\n".join(by_name["fork race at the epoch boundary"]["lines"])
        for validator in manifest.validators:  # each voted for its own side's checkpoint during the partition
            voted = re.search(rf"\b{validator.name} \d+:0x[0-9a-f]{{16}} -> (\d+):0x[0-9a-f]{{16}}", race_lines)
            assert voted is not None and int(voted.group(1)) >= epoch, race_lines
            assert f"{validator.name} FAIL" not in race_lines, race_lines

        # finality came back within the bound, past the heal point on every node
        assert part["resume_epochs"] is not None and part["resume_epochs"] <= bound, part
        assert part["resume_s"] <= bound * manifest.epoch_s
    finally:
        assert_nothing_left(proc.pid, base)
