"""Text that is not valid Unicode in a request (issue 43, item 4): a lone surrogate (`"\\ud800"` in JSON, which
`json.loads` accepts and no UTF-8 text holds) in any parameter of any method is -32602 naming the parameter, never
-32603 with a logged traceback; in the id or the method name it is -32600. One check in `MethodDef.bind` serves
every method, so the test asks every registered method, each parameter in turn, subscriptions and unsafe methods
included; and the four methods the issue named over HTTP, alone and 100 to a batch."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc.errors import INVALID_PARAMS, INVALID_REQUEST
from btt_chain.rpc.protocol import MAX_BATCH, Dispatcher
from btt_chain.rpc.registry import REGISTRY, MethodDef, RpcContext
from runtime.modules import RUNTIME

from .harness import RpcHarness

LONE = "\ud800"
SHAPES: list[Any] = [LONE, "5Grw" + LONE, "0x" + LONE, [LONE], {"key": LONE}, {LONE: 1}, [[{"a": [LONE]}]]]
"""The surrogate alone, inside an address or hex string, and nested in lists and objects (as value and as key)."""


class _Subscriber:
    """Enough of a WebSocket connection for subscription methods to bind their parameters."""

    def subscribe(self, kind: str, keys: tuple[bytes, ...] = ()) -> str:
        return "0"

    def unsubscribe(self, kind: str, subscription_id: str) -> bool:
        return False


def valid_value(method: MethodDef, index: int, ctx: RpcContext) -> Any:
    """A value the parser of `method`'s parameter `index` accepts (to reach the parameters after it)."""
    alice = encode_address(dev_keypair("alice").public, ctx.node.spec.ss58_prefix)
    head = "0x" + ctx.node.chain.head_hash.hex()
    call = "0x" + RUNTIME.call("balances.transfer_keep_alive", dev_keypair("bob").public, 1).encode().hex()
    child = "0x" + b":child_storage:default:x".hex()
    candidates: list[Any] = [alice, 0, 1, head, True, "alice", "0x00", call, child, [1], ["0x00"], ["balances"], {},
                             "x", "sess", "0x" + "00" * 64]
    for candidate in candidates:
        try:
            method.params[index].parse(candidate, ctx)
        except Exception:
            continue
        return candidate
    raise AssertionError(f"no valid value found for {method.name}'s {method.params[index].name}")


def requests_with_a_surrogate(ctx: RpcContext) -> list[tuple[dict[str, Any], str]]:
    """For every method and parameter, and every shape of the surrogate: a request with it in that parameter (the
    required parameters before it valid), and the parameter's name."""
    out: list[tuple[dict[str, Any], str]] = []
    for method in REGISTRY:
        for i, param in enumerate(method.params):
            before = [valid_value(method, j, ctx) if p.required else None for j, p in enumerate(method.params[:i])]
            for shape in SHAPES:
                request = {"jsonrpc": "2.0", "id": len(out), "method": method.name, "params": [*before, shape]}
                out.append((request, param.name))
    return out


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    logged = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not logged, [r.getMessage() for r in logged]


async def test_every_parameter_of_every_method_names_itself(rpc: RpcHarness,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = RpcContext(rpc.node, _Subscriber(), unsafe_allowed=True)
    cases = requests_with_a_surrogate(ctx)
    assert len({r["method"] for r, _ in cases}) > 50  # every method with a parameter
    dispatcher = Dispatcher()
    for request, name in cases:
        raw = json.dumps(request)  # ensure_ascii: the surrogate travels as the escape "\ud800", as a client sends it
        assert "\\ud800" in raw
        reply = dispatcher.handle(raw, ctx)
        assert reply is not None
        reply.encode()  # the reply itself is valid UTF-8 text
        error = json.loads(reply)["error"]
        where = f"{request['method']}({request['params']!r})"
        assert error["code"] == INVALID_PARAMS, (where, error)
        assert error["message"].startswith(f"{name}: not valid UTF-8 text"), (where, error)
    assert_no_traceback(caplog)


async def test_the_named_methods_over_http_alone_and_a_hundred_to_a_batch(rpc: RpcHarness,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    named = ["system_accountNextIndex", "account_nextIndex", "btt_invoices", "btt_voter", "btt_multisig",
             "btt_account", "btt_payments", "btt_explorerAccountExtrinsics"]
    for method in named:
        status, body = await rpc.post(data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                                                       "params": [LONE]}))
        assert status == 200 and body["error"]["code"] == INVALID_PARAMS, (method, body)
        assert body["error"]["message"] == "account: not valid UTF-8 text: it holds a lone surrogate ('\\ud800')"
    batch = [{"jsonrpc": "2.0", "id": i, "method": named[i % len(named)], "params": {"account": LONE}}
             for i in range(MAX_BATCH)]
    status, body = await rpc.post(data=json.dumps(batch))
    assert status == 200 and len(body) == MAX_BATCH
    assert all(r["error"]["code"] == INVALID_PARAMS and r["error"]["message"].startswith("account:") for r in body)
    assert_no_traceback(caplog)


async def test_an_id_or_method_name_holding_one_is_an_invalid_request(rpc: RpcHarness,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for request, fragment in (({"jsonrpc": "2.0", "id": LONE, "method": "system_name"}, "id:"),
                              ({"jsonrpc": "2.0", "id": 7, "method": LONE}, '"method":'),
                              ({"jsonrpc": "2.0", "id": 7, "method": "system_name" + LONE}, '"method":')):
        status, body = await rpc.post(data=json.dumps(request))
        assert status == 200 and body["error"]["code"] == INVALID_REQUEST, (request, body)
        assert body["error"]["message"].startswith(f"Invalid request: {fragment}"), body
        assert body["id"] == (None if request["id"] == LONE else 7)
    assert_no_traceback(caplog)


async def test_valid_text_beyond_ascii_still_reaches_the_parser(rpc: RpcHarness) -> None:
    """A paired surrogate (an emoji) and other non-ASCII text are valid: the parameter's own parser answers."""
    for text in ("\U0001f600", "é"):
        await rpc.assert_raises_rpc_error(INVALID_PARAMS, "invalid base58 character", "btt_account", text)
