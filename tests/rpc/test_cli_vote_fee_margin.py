"""`btt-chain vote` with its default keeps fees payable while the vote is open (issue 29, item 5), run from the
command line against an in-process dev node.

The CLI runs in a worker thread; the test authors a block whenever a transaction reaches the pool, so the
chain's clock (one slot a block), not the wall clock, decides when voting ends: the 30-second voting period of
the dev chain is still open after the few blocks these tests make, however busy the machine is.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from btt_chain.client.vote_margin import FEE_MARGIN_FEES
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.keys import dev_keypair
from cli.main import main
from runtime.modules import RUNTIME
from tests.support.cli_runner import assert_one_error_line

from .harness import UNIT, RpcHarness

CLI_LIMIT_S = 600
"""A generous bound on one command (its own wait for inclusion is 60 s): only a hung test reaches it."""


async def btt_chain(rpc: RpcHarness, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `btt-chain ARGV --rpc URL` in a thread, authoring a block whenever its transaction is in the pool;
    (exit code, stdout, stderr)."""
    capsys.readouterr()

    def run() -> int:
        try:
            main([*argv, "--rpc", rpc.url])
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    done = asyncio.get_running_loop().run_in_executor(None, run)
    deadline = asyncio.get_running_loop().time() + CLI_LIMIT_S
    while not done.done():
        assert asyncio.get_running_loop().time() < deadline, f"btt-chain {' '.join(argv)} hung"
        if len(rpc.node.pool):
            rpc.author_block()
        await asyncio.sleep(0.05)
    code = await done
    out, err = capsys.readouterr()
    return code, out, err


def addr(rpc: RpcHarness, name: str) -> str:
    return encode_address(dev_keypair(name).public, rpc.node.spec.ss58_prefix)


async def account(rpc: RpcHarness, name: str) -> dict[str, Any]:
    return dict(await rpc.call("btt_account", addr(rpc, name)))


async def open_referendum(rpc: RpcHarness) -> dict[str, Any]:
    deposit = next(int(r["value"]) for r in await rpc.call("btt_params") if r["name"] == "governance.min_deposit")
    spend = RUNTIME.call("treasury.spend", "ecosystem_fund", dev_keypair("charlie").public, UNIT)
    await rpc.submit_in_block(dev_keypair("alice"), "governance.propose", spend, ZERO_HASH, deposit, False)
    (ref,) = [r for r in await rpc.call("btt_referenda") if r["status"] == "voting"]
    return dict(ref)


@pytest.mark.asyncio
async def test_a_voter_pays_fees_while_its_default_vote_is_open(rpc: RpcHarness,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    bob = dev_keypair("bob")
    await rpc.submit_in_block(bob, "staking.stake", "30d", 1_000 * UNIT)
    (deposit,) = (await rpc.call("btt_stakes", addr(rpc, "bob")))["deposits"]
    rpc.author_at_time(deposit["unlockMs"])  # the deposit has unlocked: bob may withdraw it, for a fee
    ref = await open_referendum(rpc)
    ref_id = ref["id"]

    code, out, err = await btt_chain(rpc, capsys, "vote", str(ref_id), "aye", "--from", "bob")
    assert code == 0, err
    assert out.startswith(f"voted aye on referendum #{ref_id} with holders "), out
    notice = err.strip()
    assert notice.startswith("locking ") and "leaving " in notice and notice.endswith("; use --balance to choose")
    assert f"(about {FEE_MARGIN_FEES} fees of " in notice, notice
    bob_now = await account(rpc, "bob")
    voter = await rpc.call("btt_voter", addr(rpc, "bob"))
    (record,) = voter["votes"]
    counted = int(record["turnout"])
    assert int(voter["lock"]["locked"]) == counted == int(bob_now["frozen"])
    fee = int((await rpc.call("btt_dryRun", "0x" + rpc.sign(bob, "staking.unstake", 0).encode().hex()))["fee"])
    assert int(bob_now["spendable"]) >= FEE_MARGIN_FEES * fee

    code, out, err = await btt_chain(rpc, capsys, "unstake", "--from", "bob", "--deposit", str(deposit["id"]))
    assert code == 0 and out.startswith("included in block #"), err
    code, out, err = await btt_chain(rpc, capsys, "transfer", "--from", "bob", "--to", "charlie", "--amount", "0.001")
    assert code == 0 and out.startswith("included in block #"), err

    # both while voting is open, and the vote still counts what it locked, all of it still held by bob
    now = await rpc.call("btt_referendum", ref_id)
    head_ms = rpc.node.chain.head.timestamp_ms
    assert now["status"] == "voting" and head_ms < now["votingEndsMs"]
    assert now["tally"]["turnout"] == str(counted)
    bob_after = await account(rpc, "bob")
    assert int(bob_after["frozen"]) == counted <= int(bob_after["free"])
    assert (await rpc.call("btt_stakes", addr(rpc, "bob")))["deposits"] == []


@pytest.mark.asyncio
async def test_a_voter_with_less_than_the_margin_and_no_other_weight_is_told_so_at_no_fee(
        rpc: RpcHarness, capsys: pytest.CaptureFixture[str]) -> None:
    alice, ferdie = dev_keypair("alice"), dev_keypair("ferdie")
    await rpc.submit_in_block(ferdie, "balances.transfer_all", alice.public, False)  # ferdie empties his account
    await rpc.submit_in_block(alice, "balances.transfer_allow_death", ferdie.public, 2 * UNIT // 100)  # 0.02 BTT
    ref = await open_referendum(rpc)
    before = (await account(rpc, "ferdie"), await rpc.call("btt_referendum", ref["id"]), rpc.node.chain.head_hash)

    with rpc.unchanged():
        code, out, err = await btt_chain(rpc, capsys, "vote", str(ref["id"]), "aye", "--from", "ferdie")
    assert_one_error_line(code, err, "kept for fees, and the account has no other voting weight")
    assert "give --balance" in err and "nothing was charged" in err and out == ""
    after = (await account(rpc, "ferdie"), await rpc.call("btt_referendum", ref["id"]), rpc.node.chain.head_hash)
    assert after == before
    assert (await rpc.call("btt_voter", addr(rpc, "ferdie")))["lock"] is None

    # he may still vote with part of it when he says so; then the notice says no fee can be paid until the end
    code, out, err = await btt_chain(rpc, capsys, "vote", str(ref["id"]), "aye", "--from", "ferdie", "--balance",
                                     "all", "--json")
    assert code == 0, err
    assert "leaving 0 BTT for fees: less than one fee" in err and "cannot send anything until voting ends" in err
    sent = json.loads(out)
    ferdie_now = await account(rpc, "ferdie")
    assert sent["success"] and sent["leftForFees"] == ferdie_now["spendable"] == "0"
    assert sent["balanceLocked"] == ferdie_now["frozen"] == ferdie_now["free"]

    # and the next transaction is refused before it is sent, at no fee, with nothing changed
    locked = (await account(rpc, "ferdie"), rpc.node.chain.head_hash)
    with rpc.unchanged():
        code, out, err = await btt_chain(rpc, capsys, "transfer", "--from", "ferdie", "--to", "alice", "--amount",
                                         "0.001")
    assert_one_error_line(code, err, "cannot pay fee")
    assert "nothing was charged" in err
    assert (await account(rpc, "ferdie"), rpc.node.chain.head_hash) == locked
