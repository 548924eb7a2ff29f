"""btt_dryRun: what an extrinsic would do in the next block, with nothing kept, so a wallet can refuse to
send a mistake the node can already see (it would cost a fee)."""

from __future__ import annotations

import pytest

from btt_chain.primitives.keys import dev_keypair

from .harness import UNIT, RpcHarness


@pytest.mark.asyncio
async def test_a_failing_call_is_shown_and_nothing_changes(rpc: RpcHarness) -> None:
    bob = dev_keypair("bob")
    too_much = rpc.sign(bob, "balances.transfer_allow_death", dev_keypair("charlie").public, 10**12 * UNIT)
    before = await rpc.call("btt_account", "0x" + bob.public.hex())
    with rpc.unchanged():
        dry = await rpc.call("btt_dryRun", "0x" + too_much.encode().hex())
    assert dry["valid"] is True and dry["success"] is False and "InsufficientBalance" in dry["error"]
    assert int(dry["fee"]) > 0  # what it would have cost
    assert await rpc.call("btt_account", "0x" + bob.public.hex()) == before
    assert len(rpc.node.pool) == 0


@pytest.mark.asyncio
async def test_a_good_call_dry_runs_with_its_events(rpc: RpcHarness) -> None:
    xt = rpc.sign(rpc.alice, "balances.transfer_allow_death", dev_keypair("bob").public, UNIT)
    dry = await rpc.call("btt_dryRun", "0x" + xt.encode().hex())
    assert dry["valid"] and dry["success"] and dry["error"] is None
    assert any(e.get("event") == "Transfer" for e in dry["events"]), dry["events"]


@pytest.mark.asyncio
async def test_an_extrinsic_that_cannot_be_included_is_not_valid(rpc: RpcHarness) -> None:
    forged = rpc.sign(rpc.alice, "balances.transfer_allow_death",
                      dev_keypair("bob").public, UNIT).replace(signature=bytes(64))
    dry = await rpc.call("btt_dryRun", "0x" + forged.encode().hex())
    assert dry == {"valid": False, "success": False, "error": "bad signature", "fee": None, "events": []}
    await rpc.assert_raises_rpc_error(-32602, "malformed", "btt_dryRun", "0x00")


@pytest.mark.asyncio
async def test_a_proposal_is_dry_run_with_the_origin_it_would_be_enacted_with(rpc: RpcHarness) -> None:
    from runtime.modules import RUNTIME

    bob = dev_keypair("bob").public

    def hexcall(*args: object) -> str:
        return "0x" + RUNTIME.call("treasury.spend", *args).encode().hex()

    ok = await rpc.call("btt_dryRunReferendum", hexcall("ecosystem_fund", bob, UNIT), False)
    assert ok == {"ok": True, "error": None}
    no_fund = await rpc.call("btt_dryRunReferendum", hexcall("no_such_fund", bob, UNIT), False)
    assert no_fund["ok"] is False and "no_such_fund" in no_fund["error"]
    too_much = await rpc.call("btt_dryRunReferendum", hexcall("ecosystem_fund", bob, 2**128 - 1), False)
    assert too_much["ok"] is False
    # an emergency-only call fails with the standard origin and passes the origin check with the emergency one
    release = "0x" + RUNTIME.call("treasury.release_strategic_reserve", bob, UNIT).encode().hex()
    assert "emergency" in (await rpc.call("btt_dryRunReferendum", release, False))["error"]
    emergency = await rpc.call("btt_dryRunReferendum", release, True)
    assert emergency["ok"] or "emergency" not in (emergency["error"] or "")
    await rpc.assert_raises_rpc_error(-32602, "call", "btt_dryRunReferendum", "0x00", False)


@pytest.mark.asyncio
async def test_system_dry_run_is_substrates_apply_extrinsic_result(rpc: RpcHarness) -> None:
    """Ok(Ok(())) 0x0000; Ok(Err(Module{balances, InsufficientBalance})) 0x0001 03 ..; Err(Invalid(BadProof)) 0x010004;
    Err(Invalid(Stale)) 0x010003; nothing kept."""
    from runtime.metadata.indices import error_index

    bob, charlie = dev_keypair("bob"), dev_keypair("charlie").public
    good = rpc.sign(rpc.alice, "balances.transfer_allow_death", charlie, UNIT)
    too_much = rpc.sign(bob, "balances.transfer_allow_death", charlie, 10**12 * UNIT)
    forged = good.replace(signature=bytes(64))
    stale = rpc.sign(rpc.alice, "balances.transfer_allow_death", charlie, UNIT, nonce=0)
    pallet, error = error_index("balances", "InsufficientBalance")
    with rpc.unchanged():
        assert await rpc.call("system_dryRun", "0x" + good.encode().hex()) == "0x0000"
        assert await rpc.call("system_dryRun", "0x" + too_much.encode().hex()) == "0x000103" + bytes(
            [pallet, error, 0, 0, 0]).hex()
        assert await rpc.call("system_dryRun", "0x" + forged.encode().hex()) == "0x010004"
    await rpc.call("author_submitExtrinsic", "0x" + good.encode().hex())
    rpc.author_block()
    assert await rpc.call("system_dryRun", "0x" + stale.encode().hex()) == "0x010003"
