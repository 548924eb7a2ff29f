"""`btt-chain batch` and `btt-chain proxy add|remove|list|call` against an in-process dev node: calls given as
--call/--args pairs or a file go into one extrinsic; a batch or a proxy call whose dry run shows a carried call
failing (FRAME's batch and proxy calls succeed even then) is not sent and costs nothing, in one line naming the call and
why; a NonTransfer proxy's transfer and a removed proxy's call are refused that way; bad input is one line."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.keys import dev_keypair
from cli.proxy_cmd import PROXY_TYPES
from runtime.proxy.types import PROXY_TYPES as RUNTIME_PROXY_TYPES
from tests.rpc.conftest import dev_harness
from tests.rpc.harness import RpcHarness
from tests.support.cli_runner import run_authoring
from tests.support.runtime_builder import DEFAULT_PARAMS

UNIT = 10**18
ALICE, BOB, CHARLIE, DAVE = (dev_keypair(n).public for n in ("alice", "bob", "charlie", "dave"))


@pytest_asyncio.fixture
async def rpc() -> AsyncIterator[RpcHarness]:
    async for harness in dev_harness():
        yield harness


async def btt_chain(rpc: RpcHarness, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return await run_authoring(rpc, capsys, *argv, "--rpc", rpc.url)


async def ok_json(rpc: RpcHarness, capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = await btt_chain(rpc, capsys, *argv, "--json")
    assert code == 0, err
    return dict(json.loads(out))


async def account(rpc: RpcHarness, who: bytes) -> tuple[int, int, int]:
    a = await rpc.call("btt_account", "0x" + who.hex())
    return int(a["free"]), int(a["reserved"]), int(a["nonce"])


async def refused(rpc: RpcHarness, capsys: pytest.CaptureFixture[str], fragment: str, *argv: str) -> str:
    """The command fails with one `error:` line holding `fragment`, and nothing was sent: no block, no pooled
    transaction, no balance or nonce moved."""
    before = (rpc.node.chain.head_hash, [await account(rpc, w) for w in (ALICE, BOB, CHARLIE)])
    code, _, err = await btt_chain(rpc, capsys, *argv)
    assert code != 0 and "Traceback" not in err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and fragment in err, err
    assert (rpc.node.chain.head_hash, [await account(rpc, w) for w in (ALICE, BOB, CHARLIE)]) == before
    assert len(rpc.node.pool) == 0
    return err


def names(status: dict[str, Any]) -> list[str]:
    return [f"{e['module']}.{e['event']}" for e in status["events"]]


@pytest.mark.asyncio
async def test_batch_sends_its_calls_in_one_extrinsic_and_refuses_one_that_would_fail(
    rpc: RpcHarness, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    dave = await account(rpc, DAVE)
    status = await ok_json(rpc, capsys, "batch", "--from", "alice",
                           "--call", "balances.transfer_keep_alive", "--args", '["dave", "1.5"]',
                           "--call", "balances.transfer_keep_alive", "--args", '["dave", "2"]',
                           "--call", "system.remark", "--args", '["0x01"]')
    assert status["success"] is True
    assert names(status).count("utility.ItemCompleted") == 3 and "utility.BatchCompleted" in names(status)
    assert (await account(rpc, DAVE))[0] == dave[0] + 3_500_000_000_000_000_000
    calls = tmp_path / "payouts.json"
    calls.write_text(json.dumps([{"call": "balances.transfer_keep_alive", "args": [name, "1"]}
                                 for name in ("bob", "charlie", "dave")]))
    status = await ok_json(rpc, capsys, "batch", "--from", "alice", "--file", str(calls), "--mode", "force")
    assert names(status).count("balances.Transfer") == 3
    # a call that would fail: not sent in any mode, and said which
    for mode in ("stop", "force", "all"):
        err = await refused(rpc, capsys, "balances.InsufficientBalance", "batch", "--from", "bob", "--mode", mode,
                            "--call", "balances.transfer_keep_alive", "--args", '["dave", "1"]',
                            "--call", "balances.transfer_keep_alive", "--args", '["dave", "1000000000"]')
        assert mode == "all" or "call 2 (balances.transfer_keep_alive) would fail" in err or "a call would" in err


@pytest.mark.asyncio
async def test_proxy_add_list_call_remove_and_the_refusals(rpc: RpcHarness, capsys: pytest.CaptureFixture[str]) -> None:
    base, factor = DEFAULT_PARAMS["proxy.deposit_base"][0], DEFAULT_PARAMS["proxy.deposit_factor"][0]
    bob = await account(rpc, BOB)
    await ok_json(rpc, capsys, "proxy", "add", "--from", "bob", "--delegate", "charlie", "--type", "non-transfer")
    listed = await ok_json(rpc, capsys, "proxy", "list", "bob")
    assert listed["proxies"] == [{"delegate": encode_address(CHARLIE), "type": "NonTransfer", "delay": 0}]
    assert int(listed["deposit"]) == base + factor == (await account(rpc, BOB))[1] - bob[1]
    # NonTransfer: the transfer is refused by the dry run, nothing sent; a remark goes through
    await refused(rpc, capsys, "the proxied call would fail: proxy.Unproxyable", "proxy", "call", "--from", "charlie",
                  "--real", "bob", "--call", "balances.transfer_keep_alive", "--args", '["charlie", "1"]')
    await refused(rpc, capsys, "proxy.Unproxyable", "proxy", "call", "--from", "charlie", "--real", "bob",
                  "--call", "system.remark", "--args", '["0x02"]',
                  "--call", "balances.transfer_keep_alive", "--args", '["charlie", "1"]')
    status = await ok_json(rpc, capsys, "proxy", "call", "--from", "charlie", "--real", "bob", "--call",
                           "system.remark", "--args", '["0x02"]')
    assert "proxy.ProxyExecuted" in names(status) and "system.Remarked" in names(status)
    # an Any proxy moves the money; its key pays the fee, bob's nonce stays
    await ok_json(rpc, capsys, "proxy", "add", "--from", "bob", "--delegate", "alice")
    bob = await account(rpc, BOB)
    status = await ok_json(rpc, capsys, "proxy", "call", "--from", "alice", "--real", "bob", "--type", "any",
                           "--call", "balances.transfer_keep_alive", "--args", '["dave", "3"]',
                           "--call", "balances.transfer_keep_alive", "--args", '["charlie", "4"]')
    assert names(status).count("balances.Transfer") == 2
    after = await account(rpc, BOB)
    assert after[0] == bob[0] - 7 * UNIT and after[2] == bob[2]
    # removed: its call is refused before sending
    await ok_json(rpc, capsys, "proxy", "remove", "--from", "bob", "--all")
    assert (await ok_json(rpc, capsys, "proxy", "list", "bob"))["proxies"] == []
    assert (await account(rpc, BOB))[1] == bob[1] - base - 2 * factor
    await refused(rpc, capsys, "proxy.NotProxy", "proxy", "call", "--from", "alice", "--real", "bob",
                  "--call", "system.remark", "--args", '["0x03"]')


@pytest.mark.asyncio
@pytest.mark.parametrize("argv, fragment", [
    (["batch", "--from", "alice"], "name at least one call"),
    (["batch", "--from", "alice", "--call", "system.remark", "--call", "system.remark", "--args", '["0x01"]'],
     "give each --call its --args"),
    (["batch", "--from", "alice", "--call", "nope.nothing"], "call 1 (nope.nothing): unknown call"),
    (["batch", "--from", "alice", "--call", "balances.transfer_keep_alive", "--args", '["bob"]'],
     "call 1 (balances.transfer_keep_alive): balances.transfer_keep_alive takes a JSON array of 2"),
    (["proxy", "add", "--from", "bob", "--delegate", "charlie", "--type", "everything"], "--type 'everything'"),
    (["proxy", "remove", "--from", "bob"], "give --delegate (with its --type) or --all"),
    (["proxy", "add", "--from", "bob", "--delegate", "bob"], "proxy.NoSelfProxy"),
])
async def test_bad_input_is_one_line_and_sends_nothing(rpc: RpcHarness, capsys: pytest.CaptureFixture[str],
                                                        argv: list[str], fragment: str) -> None:
    await refused(rpc, capsys, fragment, *argv)


def test_the_light_clients_proxy_types_are_the_runtimes() -> None:
    assert PROXY_TYPES == RUNTIME_PROXY_TYPES
