"""`--fee-only` (issue 53): a wallet command prints the fee it would pay, its weight and the signed extrinsic's hex,
and sends nothing, against an in-process dev node. The printed fee is the node's own figure for those bytes
(`payment_queryInfo`) and exactly what the signer loses in fees when the very same hex is sent afterwards; a bad
input is refused word for word as the command refuses it when sending; and nothing reaches the pool, no block is
made, no balance or nonce moves."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from btt_chain.primitives.keys import dev_keypair
from cli.main import main
from tests.rpc.conftest import dev_harness
from tests.rpc.harness import UNIT, RpcHarness

BOB, CHARLIE = dev_keypair("bob"), dev_keypair("charlie")
LIMIT_S = 600
"""A bound on one command: only a hung test reaches it."""


@pytest_asyncio.fixture
async def rpc() -> AsyncIterator[RpcHarness]:
    async for harness in dev_harness():
        yield harness


async def in_thread(work: Callable[[], Any]) -> Any:
    """Run `work` (a command, which calls the node over HTTP) off the event loop the node's RPC server runs on."""
    return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, work), LIMIT_S)


async def btt_chain(rpc: RpcHarness, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`btt-chain ARGV --rpc URL`: (exit code, out, err). The pool must stay empty: nothing authors a block here."""
    capsys.readouterr()

    def run() -> int:
        try:
            main([*argv, "--rpc", rpc.url])
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    code = await in_thread(run)
    out, err = capsys.readouterr()
    return code, out, err


async def snapshot(rpc: RpcHarness, *who: bytes) -> tuple[Any, ...]:
    """What sending would change: the head, the pool and the accounts (balances and nonces)."""
    accounts = [await rpc.call("btt_account", "0x" + w.hex()) for w in who]
    return rpc.node.chain.head_hash, len(rpc.node.pool), accounts


def fee_line(out: str) -> tuple[int, int]:
    """(fee in base units, weight) from the human report's first line."""
    m = re.match(r"fee: [0-9.]+ BTT \(([0-9]+) base units: inclusion fee [0-9]+(?: \+ tip [0-9]+)?\), weight ([0-9]+)",
                 out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


@pytest.mark.asyncio
async def test_transfer_fee_only_prints_the_fee_that_sending_the_same_bytes_then_charges(
    rpc: RpcHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    rpc.author_block()
    before = await snapshot(rpc, BOB.public, CHARLIE.public)
    code, out, err = await btt_chain(rpc, capsys, "transfer", "--from", "bob", "--to", "charlie", "--amount", "2.5",
                                     "--tip", "0.001", "--fee-only")
    assert code == 0, err
    assert await snapshot(rpc, BOB.public, CHARLIE.public) == before  # nothing sent, nothing charged
    fee, weight = fee_line(out)
    lines = out.splitlines()
    assert lines[1] == f"dry run in a block on #{rpc.node.chain.head.number}: the call would succeed", out
    assert lines[2].startswith("not sent, nothing charged; the signed extrinsic (nonce 0, valid from block #0 up to "
                               "block #63)"), out
    extrinsic = lines[3]
    quoted = await rpc.call("payment_queryInfo", extrinsic)
    assert fee == int(quoted["partialFee"]) + UNIT // 1000 and weight == quoted["weight"]["refTime"] > 0

    # the hex can be passed on: sent as it is, it pays exactly the fee printed
    bob_before = int((await rpc.call("btt_account", "0x" + BOB.public.hex()))["free"])
    xt_hash = await rpc.call("author_submitExtrinsic", extrinsic)
    rpc.author_block()
    status = await rpc.call("btt_extrinsicStatus", xt_hash)
    assert status["success"], status
    bob_after = int((await rpc.call("btt_account", "0x" + BOB.public.hex()))["free"])
    assert bob_before - bob_after == 5 * UNIT // 2 + fee
    paid = [e for e in await rpc.call("btt_events", status["blockHash"], status["index"])
            if e["event"] == "TransactionFeePaid"]
    assert [int(e["actual_fee"]) for e in paid] == [fee], paid


@pytest.mark.asyncio
async def test_the_global_flag_works_for_any_wallet_command_and_prints_json(
    rpc: RpcHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """`btt-chain --fee-only <command> --json`: transfer, a PayFi payment, a stake and a bond, each quoted by the
    node's own figure for its bytes, none sent."""
    rpc.author_block()
    commands = [
        ["transfer", "--from", "bob", "--to", "charlie", "--amount", "1"],
        ["pay", "--from", "bob", "--to", "charlie", "--amount", "1", "--memo", "visit 42"],
        ["stake", "--from", "bob", "--amount", "1000", "--tier", "30d"],
        ["bond", "--from", "bob", "--amount", "100"],
    ]
    before = await snapshot(rpc, BOB.public, CHARLIE.public)
    fees = []
    for argv in commands:
        code, out, err = await btt_chain(rpc, capsys, "--fee-only", *argv, "--json")
        assert code == 0, (argv, err)
        report = json.loads(out)
        assert report["sent"] is False and report["success"] is True and report["error"] is None, report
        quoted = await rpc.call("payment_queryInfo", report["extrinsic"], report["at"]["hash"])
        assert int(report["fee"]) == int(report["partialFee"]) == int(quoted["partialFee"]) > 0, (argv, report)
        assert report["weight"]["refTime"] == quoted["weight"]["refTime"]
        assert report["nonce"] == 0 and report["at"]["number"] == rpc.node.chain.head.number
        finalized = await rpc.call("chain_getHeader", await rpc.call("chain_getFinalizedHead"))
        assert report["birth"] == int(finalized["number"], 16)  # born where no reorganisation reaches
        assert report["validUntil"] == report["birth"] + 63
        fees.append(int(report["fee"]))
    assert await snapshot(rpc, BOB.public, CHARLIE.public) == before
    assert len(set(fees)) > 1  # each command's own call and length, not one figure for all


@pytest.mark.asyncio
@pytest.mark.parametrize("argv", [
    ["transfer", "--from", "bob", "--to", "charlie", "--amount", "1000000000"],  # more than bob holds
    ["transfer", "--from", "//Nobody//53", "--to", "charlie", "--amount", "1"],  # cannot pay the fee
    ["transfer", "--from", "bob", "--to", "nobody", "--amount", "1"],  # no such account
    ["transfer", "--from", "bob", "--to", "0x1234", "--amount", "1"],  # a malformed account id
    ["unstake", "--from", "bob", "--deposit", "77"],  # no such deposit
])
async def test_a_bad_input_is_refused_as_sending_refuses_it_and_nothing_moves(
    rpc: RpcHarness, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    rpc.author_block()
    before = await snapshot(rpc, BOB.public, CHARLIE.public)
    sent_code, _, sent_err = await btt_chain(rpc, capsys, *argv)
    fee_code, fee_out, fee_err = await btt_chain(rpc, capsys, "--fee-only", *argv)
    assert sent_code == fee_code == 1 and fee_out == ""
    assert fee_err == sent_err and fee_err.startswith("error: ") and len(fee_err.splitlines()) == 1, fee_err
    assert await snapshot(rpc, BOB.public, CHARLIE.public) == before


@pytest.mark.asyncio
async def test_with_force_a_failing_call_is_quoted_and_said_to_fail_and_still_not_sent(
    rpc: RpcHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    rpc.author_block()
    before = await snapshot(rpc, BOB.public, CHARLIE.public)
    code, out, err = await btt_chain(rpc, capsys, "--force", "--fee-only", "transfer", "--from", "bob", "--to",
                                     "charlie", "--amount", "1000000000")
    assert code == 0, err
    fee, _ = fee_line(out)
    assert fee > 0
    assert "the call would fail and still pay the fee: " in out.splitlines()[1] and "Insufficient" in out, out
    assert await snapshot(rpc, BOB.public, CHARLIE.public) == before


@pytest.mark.asyncio
async def test_the_flag_does_not_outlive_its_command(rpc: RpcHarness, capsys: pytest.CaptureFixture[str]) -> None:
    """`transfer --fee-only` sets the mode for its own run only: the next command in the same process sends."""
    rpc.author_block()
    code, _, err = await btt_chain(rpc, capsys, "transfer", "--from", "bob", "--to", "charlie", "--amount", "1",
                                   "--fee-only")
    assert code == 0, err
    code, out, err = await btt_chain(rpc, capsys, "transfer", "--from", "bob", "--to", "charlie", "--amount", "1",
                                     "--no-wait", "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "submitted" and len(rpc.node.pool) == 1
