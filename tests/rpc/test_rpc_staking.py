"""RPC: btt_stakes (deposits, accrued yield, benefits, fee share) and btt_params (every parameter with its range)."""

from __future__ import annotations

import pytest

from runtime.system.time import day_ms

from .harness import UNIT, RpcHarness


@pytest.mark.asyncio
async def test_btt_params_lists_every_parameter_with_its_range(rpc: RpcHarness) -> None:
    listed = {p["name"]: p for p in await rpc.call("btt_params")}
    assert listed["staking.365d.yield_bps"] == {
        "name": "staking.365d.yield_bps", "value": 1200, "min": 600, "max": 2400, "unit": "bps",
        "track": "emergency", "limits": [600, 2400], "shareGroup": None,
    }
    assert listed["staking.1095d.min"] == {
        "name": "staking.1095d.min", "value": str(100_000 * UNIT), "min": str(10_000 * UNIT),
        "max": str(1_000_000 * UNIT), "unit": "btt", "track": "emergency",
        "limits": [str(10_000 * UNIT), str(1_000_000 * UNIT)], "shareGroup": None,
    }
    assert listed["governance.house_bps.holders"]["shareGroup"] == "governance houses"
    assert listed["governance.quorum_bps"]["track"] == "standard" and listed["governance.quorum_bps"]["min"] > 0
    assert listed["staking.governance_multiplier_bps"]["value"] == 15_000
    assert "fees.base" in listed


@pytest.mark.asyncio
async def test_btt_stakes_shows_a_new_deposit_and_its_benefits(rpc: RpcHarness) -> None:
    who = "0x" + rpc.alice.public.hex()
    empty = await rpc.call("btt_stakes", who)
    assert empty["deposits"] == [] and empty["stakedTotal"] == "0"
    assert empty["benefits"] == {
        "feeDiscountBps": 0, "computePriority": False, "governanceMultiplierBps": 10_000, "specialAccess": False,
    }
    encoded = rpc.sign(rpc.alice, "staking.stake", "180d", 10_000 * UNIT).encode()
    await rpc.call("author_submitExtrinsic", "0x" + encoded.hex())
    rpc.author_block()
    report = await rpc.call("btt_stakes", who)
    (dep,) = report["deposits"]
    assert (dep["id"], dep["tier"], dep["amount"], dep["unlocked"]) == (0, "180d", str(10_000 * UNIT), False)
    # the dev chain shortens the month; a day is a thirtieth of it
    assert dep["unlockMs"] - dep["startMs"] == 180 * day_ms(rpc.node.chain.state())
    assert dep["accruedYield"] == "0"
    assert report["stakedTotal"] == str(10_000 * UNIT)
    assert report["benefits"]["feeDiscountBps"] == 2_000 and report["benefits"]["computePriority"]
