"""The light client's `Wallet.vote`: without a balance it votes as `btt-chain vote` does, keeping a margin for fees
(`btt_chain/client/vote_margin.py`); with one it locks what it is given. Run against an in-process dev node, the
wallet in a worker thread and a block authored whenever its transaction reaches the pool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import pytest

from btt_chain.client import Wallet
from btt_chain.client.vote_margin import FEE_MARGIN_FEES
from btt_chain.primitives.keys import dev_keypair

from .harness import UNIT, RpcHarness
from .test_cli_vote_fee_margin import account, addr, open_referendum

T = TypeVar("T")
WALLET_LIMIT_S = 600
"""A bound only a hung call reaches (the wallet's own wait for inclusion is 60 s)."""


async def in_thread(rpc: RpcHarness, work: Callable[[], T]) -> T:
    done = asyncio.get_running_loop().run_in_executor(None, work)
    deadline = asyncio.get_running_loop().time() + WALLET_LIMIT_S
    while not done.done():
        assert asyncio.get_running_loop().time() < deadline, "the wallet hung"
        if len(rpc.node.pool):
            rpc.author_block()
        await asyncio.sleep(0.05)
    return await done


@pytest.mark.asyncio
async def test_a_wallet_vote_without_a_balance_keeps_fees_payable(rpc: RpcHarness) -> None:
    ref_id = (await open_referendum(rpc))["id"]
    before = await account(rpc, "bob")
    wallet = await in_thread(rpc, lambda: Wallet(dev_keypair("bob"), rpc.url))
    sent = await in_thread(rpc, lambda: wallet.vote(ref_id, True))
    assert sent.status is not None and sent.status["success"], sent.status
    bob = await account(rpc, "bob")
    voter = await rpc.call("btt_voter", addr(rpc, "bob"))
    (record,) = voter["votes"]
    locked = int(record["turnout"])
    assert int(bob["frozen"]) == locked == int(voter["lock"]["locked"])
    assert 0 < locked < int(before["free"])
    fee = int((await rpc.call("btt_dryRun", "0x" + rpc.sign(dev_keypair("bob"), "staking.unstake", 0).encode()
                              .hex()))["fee"])
    assert int(bob["spendable"]) >= FEE_MARGIN_FEES * fee  # what the default kept out of the vote

    # a balance given is what it locks; voting again replaces the vote
    sent = await in_thread(rpc, lambda: wallet.vote(ref_id, False, 5 * UNIT))
    assert sent.status is not None and sent.status["success"], sent.status
    (record,) = (await rpc.call("btt_voter", addr(rpc, "bob")))["votes"]
    assert int(record["turnout"]) == 5 * UNIT and record["vote"] == "nay"
