"""RPC: btt_vesting (an account's schedules and what they lock at the head)."""

from __future__ import annotations

import pytest

from btt_chain.primitives.keys import Keypair, dev_keypair
from runtime.system import storage as system

from .harness import UNIT, RpcHarness


@pytest.mark.asyncio
async def test_btt_vesting_shows_a_vested_transfer(rpc: RpcHarness) -> None:
    fresh = Keypair.generate().public
    dave = "0x" + fresh.hex()
    empty = await rpc.call("btt_vesting", dave)
    assert (empty["schedules"], empty["locked"], empty["unlocked"]) == ([], "0", "0")
    now = system.timestamp_ms.get(rpc.node.chain.state())
    cliff, end = now + 10**9, now + 2 * 10**9
    encoded = rpc.sign(rpc.alice, "vesting.vested_transfer", fresh, 500 * UNIT, cliff, end)
    await rpc.call("author_submitExtrinsic", "0x" + encoded.encode().hex())
    rpc.author_block()
    report = await rpc.call("btt_vesting", dave)
    (s,) = report["schedules"]
    assert (s["total"], s["cliff"], s["end"], s["kind"]) == (str(500 * UNIT), cliff, end, "linear")
    assert (s["locked"], s["unlocked"]) == (str(500 * UNIT), "0")
    assert "approved" not in s
    assert (report["locked"], report["unlocked"]) == (str(500 * UNIT), "0")
    account = await rpc.call("btt_account", dave)
    assert account["frozen"] == str(500 * UNIT)


@pytest.mark.asyncio
async def test_btt_vesting_shows_a_dev_allocation_schedule(rpc: RpcHarness) -> None:
    report = await rpc.call("btt_vesting", "0x" + dev_keypair("dave").public.hex())
    (s,) = report["schedules"]
    assert s["kind"] == "linear" and s["start"] <= s["cliff"] <= s["end"]
    assert int(s["locked"]) + int(s["unlocked"]) == int(s["total"])


@pytest.mark.asyncio
async def test_btt_vesting_rejects_a_bad_account(rpc: RpcHarness) -> None:
    await rpc.assert_raises_rpc_error(-32602, "account", "btt_vesting", "not-an-address")
