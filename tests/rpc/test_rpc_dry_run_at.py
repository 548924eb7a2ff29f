"""system_dryRun and btt_dryRun at a block other than the head (issue 53): Substrate API Sidecar passes `at` = the
finalized head by default, so a dry run must execute in a block built on any block whose state the node keeps, with
that block's state, nonce and era rules, nothing kept; an unknown, side-chain, future or pruned block, or a malformed
hash, is a clear -32602 and changes nothing."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from btt_chain.primitives.extrinsic import Era, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from runtime.modules import RUNTIME

from .harness import UNIT, RpcHarness

log = logging.getLogger(__name__)
BOB, CHARLIE = dev_keypair("bob"), dev_keypair("charlie")
INVALID_PARAMS = -32602
OK = "0x0000"
STALE = "0x010003"
FUTURE = "0x010002"
ANCIENT_BIRTH_BLOCK = "0x010005"


def hx(b: bytes) -> str:
    return "0x" + b.hex()


async def _bob_spends_nearly_everything(rpc: RpcHarness) -> tuple[bytes, bytes, int]:
    """Block #1 empty, block #2 bob sends all but 10 BTT of his spendable balance to charlie, block #3 empty.
    (hash of #1, hash of #2, bob's spendable balance at #1)."""
    rpc.author_block()
    before = rpc.node.chain.head_hash
    spendable = int((await rpc.call("btt_account", hx(BOB.public)))["spendable"])
    await rpc.submit_in_block(BOB, "balances.transfer_allow_death", CHARLIE.public, spendable - 10 * UNIT)
    after = rpc.node.chain.head_hash
    rpc.author_block()
    return before, after, spendable


@pytest.mark.asyncio
async def test_a_dry_run_at_an_older_block_uses_that_blocks_state_and_keeps_nothing(rpc: RpcHarness) -> None:
    before, after, spendable = await _bob_spends_nearly_everything(rpc)
    log.info("bob's 100 BTT transfer with nonce 0: fine at #1, stale at the head (his nonce is 1 there)")
    xt = rpc.sign(BOB, "balances.transfer_allow_death", CHARLIE.public, 100 * UNIT, nonce=0)
    encoded = hx(xt.encode())
    bob_now = await rpc.call("btt_account", hx(BOB.public))
    with rpc.unchanged():
        assert await rpc.call("system_dryRun", encoded, hx(before)) == OK
        assert await rpc.call("system_dryRunAt", encoded, hx(before)) == OK  # the legacy name takes it too
        assert await rpc.call("system_dryRun", encoded) == STALE
        assert await rpc.call("system_dryRun", encoded, hx(rpc.node.chain.head_hash)) == STALE
        dry = await rpc.call("btt_dryRun", encoded, hx(before))
    assert dry["valid"] and dry["success"] and dry["error"] is None, dry
    assert any(e["event"] == "Transfer" for e in dry["events"]), dry["events"]
    quoted = await rpc.call("payment_queryInfo", encoded, hx(before))
    assert int(dry["fee"]) == int(quoted["partialFee"]) > 0  # the fee the node's own fee code gives at that block
    assert await rpc.call("btt_account", hx(BOB.public)) == bob_now

    log.info("nonce 1, 100 BTT: at #2 bob holds 10 BTT (it would fail, paying its fee); at #1 nonce 1 is ahead")
    big = rpc.sign(BOB, "balances.transfer_allow_death", CHARLIE.public, 100 * UNIT, nonce=1)
    with rpc.unchanged():
        failed = await rpc.call("system_dryRun", hx(big.encode()), hx(after))
        assert failed.startswith("0x000103"), failed  # Ok(Err(Module(balances ...))): it would pay its fee and fail
        assert await rpc.call("system_dryRun", hx(big.encode()), hx(before)) == FUTURE  # nonce 1 is ahead at #1
    assert spendable > 100 * UNIT


@pytest.mark.asyncio
async def test_a_dry_run_at_the_finalized_head_as_sidecar_asks_it(rpc: RpcHarness) -> None:
    for _ in range(3):
        rpc.author_block()
    finalized = await rpc.call("chain_getFinalizedHead")
    xt = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, UNIT)
    with rpc.unchanged():
        assert await rpc.call("system_dryRun", hx(xt.encode()), finalized) == OK
        dry = await rpc.call("btt_dryRun", hx(xt.encode()), finalized)
    assert dry["valid"] and dry["success"], dry


@pytest.mark.asyncio
async def test_an_era_born_after_the_block_asked_about_is_refused_there(rpc: RpcHarness) -> None:
    """A transaction signed mortal from the head cannot be included in a block built on an older one (its birth
    block is after it): Err(Invalid(AncientBirthBlock)), as FRAME's CheckMortality answers, at no cost."""
    old = rpc.node.chain.head_hash
    for _ in range(3):
        rpc.author_block()
    chain = rpc.node.chain
    birth = chain.head.number
    xt = sign_extrinsic(rpc.alice, RUNTIME.call("balances.transfer_allow_death", BOB.public, UNIT),
                        rpc.node.next_account_index(rpc.alice.public), chain.genesis_hash, RUNTIME.spec_version,
                        era=Era.mortal(64, birth), birth_hash=chain.head_hash)
    with rpc.unchanged():
        assert await rpc.call("system_dryRun", hx(xt.encode())) == OK
        assert await rpc.call("system_dryRun", hx(xt.encode()), hx(old)) == ANCIENT_BIRTH_BLOCK
        dry = await rpc.call("btt_dryRun", hx(xt.encode()), hx(old))
    assert dry == {"valid": False, "success": False, "error": dry["error"], "fee": None, "events": []}
    assert "born after block" in dry["error"]


@pytest.mark.asyncio
async def test_an_attackers_at_is_refused_clearly_and_changes_nothing(rpc: RpcHarness) -> None:
    chain = rpc.node.chain
    genesis = chain.head_hash
    for _ in range(4):
        rpc.author_block()
    xt = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, UNIT)
    encoded = hx(xt.encode())
    alice_before = await rpc.call("btt_account", hx(rpc.alice.public))
    side = chain.build_block(chain.head.slot + 5, rpc.alice, [])
    chain.db.store_side_block(side)
    future = chain.build_block(chain.head.slot + 7, rpc.alice, [])  # built on the head, never imported
    for method in ("system_dryRun", "btt_dryRun"):
        log.info("%s: garbage, unknown, future, side-chain and malformed `at`", method)
        await rpc.assert_raises_rpc_error(INVALID_PARAMS, "unknown block", method, encoded, hx(b"\x11" * 32))
        await rpc.assert_raises_rpc_error(INVALID_PARAMS, "unknown block", method, encoded, hx(future.hash()))
        await rpc.assert_raises_rpc_error(INVALID_PARAMS, "not on the canonical chain", method, encoded,
                                          hx(side.hash()))
        for bad in ("0x00", "0x" + "11" * 33, "nothex", 7, ["0x" + "11" * 32]):
            await rpc.assert_raises_rpc_error(INVALID_PARAMS, "", method, encoded, bad)
        log.info("%s: a malformed extrinsic at a good block is refused as at the head", method)
        await rpc.assert_raises_rpc_error(INVALID_PARAMS, "malformed", method, "0x00", hx(genesis))

    log.info("a pruned block: the node keeps the last 2 finalized blocks; genesis is 4 back from the finalized head")
    chain.finalize(chain.head_hash)
    rpc.node.config = dataclasses.replace(rpc.node.config, state_pruning=2)
    for method in ("system_dryRun", "btt_dryRun"):
        await rpc.assert_raises_rpc_error(INVALID_PARAMS, "is pruned", method, encoded, hx(genesis))
    assert await rpc.call("system_dryRun", encoded, hx(chain.db.canonical_hash(chain.head.number - 2))) == OK
    rpc.node.config = dataclasses.replace(rpc.node.config, state_pruning=None)
    assert await rpc.call("system_dryRun", encoded, hx(genesis)) == OK  # an archive node serves every block
    assert await rpc.call("btt_account", hx(rpc.alice.public)) == alice_before
    assert len(rpc.node.pool) == 0


@pytest.mark.asyncio
async def test_the_finalized_head_is_served_however_far_behind_the_head_it_is(rpc: RpcHarness) -> None:
    """`--state-pruning N` counts N blocks below the finalized head, as Substrate's does, so Sidecar's default block
    is always served: on btt-21m it is 600 to 1,200 blocks behind the head, beyond 256 counted from the head."""
    chain = rpc.node.chain
    hashes = [chain.head_hash] + [rpc.author_block().hash for _ in range(8)]
    chain.finalize(hashes[3])
    rpc.node.config = dataclasses.replace(rpc.node.config, state_pruning=2)
    xt = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, UNIT)
    finalized = await rpc.call("chain_getFinalizedHead")
    assert finalized == hx(hashes[3])  # 5 blocks behind the head: outside 2 counted from the head
    with rpc.unchanged():
        assert await rpc.call("system_dryRun", hx(xt.encode()), finalized) == OK
        for n in (1, 2, 5, 8):  # 2 below the finalized head, and every block above it
            assert await rpc.call("system_dryRun", hx(xt.encode()), hx(hashes[n])) == OK, n
            await rpc.call("btt_account", hx(BOB.public), hx(hashes[n]))
        await rpc.assert_raises_rpc_error(INVALID_PARAMS, "is pruned", "system_dryRun", hx(xt.encode()),
                                          hx(hashes[0]))
        await rpc.assert_raises_rpc_error(INVALID_PARAMS, "is pruned", "state_getStorage",
                                          hx(b"\x00" * 32), hx(hashes[0]))
