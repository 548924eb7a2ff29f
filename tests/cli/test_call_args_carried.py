"""--args for calls that carry calls (`cli/call_args.py`): a carried call is `{"call": ..., "args": [...]}`, an
optional argument `null` or its value, a proxy type its name. What the CLI builds is what the runtime decodes, a
batch of proxy calls goes through end to end, and every malformed value is one clear refusal."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import dev_keypair
from cli.call_args import MAX_CARRIED_DEPTH, convert_call_args, local_calls
from runtime.modules import RUNTIME
from tests.rpc.conftest import dev_harness
from tests.rpc.harness import RpcHarness
from tests.support.cli_runner import run_authoring


def account(name: str) -> bytes:
    return dev_keypair(name).public


def transfer(to: str, amount: str) -> dict[str, Any]:
    return {"call": "balances.transfer_keep_alive", "args": [to, amount]}


def built(call_name: str, args: list[Any]) -> Any:
    """The call the CLI builds from `args` (JSON), decoded by the runtime: its Python arguments."""
    values = convert_call_args(call_name, json.dumps(args), account)
    return RUNTIME.decode_call(local_calls().build_call(call_name, *values)).args


def test_a_batch_of_proxy_calls_is_what_the_runtime_builds() -> None:
    args = [[{"call": "proxy.proxy", "args": ["alice", None, transfer("bob", "1")]},
             {"call": "proxy.proxy", "args": ["charlie", "Any", transfer("dave", "2.5")]}]]
    (calls,) = built("utility.batch", args)
    expected = RUNTIME.call("utility.batch", [
        RUNTIME.call("proxy.proxy", account("alice"), None,
                     RUNTIME.call("balances.transfer_keep_alive", account("bob"), 10**18)),
        RUNTIME.call("proxy.proxy", account("charlie"), 0,
                     RUNTIME.call("balances.transfer_keep_alive", account("dave"), 25 * 10**17)),
    ])
    assert RUNTIME.decode_call(expected).args == (calls,)


def test_a_proposal_carrying_a_batch_and_a_multisig_carrying_one_as_call_data() -> None:
    inner = {"call": "utility.batch_all", "args": [[transfer("bob", "1"), transfer("dave", "1")]]}
    call, *_ = built("governance.propose", [inner, "0x" + "11" * 32, "100", False])
    assert tuple(RUNTIME.decode_call(call).args[0]) == (
        RUNTIME.call("balances.transfer_keep_alive", account("bob"), 10**18),
        RUNTIME.call("balances.transfer_keep_alive", account("dave"), 10**18))
    _, _, call_data = convert_call_args("multisig.approve", json.dumps([["bob"], 2, inner]), account)
    assert call_data == RUNTIME.call("utility.batch_all", [
        RUNTIME.call("balances.transfer_keep_alive", account("bob"), 10**18),
        RUNTIME.call("balances.transfer_keep_alive", account("dave"), 10**18)]).encode()


@pytest.mark.parametrize(("given", "index"), [("Any", 0), ("NonTransfer", 1), ("non-transfer", 1), ("Staking", 3),
                                               (2, 2)])
def test_a_proxy_type_by_name_or_index(given: Any, index: int) -> None:
    assert convert_call_args("proxy.add_proxy", json.dumps(["bob", given, 0]), account)[1] == index
    assert built("proxy.proxy", ["bob", given, transfer("dave", "1")])[1] == index


@pytest.mark.parametrize(("call_name", "args", "fragment"), [
    ("utility.batch", [[{"call": "balances.transfer_keep_alive"}]], 'expected a call, {"call"'),
    ("utility.batch", [[{"call": "nope.nothing", "args": []}]], "nope.nothing"),
    ("utility.batch", [[{"call": "balances.transfer_keep_alive", "args": ["bob"]}]], "takes a JSON array of 2"),
    ("utility.batch", [["balances.transfer_keep_alive"]], "expected a call"),
    ("proxy.proxy", ["bob", "Everything", transfer("dave", "1")], "expected a proxy type"),
    ("proxy.proxy", ["bob", 9, transfer("dave", "1")], "expected a proxy type"),
    ("proxy.add_proxy", ["bob", "Sudo", 0], "expected a proxy type"),
    ("proxy.proxy", ["bob", None, {"call": 7, "args": []}], "expected a call"),
    ("multisig.approve", [["bob"], 2, {"call": "system.remark"}], "expected a call"),
])
def test_a_malformed_carried_value_is_one_clear_refusal(call_name: str, args: list[Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=None) as exc:
        convert_call_args(call_name, json.dumps(args), account)
    assert fragment in str(exc.value) and "\n" not in str(exc.value)


def test_calls_carried_as_deep_as_the_runtime_decodes_and_no_deeper() -> None:
    value: dict[str, Any] = transfer("bob", "1")
    for _ in range(MAX_CARRIED_DEPTH):
        value = {"call": "utility.batch", "args": [[value]]}
    built("utility.batch", value["args"])  # the transfer MAX_CARRIED_DEPTH levels down: the runtime decodes it
    with pytest.raises(ConfigError, match=f"more than {MAX_CARRIED_DEPTH} deep"):
        convert_call_args("utility.batch", json.dumps([[value]]), account)


@pytest_asyncio.fixture
async def rpc() -> AsyncIterator[RpcHarness]:
    async for harness in dev_harness():
        yield harness


@pytest.mark.asyncio
async def test_a_hot_key_pays_out_for_two_cold_accounts_in_one_batch(rpc: RpcHarness,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    for cold in ("bob", "charlie"):
        code, _, err = await run_authoring(rpc, capsys, "proxy", "add", "--from", cold, "--delegate", "alice",
                                           "--rpc", rpc.url)
        assert code == 0, err

    async def free(name: str) -> int:
        return int((await rpc.call("btt_account", "0x" + account(name).hex()))["free"])

    dave = await free("dave")
    code, out, err = await run_authoring(
        rpc, capsys, "batch", "--from", "alice", "--mode", "all",
        "--call", "proxy.proxy", "--args", json.dumps(["bob", None, transfer("dave", "1")]),
        "--call", "proxy.proxy", "--args", json.dumps(["charlie", "Any", transfer("dave", "2")]),
        "--rpc", rpc.url, "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["success"] is True
    assert [f"{e['module']}.{e['event']}" for e in status["events"]].count("proxy.ProxyExecuted") == 2
    assert await free("dave") == dave + 3 * 10**18
