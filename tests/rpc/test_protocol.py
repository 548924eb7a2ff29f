"""The JSON-RPC framing and the outbox without a server: whatever a caller sends, the dispatcher answers with a
well-formed response (or nothing, for notifications) and never raises; the outbox drops only notifications."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    INVALID_TRANSACTION,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    SERVER_LIMIT,
)
from btt_chain.rpc.outbox import Outbox
from btt_chain.rpc.protocol import Dispatcher
from btt_chain.rpc.registry import REGISTRY, Registry, RpcContext
from btt_chain.rpc.server import is_loopback

CODES = {PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INVALID_TRANSACTION, SERVER_LIMIT}


@pytest.fixture(scope="module")
def node() -> Iterator[Node]:
    n = Node(NodeConfig(chain="dev", base_path=None, tmp=True, validator_key=dev_keypair("alice")))
    yield n
    n.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80)
    | st.sampled_from(["0x", "0x00", "0x" + "11" * 32, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
requests = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "2.0", "2.0", "1.0"]), "method": st.sampled_from(REGISTRY.names(True))},
    optional={"id": st.none() | st.integers() | st.text(max_size=8) | st.booleans(), "params": json_values},
)


def check_response(reply: Any, expect_id: bool = True) -> None:
    assert isinstance(reply, dict) and reply["jsonrpc"] == "2.0" and "id" in reply
    assert ("result" in reply) != ("error" in reply)
    if "error" in reply:
        assert reply["error"]["code"] in CODES, reply
        assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]


def check(dispatcher: Dispatcher, node: Node, raw: bytes | str) -> None:
    before = (len(node.pool), node.chain.head_hash)
    out = dispatcher.handle(raw, RpcContext(node))
    assert (len(node.pool), node.chain.head_hash) == before
    if out is None:
        return
    reply = json.loads(out)
    for r in reply if isinstance(reply, list) else [reply]:
        check_response(r)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=200))
def test_arbitrary_bytes_never_crash(node: Node, raw: bytes | str) -> None:
    check(Dispatcher(), node, raw)


@settings(max_examples=300, deadline=None)
@given(payload=json_values)
def test_arbitrary_json_never_crashes(node: Node, payload: Any) -> None:
    check(Dispatcher(), node, json.dumps(payload))


@settings(max_examples=500, deadline=None)
@given(batch=st.lists(requests, min_size=1, max_size=5), single=st.booleans())
def test_random_calls_of_every_method_never_crash(node: Node, batch: list[dict[str, Any]], single: bool) -> None:
    check(Dispatcher(), node, json.dumps(batch[0] if single else batch))


def test_internal_error_is_caught(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> None:
        raise ZeroDivisionError

    monkeypatch.setattr(node, "next_account_index", broken)
    out = Dispatcher().handle(
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "system_accountNextIndex", "params": ["0x" + "00" * 32]}),
        RpcContext(node),
    )
    assert out is not None and json.loads(out)["error"]["code"] == INTERNAL_ERROR


@pytest.mark.asyncio
async def test_outbox_overflows_on_notification_bytes_and_keeps_nothing() -> None:
    box = Outbox(max_notification_bytes=10, max_response_bytes=100)
    box.put_response("r0")
    box.put_notification(("n", "1234"))
    box.put_notification("n12345")  # 5 + 6 = 11 bytes: over the bound
    assert box.closed and box.overflow is not None and "limit 10" in box.overflow
    assert len(box) == 0 and box.pending_bytes == 0
    box.put_response("late")  # nothing is queued once closed
    assert len(box) == 0
    with pytest.raises(ConnectionResetError):
        await box.get()


@pytest.mark.asyncio
async def test_outbox_joins_parts_and_frees_their_bytes() -> None:
    box = Outbox(max_notification_bytes=30)
    body = "shared-body"
    box.put_notification(("<", body, ">"))
    box.put_notification(("[", body, "]"))
    assert box.notification_bytes == 26
    assert await box.get() == "<shared-body>"
    assert box.notification_bytes == 13
    box.put_notification(("(", body, ")"))  # room again after the first was sent
    assert not box.closed and len(box) == 2


@pytest.mark.asyncio
async def test_outbox_backpressure_on_response_bytes() -> None:
    box = Outbox(max_response_bytes=10)
    box.put_response("x" * 6)
    await asyncio.wait_for(box.wait_for_room(), 1)
    box.put_response("y" * 6)
    waiter = asyncio.create_task(box.wait_for_room())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    assert await box.get() == "x" * 6
    await asyncio.wait_for(waiter, 1)
    box.close()


@pytest.mark.asyncio
async def test_outbox_backpressure_on_responses() -> None:
    box = Outbox(max_responses=2)
    box.put_response("a")
    await asyncio.wait_for(box.wait_for_room(), 1)
    box.put_response("b")
    waiter = asyncio.create_task(box.wait_for_room())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    assert await box.get() == "a"
    await asyncio.wait_for(waiter, 1)
    box.close()
    box.put_response("c")
    assert len(box) == 0
    await asyncio.wait_for(box.wait_for_room(), 1)


def test_unsafe_methods_need_the_flag(node: Node) -> None:
    registry = Registry()
    registry.method("test_dangerous", unsafe=True)(lambda ctx: "done")
    registry.method("test_harmless")(lambda ctx: "ok")
    dispatcher = Dispatcher(registry)
    request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "test_dangerous"})
    refused = json.loads(dispatcher.handle(request, RpcContext(node)) or "")
    assert refused["error"]["code"] == METHOD_NOT_FOUND and "unsafe" in refused["error"]["message"]
    allowed = json.loads(dispatcher.handle(request, RpcContext(node, unsafe_allowed=True)) or "")
    assert allowed["result"] == "done"
    assert registry.names(include_unsafe=False) == ["test_harmless"]
    assert registry.names(include_unsafe=True) == ["test_dangerous", "test_harmless"]
    with pytest.raises(ValueError):
        registry.method("test_harmless")(lambda ctx: None)


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("127.8.9.1")
    assert not is_loopback("10.0.0.1") and not is_loopback(None) and not is_loopback("not an ip")
