"""RPC: `btt_explorerReserves` (issue 53: the explorer showed "reserved 9 BTT" above a Reserved table saying
"none"). Every reserve of a dev chain's accounts (a validator's bond, an unbonding chunk, a stake, an open
referendum's deposit, a pending multisig call's deposit, a job's escrow and its place's rent deposit, a proxy
deposit) is a row, and the rows add up to the account's `reserved` read at the same block; a scan cut short says so
and shows what it
left out instead of hiding it; bad parameters are refused and change nothing.

The same rows are checked against every requester's and provider's reserved balance through the compute
marketplace's random run (tests/runtime/test_compute_random_run.py)."""

from __future__ import annotations

from typing import Any

import pytest

from btt_chain.primitives.accounts import multisig_account
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.rpc.explorer_reserves import reserve_rows
from runtime.compute.model import model_hash
from runtime.compute.reference import reference_spec
from runtime.modules import RUNTIME

from .harness import UNIT, RpcHarness


def hexid(pair: Keypair) -> str:
    return "0x" + pair.public.hex()


async def reserves_of(rpc: RpcHarness, pair: Keypair) -> dict[str, Any]:
    """The method's answer, checked for what holds of every answer: the rows add up to `reserved`, which is the
    account's own, and nothing is left unattributed."""
    found = dict(await rpc.call("btt_explorerReserves", hexid(pair)))
    account = await rpc.call("btt_account", hexid(pair))
    assert found["reserved"] == account["reserved"]  # one block: no head moved between the two reads here
    assert sum(int(r["amount"]) for r in found["reserves"]) == int(found["attributed"]) == int(found["reserved"])
    assert found["unattributed"] == "0" and found["complete"] is True, found
    assert all(int(r["amount"]) > 0 for r in found["reserves"]), found
    return found


def rows(found: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(r["source"], r["what"], int(r["amount"])) for r in found["reserves"]]


@pytest.mark.asyncio
async def test_every_reserve_is_a_row_and_the_rows_add_up(rpc: RpcHarness) -> None:
    alice, bob, charlie, eve, ferdie = (dev_keypair(n) for n in ("alice", "bob", "charlie", "eve", "ferdie"))
    start = await reserves_of(rpc, alice)
    bonded = int((await rpc.call("btt_bonds", hexid(alice)))["bonded"])
    assert rows(start) == [("bonds", "bond (validator)", bonded)] and bonded > 0
    assert (await reserves_of(rpc, Keypair.generate()))["reserves"] == []  # nothing reserved: no row

    await rpc.submit_in_block(bob, "bonds.bond", 3 * UNIT)
    await rpc.submit_in_block(bob, "bonds.unbond", UNIT)  # an unbonding chunk stays reserved until withdrawn
    await rpc.submit_in_block(bob, "staking.stake", "30d", 1_000 * UNIT)
    deposit = next(int(r["value"]) for r in await rpc.call("btt_params") if r["name"] == "governance.min_deposit")
    spend = RUNTIME.call("treasury.spend", "ecosystem_fund", charlie.public, UNIT)
    await rpc.submit_in_block(charlie, "governance.propose", spend, ZERO_HASH, deposit, False)
    signers = [p.public for p in (alice, bob, eve)]
    data = RUNTIME.call("balances.transfer_allow_death", charlie.public, UNIT).encode()
    await rpc.submit_in_block(eve, "multisig.approve", [signers[0], signers[1]], 2, data)
    mh = model_hash(reference_spec("breast-cancer-v1"))
    await rpc.submit_in_block(ferdie, "compute.post_job", mh, ZERO_HASH, bytes(range(1, 33)), 16, 10 * UNIT, 1,
                              120_000)

    assert rows(await reserves_of(rpc, alice)) == rows(start)
    found = await reserves_of(rpc, bob)
    (bond, unbonding, stake) = rows(found)
    assert bond == ("bonds", "bond", 2 * UNIT) and unbonding == ("bonds", "unbonding", UNIT)
    assert found["reserves"][1]["untilMs"] > 0
    assert stake[0] == "staking" and stake[1].endswith("(30d)") and stake[2] == 1_000 * UNIT
    (proposal,) = (await reserves_of(rpc, charlie))["reserves"]
    assert proposal["source"] == "governance" and int(proposal["amount"]) == deposit
    (ref,) = [r for r in await rpc.call("btt_referenda") if r["status"] == "voting"]
    assert proposal["ref"] == str(ref["id"])
    (pending,) = (await reserves_of(rpc, eve))["reserves"]
    assert pending["source"] == "multisig" and pending["ref"] == "0x" + blake2b_256(data).hex()
    assert (await rpc.call("btt_multisig", "0x" + multisig_account(signers, 2).hex()))[0]["deposit"] == \
        pending["amount"]
    job_rows = rows(await reserves_of(rpc, ferdie))
    (job,) = await rpc.call("btt_jobs")
    assert [(s, w) for s, w, _ in job_rows] == [("compute", f"job #{job['id']} escrow"),
                                               ("compute", f"job #{job['id']} place rent deposit")]
    assert job_rows[0][2] == 10 * UNIT  # the price, none of it assigned yet

    await rpc.submit_in_block(bob, "proxy.add_proxy", eve.public, 0, 0)  # an Any proxy: its deposit is reserved
    found = await reserves_of(rpc, bob)
    assert rows(found)[:3] == [bond, unbonding, stake] and rows(found)[3][:2] == ("proxy", "proxies deposit")


@pytest.mark.asyncio
async def test_a_scan_cut_short_shows_what_it_left_out(rpc: RpcHarness) -> None:
    charlie = dev_keypair("charlie")
    deposit = next(int(r["value"]) for r in await rpc.call("btt_params") if r["name"] == "governance.min_deposit")
    spend = RUNTIME.call("treasury.spend", "ecosystem_fund", charlie.public, UNIT)
    await rpc.submit_in_block(charlie, "governance.propose", spend, ZERO_HASH, deposit, False)
    state = rpc.node.chain.state()
    whole = reserve_rows(state, charlie.public)
    assert whole.complete and whole.unattributed == 0 and whole.attributed == deposit
    cut = reserve_rows(state, charlie.public, scan_items=0)  # no budget: the open referenda are not read
    assert not cut.complete and cut.rows == () and cut.unattributed == whole.reserved == deposit


@pytest.mark.asyncio
async def test_bad_parameters_are_refused_and_change_nothing(rpc: RpcHarness) -> None:
    with rpc.unchanged():
        for substring, params in (("account", [12]), ("account", ["0xabcd"]), ("block hash", [hexid(rpc.alice),
                                                                                                "0x00"])):
            await rpc.assert_raises_rpc_error(-32602, substring, "btt_explorerReserves", *params)
